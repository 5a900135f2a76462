"""Cheap windows: Flatpeak's cheapest (or dearest) slots of a window, for automations."""

from .coordinator import CheapWindowCoordinator
from .entities import window_binary_sensor_entities, window_sensor_entities
from .store import PlanStore, async_remove_plans

__all__ = [
    "CheapWindowCoordinator",
    "PlanStore",
    "async_remove_plans",
    "window_binary_sensor_entities",
    "window_sensor_entities",
]
