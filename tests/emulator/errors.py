"""API errors of the Flatpeak emulator and their JSON bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .engine import format_rfc3339


def error_type(status: int) -> str:
    """The error object's ``type`` for an HTTP status."""
    if status == 429:
        return "rate_limit"
    if status >= 500:
        return "api_error"
    return "invalid_request"


def error_body(status: int, code: str, message: str, context: str, now: datetime) -> dict[str, Any]:
    """An error object exactly as API.md documents it."""
    return {
        "object": "error",
        "live_mode": False,
        "context": context,
        "type": error_type(status),
        "code": code,
        "message": message,
        "time_created": format_rfc3339(now),
    }


class ApiError(Exception):
    """Raised by handlers; the middleware turns it into a JSON response.

    ``plain`` errors answer only ``{"message": ...}`` like the older endpoints (login, auth).
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        plain: bool = False,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.plain = plain
        self.headers = headers or {}


def bad_request(code: str, message: str) -> ApiError:
    """400 with an invalid_request error object."""
    return ApiError(400, code, message)


def missing(field: str) -> ApiError:
    """400 for a missing required field."""
    return ApiError(400, "parameter_missing", f"{field} is required")


def invalid(field: str, message: str) -> ApiError:
    """400 for a field with a bad value; ``message`` continues after the field name."""
    return ApiError(400, "parameter_invalid", f"{field} {message}")


def not_found(kind: str, object_id: str) -> ApiError:
    """404 for an id this account does not have."""
    return ApiError(404, "resource_not_found", f"No such {kind}: '{object_id}'")
