"""Whether the simulated EV is charging: on for the evening session."""

from __future__ import annotations

from datetime import datetime, timedelta

from homeassistant.components.binary_sensor import BinarySensorDeviceClass, BinarySensorEntity
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddEntitiesCallback
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.helpers.typing import ConfigType, DiscoveryInfoType
from homeassistant.util import dt as dt_util

from . import DOMAIN
from .model import Meters, charging_at


class Charging(BinarySensorEntity):
    """On while the EV charges."""

    _attr_name = "EV charging"
    _attr_unique_id = f"{DOMAIN}_ev_charging"
    _attr_device_class = BinarySensorDeviceClass.BATTERY_CHARGING
    _attr_should_poll = False


async def async_setup_platform(
    hass: HomeAssistant,
    config: ConfigType,
    async_add_entities: AddEntitiesCallback,
    discovery_info: DiscoveryInfoType | None = None,
) -> None:
    """Add the charging sensor and follow the session."""
    meters: Meters = hass.data[DOMAIN]
    entity = Charging()

    @callback
    def update(now: datetime | None = None) -> None:
        entity._attr_is_on = charging_at(dt_util.utcnow(), meters.tz)
        if now is not None:
            entity.async_write_ha_state()

    update()
    async_add_entities([entity])
    async_track_time_interval(hass, update, timedelta(seconds=30), cancel_on_shutdown=True)
