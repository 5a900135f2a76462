"""What hassfest, the HACS action and home-assistant/brands check, checked here first.

The validators themselves run in CI (.github/workflows/validate.yml), not on this machine; these
tests hold the repository's files to the same rules: the brand images, manifest.json, hacs.json,
services.yaml against en.json and icons.json, and quality_scale.yaml. The last test runs
scripts/test and scripts/develop in a copy where scripts/setup is a stub, to show both set
themselves up when their virtualenv is missing.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import combinations
import json
import os
from pathlib import Path
import re
import shutil
import subprocess
import sys
from typing import Any, get_args, get_type_hints

from awesomeversion import AwesomeVersion, AwesomeVersionStrategy
from homeassistant.const import __version__ as HA_VERSION
from homeassistant.loader import Manifest
from PIL import Image
import pytest
import yaml

ROOT = Path(__file__).parent.parent
INTEGRATION = ROOT / "custom_components" / "flatpeak"
BRAND = INTEGRATION / "brand"


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


MANIFEST: dict[str, Any] = _json(INTEGRATION / "manifest.json")
HACS: dict[str, Any] = _json(ROOT / "hacs.json")
SERVICES: dict[str, Any] = _yaml(INTEGRATION / "services.yaml")
STRINGS: dict[str, Any] = _json(INTEGRATION / "translations" / "en.json")
ICONS: dict[str, Any] = _json(INTEGRATION / "icons.json")


# -- brand/ (home-assistant/brands' README and its validate.sh) -----------------------------------

BRAND_FILES = sorted(
    f"{theme}{kind}{density}.png"
    for theme in ("", "dark_")
    for kind in ("icon", "logo")
    for density in ("", "@2x")
)


def test_brand_folder_holds_the_full_set_and_nothing_else() -> None:
    """Home Assistant 2026.3+ shows these; brands' validator refuses unknown file names."""
    assert sorted(path.name for path in BRAND.iterdir()) == BRAND_FILES


@pytest.mark.parametrize("name", BRAND_FILES)
def test_brand_image_follows_the_rules(name: str) -> None:
    """PNG with transparency, trimmed; icons square 256/512, logos landscape with the shortest
    side 128-256 (@2x 256-512)."""
    scale = 2 if "@2x" in name else 1
    with Image.open(BRAND / name) as image:
        assert image.format == "PNG"
        assert image.mode == "RGBA"
        width, height = image.size
        if "icon" in name:
            assert image.size == (256 * scale, 256 * scale)
        else:
            assert width >= height
            assert 128 * scale <= height <= 256 * scale
        alpha = image.getchannel("A")
        corners = [(0, 0), (width - 1, 0), (0, height - 1), (width - 1, height - 1)]
        assert [alpha.getpixel(corner) for corner in corners] == [0, 0, 0, 0]
        # Trimmed: the artwork reaches every edge, no transparent margin.
        assert alpha.getbbox() == (0, 0, width, height)


@pytest.mark.parametrize("name", [name for name in BRAND_FILES if "@2x" not in name])
def test_brand_hdpi_image_is_twice_the_size(name: str) -> None:
    with Image.open(BRAND / name) as image, Image.open(BRAND / name.replace(".", "@2x.")) as hdpi:
        assert hdpi.size == (image.width * 2, image.height * 2)


def test_brand_images_are_all_different() -> None:
    """Brands' validator refuses a logo equal to its icon, a dark_ image equal to its light one
    and an @2x equal to its normal size: each would be served anyway as the fallback."""
    contents = {name: (BRAND / name).read_bytes() for name in BRAND_FILES}
    assert [(a, b) for a, b in combinations(BRAND_FILES, 2) if contents[a] == contents[b]] == []


# -- manifest.json (hassfest's script/hassfest/manifest.py, the HACS action) -----------------------

