"""Cost sensors: the house meter's and each charger's cost (and value) today and this month.

Each equals the sum of the same hours in the entry's cost statistics (the Energy dashboard's
figures), so the sensors and the dashboard never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.config_entries import ConfigSubentry
from homeassistant.const import EntityCategory
from homeassistant.util import dt as dt_util

from ..core.cost_hours import local_start
from ..entity import FlatpeakEntity
from .coordinator import CostCoordinator

if TYPE_CHECKING:
    from homeassistant.helpers.entity import Entity


@dataclass(frozen=True, kw_only=True)
class CostSensorDescription(SensorEntityDescription):
    """A total of one cost statistic since the start of the local day or month."""

    statistic: str  # the statistic kind, e.g. "grid_import_cost"
    period: str  # "day" or "month"


COST_SENSORS: tuple[CostSensorDescription, ...] = tuple(
    CostSensorDescription(
        key=key,
        translation_key=key,
        statistic=statistic,
        period=period,
        device_class=SensorDeviceClass.MONETARY,
        state_class=SensorStateClass.TOTAL,
        suggested_display_precision=2,
    )
    for key, statistic, period in (
        ("cost_today", "grid_import_cost", "day"),
        ("export_value_today", "grid_export_value", "day"),
        ("solar_value_today", "solar_value", "day"),
        ("cost_this_month", "grid_import_cost", "month"),
        ("export_value_this_month", "grid_export_value", "month"),
        ("charging_cost_today", "charging_cost", "day"),
        ("charging_cost_this_month", "charging_cost", "month"),
    )
)


def cost_entities(
    coordinator: CostCoordinator, subentry: ConfigSubentry, *, updated: bool
) -> list[Entity]:
    """The cost sensors of the device's statistics; ``updated``: also Costs updated."""
    kinds = {
        s.kind: s.statistic_id
        for s in coordinator.statistics
        if s.subentry_id == subentry.subentry_id
    }
    entities: list[Entity] = [
        FlatpeakCostSensor(coordinator, subentry, description, kinds[description.statistic])
        for description in COST_SENSORS
        if description.statistic in kinds
    ]
    if updated:
        entities.append(FlatpeakCostsUpdatedSensor(coordinator, subentry))
    return entities


class FlatpeakCostSensor(FlatpeakEntity[CostCoordinator], SensorEntity):
    """Cost (or value) since local midnight or the first of the month."""

    entity_description: CostSensorDescription

    def __init__(
        self,
        coordinator: CostCoordinator,
        subentry: ConfigSubentry,
        description: CostSensorDescription,
        statistic_id: str,
    ) -> None:
        """Read ``statistic_id``'s hours from the cost coordinator."""
        super().__init__(coordinator, subentry, description)
        self._statistic_id = statistic_id
        self._attr_native_unit_of_measurement = coordinator.currency
        self._last: tuple[datetime, float] | None = None

    @property
    def available(self) -> bool:
        """Unavailable while Flatpeak cannot price the location (no tariff, pending)."""
        return super().available and self.coordinator.gate.problem is None

    @property
    def last_reset(self) -> datetime:
        """The start of the location's day or month (Flatpeak's days)."""
        return local_start(dt_util.utcnow(), self.coordinator.zone, self.entity_description.period)

    @property
    def native_value(self) -> float | None:
        """The time since ``last_reset``, as written to the statistic; while Flatpeak cannot
        account for an hour of it, the last figure of the same day or month."""
        since = self.last_reset
        total = self.coordinator.data.total(self._statistic_id, since)
        if total is None:
            if self._last is not None and self._last[0] == since:
                return self._last[1]
            return None
        self._last = (since, round(total, 6))
        return self._last[1]


class FlatpeakCostsUpdatedSensor(FlatpeakEntity[CostCoordinator], SensorEntity):
    """When the cost statistics were last imported (off by default: a logbook line each time)."""

    def __init__(self, coordinator: CostCoordinator, subentry: ConfigSubentry) -> None:
        """A diagnostic timestamp."""
        super().__init__(
            coordinator,
            subentry,
            SensorEntityDescription(
                key="costs_updated",
                translation_key="costs_updated",
                device_class=SensorDeviceClass.TIMESTAMP,
                entity_category=EntityCategory.DIAGNOSTIC,
                entity_registry_enabled_default=False,
            ),
        )

    @property
    def native_value(self) -> datetime | None:
        """The time of the last import."""
        return self.coordinator.data.updated
