"""From an HTTP answer to decoded JSON or the right exception, with nothing secret in it.

Flatpeak's error texts end up in exception messages, which get logged and shown in Home
Assistant; a server (or a proxy in front of it) that echoes the request would put
credentials there. Every text taken from an answer goes through :func:`redact`.
"""

from __future__ import annotations

from collections.abc import Iterable
from email.utils import parsedate_to_datetime
import json
import math
import re
import time
from typing import Any

from .exceptions import (
    CODE_ERRORS,
    FlatpeakApiError,
    FlatpeakAuthenticationError,
    FlatpeakInvalidRequestError,
    FlatpeakNotFoundError,
    FlatpeakRateLimitError,
    FlatpeakResponseFormatError,
    FlatpeakUnavailableError,
)

# A 429's Retry-After is honoured within these bounds: a server asking for 0 s (or garbage)
# must not make the caller hammer it, nor an absurd value park uploads for days.
RETRY_AFTER_MIN_SECONDS = 30.0
RETRY_AFTER_MAX_SECONDS = 3600.0
# Messages end up in Home Assistant states (at most 255 characters): with the status and
# the code in front, ``str()`` of any error stays under 200.
MAX_MESSAGE_CHARS = 150
MAX_CODE_CHARS = 40
REDACTED = "[redacted]"
# Credentials a server might reflect: a whole Authorization header, a scheme and its value
# (only values that look like a credential, so "Basic credentials" stays readable), API keys.
_SECRET_PATTERNS = (
    re.compile(
        r"(?i)\b((?:proxy-)?authorization)([\"']?\s*[:=]\s*[\"']?)"
        r"(?:(?:bearer|basic|digest|token)\s+)?[^\s\"',;}]+"
    ),
    re.compile(
        r"(?i)\b(bearer|basic)(\s+)(?=[A-Za-z0-9._~+/=-]*[0-9_~+/=-])[A-Za-z0-9._~+/=-]{8,}"
    ),
    re.compile(r"\b(sk_(?:live|test))(_)[A-Za-z0-9]+"),
)


def parse_answer(
    status: int,
    text: str,
    *,
    retry_after: str | None,
    what: str,
    secrets: Iterable[str | None],
) -> Any:
    """The decoded JSON of a 2xx answer (any JSON type: the models check the shape).

    A 2xx body that is not JSON raises :class:`FlatpeakResponseFormatError`; an error status
    raises the matching :class:`FlatpeakError`, its ``code`` and ``message`` redacted of
    ``secrets`` and of anything shaped like a credential, and shortened. ``what`` names the
    request (``"PUT /meters/interval"``) in messages.
    """
    try:
        data = json.loads(text) if text else {}
    except (ValueError, RecursionError):
        if 200 <= status < 300:
            raise FlatpeakResponseFormatError(
                f"{what} answered {status} with a body that is not JSON", status=status
            ) from None
        data = None
    if 200 <= status < 300:
        return data
    secrets = tuple(secrets)
    body = data if isinstance(data, dict) else {}
    raw_code = body.get("code")
    code = (
        redact(raw_code, secrets, limit=MAX_CODE_CHARS)
        if isinstance(raw_code, str) and raw_code
        else None
    )
    raw_message = body.get("message")
    message = (
        redact(raw_message if isinstance(raw_message, str) and raw_message else text, secrets)
        or f"HTTP {status}"
    )
    if status in (401, 403):
        raise FlatpeakAuthenticationError(f"{status}: {message}")
    if status == 429:
        raise FlatpeakRateLimitError(status, code, message, parse_retry_after(retry_after))
    if status == 404:
        raise FlatpeakNotFoundError(status, code, message)
    if 400 <= status < 500:
        raise CODE_ERRORS.get(str(code), FlatpeakInvalidRequestError)(status, code, message)
    if status in (502, 503, 504):
        raise FlatpeakUnavailableError(status, code, message)
    raise FlatpeakApiError(status, code, message)


def redact(text: str, secrets: Iterable[str | None], *, limit: int = MAX_MESSAGE_CHARS) -> str:
    """``text`` on one line, at most ``limit`` characters, without credentials or tokens.

    Removes every one of ``secrets`` (the API key, Basic credentials, bearer tokens), whole
    ``Authorization`` headers, ``Bearer``/``Basic`` values and anything shaped like an API key.
    """
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(rf"\1\2{REDACTED}", text)
    return shorten(text, limit)


def shorten(text: str, limit: int) -> str:
    """``text`` on one line in at most ``limit`` characters: its first words and "…"."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    # End at a word when one ends in the last third; a long word is cut where it must be.
    space = cut.rfind(" ")
    if space > limit * 2 // 3:
        cut = cut[:space]
    return cut.rstrip(" ,;:") + "…"


def parse_retry_after(value: str | None) -> float | None:
    """``Retry-After`` in seconds (delta-seconds or an HTTP date), or None when absent.

    Anything present is kept within [30 s, 3600 s]: 0, negative, past dates and values that
    cannot be read give 30 s; ``inf`` and far dates give an hour.
    """
    if value is None or not value.strip():
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError, OverflowError, IndexError):
            seconds = RETRY_AFTER_MIN_SECONDS
    if math.isnan(seconds):
        seconds = RETRY_AFTER_MIN_SECONDS
    return min(RETRY_AFTER_MAX_SECONDS, max(RETRY_AFTER_MIN_SECONDS, seconds))
