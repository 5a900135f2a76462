"""Costs back from Flatpeak: hourly cost statistics for the Energy dashboard, and the totals
the cost sensors show.

After each upload cycle that sent energy, each cost statistic re-imports a hot window (the
last 48 hours, stretched back to the last hour written after downtime); once a day, and at
start-up, the last 30 days, so Flatpeak's corrections (re-settled prices) reach past hours.
Each priced stream costs one ``POST /costs/interval/{device id}`` per refresh (per 31 days).
Over 400 lines: the schedule (after uploads, midnight, daily, retry) and the hours it writes
share one state, and the rules of which hours may be written live in ``core/cost_hours.py``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
import logging
from typing import TYPE_CHECKING, Any

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.event import async_call_later, async_track_point_in_utc_time
from homeassistant.helpers.storage import Store
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from ..client import FlatpeakClient, FlatpeakError, FlatpeakTariffError, Location
from ..const import (
    CONF_BILLING_DAY,
    CONF_FIRST_WEEKDAY,
    CONF_HISTORY_DAYS,
    DEFAULT_BILLING_DAY,
    DEFAULT_HISTORY_DAYS,
    DOMAIN,
)
from ..core.cost_hours import CostHours, changed_hours, floor_hour
from ..core.periods import WEEKDAYS, Calendar, default_first_weekday
from ..core.records import HOUR
from ..core.retry import Backoff, RetryPolicy
from .reports import CostReports
from .statistics import (
    CostStatistic,
    async_clear,
    async_latest_hour,
    async_write,
    entry_cost_statistics,
)

if TYPE_CHECKING:
    from homeassistant.config_entries import ConfigEntry

    from .. import FlatpeakConfigEntry
    from ..tariff import TariffGate
    from ..uploads import UploadCoordinator

_LOGGER = logging.getLogger(__name__)

HOT_WINDOW = timedelta(hours=48)
FULL_WINDOW = timedelta(days=30)
FULL_EVERY = timedelta(hours=24)
# Hours per recorder call: the recorder checks each row on the event loop, so a year
# (8,760 hours) in one call holds the loop for tens of ms; slices yield in between.
WRITE_SLICE = 500
STORE_VERSION = 1
ISSUE_CURRENCY = "currency_mismatch"
ISSUE_REPORT_CURRENCY = "report_currency"
# After a failed refresh, none before this policy's delay (a 429's Retry-After the floor);
# a report that could not account for what was sent is asked for again on the same policy.
COST_RETRY = RetryPolicy(base=timedelta(minutes=1), cap=timedelta(hours=1))


@dataclass(slots=True)
class CostData:
    """Per statistic id: the hours of the latest window, and what the time from each period
    boundary before the window to its start cost; ``incomplete``: the statistics whose
    latest report could not account for what was sent (their hours are the ones written
    before)."""

    hours: dict[str, CostHours] = field(default_factory=dict)
    # by statistic id, by period boundary (UTC) before the window: its cost up to the window
    before_window: dict[str, dict[datetime, float]] = field(default_factory=dict)
    updated: datetime | None = None
    incomplete: set[str] = field(default_factory=set)
    # by statistic id: hours no figure is known for (Flatpeak could not account for them)
    missing: dict[str, tuple[datetime, ...]] = field(default_factory=dict)

    def total(
        self, statistic_id: str, since: datetime, until: datetime | None = None
    ) -> float | None:
        """What ``[since, until)`` cost (to now without ``until``); None before the first
        import, while an hour of it has no known figure (a total without it would be
        wrong), or while a bound before the window was not totalled."""
        hours = self.hours.get(statistic_id)
        if hours is None:
            return None
        if any(
            hour + HOUR > since and (until is None or hour < until)
            for hour in self.missing.get(statistic_id, ())
        ):
            return None
        before = self.before_window.get(statistic_id, {})

        def up_to_window(bound: datetime) -> float | None:
            return 0.0 if bound >= hours.start else before.get(bound)

        head = up_to_window(since)
        tail = 0.0 if until is None else up_to_window(until)
        if head is None or tail is None:
            return None
        return head - tail + hours.total_since(since, until)

    def keep(self, previous: CostData, statistic_id: str) -> None:
        """Carry a statistic's figures over from ``previous`` (nothing new was usable)."""
        if (hours := previous.hours.get(statistic_id)) is not None:
            self.hours[statistic_id] = hours
        if (before := previous.before_window.get(statistic_id)) is not None:
            self.before_window[statistic_id] = before
        if missing := previous.missing.get(statistic_id):
            self.missing[statistic_id] = missing