# hassfest's SUPPORTED_IOT_CLASSES
IOT_CLASSES = {
    "assumed_state",
    "calculated",
    "cloud_polling",
    "cloud_push",
    "local_polling",
    "local_push",
}
VERSION_STRATEGIES = [
    AwesomeVersionStrategy.CALVER,
    AwesomeVersionStrategy.SEMVER,
    AwesomeVersionStrategy.SIMPLEVER,
    AwesomeVersionStrategy.BUILDVER,
    AwesomeVersionStrategy.PEP440,
]


def test_manifest_keys_are_in_hassfest_order() -> None:
    """hassfest sorts with domain and name mapped to '.domain' and '.name': those two first,
    then the rest alphabetically ("Manifest keys are not sorted correctly")."""
    first = {"domain": ".domain", "name": ".name"}
    keys = list(MANIFEST)
    assert keys == sorted(keys, key=lambda key: first.get(key, key))


def test_manifest_has_what_a_custom_integration_needs() -> None:
    for key in ("domain", "name", "version", "documentation", "issue_tracker", "codeowners"):
        assert MANIFEST.get(key), f"manifest.json has no {key}"
    assert MANIFEST["domain"] == INTEGRATION.name
    AwesomeVersion(MANIFEST["version"], ensure_strategy=VERSION_STRATEGIES)
    for key in ("documentation", "issue_tracker"):
        assert MANIFEST[key].startswith("https://"), key
    assert not MANIFEST["documentation"].startswith("https://www.home-assistant.io/integrations")
    assert all(owner.startswith("@") for owner in MANIFEST["codeowners"])
    for key in ("after_dependencies", "codeowners", "dependencies", "loggers", "requirements"):
        value = MANIFEST.get(key, [])
        assert isinstance(value, list), key
        assert all(isinstance(item, str) for item in value), key
    assert isinstance(MANIFEST.get("config_flow", False), bool)


def test_manifest_integration_type_and_iot_class_are_valid() -> None:
    # The loader's own list of integration types, of the Home Assistant under test;
    # "virtual" is for core's brand entries only.
    integration_types = set(get_args(get_type_hints(Manifest)["integration_type"])) - {"virtual"}
    assert MANIFEST["integration_type"] in integration_types
    assert MANIFEST["iot_class"] in IOT_CLASSES


# -- hacs.json (HACS's HACS_MANIFEST_JSON_SCHEMA) --------------------------------------------------

HACS_KEYS: dict[str, type] = {
    "content_in_root": bool,
    "country": object,  # a code or a list of codes
    "filename": str,
    "hacs": str,
    "hide_default_branch": bool,
    "homeassistant": str,
    "name": str,
    "persistent_directory": str,
    "render_readme": bool,
    "zip_release": bool,
}


def test_hacs_json_has_only_keys_hacs_knows() -> None:
    assert isinstance(HACS.get("name"), str)
    assert HACS["name"]
    for key, value in HACS.items():
        assert key in HACS_KEYS, f"HACS refuses hacs.json key {key!r}"
        assert isinstance(value, HACS_KEYS[key]), key
    assert not HACS.get("zip_release") or HACS.get("filename")


def test_hacs_minimum_is_the_oldest_line_the_readme_states() -> None:
    minimum = HACS["homeassistant"]
    assert re.fullmatch(r"20\d\d\.(1[0-2]|[1-9])\.\d+", minimum), minimum
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    stated = re.search(r"\*\*Home Assistant (\d{4}\.\d{1,2}) or newer\*\*", readme)
    assert stated, "README states no oldest Home Assistant line"
    assert minimum == f"{stated[1]}.0"
    assert AwesomeVersion(HA_VERSION) >= AwesomeVersion(minimum)


# -- services.yaml against en.json and icons.json (hassfest's services.py and icons.py) -----------


