"""What differs between the Home Assistant releases this integration supports."""

from __future__ import annotations

from importlib import import_module
from importlib.util import find_spec
from typing import Any

# HA 2026 replaced voluptuous with probatio (the same API); HA 2025 has only voluptuous.
# Forms and service schemas must be built with whichever the running HA validates with.
vol: Any = import_module("probatio" if find_spec("probatio") else "voluptuous")
