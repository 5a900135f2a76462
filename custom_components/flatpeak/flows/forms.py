"""Form pieces shared by the config, reauth, reconfigure and device subentry flows.

Every check here fills a form's ``errors`` instead of raising, so a form always answers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
import logging
from typing import Any

from homeassistant.components.sensor import SensorDeviceClass
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import ATTR_DEVICE_CLASS, ATTR_UNIT_OF_MEASUREMENT
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import section
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.selector import (
    EntitySelector,
    EntitySelectorConfig,
    SelectSelector,
    SelectSelectorConfig,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)

from ..client import (
    DEFAULT_BASE_URL,
    FlatpeakAccountDisabledError,
    FlatpeakAuthenticationError,
    FlatpeakConnectionError,
    FlatpeakError,
    FlatpeakInvalidRequestError,
    FlatpeakNotFoundError,
    FlatpeakRateLimitError,
    FlatpeakUnavailableError,
)
from ..compat import vol
from ..const import (
    CONF_ACCOUNT_ID,
    CONF_API_KEY,
    CONF_APPLIANCE_ENERGY,
    CONF_BASE_URL,
    CONF_CHARGER_ENERGY,
    CONF_GRID_EXPORT,
    CONF_GRID_IMPORT,
    CONF_SOLAR,
    CONF_SUBMISSION_MODE,
    DOMAIN,
    SUBMISSION_CUMULATIVE,
    SUBMISSION_INTERVAL,
)
from ..entry_client import InvalidBaseUrl, normalize_base_url
from ..sensor_choices import ATTR_STATE_CLASS, energy_sensors

_LOGGER = logging.getLogger(__name__)

ADVANCED = "advanced"
# Flatpeak ids and keys are a few dozen characters; anything this long was pasted by mistake.
MAX_TEXT_LENGTH = 256
HOUSE_METER_SENSORS = (CONF_GRID_IMPORT, CONF_GRID_EXPORT, CONF_SOLAR)
ENERGY_FIELDS = (*HOUSE_METER_SENSORS, CONF_CHARGER_ENERGY, CONF_APPLIANCE_ENERGY)
# A sensor that can say "charging": no device class, or a list of named states.
_STATE_CLASSES_OF_TEXT = {None, SensorDeviceClass.ENUM}


# -- talking to Flatpeak from a form ----------------------------------------------------


def form_error(err: FlatpeakError, doing: str, refused: str = "unknown") -> str:
    """The form error for a Flatpeak error; ``refused`` for a 4xx Flatpeak gave a reason for."""
    if isinstance(err, FlatpeakAccountDisabledError):
        return "account_disabled"
    if isinstance(err, FlatpeakAuthenticationError):
        return "invalid_auth"
    if isinstance(err, FlatpeakConnectionError | FlatpeakUnavailableError):
        return "cannot_connect"
    if isinstance(err, FlatpeakRateLimitError):  # the account's wait: no request until it ends
        return "rate_limited"
    if isinstance(err, FlatpeakInvalidRequestError) and refused != "unknown":
        _LOGGER.error("Flatpeak refused %s: %s", doing, err)
        return refused
    _LOGGER.exception("Unexpected answer from Flatpeak while %s", doing)
    return "unknown"


async def async_ask_flatpeak[T](
    call: Callable[[], Awaitable[T]],
    errors: dict[str, str],
    doing: str,
    *,
    refused: str = "unknown",
    not_found: str | None = None,
) -> T | None:
    """``call()``'s result, or ``None`` with ``errors["base"]`` set; never raises.

    Anything that is not a Flatpeak error (a malformed answer, a ``ValueError`` of the client)
    is logged and becomes ``unknown``, so the form is shown again instead of an error 500.
    """
    try:
        return await call()
    except FlatpeakError as err:
        if not_found is not None and isinstance(err, FlatpeakNotFoundError):
            errors["base"] = not_found
        else:
            errors["base"] = form_error(err, doing, refused)
    except Exception:
        _LOGGER.exception("Unexpected error while %s", doing)
        errors["base"] = "unknown"
    return None


# -- text fields ------------------------------------------------------------------------


def check_text(value: Any, field: str, errors: dict[str, str], *, required: bool = True) -> str:
    """``value`` stripped; a field error when it is blank (if required), too long or odd."""
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        if required:
            errors[field] = "blank"
    elif len(text) > MAX_TEXT_LENGTH:
        errors[field] = "too_long"
    elif not text.isprintable():
        errors[field] = "invalid_characters"
    return text


def check_secret(value: Any, field: str, errors: dict[str, str], *, required: bool = True) -> str:
    """Like :func:`check_text`, and no whitespace inside either (ids and keys have none)."""
    text = check_text(value, field, errors, required=required)
    if field not in errors and any(char.isspace() for char in text):
        errors[field] = "invalid_characters"
    return text


def credentials_schema(defaults: Mapping[str, Any], *, key_optional: bool = False) -> Any:
    """Account id, API key (optional when a stored one is kept) and the collapsed base URL."""
    key = vol.Optional(CONF_API_KEY) if key_optional else vol.Required(CONF_API_KEY)
    return vol.Schema(
        {
            vol.Required(CONF_ACCOUNT_ID, default=defaults.get(CONF_ACCOUNT_ID, "")): str,
            key: TextSelector(TextSelectorConfig(type=TextSelectorType.PASSWORD)),
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


def check_credentials(
    user_input: Mapping[str, Any], errors: dict[str, str], stored_api_key: str | None = None
) -> dict[str, Any]:
    """Account id, API key and base URL from a credentials form, with field errors.

    An empty API key means ``stored_api_key`` when there is one. A bad base URL is a
    ``base`` error: Home Assistant 2025.4 shows no field error inside a collapsed section.
    """
    account_id = check_secret(user_input.get(CONF_ACCOUNT_ID), CONF_ACCOUNT_ID, errors)
    api_key = check_secret(
        user_input.get(CONF_API_KEY), CONF_API_KEY, errors, required=not stored_api_key
    )
    base_url = (user_input.get(ADVANCED) or {}).get(CONF_BASE_URL) or DEFAULT_BASE_URL
    try:
        base_url = normalize_base_url(str(base_url))
    except InvalidBaseUrl:
        errors["base"] = "invalid_base_url"
    return {
        CONF_ACCOUNT_ID: account_id,
        CONF_API_KEY: api_key or stored_api_key,
        CONF_BASE_URL: base_url,
    }


# -- energy sensors ---------------------------------------------------------------------


def sensors_in_use(entry: ConfigEntry, except_subentry_id: str | None = None) -> set[str]:
    """Every energy sensor the entry's subentries read, but those of ``except_subentry_id``."""
    return {
        str(subentry.data[field])
        for subentry in entry.subentries.values()
        if subentry.subentry_id != except_subentry_id
        for field in ENERGY_FIELDS
        if subentry.data.get(field)
    }


