"""One cheap window's plan: Flatpeak's slots for the search window running (or next).

A refresh asks Flatpeak (``POST /schedules/duration|limit``) only when the plan in hand no
longer stands (see :func:`~..core.cheap_windows.needs_refresh`): a new search window opened,
the answer's ``next_update`` passed, or the location's prices changed, and never for a
window that has started (it keeps its slots until it ends). Between refreshes the entities
switch at each slot's start and end from the plan, without a request.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, tzinfo
import logging
from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed
from homeassistant.helpers.event import async_track_point_in_utc_time
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator
from homeassistant.util import dt as dt_util

from ..client import (
    FlatpeakAuthenticationError,
    FlatpeakClient,
    FlatpeakError,
    FlatpeakTariffError,
    Location,
    Prices,
    Schedule,
    TariffDirection,
)
from ..const import DOMAIN
from ..core.cheap_windows import (
    Plan,
    SearchWindow,
    SlotState,
    keeps_plan,
    needs_refresh,
    plan_to_use,
    slot_state,
    window_for,
)
from ..core.retry import Backoff, RetryPolicy
from ..issues import async_clear_window_problem, async_raise_window_problem
from ..tariff import TARIFF_RETRY, tariff_problem
from .settings import WindowSettings
from .store import PlanStore

if TYPE_CHECKING:
    from homeassistant.config_entries import ConfigEntry

    from .. import FlatpeakConfigEntry
    from ..tariff import TariffGate

_LOGGER = logging.getLogger(__name__)

# Timeouts, 5xx, 429s, odd answers: 1 min, 2, 4 ... at most an hour (the plan in hand stays).
WINDOW_RETRY = RetryPolicy(base=timedelta(minutes=1), cap=timedelta(hours=1))
# A next_update already past (or a moment away) is not asked about in a loop.
REFRESH_MIN = timedelta(minutes=15)
# The coordinator's timer may fire up to a second early (it truncates the loop time).
TIMER_MARGIN = timedelta(seconds=1)


def prices_fingerprint(prices: Prices | None, window: SearchWindow) -> tuple[object, ...] | None:
    """What the price schedule says about ``window``: a change means the plan may be stale."""
    if prices is None:
        return None
    return tuple(
        (slot.valid_from, slot.valid_to, slot.price)
        for slot in prices.slots
        if slot.valid_to > window.start and slot.valid_from < window.end
    )


class CheapWindowCoordinator(DataUpdateCoordinator[Plan | None]):
    """Keeps one cheap window's plan and says what its slots mean at each moment.

    Import windows share the entry's :class:`TariffGate` with prices and costs (one repair,
    one 15-minute pause). Export windows have their own: a location without an export tariff
    still prices its imports, and the window's repair says what to connect.
    """

    config_entry: FlatpeakConfigEntry

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        subentry: ConfigSubentry,
        *,
        client: FlatpeakClient,
        location: Location,
        gate: TariffGate,
        store: PlanStore,
    ) -> None:
        """Read the settings and any plan kept for them; nothing is fetched yet."""
        super().__init__(
            hass, _LOGGER, config_entry=entry, name=f"{DOMAIN} cheap window {subentry.title}"
        )
        self.subentry = subentry
        self.settings = WindowSettings.from_data(subentry.data)
        self.client = client
        self.location_id = location.id
        self.currency = location.currency_code
        self.zone: tzinfo = dt_util.get_time_zone(location.timezone) or dt_util.UTC
        self.gate = gate
        self._store = store
        self.plan: Plan | None = store.plan(subentry.subentry_id, self.settings.fingerprint)
        self.data = self.plan
        # An export window's own tariff problem (a Flatpeak 422 code) and its retry time.
        self.problem: str | None = None
        self._problem_retry: datetime | None = None
        self._backoff = Backoff(WINDOW_RETRY)
        # The prices the plan was made with; when they change, an unstarted plan is redone.
        self._prices_seen: tuple[SearchWindow, tuple[object, ...]] | None = None
        self._prices_changed = False
        self._unsub_boundary: CALLBACK_TYPE | None = None
        self._lock = asyncio.Lock()

    @property
    def direction(self) -> TariffDirection:
        """Import or export prices."""
        return self.settings.direction

    # -- what the entities read ---------------------------------------------------------

    def window(self, moment: datetime) -> SearchWindow:
        """The search window at ``moment`` (a rolling one continues the plan's)."""
        return window_for(
            self.settings.span, moment, self.zone, self.plan.window if self.plan else None
        )

    def state(self, moment: datetime) -> SlotState | None:
        """The running and the next slot at ``moment``; ``None`` when nothing is known.

        The plan of a window that just ended still says "no slot" until the next window's
        answer comes (a moment later), so the binary sensor goes off, not unavailable; if
        that answer fails, nothing is known.
        """
        if self.tariff_problem is not None or self.plan is None:
            return None
        if self.plan.window.has_ended(moment) and self._backoff.failures:
            return None
        return slot_state(self.plan.schedule.slots, moment)

    @property
    def tariff_problem(self) -> str | None:
        """Why Flatpeak cannot plan this window (a 422 code), or ``None``."""
        if self.direction is TariffDirection.IMPORT:
            return self.gate.problem
        return self.problem

    # -- refresh ------------------------------------------------------------------------

    @callback
    def prices_updated(self, prices: Prices | None) -> None:
        """The entry's price schedules were fetched: re-plan if this window's prices moved."""
        if self.plan is None:
            return
        window = self.plan.window
        if (fingerprint := prices_fingerprint(prices, window)) is None:
            return
        seen = (window, fingerprint)
        before, self._prices_seen = self._prices_seen, seen
        if before is None or before[0] != window or before == seen:
            return
        if keeps_plan(self.plan, window, dt_util.utcnow()):
            return  # a running window keeps its slots whatever the prices do
        _LOGGER.debug("Prices of %s changed; planning again", self.subentry.title)
        self._prices_changed = True
        self.config_entry.async_create_background_task(
            self.hass, self.async_request_refresh(), f"{DOMAIN} re-plan {self.subentry.title}"
        )

    async def _async_update_data(self) -> Plan | None:
        """One refresh at a time: a price change may ask for one while the timer's runs, and
        the second must see the first one's answer, not ask again."""
        async with self._lock:
            return await self._async_plan()

    async def _async_plan(self) -> Plan | None:
        """Ask Flatpeak when the plan does not stand; failures keep it and set the wake-up."""
        now = dt_util.utcnow()
        window = self.window(now)
        wanted = needs_refresh(self.plan, window, now) or (
            self._prices_changed and not keeps_plan(self.plan, window, now)
        )
        retry: datetime | None = None
        if wanted and (retry := self._blocked_until(now)) is None:
            try:
                schedule = await self._async_ask(window, now)
            except FlatpeakAuthenticationError as err:
                raise ConfigEntryAuthFailed(
                    translation_domain=DOMAIN, translation_key="invalid_auth"
                ) from err
            except FlatpeakTariffError as err:
                retry = self._tariff_failed(err, now)
            except FlatpeakError as err:
                retry = self._failed(err, now)
            except Exception as err:  # a bug or an odd answer: back off, never spin
                if not self._backoff.failures:
                    _LOGGER.exception("Unexpected error while planning %s", self.subentry.title)
                retry = self._failed(err, now)
            else:
                self._succeeded()
                # The answer is from the prices Flatpeak has now: the next price read is
                # what later changes are measured against.
                self._prices_changed = False
                self._prices_seen = None
                self.plan = plan_to_use(self.plan, Plan(window, schedule), now)
                self._store.save(self.subentry.subentry_id, self.settings.fingerprint, self.plan)
        self.update_interval = max(self._wake(window, now, retry) - now, timedelta(0))
        self.update_interval += TIMER_MARGIN
        self._async_track_boundary(now)
        return self.plan

    async def _async_ask(self, window: SearchWindow, now: datetime) -> Schedule:
        """One request for ``window``: from now on if it has started (past slots are gone)."""
        asked = window.remaining(now) if window.has_started(now) else window
        settings = self.settings
        if asked is None:  # less than a minute left: nothing to plan
            return Schedule(
                id=None,
                currency_code=self.currency,
                timezone=None,
                tariff_direction=settings.direction,
                next_update=None,
                slots=(),
            )
        if settings.duration is not None:
            return await self.client.find_duration_slots(
                self.location_id,
                asked.start,
                asked.end,
                duration_minutes=min(settings.duration, asked.minutes),
                segment=settings.segment,
                tariff_direction=settings.direction,
            )
        return await self.client.find_limit_slots(
            self.location_id,
            asked.start,
            asked.end,
            segment=settings.segment,
            relative=settings.relative,
            absolute=settings.absolute,
            tariff_direction=settings.direction,
        )

    def _blocked_until(self, now: datetime) -> datetime | None:
        """When asking is allowed again (a tariff pause or a backoff), or ``None``: now."""
        if self.direction is TariffDirection.IMPORT and not self.gate.allowed(now):
            return self.gate.retry_at
        if self._problem_retry is not None and now < self._problem_retry:
            return self._problem_retry
        if not self._backoff.ready(now):
            return self._backoff.retry_at
        return None

    def _tariff_failed(self, err: FlatpeakTariffError, now: datetime) -> datetime:
        """Import: the entry's gate and repair. Export: this window's own."""
        if self.direction is TariffDirection.IMPORT:
            self.gate.failed(err, now)
            return now + TARIFF_RETRY
        code = tariff_problem(err)
        if code != self.problem:
            _LOGGER.warning(
                "Flatpeak cannot plan %s with export prices (%s); asking again every %s",
                self.subentry.title,
                code,
                TARIFF_RETRY,
            )
        self.problem = code
        self._problem_retry = now + TARIFF_RETRY
        async_raise_window_problem(self.hass, self.config_entry, self.subentry, code)
        return self._problem_retry

    def _succeeded(self) -> None:
        if self._backoff.failures:
            _LOGGER.info("Planning %s works again", self.subentry.title)
        self._backoff.succeeded()
        if self.direction is TariffDirection.IMPORT:
            self.gate.succeeded()
        elif self.problem is not None:
            _LOGGER.info("Flatpeak plans %s again", self.subentry.title)
        self.problem = None
        self._problem_retry = None
        async_clear_window_problem(self.hass, self.config_entry, self.subentry)

    def _failed(self, err: Exception, now: datetime) -> datetime:
        """Count a transient failure; the plan in hand stays."""
        delay = self._backoff.failed(now, err)
        log = _LOGGER.warning if self._backoff.failures == 1 else _LOGGER.debug
        log("Planning %s failed (%s); trying again in %s", self.subentry.title, err, delay)
        return now + delay

    def _wake(self, window: SearchWindow, now: datetime, retry: datetime | None) -> datetime:
        """When the plan may next need Flatpeak: the window's end (a new one opens), its
        ``next_update`` if it comes before the window starts, or the retry after a failure."""
        if self.plan is None or self.plan.window != window:
            return retry or now + REFRESH_MIN
        wake = window.end
        next_update = self.plan.schedule.next_update
        # A next_update once the window has started changes nothing: the plan is kept.
        if next_update is not None and next_update < window.start:
            wake = min(wake, max(next_update, now + REFRESH_MIN))
        return min(wake, retry) if retry is not None else wake

    def diagnostics(self) -> dict[str, Any]:
        """What support needs: the plan in hand, why none, and when Flatpeak is asked next."""
        plan = self.plan
        return {
            "window": [plan.window.start.isoformat(), plan.window.end.isoformat()]
            if plan
            else None,
            "slots": [
                [slot.start.isoformat(), slot.end.isoformat(), slot.average_price]
                for slot in plan.schedule.slots
            ]
            if plan
            else None,
            "next_update": plan.schedule.next_update.isoformat()
            if plan and plan.schedule.next_update
            else None,
            "tariff_problem": self.tariff_problem,
            "failures": self._backoff.failures,
            "last_error": self._backoff.error,
            "refresh_in_seconds": self.update_interval.total_seconds()
            if self.update_interval
            else None,
        }

    # -- slot boundaries ----------------------------------------------------------------

    @callback
    def _async_track_boundary(self, now: datetime) -> None:
        """Wake the entities at the next slot start or end (no request)."""
        if self._unsub_boundary is not None:
            self._unsub_boundary()
            self._unsub_boundary = None
        state = self.state(now)
        if state is None or (change := state.next_change) is None:
            return
        self._unsub_boundary = async_track_point_in_utc_time(
            self.hass, self._async_boundary, change
        )

    @callback
    def _async_boundary(self, now: datetime) -> None:
        self._unsub_boundary = None
        self._async_track_boundary(dt_util.utcnow())
        self.async_update_listeners()

    async def async_shutdown(self) -> None:
        """Stop the boundary timer too."""
        if self._unsub_boundary is not None:
            self._unsub_boundary()
            self._unsub_boundary = None
        await super().async_shutdown()
