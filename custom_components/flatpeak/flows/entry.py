"""The entry's flow: sign in, choose (or connect) the location, map the house meter.

Reauth and reconfigure come from :class:`.credentials.CredentialsFlow`; the device subentry
flows are in ``subentries.py``, the options in ``options.py``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from homeassistant.config_entries import ConfigEntry, ConfigFlowResult, ConfigSubentryFlow
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.network import NoURLAvailableError
from homeassistant.helpers.selector import (
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
)

from ..client import DeviceType, FlatpeakClient, Location
from ..compat import vol
from ..const import (
    CONF_DEVICE_ID,
    CONF_HISTORY_DAYS,
    CONF_LOCATION_ID,
    CONF_REFERENCE_ID,
    CONF_UPLOAD_INTERVAL,
    DEFAULT_HISTORY_DAYS,
    DEFAULT_UPLOAD_INTERVAL_MIN,
    DOMAIN,
    FLATPEAK_DASHBOARD_URL,
    SUBENTRY_APPLIANCE,
    SUBENTRY_CHEAP_WINDOW,
    SUBENTRY_EV_CHARGER,
    SUBENTRY_HOUSE_METER,
)
from ..entry_client import make_client
from ..sensor_choices import async_dashboard_defaults, energy_sensors
from .cheap_window import CheapWindowSubentryFlow
from .connect import CONNECT_STEP, async_forget_token, async_remember_token, callback_url
from .credentials import CredentialsFlow
from .devices import async_reference_id, async_register_device
from .forms import (
    async_ask_flatpeak,
    check_credentials,
    check_house_meter,
    check_secret,
    credentials_schema,
    house_meter_schema,
)
from .options import FlatpeakOptionsFlow
from .subentries import ApplianceSubentryFlow, EvChargerSubentryFlow, HouseMeterSubentryFlow

CONF_LOCATION = "location"
PICK_CONNECT = "connect"
PICK_MANUAL = "manual"


async def _async_sign_in(
    hass: HomeAssistant, credentials: Mapping[str, Any]
) -> tuple[FlatpeakClient, list[Location]]:
    """Log in and list the account's locations."""
    client = make_client(hass, credentials)
    return client, await client.list_locations()


def _location_label(location: Location, configured: bool) -> str:
    notes = [
        "import tariff connected" if location.tariff_status.import_connected else "no import tariff"
    ]
    if configured:
        notes.append("already set up")
    return f"{location.name} ({', '.join(notes)})"


