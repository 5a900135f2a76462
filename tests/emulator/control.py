"""``/_emulator/*``: fault injection, clock-free knobs and inspection (no auth, JSON)."""

from __future__ import annotations

import math
from typing import Any

from aiohttp import web

from .common import read_object, state_of
from .errors import ApiError, invalid, missing, not_found
from .state import ConflictError


def _seconds(body: dict[str, Any], field: str = "seconds") -> float:
    value = body.get(field)
    if value is None:
        raise missing(field)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise invalid(field, "must be a number")
    if value < 0:
        raise invalid(field, "must not be negative")
    return float(value)


def _ok(**extra: Any) -> web.Response:
    return web.json_response({"ok": True, **extra})


def _flag(body: dict[str, Any], field: str) -> bool:
    value = body.get(field, False)
    if not isinstance(value, bool):
        raise invalid(field, "must be a boolean")
    return value


async def fault_add(request: web.Request) -> web.Response:
    """POST /_emulator/faults {path, method?, status, count?, retry_after?, body?, text?,
    headers?, reflect_headers?, after?, hang?, processed?} or {path, disconnect: true, method?,
    count?, after?, hang?, processed?}."""
    body = await read_object(request)
    path = body.get("path")
    if not isinstance(path, str) or not path.startswith("/"):
        raise invalid("path", "must be an API path starting with '/' (a trailing * = prefix)")
    hang = _seconds(body, "hang") if body.get("hang") is not None else 0.0
    processed = _flag(body, "processed")
    count = body.get("count", 1)
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise invalid("count", "must be a positive integer")
    method = body.get("method")
    if method is not None and not isinstance(method, str):
        raise invalid("method", "must be an HTTP method")
    after = body.get("after", 0)
    if isinstance(after, bool) or not isinstance(after, int) or after < 0:
        raise invalid("after", "must be a non-negative integer")
    if _flag(body, "disconnect"):
        fault = state_of(request).drop_next(
            path, count, method, hang=hang, processed=processed, after=after
        )
        return web.json_response(fault.to_json(), status=201)
    status = body.get("status")
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise invalid("status", "must be an HTTP status code")
    retry_after = _seconds(body, "retry_after") if body.get("retry_after") is not None else None
    text = body.get("text")
    if text is not None and not isinstance(text, str):
        raise invalid("text", "must be a string")
    headers = body.get("headers") or {}
    if not isinstance(headers, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
    ):
        raise invalid("headers", "must be an object of strings")
    reflect = body.get("reflect_headers")
    if reflect not in (None, "message", "text"):
        raise invalid("reflect_headers", "must be 'message' or 'text'")
    fault = state_of(request).fail_next(
        path,
        status,
        count,
        method,
        retry_after,
        body=body.get("body"),
        text=text,
        headers=headers,
        reflect_headers=reflect,
        after=after,
        hang=hang,
        processed=processed,
    )
    return web.json_response(fault.to_json(), status=201)


async def fault_list(request: web.Request) -> web.Response:
    """GET /_emulator/faults: the faults still armed."""
    return web.json_response({"data": [f.to_json() for f in state_of(request).faults]})


async def fault_clear(request: web.Request) -> web.Response:
    """DELETE /_emulator/faults: disarm all faults."""
    state_of(request).faults.clear()
    return _ok()


async def set_latency(request: web.Request) -> web.Response:
    """POST /_emulator/latency {seconds}: added to every API call."""
    state_of(request).latency = _seconds(await read_object(request))
    return _ok(seconds=state_of(request).latency)


async def set_token_lifetime(request: web.Request) -> web.Response:
    """POST /_emulator/token_lifetime {seconds}: lifetime of tokens issued from now on."""
    state_of(request).token_lifetime = _seconds(await read_object(request))
    return _ok(seconds=state_of(request).token_lifetime)


async def set_pending_connect(request: web.Request) -> web.Response:
    """POST /_emulator/pending_connect {location_id, seconds}."""
    state = state_of(request)
    body = await read_object(request)
    location_id = body.get("location_id")
    if not isinstance(location_id, str) or not location_id:
        raise missing("location_id")
    if location_id not in state.locations:
        raise not_found("location", location_id)
    state.set_pending_connect(location_id, _seconds(body))
    return _ok()


