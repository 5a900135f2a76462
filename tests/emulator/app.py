"""The emulator's aiohttp application: middleware (log, latency, faults, errors) and routes."""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import warnings

from aiohttp import web
from aiohttp.typedefs import Handler

from . import connect, control, health, routes_api
from .common import STATE_KEY, VERSION_HEADER, VERSION_KEY, state_of
from .errors import ApiError, error_body
from .models import OLDEST_API_VERSION, Fault
from .state import EmulatorState

CONTROL_PREFIX = "/_emulator"
_HTTP_CODES = {404: "route_not_found", 405: "method_not_allowed", 413: "request_too_large"}
# 10,000 meter records with long ids are a few MiB of JSON; aiohttp's default is 1 MiB.
MAX_BODY_BYTES = 64 * 1024 * 1024
_FAULT_CODES = {429: "rate_limit_exceeded", 500: "internal_error", 503: "service_unavailable"}


def _context(request: web.Request) -> str:
    name = request.match_info.route.name if request.match_info.route else None
    return f"api.{name or 'unknown'}"


def _error_response(request: web.Request, err: ApiError) -> web.Response:
    if err.plain:
        body: dict[str, object] = {"message": err.message}
    else:
        now = state_of(request).now()
        body = error_body(err.status, err.code, err.message, _context(request), now)
    return web.json_response(body, status=err.status, headers=err.headers)


def _reflection(request: web.Request) -> str:
    """What a careless server echoes: every request header, and decoded credentials."""
    text = "Rejected request with headers " + "; ".join(
        f"{name}: {value}" for name, value in request.headers.items()
    )
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "basic":
        with contextlib.suppress(binascii.Error, UnicodeDecodeError):
            text += f"; credentials {base64.b64decode(value, validate=True).decode()}"
    elif scheme.lower() == "bearer":
        text += f"; token {value}"
    return text


def _fault_response(request: web.Request, fault: Fault) -> web.Response:
    headers: dict[str, str] = {}
    if fault.retry_after is not None:
        seconds = fault.retry_after
        headers["Retry-After"] = str(int(seconds)) if seconds == int(seconds) else str(seconds)
    if fault.reflect_headers == "text":
        response = web.Response(text=_reflection(request), status=fault.status, headers=headers)
    elif fault.text is not None:
        response = web.Response(text=fault.text, status=fault.status, headers=headers)
    elif fault.body is not None:
        response = web.Response(
            text=json.dumps(fault.body),
            status=fault.status,
            headers=headers,
            content_type="application/json",
        )
    else:
        code = _FAULT_CODES.get(fault.status, "injected_fault")
        message = f"Injected fault: HTTP {fault.status}"
        if fault.reflect_headers == "message":
            message = _reflection(request)
        response = _error_response(request, ApiError(fault.status, code, message, headers=headers))
    # Set last, so a fault can also send a wrong Content-Type or charset.
    response.headers.update(fault.headers)
    return response


async def _answer(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The endpoint's answer; errors become Flatpeak error bodies."""
    try:
        return await handler(request)
    except ApiError as err:
        return _error_response(request, err)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        # Unknown route or method: still answer with an error object.
        code = _HTTP_CODES.get(exc.status, "http_error")
        message = f"{request.method} {request.path}: {exc.reason}"
        return _error_response(request, ApiError(exc.status, code, message))


async def _apply_fault(
    request: web.Request, handler: Handler, fault: Fault
) -> web.StreamResponse | None:
    """The fault's answer, or None when the connection was closed instead."""
    if fault.processed:
        await _answer(request, handler)  # its effects stay, its answer is lost
    if fault.hang > 0:
        await state_of(request).sleep(fault.hang)
    if fault.disconnect:
        if request.transport is not None:
            request.transport.abort()
        return None
    return _fault_response(request, fault)


@web.middleware
async def emulator_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Log, delay and fail API calls as configured; turn errors into Flatpeak error bodies."""
    state = state_of(request)
    internal = request.path == CONTROL_PREFIX or request.path.startswith(CONTROL_PREFIX + "/")
    if internal:
        return await _answer(request, handler)
    state.request_log.append((request.method, request.path))
    if state.latency > 0:
        await asyncio.sleep(state.latency)
    fault = state.take_fault(request.method, request.path)
    if fault is None:
        response = await _answer(request, handler)
    elif (answer := await _apply_fault(request, handler, fault)) is None:
        return web.Response(status=499)  # never sent: the connection is gone
    else:
        response = answer
    response.headers["flatpeak-version"] = (
        request.get(VERSION_KEY) or request.headers.get(VERSION_HEADER) or OLDEST_API_VERSION
    )
    return response


def create_app(state: EmulatorState | None = None) -> web.Application:
    """The emulator as an aiohttp application; ``app["state"]`` is its EmulatorState."""
    state = state or EmulatorState()
    app = web.Application(middlewares=[emulator_middleware], client_max_size=MAX_BODY_BYTES)
    app[STATE_KEY] = state
    with warnings.catch_warnings():
        # A plain string key is part of the public contract (app["state"]); aiohttp would
        # otherwise warn that AppKey is preferred.
        warnings.simplefilter("ignore")
        app["state"] = state
    health.add_routes(app)
    routes_api.add_routes(app)
    connect.add_routes(app)
    control.add_routes(app)
    return app
