"""The upload cycle: recorder statistics in, interval records out, progress kept durably."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
import copy
from dataclasses import dataclass, field
from datetime import datetime, timedelta
import functools
import logging
import random
from typing import TYPE_CHECKING, Any, Literal

from homeassistant.components.recorder.statistics import statistics_during_period
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.recorder import get_instance
from homeassistant.helpers.storage import Store
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator
from homeassistant.util import dt as dt_util

from .client import (
    CumulativeReading,
    EnergyUnits,
    FlatpeakAuthenticationError,
    FlatpeakClient,
    FlatpeakError,
    FlatpeakInvalidRequestError,
    FlatpeakRateLimitError,
    Location,
    MeterBatch,
    MeterRecord,
)
from .const import (
    CONF_HISTORY_DAYS,
    CONF_LOCATION_ID,
    CONF_UPLOAD_INTERVAL,
    DEFAULT_HISTORY_DAYS,
    DEFAULT_UPLOAD_INTERVAL_MIN,
    DOMAIN,
    ISSUE_RECORDS_REJECTED,
    SUBENTRY_EV_CHARGER,
)
from .intervals import (
    FIVE_MINUTES,
    HOUR,
    Interval,
    StatRow,
    floor_time,
    net_negative,
    periods_between,
    plan_intervals,
    record_reference_id,
    rows_from_statistics,
)
from .issues import async_check_sensors, async_check_tariff
from .sessions import Session, SessionTracker, session_for
from .streams import Stream, entry_streams

if TYPE_CHECKING:
    from homeassistant.config_entries import ConfigEntry

_LOGGER = logging.getLogger(__name__)

STORE_VERSION = 1
# A record Flatpeak refuses is tried this many times, then given up and reported.
MAX_RECORD_ATTEMPTS = 3
# Backoff after timeouts and 5xx: 1 min, 2, 4 ... at most an hour, ±20 % jitter.
BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_MAX = timedelta(hours=1)
# A cycle reads at most this much of a stream's backlog; the rest follows at once.
MAX_SPAN_PER_CYCLE = timedelta(days=31)
CATCH_UP_DELAY = timedelta(seconds=5)
HISTORY_NETTING_LOOKBACK = timedelta(days=1)
UNITS = {"energy": "kWh"}


def _progress_store(hass: HomeAssistant, entry_id: str) -> Store[dict[str, Any]]:
    return Store(hass, STORE_VERSION, f"{DOMAIN}.{entry_id}")


async def async_remove_progress(hass: HomeAssistant, entry_id: str) -> None:
    """Forget an entry's upload progress and sessions (the entry is being removed)."""
    await _progress_store(hass, entry_id).async_remove()


@dataclass(slots=True)
class DeviceStatus:
    """What the diagnostic entities of one device show."""

    last_success: datetime | None = None
    waiting: int = 0
    last_error: str | None = None


@dataclass(slots=True)
class UploadStatus:
    """State after the latest cycle, by subentry id."""

    devices: dict[str, DeviceStatus] = field(default_factory=dict)


@dataclass(slots=True)
class _Pending:
    """One record of this cycle and where it came from."""

    stream: Stream
    interval: Interval
    session: str | None
    record: MeterRecord
    attempts: int = 0


@dataclass(slots=True)
class _PlanJob:
    """What the worker thread needs to plan one stream."""

    stream: Stream
    five: list[StatRow]
    hourly: list[StatRow]
    since: datetime
    until: datetime
    deficit: float
    sessions: list[Session]


def _read_rows(
    hass: HomeAssistant,
    start: datetime,
    end: datetime,
    entity_ids: set[str],
    period: Literal["5minute", "hour"],
) -> dict[str, list[StatRow]]:
    """Recorder executor: the ``change`` rows of each sensor, in kWh."""
    rows = statistics_during_period(hass, start, end, entity_ids, period, UNITS, {"change"})
    return {entity_id: rows_from_statistics(items) for entity_id, items in rows.items()}  # type: ignore[arg-type]


