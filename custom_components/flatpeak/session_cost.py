"""What each EV charging session costs, from Flatpeak's session report, and when that is final.

After each upload cycle, each charger's sessions that are not final are priced with one
``POST /costs/session/{session id}`` each, but only when it can tell something new: the open
session or an ended one whose intervals are not all at Flatpeak yet when the charger's upload
moved on; an ended session whose every interval is at Flatpeak (the stream's cursor is past its
end and none of its intervals waits for a retry) at each refresh until two such fetches agree.
Then it is final: never fetched again, and its ``session_completed`` event fires once. Ended
sessions that are not final 48 hours after their end are left alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
import logging
from typing import TYPE_CHECKING, Any

from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers.event import async_track_state_change_event
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from .client import FlatpeakClient, FlatpeakError, FlatpeakNotFoundError, FlatpeakTariffError
from .const import CONF_DEVICE_ID, DOMAIN
from .planner import FIVE_MINUTES, floor_time
from .progress import Progress, SessionCost
from .retry import Backoff, RetryPolicy
from .sessions import Session, SessionTracker
from .streams import CHARGER_STREAM, stream_key

if TYPE_CHECKING:
    from homeassistant.config_entries import ConfigEntry

    from .coordinator import UploadCoordinator
    from .tariff_gate import TariffGate

_LOGGER = logging.getLogger(__name__)

FETCH_FOR = timedelta(hours=48)
# After a failed refresh, none before this policy's delay (a 429's Retry-After the floor).
SESSION_RETRY = RetryPolicy(base=timedelta(minutes=1), cap=timedelta(hours=1))


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
        "energy_kwh": round(cost.energy_kwh, 6),
        "cost": round(cost.cost, 6),
        "currency": cost.currency,
    }
    if session.label:
        data["label"] = session.label
    return data


def all_at_flatpeak(progress: Progress, stream_key: str, session: Session) -> bool:
    """Every interval of an ended session is at Flatpeak: the cursor is past its end and
    none of its intervals waits for a retry."""
    if session.end is None:
        return False
    state = progress.streams.get(stream_key)
    if state is None or state.cursor < session.end:
        return False
    first = floor_time(session.start, FIVE_MINUTES)
    return not any(
        r.stream == stream_key and first <= r.start < session.end for r in progress.retry
    )


class SessionCostCoordinator(DataUpdateCoordinator[None]):
    """Prices one entry's charging sessions after upload cycles; entities read from it."""

    config_entry: ConfigEntry

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        client: FlatpeakClient,
        uploads: UploadCoordinator,
        gate: TariffGate,
        *,
        currency: str,
    ) -> None:
        """Refreshed after each upload cycle, not on a timer of its own."""
        super().__init__(
            hass, _LOGGER, config_entry=entry, name=f"{DOMAIN} session costs", update_interval=None
        )
        self.client = client
        self.uploads = uploads
        self.gate = gate
        self.currency = currency
        # per charger stream: (cursor, retry items) at its last refresh
        self._seen: dict[str, tuple[datetime | None, int]] = {}
        self._retry = Backoff(SESSION_RETRY)

    @callback
    def async_setup(self) -> None:
        """Follow the upload cycle, and show a session as soon as it opens or closes."""
        entry = self.config_entry
        entry.async_on_unload(self.uploads.async_add_listener(self._uploaded))
        entities = [t.entity_id for t in self.uploads.trackers.values() if t.entity_id]
        if entities:
            entry.async_on_unload(
                async_track_state_change_event(self.hass, entities, self._session_changed)
            )

    @callback
    def _uploaded(self) -> None:
        self.config_entry.async_create_background_task(
            self.hass, self.async_refresh(), f"{DOMAIN} session costs"
        )

    @callback
    def _session_changed(self, _event: Event[EventStateChangedData]) -> None:
        # The tracker subscribed first, so it has already opened or closed the session.
        self.async_update_listeners()

    @property
    def _progress(self) -> Progress:
        return self.uploads.uploader.progress

    def tracker(self, subentry_id: str) -> SessionTracker | None:
        """The charger's session tracker."""
        return self.uploads.trackers.get(subentry_id)

    def latest(self, subentry_id: str) -> ChargerSession | None:
        """The charger's open session, or else its last one."""
        tracker = self.tracker(subentry_id)
        if tracker is None or not tracker.sessions:
            return None
        session = tracker.sessions[-1]
        return ChargerSession(session, self._progress.session_costs.get(session.id))

    def pending(self, subentry_id: str) -> list[ChargerSession]:
        """Final sessions whose ``session_completed`` event has not fired, oldest first."""
        tracker = self.tracker(subentry_id)
        if tracker is None:
            return []
        costs = self._progress.session_costs
        return [
            ChargerSession(s, cost)
            for s in tracker.sessions
            if (cost := costs.get(s.id)) is not None and cost.final and not cost.notified
        ]

    @callback
    def async_notified(self, session_id: str) -> None:
        """The event of a session fired: remember it with the sessions (saved at once)."""
        if (cost := self._progress.session_costs.get(session_id)) is not None:
            cost.notified = True
        self.uploads.async_save_now()

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
        progress = self._progress
        changed: set[str] = set()
        try:
            for subentry_id, tracker in self.uploads.trackers.items():
                subentry = self.config_entry.subentries.get(subentry_id)
                if subentry is None:
                    continue
                key = stream_key(subentry.data[CONF_DEVICE_ID], CHARGER_STREAM)
                state = progress.streams.get(key)
                marker = (
                    state.cursor if state else None,
                    sum(1 for r in progress.retry if r.stream == key),
                )
                moved = self._seen.get(key) != marker
                for session in tracker.sessions:
                    if await self._async_price(progress, key, session, moved, now):
                        changed.add(subentry_id)
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
            self._prune(progress)
            for subentry_id in changed:
                if (changed_tracker := self.tracker(subentry_id)) is not None:
                    changed_tracker.async_changed()
        self._retry.succeeded()
        if changed:
            self.gate.succeeded()

    async def _async_price(
        self, progress: Progress, key: str, session: Session, moved: bool, now: datetime
    ) -> bool:
        """Fetch one session's cost if that can tell something new; whether it did."""
        cost = progress.session_costs.get(session.id)
        if cost is not None and cost.final:
            return False
        if session.end is not None and now - session.end > FETCH_FOR:
            return False
        settled = all_at_flatpeak(progress, key, session)
        if not settled and cost is not None and not moved:
            return False
        try:
            report = await self.client.get_session_cost(session.id)
        except FlatpeakNotFoundError:  # nothing of the session is at Flatpeak yet
            amount, energy, currency = 0.0, 0.0, self.currency
        else:
            amount = report.total_cost
            energy = report.total_energy_wh / 1000
            currency = report.currency_code or self.currency
        agrees = (
            cost is not None
            and cost.checked
            and abs(cost.cost - amount) < 1e-9
            and abs(cost.energy_kwh - energy) < 1e-9
        )
        progress.session_costs[session.id] = SessionCost(
            cost=amount,
            energy_kwh=energy,
            currency=currency,
            checked=settled,
            final=settled and agrees,
        )
        return True

    def _prune(self, progress: Progress) -> None:
        """Costs are kept as long as their sessions are."""
        known = {s.id for t in self.uploads.trackers.values() for s in t.sessions}
        for session_id in [sid for sid in progress.session_costs if sid not in known]:
            del progress.session_costs[session_id]

    def diagnostics(self) -> dict[str, Any]:
        """The last few sessions' costs, for the diagnostics download."""
        costs = self._progress.session_costs
        return {
            sub: [
                {"session": s.id, **(costs[s.id].as_dict() if s.id in costs else {})}
                for s in tracker.sessions[-5:]
            ]
            for sub, tracker in self.uploads.trackers.items()
        }
