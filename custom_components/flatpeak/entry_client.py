"""A Flatpeak client for an entry's credentials, and the rule for the API base URL.

Used by set-up and by the flows; imports nothing of either. Every client of one account
shares that account's :class:`RateLimit`: a 429 on any of them quiets all of them.
"""

from __future__ import annotations

from collections.abc import Mapping
import ipaddress
from typing import Any
import unicodedata
from urllib.parse import urlsplit

from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.util import dt as dt_util
from homeassistant.util.hass_dict import HassKey
from yarl import URL

from .client import DEFAULT_BASE_URL, FlatpeakClient, RateLimit
from .const import CONF_ACCOUNT_ID, CONF_API_KEY, CONF_BASE_URL, DOMAIN

# One rate limit per (API base URL, account id), for as long as Home Assistant runs.
_RATE_LIMITS: HassKey[dict[tuple[str, str], RateLimit]] = HassKey(f"{DOMAIN}_rate_limits")


class InvalidBaseUrl(ValueError):
    """The API base URL is not a plain https:// (or loopback http://) address."""


def normalize_base_url(value: str) -> str:
    """The base URL without surrounding blanks or a trailing slash.

    Accepted: ``https://host[:port][/path]`` anywhere, ``http://`` only on a loopback host.
    Refused with :class:`InvalidBaseUrl`: user info (``user:pass@`` or ``a@b``), a port that
    is not 1-65535, a query or fragment, whitespace, control characters or backslashes inside.
    """
    value = value.strip()
    if any(_is_blank_or_control(char) for char in value) or "\\" in value:
        raise InvalidBaseUrl(value)
    value = value.rstrip("/")
    if "?" in value or "#" in value:
        raise InvalidBaseUrl(value)
    try:
        parts = urlsplit(value)
        port = parts.port
        URL(value)
    except ValueError as err:  # "[::1", "host:abc", "host:99999"
        raise InvalidBaseUrl(value) from err
    if not parts.hostname or "@" in parts.netloc or parts.netloc.endswith(":") or port == 0:
        raise InvalidBaseUrl(value)
    if parts.scheme == "https" or (parts.scheme == "http" and _is_loopback(parts.hostname)):
        return value
    raise InvalidBaseUrl(value)


def _is_blank_or_control(char: str) -> bool:
    return char.isspace() or unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp")


def _is_loopback(hostname: str) -> bool:
    if hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False


def make_client(hass: HomeAssistant, data: Mapping[str, Any]) -> FlatpeakClient:
    """A client for the credentials in ``data`` on Home Assistant's shared session, with
    the account's rate limit.

    Raises ``ValueError`` (from the client) when the account id or API key is empty.
    """
    base_url = data.get(CONF_BASE_URL) or DEFAULT_BASE_URL
    return FlatpeakClient(
        async_get_clientsession(hass),
        data[CONF_ACCOUNT_ID],
        data[CONF_API_KEY],
        base_url=base_url,
        rate_limit=account_rate_limit(hass, base_url, data[CONF_ACCOUNT_ID]),
    )


def account_rate_limit(hass: HomeAssistant, base_url: str, account_id: str) -> RateLimit:
    """The rate limit every client of this account shares, on Home Assistant's clock
    (the one its timers and the test harness's frozen time follow)."""
    limits = hass.data.setdefault(_RATE_LIMITS, {})
    key = (base_url.rstrip("/"), account_id)
    if (limit := limits.get(key)) is None:
        limit = limits[key] = RateLimit(now=lambda: dt_util.utcnow().timestamp())
    return limit
