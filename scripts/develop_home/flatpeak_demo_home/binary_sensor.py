"""Whether the simulated EV is charging: on for the evening session.

Added by the ``add_ev_charging`` action, not at start-up: its first states are the history's
(see the package).
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from homeassistant.components.binary_sensor import BinarySensorDeviceClass, BinarySensorEntity
from homeassistant.const import ATTR_DEVICE_CLASS, ATTR_FRIENDLY_NAME, STATE_OFF, STATE_ON
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddEntitiesCallback
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.helpers.typing import ConfigType, DiscoveryInfoType
from homeassistant.util import dt as dt_util

from . import DOMAIN, Home
from .model import charging_at, charging_changes


class Charging(BinarySensorEntity):
    """On while the EV charges."""

    _attr_name = "EV charging"
    _attr_unique_id = f"{DOMAIN}_ev_charging"
    _attr_device_class = BinarySensorDeviceClass.BATTERY_CHARGING
    _attr_should_poll = False

    def __init__(self, history: list[tuple[datetime, bool]]) -> None:
        self._history = history
        self.added: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def async_added_to_hass(self) -> None:
        """Before its first live state: each change of the history, at the time it happened.

        The attributes are the ones the entity writes, so its first live state (the same as
        the history's last) changes nothing and keeps the real ``last_changed``.
        """
        attributes = {ATTR_DEVICE_CLASS: self.device_class, ATTR_FRIENDLY_NAME: self.name}
        for moment, charging in self._history:
            self.hass.states.async_set(
                self.entity_id,
                STATE_ON if charging else STATE_OFF,
                attributes,
                timestamp=moment.timestamp(),
            )
        self.added.set_result(None)


async def async_setup_platform(
    hass: HomeAssistant,
    config: ConfigType,
    async_add_entities: AddEntitiesCallback,
    discovery_info: DiscoveryInfoType | None = None,
) -> None:
    """Offer the charging sensor to the ``add_ev_charging`` action."""
    home: Home = hass.data[DOMAIN]

    async def add() -> None:
        now = dt_util.utcnow()
        entity = Charging(charging_changes(home.history_start, now, home.meters.tz))
        entity._attr_is_on = charging_at(now, home.meters.tz)
        async_add_entities([entity])
        await asyncio.wait_for(entity.added, 30)  # HA logs why, should it fail

        @callback
        def update(now: datetime) -> None:
            entity._attr_is_on = charging_at(dt_util.utcnow(), home.meters.tz)
            entity.async_write_ha_state()

        entity.async_on_remove(
            async_track_time_interval(hass, update, timedelta(seconds=30), cancel_on_shutdown=True)
        )

    home.add_ev_charging = add
