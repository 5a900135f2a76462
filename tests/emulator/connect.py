"""Flatpeak Connect: token API, the hosted tariff-picking page and the token exchange."""

from __future__ import annotations

from html import escape
from typing import cast
from urllib.parse import urlencode, urlsplit, urlunsplit

from aiohttp import web

from .common import authenticate, get_enum, get_str, read_object, state_of
from .demo import CONNECT_PRESETS
from .engine import format_rfc3339
from .errors import ApiError, invalid, missing, not_found
from .models import DIRECTIONS, ConnectToken
from .state import CONNECT_TOKEN_LIFETIME

_PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Flatpeak Connect (emulator)</title></head>
<body>
<h1>{heading}</h1>
{content}
</body>
</html>
"""


def _page(heading: str, content: str, status: int = 200) -> web.Response:
    return web.Response(
        text=_PAGE.format(heading=escape(heading), content=content),
        status=status,
        content_type="text/html",
    )


def _with_query(url: str, name: str, value: str) -> str:
    """Append one query parameter, keeping any existing query string exactly as it was."""
    parts = urlsplit(url)
    extra = urlencode({name: value})
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit(parts._replace(query=query))


async def connect_token_create(request: web.Request) -> web.Response:
    """POST /connect/token."""
    account = authenticate(request)
    state = state_of(request)
    body = await read_object(request)
    callback_url = get_str(body, "callback_url", required=True)
    assert callback_url is not None  # required=True
    if not urlsplit(callback_url).scheme:
        raise invalid("callback_url", "must be an absolute URL")
    location_id = get_str(body, "location_id")
    if location_id is not None:
        location = state.locations.get(location_id)
        if location is None or location.account_id != account.account_id:
            raise not_found("location", location_id)
    direction = cast(str, get_enum(body, "tariff_direction", DIRECTIONS, "IMPORT"))
    if direction == "LOCAL":
        raise ApiError(400, "tariff_direction_not_supported", "Connect does not take LOCAL tariffs")
    kind = cast(str, get_enum(body, "tariff_type", ("COMMODITY", "NON_COMMODITY"), "COMMODITY"))
    actions = body.get("actions") or {}
    if not isinstance(actions, dict):
        raise invalid("actions", "must be an object")
    token = state.create_connect_token(
        account.account_id,
        callback_url,
        connect_url=get_str(body, "connect_url"),
        location_id=location_id,
        tariff_direction=direction,
    )
    token.tariff_type = kind
    token.tariff_id = get_str(body, "tariff_id")
    token.edit_tariff = actions.get("edit_tariff") is True
    token.disconnect_tariff = actions.get("disconnect_tariff") is True and location_id is not None
    return web.json_response(
        {"connect_token": token.token, "expires_in": CONNECT_TOKEN_LIFETIME, "live_mode": False}
    )


def _usable_token(request: web.Request, value: str | None) -> ConnectToken | web.Response:
    """The Connect session behind ``fp_cot``, or an HTML error page."""
    state = state_of(request)
    token = state.connect_tokens.get(value or "")
    if token is None:
        return _page("Link not valid", "<p>This Connect link is not valid.</p>", 404)
    if token.completed_at is not None:
        return _page("Already connected", "<p>This Connect link was already used.</p>", 409)
    if token.expires_at <= state.now():
        return _page("Link expired", "<p>This Connect link has expired.</p>", 410)
    return token


async def connect_page(request: web.Request) -> web.Response:
    """GET /connect?fp_cot=…: the customer picks a tariff."""
    token = _usable_token(request, request.query.get("fp_cot"))
    if isinstance(token, web.Response):
        return token
    if token.disconnect_tariff:  # no page: disconnected at once, back to the caller
        state_of(request).complete_connect(token, None)
        location = _with_query(token.callback_url, "fp_cot", token.token)
        return web.Response(status=302, headers={"Location": location})
    if token.location_id is not None and (
        token.tariff_direction == "EXPORT" or token.tariff_type == "NON_COMMODITY"
    ):
        what = "export tariff" if token.tariff_direction == "EXPORT" else "grid fees"
        form = (
            f"<p>Provider: Demo Energy (emulated). Connect your {what}.</p>\n"
            '<form method="post" action="/connect">\n'
            f'<input type="hidden" name="fp_cot" value="{escape(token.token)}">\n'
            '<input type="hidden" name="tariff" value="flat">\n'
            f'<p><button type="submit">Connect {what}</button></p>\n'
            "</form>"
        )
        return _page(f"Connect your {what}", form)
    options = "\n".join(
        f'<p><label><input type="radio" name="tariff" value="{escape(p.key)}"'
        f"{' checked' if index == 0 else ''}> {escape(p.name)}</label></p>"
        for index, p in enumerate(CONNECT_PRESETS.values())
    )
    form = (
        "<p>Provider: Demo Energy (emulated). Choose your import tariff; a flat export "
        "tariff is added too.</p>\n"
        '<form method="post" action="/connect">\n'
        f'<input type="hidden" name="fp_cot" value="{escape(token.token)}">\n'
        f"{options}\n"
        '<p><button type="submit">Connect tariff</button></p>\n'
        "</form>"
    )
    return _page("Connect your tariff", form)


async def connect_submit(request: web.Request) -> web.Response:
    """POST /connect (form): attach the tariff, then redirect to the callback with fp_cot."""
    form = await request.post()
    token = _usable_token(request, cast(str | None, form.get("fp_cot")))
    if isinstance(token, web.Response):
        return token
    choice = form.get("tariff")
    if not isinstance(choice, str) or choice not in CONNECT_PRESETS:
        return _page("Choose a tariff", "<p>Please choose one of the offered tariffs.</p>", 400)
    state_of(request).complete_connect(token, choice)
    location = _with_query(token.callback_url, "fp_cot", token.token)
    return web.Response(status=302, headers={"Location": location})


async def connect_token_exchange(request: web.Request) -> web.Response:
    """GET /connect/tariff/token?connect_token=…: which location the customer connected."""
    account = authenticate(request)
    state = state_of(request)
    value = request.query.get("connect_token")
    if not value:
        raise missing("connect_token")
    token = state.connect_tokens.get(value)
    if token is None or token.account_id != account.account_id:
        raise not_found("connect token", value)
    if token.completed_at is None or token.location_id is None:
        if token.expires_at <= state.now():
            raise ApiError(422, "connect_token_expired", "This connect token has expired")
        raise ApiError(
            422,
            "connect_not_completed",
            "The customer has not completed Connect for this token yet",
        )
    location = state.locations.get(token.location_id)
    return web.json_response(
        {
            "id": token.token,
            "object": "connect_token",
            "live_mode": False,
            "connect_token": token.token,
            "location_id": token.location_id,
            "location_reference_id": location.reference_id if location else None,
            "is_tariff_processed": not state.is_pending(token.location_id),
            "complete_action": token.complete_action,
            "time_created": format_rfc3339(token.time_created),
            "time_expiry": format_rfc3339(token.expires_at),
        }
    )


def add_routes(app: web.Application) -> None:
    """Register the Connect routes."""
    router = app.router
    router.add_post("/connect/token", connect_token_create, name="connect_token_create")
    router.add_get("/connect", connect_page, name="connect_page")
    router.add_post("/connect", connect_submit, name="connect_submit")
    router.add_get("/connect/tariff/token", connect_token_exchange, name="connect_token_exchange")
