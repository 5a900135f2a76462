"""The upload schedule of one entry: when cycles run, backoff, and what the entities show."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
import logging
from typing import TYPE_CHECKING, Any

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryAuthFailed
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator
from homeassistant.util import dt as dt_util

from ..client import (
    FlatpeakAuthenticationError,
    FlatpeakClient,
    FlatpeakError,
)
from ..const import (
    CONF_HISTORY_DAYS,
    CONF_LOCATION_ID,
    CONF_UPLOAD_INTERVAL,
    DEFAULT_HISTORY_DAYS,
    DEFAULT_UPLOAD_INTERVAL_MIN,
    DOMAIN,
)
from ..core.records import FIVE_MINUTES, floor_time, periods_between
from ..core.retry import Backoff, RetryPolicy, error_text
from ..core.streams import Stream, entry_streams
from ..issues import async_check_sensors, async_check_tariff
from .progress import Progress, ProgressStore
from .uploader import ChargerSessions, Uploader

if TYPE_CHECKING:
    from homeassistant.config_entries import ConfigEntry

    from .. import FlatpeakConfigEntry

_LOGGER = logging.getLogger(__name__)

# After timeouts, 5xx and 429s: 1 min, 2, 4 ... at most an hour, ±20 % jitter, never before
# a 429's Retry-After (which the client keeps within 30 s and an hour).
UPLOAD_RETRY = RetryPolicy(base=timedelta(minutes=1), cap=timedelta(hours=1))


async def async_remove_progress(hass: HomeAssistant, entry_id: str) -> None:
    """Forget an entry's upload progress (the entry is being removed)."""
    await ProgressStore(hass, entry_id).async_remove()


@dataclass(frozen=True, slots=True)
class StreamPosition:
    """Where a stream stands at Flatpeak: everything before ``cursor`` was sent, except the
    periods (starts) in ``retrying``, refused and waiting to be sent again."""

    cursor: datetime
    retrying: tuple[datetime, ...] = ()


@dataclass(slots=True)
class DeviceStatus:
    """What the diagnostic entities of one device show."""

    last_success: datetime | None = None
    waiting: int = 0
    last_error: str | None = None
    errors: int = 0  # cycles in a row that ended with an error for the device


@dataclass(slots=True)
class UploadStatus:
    """State after the latest cycle (the coordinator's ``data``): ``devices`` by subentry
    id, ``streams`` by stream key; ``confirmed``: records it got through."""

    devices: dict[str, DeviceStatus] = field(default_factory=dict)
    streams: dict[str, StreamPosition] = field(default_factory=dict)
    confirmed: int = 0


