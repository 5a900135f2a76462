"""Which tariff prices the home: Import tariff and Export tariff (the tariff's name, or Not
connected) and Contract ends, on the house meter, from the tariff health's ``/status``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from homeassistant.components.sensor import SensorDeviceClass, SensorEntity, SensorEntityDescription

from ..entity import FlatpeakEntity
from .coordinator import EXPORT, IMPORT, TariffHealth

if TYPE_CHECKING:
    from homeassistant.config_entries import ConfigSubentry
    from homeassistant.helpers.entity import Entity

    from ..client import LocationStatus, TariffPart

NOT_CONNECTED = "not_connected"


@dataclass(frozen=True, kw_only=True)
class TariffSensorDescription(SensorEntityDescription):
    """One figure of the location's status."""

    value_fn: Callable[[LocationStatus], str | datetime | None]
    part: str


CONNECTED = "connected"


def _name(part: TariffPart) -> str | None:
    """The tariff's own name; ``connected`` (translated) for one Flatpeak gives no name."""
    if not part.connected:
        return None  # the entity says Not connected, or the problem, from its attributes
    return part.tariff_name or CONNECTED


TARIFF_SENSORS = (
    TariffSensorDescription(
        key="import_tariff",
        translation_key="import_tariff",
        part=IMPORT,
        value_fn=lambda status: _name(status.commodity_import),
    ),
    TariffSensorDescription(
        key="export_tariff",
        translation_key="export_tariff",
        part=EXPORT,
        value_fn=lambda status: _name(status.commodity_export),
    ),
    TariffSensorDescription(
        key="contract_ends",
        translation_key="contract_ends",
        part=IMPORT,
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=lambda status: status.commodity_import.contract_end,
    ),
)


def tariff_entities(health: TariffHealth, subentry: ConfigSubentry) -> list[Entity]:
    """The house meter's tariff sensors."""
    return [FlatpeakTariffSensor(health, subentry, d) for d in TARIFF_SENSORS]


class FlatpeakTariffSensor(FlatpeakEntity[TariffHealth], SensorEntity):
    """A tariff's name (Not connected without one) or when its contract ends."""

    entity_description: TariffSensorDescription
    _unrecorded_attributes = frozenset({"provider", "structure_type", "connection_type"})

    @property
    def available(self) -> bool:
        """Known once ``/status`` was read; kept while a later read fails."""
        return self.coordinator.data is not None

    @property
    def native_value(self) -> str | datetime | None:
        """The tariff's display name (``not_connected`` is translated), or the end."""
        status = self.coordinator.data
        if status is None:
            return None
        value = self.entity_description.value_fn(status)
        if value is None and self.entity_description.device_class is None:
            part = status.part(self.entity_description.part)
            return NOT_CONNECTED if part.status != "ERROR" else "error"
        return value

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """Provider, structure type and connection type of a tariff sensor's part."""
        status = self.coordinator.data
        if status is None or self.entity_description.device_class is not None:
            return None
        part = status.part(self.entity_description.part)
        return {
            "provider": part.provider,
            "structure_type": part.structure_type,
            "connection_type": part.connection_type,
            "status": part.status.lower(),
        }