def _fields(service: dict[str, Any] | None) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each field of a service, also those inside a section (a field that has fields)."""
    for name, field in ((service or {}).get("fields") or {}).items():
        if "fields" in field:
            yield from _fields(field)
        else:
            yield name, field or {}


def _sections(service: dict[str, Any] | None) -> set[str]:
    fields = (service or {}).get("fields") or {}
    return {name for name, field in fields.items() if "fields" in (field or {})}


def test_every_service_has_texts_and_no_text_lacks_a_service() -> None:
    assert set(STRINGS["services"]) == set(SERVICES)


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_service_texts_match_its_fields(service: str) -> None:
    texts = STRINGS["services"][service]
    assert set(texts) <= {"name", "description", "fields", "sections"}
    for key in ("name", "description"):
        assert isinstance(texts.get(key), str), f"{service}: no {key}"
        assert texts[key].strip(), f"{service}: empty {key}"
    fields = dict(_fields(SERVICES[service]))
    assert set(texts.get("fields", {})) == set(fields), service
    for field, field_texts in texts.get("fields", {}).items():
        for key in ("name", "description"):
            assert isinstance(field_texts.get(key), str), f"{service}.{field}: no {key}"
            assert field_texts[key].strip(), f"{service}.{field}: empty {key}"
    assert set(texts.get("sections", {})) == _sections(SERVICES[service])
    for section, section_texts in texts.get("sections", {}).items():
        assert isinstance(section_texts.get("name"), str), f"{service}.{section}: no name"


def test_selector_translation_keys_have_their_options_translated() -> None:
    """A selector with a translation_key takes its option labels from en.json's selector
    section; without one there is nothing to check."""
    translated = STRINGS.get("selector", {})
    missing = []
    for service, definition in SERVICES.items():
        for field, spec in _fields(definition):
            for config in (spec.get("selector") or {}).values():
                if not isinstance(config, dict) or "translation_key" not in config:
                    continue
                key = config["translation_key"]
                labels = translated.get(key, {}).get("options", {})
                for option in config.get("options", []):
                    value = option["value"] if isinstance(option, dict) else option
                    if value not in labels:
                        missing.append(f"{service}.{field}: selector.{key}.options.{value}")
                if key not in translated:
                    missing.append(f"{service}.{field}: selector.{key}")
    assert missing == []


def test_every_service_has_an_icon_and_no_icon_lacks_a_service() -> None:
    icons = ICONS.get("services", {})
    assert set(icons) == set(SERVICES)
    for service, icon in icons.items():
        assert str(icon.get("service", "")).startswith("mdi:"), service
        assert set(icon.get("sections", {})) <= _sections(SERVICES[service]), service


# -- quality_scale.yaml (hassfest's quality_scale.py schema) --------------------------------------


def test_quality_scale_rules_have_a_status_and_exemptions_a_reason() -> None:
    """A rule is `done` or `todo`, or a mapping of status and comment; `exempt` only as a
    mapping, with the reason in its comment."""
    scale = _yaml(INTEGRATION / "quality_scale.yaml")
    assert set(scale) == {"rules"}
    assert scale["rules"]
    for rule, value in scale["rules"].items():
        assert re.fullmatch(r"[a-z]+(-[a-z]+)*", rule), rule
        if isinstance(value, str):
            assert value in {"done", "todo"}, rule
            continue
        assert isinstance(value, dict), rule
        assert set(value) == {"status", "comment"}, rule
        assert value["status"] in {"done", "todo", "exempt"}, rule
        assert isinstance(value["comment"], str), rule
        assert value["comment"].strip(), rule


# -- the workflows ------------------------------------------------------------------------------


def test_validate_workflow_runs_both_validators_on_push_pull_request_and_daily() -> None:
    workflow = _yaml(ROOT / ".github" / "workflows" / "validate.yml")
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert {"push", "pull_request", "schedule"} <= set(triggers)
    steps = [step for job in workflow["jobs"].values() for step in job["steps"]]
    uses = {step["uses"].split("@")[0]: step for step in steps}
    assert "home-assistant/actions/hassfest" in uses
    assert uses["hacs/action"]["with"]["category"] == "integration"


# -- scripts/test and scripts/develop set themselves up -----------------------------------------

STUB_TOOL = '#!/bin/sh\necho "$(basename "$0") $*" >> "$STUB_LOG"\n'
STUB_SETUP = """#!/usr/bin/env bash
set -e
echo "setup $*" >> "$STUB_LOG"
echo "stub setup output"
mkdir -p "$STUB_VENV/bin"
for tool in python ruff mypy lint-imports; do cp "$STUB_TOOL" "$STUB_VENV/bin/$tool"; done
"""
# Stands in for ../shared/tools/py314: runs the command with a python3.14 on PATH, as its
# Debian root has. Which Python that is does not matter here; the stubs never run it.
STUB_PY314 = '#!/bin/sh\nPATH="$STUB_PY314_BIN:$PATH" exec "$@"\n'


def _executable(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(0o755)
    return path


@pytest.fixture
def sandbox(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A copy of the scripts with scripts/setup stubbed, and an environment whose only
    matching Python is the one running the tests."""
    root = tmp_path / "repo"
    (root / "scripts").mkdir(parents=True)
    for name in ("test", "develop", "_python.sh"):
        shutil.copy2(ROOT / "scripts" / name, root / "scripts" / name)
    _executable(root / "scripts" / "setup", STUB_SETUP)
    python = os.path.realpath(sys.executable)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / f"python{sys.version_info[0]}.{sys.version_info[1]}").symlink_to(python)
    py314_bin = tmp_path / "py314-bin"
    py314_bin.mkdir()
    (py314_bin / "python3.14").symlink_to(python)
    env = {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "PYENV_ROOT": str(tmp_path / "no-pyenv"),
        "STUB_LOG": str(tmp_path / "calls.log"),
        "STUB_TOOL": str(_executable(tmp_path / "tool", STUB_TOOL)),
        "PY314": str(_executable(tmp_path / "py314", STUB_PY314)),
        "STUB_PY314_BIN": str(py314_bin),
    }
    return root, env


