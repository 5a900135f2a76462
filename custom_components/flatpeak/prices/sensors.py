"""Current import and export price sensors of the house meter, switching at each boundary."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from homeassistant.components.sensor import (
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.core import CALLBACK_TYPE, callback
from homeassistant.helpers.event import async_track_point_in_utc_time
from homeassistant.util import dt as dt_util

from ..client import TariffDirection
from ..entity import FlatpeakEntity
from .coordinator import (
    OutlookPeriod,
    PriceCoordinator,
    PricePeriod,
    next_change,
    outlook,
    price_period,
)

if TYPE_CHECKING:
    from homeassistant.config_entries import ConfigSubentry
    from homeassistant.helpers.entity import Entity


ATTR_VALID_FROM = "valid_from"
ATTR_VALID_TO = "valid_to"
ATTR_NEXT_PRICE = "next_price"
ATTR_OUTLOOK = "outlook"


@dataclass(frozen=True, kw_only=True)
class PriceSensorDescription(SensorEntityDescription):
    """A price sensor of one tariff direction."""

    direction: TariffDirection


PRICE_SENSORS: tuple[PriceSensorDescription, ...] = (
    PriceSensorDescription(
        key="import_price",
        translation_key="import_price",
        direction=TariffDirection.IMPORT,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=4,
    ),
    PriceSensorDescription(
        key="export_price",
        translation_key="export_price",
        direction=TariffDirection.EXPORT,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=4,
    ),
)


@callback
def price_entities(coordinator: PriceCoordinator, subentry: ConfigSubentry) -> list[Entity]:
    """The house meter's current import and export price sensors."""
    return [FlatpeakPriceSensor(coordinator, subentry, d) for d in PRICE_SENSORS]


class FlatpeakPriceSensor(FlatpeakEntity[PriceCoordinator], SensorEntity):
    """The price per kWh valid now, read from the cached schedule.

    A timer at the next slot boundary switches the state; no request is made for it.
    Unavailable while Flatpeak cannot price the location or no slot covers now. The
    attributes say when this price began and ends, and the price after it: as far as the
    schedule tells, else None (a flat export rate has neither). ``outlook`` lists the known
    price periods from the current one on (48 h at most) for charts.
    """

    # They change with every slot and repeat what the state history already says; the
    # outlook is kilobytes that would otherwise be stored with every price change.
    _unrecorded_attributes = frozenset(
        {ATTR_VALID_FROM, ATTR_VALID_TO, ATTR_NEXT_PRICE, ATTR_OUTLOOK}
    )

    entity_description: PriceSensorDescription

    def __init__(
        self,
        coordinator: PriceCoordinator,
        subentry: ConfigSubentry,
        description: PriceSensorDescription,
    ) -> None:
        """Belong to the house meter's device."""
        super().__init__(coordinator, subentry, description)
        self._period: PricePeriod | None = None
        self._outlook: list[OutlookPeriod] = []
        self._currency = coordinator.currency
        self._unsub_change: CALLBACK_TYPE | None = None

    async def async_added_to_hass(self) -> None:
        """Follow the coordinator and the tariff gate; read the schedule now."""
        await super().async_added_to_hass()
        self.async_on_remove(self.coordinator.gate.async_add_listener(self._async_gate_changed))
        self.async_on_remove(self._async_cancel_change)
        self._async_read_schedule()

    @callback
    def _handle_coordinator_update(self) -> None:
        """A refresh may have brought another schedule."""
        self._async_read_schedule()
        super()._handle_coordinator_update()

    @callback
    def _async_gate_changed(self) -> None:
        self.async_write_ha_state()

    @callback
    def _async_price_changes(self, _now: datetime) -> None:
        self._unsub_change = None
        self._async_read_schedule()
        self.async_write_ha_state()

    @callback
    def _async_cancel_change(self) -> None:
        if self._unsub_change is not None:
            self._unsub_change()
            self._unsub_change = None

    @callback
    def _async_read_schedule(self) -> None:
        """Take the slot valid now and wake up where the price can next change."""
        self._async_cancel_change()
        now = dt_util.utcnow()
        schedule = self.coordinator.schedule(self.entity_description.direction)
        if schedule is None:
            self._period = None
            self._outlook = []
            return
        self._currency = schedule.currency_code or self.coordinator.currency
        self._period = price_period(schedule, now)
        self._outlook = outlook(schedule, now)
        if (change := next_change(schedule, now)) is not None:
            self._unsub_change = async_track_point_in_utc_time(
                self.hass, self._async_price_changes, change
            )

    @property
    def available(self) -> bool:
        """Only with a price valid now and no tariff problem."""
        return (
            super().available and self.coordinator.gate.problem is None and self._period is not None
        )

    @property
    def native_value(self) -> float | None:
        """The price per kWh valid now."""
        return self._period.price if self._period else None

    @property
    def native_unit_of_measurement(self) -> str | None:
        """``<currency>/kWh``, in the location's currency."""
        return f"{self._currency}/kWh" if self._currency else None

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """When the current price began and ends, the price after it, the outlook."""
        if self._period is None:
            return None
        return {
            ATTR_VALID_FROM: _timestamp(self._period.valid_from),
            ATTR_VALID_TO: _timestamp(self._period.valid_to),
            ATTR_NEXT_PRICE: self._period.next_price,
            ATTR_OUTLOOK: [
                {
                    "start": _timestamp(period.start),
                    "end": _timestamp(period.end),
                    "price": period.price,
                }
                for period in self._outlook
            ],
        }


def _timestamp(when: datetime | None) -> str | None:
    """ISO 8601 to the second, as HA shows a timestamp sensor's state."""
    return when.isoformat(timespec="seconds") if when else None