class UploadCoordinator(DataUpdateCoordinator[UploadStatus]):
    """Runs the upload cycle of one config entry.

    A cycle walks each stream from its cursor to now in windows of at most 10,000 records;
    each window makes one ``PUT /meters/interval`` for the interval streams and one
    ``PUT /meters/cumulative/epoch`` per cumulative stream, and is confirmed and saved before
    the next is read. Cycles with nothing new make no request.
    """

    config_entry: FlatpeakConfigEntry

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        client: FlatpeakClient,
        sessions: ChargerSessions,
    ) -> None:
        """Create the coordinator; :meth:`async_load` must run before the first cycle.
        ``sessions``: the chargers' sessions (the session book), written before progress."""
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
        self.location_id: str = entry.data[CONF_LOCATION_ID]
        self._store = ProgressStore(hass, entry.entry_id)
        self._status = UploadStatus()
        self._backoff = Backoff(UPLOAD_RETRY)
        self._sessions = sessions
        self.uploader = Uploader(
            hass,
            entry,
            client,
            self.location_id,
            history=timedelta(days=entry.options.get(CONF_HISTORY_DAYS, DEFAULT_HISTORY_DAYS)),
            sessions=sessions,
            save=self._async_save,
        )

    @property
    def _progress(self) -> Progress:
        return self.uploader.progress

    async def _async_save(self) -> None:
        # The sessions' tallies first: a crash in between sends the periods again, and a
        # tally of a period confirmed again is replaced, never counted twice.
        await self._sessions.async_save()
        await self._store.async_save(self._progress.as_dict())

    # -- durable progress -------------------------------------------------------------

    async def async_load(self) -> dict[str, Any] | None:
        """Read progress; returns what an older file held of the charging sessions (for the
        session book to adopt), None when it held none."""
        loaded = await self._store.async_load_progress()
        self.uploader.progress = loaded.progress
        for sub, when in self._progress.last_success.items():
            self._device(sub).last_success = when
        return loaded.sessions

    async def async_unload(self) -> None:
        """Write progress now (the session book has had its last write)."""
        await self._store.async_save(self._progress.as_dict())

    def _device(self, subentry_id: str) -> DeviceStatus:
        return self._status.devices.setdefault(subentry_id, DeviceStatus())

    # -- the cycle --------------------------------------------------------------------

    async def _async_update_data(self) -> UploadStatus:
        """One cycle; failures are recorded for the diagnostic entities, not raised."""
        now = dt_util.utcnow()
        streams = self._streams()
        try:
            await self.uploader.async_catch_up(streams, now)
            await self._async_recheck_tariff()
        except FlatpeakAuthenticationError as err:
            self._set_error(streams, error_text(err))
            raise ConfigEntryAuthFailed(
                translation_domain=DOMAIN, translation_key="invalid_auth"
            ) from err
        except FlatpeakError as err:
            self._failed(streams, now, err)
        except Exception as err:  # a bug or an odd answer: back off, never spin
            if not self._backoff.failures:
                _LOGGER.exception("Unexpected error while uploading to Flatpeak")
            self._failed(streams, now, err)
        else:
            if self._backoff.failures:
                _LOGGER.info("Uploads to Flatpeak work again")
            self._backoff.succeeded()
            self.update_interval = self._interval
            for subentry_id in {s.subentry_id for s in streams}:
                self._device(subentry_id).last_success = now
                refusal = self.uploader.cycle.refusals.get(subentry_id)
                self._note(subentry_id, None if refusal is None else error_text(refusal))
        self._update_waiting(entry_streams(self.config_entry), now)
        await self._async_save()
        # Published fresh each cycle: what entities and the cost coordinators read is never
        # changed under them.
        return UploadStatus(
            devices={sub: replace(status) for sub, status in self._status.devices.items()},
            streams=self._positions(),
            confirmed=self.uploader.cycle.confirmed,
        )

    def _positions(self) -> dict[str, StreamPosition]:
        retrying: dict[str, list[datetime]] = {}
        for item in self._progress.retry:
            retrying.setdefault(item.stream, []).append(item.start)
        return {
            key: StreamPosition(state.cursor, tuple(retrying.get(key, ())))
            for key, state in self._progress.streams.items()
        }

    async def _async_recheck_tariff(self) -> None:
        """While no import tariff is connected, look again each cycle (one extra request).
        The entry's one copy of the location is its runtime data's; only this refreshes it."""
        runtime = self.config_entry.runtime_data
        if runtime.location.tariff_status.import_connected:
            return
        try:
            location = await self.client.get_location(self.location_id)
        except FlatpeakAuthenticationError:
            raise
        except FlatpeakError as err:
            _LOGGER.debug("Could not look at the location's tariff again: %s", err)
            return
        runtime.location = location
        async_check_tariff(self.hass, self.config_entry, location)

    def _streams(self) -> list[Stream]:
        """Streams whose sensor is usable; a broken one gets a repair issue, not a stall."""
        broken = async_check_sensors(self.hass, self.config_entry)
        return [s for s in entry_streams(self.config_entry) if s.entity_id not in broken]

    def _set_error(self, streams: list[Stream], error: str) -> None:
        for subentry_id in {s.subentry_id for s in streams}:
            self._note(subentry_id, error)

    def _note(self, subentry_id: str, error: str | None) -> None:
        """A cycle's outcome for a device: its error (None: it worked), counted in a row."""
        device = self._device(subentry_id)
        device.last_error = error
        device.errors = device.errors + 1 if error else 0

    def _failed(self, streams: list[Stream], now: datetime, err: Exception) -> None:
        """Back off by the retry policy (a 429's Retry-After is the floor); show the error."""
        self.update_interval = self._backoff.failed(now, err)
        log = _LOGGER.warning if self._backoff.failures == 1 else _LOGGER.debug
        log("Upload to Flatpeak failed (%s); trying again in %s", err, self.update_interval)
        self._set_error(streams, error_text(err))

    def _update_waiting(self, streams: list[Stream], now: datetime) -> None:
        until = floor_time(now, FIVE_MINUTES)
        waiting: dict[str, int] = {}
        for stream in streams:
            count = periods_between(self.uploader.state(stream, now).cursor, until)
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
        """Upload ``[start, end)`` of every interval stream (see :class:`Uploader`).

        Cumulative streams are skipped: registers cannot be re-sent for a past range without
        breaking their continuity.
        """
        streams = [s for s in self._streams() if not s.cumulative]
        skipped = sorted(s.entity_id for s in entry_streams(self.config_entry) if s.cumulative)
        return await self.uploader.async_upload_history(streams, skipped, start, end)

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
            "consecutive_failures": self._backoff.failures,
            "update_interval_seconds": self.update_interval.total_seconds()
            if self.update_interval
            else None,
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

    def confirmed_periods(self, stream_key: str) -> list[tuple[int, int]]:
        """The ranges (Unix seconds) of a stream's periods Flatpeak confirmed with energy."""
        ledger = self._progress.confirmed.get(stream_key)
        return ledger.ranges() if ledger is not None else []