def energy_choices(
    hass: HomeAssistant, current: str | None = None, in_use: Iterable[str] = ()
) -> list[str]:
    """Energy sensors with a running total that no other device reads, and ``current``."""
    taken = set(in_use)
    choices = [entity_id for entity_id in energy_sensors(hass) if entity_id not in taken]
    if current and current not in choices:
        choices.append(current)
    return choices


def energy_field(
    marker: type[Any], key: str, choices: list[str], suggested: str | None
) -> dict[Any, EntitySelector]:
    """One energy picker; the suggestion only when it can be chosen."""
    options = {"description": {"suggested_value": suggested}} if suggested in choices else {}
    return {marker(key, **options): EntitySelector(EntitySelectorConfig(include_entities=choices))}


def not_session_entities(hass: HomeAssistant, current: str | None = None) -> list[str]:
    """What the session entity picker leaves out: this integration's own entities (its
    costs and upload status) and sensors that measure something (a unit, a state class, a
    device class other than enum, such as a time), which never say whether a car charges.
    ``current`` stays choosable."""
    registry = er.async_get(hass)
    own = {entry.entity_id for entry in registry.entities.values() if entry.platform == DOMAIN}
    measuring = {
        state.entity_id
        for state in hass.states.async_all("sensor")
        if state.attributes.get(ATTR_UNIT_OF_MEASUREMENT)
        or state.attributes.get(ATTR_STATE_CLASS)
        or state.attributes.get(ATTR_DEVICE_CLASS) not in _STATE_CLASSES_OF_TEXT
    }
    return sorted((own | measuring) - {current})


def check_energy_sensor(
    hass: HomeAssistant,
    field: str,
    entity_id: str,
    errors: dict[str, str],
    *,
    in_use: Iterable[str],
    current: str | None,
) -> None:
    """A field error for a sensor another device reads, or that is no energy total.

    The picker already leaves those out; this catches a stale form (another device took the
    sensor meanwhile) and a picker with no candidates, which accepts any entity.
    """
    if entity_id == current:
        return
    if entity_id in set(in_use):
        errors[field] = "sensor_in_use"
    elif entity_id not in energy_sensors(hass):
        errors[field] = "not_energy_sensor"


def house_meter_schema(
    hass: HomeAssistant,
    defaults: Mapping[str, Any],
    in_use: Iterable[str] = (),
    current: Mapping[str, Any] | None = None,
) -> Any:
    """Grid import (required), grid export and solar (optional), submission mode.

    ``current`` holds the sensors the meter reads now: they stay choosable even when they
    are gone or no longer energy totals, so a reconfigure form shows what is mapped.
    """
    taken = set(in_use)
    fields: dict[Any, Any] = {}
    for key in HOUSE_METER_SENSORS:
        choices = energy_choices(hass, (current or {}).get(key), taken)
        marker = vol.Required if key == CONF_GRID_IMPORT else vol.Optional
        fields |= energy_field(marker, key, choices, defaults.get(key))
    return vol.Schema({**fields, **submission_mode_field(defaults)})


def check_house_meter(
    hass: HomeAssistant,
    user_input: Mapping[str, Any],
    errors: dict[str, str],
    in_use: Iterable[str] = (),
    current: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The chosen sensors, with field errors for a sensor used twice or by another device."""
    taken = set(in_use)
    chosen = {key: user_input[key] for key in HOUSE_METER_SENSORS if user_input.get(key)}
    seen: set[str] = set()
    for key, entity_id in chosen.items():
        if entity_id in seen:
            errors[key] = "same_sensor"
        else:
            check_energy_sensor(
                hass, key, entity_id, errors, in_use=taken, current=(current or {}).get(key)
            )
        seen.add(entity_id)
    chosen[CONF_SUBMISSION_MODE] = user_input.get(CONF_SUBMISSION_MODE, SUBMISSION_INTERVAL)
    return chosen


def submission_mode_field(defaults: Mapping[str, Any]) -> dict[Any, SelectSelector]:
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


def default(value: Any) -> dict[str, Any]:
    """``default=`` for a field only when there is a value to default to."""
    return {"default": value} if value else {}
