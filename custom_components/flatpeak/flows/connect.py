"""Flatpeak Connect for the flows: the callback URL, issued tokens and the callback view.

Used by the config flow (a new location), the repair fix flows and Options → Change tariff
(an existing location); each flow is found again in its own flow manager.

The flow asks Flatpeak for a Connect token and shows a progress step with a link to the
Connect page (a progress step, not an external one: Home Assistant's frontend gives external
steps no title of their own from 2025.6 on, and on 2025.4 their title runs under the help
icon). Flatpeak sends the browser back to :data:`CONNECT_CALLBACK_PATH` with the flow id and
the token; the view lets the flow go on only when that flow is waiting at its Connect step
and the token is the one it was issued. Anything else gets a short page and leaves every flow
as it was.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
import hmac
import logging
from typing import Any, Protocol

from aiohttp import web
from homeassistant.core import HomeAssistant, callback
from homeassistant.data_entry_flow import UnknownFlow
from homeassistant.helpers.http import KEY_HASS, HomeAssistantView
from homeassistant.helpers.network import get_url
from homeassistant.util.hass_dict import HassKey

from ..const import DOMAIN

_LOGGER = logging.getLogger(__name__)

CONNECT_STEP = "connect"
CONNECT_CALLBACK_PATH = "/api/flatpeak/connect"
_VIEW_REGISTERED: HassKey[bool] = HassKey(f"{DOMAIN}_connect_view")


class FlowLookup(Protocol):
    """What the callback needs of a flow manager: a flow's current result by id."""

    def async_get(self, flow_id: str) -> Any: ...


@dataclass(slots=True)
class Issued:
    """The Connect token a flow was issued, the manager the flow runs in, and whether its
    browser came back with it."""

    token: str
    manager: FlowLookup
    returned: asyncio.Event = field(default_factory=asyncio.Event)

    async def async_wait(self) -> None:
        """Return once the callback view has seen this token (the flow's progress task)."""
        await self.returned.wait()


# flow id -> what that flow was issued, for as long as the flow exists
_ISSUED: HassKey[dict[str, Issued]] = HassKey(f"{DOMAIN}_connect_tokens")


def callback_url(hass: HomeAssistant, flow_id: str) -> str:
    """Where Connect sends the browser back; raises ``NoURLAvailableError`` if HA has none."""
    base = get_url(hass, allow_ip=True, prefer_external=True)
    return f"{base}{CONNECT_CALLBACK_PATH}?flow_id={flow_id}"


@callback
def async_remember_token(
    hass: HomeAssistant, flow_id: str, token: str, manager: FlowLookup | None = None
) -> Issued:
    """Note the token a flow was issued (``manager``: the flow's, default config flows);
    registers the callback view on first use."""
    if not hass.data.get(_VIEW_REGISTERED):
        hass.http.register_view(FlatpeakConnectCallbackView())
        hass.data[_VIEW_REGISTERED] = True
    issued = Issued(token, manager or hass.config_entries.flow)
    hass.data.setdefault(_ISSUED, {})[flow_id] = issued
    return issued


@callback
def async_forget_token(hass: HomeAssistant, flow_id: str) -> None:
    """The flow is gone: its token no longer resumes anything."""
    hass.data.get(_ISSUED, {}).pop(flow_id, None)


def tokens_match(given: str | None, issued: str | None) -> bool:
    """Constant-time comparison; nothing matches a missing token."""
    if not given or not issued:
        return False
    return hmac.compare_digest(given.encode(), issued.encode())


def _page(status: int, message: str, *, close: bool = False) -> web.Response:
    script = "<script>window.close()</script>" if close else ""
    return web.Response(
        status=status,
        content_type="text/html",
        text="<!doctype html><html><head><title>Flatpeak Connect</title></head>"
        f"<body><p>{message}</p>{script}</body></html>",
    )


class FlatpeakConnectCallbackView(HomeAssistantView):
    """Where Flatpeak Connect sends the browser back; lets the waiting flow go on."""

    url = CONNECT_CALLBACK_PATH
    name = "api:flatpeak:connect"
    requires_auth = False  # the browser arrives from Flatpeak; the issued token is the proof

    async def get(self, request: web.Request) -> web.Response:
        """Tell the flow named in ``flow_id`` its browser is back, if the token is that flow's."""
        hass = request.app[KEY_HASS]
        flow_id = request.query.get("flow_id", "")
        token = request.query.get("fp_cot")
        issued = hass.data.get(_ISSUED, {}).get(flow_id)
        try:
            # A flow issued no token may still be a config flow at another step.
            manager = issued.manager if issued is not None else hass.config_entries.flow
            flow = manager.async_get(flow_id)
        except UnknownFlow:
            return _page(
                404,
                "This Flatpeak Connect session has ended. Go back to Home Assistant and "
                "start again.",
            )
        if issued is None or not tokens_match(token, issued.token):
            _LOGGER.warning("Flatpeak Connect callback with a token this flow was not issued")
            return _page(
                400,
                "This link does not belong to the Flatpeak set-up waiting in Home Assistant.",
            )
        if flow.get("step_id") != CONNECT_STEP or issued.returned.is_set():
            return _page(
                409, "Home Assistant already has this Flatpeak Connect result; close this window."
            )
        # The flow's progress task ends; Home Assistant then moves the flow on by itself.
        issued.returned.set()
        return _page(200, "Flatpeak Connect is done; you can close this window.", close=True)
