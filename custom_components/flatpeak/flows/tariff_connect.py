"""Flatpeak Connect for one part of an existing location's tariff: the steps a repair's fix
flow and Options → Change tariff share.

The flow asks for a Connect token of the location, the part's direction and type and the
tariff it replaces (``edit_tariff``: Connect opens at choosing a provider), shows the Connect
link as a progress step, and goes on when the callback view sees the browser back with that
token (``connect.py``). Then the token is exchanged, the tariff status read again (which
clears the repairs it shows fixed) and prices and recent costs refreshed.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers.network import NoURLAvailableError

from ..client import FlatpeakError, TariffDirection
from ..const import CONF_LOCATION_ID, DOMAIN
from ..health import EXPORT, GRID_FEES, IMPORT
from .connect import (
    CONNECT_STEP,
    FlowLookup,
    async_forget_token,
    async_remember_token,
    callback_url,
)

if TYPE_CHECKING:
    from .. import FlatpeakConfigEntry

_LOGGER = logging.getLogger(__name__)

# status part → (direction, tariff type) of a Connect session for it
PART_SESSION = {
    IMPORT: (TariffDirection.IMPORT, "COMMODITY"),
    EXPORT: (TariffDirection.EXPORT, "COMMODITY"),
    GRID_FEES: (TariffDirection.IMPORT, "NON_COMMODITY"),
}


class TariffConnectSteps:
    """``connect`` and ``connect_finish`` for the part ``self.part`` of ``self.entry_id``,
    mixed into a flow handler (a repair's fix flow, the options flow)."""

    hass: HomeAssistant
    flow_id: str
    entry_id: str
    part: str
    _connect_wait: asyncio.Task[None] | None = None
    _connect_token: str | None = None
    _connect_page: str = ""

    @property
    def _flow(self) -> Any:
        """This object as the flow handler it is mixed into."""
        return self

    def _manager(self) -> FlowLookup:
        """The flow manager this flow runs in (the callback finds the flow there)."""
        raise NotImplementedError

    def _loaded_entry(self) -> FlatpeakConfigEntry | None:
        entry = self.hass.config_entries.async_get_entry(self.entry_id)
        if entry is None or entry.state is not ConfigEntryState.LOADED:
            return None
        return entry

    async def _async_connected(self) -> Any:
        """What the flow does once the status was read after Connect."""
        raise NotImplementedError

    async def async_step_connect(self, user_input: dict[str, Any] | None = None) -> Any:
        """Link to Flatpeak Connect for the part and wait for the browser to come back."""
        entry = self._loaded_entry()
        if entry is None:
            return self._flow.async_abort(reason="entry_not_loaded")
        client = entry.runtime_data.client
        if self._connect_wait is None:
            try:
                back = callback_url(self.hass, self.flow_id)
            except NoURLAvailableError:
                return self._flow.async_abort(reason="no_url_available")
            direction, kind = PART_SESSION[self.part]
            status = entry.runtime_data.health.data
            tariff_id = status.part(self.part).tariff_id if status else None
            try:
                token = await client.create_connect_token(
                    back,
                    location_id=entry.data[CONF_LOCATION_ID],
                    tariff_direction=direction,
                    tariff_type=kind,
                    tariff_id=tariff_id,
                    edit_tariff=True,
                )
            except FlatpeakError as err:
                _LOGGER.warning("Flatpeak Connect could not start: %s", err)
                return self._flow.async_abort(reason="connect_failed")
            self._connect_token = token.connect_token
            self._connect_page = client.connect_page_url(token.connect_token)
            issued = async_remember_token(
                self.hass, self.flow_id, token.connect_token, self._manager()
            )
            self._connect_wait = self.hass.async_create_background_task(
                issued.async_wait(), f"{DOMAIN} waiting for Flatpeak Connect"
            )
        if not self._connect_wait.done():
            return self._flow.async_show_progress(
                step_id=CONNECT_STEP,
                progress_action=CONNECT_STEP,
                progress_task=self._connect_wait,
                description_placeholders={"connect_url": self._connect_page},
            )
        self._connect_wait = None
        return self._flow.async_show_progress_done(next_step_id="connect_finish")

    async def async_step_connect_finish(self, user_input: dict[str, Any] | None = None) -> Any:
        """Exchange the token, read the status again, then the flow's own ending."""
        entry = self._loaded_entry()
        if entry is None:
            return self._flow.async_abort(reason="entry_not_loaded")
        assert self._connect_token is not None
        client, token = entry.runtime_data.client, self._connect_token
        try:
            await client.exchange_connect_token(token)
            await entry.runtime_data.health.async_after_connect()
        except FlatpeakError as err:  # the status is read again on its own schedule
            _LOGGER.warning("Flatpeak Connect did not finish: %s", err)
            return self._flow.async_abort(reason="connect_failed")
        return await self._async_connected()

    def async_remove(self) -> None:
        """The flow is gone: its Connect token no longer resumes anything."""
        async_forget_token(self.hass, self.flow_id)
