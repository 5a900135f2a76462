"""``upload_history``: send a past range's energy again (or for the first time)."""

from __future__ import annotations

from typing import Any

from homeassistant.core import ServiceCall, ServiceResponse
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import config_validation as cv
from homeassistant.util import dt as dt_util

from ..client import FlatpeakError
from ..compat import vol
from ..const import DOMAIN, MAX_HISTORY_DAYS
from .helpers import ATTR_CONFIG_ENTRY, ATTR_END, ATTR_START, checked_range, loaded_entry, utc

SERVICE_UPLOAD_HISTORY = "upload_history"

UPLOAD_HISTORY_SCHEMA = vol.Schema(
    {
        vol.Required(ATTR_CONFIG_ENTRY): cv.string,
        vol.Required(ATTR_START): cv.datetime,
        vol.Optional(ATTR_END): cv.datetime,
    }
)


async def async_upload_history(call: ServiceCall) -> ServiceResponse:
    """Send the energy of ``[start, end)`` again (or for the first time).

    Refused before any request: times outside the years actions accept, a start in the
    future, an end not after the start or more than :data:`MAX_HISTORY_DAYS` after it.
    """
    entry = loaded_entry(call)
    start = utc(call.data[ATTR_START], ATTR_START)
    end = utc(call.data.get(ATTR_END) or dt_util.utcnow(), ATTR_END)
    if start > dt_util.utcnow():
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="start_in_future")
    checked_range(start, end, MAX_HISTORY_DAYS, "range_too_long")
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
