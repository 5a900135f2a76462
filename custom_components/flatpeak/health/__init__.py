"""Tariff health: which tariff prices the home, when it ends, Flatpeak's events about it, and
the repairs they raise (fixed through Flatpeak Connect)."""

from .coordinator import (
    EXPORT,
    GRID_FEES,
    IMPORT,
    TariffHealth,
    async_remove_health,
    part_label,
)
from .sensors import tariff_entities

__all__ = [
    "EXPORT",
    "GRID_FEES",
    "IMPORT",
    "TariffHealth",
    "async_remove_health",
    "part_label",
    "tariff_entities",
]
