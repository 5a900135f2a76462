"""Reauth and reconfigure: new credentials or API address for an existing location entry.

A base class of the config flow; the location and its devices stay as they are.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.config_entries import (
    ConfigEntry,
    ConfigEntryState,
    ConfigFlow,
    ConfigFlowResult,
)
from homeassistant.core import callback
from homeassistant.helpers.selector import TextSelector, TextSelectorConfig, TextSelectorType

from ..compat import vol
from ..const import CONF_ACCOUNT_ID, CONF_API_KEY, CONF_LOCATION_ID, FLATPEAK_DASHBOARD_URL
from ..entry_client import make_client
from .forms import async_ask_flatpeak, check_credentials, check_secret, credentials_schema


class CredentialsFlow(ConfigFlow):
    """Reauth and reconfigure steps of the Flatpeak config flow."""

    async def async_step_reauth(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """The API key stopped working."""
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for a new API key for the same account; empty tries the stored one again."""
        entry = self._get_reauth_entry()
        stored_key = entry.data.get(CONF_API_KEY)
        errors: dict[str, str] = {}
        if user_input is not None:
            account_id = check_secret(user_input.get(CONF_ACCOUNT_ID), CONF_ACCOUNT_ID, errors)
            api_key = check_secret(
                user_input.get(CONF_API_KEY), CONF_API_KEY, errors, required=not stored_key
            )
            if not errors and account_id != entry.data[CONF_ACCOUNT_ID]:
                return self.async_abort(reason="wrong_account")
            credentials = {**entry.data, CONF_API_KEY: api_key or stored_key}
            if not errors and await self._async_check_location(credentials, errors):
                return self._async_update_and_reload(entry, credentials, "reauth_successful")
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=vol.Schema(
                {
                    vol.Required(CONF_ACCOUNT_ID, default=entry.data[CONF_ACCOUNT_ID]): str,
                    vol.Optional(CONF_API_KEY): TextSelector(
                        TextSelectorConfig(type=TextSelectorType.PASSWORD)
                    ),
                }
            ),
            errors=errors,
            description_placeholders={
                "location": entry.title,
                "dashboard_url": FLATPEAK_DASHBOARD_URL,
            },
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the credentials or the API base URL; the location stays.

        An empty API key keeps the stored one, so changing only the URL needs no key.
        """
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            credentials = {
                **entry.data,
                **check_credentials(user_input, errors, entry.data.get(CONF_API_KEY)),
            }
            if not errors and await self._async_check_location(credentials, errors):
                return self._async_update_and_reload(entry, credentials, "reconfigure_successful")
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(
                credentials_schema(entry.data, key_optional=True), user_input or {}
            ),
            errors=errors,
            description_placeholders={"location": entry.title},
        )

    async def _async_check_location(
        self, credentials: Mapping[str, Any], errors: dict[str, str]
    ) -> bool:
        """True when the credentials work and still reach this entry's location."""

        async def reach_location() -> bool:
            client = make_client(self.hass, credentials)
            await client.get_location(credentials[CONF_LOCATION_ID])
            return True

        reached = await async_ask_flatpeak(
            reach_location,
            errors,
            "checking the location",
            not_found="location_not_in_account",
        )
        return reached is not None

    @callback
    def _async_update_and_reload(
        self, entry: ConfigEntry, data: Mapping[str, Any], reason: str
    ) -> ConfigFlowResult:
        """Save new data; the entry's update listener reloads a loaded entry, we reload others.

        ``async_update_reload_and_abort`` is not used because HA refuses it next to an update
        listener from 2026.12.
        """
        self.hass.config_entries.async_update_entry(entry, data=data)
        if entry.state is not ConfigEntryState.LOADED:
            self.hass.config_entries.async_schedule_reload(entry.entry_id)
        return self.async_abort(reason=reason)
