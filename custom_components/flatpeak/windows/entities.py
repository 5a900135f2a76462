"""A cheap window's entities: on while a chosen slot runs, the next start and end, the
chosen slots' average price. All read the coordinator's plan at the moment they are written;
the coordinator wakes them at each slot boundary (no request)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from homeassistant.components.binary_sensor import BinarySensorEntity
from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.core import callback
from homeassistant.helpers.entity import EntityDescription
from homeassistant.util import dt as dt_util

from ..core.cheap_windows import SlotState, average_price
from ..entity import FlatpeakEntity
from .coordinator import CheapWindowCoordinator

if TYPE_CHECKING:
    from homeassistant.config_entries import ConfigSubentry
    from homeassistant.helpers.entity import Entity

ATTR_SLOTS = "slots"
ATTR_WINDOW_START = "window_start"
ATTR_WINDOW_END = "window_end"
# More slots than this are not listed (a price limit over 3 days of a half-hourly tariff
# could give ~70); the state and the times always account for all of them.
MAX_LISTED_SLOTS = 100


def _iso(when: datetime | None) -> str | None:
    """ISO 8601 to the second, as HA shows a timestamp sensor's state."""
    return when.isoformat(timespec="seconds") if when else None


class _WindowEntity(FlatpeakEntity[CheapWindowCoordinator]):
    """Available while the plan says something about now and Flatpeak can price the window."""

    def __init__(
        self,
        coordinator: CheapWindowCoordinator,
        subentry: ConfigSubentry,
        description: EntityDescription,
    ) -> None:
        """Belong to the cheap window's device."""
        super().__init__(coordinator, subentry, description)
        self._state: SlotState | None = None

    async def async_added_to_hass(self) -> None:
        """Read the plan now and whenever the tariff gate changes."""
        await super().async_added_to_hass()
        self.async_on_remove(self.coordinator.gate.async_add_listener(self._async_write))
        self._read()

    @callback
    def _async_write(self) -> None:
        self._read()
        self.async_write_ha_state()

    @callback
    def _handle_coordinator_update(self) -> None:
        """A refresh or a slot boundary."""
        self._read()
        super()._handle_coordinator_update()

    def _read(self) -> None:
        self._state = self.coordinator.state(dt_util.utcnow())

    @property
    def available(self) -> bool:
        """Only with something known about now (a failed refresh with a plan still standing
        keeps the entities: the slots have not moved)."""
        return self._state is not None


class CheapWindowBinarySensor(_WindowEntity, BinarySensorEntity):
    """On exactly while a chosen slot runs; the plan's slots as an attribute."""

    _attr_name = None  # the device's name: this is the window

    @property
    def is_on(self) -> bool | None:
        """Whether a slot runs now."""
        return self._state.active if self._state is not None else None

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """The search window and its slots as Flatpeak gave them (split slots stay split)."""
        plan = self.coordinator.plan
        if self._state is None or plan is None:
            return None
        return {
            ATTR_WINDOW_START: _iso(plan.window.start),
            ATTR_WINDOW_END: _iso(plan.window.end),
            ATTR_SLOTS: [
                {
                    "start": _iso(slot.start),
                    "end": _iso(slot.end),
                    "average_price": slot.average_price,
                }
                for slot in plan.schedule.slots[:MAX_LISTED_SLOTS]
            ],
        }


@dataclass(frozen=True, kw_only=True)
class TimeSensorDescription(SensorEntityDescription):
    """Next start or Next end."""

    value: Callable[[SlotState], datetime | None]


TIME_SENSORS: tuple[TimeSensorDescription, ...] = (
    TimeSensorDescription(
        key="next_start",
        translation_key="next_start",
        device_class=SensorDeviceClass.TIMESTAMP,
        value=lambda state: state.next_start,
    ),
    TimeSensorDescription(
        key="next_end",
        translation_key="next_end",
        device_class=SensorDeviceClass.TIMESTAMP,
        value=lambda state: state.next_end,
    ),
)

AVERAGE_PRICE = SensorEntityDescription(
    key="average_price",
    translation_key="average_price",
    state_class=SensorStateClass.MEASUREMENT,
    suggested_display_precision=4,
)


class CheapWindowTimeSensor(_WindowEntity, SensorEntity):
    """When the next slot starts (not the running one), or when the running one ends;
    unknown when the plan has no slot left."""

    entity_description: TimeSensorDescription

    @property
    def native_value(self) -> datetime | None:
        """The time, to the second."""
        return self.entity_description.value(self._state) if self._state else None


class CheapWindowPriceSensor(_WindowEntity, SensorEntity):
    """The chosen slots' mean price per kWh, weighted by each slot's length."""

    @property
    def native_value(self) -> float | None:
        """Unknown when the plan has no slot (a price limit nothing met)."""
        plan = self.coordinator.plan
        if self._state is None or plan is None:
            return None
        return average_price(plan.schedule.slots)

    @property
    def native_unit_of_measurement(self) -> str | None:
        """``<currency>/kWh``, in the answer's currency."""
        plan = self.coordinator.plan
        currency = (plan.schedule.currency_code if plan else None) or self.coordinator.currency
        return f"{currency}/kWh" if currency else None


@callback
def window_sensor_entities(
    coordinator: CheapWindowCoordinator, subentry: ConfigSubentry
) -> list[Entity]:
    """Next start, Next end and Average price of one cheap window."""
    return [
        *(CheapWindowTimeSensor(coordinator, subentry, d) for d in TIME_SENSORS),
        CheapWindowPriceSensor(coordinator, subentry, AVERAGE_PRICE),
    ]


@callback
def window_binary_sensor_entities(
    coordinator: CheapWindowCoordinator, subentry: ConfigSubentry
) -> list[Entity]:
    """The cheap window's binary sensor."""
    return [CheapWindowBinarySensor(coordinator, subentry, EntityDescription(key="active"))]
