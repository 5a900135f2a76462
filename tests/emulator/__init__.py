"""Flatpeak API emulator for tests and manual runs (``python -m tests.emulator``).

See /work/shared/flatpeak/API.md for the API it emulates; ``create_app(state)`` gives an
aiohttp application over an in-memory ``EmulatorState``.
"""

from __future__ import annotations

from .app import create_app
from .demo import CONNECT_PRESETS, DEMO, Demo
from .models import Account, ConnectToken, Device, Fault, Location, MeterRecord, TariffElement
from .state import ConflictError, EmulatorState

__all__ = [
    "CONNECT_PRESETS",
    "DEMO",
    "Account",
    "ConflictError",
    "ConnectToken",
    "Demo",
    "Device",
    "EmulatorState",
    "Fault",
    "Location",
    "MeterRecord",
    "TariffElement",
    "create_app",
]
