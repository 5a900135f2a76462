"""Costs: Flatpeak's cost reports as hourly cost statistics and the cost sensors."""

from .coordinator import HOT_WINDOW as COST_HOT_WINDOW, CostCoordinator, async_remove_costs
from .sensors import cost_entities

__all__ = ["COST_HOT_WINDOW", "CostCoordinator", "async_remove_costs", "cost_entities"]
