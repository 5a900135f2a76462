"""Config flow: sign in, choose the location, map the house meter; devices as subentries."""

from __future__ import annotations

from collections.abc import Mapping
import ipaddress
import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from aiohttp import web
from homeassistant.config_entries import (
    SOURCE_RECONFIGURE,
    ConfigEntry,
    ConfigEntryState,
    ConfigFlow,
    ConfigFlowResult,
    ConfigSubentryFlow,
    OptionsFlow,
    SubentryFlowResult,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.data_entry_flow import UnknownFlow, section
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.http import HomeAssistantView
from homeassistant.helpers.network import NoURLAvailableError, get_url
from homeassistant.helpers.selector import (
    EntitySelector,
    EntitySelectorConfig,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
from homeassistant.util.hass_dict import HassKey

from .client import (
    DEFAULT_BASE_URL,
    DeviceType,
    FlatpeakAccountDisabledError,
    FlatpeakAuthenticationError,
    FlatpeakClient,
    FlatpeakConnectionError,
    FlatpeakError,
    FlatpeakInvalidRequestError,
    FlatpeakNotFoundError,
    FlatpeakUnavailableError,
    Location,
)
from .compat import vol
from .const import (
    CONF_ACCOUNT_ID,
    CONF_API_KEY,
    CONF_BASE_URL,
    CONF_CHARGER_ENERGY,
    CONF_DEVICE_ID,
    CONF_GRID_EXPORT,
    CONF_GRID_IMPORT,
    CONF_HISTORY_DAYS,
    CONF_LOCATION_ID,
    CONF_POWER_SENSOR,
    CONF_POWER_THRESHOLD,
    CONF_REFERENCE_ID,
    CONF_SESSION_ENTITY,
    CONF_SESSION_MODE,
    CONF_SESSION_STATES,
    CONF_SOLAR,
    CONF_SUBMISSION_MODE,
    CONF_UPLOAD_INTERVAL,
    DEFAULT_HISTORY_DAYS,
    DEFAULT_POWER_THRESHOLD_W,
    DEFAULT_SESSION_STATES,
    DEFAULT_UPLOAD_INTERVAL_MIN,
    DOMAIN,
    FLATPEAK_DASHBOARD_URL,
    MAX_HISTORY_DAYS,
    MAX_UPLOAD_INTERVAL_MIN,
    MIN_UPLOAD_INTERVAL_MIN,
    SESSION_MODE_POWER,
    SESSION_MODE_STATE,
    SUBENTRY_EV_CHARGER,
    SUBENTRY_HOUSE_METER,
    SUBMISSION_CUMULATIVE,
    SUBMISSION_INTERVAL,
)
from .devices import async_reference_id, async_register_device
from .sensors_map import async_dashboard_defaults, energy_sensors, power_sensors

if TYPE_CHECKING:
    from . import FlatpeakConfigEntry

_LOGGER = logging.getLogger(__name__)

ADVANCED = "advanced"
CONF_LOCATION = "location"
CONF_CONNECT_TOKEN = "connect_token"
CONF_NAME = "name"
PICK_CONNECT = "connect"
PICK_MANUAL = "manual"
CONNECT_CALLBACK_PATH = "/api/flatpeak/connect"
_VIEW_REGISTERED: HassKey[bool] = HassKey(f"{DOMAIN}_connect_view")


class InvalidBaseUrl(ValueError):
    """The API base URL is neither https:// nor a loopback http:// address."""


def normalize_base_url(value: str) -> str:
    """The base URL without a trailing slash; only https or loopback http is accepted."""
    value = value.strip().rstrip("/")
    parts = urlsplit(value)
    if not parts.hostname or parts.query or parts.fragment:
        raise InvalidBaseUrl(value)
    if parts.scheme == "https":
        return value
    if parts.scheme == "http":
        if parts.hostname == "localhost":
            return value
        try:
            if ipaddress.ip_address(parts.hostname).is_loopback:
                return value
        except ValueError:
            pass
    raise InvalidBaseUrl(value)


def make_client(hass: HomeAssistant, data: Mapping[str, Any]) -> FlatpeakClient:
    """A client for the credentials in ``data`` on Home Assistant's shared session."""
    return FlatpeakClient(
        async_get_clientsession(hass),
        data[CONF_ACCOUNT_ID],
        data[CONF_API_KEY],
        base_url=data.get(CONF_BASE_URL) or DEFAULT_BASE_URL,
    )


async def _async_check_credentials(
    hass: HomeAssistant, user_input: Mapping[str, Any], errors: dict[str, str]
) -> tuple[FlatpeakClient, list[Location]] | None:
    """Log in and list locations; fill ``errors`` and return ``None`` on failure."""
    try:
        client = make_client(hass, user_input)
        return client, await client.list_locations()
    except FlatpeakError as err:
        errors["base"] = form_error(err, "signing in")
    return None


def form_error(err: FlatpeakError, doing: str, refused: str = "unknown") -> str:
    """The form error for a Flatpeak error; ``refused`` for a 4xx Flatpeak gave a reason for."""
    if isinstance(err, FlatpeakAccountDisabledError):
        return "account_disabled"
    if isinstance(err, FlatpeakAuthenticationError):
        return "invalid_auth"
    if isinstance(err, FlatpeakConnectionError | FlatpeakUnavailableError):
        return "cannot_connect"
    if isinstance(err, FlatpeakInvalidRequestError) and refused != "unknown":
        _LOGGER.error("Flatpeak refused %s: %s", doing, err)
        return refused
    _LOGGER.exception("Unexpected answer from Flatpeak while %s", doing)
    return "unknown"


def _credentials_schema(defaults: Mapping[str, Any]) -> Any:
    return vol.Schema(
        {
            vol.Required(CONF_ACCOUNT_ID, default=defaults.get(CONF_ACCOUNT_ID, "")): str,
            vol.Required(CONF_API_KEY): TextSelector(
                TextSelectorConfig(type=TextSelectorType.PASSWORD)
            ),
            vol.Required(ADVANCED): section(
                vol.Schema(
                    {
                        vol.Required(
                            CONF_BASE_URL, default=defaults.get(CONF_BASE_URL, DEFAULT_BASE_URL)
                        ): TextSelector(TextSelectorConfig(type=TextSelectorType.URL)),
                    }
                ),
                {"collapsed": True},
            ),
        }
    )


def _flatten_credentials(user_input: Mapping[str, Any]) -> dict[str, Any]:
    """Credentials with the base URL lifted out of the advanced section and checked."""
    base_url = (user_input.get(ADVANCED) or {}).get(CONF_BASE_URL) or DEFAULT_BASE_URL
    return {
        CONF_ACCOUNT_ID: user_input[CONF_ACCOUNT_ID].strip(),
        CONF_API_KEY: user_input[CONF_API_KEY].strip(),
        CONF_BASE_URL: normalize_base_url(base_url),
    }


def _tariff_label(location: Location) -> str:
    return (
        "import tariff connected" if location.tariff_status.import_connected else "no import tariff"
    )


def _energy_selector(hass: HomeAssistant, current: str | None = None) -> EntitySelector:
    """A picker limited to energy sensors that keep a running total."""
    candidates = energy_sensors(hass)
    if current and current not in candidates:
        candidates.append(current)
    return EntitySelector(EntitySelectorConfig(include_entities=candidates))


def house_meter_schema(hass: HomeAssistant, defaults: Mapping[str, Any]) -> Any:
    """Grid import (required), grid export and solar (optional), submission mode."""

    def opt(key: str) -> Any:
        return (
            vol.Optional(key, description={"suggested_value": defaults[key]})
            if defaults.get(key)
            else vol.Optional(key)
        )

    return vol.Schema(
        {
            vol.Required(
                CONF_GRID_IMPORT, **_default(defaults.get(CONF_GRID_IMPORT))
            ): _energy_selector(hass, defaults.get(CONF_GRID_IMPORT)),
            opt(CONF_GRID_EXPORT): _energy_selector(hass, defaults.get(CONF_GRID_EXPORT)),
            opt(CONF_SOLAR): _energy_selector(hass, defaults.get(CONF_SOLAR)),
            **_submission_mode_field(defaults),
        }
    )


def _submission_mode_field(defaults: Mapping[str, Any]) -> dict[Any, SelectSelector]:
    """Intervals or cumulative register readings, for any device form."""
    return {
        vol.Required(
            CONF_SUBMISSION_MODE, default=defaults.get(CONF_SUBMISSION_MODE, SUBMISSION_INTERVAL)
        ): SelectSelector(
            SelectSelectorConfig(
                options=[SUBMISSION_INTERVAL, SUBMISSION_CUMULATIVE],
                translation_key=CONF_SUBMISSION_MODE,
            )
        )
    }


def check_house_meter(user_input: Mapping[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    """The chosen sensors, with errors for one sensor used twice."""
    chosen = {
        key: user_input[key]
        for key in (CONF_GRID_IMPORT, CONF_GRID_EXPORT, CONF_SOLAR)
        if user_input.get(key)
    }
    seen: set[str] = set()
    for key, entity_id in chosen.items():
        if entity_id in seen:
            errors[key] = "same_sensor"
        seen.add(entity_id)
    chosen[CONF_SUBMISSION_MODE] = user_input.get(CONF_SUBMISSION_MODE, SUBMISSION_INTERVAL)
    return chosen


class FlatpeakConfigFlow(ConfigFlow, domain=DOMAIN):
    """Sign in, choose a location, map the house meter."""

    VERSION = 1

    def __init__(self) -> None:
        """Start with nothing known."""
        self._credentials: dict[str, Any] = {}
        self._client: FlatpeakClient | None = None
        self._locations: dict[str, Location] = {}
        self._location: Location | None = None
        self._connect_token: str | None = None
        self._returned_token: str | None = None

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
        """The house meter and EV chargers are subentries of the location entry."""
        return {
            SUBENTRY_HOUSE_METER: HouseMeterSubentryFlow,
            SUBENTRY_EV_CHARGER: EvChargerSubentryFlow,
        }

    # -- sign in ----------------------------------------------------------------------

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Account id and API key, tested before anything is saved."""
        errors: dict[str, str] = {}
        if user_input is not None:
            try:
                credentials = _flatten_credentials(user_input)
            except InvalidBaseUrl:
                errors[CONF_BASE_URL] = "invalid_base_url"
            else:
                if checked := await _async_check_credentials(self.hass, credentials, errors):
                    self._credentials = credentials
                    self._client, locations = checked
                    self._locations = {location.id: location for location in locations}
                    return await self.async_step_location()
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(
                _credentials_schema(self._credentials), user_input or {}
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
            return await self._async_use_location(choice, {}, "location")
        return self._location_form({})

    def _location_form(self, errors: dict[str, str]) -> ConfigFlowResult:
        """The account's locations (with tariff status), then Connect and 'enter an id'."""
        options = [
            SelectOptionDict(value=loc.id, label=f"{loc.name} ({_tariff_label(loc)})")
            for loc in self._locations.values()
        ]
        # Labels of these two come from the selector translations.
        options += [
            SelectOptionDict(value=PICK_CONNECT, label=PICK_CONNECT),
            SelectOptionDict(value=PICK_MANUAL, label=PICK_MANUAL),
        ]
        return self.async_show_form(
            step_id="location",
            data_schema=vol.Schema(
                {
                    vol.Required(CONF_LOCATION, default=options[0]["value"]): SelectSelector(
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
        if user_input is not None:
            return await self._async_use_location(
                user_input[CONF_LOCATION_ID].strip(), {}, "location_id"
            )
        return self._location_id_form({})

    async def _async_use_location(
        self, location_id: str, errors: dict[str, str], step_id: str
    ) -> ConfigFlowResult:
        """Fetch the location fresh (its tariff may have just been connected) and go on."""
        assert self._client is not None
        try:
            self._location = await self._client.get_location(location_id)
        except FlatpeakNotFoundError:
            errors["base"] = "location_not_found"
        except FlatpeakError as err:
            errors["base"] = form_error(err, "reading a location")
        if errors:
            if step_id == "location_id":
                return self._location_id_form(errors, location_id)
            return self._location_form(errors)
        assert self._location is not None
        await self.async_set_unique_id(self._location.id)
        self._abort_if_unique_id_configured()
        if not self._location.tariff_status.import_connected:
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
        """Send the user to Flatpeak Connect; its callback brings the token back."""
        assert self._client is not None
        if user_input is not None:
            # An external step may only finish; a foreign token is refused in the next step.
            self._returned_token = user_input.get(CONF_CONNECT_TOKEN)
            return self.async_external_step_done(next_step_id="connect_finish")
        try:
            base = get_url(self.hass, allow_ip=True, prefer_external=True)
        except NoURLAvailableError:
            return self.async_abort(reason="no_url_available")
        _async_register_callback_view(self.hass)
        callback_url = f"{base}{CONNECT_CALLBACK_PATH}?flow_id={self.flow_id}"
        try:
            token = await self._client.create_connect_token(callback_url)
        except FlatpeakError as err:
            _LOGGER.error("Flatpeak Connect could not be started: %s", err)
            return self.async_abort(reason="connect_failed")
        self._connect_token = token.connect_token
        return self.async_external_step(
            step_id="connect", url=self._client.connect_page_url(token.connect_token)
        )

    async def async_step_connect_finish(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Exchange the Connect token for the location it made or updated."""
        assert self._client is not None
        assert self._connect_token is not None
        try:
            result = await self._client.exchange_connect_token(self._connect_token)
        except FlatpeakError as err:
            _LOGGER.error("Flatpeak Connect did not finish: %s", err)
            return self.async_abort(reason="connect_failed")
        return await self._async_use_location(result.location_id, {}, "location")

    # -- house meter ------------------------------------------------------------------

    async def async_step_house_meter(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Map grid import, export and solar; register the house meter device."""
        assert self._client is not None
        assert self._location is not None
        errors: dict[str, str] = {}
        if user_input is not None:
            sensors = check_house_meter(user_input, errors)
            if not errors:
                reference_id = await async_reference_id(
                    self.hass, self._location.id, SUBENTRY_HOUSE_METER, "main"
                )
                try:
                    device_id = await async_register_device(
                        self._client, reference_id, DeviceType.OTHER, self._location.id
                    )
                except FlatpeakError as err:
                    errors["base"] = form_error(
                        err, "the device registration", "device_registration_failed"
                    )
                else:
                    return self.async_create_entry(
                        title=self._location.name,
                        data={**self._credentials, CONF_LOCATION_ID: self._location.id},
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
            description_placeholders={"location": self._location.name},
        )

    # -- reauth and reconfigure -------------------------------------------------------

    async def async_step_reauth(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """The API key stopped working."""
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for a new API key for the same account."""
        entry = self._get_reauth_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            credentials = {**entry.data, CONF_API_KEY: user_input[CONF_API_KEY].strip()}
            if user_input[CONF_ACCOUNT_ID].strip() != entry.data[CONF_ACCOUNT_ID]:
                return self.async_abort(reason="wrong_account")
            if await self._async_check_location(credentials, errors):
                return self._async_update_and_reload(entry, credentials, "reauth_successful")
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=vol.Schema(
                {
                    vol.Required(CONF_ACCOUNT_ID, default=entry.data[CONF_ACCOUNT_ID]): str,
                    vol.Required(CONF_API_KEY): TextSelector(
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
        """Change the credentials or the API base URL; the location stays."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            try:
                credentials = {**entry.data, **_flatten_credentials(user_input)}
            except InvalidBaseUrl:
                errors[CONF_BASE_URL] = "invalid_base_url"
            else:
                if await self._async_check_location(credentials, errors):
                    return self._async_update_and_reload(
                        entry, credentials, "reconfigure_successful"
                    )
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(
                _credentials_schema(entry.data), user_input or {}
            ),
            errors=errors,
            description_placeholders={"location": entry.title},
        )

    async def _async_check_location(
        self, credentials: dict[str, Any], errors: dict[str, str]
    ) -> bool:
        """True when the credentials work and still reach this entry's location."""
        checked = await _async_check_credentials(self.hass, credentials, errors)
        if checked is None:
            return False
        client, _ = checked
        try:
            await client.get_location(credentials[CONF_LOCATION_ID])
        except FlatpeakNotFoundError:
            errors["base"] = "location_not_in_account"
            return False
        except FlatpeakError:
            errors["base"] = "cannot_connect"
            return False
        return True

    @callback
    def _async_update_and_reload(
        self, entry: ConfigEntry, data: dict[str, Any], reason: str
    ) -> ConfigFlowResult:
        """Save new data; the entry's update listener reloads a loaded entry, we reload others.

        ``async_update_reload_and_abort`` is not used because HA refuses it next to an update
        listener from 2026.12.
        """
        self.hass.config_entries.async_update_entry(entry, data=data)
        if entry.state is not ConfigEntryState.LOADED:
            self.hass.config_entries.async_schedule_reload(entry.entry_id)
        return self.async_abort(reason=reason)


class FlatpeakOptionsFlow(OptionsFlow):
    """Tunables: upload interval and history window."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """One form for all options."""
        if user_input is not None:
            return self.async_create_entry(
                data={key: int(value) for key, value in user_input.items()}
            )
        options = self.config_entry.options

        def minutes(lo: int, hi: int) -> NumberSelector:
            return NumberSelector(
                NumberSelectorConfig(
                    min=lo, max=hi, step=1, mode=NumberSelectorMode.BOX, unit_of_measurement="min"
                )
            )

        return self.async_show_form(
            step_id="init",
            data_schema=vol.Schema(
                {
                    vol.Required(
                        CONF_UPLOAD_INTERVAL,
                        default=options.get(CONF_UPLOAD_INTERVAL, DEFAULT_UPLOAD_INTERVAL_MIN),
                    ): minutes(MIN_UPLOAD_INTERVAL_MIN, MAX_UPLOAD_INTERVAL_MIN),
                    vol.Required(
                        CONF_HISTORY_DAYS,
                        default=options.get(CONF_HISTORY_DAYS, DEFAULT_HISTORY_DAYS),
                    ): NumberSelector(
                        NumberSelectorConfig(
                            min=0,
                            max=MAX_HISTORY_DAYS,
                            step=1,
                            mode=NumberSelectorMode.BOX,
                            unit_of_measurement="d",
                        )
                    ),
                }
            ),
        )


class _DeviceSubentryFlow(ConfigSubentryFlow):
    """Shared parts of the device subentry flows."""

    def _client(self) -> FlatpeakClient | None:
        entry: FlatpeakConfigEntry = self._get_entry()
        if entry.state is not ConfigEntryState.LOADED:
            return None
        return entry.runtime_data.client

    async def _async_register(
        self, reference_id: str, device_type: DeviceType, errors: dict[str, str]
    ) -> str | None:
        client = self._client()
        if client is None:
            errors["base"] = "entry_not_loaded"
            return None
        try:
            return await async_register_device(
                client, reference_id, device_type, self._get_entry().data[CONF_LOCATION_ID]
            )
        except FlatpeakError as err:
            errors["base"] = form_error(
                err, "the device registration", "device_registration_failed"
            )
            return None


class HouseMeterSubentryFlow(_DeviceSubentryFlow):
    """The house meter: added by the main flow, re-added here only if it was deleted."""

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Map the house meter's sensors and register its device."""
        entry = self._get_entry()
        if any(sub.subentry_type == SUBENTRY_HOUSE_METER for sub in entry.subentries.values()):
            return self.async_abort(reason="house_meter_exists")
        errors: dict[str, str] = {}
        if user_input is not None:
            sensors = check_house_meter(user_input, errors)
            if not errors:
                reference_id = await async_reference_id(
                    self.hass, entry.data[CONF_LOCATION_ID], SUBENTRY_HOUSE_METER, "main"
                )
                device_id = await self._async_register(reference_id, DeviceType.OTHER, errors)
                if device_id is not None:
                    return self.async_create_entry(
                        title="House meter",
                        unique_id=reference_id,
                        data={
                            **sensors,
                            CONF_DEVICE_ID: device_id,
                            CONF_REFERENCE_ID: reference_id,
                        },
                    )
        defaults = user_input or await async_dashboard_defaults(self.hass)
        return self.async_show_form(
            step_id="user", data_schema=house_meter_schema(self.hass, defaults), errors=errors
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Change the sensors; the Flatpeak device stays the same."""
        subentry = self._get_reconfigure_subentry()
        errors: dict[str, str] = {}
        if user_input is not None:
            sensors = check_house_meter(user_input, errors)
            if not errors:
                keep = {k: subentry.data[k] for k in (CONF_DEVICE_ID, CONF_REFERENCE_ID)}
                return self.async_update_and_abort(
                    self._get_entry(), subentry, data={**sensors, **keep}
                )
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=house_meter_schema(self.hass, user_input or subentry.data),
            errors=errors,
        )


class EvChargerSubentryFlow(_DeviceSubentryFlow):
    """An EV charger: its energy sensor and how a charging session is recognised."""

    def __init__(self) -> None:
        """Nothing chosen yet."""
        self._data: dict[str, Any] = {}

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Name, energy sensor and session detection mode."""
        return await self._async_step_charger(user_input)

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Change the charger's sensors or session detection."""
        return await self._async_step_charger(user_input)

    async def _async_step_charger(self, user_input: dict[str, Any] | None) -> SubentryFlowResult:
        reconfiguring = self.source == SOURCE_RECONFIGURE
        current: Mapping[str, Any] = (
            {
                **self._get_reconfigure_subentry().data,
                CONF_NAME: self._get_reconfigure_subentry().title,
            }
            if reconfiguring
            else {}
        )
        errors: dict[str, str] = {}
        if user_input is not None:
            energy = user_input[CONF_CHARGER_ENERGY]
            for sub in self._get_entry().subentries.values():
                if (
                    sub.subentry_type == SUBENTRY_EV_CHARGER
                    and sub.data.get(CONF_CHARGER_ENERGY) == energy
                    and not (
                        reconfiguring
                        and sub.subentry_id == self._get_reconfigure_subentry().subentry_id
                    )
                ):
                    errors[CONF_CHARGER_ENERGY] = "charger_exists"
            if not errors:
                self._data = dict(user_input)
                if user_input[CONF_SESSION_MODE] == SESSION_MODE_POWER:
                    return await self.async_step_session_power()
                return await self.async_step_session_state()
        defaults = user_input or current
        schema = vol.Schema(
            {
                vol.Required(CONF_NAME, default=defaults.get(CONF_NAME, "EV charger")): str,
                vol.Required(
                    CONF_CHARGER_ENERGY, **_default(defaults.get(CONF_CHARGER_ENERGY))
                ): _energy_selector(self.hass, defaults.get(CONF_CHARGER_ENERGY)),
                vol.Required(
                    CONF_SESSION_MODE, default=defaults.get(CONF_SESSION_MODE, SESSION_MODE_STATE)
                ): SelectSelector(
                    SelectSelectorConfig(
                        options=[SESSION_MODE_STATE, SESSION_MODE_POWER],
                        translation_key=CONF_SESSION_MODE,
                    )
                ),
                **_submission_mode_field(defaults),
            }
        )
        return self.async_show_form(
            step_id="reconfigure" if reconfiguring else "user", data_schema=schema, errors=errors
        )

    async def async_step_session_state(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """A session is open while an entity is in one of the given states."""
        if user_input is not None:
            states = [s.strip() for s in user_input[CONF_SESSION_STATES] if s.strip()]
            if states:
                return await self._async_finish(
                    {
                        CONF_SESSION_ENTITY: user_input[CONF_SESSION_ENTITY],
                        CONF_SESSION_STATES: states,
                    }
                )
        current = self._current()
        return self.async_show_form(
            step_id="session_state",
            data_schema=vol.Schema(
                {
                    vol.Required(
                        CONF_SESSION_ENTITY, **_default(current.get(CONF_SESSION_ENTITY))
                    ): EntitySelector(
                        EntitySelectorConfig(
                            domain=["binary_sensor", "switch", "sensor", "input_boolean", "select"]
                        )
                    ),
                    vol.Required(
                        CONF_SESSION_STATES,
                        default=current.get(CONF_SESSION_STATES, DEFAULT_SESSION_STATES),
                    ): SelectSelector(
                        SelectSelectorConfig(
                            options=list(DEFAULT_SESSION_STATES), multiple=True, custom_value=True
                        )
                    ),
                }
            ),
            errors={"base": "no_session_states"} if user_input is not None else {},
        )

    async def async_step_session_power(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """A session is open while the charger draws more than a threshold."""
        if user_input is not None:
            return await self._async_finish(
                {
                    CONF_POWER_SENSOR: user_input[CONF_POWER_SENSOR],
                    CONF_POWER_THRESHOLD: float(user_input[CONF_POWER_THRESHOLD]),
                }
            )
        current = self._current()
        candidates = power_sensors(self.hass)
        return self.async_show_form(
            step_id="session_power",
            data_schema=vol.Schema(
                {
                    vol.Required(
                        CONF_POWER_SENSOR, **_default(current.get(CONF_POWER_SENSOR))
                    ): EntitySelector(EntitySelectorConfig(include_entities=candidates)),
                    vol.Required(
                        CONF_POWER_THRESHOLD,
                        default=current.get(CONF_POWER_THRESHOLD, DEFAULT_POWER_THRESHOLD_W),
                    ): NumberSelector(
                        NumberSelectorConfig(
                            min=1,
                            max=50000,
                            step=1,
                            mode=NumberSelectorMode.BOX,
                            unit_of_measurement="W",
                        )
                    ),
                }
            ),
        )

    def _current(self) -> Mapping[str, Any]:
        if self.source == SOURCE_RECONFIGURE:
            return self._get_reconfigure_subentry().data
        return {}

    async def _async_finish(self, detection: dict[str, Any]) -> SubentryFlowResult:
        entry = self._get_entry()
        data = {
            CONF_CHARGER_ENERGY: self._data[CONF_CHARGER_ENERGY],
            CONF_SESSION_MODE: self._data[CONF_SESSION_MODE],
            CONF_SUBMISSION_MODE: self._data[CONF_SUBMISSION_MODE],
            **detection,
        }
        title = self._data[CONF_NAME]
        if self.source == SOURCE_RECONFIGURE:
            subentry = self._get_reconfigure_subentry()
            keep = {k: subentry.data[k] for k in (CONF_DEVICE_ID, CONF_REFERENCE_ID)}
            return self.async_update_and_abort(entry, subentry, title=title, data={**data, **keep})
        reference_id = await async_reference_id(
            self.hass, entry.data[CONF_LOCATION_ID], SUBENTRY_EV_CHARGER, data[CONF_CHARGER_ENERGY]
        )
        errors: dict[str, str] = {}
        device_id = await self._async_register(reference_id, DeviceType.EV_CHARGER, errors)
        if device_id is None:
            return self.async_abort(reason=errors["base"])
        return self.async_create_entry(
            title=title,
            unique_id=reference_id,
            data={**data, CONF_DEVICE_ID: device_id, CONF_REFERENCE_ID: reference_id},
        )


def _default(value: Any) -> dict[str, Any]:
    """``default=`` for a field only when there is a value to default to."""
    return {"default": value} if value else {}


class FlatpeakConnectCallbackView(HomeAssistantView):
    """Where Flatpeak Connect sends the browser back; resumes the waiting config flow."""

    url = CONNECT_CALLBACK_PATH
    name = "api:flatpeak:connect"
    requires_auth = False

    async def get(self, request: web.Request) -> web.Response:
        """Hand the Connect token to the flow named in ``flow_id``."""
        hass: HomeAssistant = request.app["hass"]
        flow_id = request.query.get("flow_id", "")
        token = request.query.get("fp_cot", "")
        try:
            flow = hass.config_entries.flow.async_get(flow_id)
        except UnknownFlow:
            return web.Response(status=400, text="This Flatpeak Connect session has expired.")
        if flow["handler"] != DOMAIN or not token:
            return web.Response(status=400, text="Not a Flatpeak Connect session.")
        await hass.config_entries.flow.async_configure(flow_id, {CONF_CONNECT_TOKEN: token})
        return web.Response(
            content_type="text/html",
            text="<html><body><p>Flatpeak Connect is done; you can close this window.</p>"
            "<script>window.close()</script></body></html>",
        )


@callback
def _async_register_callback_view(hass: HomeAssistant) -> None:
    if not hass.data.get(_VIEW_REGISTERED):
        hass.http.register_view(FlatpeakConnectCallbackView())
        hass.data[_VIEW_REGISTERED] = True
