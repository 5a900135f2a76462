"""The integration's actions, registered once from ``async_setup``: one table, one module
per family (history, reports and prices, simulation, cheap windows, charging sessions)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse, SupportsResponse

from ..const import DOMAIN
from .history import SERVICE_UPLOAD_HISTORY, UPLOAD_HISTORY_SCHEMA, async_upload_history
from .reports import (
    GET_COST_REPORT_SCHEMA,
    GET_PRICES_SCHEMA,
    SERVICE_GET_COST_REPORT,
    SERVICE_GET_PRICES,
    async_get_cost_report,
    async_get_prices,
)
from .sessions import (
    END_SCHEMA,
    SERVICE_END_SESSION,
    SERVICE_START_SESSION,
    START_SCHEMA,
    async_end_session,
    async_start_session,
)
from .simulate import SERVICE_SIMULATE_COST, SIMULATE_COST_SCHEMA, async_simulate_cost
from .windows import (
    FIND_CHEAPEST_WINDOW_SCHEMA,
    SERVICE_FIND_CHEAPEST_WINDOW,
    async_find_cheapest_window,
)

type Handler = Callable[[ServiceCall], Coroutine[Any, Any, ServiceResponse]]

# name, handler, schema, whether it answers
ACTIONS: tuple[tuple[str, Handler, Any, SupportsResponse], ...] = (
    (
        SERVICE_UPLOAD_HISTORY,
        async_upload_history,
        UPLOAD_HISTORY_SCHEMA,
        SupportsResponse.OPTIONAL,
    ),
    (SERVICE_GET_COST_REPORT, async_get_cost_report, GET_COST_REPORT_SCHEMA, SupportsResponse.ONLY),
    (SERVICE_GET_PRICES, async_get_prices, GET_PRICES_SCHEMA, SupportsResponse.ONLY),
    (SERVICE_SIMULATE_COST, async_simulate_cost, SIMULATE_COST_SCHEMA, SupportsResponse.ONLY),
    (
        SERVICE_FIND_CHEAPEST_WINDOW,
        async_find_cheapest_window,
        FIND_CHEAPEST_WINDOW_SCHEMA,
        SupportsResponse.ONLY,
    ),
    (SERVICE_START_SESSION, async_start_session, START_SCHEMA, SupportsResponse.OPTIONAL),
    (SERVICE_END_SESSION, async_end_session, END_SCHEMA, SupportsResponse.OPTIONAL),
)


def async_setup_actions(hass: HomeAssistant) -> None:
    """Register every action of the table."""
    for name, handler, schema, response in ACTIONS:
        hass.services.async_register(
            DOMAIN, name, handler, schema=schema, supports_response=response
        )
