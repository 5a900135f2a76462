"""What each EV charging session costs, from Flatpeak's session report, and when that is final.

After each upload cycle, each charger's sessions that are not final are priced with one
``POST /costs/session/{session id}`` each, but only when it can tell something new: the open
session or an ended one whose intervals are not all at Flatpeak yet when the charger's upload
moved on; an ended session whose every interval is at Flatpeak (the stream's cursor is past its
end and none of its intervals waits for a retry) until its report is complete twice in a row
with the same figures. Complete means: in the location's currency, every row priced, and its
energy what Flatpeak confirmed for the session (see :mod:`..core.session_energy`). Then it is final:
never fetched again, and its ``session_completed`` event fires once. A 404, an empty report or
one that is not complete never makes a session final: it is asked for again after a delay that
grows with each such answer (:func:`pending_delay`), kept across restarts, for up to 30 days
after its end. An ended session with no confirmed energy is final at 0 without a request.
Over 400 lines: the finality rules, the pending schedule and the status the sensor shows
belong together.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
import logging
from typing import TYPE_CHECKING, Any

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from ..client import (
    FlatpeakClient,
    FlatpeakError,
    FlatpeakNotFoundError,
    FlatpeakResponseFormatError,
    FlatpeakTariffError,
)
from ..const import (
    CONF_DEVICE_ID,
    CONF_SUBMISSION_MODE,
    DOMAIN,
    SUBENTRY_EV_CHARGER,
    SUBMISSION_CUMULATIVE,
)
from ..core.records import FIVE_MINUTES, floor_time
from ..core.retry import Backoff, RetryPolicy
from ..core.session_energy import (
    CURRENCY,
    MALFORMED,
    NO_REPORT,
    SessionReport,
    has_no_energy,
    read_report,
    read_span_report,
)
from ..core.sessions import Session, SessionCost
from ..core.streams import CHARGER_STREAM, stream_key
from .book import SessionBook
from .tracker import SessionTracker

if TYPE_CHECKING:
    from homeassistant.config_entries import ConfigEntry

    from .. import FlatpeakConfigEntry
    from ..tariff import TariffGate
    from ..uploads import StreamPosition, UploadCoordinator

_LOGGER = logging.getLogger(__name__)

# After a failed refresh, none before this policy's delay (a 429's Retry-After the floor).
SESSION_RETRY = RetryPolicy(base=timedelta(minutes=1), cap=timedelta(hours=1))
# An ended session whose report is still not complete this long after its end is left alone.
ASK_FOR = timedelta(days=30)
# After an incomplete report of an ended session: 15 min, 30 min, 1 h, ... at most 6 h.
PENDING_FIRST = timedelta(minutes=15)
PENDING_MAX = timedelta(hours=6)

# What the session cost sensor says of a session.
STATUS_CHARGING = "charging"
STATUS_PENDING = "pending"  # ended; Flatpeak's report does not account for it (yet)
STATUS_FINAL = "final"
STATUS_UNCONFIRMED = "unconfirmed"  # still not complete ASK_FOR after its end: no longer asked


# The one retry policy, without jitter: a session's next ask is stored and shown.
PENDING_RETRY = RetryPolicy(base=PENDING_FIRST, cap=PENDING_MAX, jitter=0.0)


def pending_delay(misses: int) -> timedelta:
    """When to ask again for an ended session after ``misses`` incomplete reports in a row."""
    return PENDING_RETRY.delay(misses)


def session_status(session: Session, cost: SessionCost | None, now: datetime) -> str:
    """``charging``, ``pending``, ``final`` or ``unconfirmed``."""
    if cost is not None and cost.final:
        return STATUS_FINAL
    if session.end is None:
        return STATUS_CHARGING
    return STATUS_UNCONFIRMED if now - session.end > ASK_FOR else STATUS_PENDING


@dataclass(frozen=True, slots=True)
class ChargerSession:
    """A charger's session with what is known of its cost (None before the first fetch)."""

    session: Session
    cost: SessionCost | None


def completed_data(session: Session, cost: SessionCost) -> dict[str, Any]:
    """The ``session_completed`` event's data."""
    data: dict[str, Any] = {
        "session_id": session.id,
        "start": session.start.isoformat(),
        "end": session.end.isoformat() if session.end else None,
        "energy_kwh": round(cost.energy_kwh or 0.0, 6),
        "cost": round(cost.cost or 0.0, 6),
        "currency": cost.currency,
    }
    if session.label:
        data["label"] = session.label
    return data