def _plan_jobs(jobs: list[_PlanJob], location_id: str) -> list[tuple[list[_Pending], float]]:
    """Worker thread: intervals, netting, sessions and records of every stream."""
    results = []
    for job in jobs:
        intervals = plan_intervals(job.five, job.hourly, job.since, job.until)
        intervals, next_deficit = net_negative(intervals, job.deficit)
        pending = []
        for interval in intervals:
            session = (
                session_for(job.sessions, interval.start, interval.end) if job.sessions else None
            )
            pending.append(
                _Pending(
                    job.stream,
                    interval,
                    session,
                    make_record(job.stream, location_id, interval, session),
                )
            )
        results.append((pending, next_deficit))
    return results


def make_record(
    stream: Stream, location_id: str, interval: Interval, session: str | None
) -> MeterRecord:
    """The interval record of one stream's period."""
    return MeterRecord(
        location_id=location_id,
        device_id=stream.device_id,
        start_time=interval.start,
        end_time=interval.end,
        value=interval.kwh,
        units=EnergyUnits.KWH,
        record_reference_id=record_reference_id(stream.name, interval.start),
        session_reference_id=session,
        energy_flow_direction=stream.flow,
        tariff_direction=stream.tariff,
        confidence=stream.confidence,
    )


class UploadCoordinator(DataUpdateCoordinator[UploadStatus]):
    """Runs the upload cycle of one config entry.

    Each cycle makes one ``PUT /meters/interval`` carrying every interval stream of the entry
    (split by the client above 10,000 records) and one ``PUT /meters/cumulative/epoch`` per
    cumulative stream. Cycles with nothing new make no request.
    """

    config_entry: ConfigEntry

    def __init__(
        self, hass: HomeAssistant, entry: ConfigEntry, client: FlatpeakClient, location: Location
    ) -> None:
        """Create the coordinator; :meth:`async_load` must run before the first cycle."""
        self._interval = timedelta(
            minutes=entry.options.get(CONF_UPLOAD_INTERVAL, DEFAULT_UPLOAD_INTERVAL_MIN)
        )
        super().__init__(
            hass,
            _LOGGER,
            config_entry=entry,
            name=f"{DOMAIN} uploads",
            update_interval=self._interval,
            always_update=True,
        )
        self.client = client
        self.location = location
        self.location_id: str = entry.data[CONF_LOCATION_ID]
        self._store: Store[dict[str, Any]] = Store(
            hass, STORE_VERSION, f"{DOMAIN}.{entry.entry_id}"
        )
        self._progress: dict[str, Any] = {}
        self._status = UploadStatus()
        self._failures = 0
        self._refusals: dict[str, str] = {}
        self._lock = asyncio.Lock()
        self.trackers: dict[str, SessionTracker] = {}
        self._unsubscribers: list[Callable[[], None]] = []

    # -- durable progress -------------------------------------------------------------

    async def async_load(self) -> None:
        """Read progress and sessions; start session tracking."""
        self._progress = await self._store.async_load() or {}
        self._progress.setdefault("streams", {})
        self._progress.setdefault("retry", [])
        stored_sessions = self._progress.setdefault("sessions", {})
        for key, value in self._progress.get("last_success", {}).items():
            self._device(key).last_success = datetime.fromisoformat(value)
        for subentry in self.config_entry.subentries.values():
            if subentry.subentry_type != SUBENTRY_EV_CHARGER:
                continue
            sessions = [Session.from_dict(s) for s in stored_sessions.get(subentry.subentry_id, [])]
            tracker = SessionTracker(
                self.hass,
                subentry.data["device_id"],
                subentry.data,
                sessions,
                functools.partial(self._sessions_changed, subentry.subentry_id),
            )
            self.trackers[subentry.subentry_id] = tracker
            self._unsubscribers.append(tracker.async_start())

    @callback
    def _sessions_changed(self, subentry_id: str) -> None:
        self._progress["sessions"][subentry_id] = [
            s.as_dict() for s in self.trackers[subentry_id].sessions
        ]
        snapshot = copy.deepcopy(self._progress)
        self._store.async_delay_save(lambda: snapshot, 1.0)

    async def async_unload(self) -> None:
        """Stop session tracking, then write progress now: no delayed save outlives the entry."""
        while self._unsubscribers:
            self._unsubscribers.pop()()
        await self._store.async_save(copy.deepcopy(self._progress))

    def _cursor(self, stream: Stream, now: datetime) -> datetime:
        value = self._progress["streams"].get(stream.key, {}).get("cursor")
        if value:
            return datetime.fromisoformat(value)
        days = self.config_entry.options.get(CONF_HISTORY_DAYS, DEFAULT_HISTORY_DAYS)
        return floor_time(now - timedelta(days=days), HOUR)

    def _stream_state(self, stream: Stream) -> dict[str, Any]:
        state: dict[str, Any] = self._progress["streams"].setdefault(stream.key, {})
        return state

    def _device(self, subentry_id: str) -> DeviceStatus:
        return self._status.devices.setdefault(subentry_id, DeviceStatus())

    # -- the cycle --------------------------------------------------------------------

    async def _async_update_data(self) -> UploadStatus:
        """One cycle; failures are recorded for the diagnostic entities, not raised."""
        async with self._lock:
            now = dt_util.utcnow()
            streams = self._streams()
            self._refusals = {}
            try:
                more = await self._async_cycle(streams, now)
                await self._async_recheck_tariff()
            except FlatpeakAuthenticationError as err:
                for stream in streams:
                    self._device(stream.subentry_id).last_error = str(err)
                raise ConfigEntryAuthFailed(
                    translation_domain=DOMAIN, translation_key="invalid_auth"
                ) from err
            except FlatpeakRateLimitError as err:
                self._failed(streams, err, err.retry_after)
            except FlatpeakError as err:
                self._failed(streams, err, None)
            else:
                if self._failures:
                    _LOGGER.info("Uploads to Flatpeak work again")
                self._failures = 0
                self.update_interval = CATCH_UP_DELAY if more else self._interval
                for stream in streams:
                    self._device(stream.subentry_id).last_error = self._refusals.get(
                        stream.subentry_id
                    )
            self._update_waiting(entry_streams(self.config_entry), now)
            await self._store.async_save(copy.deepcopy(self._progress))
            return self._status

    async def _async_recheck_tariff(self) -> None:
        """While no import tariff is connected, look again each cycle (one extra request)."""
        if self.location.tariff_status.import_connected:
            return
        try:
            self.location = await self.client.get_location(self.location_id)
        except FlatpeakAuthenticationError:
            raise
        except FlatpeakError as err:
            _LOGGER.debug("Could not look at the location's tariff again: %s", err)
            return
        async_check_tariff(self.hass, self.config_entry, self.location)

    def _streams(self) -> list[Stream]:
        """Streams whose sensor is usable; a broken one gets a repair issue, not a stall."""
        broken = async_check_sensors(self.hass, self.config_entry)
        return [s for s in entry_streams(self.config_entry) if s.entity_id not in broken]

    def _failed(self, streams: list[Stream], err: FlatpeakError, retry_after: float | None) -> None:
        self._failures += 1
        if retry_after is not None:
            delay = timedelta(seconds=retry_after)
        else:
            backoff = min(BACKOFF_BASE * 2 ** (self._failures - 1), BACKOFF_MAX)
            delay = backoff * random.uniform(0.8, 1.2)  # jitter, not crypto
        self.update_interval = max(delay, timedelta(seconds=1))
        log = _LOGGER.warning if self._failures == 1 else _LOGGER.debug
        log("Upload to Flatpeak failed (%s); trying again in %s", err, self.update_interval)
        for stream in streams:
            self._device(stream.subentry_id).last_error = str(err)

    async def _async_cycle(self, streams: list[Stream], now: datetime) -> bool:
        """Read, submit, confirm. True when backlog remains for an immediate next cycle."""
        until = floor_time(now, FIVE_MINUTES)
        since = {stream.key: self._cursor(stream, now) for stream in streams}
        more = False
        limit = {}
        for stream in streams:
            limit[stream.key] = min(until, since[stream.key] + MAX_SPAN_PER_CYCLE)
            more |= limit[stream.key] < until
        planned = await self._async_plan(streams, since, limit)

        interval_streams = [s for s in streams if not s.cumulative]
        pending = [p for s in interval_streams for p in planned[s.key]]
        pending += self._retries(streams)
        if pending:
            batch = await self._async_submit(pending)
            self._confirm(pending, batch, now)
        else:
            for stream in interval_streams:
                self._device(stream.subentry_id).last_success = now
        for stream in interval_streams:
            self._advance(stream, planned[stream.key], limit[stream.key], until)
        for stream in streams:
            if not stream.cumulative:
                continue
            if not planned[stream.key]:
                self._advance(stream, [], limit[stream.key], until)
                continue
            try:
                await self._async_submit_cumulative(stream, planned[stream.key], now, limit, until)
            except FlatpeakInvalidRequestError as err:
                # One refused register stream must not hold back the others.
                _LOGGER.warning("Flatpeak refused %s readings: %s", stream.entity_id, err)
                self._refusals[stream.subentry_id] = str(err)
        return more

    async def _async_plan(
        self,
        streams: list[Stream],
        since: dict[str, datetime],
        until: dict[str, datetime],
        *,
        carry_deficit: bool = True,
    ) -> dict[str, list[_Pending]]:
        """Each stream's new 5-minute intervals, netted and tagged with sessions.

        Statistics are read in the recorder's executor and turned into records in a worker
        thread: a backfill of weeks is tens of thousands of rows, too many for the event loop.
        """
        if not streams:
            return {}
        start = min(since.values())
        end = max(until.values())
        five, hourly = await self._async_read({s.entity_id for s in streams}, start, end)
        jobs = []
        for stream in streams:
            state = self._stream_state(stream)
            tracker = self.trackers.get(stream.subentry_id)
            jobs.append(
                _PlanJob(
                    stream=stream,
                    five=five.get(stream.entity_id, []),
                    hourly=hourly.get(stream.entity_id, []),
                    since=since[stream.key],
                    until=until[stream.key],
                    deficit=state.get("deficit", 0.0) if carry_deficit else 0.0,
                    sessions=[Session(x.id, x.start, x.end) for x in tracker.sessions]
                    if tracker
                    else [],
                )
            )
        results = await self.hass.async_add_executor_job(_plan_jobs, jobs, self.location_id)
        planned: dict[str, list[_Pending]] = {}
        for job, (pending, next_deficit) in zip(jobs, results, strict=True):
            if carry_deficit:
                self._stream_state(job.stream)["next_deficit"] = next_deficit
            planned[job.stream.key] = pending
        return planned

    async def _async_read(
        self, entity_ids: set[str], start: datetime, end: datetime
    ) -> tuple[dict[str, list[StatRow]], dict[str, list[StatRow]]]:
        """5-minute and hourly ``change`` rows, read in the recorder's executor."""
        recorder = get_instance(self.hass)
        # From the top of the hour: plan_intervals needs the whole hour to check it.
        five = await recorder.async_add_executor_job(
            _read_rows, self.hass, floor_time(start, HOUR), end, entity_ids, "5minute"
        )
        hourly = await recorder.async_add_executor_job(
            _read_rows, self.hass, floor_time(start, HOUR), end, entity_ids, "hour"
        )
        return five, hourly

    async def _async_submit(self, pending: list[_Pending]) -> MeterBatch:
        records = [item.record for item in pending]
        if len(records) > 1000:
            _LOGGER.info("Sending %s interval records to Flatpeak", len(records))
        return await self.client.submit_interval_records(records)

    def _confirm(self, pending: list[_Pending], batch: MeterBatch, now: datetime) -> None:
        """Keep refused records for a retry; give up on them after a few attempts."""
        failed = {f.record_num: f.error for f in batch.failed_records}
        # Retries of streams left out of this cycle (a sensor with a repair issue) stay queued.
        sent = {item.stream.key for item in pending}
        retry: list[dict[str, Any]] = [
            r for r in self._progress["retry"] if r["stream"] not in sent
        ]
        given_up: list[str] = []
        for index, item in enumerate(pending):
            if index not in failed:
                self._device(item.stream.subentry_id).last_success = now
                continue
            attempts = item.attempts + 1
            reason = failed[index]
            _LOGGER.warning(
                "Flatpeak refused %s energy for %s (attempt %s of %s): %s",
                item.stream.name,
                item.interval.start.isoformat(),
                attempts,
                MAX_RECORD_ATTEMPTS,
                reason,
            )
            self._refusals[item.stream.subentry_id] = reason
            if attempts >= MAX_RECORD_ATTEMPTS:
                given_up.append(
                    f"{item.stream.entity_id} {item.interval.start.isoformat()}: {reason}"
                )
                continue
            retry.append(
                {
                    "stream": item.stream.key,
                    "start": item.interval.start.isoformat(),
                    "kwh": item.interval.kwh,
                    "session": item.session,
                    "attempts": attempts,
                }
            )
        self._progress["retry"] = retry
        if given_up:
            self._progress["rejected"] = self._progress.get("rejected", 0) + len(given_up)
            ir.async_create_issue(
                self.hass,
                DOMAIN,
                f"{ISSUE_RECORDS_REJECTED}_{self.config_entry.entry_id}",
                is_fixable=False,
                severity=ir.IssueSeverity.WARNING,
                translation_key=ISSUE_RECORDS_REJECTED,
                translation_placeholders={
                    "count": str(self._progress["rejected"]),
                    "example": given_up[0],
                    "location": self.config_entry.title,
                },
            )

    def _retries(self, streams: Iterable[Stream]) -> list[_Pending]:
        by_key = {s.key: s for s in streams if not s.cumulative}
        result = []
        for item in self._progress["retry"]:
            if (stream := by_key.get(item["stream"])) is not None:
                interval = Interval(datetime.fromisoformat(item["start"]), float(item["kwh"]))
                session = item.get("session")
                record = make_record(stream, self.location_id, interval, session)
                result.append(_Pending(stream, interval, session, record, int(item["attempts"])))
        return result

    def _advance(
        self, stream: Stream, planned: list[_Pending], limit: datetime, until: datetime
    ) -> None:
        state = self._stream_state(stream)
        if planned:
            state["cursor"] = planned[-1].interval.end.isoformat()
        elif limit <= until - HOUR:
            # A window long past with no statistics at all (the sensor did not exist, or HA
            # was off): nothing will appear there any more, so move on instead of re-reading.
            state["cursor"] = limit.isoformat()
        state["deficit"] = state.pop("next_deficit", state.get("deficit", 0.0))

    async def _async_submit_cumulative(
        self,
        stream: Stream,
        planned: list[_Pending],
        now: datetime,
        limit: dict[str, datetime],
        until: datetime,
    ) -> None:
        """Register readings: our own running total, so it can never decrease."""
        state = self._stream_state(stream)
        register = float(state.get("register", 0.0))
        first = planned[0].interval.start
        readings = [CumulativeReading(first, round(register, 9))]
        for item in planned:
            register += item.interval.kwh
            readings.append(
                CumulativeReading(
                    item.interval.end,
                    round(register, 9),
                    record_reference_id(stream.name, item.interval.start),
                )
            )
        batch = await self.client.submit_cumulative_readings(
            self.location_id,
            readings,
            device_id=stream.device_id,
            units=EnergyUnits.KWH,
            energy_flow_direction=stream.flow,
            tariff_direction=stream.tariff,
        )
        for failure in batch.failed_records:
            _LOGGER.warning("Flatpeak refused a %s reading: %s", stream.name, failure.error)
        state["register"] = register
        self._advance(stream, planned, limit[stream.key], until)
        self._device(stream.subentry_id).last_success = now

    def _update_waiting(self, streams: list[Stream], now: datetime) -> None:
        until = floor_time(now, FIVE_MINUTES)
        waiting: dict[str, int] = {}
        for stream in streams:
            count = periods_between(self._cursor(stream, now), until)
            waiting[stream.subentry_id] = waiting.get(stream.subentry_id, 0) + count
        by_key = {s.key: s.subentry_id for s in streams}
        for item in self._progress["retry"]:
            if (sub := by_key.get(item["stream"])) is not None:
                waiting[sub] = waiting.get(sub, 0) + 1
        for subentry_id in {s.subentry_id for s in streams}:
            self._device(subentry_id).waiting = waiting.get(subentry_id, 0)
        self._progress["last_success"] = {
            sub: status.last_success.isoformat()
            for sub, status in self._status.devices.items()
            if status.last_success
        }

    # -- history on demand ------------------------------------------------------------

    async def async_upload_history(self, start: datetime, end: datetime) -> dict[str, Any]:
        """Upload ``[start, end)`` for every interval stream; cursors stay where they are.

        Records have the same reference ids as the regular cycle's, so a range that was
        already sent is replaced, never counted twice.
        """
        async with self._lock:
            now = dt_util.utcnow()
            end = min(end, floor_time(now, FIVE_MINUTES))
            start = floor_time(start, FIVE_MINUTES)
            streams = [s for s in self._streams() if not s.cumulative]
            # Registers cannot be re-sent for a past range without breaking their continuity.
            skipped = sorted(s.entity_id for s in entry_streams(self.config_entry) if s.cumulative)
            keys = [s.key for s in streams]
            # Netting a decrease depends on what came before: plan from a day earlier, as the
            # regular cycle did, so re-sent periods get the values they had the first time.
            planned = await self._async_plan(
                streams,
                dict.fromkeys(keys, start - HISTORY_NETTING_LOOKBACK),
                dict.fromkeys(keys, end),
                carry_deficit=False,
            )
            pending = [p for s in streams for p in planned[s.key] if p.interval.start >= start]
            if not pending:
                return {
                    "records_sent": 0,
                    "records_failed": 0,
                    "requests": 0,
                    "kwh": 0.0,
                    "skipped_cumulative": skipped,
                }
            batch = await self._async_submit(pending)
            refused = {f.record_num for f in batch.failed_records}
            accepted_kwh = sum(p.interval.kwh for i, p in enumerate(pending) if i not in refused)
            return {
                "records_sent": batch.records_accepted,
                "records_failed": len(batch.failed_records),
                "requests": len(batch.batch_ids),
                "kwh": round(accepted_kwh, 6),
                "skipped_cumulative": skipped,
            }

    def diagnostics(self) -> dict[str, Any]:
        """Where each stream has got to, for the diagnostics download."""
        return {
            "streams": {
                key: {k: v for k, v in state.items() if k != "next_deficit"}
                for key, state in self._progress.get("streams", {}).items()
            },
            "retry_queue": len(self._progress.get("retry", [])),
            "records_given_up": self._progress.get("rejected", 0),
            "consecutive_failures": self._failures,
            "update_interval_seconds": self.update_interval.total_seconds()
            if self.update_interval
            else None,
            "sessions": {
                sub: [s.as_dict() for s in tracker.sessions[-5:]]
                for sub, tracker in self.trackers.items()
            },
            "devices": {
                sub: {
                    "last_success": status.last_success.isoformat()
                    if status.last_success
                    else None,
                    "waiting": status.waiting,
                    "last_error": status.last_error,
                }
                for sub, status in self._status.devices.items()
            },
        }

    @property
    def status(self) -> UploadStatus:
        """The latest status, also after a failed cycle."""
        return self._status
