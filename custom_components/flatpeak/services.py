"""Actions: upload history on demand."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse, SupportsResponse
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import config_validation as cv
from homeassistant.util import dt as dt_util

from .client import FlatpeakError
from .compat import vol
from .const import DOMAIN, MAX_HISTORY_DAYS

if TYPE_CHECKING:
    from . import FlatpeakConfigEntry

ATTR_CONFIG_ENTRY = "config_entry_id"
ATTR_START = "start"
ATTR_END = "end"
SERVICE_UPLOAD_HISTORY = "upload_history"

UPLOAD_HISTORY_SCHEMA = vol.Schema(
    {
        vol.Required(ATTR_CONFIG_ENTRY): cv.string,
        vol.Required(ATTR_START): cv.datetime,
        vol.Optional(ATTR_END): cv.datetime,
    }
)


def async_setup_services(hass: HomeAssistant) -> None:
    """Register the integration's actions (once, from ``async_setup``)."""
    hass.services.async_register(
        DOMAIN,
        SERVICE_UPLOAD_HISTORY,
        _async_upload_history,
        schema=UPLOAD_HISTORY_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )


def _loaded_entry(call: ServiceCall) -> FlatpeakConfigEntry:
    entry_id = call.data[ATTR_CONFIG_ENTRY]
    entry: FlatpeakConfigEntry | None = call.hass.config_entries.async_get_entry(entry_id)
    if entry is None or entry.domain != DOMAIN:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="entry_not_found",
            translation_placeholders={"entry_id": entry_id},
        )
    if entry.state is not ConfigEntryState.LOADED:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="entry_not_loaded",
            translation_placeholders={"location": entry.title},
        )
    return entry


def _aware(value: datetime) -> datetime:
    """Times without a zone are Home Assistant's local time."""
    return value if value.tzinfo else value.replace(tzinfo=dt_util.get_default_time_zone())


def _utc(value: datetime) -> datetime:
    """A time in UTC; one at the edge of the calendar (year 1, 9999) is the user's error.

    The upload reads the day before the range too, so that day must exist as well.
    """
    try:
        utc = _aware(value).astimezone(dt_util.UTC)
        _ = (utc - timedelta(days=2), utc + timedelta(days=2))
    except OverflowError as err:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="time_out_of_range",
            translation_placeholders={"time": value.isoformat()},
        ) from err
    return utc


async def _async_upload_history(call: ServiceCall) -> ServiceResponse:
    """Send the energy of ``[start, end)`` again (or for the first time)."""
    entry = _loaded_entry(call)
    start = _utc(call.data[ATTR_START])
    end = _utc(call.data.get(ATTR_END) or dt_util.utcnow())
    if start > dt_util.utcnow():
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="start_in_future")
    if end <= start:
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="end_before_start")
    if end - start > timedelta(days=MAX_HISTORY_DAYS):
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="range_too_long",
            translation_placeholders={"days": str(MAX_HISTORY_DAYS)},
        )
    try:
        result: dict[str, Any] = await entry.runtime_data.uploads.async_upload_history(start, end)
    except FlatpeakError as err:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="upload_failed",
            translation_placeholders={"error": str(err)},
        ) from err
    if result["records_sent"]:
        # The range's costs reach the statistics now, not at the next daily re-import
        # (which would not reach back past 30 days at all).
        entry.async_create_background_task(
            call.hass,
            entry.runtime_data.costs.async_refresh_since(start),
            f"{DOMAIN} costs after history",
        )
    return result