def _store(hass: HomeAssistant, entry_id: str) -> Store[dict[str, Any]]:
    return Store(hass, STORE_VERSION, f"{DOMAIN}.{entry_id}.costs")


async def async_remove_costs(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """The entry is gone: its cost statistics go too (Flatpeak keeps its figures)."""
    store = _store(hass, entry.entry_id)
    stored = await store.async_load() or {}
    ids = set(stored.get("statistics", []))
    ids |= {s.statistic_id for s in entry_cost_statistics(entry, "")}
    async_clear(hass, sorted(ids))
    await store.async_remove()
    ir.async_delete_issue(hass, DOMAIN, f"{ISSUE_CURRENCY}_{entry.entry_id}")
    ir.async_delete_issue(hass, DOMAIN, f"{ISSUE_REPORT_CURRENCY}_{entry.entry_id}")


class CostCoordinator(DataUpdateCoordinator[CostData]):
    """Keeps one entry's cost statistics right and the cost sensors' totals current."""

    config_entry: FlatpeakConfigEntry

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        client: FlatpeakClient,
        location: Location,
        gate: TariffGate,
    ) -> None:
        """Refreshed by the upload cycle, not on a timer of its own."""
        super().__init__(
            hass, _LOGGER, config_entry=entry, name=f"{DOMAIN} costs", update_interval=None
        )
        self.client = client
        # The location's facts that do not change (its currency and time zone) are read once.
        self._location_currency = location.currency_code
        self.gate = gate
        self.statistics = entry_cost_statistics(entry, location.name)
        self.currency = location.currency_code or str(hass.config.currency)
        # Flatpeak's days and months are the location's: so are the sensors'.
        self.zone: tzinfo = dt_util.get_time_zone(location.timezone) or (
            dt_util.get_default_time_zone()
        )
        weekday = entry.options.get(CONF_FIRST_WEEKDAY)
        self.calendar = Calendar(
            self.zone,
            WEEKDAYS.index(weekday)
            if weekday in WEEKDAYS
            else default_first_weekday(hass.config.language, hass.config.country),
            int(entry.options.get(CONF_BILLING_DAY, DEFAULT_BILLING_DAY)),
        )
        self._store = _store(hass, entry.entry_id)
        self._latest: dict[str, datetime] = {}
        # What each statistic's hours were last written as: only changes are written again.
        self._written: dict[str, CostHours] = {}
        self._history = timedelta(days=entry.options.get(CONF_HISTORY_DAYS, DEFAULT_HISTORY_DAYS))
        self._full_at: datetime | None = None
        self._since: datetime | None = None
        self._refresh_lock = asyncio.Lock()
        self._reports = CostReports(hass, client, self.currency, self._confirmed)
        self._retry = Backoff(COST_RETRY)
        self._owed_failures = 0
        self._retry_cancel: Callable[[], None] | None = None
        self._midnight_cancel: Callable[[], None] | None = None
        self.data = CostData()

    async def async_setup(self, uploads: UploadCoordinator) -> None:
        """Metadata for every statistic now (so they can be chosen at once), the currency
        check, statistics of removed devices cleared, and the hooks to the upload cycle."""
        stored = await self._store.async_load() or {}
        current = [s.statistic_id for s in self.statistics]
        async_clear(self.hass, sorted(set(stored.get("statistics", [])) - set(current)))
        if stored.get("statistics") != current:
            await self._store.async_save({"statistics": current})
        for statistic in self.statistics:
            async_write(self.hass, statistic, self.currency, [])
        self._check_currency()
        entry = self.config_entry
        entry.async_on_unload(uploads.async_add_listener(self._uploaded))
        entry.async_on_unload(self._cancel_timers)
        self._schedule_midnight()

    async def async_refresh_since(self, start: datetime) -> None:
        """Re-import from ``start`` now: energy was just sent for a past range."""
        hour = floor_hour(start)
        self._since = hour if self._since is None else min(self._since, hour)
        await self.async_refresh()

    def diagnostics(self) -> dict[str, Any]:
        """What the cost statistics have got to, for the diagnostics download."""
        return {
            "currency": self.currency,
            "statistics": {
                s.statistic_id: {
                    "direction": s.direction.value,
                    "latest_hour": latest.isoformat()
                    if (latest := self._latest.get(s.statistic_id))
                    else None,
                }
                for s in self.statistics
            },
            "updated": self.data.updated.isoformat() if self.data.updated else None,
            "last_full_import": self._full_at.isoformat() if self._full_at else None,
            "tariff_problem": self.gate.problem,
            "last_update_success": self.last_update_success,
        }

    @callback
    def _uploaded(self) -> None:
        """An upload cycle ended: costs follow when it confirmed energy."""
        status = self.config_entry.runtime_data.uploads.data
        if (status is not None and status.confirmed) or self.data.updated is None:
            self.config_entry.async_create_background_task(
                self.hass, self.async_request_refresh(), f"{DOMAIN} cost refresh"
            )

    @callback
    def _schedule_midnight(self) -> None:
        """The period totals move on at the location's midnight, with or without new data
        (its midnight, not Home Assistant's: the figures are Flatpeak's days)."""
        tomorrow = self.calendar.next_midnight(dt_util.utcnow())
        self._midnight_cancel = async_track_point_in_utc_time(self.hass, self._midnight, tomorrow)

    @callback
    def _midnight(self, _now: datetime) -> None:
        self.async_update_listeners()
        self._schedule_midnight()

    @callback
    def _cancel_timers(self) -> None:
        for cancel in (self._midnight_cancel, self._retry_cancel):
            if cancel is not None:
                cancel()
        self._midnight_cancel = self._retry_cancel = None

    @callback
    def _check_currency(self) -> None:
        """A repair issue while the location's currency is not Home Assistant's."""
        ha_currency = str(self.hass.config.currency)
        code = self._location_currency
        self._set_issue(
            ISSUE_CURRENCY,
            {"location": self.config_entry.title, "currency": code, "ha_currency": ha_currency}
            if code and code != ha_currency
            else None,
            ir.IssueSeverity.WARNING,
        )

    @callback
    def _set_issue(
        self, key: str, placeholders: dict[str, str] | None, severity: ir.IssueSeverity
    ) -> None:
        """Raise the entry's repair issue ``key`` with ``placeholders``, or clear it (None)."""
        issue_id = f"{key}_{self.config_entry.entry_id}"
        if placeholders is None:
            ir.async_delete_issue(self.hass, DOMAIN, issue_id)
            return
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            issue_id,
            is_fixable=False,
            severity=severity,
            translation_key=key,
            translation_placeholders=placeholders,
        )

    async def _async_update_data(self) -> CostData:
        """One refresh at a time: ``async_refresh_since`` refreshes at once, past the
        debouncer, and two runs could read the same baseline and write sums with a jump."""
        async with self._refresh_lock:
            now = dt_util.utcnow()
            if not self._retry.ready(now):
                raise UpdateFailed(
                    translation_domain=DOMAIN,
                    translation_key="costs_failed",
                    translation_placeholders={"error": self._retry.error or ""},
                )
            try:
                data = await self._async_import()
            except Exception as err:
                self._retry.failed(now, err)
                raise
            self._retry.succeeded()
            return data

    async def _async_import(self) -> CostData:
        """Re-import each statistic's window; totals for the sensors from the same hours.

        A statistic whose report cannot account for what was sent keeps the hours written
        before (and the sensors their figures) and is asked for again; one in another
        currency is not written at all.
        """
        since = self._since
        now = dt_util.utcnow()
        if not self.gate.allowed(now):
            return self.data
        end = floor_hour(now) + HOUR
        full = self._full_at is None or now - self._full_at >= FULL_EVERY
        boundaries = self.calendar.boundaries(now)
        data = CostData(updated=now)
        try:
            for statistic in self.statistics:
                statistic_id = statistic.statistic_id
                start = await self._async_window_start(statistic, now, full, min(boundaries))
                settled = await self._reports.async_settled(
                    statistic, start, end, self._written.get(statistic_id)
                )
                if settled is None:  # another currency: keep what the sensors showed
                    data.keep(self.data, statistic_id)
                    data.incomplete.add(statistic_id)
                    continue
                await self._async_write(statistic, settled.hours.head(settled.writable))
                data.hours[statistic_id] = settled.hours
                if not settled.complete:
                    data.incomplete.add(statistic_id)
                if settled.missing:
                    data.missing[statistic_id] = settled.missing
                self._reports.remember_partial(statistic_id, settled.hours, boundaries)
                if earlier := [bound for bound in boundaries if bound < start]:
                    data.before_window[statistic_id] = await self._reports.async_costs_before(
                        statistic, earlier, start
                    )
        except FlatpeakTariffError as err:
            self.gate.failed(err, now)
            return self.data
        except FlatpeakError as err:
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="costs_failed",
                translation_placeholders={"error": str(err)},
            ) from err
        self.gate.succeeded()
        self._check_report_currency()
        # Hours still owed are asked for again from the last hour written (and kept as they
        # were meanwhile): neither the 30 days nor a re-imported range are asked again.
        if full:
            self._full_at = now
        if self._since == since:  # else a later range was asked for meanwhile: the next run
            self._since = None
        self._schedule_retry(bool(data.incomplete))
        return data

    def _confirmed(self, stream: str) -> list[tuple[int, int]]:
        """The stream's periods Flatpeak confirmed with energy."""
        uploads: UploadCoordinator = self.config_entry.runtime_data.uploads
        return uploads.confirmed_periods(stream)

    @callback
    def _check_report_currency(self) -> None:
        """A repair issue while Flatpeak prices any statistic in another currency."""
        wrong = self._reports.wrong_currency
        self._set_issue(
            ISSUE_REPORT_CURRENCY,
            {
                "location": self.config_entry.title,
                "currency": next(iter(wrong.values())),
                "expected": self.currency,
            }
            if wrong
            else None,
            ir.IssueSeverity.ERROR,
        )

    @callback
    def _schedule_retry(self, owed: bool) -> None:
        """Ask again for reports that could not account for what was sent, backing off."""
        if self._retry_cancel is not None:
            self._retry_cancel()
            self._retry_cancel = None
        if not owed:
            self._owed_failures = 0
            return
        self._owed_failures += 1
        delay = COST_RETRY.delay(self._owed_failures)
        self._retry_cancel = async_call_later(self.hass, delay, self._ask_again)

    @callback
    def _ask_again(self, _now: datetime) -> None:
        self._retry_cancel = None
        self.config_entry.async_create_background_task(
            self.hass, self.async_request_refresh(), f"{DOMAIN} cost retry"
        )

    async def _async_write(self, statistic: CostStatistic, hours: CostHours) -> None:
        """Queue the hours that differ from what the recorder was last given, in slices.

        The slices are queued in order, each row with its own running sum, so the recorder
        ends with the same rows as from one call; the loop runs other work in between. Rows
        are made one slice at a time, just before it is queued: a year re-imported never
        has an object per hour alive at once (that many survivors make the garbage
        collector run full collections of all of Home Assistant, on the loop).
        """
        written = self._written.get(statistic.statistic_id)
        changed = await self.hass.async_add_executor_job(changed_hours, hours, written)
        for first in range(0, len(changed), WRITE_SLICE):
            if first:
                await asyncio.sleep(0)
            rows = hours.rows(changed[first : first + WRITE_SLICE])
            async_write(self.hass, statistic, self.currency, rows)
            del rows
        self._written[statistic.statistic_id] = hours
        if len(hours):
            self._latest[statistic.statistic_id] = hours.end - HOUR

    async def _async_window_start(
        self, statistic: CostStatistic, now: datetime, full: bool, earliest: datetime
    ) -> datetime:
        """The hot window, back to the last hour written (downtime), or 30 days when due."""
        hot = floor_hour(now) - HOT_WINDOW + HOUR
        latest = self._latest.get(statistic.statistic_id)
        if latest is None:
            latest = await async_latest_hour(self.hass, statistic.statistic_id)
        if latest is None:  # never imported: the uploaded history and every period's start
            return min(floor_hour(now - self._history), floor_hour(earliest))
        start = min(hot, latest)
        if full:
            start = min(start, floor_hour(now - FULL_WINDOW))
        if self._since is not None:
            start = min(start, self._since)
        return start
