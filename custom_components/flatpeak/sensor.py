"""Diagnostic sensors of each device's uploads."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import EntityCategory

from .charger_sensor import charger_entities
from .const import SUBENTRY_EV_CHARGER, SUBENTRY_HOUSE_METER
from .coordinator import DeviceStatus
from .cost_sensor import cost_entities
from .entity import FlatpeakUploadEntity
from .price_sensor import async_add_price_sensors

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant
    from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

    from . import FlatpeakConfigEntry

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class UploadSensorDescription(SensorEntityDescription):
    """How one diagnostic value is read from a device's upload status."""

    value_fn: Callable[[DeviceStatus], datetime | int | str | None]


UPLOAD_SENSORS: tuple[UploadSensorDescription, ...] = (
    UploadSensorDescription(
        key="last_upload",
        translation_key="last_upload",
        device_class=SensorDeviceClass.TIMESTAMP,
        entity_category=EntityCategory.DIAGNOSTIC,
        # A timestamp has no unit, so the logbook would show a line every cycle.
        entity_registry_enabled_default=False,
        value_fn=lambda status: status.last_success,
    ),
    UploadSensorDescription(
        key="intervals_waiting",
        translation_key="intervals_waiting",
        state_class=SensorStateClass.MEASUREMENT,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda status: status.waiting,
    ),
    UploadSensorDescription(
        key="last_upload_error",
        translation_key="last_upload_error",
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda status: (status.last_error or "none")[:255],
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: FlatpeakConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Diagnostic sensors for every subentry, added under that subentry."""
    coordinator = entry.runtime_data.uploads
    for subentry in entry.subentries.values():
        async_add_entities(
            [FlatpeakUploadSensor(coordinator, subentry, d) for d in UPLOAD_SENSORS],
            config_subentry_id=subentry.subentry_id,
        )
        if subentry.subentry_type == SUBENTRY_HOUSE_METER:
            async_add_entities(
                cost_entities(entry.runtime_data.costs, subentry),
                config_subentry_id=subentry.subentry_id,
            )
        if subentry.subentry_type == SUBENTRY_EV_CHARGER:
            async_add_entities(
                charger_entities(entry.runtime_data.costs, entry.runtime_data.sessions, subentry),
                config_subentry_id=subentry.subentry_id,
            )
    async_add_price_sensors(entry, async_add_entities)


class FlatpeakUploadSensor(FlatpeakUploadEntity, SensorEntity):
    """One diagnostic value of a device's uploads."""

    entity_description: UploadSensorDescription

    @property
    def native_value(self) -> datetime | int | str | None:
        """Read from the coordinator's status for this subentry."""
        status = self.coordinator.status.devices.get(self.subentry_id, DeviceStatus())
        return self.entity_description.value_fn(status)
