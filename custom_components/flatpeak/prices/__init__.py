"""Prices: the location's current and next import and export prices."""

from .coordinator import PriceCoordinator
from .sensors import price_entities

__all__ = ["PriceCoordinator", "price_entities"]
