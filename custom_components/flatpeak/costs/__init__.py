"""Costs: Flatpeak's cost reports as hourly cost statistics and the cost sensors."""

from .coordinator import CostCoordinator, async_remove_costs
from .sensors import cost_entities

__all__ = ["CostCoordinator", "async_remove_costs", "cost_entities"]