async def set_connect_delay(request: web.Request) -> web.Response:
    """POST /_emulator/connect_delay {seconds}: Connect results stay pending that long."""
    state_of(request).connect_processing_seconds = _seconds(await read_object(request))
    return _ok()


async def set_report_lag(request: web.Request) -> web.Response:
    """POST /_emulator/report_lag {seconds, unpriced?}: cost reports include a record only
    that long after it was stored; meanwhile it is left out, or with ``unpriced`` listed in
    a row of its own with a null amount (a session with none of its records in: 404)."""
    body = await read_object(request)
    state_of(request).set_report_lag(_seconds(body), unpriced=_flag(body, "unpriced"))
    return _ok(seconds=state_of(request).report_lag)


async def expire_tokens(request: web.Request) -> web.Response:
    """POST /_emulator/expire_tokens: invalidate every issued bearer token."""
    state_of(request).expire_tokens()
    return _ok()


async def records(request: web.Request) -> web.Response:
    """GET /_emulator/records?device_id=&location_id=&account_id=: exact stored records."""
    query = request.query
    data = state_of(request).records(
        account_id=query.get("account_id") or None,
        device_id=query.get("device_id") or None,
        location_id=query.get("location_id") or None,
    )
    return web.json_response({"data": data})


async def requests(request: web.Request) -> web.Response:
    """GET /_emulator/requests: every API request served, in order."""
    log = state_of(request).request_log
    return web.json_response({"data": [{"method": m, "path": p} for m, p in log]})


async def requests_clear(request: web.Request) -> web.Response:
    """DELETE /_emulator/requests: empty the request log."""
    state_of(request).request_log.clear()
    return _ok()


async def reset(request: web.Request) -> web.Response:
    """POST /_emulator/reset: drop everything (nothing is re-seeded)."""
    state_of(request).reset()
    return _ok()


async def account_create(request: web.Request) -> web.Response:
    """POST /_emulator/accounts {account_id?, api_key?, api_version?, disabled?} -> 201."""
    body = await read_object(request, required=False)
    values: dict[str, Any] = {}
    for field in ("account_id", "api_key", "api_version"):
        value = body.get(field)
        if value is not None and (not isinstance(value, str) or not value):
            raise invalid(field, "must be a non-empty string")
        values[field] = value
    disabled = body.get("disabled", False)
    if not isinstance(disabled, bool):
        raise invalid("disabled", "must be a boolean")
    try:
        account = state_of(request).add_account(
            values["account_id"],
            values["api_key"],
            api_version=values["api_version"],
            disabled=disabled,
        )
    except ConflictError as err:
        raise ApiError(409, "resource_already_exists", str(err)) from None
    return web.json_response(account.to_json(), status=201)


async def seed_demo(request: web.Request) -> web.Response:
    """POST /_emulator/seed_demo: a demo account, e.g. after a reset -> 201."""
    return web.json_response(state_of(request).seed_demo(), status=201)


def add_routes(app: web.Application) -> None:
    """Register the /_emulator routes."""
    router = app.router
    router.add_post("/_emulator/faults", fault_add, name="emulator_fault_add")
    router.add_get("/_emulator/faults", fault_list, name="emulator_fault_list")
    router.add_delete("/_emulator/faults", fault_clear, name="emulator_fault_clear")
    router.add_post("/_emulator/latency", set_latency, name="emulator_latency")
    router.add_post("/_emulator/token_lifetime", set_token_lifetime, name="emulator_token_lifetime")
    router.add_post(
        "/_emulator/pending_connect", set_pending_connect, name="emulator_pending_connect"
    )
    router.add_post("/_emulator/connect_delay", set_connect_delay, name="emulator_connect_delay")
    router.add_post("/_emulator/report_lag", set_report_lag, name="emulator_report_lag")
    router.add_post("/_emulator/expire_tokens", expire_tokens, name="emulator_expire_tokens")
    router.add_get("/_emulator/records", records, name="emulator_records")
    router.add_get("/_emulator/requests", requests, name="emulator_requests")
    router.add_delete("/_emulator/requests", requests_clear, name="emulator_requests_clear")
    router.add_post("/_emulator/reset", reset, name="emulator_reset")
    router.add_post("/_emulator/accounts", account_create, name="emulator_accounts")
    router.add_post("/_emulator/seed_demo", seed_demo, name="emulator_seed_demo")
