"""Diagnostic sensors of each device's uploads: when, what waits, how many errors in a row."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import EntityCategory, Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import entity_registry as er

from ..const import CONF_DEVICE_ID, DOMAIN
from ..entity import FlatpeakEntity
from .coordinator import DeviceStatus, UploadCoordinator

if TYPE_CHECKING:
    from homeassistant.config_entries import ConfigSubentry
    from homeassistant.helpers.entity import Entity

ATTR_ERROR = "error"
# Upload errors replaced the text sensor "Last upload error": HA's logbook writes a line for
# every change of a sensor without a unit or state class, so each reload wrote "became
# unavailable" and "changed to none" there. Its registry entry goes when the platform loads.
REPLACED_KEYS = ("last_upload_error",)


@dataclass(frozen=True, kw_only=True)
class UploadSensorDescription(SensorEntityDescription):
    """How one diagnostic value is read from a device's upload status."""

    value_fn: Callable[[DeviceStatus], datetime | int | None]


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
)

UPLOAD_ERRORS = SensorEntityDescription(
    key="upload_errors",
    translation_key="upload_errors",
    # The state class keeps it out of the logbook: no line at a start, a reload or an error.
    state_class=SensorStateClass.MEASUREMENT,
    entity_category=EntityCategory.DIAGNOSTIC,
)


def upload_entities(coordinator: UploadCoordinator, subentry: ConfigSubentry) -> list[Entity]:
    """The diagnostic sensors of a device's uploads."""
    _async_remove_replaced(coordinator.hass, subentry)
    return [
        *(FlatpeakUploadSensor(coordinator, subentry, d) for d in UPLOAD_SENSORS),
        FlatpeakUploadErrorsSensor(coordinator, subentry),
    ]


@callback
def _async_remove_replaced(hass: HomeAssistant, subentry: ConfigSubentry) -> None:
    """Remove the registry entries of the device's sensors that no longer exist."""
    registry = er.async_get(hass)
    for key in REPLACED_KEYS:
        unique_id = f"{subentry.data[CONF_DEVICE_ID]}_{key}"
        if entity_id := registry.async_get_entity_id(Platform.SENSOR, DOMAIN, unique_id):
            registry.async_remove(entity_id)


def _device_status(coordinator: UploadCoordinator, subentry_id: str) -> DeviceStatus:
    """The device's status in the latest published cycle (empty before the first)."""
    data = coordinator.data
    return (data.devices if data else {}).get(subentry_id, DeviceStatus())


class FlatpeakUploadSensor(FlatpeakEntity[UploadCoordinator], SensorEntity):
    """One diagnostic value of a device's uploads."""

    entity_description: UploadSensorDescription

    @property
    def available(self) -> bool:
        """Upload diagnostics stay readable while uploads fail: that is when they matter."""
        return True

    @property
    def native_value(self) -> datetime | int | None:
        """Read from the coordinator's status for this subentry."""
        return self.entity_description.value_fn(_device_status(self.coordinator, self.subentry_id))


class FlatpeakUploadErrorsSensor(FlatpeakEntity[UploadCoordinator], SensorEntity):
    """How many upload cycles in a row ended with an error for this device (the upload
    coordinator counts them): 0 while uploads work. The latest error's text is the ``error``
    attribute while there is one."""

    def __init__(self, coordinator: UploadCoordinator, subentry: ConfigSubentry) -> None:
        """A diagnostic count of the subentry's device."""
        super().__init__(coordinator, subentry, UPLOAD_ERRORS)

    @property
    def available(self) -> bool:
        """Upload diagnostics stay readable while uploads fail: that is when they matter."""
        return True

    @property
    def native_value(self) -> int:
        """Cycles in a row that ended with an error."""
        return _device_status(self.coordinator, self.subentry_id).errors

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """The latest error's text, while there is one."""
        error = _device_status(self.coordinator, self.subentry_id).last_error
        return {ATTR_ERROR: error} if error else None
