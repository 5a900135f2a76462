"""The upload cycle: read statistics → plan → submit → confirm → save, one window at a time."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
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
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator
from homeassistant.util import dt as dt_util

from .client import (
    MAX_RECORDS_PER_CALL,
    CumulativeReading,
    EnergyUnits,
    FlatpeakAuthenticationError,
    FlatpeakClient,
    FlatpeakError,
    FlatpeakInvalidRequestError,
    FlatpeakRateLimitError,
    Location,
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
from .issues import async_check_sensors, async_check_tariff
from .planner import (
    FIVE_MINUTES,
    HOUR,
    LOOKBACK,
    StatRow,
    StreamPlan,
    StreamState,
    cumulative_readings,
    floor_time,
    periods_between,
    record_reference_id,
    rows_from_statistics,
    window_end,
)
from .progress import Progress, ProgressStore, RetryItem
from .sessions import Session, SessionTracker
from .streams import Stream, entry_streams
from .window import Item, PlanJob, Window, build_window

if TYPE_CHECKING:
    from homeassistant.config_entries import ConfigEntry

_LOGGER = logging.getLogger(__name__)

# A record Flatpeak refuses is tried this many times, then given up and reported.
MAX_RECORD_ATTEMPTS = 3
# Backoff after timeouts and 5xx: 1 min, 2, 4 ... at most an hour, ±20 % jitter.
BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_MAX = timedelta(hours=1)
# What the server may ask for in Retry-After, whatever it sends.
RETRY_AFTER_MIN = timedelta(seconds=30)
RETRY_AFTER_MAX = timedelta(hours=1)
UNITS = {"energy": "kWh"}


async def async_remove_progress(hass: HomeAssistant, entry_id: str) -> None:
    """Forget an entry's upload progress and sessions (the entry is being removed)."""
    await ProgressStore(hass, entry_id).async_remove()


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


