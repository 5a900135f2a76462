"""Import and export price schedules of one entry, fetched rarely and kept in memory."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
import logging
from typing import TYPE_CHECKING, Any

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator
from homeassistant.util import dt as dt_util

from ..client import (
    FlatpeakAuthenticationError,
    FlatpeakClient,
    FlatpeakError,
    FlatpeakTariffError,
    Location,
    Prices,
    TariffDirection,
)
from ..const import DOMAIN
from ..core.retry import Backoff, RetryPolicy

if TYPE_CHECKING:
    from homeassistant.config_entries import ConfigEntry

    from .. import FlatpeakConfigEntry
    from ..tariff import TariffGate

_LOGGER = logging.getLogger(__name__)

DIRECTIONS = (TariffDirection.IMPORT, TariffDirection.EXPORT)
# Each request asks from 24 hours before the top of the hour (so the price valid now shows
# when it began) to 48 hours after it, in whole hours.
LOOKBACK = timedelta(hours=24)
HORIZON = timedelta(hours=48)
# A schedule is fetched again at Flatpeak's next_update, kept 15 min to 24 h away, or
# earlier when it would otherwise run out within the hour.
REFRESH_MIN = timedelta(minutes=15)
REFRESH_MAX = timedelta(hours=24)
ENDING_SOON = timedelta(hours=1)
# Timeouts, 5xx, 429s, unreadable answers: 1 min, 2, 4 ... at most an hour, ±20 % jitter,
# never before a 429's Retry-After.
PRICE_RETRY = RetryPolicy(base=timedelta(minutes=1), cap=timedelta(hours=1))
# Export prices refused while import prices work (no export tariff): 15 min, 30 ... 6 h.
EXPORT_RETRY = RetryPolicy(base=timedelta(minutes=15), cap=timedelta(hours=6), jitter=0)
# The coordinator's timer may fire up to a second early (it truncates the loop time).
TIMER_MARGIN = timedelta(seconds=1)


def refetch_at(prices: Prices, now: datetime) -> datetime:
    """When a schedule fetched at ``now`` is to be fetched again."""
    wanted = prices.next_update or now + REFRESH_MAX
    end = max((slot.valid_to for slot in prices.slots), default=now)
    wanted = min(wanted, end - ENDING_SOON)
    return min(max(wanted, now + REFRESH_MIN), now + REFRESH_MAX)


@dataclass(frozen=True, slots=True)
class PricePeriod:
    """The stretch of one price around a moment, as far as the schedule tells.

    ``valid_from`` is None when the price began before the schedule does, ``valid_to`` when
    it lasts past the schedule's end, ``next_price`` when no slot follows right after.
    """

    price: float
    valid_from: datetime | None
    valid_to: datetime | None
    next_price: float | None


def price_period(prices: Prices, when: datetime) -> PricePeriod | None:
    """The period of the price valid at ``when``: adjacent slots of the same price are one
    period (Flatpeak may split a price into several slots). None when no slot covers it."""
    slots = sorted(prices.slots, key=lambda slot: slot.valid_from)
    now = next((i for i, slot in enumerate(slots) if slot.valid_from <= when < slot.valid_to), None)
    if now is None:
        return None
    price = slots[now].price

    def joins(before: int, after: int) -> bool:
        return slots[before].valid_to == slots[after].valid_from

    first = last = now
    while first > 0 and joins(first - 1, first) and slots[first - 1].price == price:
        first -= 1
    while last + 1 < len(slots) and joins(last, last + 1) and slots[last + 1].price == price:
        last += 1
    follows = last + 1 < len(slots) and joins(last, last + 1)
    return PricePeriod(
        price=price,
        valid_from=slots[first].valid_from if first > 0 else None,
        valid_to=slots[last].valid_to if last + 1 < len(slots) else None,
        next_price=slots[last + 1].price if follows else None,
    )


@dataclass(frozen=True, slots=True)
class OutlookPeriod:
    """One stretch of a single price in the outlook."""

    start: datetime
    end: datetime
    price: float


# The outlook reaches as far as a request does (48 h) and holds at most 48 h of
# quarter-hours, so the attribute stays a few kilobytes whatever the tariff.
OUTLOOK_SPAN = HORIZON
OUTLOOK_LIMIT = 192


def outlook(prices: Prices, when: datetime) -> list[OutlookPeriod]:
    """The price periods from the one valid at ``when`` (or the next to begin) to 48 h
    ahead: adjacent slots of the same price joined, in time order, at most 192."""
    until = when + OUTLOOK_SPAN
    periods: list[OutlookPeriod] = []
    for slot in sorted(prices.slots, key=lambda slot: slot.valid_from):
        if slot.valid_to <= when or slot.valid_from >= until:
            continue
        last = periods[-1] if periods else None
        if last is not None and last.end == slot.valid_from and last.price == slot.price:
            periods[-1] = OutlookPeriod(start=last.start, end=slot.valid_to, price=slot.price)
        elif len(periods) == OUTLOOK_LIMIT:
            break
        else:
            periods.append(OutlookPeriod(slot.valid_from, slot.valid_to, slot.price))
    return periods


def next_change(prices: Prices, when: datetime) -> datetime | None:
    """The first slot start or end after ``when``: where the price valid now can change."""
    return min(
        (t for slot in prices.slots for t in (slot.valid_from, slot.valid_to) if t > when),
        default=None,
    )


class PriceCoordinator(DataUpdateCoordinator[dict[TariffDirection, Prices]]):
    """Keeps the entry's import and export price schedules.

    A refresh makes one ``POST /prices/{location_id}`` per direction that is due, and none
    while the :class:`TariffGate` is closed or no entity listens. The entities switch price
    at each slot boundary from the cached schedule on their own, without a refresh.
    """

    config_entry: FlatpeakConfigEntry

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        client: FlatpeakClient,
        location: Location,
        gate: TariffGate,
    ) -> None:
        """Create the coordinator; nothing is fetched before the first refresh."""
        super().__init__(hass, _LOGGER, config_entry=entry, name=f"{DOMAIN} prices")
        self.client = client
        self.location_id = location.id
        self.currency = location.currency_code
        self.gate = gate
        self._schedules: dict[TariffDirection, Prices] = {}
        # How many entities listen (the price sensors): none listening, nothing to fetch.
        self._listening = 0
        # A direction missing here is due now.
        self._due: dict[TariffDirection, datetime] = {}
        self._backoff = Backoff(PRICE_RETRY)
        self._export_retry = Backoff(EXPORT_RETRY)

    @callback
    def async_add_listener(
        self, update_callback: CALLBACK_TYPE, context: Any = None
    ) -> Callable[[], None]:
        """Count the entities listening, so a refresh can skip work nobody reads."""
        remove = super().async_add_listener(update_callback, context)
        self._listening += 1
        removed = False

        @callback
        def _remove() -> None:
            nonlocal removed
            if not removed:
                removed = True
                self._listening -= 1
            remove()

        return _remove

    async def async_refetch(self) -> None:
        """The location changed at Flatpeak: every schedule is due now (and with it each
        cheap window that has not started is planned again)."""
        self._due.clear()
        self._export_retry.succeeded()
        self.gate.ask_again()
        await self.async_refresh()

    def schedule(self, direction: TariffDirection) -> Prices | None:
        """The cached schedule of a direction, or ``None``."""
        return self._schedules.get(direction)

    async def _async_update_data(self) -> dict[TariffDirection, Prices]:
        """Fetch what is due; failures set the next wake-up and keep the cache."""
        now = dt_util.utcnow()
        backoff: timedelta | None = None
        if not self._listening:
            # No price sensor (no house meter, or both disabled): nothing to ask for.
            return dict(self._schedules)
        if self.gate.allowed(now):
            try:
                for direction in DIRECTIONS:
                    if self._due.get(direction, now) <= now:
                        await self._async_fetch(direction, now)
            except FlatpeakAuthenticationError as err:
                raise ConfigEntryAuthFailed(
                    translation_domain=DOMAIN, translation_key="invalid_auth"
                ) from err
            except FlatpeakTariffError as err:
                # The tariff changes or goes: nothing cached can be trusted any more.
                self.gate.failed(err, now)
                self._schedules.clear()
                self._due.clear()
            except FlatpeakError as err:
                backoff = self._failed(err, now)
            except Exception as err:  # a bug or an odd answer: back off, never spin
                if not self._backoff.failures:
                    _LOGGER.exception("Unexpected error while reading prices from Flatpeak")
                backoff = self._failed(err, now)
            else:
                if self._backoff.failures:
                    _LOGGER.info("Prices from Flatpeak work again")
                self._backoff.succeeded()
        self.update_interval = max(self._wake(now, backoff) - now, timedelta(0)) + TIMER_MARGIN
        return dict(self._schedules)

    async def _async_fetch(self, direction: TariffDirection, now: datetime) -> None:
        """One request for one direction; only import prices speak for the tariff gate."""
        hour = now.replace(minute=0, second=0, microsecond=0)
        try:
            prices = await self.client.get_prices(
                self.location_id,
                hour + HORIZON,
                start=hour - LOOKBACK,
                tariff_direction=direction,
            )
        except FlatpeakTariffError as err:
            if direction is TariffDirection.IMPORT:
                raise
            delay = self._export_retry.failed(now, err)
            _LOGGER.debug("No export prices (%s); asking again in %s", err, delay)
            self._schedules.pop(direction, None)
            self._due[direction] = now + delay
            return
        if direction is TariffDirection.IMPORT:
            self.gate.succeeded()
        else:
            self._export_retry.succeeded()
        self._schedules[direction] = prices
        self._due[direction] = refetch_at(prices, now)

    def _failed(self, err: Exception, now: datetime) -> timedelta:
        """Count a transient failure and return how long to wait (see :data:`PRICE_RETRY`)."""
        delay = self._backoff.failed(now, err)
        log = _LOGGER.warning if self._backoff.failures == 1 else _LOGGER.debug
        log("Reading prices from Flatpeak failed (%s); trying again in %s", err, delay)
        return delay

    def _wake(self, now: datetime, backoff: timedelta | None) -> datetime:
        """When the next refresh is needed."""
        if backoff is not None:
            return now + backoff
        if (retry_at := self.gate.retry_at) is not None and retry_at > now:
            return retry_at
        return min(self._due.get(direction, now) for direction in DIRECTIONS)
