"""Sending an entry's energy: read statistics → plan → submit → confirm, window by window.

The uploader knows Flatpeak's answers and the entry's progress; when a cycle runs, how it
backs off and what the diagnostic entities show is the coordinator's business. Over 400
lines because the window pipeline (interval and cumulative) and ``upload_history`` share every
step, and splitting them would split the exactly-once rule across files.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Container
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
import functools
import itertools
import logging
from typing import TYPE_CHECKING, Any, Literal, Protocol

from homeassistant.components.recorder.statistics import statistics_during_period
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.recorder import get_instance
from homeassistant.util import dt as dt_util

from ..client import (
    MAX_RECORDS_PER_CALL,
    CumulativeReading,
    EnergyUnits,
    FlatpeakClient,
    FlatpeakInvalidRequestError,
)
from ..const import DOMAIN, ISSUE_RECORDS_REJECTED
from ..core.confirmed import Run, mark_runs, runs_of
from ..core.records import (
    FIVE_MINUTES,
    HOUR,
    LOOKBACK,
    StatRow,
    StreamPlan,
    StreamState,
    cumulative_readings,
    floor_time,
    record_reference_id,
    rows_from_statistics,
    window_end,
)
from ..core.session_energy import ChargerRecord
from ..core.sessions import Session
from ..core.streams import Stream
from ..core.window import Item, Items, PlanJob, Window, build_window
from .progress import Progress, RetryItem

if TYPE_CHECKING:
    from homeassistant.config_entries import ConfigEntry

_LOGGER = logging.getLogger(__name__)

# A record Flatpeak refuses is tried this many times, then given up and reported.
MAX_RECORD_ATTEMPTS = 3
UNITS = {"energy": "kWh"}


class ChargerSessions(Protocol):
    """What the uploader needs of the chargers' sessions (the session book)."""

    def overlapping(self, subentry_id: str, start: datetime, end: datetime) -> list[Session]:
        """Copies of a charger's sessions overlapping ``[start, end)``."""

    def record_confirmed(self, records: list[ChargerRecord]) -> None:
        """Chargers' records Flatpeak confirmed, with the session each was sent with."""

    async def async_save(self) -> None:
        """Write what changed (before the progress that depends on it)."""


@dataclass(frozen=True, slots=True)
class Accepted:
    """What Flatpeak accepted of a window: per stream, the runs of periods (with energy or
    not), and the chargers' records with their sessions."""

    runs: dict[str, list[Run]]
    charger_records: list[ChargerRecord]


def accepted(items: Items, refused: Container[int]) -> Accepted:
    """Worker thread (a window has 10,000 records): what Flatpeak accepted. A refused record
    is not at Flatpeak (what it held before stays); a charger's period sent again without a
    session leaves the session it was in."""
    by_stream: dict[str, list[tuple[datetime, float]]] = {}
    charged: list[ChargerRecord] = []
    for index, (stream, start, kwh, session) in enumerate(
        zip(items.streams, items.starts, items.kwh, items.sessions, strict=True)
    ):
        if index in refused:
            continue
        by_stream.setdefault(stream.key, []).append((start, kwh))
        if stream.sessions:
            charged.append((stream.key, start, kwh, session))
    return Accepted({key: runs_of(periods) for key, periods in by_stream.items()}, charged)


def _read_rows(
    hass: HomeAssistant,
    start: datetime,
    end: datetime,
    entity_ids: set[str],
    period: Literal["5minute", "hour"],
) -> dict[str, list[StatRow]]:
    """Recorder executor: the ``change`` rows of each sensor, in kWh."""
    rows = statistics_during_period(hass, start, end, entity_ids, period, UNITS, {"change"})
    return {entity_id: rows_from_statistics(items) for entity_id, items in rows.items()}


@dataclass(slots=True)
class CycleResult:
    """What one upload cycle got through: records (and readings) Flatpeak accepted, and the
    latest refusal per subentry (for the diagnostic entities)."""

    confirmed: int = 0
    refusals: dict[str, str] = field(default_factory=dict)