class UploadCoordinator(DataUpdateCoordinator[UploadStatus]):
    """Runs the upload cycle of one config entry.

    A cycle walks each stream from its cursor to now in windows of at most 10,000 records;
    each window makes one ``PUT /meters/interval`` for the interval streams and one
    ``PUT /meters/cumulative/epoch`` per cumulative stream, and is confirmed and saved before
    the next is read. Cycles with nothing new make no request.
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
        self._store = ProgressStore(hass, entry.entry_id)
        self._progress = Progress()
        self._status = UploadStatus()
        self._failures = 0
        self._refusals: dict[str, str] = {}
        self._lock = asyncio.Lock()
        self._closed = False
        self.trackers: dict[str, SessionTracker] = {}

    # -- durable progress -------------------------------------------------------------

    async def async_load(self) -> None:
        """Read progress and sessions; start session tracking for the entry's lifetime."""
        self._progress = await self._store.async_load_progress()
        for sub, when in self._progress.last_success.items():
            self._device(sub).last_success = when
        for subentry in self.config_entry.subentries.values():
            if subentry.subentry_type != SUBENTRY_EV_CHARGER:
                continue
            tracker = SessionTracker(
                self.hass,
                subentry.data["device_id"],
                subentry.data,
                self._progress.sessions.setdefault(subentry.subentry_id, []),
                functools.partial(self._sessions_changed, subentry.subentry_id),
            )
            self.trackers[subentry.subentry_id] = tracker
            self.config_entry.async_on_unload(tracker.async_start())

    @callback
    def _sessions_changed(self, subentry_id: str) -> None:
        if self._closed:  # the final save is done; nothing may be written after it
            return
        snapshot = self._progress.as_dict()
        self._store.async_delay_save(lambda: snapshot, 1.0)

    async def async_unload(self) -> None:
        """Write progress now; no delayed save outlives the entry."""
        self._closed = True
        await self._store.async_save(self._progress.as_dict())

    def _state(self, stream: Stream, now: datetime) -> StreamState:
        if (state := self._progress.streams.get(stream.key)) is not None:
            return state
        days = self.config_entry.options.get(CONF_HISTORY_DAYS, DEFAULT_HISTORY_DAYS)
        return StreamState(cursor=floor_time(now - timedelta(days=days), HOUR))

    def _device(self, subentry_id: str) -> DeviceStatus:
        return self._status.devices.setdefault(subentry_id, DeviceStatus())

    # -- the cycle --------------------------------------------------------------------

    async def _async_update_data(self) -> UploadStatus:
        """One cycle; failures are recorded for the diagnostic entities, not raised."""
        now = dt_util.utcnow()
        streams = self._streams()
        self._refusals = {}
        try:
            await self._async_cycle(streams, now)
            await self._async_recheck_tariff()
        except FlatpeakAuthenticationError as err:
            self._set_error(streams, str(err))
            raise ConfigEntryAuthFailed(
                translation_domain=DOMAIN, translation_key="invalid_auth"
            ) from err
        except FlatpeakRateLimitError as err:
            self._failed(streams, err, err.retry_after)
        except FlatpeakError as err:
            self._failed(streams, err, None)
        except Exception as err:  # a bug or an odd answer: back off, never spin
            if not self._failures:
                _LOGGER.exception("Unexpected error while uploading to Flatpeak")
            self._failed(streams, err, None)
        else:
            if self._failures:
                _LOGGER.info("Uploads to Flatpeak work again")
            self._failures = 0
            self.update_interval = self._interval
            for stream in streams:
                self._device(stream.subentry_id).last_success = now
                self._device(stream.subentry_id).last_error = self._refusals.get(stream.subentry_id)
        self._update_waiting(entry_streams(self.config_entry), now)
        await self._store.async_save(self._progress.as_dict())
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

    def _set_error(self, streams: list[Stream], error: str) -> None:
        for stream in streams:
            self._device(stream.subentry_id).last_error = error

    def _failed(self, streams: list[Stream], err: Exception, retry_after: float | None) -> None:
        self._failures += 1
        if retry_after is not None:
            delay = min(max(timedelta(seconds=retry_after), RETRY_AFTER_MIN), RETRY_AFTER_MAX)
        else:
            backoff = min(BACKOFF_BASE * 2 ** (self._failures - 1), BACKOFF_MAX)
            delay = backoff * random.uniform(0.8, 1.2)  # jitter, not crypto
        self.update_interval = delay
        log = _LOGGER.warning if self._failures == 1 else _LOGGER.debug
        log("Upload to Flatpeak failed (%s); trying again in %s", err, self.update_interval)
        self._set_error(streams, str(err) or type(err).__name__)

    async def _async_cycle(self, streams: list[Stream], now: datetime) -> None:
        """Walk every stream to now, window by window, each confirmed and saved."""
        if not streams:
            return
        until = floor_time(now, FIVE_MINUTES)
        scan = min(self._state(s, now).cursor for s in streams)
        queued = self._queued(streams)
        while True:
            async with self._lock:
                states = {s.key: self._state(s, now) for s in streams}
                window = await self._async_plan(
                    streams, states, scan, until, queued=queued, settled=until - HOUR
                )
                refused = await self._async_send(window)
                self._commit(streams, window, refused)
                for stream in streams:
                    if stream.cumulative:
                        await self._async_send_cumulative(
                            stream, states[stream.key], window.plans[stream.key]
                        )
                await self._store.async_save(self._progress.as_dict())
            queued = []
            scan = window.end
            if scan >= until:
                return

    def _queued(self, streams: list[Stream]) -> list[Item]:
        """Records refused before, sent again with the cycle's first window."""
        by_key = {s.key: s for s in streams if not s.cumulative}
        return [
            Item(stream, r.start, r.kwh, r.session, r.attempts)
            for r in self._progress.retry
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
                self._sessions(s, states[s.key].cursor - LOOKBACK, end),
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

    def _sessions(self, stream: Stream, start: datetime, end: datetime) -> list[Session]:
        """Copies of the charger's sessions that overlap ``[start, end)``."""
        tracker = self.trackers.get(stream.subentry_id)
        if tracker is None:
            return []
        return [
            Session(s.id, s.start, s.end)
            for s in tracker.sessions
            if s.start < end and (s.end is None or s.end > start)
        ]

    async def _async_send(self, window: Window) -> dict[int, str]:
        """The window's interval records in one request; Flatpeak's refusals by index."""
        if not window.records:
            return {}
        if len(window.records) > 1000:
            _LOGGER.info("Sending %s interval records to Flatpeak", len(window.records))
        batch = await self.client.submit_interval_records(window.records)
        return {f.record_num: f.error for f in batch.failed_records}

    def _commit(self, streams: list[Stream], window: Window, refused: dict[int, str]) -> None:
        """Flatpeak answered: keep refused records for a retry, move interval cursors on."""
        sent = {(i.stream.key, i.start) for i in window.items}
        retry = [r for r in self._progress.retry if (r.stream, r.start) not in sent]
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
            self._refusals[item.stream.subentry_id] = reason
            if attempts >= MAX_RECORD_ATTEMPTS:
                given_up.append(f"{item.stream.entity_id} {item.start.isoformat()}: {reason}")
            else:
                retry.append(
                    RetryItem(item.stream.key, item.start, item.kwh, item.session, attempts)
                )
        self._progress.retry = retry
        for stream in streams:
            if not stream.cumulative:
                self._progress.streams[stream.key] = window.plans[stream.key].state
        if given_up:
            self._report_rejected(given_up)

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
        self._progress.streams[stream.key] = replace(plan.state, register=register)
        if refused:
            _LOGGER.warning("Flatpeak refused %s readings of %s", len(refused), stream.entity_id)
            self._refusals[stream.subentry_id] = refused[0].split(": ", 1)[1]
            self._report_rejected(refused)

    @callback
    def _report_rejected(self, given_up: list[str]) -> None:
        self._progress.rejected += len(given_up)
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            f"{ISSUE_RECORDS_REJECTED}_{self.config_entry.entry_id}",
            is_fixable=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key=ISSUE_RECORDS_REJECTED,
            translation_placeholders={
                "count": str(self._progress.rejected),
                "example": given_up[0],
                "location": self.config_entry.title,
            },
        )

    def _update_waiting(self, streams: list[Stream], now: datetime) -> None:
        until = floor_time(now, FIVE_MINUTES)
        waiting: dict[str, int] = {}
        for stream in streams:
            count = periods_between(self._state(stream, now).cursor, until)
            waiting[stream.subentry_id] = waiting.get(stream.subentry_id, 0) + count
        by_key = {s.key: s.subentry_id for s in streams}
        for item in self._progress.retry:
            if (sub := by_key.get(item.stream)) is not None:
                waiting[sub] = waiting.get(sub, 0) + 1
        for subentry_id in {s.subentry_id for s in streams}:
            self._device(subentry_id).waiting = waiting.get(subentry_id, 0)
        self._progress.last_success = {
            sub: status.last_success
            for sub, status in self._status.devices.items()
            if status.last_success
        }

    # -- history on demand ------------------------------------------------------------

    async def async_upload_history(self, start: datetime, end: datetime) -> dict[str, Any]:
        """Upload ``[start, end)`` for every interval stream; cursors stay where they are.

        The range is planned by the regular cycle's rules from the day before it, so a
        decrease in the range corrects the periods before it as the cycle did; records have
        the cycle's reference ids, so a range already sent is replaced, never counted twice.
        Walked in windows of at most 10,000 records, the lock held per window.
        """
        now = dt_util.utcnow()
        until = floor_time(now, FIVE_MINUTES)
        end = min(floor_time(end, FIVE_MINUTES), until)
        start = floor_time(start, HOUR)
        streams = [s for s in self._streams() if not s.cumulative]
        # Registers cannot be re-sent for a past range without breaking their continuity.
        skipped = sorted(s.entity_id for s in entry_streams(self.config_entry) if s.cumulative)
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
            async with self._lock:
                window = await self._async_plan(
                    streams, states, scan, end, queued=[], settled=until - HOUR
                )
                refused = await self._async_send(window)
            result["requests"] += 1 if window.records else 0
            result["records_failed"] += len(refused)
            result["records_sent"] += len(window.items) - len(refused)
            for index, item in enumerate(window.items):
                if index not in refused and item.start >= start:
                    result["kwh"][item.stream.entity_id] += item.kwh
            states = {key: plan.state for key, plan in window.plans.items()}
            scan = window.end
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

    def diagnostics(self) -> dict[str, Any]:
        """Where each stream has got to, for the diagnostics download."""
        return {
            "streams": {
                key: {
                    "cursor": state.cursor.isoformat(),
                    "carry_kwh": state.carry,
                    "register_kwh": state.register,
                    "recent_periods": len(state.recent),
                }
                for key, state in self._progress.streams.items()
            },
            "retry_queue": len(self._progress.retry),
            "records_given_up": self._progress.rejected,
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
