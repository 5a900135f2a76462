"""EV charging sessions: recognised live from an entity's state or a power threshold.

Sessions are kept in the entry's session book, so one that is open when Home Assistant stops
is still open (or closed at the right moment) after it starts again. A session opened by the
``start_charging_session`` action is closed only by ``end_charging_session``: while it is
open, the entity neither closes it nor opens another, also across reloads and restarts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN, UnitOfPower
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, State, callback
from homeassistant.helpers import instance_id
from homeassistant.helpers.event import async_track_state_change_event
from homeassistant.util import dt as dt_util
from homeassistant.util.hass_dict import HassKey
from homeassistant.util.unit_conversion import PowerConverter

from ..const import (
    CONF_DEVICE_ID,
    CONF_POWER_SENSOR,
    CONF_POWER_THRESHOLD,
    CONF_SESSION_ENTITY,
    CONF_SESSION_MODE,
    CONF_SESSION_STATES,
    DEFAULT_POWER_THRESHOLD_W,
    DEFAULT_SESSION_STATES,
    DOMAIN,
    SESSION_MODE_POWER,
)
from ..core.sessions import Session, new_session_id
from .book import SessionBook

# HA's instance id, read once (it needs I/O) before any tracker opens a session: it goes into
# every new session id, so a reinstall never reuses one.
INSTALLATION: HassKey[str] = HassKey(f"{DOMAIN}_installation")


async def async_load_installation(hass: HomeAssistant) -> None:
    """Read Home Assistant's instance id for new session ids."""
    hass.data[INSTALLATION] = await instance_id.async_get(hass)


def is_charging(state: State | None, config: Mapping[str, Any]) -> bool | None:
    """Whether a state means charging; None when it says nothing (unknown/unavailable)."""
    if state is None or state.state in (STATE_UNKNOWN, STATE_UNAVAILABLE):
        return None
    if config.get(CONF_SESSION_MODE) == SESSION_MODE_POWER:
        try:
            value = float(state.state)
        except ValueError:
            return None
        unit = state.attributes.get("unit_of_measurement") or UnitOfPower.WATT
        try:
            watts = PowerConverter.convert(value, unit, UnitOfPower.WATT)
        except Exception:  # an odd unit: read the number as watts
            watts = value
        return watts > float(config.get(CONF_POWER_THRESHOLD, DEFAULT_POWER_THRESHOLD_W))
    wanted = {s.lower() for s in config.get(CONF_SESSION_STATES, DEFAULT_SESSION_STATES)}
    return state.state.lower() in wanted


class SessionTracker:
    """Follows one charger's session entity and opens and closes its sessions in the book."""

    def __init__(
        self,
        hass: HomeAssistant,
        subentry_id: str,
        config: Mapping[str, Any],
        book: SessionBook,
        on_change: Callable[[], None],
    ) -> None:
        """Resume from the book; ``on_change`` runs after a session opened or closed."""
        self._hass = hass
        self._subentry_id = subentry_id
        self._device_id = str(config[CONF_DEVICE_ID])
        self._config = dict(config)
        self._book = book
        self._on_change = on_change
        key = (
            CONF_POWER_SENSOR
            if config.get(CONF_SESSION_MODE) == SESSION_MODE_POWER
            else CONF_SESSION_ENTITY
        )
        self.entity_id: str = str(config.get(key, ""))

    @property
    def open_session(self) -> Session | None:
        """The session in progress, if any."""
        return self._book.open_session(self._subentry_id)

    @callback
    def async_start(self) -> Callable[[], None]:
        """Reconcile with the entity's state now, then follow its changes."""
        self._follow(self._hass.states.get(self.entity_id))
        return async_track_state_change_event(self._hass, [self.entity_id], self._async_changed)

    @callback
    def _async_changed(self, event: Event[EventStateChangedData]) -> None:
        self._follow(event.data["new_state"])

    def _follow(self, state: State | None) -> None:
        """Open or close a session as the entity says, unless one opened by hand is open."""
        if (current := self.open_session) is not None and current.manual:
            return
        self._apply(is_charging(state, self._config), state.last_changed if state else None)

    @callback
    def async_start_manual(self, when: datetime, label: str | None) -> Session | None:
        """Open a session by hand; None when one is open already."""
        if self.open_session is not None:
            return None
        return self._apply(True, when, manual=True, label=label)

    @callback
    def async_end_manual(self, when: datetime) -> Session | None:
        """Close the open session by hand; None when none is open."""
        if self.open_session is None:
            return None
        return self._apply(False, when)

    def _apply(
        self,
        charging: bool | None,
        when: datetime | None,
        *,
        manual: bool = False,
        label: str | None = None,
    ) -> Session | None:
        """Open or close a session; ``manual`` and ``label`` for one opened by the action.
        The session opened or closed, None when nothing changed."""
        # Whole seconds, as HA shows times: the sensor, the actions' answers and the event
        # then all say the same start and end.
        when = (when or dt_util.utcnow()).replace(microsecond=0)
        current = self.open_session
        if charging and current is None:
            installation = self._hass.data.get(INSTALLATION, "")
            session = Session(
                new_session_id(installation, self._device_id, when),
                when,
                manual=manual,
                label=label,
            )
            self._book.async_open(self._subentry_id, session)
        elif charging is False and current is not None:
            session = self._book.async_close(self._subentry_id, when) or current
        else:
            return None
        self._on_change()
        return session
