"""One entry's gate for price-dependent calls (prices, costs) after Flatpeak's tariff 422s."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
import logging
from typing import TYPE_CHECKING

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback

from ..client import (
    FlatpeakNoPriceDataError,
    FlatpeakNoTariffConnectedError,
    FlatpeakPendingConnectError,
    FlatpeakTariffError,
)
from ..const import TARIFF_NO_PRICE_DATA, TARIFF_NO_TARIFF_CONNECTED, TARIFF_PENDING_CONNECT
from ..issues import async_clear_tariff_problem, async_raise_tariff_problem

if TYPE_CHECKING:
    from homeassistant.config_entries import ConfigEntry

_LOGGER = logging.getLogger(__name__)

# Flatpeak asks for these codes to be retried at most every 15 minutes.
TARIFF_RETRY = timedelta(minutes=15)

_CODES: tuple[tuple[type[FlatpeakTariffError], str], ...] = (
    (FlatpeakNoTariffConnectedError, TARIFF_NO_TARIFF_CONNECTED),
    (FlatpeakPendingConnectError, TARIFF_PENDING_CONNECT),
    (FlatpeakNoPriceDataError, TARIFF_NO_PRICE_DATA),
)


def tariff_problem(err: FlatpeakTariffError) -> str:
    """The code of a tariff error (an unknown kind reads as "no price data")."""
    for kind, code in _CODES:
        if isinstance(err, kind):
            return code
    return TARIFF_NO_PRICE_DATA


class TariffGate:
    """Shared by everything of one entry that makes price-dependent calls.

    After a tariff 422 (``no_tariff_connected``, ``pending_connect``, ``no_price_data``) no
    such call is allowed for 15 minutes, and the entry has one repair issue whose text
    depends on the code. The first success clears both.
    """

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry) -> None:
        """Start open, with no problem known."""
        self._hass = hass
        self._entry = entry
        self._problem: str | None = None
        self._retry_at: datetime | None = None
        self._listeners: list[Callable[[], None]] = []

    @property
    def problem(self) -> str | None:
        """The current tariff problem's code, or ``None``."""
        return self._problem

    @property
    def retry_at(self) -> datetime | None:
        """When the next price-dependent call may be made (``None``: at once)."""
        return self._retry_at

    def allowed(self, now: datetime) -> bool:
        """Whether a price-dependent call may be made at ``now``."""
        return self._retry_at is None or now >= self._retry_at

    @callback
    def failed(self, err: FlatpeakTariffError, now: datetime) -> None:
        """A call got a tariff 422: close for 15 minutes, raise or replace the issue."""
        code = tariff_problem(err)
        self._retry_at = now + TARIFF_RETRY
        async_raise_tariff_problem(self._hass, self._entry, code)
        if code == self._problem:
            return
        _LOGGER.warning(
            "Flatpeak cannot price %s (%s); asking again every %s",
            self._entry.title,
            code,
            TARIFF_RETRY,
        )
        self._problem = code
        self._notify()

    @callback
    def ask_again(self) -> None:
        """The tariff changed at Flatpeak: the next call may try at once (the problem stays
        until one succeeds)."""
        self._retry_at = None

    def succeeded(self) -> None:
        """A price-dependent call worked: open, and clear the issue (also one from before a
        restart)."""
        self._retry_at = None
        async_clear_tariff_problem(self._hass, self._entry)
        if self._problem is None:
            return
        _LOGGER.info("Flatpeak prices %s again", self._entry.title)
        self._problem = None
        self._notify()

    @callback
    def async_add_listener(self, listener: Callable[[], None]) -> CALLBACK_TYPE:
        """Call ``listener`` whenever :attr:`problem` changes; returns the unsubscribe."""
        self._listeners.append(listener)

        @callback
        def remove() -> None:
            self._listeners.remove(listener)

        return remove

    def _notify(self) -> None:
        for listener in list(self._listeners):
            listener()
