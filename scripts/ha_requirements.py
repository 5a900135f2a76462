"""Print the Python requirements of the integrations a ``scripts/develop`` Home Assistant loads.

Home Assistant runs there with ``--skip-pip``, so ``scripts/setup`` installs these up front: the
integrations HA always sets up (the sets in ``homeassistant.bootstrap``), the ones the develop
configuration names, and everything they depend on, with HA's frontend among them.
"""

from __future__ import annotations

import json
from pathlib import Path

from homeassistant import bootstrap, components

CONFIGURED = {
    "frontend", "config", "history", "logbook", "energy", "recorder", "system_health", "person",
    "http", "sensor", "binary_sensor", "hassio",
}  # fmt: skip
# The sets of integrations HA sets up without configuration (names as in 2025.4 to 2026.11).
ALWAYS = (
    "CORE_INTEGRATIONS", "LOGGING_AND_HTTP_DEPS_INTEGRATIONS", "FRONTEND_INTEGRATIONS",
    "DEFAULT_INTEGRATIONS", "BASE_PLATFORMS",
)  # fmt: skip


def main() -> None:
    root = Path(components.__file__).parent
    todo = set(CONFIGURED)
    for name in ALWAYS:
        todo |= getattr(bootstrap, name, set())
    seen: set[str] = set()
    requirements: set[str] = set()
    while todo:
        domain = todo.pop()
        manifest_path = root / domain / "manifest.json"
        if domain in seen or not manifest_path.exists():
            continue
        seen.add(domain)
        manifest = json.loads(manifest_path.read_text())
        requirements.update(manifest.get("requirements", []))
        todo.update(manifest.get("dependencies", []))
    print("\n".join(sorted(requirements)))


if __name__ == "__main__":
    main()
