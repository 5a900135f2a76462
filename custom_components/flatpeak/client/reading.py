"""Checked reads of the fields of Flatpeak's JSON answers, for the models' ``from_dict``.

Each reader returns the field with its Python type or raises
:class:`FlatpeakResponseFormatError` naming the field (``what.key``) and the JSON type found,
never the value itself (it could be anything, a credential included).
"""

from __future__ import annotations

from datetime import datetime
import math
from typing import Any

from .exceptions import FlatpeakResponseFormatError


def parse_time(value: str) -> datetime:
    """Parse an RFC 3339 time (``Z`` or offset)."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def json_object(value: Any, what: str) -> dict[str, Any]:
    """``value`` if it is a JSON object."""
    if not isinstance(value, dict):
        raise FlatpeakResponseFormatError(f"{what} is not a JSON object ({json_kind(value)})")
    return value


def json_kind(value: Any) -> str:
    """The JSON type of a value, for messages (never the value: it could hold anything)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object" if isinstance(value, dict) else type(value).__name__


def required_str(data: dict[str, Any], key: str, what: str) -> str:
    """A required non-empty string."""
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise FlatpeakResponseFormatError(
            f"{what}.{key} must be a non-empty string, got {json_kind(value)}"
        )
    return value


def optional_str(data: dict[str, Any], key: str, what: str) -> str | None:
    """An optional string (absent or null gives None)."""
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise FlatpeakResponseFormatError(f"{what}.{key} must be a string, got {json_kind(value)}")
    return value


def required_int(data: dict[str, Any], key: str, what: str, *, minimum: int = 0) -> int:
    """A required integer >= ``minimum`` (a whole float such as 3600.0 counts)."""
    value = data.get(key)
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise FlatpeakResponseFormatError(
            f"{what}.{key} must be an integer, got {json_kind(value)}"
        )
    if value < minimum:
        raise FlatpeakResponseFormatError(f"{what}.{key} must be at least {minimum}, got {value}")
    return value


def number(data: dict[str, Any], key: str, what: str, default: float | None = None) -> float:
    """A finite number; absent or null gives ``default`` when there is one."""
    value = data.get(key)
    if value is None and default is not None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise FlatpeakResponseFormatError(
            f"{what}.{key} must be a finite number, got {json_kind(value)}"
        )
    return float(value)


def flag(data: dict[str, Any], key: str, what: str) -> bool:
    """An optional boolean (absent or null is False); ``"false"`` is not taken for True."""
    value = data.get(key)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise FlatpeakResponseFormatError(f"{what}.{key} must be a boolean, got {json_kind(value)}")
    return value


def array(data: dict[str, Any], key: str, what: str, *, required: bool = False) -> list[Any]:
    """An array (absent or null is ``[]`` unless required)."""
    value = data.get(key)
    if value is None and not required:
        return []
    if not isinstance(value, list):
        raise FlatpeakResponseFormatError(f"{what}.{key} must be an array, got {json_kind(value)}")
    return value


def required_time(data: dict[str, Any], key: str, what: str) -> datetime:
    """A required RFC 3339 time with a timezone."""
    value = data.get(key)
    if not isinstance(value, str):
        raise FlatpeakResponseFormatError(f"{what}.{key} must be a time, got {json_kind(value)}")
    try:
        moment = parse_time(value)
    except ValueError:
        raise FlatpeakResponseFormatError(f"{what}.{key} is not an RFC 3339 time") from None
    if moment.tzinfo is None:
        raise FlatpeakResponseFormatError(f"{what}.{key} has no timezone")
    return moment


def optional_object(data: dict[str, Any], key: str, what: str) -> dict[str, Any]:
    """A nested object; absent or null reads as ``{}``."""
    value = data.get(key)
    return {} if value is None else json_object(value, f"{what}.{key}")


def optional_time(data: dict[str, Any], key: str, what: str) -> datetime | None:
    """Informational times (``last_seen``, ``next_update``): unreadable ones are dropped."""
    try:
        return required_time(data, key, what)
    except FlatpeakResponseFormatError:
        return None
