"""Diagnostic sensors of each device's uploads: when, what waits, the last error."""

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

from ..entity import FlatpeakEntity
from .coordinator import DeviceStatus, UploadCoordinator

if TYPE_CHECKING:
    from homeassistant.config_entries import ConfigSubentry
    from homeassistant.helpers.entity import Entity


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


def upload_entities(coordinator: UploadCoordinator, subentry: ConfigSubentry) -> list[Entity]:
    """The diagnostic sensors of a device's uploads."""
    return [FlatpeakUploadSensor(coordinator, subentry, d) for d in UPLOAD_SENSORS]


class FlatpeakUploadSensor(FlatpeakEntity[UploadCoordinator], SensorEntity):
    """One diagnostic value of a device's uploads."""

    entity_description: UploadSensorDescription

    @property
    def available(self) -> bool:
        """Upload diagnostics stay readable while uploads fail: that is when they matter."""
        return True

    @property
    def native_value(self) -> datetime | int | str | None:
        """Read from the coordinator's status for this subentry."""
        data = self.coordinator.data
        status = (data.devices if data else {}).get(self.subentry_id, DeviceStatus())
        return self.entity_description.value_fn(status)
