"""The integration's actions, registered once: upload history, cost reports, prices, simulation.

Each family lives in its own module; this one registers them all and keeps upload_history.
"""

from __future__ import annotations

from typing import Any

from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse, SupportsResponse
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import config_validation as cv
from homeassistant.util import dt as dt_util

from .action_helpers import (
    ATTR_CONFIG_ENTRY,
    ATTR_END,
    ATTR_START,
    checked_range,
    loaded_entry,
    utc,
)
from .client import FlatpeakError
from .compat import vol
from .const import DOMAIN, MAX_HISTORY_DAYS
from .report_actions import (
    GET_COST_REPORT_SCHEMA,
    GET_PRICES_SCHEMA,
    SERVICE_GET_COST_REPORT,
    SERVICE_GET_PRICES,
    async_get_cost_report,
    async_get_prices,
)
from .simulate_action import SERVICE_SIMULATE_COST, SIMULATE_COST_SCHEMA, async_simulate_cost

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
    for name, handler, schema in (
        (SERVICE_GET_COST_REPORT, async_get_cost_report, GET_COST_REPORT_SCHEMA),
        (SERVICE_GET_PRICES, async_get_prices, GET_PRICES_SCHEMA),
        (SERVICE_SIMULATE_COST, async_simulate_cost, SIMULATE_COST_SCHEMA),
    ):
        hass.services.async_register(
            DOMAIN, name, handler, schema=schema, supports_response=SupportsResponse.ONLY
        )


async def _async_upload_history(call: ServiceCall) -> ServiceResponse:
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
