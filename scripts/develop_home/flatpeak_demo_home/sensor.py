"""The simulated home's energy meters (kWh) and the charger's power (W)."""

from __future__ import annotations

from datetime import datetime, timedelta

from homeassistant.components.sensor import SensorDeviceClass, SensorEntity, SensorStateClass
from homeassistant.const import UnitOfEnergy, UnitOfPower
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddEntitiesCallback
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.helpers.typing import ConfigType, DiscoveryInfoType
from homeassistant.util import dt as dt_util

from . import DOMAIN, Home
from .model import power_at

UPDATE = timedelta(seconds=30)
NAMES = {
    "grid_import": "Grid import energy",
    "grid_export": "Grid export energy",
    "solar": "Solar energy",
    "charger": "Charger energy",
    "heat_pump": "Heat pump energy",
}


class Meter(SensorEntity):
    """A cumulative energy meter."""

    _attr_device_class = SensorDeviceClass.ENERGY
    _attr_state_class = SensorStateClass.TOTAL_INCREASING
    _attr_native_unit_of_measurement = UnitOfEnergy.KILO_WATT_HOUR
    _attr_suggested_display_precision = 2
    _attr_should_poll = False

    def __init__(self, meter: str) -> None:
        self._meter = meter
        self._attr_name = NAMES[meter]
        self._attr_unique_id = f"{DOMAIN}_{meter}"

    def update_from(self, readings: dict[str, float]) -> None:
        self._attr_native_value = round(readings[self._meter], 4)


class ChargerPower(SensorEntity):
    """The EV charger's power."""

    _attr_name = "Charger power"
    _attr_unique_id = f"{DOMAIN}_charger_power"
    _attr_device_class = SensorDeviceClass.POWER
    _attr_state_class = SensorStateClass.MEASUREMENT
    _attr_native_unit_of_measurement = UnitOfPower.WATT
    _attr_should_poll = False


async def async_setup_platform(
    hass: HomeAssistant,
    config: ConfigType,
    async_add_entities: AddEntitiesCallback,
    discovery_info: DiscoveryInfoType | None = None,
) -> None:
    """Add the meters and keep them moving."""
    home: Home = hass.data[DOMAIN]
    meters = home.meters
    entities = [Meter(meter) for meter in NAMES]
    power = ChargerPower()

    @callback
    def update(now: datetime | None = None) -> None:
        at = dt_util.utcnow()
        readings = meters.advance(at)
        for entity in entities:
            entity.update_from(readings)
        power._attr_native_value = round(1000 * power_at(at, meters.tz).charger)
        if now is not None:
            for written in (*entities, power):
                written.async_write_ha_state()

    update()
    async_add_entities([*entities, power])
    async_track_time_interval(hass, update, UPDATE, cancel_on_shutdown=True)
