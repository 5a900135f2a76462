"""Shared HTTP plumbing: state lookup, auth, API versions, JSON bodies, list pagination."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
import json
import re
from typing import Any

from aiohttp import web

from .engine import parse_rfc3339
from .errors import ApiError, invalid, missing
from .models import OLDEST_API_VERSION, Account
from .state import EmulatorState

STATE_KEY = web.AppKey("emulator_state", EmulatorState)
VERSION_HEADER = "Flatpeak-Version"
VERSION_KEY = "flatpeak_version"  # request key: the version to echo in the response
_VERSION_RE = re.compile(r"^\d{4}-\d{2}-\d{2}")


def state_of(request: web.Request) -> EmulatorState:
    """The emulator state behind this app."""
    return request.app[STATE_KEY]


def _version_date(version: str | None) -> str:
    return (version or OLDEST_API_VERSION)[:10]


def check_version(request: web.Request, account: Account) -> None:
    """Apply ``Flatpeak-Version``: older than the account default -> 422."""
    requested = request.headers.get(VERSION_HEADER)
    if requested is None:
        request[VERSION_KEY] = account.api_version or OLDEST_API_VERSION
        return
    if not _VERSION_RE.match(requested):
        raise ApiError(
            400, "invalid_api_version", f"{VERSION_HEADER} must start with a YYYY-MM-DD date"
        )
    request[VERSION_KEY] = requested
    # Date prefixes compare correctly as strings; suffixes like ".anode" share the date.
    if _version_date(requested) < _version_date(account.api_version):
        raise ApiError(
            422,
            "api_version_not_supported",
            f"API version '{requested}' is older than this account's version "
            f"'{account.api_version}'",
        )


def authenticate(request: web.Request) -> Account:
    """The account of the request's bearer token (401 missing, 403 bad/expired)."""
    state = state_of(request)
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "unauthorized", "Missing bearer token", plain=True)
    session = state.session_for(token.strip())
    if session is None:
        raise ApiError(403, "forbidden", "Invalid or expired token", plain=True)
    account = state.accounts.get(session.account_id)
    if account is None:
        raise ApiError(403, "forbidden", "Invalid or expired token", plain=True)
    if account.disabled:
        raise ApiError(422, "account_disabled", "This account is disabled")
    check_version(request, account)
    return account


async def read_json(request: web.Request, *, required: bool = True) -> Any:
    """The parsed JSON body (400 invalid_json when malformed; None when empty and optional)."""
    text = await request.text()
    if not text.strip():
        if required:
            raise ApiError(400, "invalid_json", "Request body must be JSON")
        return None
    try:
        return json.loads(text)
    except ValueError:
        raise ApiError(400, "invalid_json", "Request body is not valid JSON") from None


async def read_object(request: web.Request, *, required: bool = True) -> dict[str, Any]:
    """The JSON body, which must be an object (an empty optional body gives {})."""
    body = await read_json(request, required=required)
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_body", "Request body must be a JSON object")
    return body


def get_str(body: dict[str, Any], field: str, *, required: bool = False) -> str | None:
    """A string field (400 when missing and required, or not a non-empty string)."""
    value = body.get(field)
    if value is None:
        if required:
            raise missing(field)
        return None
    if not isinstance(value, str) or not value:
        raise invalid(field, "must be a non-empty string")
    return value


def get_enum(
    source: dict[str, Any] | Any, field: str, allowed: Sequence[str], default: str | None
) -> str | None:
    """An enum field from a body or query (400 naming the allowed values)."""
    value = source.get(field)
    if value is None or value == "":
        return default
    if value not in allowed:
        raise invalid(field, f"must be one of {', '.join(allowed)}")
    return str(value)


def get_time(body: dict[str, Any], field: str, *, required: bool = True) -> datetime | None:
    """An RFC 3339 field as a UTC datetime."""
    value = body.get(field)
    if value is None:
        if required:
            raise missing(field)
        return None
    try:
        return parse_rfc3339(value, field)
    except ValueError as err:
        raise ApiError(400, "parameter_invalid", str(err)) from None


def query_flag(request: web.Request, name: str) -> bool:
    """A boolean query parameter (``true``/``1``)."""
    return request.query.get(name, "").lower() in {"true", "1", "yes"}


def paginate[T](
    request: web.Request,
    items: Sequence[T],
    *,
    url: str,
    item_id: Callable[[T], str],
    to_json: Callable[[T], dict[str, Any]],
) -> dict[str, Any]:
    """A list envelope: ``items`` newest first, ``limit`` and the two cursors applied."""
    raw_limit = request.query.get("limit", "30")
    try:
        limit = int(raw_limit)
    except ValueError:
        raise invalid("limit", "must be an integer between 1 and 100") from None
    if not 1 <= limit <= 100:
        raise invalid("limit", "must be an integer between 1 and 100")
    after = request.query.get("starting_after")
    before = request.query.get("ending_before")
    if after and before:
        raise ApiError(400, "parameter_invalid", "Use only one of starting_after and ending_before")
    ids = [item_id(item) for item in items]
    for name, cursor in (("starting_after", after), ("ending_before", before)):
        if cursor and cursor not in ids:
            raise invalid(name, f"'{cursor}' is not an object of this list")
    if after:
        rest = list(items[ids.index(after) + 1 :])
        page, has_more = rest[:limit], len(rest) > limit
    elif before:
        rest = list(items[: ids.index(before)])
        page, has_more = rest[-limit:], len(rest) > limit
    else:
        page, has_more = list(items[:limit]), len(items) > limit
    return {
        "object": "list",
        "url": url,
        "has_more": has_more,
        "data": [to_json(item) for item in page],
    }