def nearest_period(moment: datetime) -> datetime:
    """The 5-minute boundary nearest ``moment`` (a period belongs to the session that has
    most of it)."""
    return floor_time(moment + FIVE_MINUTES / 2, FIVE_MINUTES)


def all_at_flatpeak(position: StreamPosition | None, session: Session) -> bool:
    """Every interval of an ended session is at Flatpeak: the stream's cursor is past its
    end and none of its intervals waits for a retry."""
    if session.end is None or position is None or position.cursor < session.end:
        return False
    first = floor_time(session.start, FIVE_MINUTES)
    return not any(first <= start < session.end for start in position.retrying)


class SessionCostCoordinator(DataUpdateCoordinator[None]):
    """Follows one entry's chargers (their trackers) and prices their sessions after upload
    cycles; the session book keeps both, and entities and actions read through here."""

    config_entry: FlatpeakConfigEntry

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        client: FlatpeakClient,
        uploads: UploadCoordinator,
        *,
        book: SessionBook,
        gate: TariffGate,
        currency: str,
    ) -> None:
        """Refreshed after each upload cycle, not on a timer of its own."""
        super().__init__(
            hass, _LOGGER, config_entry=entry, name=f"{DOMAIN} session costs", update_interval=None
        )
        self.client = client
        self.uploads = uploads
        self.book = book
        self.gate = gate
        self.currency = currency
        # per charger stream: (cursor, retry items) at its last refresh
        self._seen: dict[str, tuple[datetime | None, int]] = {}
        self._retry = Backoff(SESSION_RETRY)
        self._trackers: dict[str, SessionTracker] = {}

    @callback
    def async_setup(self) -> None:
        """Follow each charger's sessions (before the first upload cycle tags periods with
        them) and the upload cycle."""
        entry = self.config_entry
        for subentry in entry.subentries.values():
            if subentry.subentry_type != SUBENTRY_EV_CHARGER:
                continue
            tracker = SessionTracker(
                self.hass, subentry.subentry_id, subentry.data, self.book, self._session_changed
            )
            self._trackers[subentry.subentry_id] = tracker
            entry.async_on_unload(tracker.async_start())
        entry.async_on_unload(self.uploads.async_add_listener(self._uploaded))

    @callback
    def _uploaded(self) -> None:
        self.config_entry.async_create_background_task(
            self.hass, self.async_refresh(), f"{DOMAIN} session costs"
        )

    @callback
    def _session_changed(self) -> None:
        """A session opened or closed: shown at once."""
        self.async_update_listeners()

    def status(self, session: Session, cost: SessionCost | None) -> str:
        """What the session cost sensor says of a session (see :func:`session_status`)."""
        return session_status(session, cost, dt_util.utcnow())

    def tracker(self, subentry_id: str) -> SessionTracker | None:
        """The charger's session tracker."""
        return self._trackers.get(subentry_id)

    def latest(self, subentry_id: str) -> ChargerSession | None:
        """The charger's open session, or else its last one."""
        if (session := self.book.latest(subentry_id)) is None:
            return None
        return ChargerSession(session, self.book.cost(session.id))

    def to_notify(self, subentry_id: str) -> list[ChargerSession]:
        """Final sessions whose ``session_completed`` event has not fired, oldest first."""
        return [
            ChargerSession(s, cost)
            for s in self.book.sessions(subentry_id)
            if (cost := self.book.cost(s.id)) is not None and cost.final and not cost.notified
        ]

    @callback
    def async_notified(self, session_id: str) -> None:
        """The event of a session fires: remember it in the book (written at once)."""
        self.book.async_notified(session_id)

    async def _async_update_data(self) -> None:
        """Fetch the sessions that can tell something new (see the module)."""
        now = dt_util.utcnow()
        if not self._retry.ready(now):
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="session_cost_failed",
                translation_placeholders={"error": self._retry.error or ""},
            )
        if not self.gate.allowed(now):
            return
        status = self.uploads.data
        changed = False
        try:
            for subentry_id in self._trackers:
                subentry = self.config_entry.subentries[subentry_id]
                key = stream_key(subentry.data[CONF_DEVICE_ID], CHARGER_STREAM)
                position = status.streams.get(key) if status else None
                marker = (
                    position.cursor if position else None,
                    len(position.retrying) if position else 0,
                )
                moved = self._seen.get(key) != marker
                for session in list(self.book.sessions(subentry_id)):
                    if await self._async_price(
                        position, subentry.data, key, session, moved=moved, now=now
                    ):
                        changed = True
                self._seen[key] = marker
        except FlatpeakTariffError as err:
            self.gate.failed(err, now)
            return
        except FlatpeakError as err:
            self._retry.failed(now, err)
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="session_cost_failed",
                translation_placeholders={"error": str(err)},
            ) from err
        except Exception as err:
            self._retry.failed(now, err)
            raise
        finally:
            if changed:
                self.book.async_changed()
        self._retry.succeeded()
        if changed:
            self.gate.succeeded()

    async def _async_price(
        self,
        position: StreamPosition | None,
        charger: Mapping[str, Any],
        key: str,
        session: Session,
        *,
        moved: bool,
        now: datetime,
    ) -> bool:
        """Fetch one session's cost if that can tell something new; whether it did."""
        cost = self.book.cost(session.id)
        if cost is not None and cost.final:
            return False
        settled = all_at_flatpeak(position, session)
        cumulative = charger.get(CONF_SUBMISSION_MODE) == SUBMISSION_CUMULATIVE
        tally = self.book.energy(session.id)
        if cumulative:
            # Register readings carry no session id: the session is the device's energy
            # over the periods it has most of (as an interval charger's records are tagged),
            # always from its report: the confirmed periods are only known since this
            # release, so their absence alone never makes a session final at 0.
            confirmed = self.uploads.confirmed_periods(key)
            start, end = nearest_period(session.start), nearest_period(session.end or now)
        elif settled and tally is not None and has_no_energy(tally):
            # Zero only from periods Flatpeak confirmed with the session: one recognised
            # after its periods were sent (history, a late state) has no tally yet, and its
            # periods may still be sent again with it; Flatpeak's report decides then.
            self.book.set_cost(
                session.id, SessionCost(0.0, 0.0, self.currency, checked=True, final=True)
            )
            return True
        if session.end is not None and now - session.end > ASK_FOR:
            return False
        if cost is not None and (
            (settled and cost.retry_at is not None and now < cost.retry_at)
            or (not settled and not moved)
        ):
            return False
        try:
            if cumulative:
                span = await self.client.get_interval_cost(
                    str(charger[CONF_DEVICE_ID]), start, max(end, start + FIVE_MINUTES)
                )
                read = read_span_report(span, start, end, confirmed, self.currency)
            else:
                read = read_report(
                    await self.client.get_session_cost(session.id), tally, self.currency
                )
        except FlatpeakNotFoundError:  # nothing of the session is in Flatpeak's reports yet
            read = (
                SessionReport(None, None, self.currency, NO_REPORT)
                if cumulative
                else read_report(None, tally, self.currency)
            )
        except FlatpeakResponseFormatError as err:  # e.g. an amount that is not a number
            _LOGGER.debug("Unreadable cost report of charging session %s: %s", session.id, err)
            read = SessionReport(None, None, self.currency, MALFORMED)
        self.book.set_cost(session.id, self._next_cost(session, cost, read, settled, now))
        return True

    def _next_cost(
        self,
        session: Session,
        cost: SessionCost | None,
        read: SessionReport,
        settled: bool,
        now: datetime,
    ) -> SessionCost:
        """The session's cost after a report: its figure if it has one (else the last one),
        final when complete and the same as the last complete one of the ended session."""
        if read.pending == CURRENCY and (cost is None or cost.pending != CURRENCY):
            _LOGGER.warning(
                "Flatpeak's cost report of charging session %s is in %s, not %s: "
                "its cost stays pending",
                session.id,
                read.currency or "no currency",
                self.currency,
            )
        complete = settled and read.pending is None
        agrees = (
            complete
            and cost is not None
            and cost.checked
            and cost.cost is not None
            and cost.energy_kwh is not None
            and read.cost is not None
            and read.energy_kwh is not None
            and abs(cost.cost - read.cost) < 1e-9
            and abs(cost.energy_kwh - read.energy_kwh) < 1e-9
        )
        figure: tuple[float | None, float | None, str]
        if read.cost is not None:
            figure = (read.cost, read.energy_kwh, read.currency)
        elif cost is not None:
            figure = (cost.cost, cost.energy_kwh, cost.currency)
        else:
            figure = (None, None, self.currency)
        misses = (cost.misses if cost else 0) + 1 if settled and read.pending else 0
        return SessionCost(
            cost=figure[0],
            energy_kwh=figure[1],
            currency=figure[2],
            checked=complete,
            final=agrees,
            pending=read.pending,
            misses=misses,
            retry_at=now + pending_delay(misses) if misses else None,
        )

    def diagnostics(self) -> dict[str, Any]:
        """The last few sessions with their costs, for the diagnostics download."""
        return self.book.diagnostics(self._trackers)