class Uploader:
    """Moves an entry's streams forward at Flatpeak; ``progress`` is what it has confirmed."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        client: FlatpeakClient,
        location_id: str,
        *,
        history: timedelta,
        sessions: ChargerSessions,
        save: Callable[[], Awaitable[None]],
    ) -> None:
        """``history``: how far back a new stream starts; ``save`` writes ``progress``."""
        self.hass = hass
        self._entry = entry
        self.client = client
        self.location_id = location_id
        self._history = history
        self._sessions = sessions
        self._save = save
        self.progress = Progress()
        # What the current (or last) cycle got through; made new by each cycle.
        self.cycle = CycleResult()
        self.lock = asyncio.Lock()

    def state(self, stream: Stream, now: datetime) -> StreamState:
        """Where a stream stands; a new one starts ``history`` before now."""
        if (state := self.progress.streams.get(stream.key)) is not None:
            return state
        return StreamState(cursor=floor_time(now - self._history, HOUR))

    async def async_catch_up(self, streams: list[Stream], now: datetime) -> CycleResult:
        """Walk every stream to now, window by window, each confirmed and saved.

        Returns what the cycle got through; after a failure, :attr:`cycle` still says what
        it got through before it.
        """
        self.cycle = CycleResult()
        if not streams:
            return self.cycle
        until = floor_time(now, FIVE_MINUTES)
        scan = min(self.state(s, now).cursor for s in streams)
        queued = self._queued(streams)
        for ledger in self.progress.confirmed.values():
            ledger.prune(now)
        while True:
            async with self.lock:
                states = {s.key: self.state(s, now) for s in streams}
                window = await self._async_plan(
                    streams, states, scan, until, queued=queued, settled=until - HOUR
                )
                refused = await self._async_send(window)
                got = await self.hass.async_add_executor_job(accepted, window.items, refused)
                self._commit(streams, window, refused, got)
                for stream in streams:
                    if stream.cumulative:
                        await self._async_send_cumulative(
                            stream, states[stream.key], window.plans[stream.key]
                        )
                await self._save()
            queued = []
            scan = window.end
            if scan >= until:
                return self.cycle

    def _queued(self, streams: list[Stream]) -> list[Item]:
        """Records refused before, sent again with the cycle's first window."""
        by_key = {s.key: s for s in streams if not s.cumulative}
        return [
            Item(stream, r.start, r.kwh, r.session, r.attempts)
            for r in self.progress.retry
            if (stream := by_key.get(r.stream)) is not None
        ]

    async def _async_plan(
        self,
        streams: list[Stream],
        states: dict[str, StreamState],
        scan: datetime,
        until: datetime,
        *,
        queued: list[Item],
        settled: datetime,
    ) -> Window:
        """Read the statistics of one window from ``scan`` and plan it in a worker thread.

        The window ends where its records would pass 10,000 (one request).
        """
        budget = MAX_RECORDS_PER_CALL - len(queued)
        # One reading per cumulative stream is a baseline, not a record.
        cursors = [states[s.key].cursor for s in streams]
        end = window_end(cursors, scan, until, budget - len(streams))
        start = floor_time(min(cursors), HOUR)
        entity_ids = {s.entity_id for s in streams}
        recorder = get_instance(self.hass)
        five = await recorder.async_add_executor_job(
            _read_rows, self.hass, start, end, entity_ids, "5minute"
        )
        hourly = await recorder.async_add_executor_job(
            _read_rows, self.hass, start, end, entity_ids, "hour"
        )
        jobs = [
            PlanJob(
                s,
                states[s.key],
                five.get(s.entity_id, []),
                hourly.get(s.entity_id, []),
                self._sessions.overlapping(s.subentry_id, states[s.key].cursor - LOOKBACK, end)
                if s.sessions
                else [],
            )
            for s in streams
        ]
        return await self.hass.async_add_executor_job(
            functools.partial(
                build_window,
                jobs,
                end,
                settled=settled,
                location_id=self.location_id,
                queued=queued,
                budget=budget,
            )
        )

    async def _async_send(self, window: Window) -> dict[int, str]:
        """The window's interval records in one request; Flatpeak's refusals by index."""
        if not window.items:
            return {}
        if len(window.items) > 1000:
            _LOGGER.info("Sending %s interval records to Flatpeak", len(window.items))
        batch = await self.client.submit_interval_records(window.body)
        return {f.record_num: f.error for f in batch.failed_records}

    def _commit(
        self,
        streams: list[Stream],
        window: Window,
        refused: dict[int, str],
        got: Accepted,
    ) -> None:
        """Flatpeak answered: keep refused records for a retry, move interval cursors on."""
        items = window.items
        sent = {(s.key, start) for s, start in zip(items.streams, items.starts, strict=True)}
        retry = [r for r in self.progress.retry if (r.stream, r.start) not in sent]
        given_up: list[str] = []
        for index, reason in sorted(refused.items()):
            item = window.items[index]
            attempts = item.attempts + 1
            _LOGGER.warning(
                "Flatpeak refused %s energy for %s (attempt %s of %s): %s",
                item.stream.name,
                item.start.isoformat(),
                attempts,
                MAX_RECORD_ATTEMPTS,
                reason,
            )
            self.cycle.refusals[item.stream.subentry_id] = reason
            if attempts >= MAX_RECORD_ATTEMPTS:
                given_up.append(f"{item.stream.entity_id} {item.start.isoformat()}: {reason}")
            else:
                retry.append(
                    RetryItem(item.stream.key, item.start, item.kwh, item.session, attempts)
                )
        self.progress.retry = retry
        self.cycle.confirmed += len(window.items) - len(refused)
        self._record(got)
        for stream in streams:
            if not stream.cumulative:
                self.progress.streams[stream.key] = window.plans[stream.key].state
        if given_up:
            self._report_rejected(given_up)

    def _record(self, got: Accepted) -> None:
        """Remember what Flatpeak now holds: the periods with energy (cost reports must show
        them) and each open session's confirmed energy."""
        for key, stream_runs in got.runs.items():
            mark_runs(self.progress.confirmed_periods(key), stream_runs)
        self._sessions.record_confirmed(got.charger_records)

    async def _async_send_cumulative(
        self, stream: Stream, state: StreamState, plan: StreamPlan
    ) -> None:
        """Register readings of one stream's window; a refused request is reported, not retried."""
        readings, register = cumulative_readings(state, plan)
        refused: list[str] = []
        if readings:
            try:
                batch = await self.client.submit_cumulative_readings(
                    self.location_id,
                    [
                        CumulativeReading(
                            when,
                            round(value, 9),
                            record_reference_id(stream.device_id, stream.name, period.start)
                            if period
                            else record_reference_id(stream.device_id, f"{stream.name}-gap", when),
                        )
                        for when, value, period in readings
                    ],
                    device_id=stream.device_id,
                    units=EnergyUnits.KWH,
                    energy_flow_direction=stream.flow,
                    tariff_direction=stream.tariff,
                )
            except FlatpeakInvalidRequestError as err:
                # The same readings would be refused again: report them and move on.
                refused = [f"{stream.entity_id} {readings[0][0].isoformat()}: {err}"] * (
                    len(readings) - 1
                )
            else:
                refused = [
                    f"{stream.entity_id} {readings[0][0].isoformat()}: {f.error}"
                    for f in batch.failed_records
                ]
                self.cycle.confirmed += batch.records_accepted
                if not batch.failed_records:
                    # Flatpeak differences the readings: an interval with energy is at Flatpeak.
                    ledger = self.progress.confirmed_periods(stream.key)
                    for (before, low, _), (when, high, _) in itertools.pairwise(readings):
                        start, end = int(before.timestamp()), int(when.timestamp())
                        ledger.mark(start, end, has_energy=high > low)
        self.progress.streams[stream.key] = replace(plan.state, register=register)
        if refused:
            _LOGGER.warning("Flatpeak refused %s readings of %s", len(refused), stream.entity_id)
            self.cycle.refusals[stream.subentry_id] = refused[0].split(": ", 1)[1]
            self._report_rejected(refused)

    def _report_rejected(self, given_up: list[str]) -> None:
        self.progress.rejected += len(given_up)
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            f"{ISSUE_RECORDS_REJECTED}_{self._entry.entry_id}",
            is_fixable=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key=ISSUE_RECORDS_REJECTED,
            translation_placeholders={
                "count": str(self.progress.rejected),
                "example": given_up[0],
                "location": self._entry.title,
            },
        )

    async def async_upload_history(
        self, streams: list[Stream], skipped: list[str], start: datetime, end: datetime
    ) -> dict[str, Any]:
        """Upload ``[start, end)`` of interval ``streams``; cursors stay where they are.

        The range is planned by the cycle's rules from the day before it, so a decrease in
        the range corrects the periods before it as the cycle did; records have the cycle's
        reference ids, so a range already sent is replaced, never counted twice. Walked in
        windows of at most 10,000 records, the lock held per window.
        """
        until = floor_time(dt_util.utcnow(), FIVE_MINUTES)
        end = min(floor_time(end, FIVE_MINUTES), until)
        start = floor_time(start, HOUR)
        result: dict[str, Any] = {
            "records_sent": 0,
            "records_failed": 0,
            "requests": 0,
            "kwh": {s.entity_id: 0.0 for s in streams},
            "skipped_cumulative": skipped,
        }
        if not streams or end <= start:
            return result
        states = await self._async_lookback(streams, start)
        scan = start
        while scan < end:
            async with self.lock:
                window = await self._async_plan(
                    streams, states, scan, end, queued=[], settled=until - HOUR
                )
                refused = await self._async_send(window)
                self._record(
                    await self.hass.async_add_executor_job(accepted, window.items, refused)
                )
            items = window.items
            result["requests"] += 1 if items else 0
            result["records_failed"] += len(refused)
            result["records_sent"] += len(items) - len(refused)
            for index, (stream, when, kwh) in enumerate(
                zip(items.streams, items.starts, items.kwh, strict=True)
            ):
                if index not in refused and when >= start:
                    result["kwh"][stream.entity_id] += kwh
            states = {key: plan.state for key, plan in window.plans.items()}
            scan = window.end
        await self._save()  # what Flatpeak confirmed
        result["kwh"] = {key: round(value, 6) for key, value in result["kwh"].items()}
        return result

    async def _async_lookback(
        self, streams: list[Stream], start: datetime
    ) -> dict[str, StreamState]:
        """Each stream's state at ``start`` as the cycle had it: the day before, netted."""
        states = {s.key: StreamState(cursor=start - LOOKBACK) for s in streams}
        window = await self._async_plan(
            streams, states, start - LOOKBACK, start, queued=[], settled=start
        )
        return {key: replace(plan.state, cursor=start) for key, plan in window.plans.items()}
