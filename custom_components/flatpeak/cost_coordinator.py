"""Costs back from Flatpeak: hourly cost statistics for the Energy dashboard, and the totals
the cost sensors show.

After each upload cycle that sent energy, each cost statistic re-imports a hot window (the
last 48 hours, stretched back to the last hour written after downtime); once a day, and at
start-up, the last 30 days, so Flatpeak's corrections (re-settled prices) reach past hours.
Each priced stream costs one ``POST /costs/interval/{device id}`` per refresh (per 31 days).
"""

from __future__ import annotations

from array import array
import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta
import functools
import logging
from typing import TYPE_CHECKING, Any

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.event import async_track_time_change
from homeassistant.helpers.storage import Store
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from .client import FlatpeakClient, FlatpeakError, FlatpeakTariffError, Location
from .const import CONF_HISTORY_DAYS, DEFAULT_HISTORY_DAYS, DOMAIN
from .cost_hours import (
    CostHours,
    add_cost,
    changed_hours,
    empty_costs,
    floor_hour,
    local_start,
)
from .cost_statistics import (
    CostStatistic,
    async_baseline,
    async_clear,
    async_hours,
    async_latest_hour,
    async_write,
    entry_cost_statistics,
)
from .planner import HOUR
from .retry import Backoff, RetryPolicy

if TYPE_CHECKING:
    from homeassistant.config_entries import ConfigEntry

    from .coordinator import UploadCoordinator
    from .tariff_gate import TariffGate

_LOGGER = logging.getLogger(__name__)

HOT_WINDOW = timedelta(hours=48)
FULL_WINDOW = timedelta(days=30)
FULL_EVERY = timedelta(hours=24)
MAX_REPORT_SPAN = timedelta(days=31)
# Hours per recorder call: the recorder checks each row on the event loop, so a year
# (8,760 hours) in one call holds the loop for tens of ms; slices yield in between.
WRITE_SLICE = 500
STORE_VERSION = 1
ISSUE_CURRENCY = "currency_mismatch"
# After a failed refresh, none before this policy's delay (a 429's Retry-After the floor).
COST_RETRY = RetryPolicy(base=timedelta(minutes=1), cap=timedelta(hours=1))


@dataclass(slots=True)
class CostData:
    """Per statistic id: the hours of the latest window, and what the month cost before it."""

    hours: dict[str, CostHours] = field(default_factory=dict)
    month_before_window: dict[str, float] = field(default_factory=dict)
    updated: datetime | None = None

    def total(self, statistic_id: str, since: datetime) -> float | None:
        """What the hours from ``since`` cost, or None before the first import."""
        hours = self.hours.get(statistic_id)
        if hours is None:
            return None
        before = 0.0
        if len(hours) and since < hours.start:
            before = self.month_before_window.get(statistic_id, 0.0)
        return before + hours.total_since(since)


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


