"""Fix flows of the tariff repairs: Flatpeak Connect for this location, in the right mode.

Expiring, expired or not syncing: edit that tariff; a better connection: connect it again;
no import tariff, or an export or solar sensor without an export tariff: connect one. The
flow ends once ``/status`` shows the part connected (the repair is then gone); otherwise it
says so and the repair stays.
"""

from __future__ import annotations

from typing import Any

from homeassistant.components.repairs import RepairsFlow, repairs_flow_manager
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir

from .const import DOMAIN
from .flows import FlowLookup, TariffConnectSteps
from .health import IMPORT


class TariffRepairFlow(TariffConnectSteps, RepairsFlow):
    """Explain, then Flatpeak Connect for the repair's part."""

    def __init__(self, issue_id: str, entry_id: str, part: str) -> None:
        """The repair ``issue_id`` of ``part`` of the entry ``entry_id``."""
        self.issue_id = issue_id
        self.entry_id = entry_id
        self.part = part

    def _manager(self) -> FlowLookup:
        manager = repairs_flow_manager(self.hass)
        assert manager is not None  # this flow runs in it
        return manager

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> Any:
        """The repairs manager starts here with the issue's data: explain first."""
        return await self.async_step_confirm()

    async def async_step_confirm(self, user_input: dict[str, Any] | None = None) -> Any:
        """What Connect will do, and a button to start it."""
        if user_input is not None:
            return await self.async_step_connect()
        entry = self.hass.config_entries.async_get_entry(self.entry_id)
        return self.async_show_form(
            step_id="confirm",
            description_placeholders={"location": entry.title if entry else ""},
        )

    async def _async_connected(self) -> Any:
        issue = ir.async_get(self.hass).async_get_issue(DOMAIN, self.issue_id)
        if issue is None or self._part_fixed():
            return self.async_create_entry(data={})
        return self.async_abort(reason="not_fixed")

    def _part_fixed(self) -> bool:
        entry = self._loaded_entry()
        if entry is None:
            return False
        health = entry.runtime_data.health
        status = health.data
        if status is None or not status.part(self.part).connected:
            return False
        return self.part not in health.problems


async def async_create_fix_flow(
    hass: HomeAssistant, issue_id: str, data: dict[str, str | int | float | None] | None
) -> RepairsFlow:
    """The fix flow of one of this integration's tariff repairs."""
    data = data or {}
    return TariffRepairFlow(
        issue_id, str(data.get("entry_id", "")), str(data.get("part") or IMPORT)
    )