def _run(root: Path, env: dict[str, str], *command: str, venv: str) -> tuple[list[str], str]:
    result = subprocess.run(
        [str(root / "scripts" / command[0]), *command[1:]],
        env={**env, "STUB_VENV": venv},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    calls = Path(env["STUB_LOG"]).read_text().splitlines()
    Path(env["STUB_LOG"]).unlink()
    return calls, result.stdout


LINE = f"{sys.version_info[0]}.{sys.version_info[1]}"


def test_scripts_test_sets_up_its_virtualenv_once(sandbox: tuple[Path, dict[str, str]]) -> None:
    root, env = sandbox
    calls, _ = _run(root, env, "test", "-k", "x", venv=f".venv-{LINE}")
    assert calls[0] == "setup "
    assert calls[-1].startswith("python -m pytest")
    assert calls[-1].endswith("-k x")
    assert {"ruff check .", "mypy custom_components", "lint-imports "} <= set(calls)
    calls, _ = _run(root, env, "test", venv=f".venv-{LINE}")
    assert not [call for call in calls if call.startswith("setup")]


@pytest.mark.parametrize(
    ("flags", "setup", "venv"),
    [
        ((), "setup ", f".venv-{LINE}"),
        (("--latest-release",), "setup --latest-release", f".venv-{LINE}-latest"),
    ],
)
def test_scripts_develop_sets_up_the_virtualenv_of_its_line(
    sandbox: tuple[Path, dict[str, str]], flags: tuple[str, ...], setup: str, venv: str
) -> None:
    """The default line needs the normal set-up, --latest-release its own (run inside py314's
    root when this Python is not 3.14); the setup's output stays off stdout, which carries
    only develop's ready line."""
    root, env = sandbox
    calls, stdout = _run(root, env, "develop", *flags, "--port", "1", venv=venv)
    assert calls[0] == setup
    assert calls[-1].startswith(f"python scripts/develop.py --config .develop/{venv[6:]}")
    assert "--port 1" in calls[-1]
    assert stdout == ""