class FlatpeakConfigFlow(CredentialsFlow, domain=DOMAIN):
    """Sign in, choose a location, map the house meter."""

    VERSION = 1

    def __init__(self) -> None:
        """Start with nothing known."""
        self._credentials: dict[str, Any] = {}
        self._client: FlatpeakClient | None = None
        self._locations: dict[str, Location] = {}
        self._location: Location | None = None
        self._connect_token: str | None = None
        self._connect_page = ""
        self._connect_wait: asyncio.Task[None] | None = None

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> FlatpeakOptionsFlow:
        """Options: upload interval and history window."""
        return FlatpeakOptionsFlow()

    @classmethod
    @callback
    def async_get_supported_subentry_types(
        cls, config_entry: ConfigEntry
    ) -> dict[str, type[ConfigSubentryFlow]]:
        """The house meter, EV chargers, appliances and cheap windows are subentries of the
        location entry.

        Both types are always listed: Home Assistant (2025.4 to 2026.10) computes this list
        once per entry for the frontend and looks a type up here again to reconfigure one of
        its subentries, so the house meter type cannot be hidden while a house meter exists.
        "Add house meter" then offers to change the existing one instead.
        """
        return {
            SUBENTRY_HOUSE_METER: HouseMeterSubentryFlow,
            SUBENTRY_EV_CHARGER: EvChargerSubentryFlow,
            SUBENTRY_APPLIANCE: ApplianceSubentryFlow,
            SUBENTRY_CHEAP_WINDOW: CheapWindowSubentryFlow,
        }

    @callback
    def async_remove(self) -> None:
        """The flow is gone: its Connect token no longer resumes anything."""
        async_forget_token(self.hass, self.flow_id)

    # -- sign in ----------------------------------------------------------------------

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Account id and API key, tested before anything is saved."""
        errors: dict[str, str] = {}
        if user_input is not None:
            credentials = check_credentials(user_input, errors)
            if not errors and (
                signed_in := await async_ask_flatpeak(
                    lambda: _async_sign_in(self.hass, credentials), errors, "signing in"
                )
            ):
                self._credentials = credentials
                self._client, locations = signed_in
                self._locations = {location.id: location for location in locations}
                return await self.async_step_location()
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(
                credentials_schema(self._credentials), user_input or {}
            ),
            errors=errors,
            description_placeholders={"dashboard_url": FLATPEAK_DASHBOARD_URL},
        )

    # -- location ---------------------------------------------------------------------

    async def async_step_location(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Pick one of the account's locations, enter an id, or connect a tariff now."""
        if user_input is not None:
            choice = user_input[CONF_LOCATION]
            if choice == PICK_CONNECT:
                return await self.async_step_connect()
            if choice == PICK_MANUAL:
                return await self.async_step_location_id()
            return await self._async_use_location(choice, "location")
        return self._location_form({})

    def _location_form(self, errors: dict[str, str]) -> ConfigFlowResult:
        """The account's locations, then Connect and 'enter an id'.

        Locations already set up are marked, and the first one that is not is pre-selected.
        """
        configured = self._async_current_ids()
        options = [
            SelectOptionDict(value=loc.id, label=_location_label(loc, loc.id in configured))
            for loc in self._locations.values()
        ]
        # Labels of these two come from the selector translations.
        options += [
            SelectOptionDict(value=PICK_CONNECT, label=PICK_CONNECT),
            SelectOptionDict(value=PICK_MANUAL, label=PICK_MANUAL),
        ]
        preselected = next(o["value"] for o in options if o["value"] not in configured)
        return self.async_show_form(
            step_id="location",
            data_schema=vol.Schema(
                {
                    vol.Required(CONF_LOCATION, default=preselected): SelectSelector(
                        SelectSelectorConfig(
                            options=options,
                            mode=SelectSelectorMode.LIST,
                            translation_key=CONF_LOCATION,
                        )
                    )
                }
            ),
            errors=errors,
        )

    def _location_id_form(self, errors: dict[str, str], default: str = "") -> ConfigFlowResult:
        return self.async_show_form(
            step_id="location_id",
            data_schema=vol.Schema({vol.Required(CONF_LOCATION_ID, default=default): str}),
            errors=errors,
        )

    async def async_step_location_id(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """A location id typed in (``loc_…``)."""
        if user_input is None:
            return self._location_id_form({})
        errors: dict[str, str] = {}
        location_id = check_secret(user_input.get(CONF_LOCATION_ID), CONF_LOCATION_ID, errors)
        if errors:
            return self._location_id_form(errors, location_id)
        return await self._async_use_location(location_id, "location_id")

    async def _async_use_location(self, location_id: str, step_id: str) -> ConfigFlowResult:
        """Fetch the location fresh (its tariff may have just been connected) and go on.

        A location that is already set up is refused on the spot, before asking Flatpeak,
        and the person can pick another one without signing in again.
        """
        assert self._client is not None
        client = self._client
        errors: dict[str, str] = {}
        location: Location | None = None
        if location_id in self._async_current_ids():
            errors["base"] = "already_configured"
        else:
            location = await async_ask_flatpeak(
                lambda: client.get_location(location_id),
                errors,
                "reading a location",
                not_found="location_not_found",
            )
        if location is None:
            if step_id == "location_id":
                return self._location_id_form(errors, location_id)
            return self._location_form(errors)
        self._location = location
        await self.async_set_unique_id(location.id)  # another flow on it: already_in_progress
        if not location.tariff_status.import_connected:
            return await self.async_step_no_tariff()
        return await self.async_step_house_meter()

    async def async_step_no_tariff(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Explain what a location without an import tariff means before going on."""
        if user_input is not None:
            return await self.async_step_house_meter()
        assert self._location is not None
        return self.async_show_form(
            step_id="no_tariff",
            data_schema=vol.Schema({}),
            description_placeholders={
                "location": self._location.name,
                "dashboard_url": FLATPEAK_DASHBOARD_URL,
            },
        )

    # -- Flatpeak Connect -------------------------------------------------------------

    async def async_step_connect(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Link to Flatpeak Connect and wait until the callback view sees the browser back.

        Nothing typed or sent to this step moves it on: only the browser coming back with
        the token this flow was issued (see ``connect.py``) ends its progress task.
        """
        assert self._client is not None
        client = self._client
        if self._connect_wait is None:
            try:
                back = callback_url(self.hass, self.flow_id)
            except NoURLAvailableError:
                return self.async_abort(reason="no_url_available")
            token = await async_ask_flatpeak(
                lambda: client.create_connect_token(back), {}, "starting Flatpeak Connect"
            )
            if token is None:
                return self.async_abort(reason="connect_failed")
            self._connect_token = token.connect_token
            self._connect_page = client.connect_page_url(token.connect_token)
            issued = async_remember_token(self.hass, self.flow_id, token.connect_token)
            # A background task: nothing waits for it (not even async_block_till_done).
            self._connect_wait = self.hass.async_create_background_task(
                issued.async_wait(), f"{DOMAIN} waiting for Flatpeak Connect"
            )
        if not self._connect_wait.done():
            return self.async_show_progress(
                step_id=CONNECT_STEP,
                progress_action=CONNECT_STEP,
                progress_task=self._connect_wait,
                description_placeholders={"connect_url": self._connect_page},
            )
        self._connect_wait = None  # choosing Connect again starts a new session
        return self.async_show_progress_done(next_step_id="connect_finish")

    async def async_step_connect_finish(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Exchange the Connect token for the location it made or updated."""
        assert self._client is not None
        assert self._connect_token is not None
        client, token = self._client, self._connect_token
        result = await async_ask_flatpeak(
            lambda: client.exchange_connect_token(token), {}, "finishing Flatpeak Connect"
        )
        if result is None:
            return self.async_abort(reason="connect_failed")
        return await self._async_use_location(result.location_id, "location")

    # -- house meter ------------------------------------------------------------------

    async def async_step_house_meter(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Map grid import, export and solar; register the house meter device."""
        assert self._client is not None
        assert self._location is not None
        client, location = self._client, self._location
        errors: dict[str, str] = {}
        if user_input is not None:
            sensors = check_house_meter(self.hass, user_input, errors)
            if not errors:
                self._abort_if_unique_id_configured()  # set up by another flow meanwhile
                reference_id = await async_reference_id(
                    self.hass, location.id, SUBENTRY_HOUSE_METER, "main"
                )
                device_id = await async_ask_flatpeak(
                    lambda: async_register_device(
                        client, reference_id, DeviceType.OTHER, location.id
                    ),
                    errors,
                    "registering the house meter",
                    refused="device_registration_failed",
                )
                if device_id is not None:
                    return self.async_create_entry(
                        title=location.name,
                        data={**self._credentials, CONF_LOCATION_ID: location.id},
                        options={
                            CONF_UPLOAD_INTERVAL: DEFAULT_UPLOAD_INTERVAL_MIN,
                            CONF_HISTORY_DAYS: DEFAULT_HISTORY_DAYS,
                        },
                        subentries=[
                            {
                                "subentry_type": SUBENTRY_HOUSE_METER,
                                "title": "House meter",
                                "unique_id": reference_id,
                                "data": {
                                    **sensors,
                                    CONF_DEVICE_ID: device_id,
                                    CONF_REFERENCE_ID: reference_id,
                                },
                            }
                        ],
                    )
        defaults = user_input or await async_dashboard_defaults(self.hass)
        if not energy_sensors(self.hass):
            errors["base"] = "no_energy_sensors"
        return self.async_show_form(
            step_id="house_meter",
            data_schema=house_meter_schema(self.hass, defaults),
            errors=errors,
            description_placeholders={"location": location.name},
        )
