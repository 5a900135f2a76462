"""Cost sensors: the house meter's, each appliance's and each charger's cost (and the house
meter's export value) today, yesterday, this week and this billing period.

Each equals the sum of the same hours in the entry's cost statistics (the Energy dashboard's
figures), so the sensors and the dashboard never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
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

from ..core.periods import (
    PERIOD_BILLING,
    PERIOD_DAY,
    PERIOD_WEEK,
    PERIOD_YESTERDAY,
    PERIODS,
)
from ..entity import FlatpeakEntity
from .coordinator import CostCoordinator

if TYPE_CHECKING:
    from homeassistant.helpers.entity import Entity


@dataclass(frozen=True, kw_only=True)
class CostSensorDescription(SensorEntityDescription):
    """A total of one cost statistic over one of the location's periods."""

    statistic: str  # the statistic kind, e.g. "grid_import_cost"
    period: str  # see core.periods


# statistic kind → the prefix of its sensors' keys and names, and its periods
_TOTALS = (
    ("grid_import_cost", "cost", PERIODS),
    ("grid_export_value", "export_value", PERIODS),
    ("solar_value", "solar_value", (PERIOD_DAY,)),
    ("charging_cost", "charging_cost", PERIODS),
    # An appliance's cost is its device's only one: named like the house meter's.
    ("appliance_cost", "cost", PERIODS),
)
# The billing period's sensors kept the keys of the month sensors they replaced.
_SUFFIX = {
    PERIOD_DAY: "today",
    PERIOD_YESTERDAY: "yesterday",
    PERIOD_WEEK: "this_week",
    PERIOD_BILLING: "this_month",
}

COST_SENSORS: tuple[CostSensorDescription, ...] = tuple(
    CostSensorDescription(
        key=f"{prefix}_{_SUFFIX[period]}",
        translation_key=f"{prefix}_{_SUFFIX[period]}",
        statistic=statistic,
        period=period,
        device_class=SensorDeviceClass.MONETARY,
        # Yesterday is a closed figure: no running total for long-term statistics.
        state_class=None if period == PERIOD_YESTERDAY else SensorStateClass.TOTAL,
        suggested_display_precision=2,
    )
    for statistic, prefix, periods in _TOTALS
    for period in periods
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
    """Cost (or value) of today, yesterday, this week or this billing period."""

    entity_description: CostSensorDescription

    def __init__(
        self,
        coordinator: CostCoordinator,
        subentry: ConfigSubentry,
        description: CostSensorDescription,
        statistic_id: str,
    ) -> None:
        """Read ``statistic_id``'s hours from the cost coordinator."""
        if description.period == PERIOD_BILLING and coordinator.calendar.billing_day != 1:
            # Calendar months are "this month"; a billing period from another day is not.
            description = replace(
                description,
                translation_key=(description.translation_key or "").replace(
                    "this_month", "this_billing_period"
                ),
            )
        super().__init__(coordinator, subentry, description)
        self._statistic_id = statistic_id
        self._attr_native_unit_of_measurement = coordinator.currency
        self._last: tuple[datetime, float] | None = None

    @property
    def available(self) -> bool:
        """Unavailable while Flatpeak cannot price the location (no tariff, pending)."""
        return super().available and self.coordinator.gate.problem is None

    def _span(self) -> tuple[datetime, datetime | None]:
        return self.coordinator.calendar.span(dt_util.utcnow(), self.entity_description.period)

    @property
    def last_reset(self) -> datetime | None:
        """The start of the location's period (Flatpeak's days); none for yesterday."""
        if self.entity_description.state_class is not SensorStateClass.TOTAL:
            return None
        return self._span()[0]

    @property
    def native_value(self) -> float | None:
        """The period's cost, as written to the statistic; while Flatpeak cannot account
        for an hour of it, the last figure of the same period."""
        since, until = self._span()
        total = self.coordinator.data.total(self._statistic_id, since, until)
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