class CostCoordinator(DataUpdateCoordinator[CostData]):
    """Keeps one entry's cost statistics right and the cost sensors' totals current."""

    config_entry: ConfigEntry

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
        self.location = location
        self.gate = gate
        self.statistics = entry_cost_statistics(entry, location.name)
        self.currency = location.currency_code or str(hass.config.currency)
        self._store = _store(hass, entry.entry_id)
        self._latest: dict[str, datetime] = {}
        # What each statistic's hours were last written as: only changes are written again.
        self._written: dict[str, CostHours] = {}
        self._history = timedelta(days=entry.options.get(CONF_HISTORY_DAYS, DEFAULT_HISTORY_DAYS))
        self._full_at: datetime | None = None
        self._since: datetime | None = None
        self._refresh_lock = asyncio.Lock()
        self._retry = Backoff(COST_RETRY)
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
        # Day and month totals restart at local midnight, with or without new data.
        entry.async_on_unload(
            async_track_time_change(self.hass, self._midnight, hour=0, minute=0, second=0)
        )

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
        status = self.config_entry.runtime_data.uploads.status
        if status.confirmed or self.data.updated is None:
            self.config_entry.async_create_background_task(
                self.hass, self.async_request_refresh(), f"{DOMAIN} cost refresh"
            )

    @callback
    def _midnight(self, _now: datetime) -> None:
        self.async_update_listeners()

    @callback
    def _check_currency(self) -> None:
        issue_id = f"{ISSUE_CURRENCY}_{self.config_entry.entry_id}"
        ha_currency = str(self.hass.config.currency)
        if not self.location.currency_code or self.location.currency_code == ha_currency:
            ir.async_delete_issue(self.hass, DOMAIN, issue_id)
            return
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            issue_id,
            is_fixable=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key=ISSUE_CURRENCY,
            translation_placeholders={
                "location": self.config_entry.title,
                "currency": self.location.currency_code,
                "ha_currency": ha_currency,
            },
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
        """Re-import each statistic's window; totals for the sensors from the same hours."""
        since = self._since
        now = dt_util.utcnow()
        if not self.gate.allowed(now):
            return self.data
        end = floor_hour(now) + HOUR
        full = self._full_at is None or now - self._full_at >= FULL_EVERY
        month_start = local_start(now, dt_util.get_default_time_zone(), "month")
        data = CostData(updated=now)
        try:
            for statistic in self.statistics:
                start = await self._async_window_start(statistic, now, full, month_start)
                costs = await self._async_costs(statistic, start, end)
                baseline = await async_baseline(self.hass, statistic.statistic_id, start)
                # Worker thread: a year is 8,760 hours, tens of ms on the loop.
                hours = await self.hass.async_add_executor_job(
                    CostHours.from_costs, start, costs, baseline
                )
                await self._async_write(statistic, hours)
                data.hours[statistic.statistic_id] = hours
                if month_start < start:
                    before = await async_hours(
                        self.hass, statistic.statistic_id, month_start, start
                    )
                    data.month_before_window[statistic.statistic_id] = sum(
                        row.state for row in before
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
        if full:
            self._full_at = now
        if self._since == since:  # else a later range was asked for meanwhile: the next run
            self._since = None
        return data

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
        self._latest[statistic.statistic_id] = hours.start + (len(hours) - 1) * HOUR

    async def _async_window_start(
        self, statistic: CostStatistic, now: datetime, full: bool, month_start: datetime
    ) -> datetime:
        """The hot window, back to the last hour written (downtime), or 30 days when due."""
        hot = floor_hour(now) - HOT_WINDOW + HOUR
        latest = self._latest.get(statistic.statistic_id)
        if latest is None:
            latest = await async_latest_hour(self.hass, statistic.statistic_id)
        if latest is None:  # never imported: the uploaded history and the whole month
            return min(floor_hour(now - self._history), floor_hour(month_start))
        start = min(hot, latest)
        if full:
            start = min(start, floor_hour(now - FULL_WINDOW))
        if self._since is not None:
            start = min(start, self._since)
        return start

    async def _async_costs(
        self, statistic: CostStatistic, start: datetime, end: datetime
    ) -> array[float]:
        """What each UTC hour of ``[start, end)`` cost (index 0: ``start``), from the
        device's report.

        One request per 31 days, each row folded into its hour as the answer is decoded (a
        worker thread for a long answer; a month at 5 minutes is ~9,000 rows), its JSON
        dropped at once: a year re-imported after ``upload_history`` never holds more than
        one report's JSON, and no object per hour. Only this coroutine touches ``costs``.
        """
        costs = empty_costs(start, end)
        fold = functools.partial(add_cost, costs, start)
        left = start
        while left < end:
            right = min(end, left + MAX_REPORT_SPAN)
            await self.client.get_interval_cost(
                statistic.device_id,
                left,
                right,
                tariff_direction=statistic.direction,
                each_row=fold,
            )
            left = right
        return costs
