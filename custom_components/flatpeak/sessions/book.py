"""The session book of one entry: its chargers' sessions, what Flatpeak confirmed of each and
what each cost, in a Store of its own (``flatpeak.<entry id>.sessions``).

It is the one owner of that state: the trackers open and close sessions, the uploader tags
periods and reports what Flatpeak confirmed, the session-cost coordinator prices, and the
actions and entities read, all through its methods. Up to upload progress 2.2 the sessions
lived in the progress file; the first load takes them from there and saves them here at
once, before the progress file is written without them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.storage import Store

from ..const import DOMAIN
from ..core.session_energy import ChargerRecord, SessionEnergy, tally_confirmed
from ..core.sessions import Session, SessionCost

STORE_VERSION = 1
# Sessions kept per charger, newest last: older ones (and their costs) are dropped.
KEEP = 200
# Sessions opened or closed are written this long after the change (several come together).
SAVE_DELAY = 1.0


def _book_store(hass: HomeAssistant, entry_id: str) -> Store[dict[str, Any]]:
    """The entry's session book file."""
    return Store(hass, STORE_VERSION, f"{DOMAIN}.{entry_id}.sessions")


async def async_remove_sessions(hass: HomeAssistant, entry_id: str) -> None:
    """Forget an entry's sessions (the entry is being removed)."""
    await _book_store(hass, entry_id).async_remove()


class SessionBook:
    """An entry's charging sessions, by charger (subentry id), with their costs and tallies."""

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        """Empty until :meth:`async_load`."""
        self._store = _book_store(hass, entry_id)
        self._sessions: dict[str, list[Session]] = {}
        self._costs: dict[str, SessionCost] = {}
        self._energy: dict[str, SessionEnergy] = {}
        self._dirty = False
        self._closed = False

    # -- the Store ----------------------------------------------------------------------

    async def async_load(self, legacy: Mapping[str, Any] | None) -> None:
        """Read the book; without one, adopt what an older progress file held (``legacy``)
        and write it at once, so the progress file may drop it."""
        data = await self._store.async_load()
        if data is None and legacy:
            data = {
                "sessions": legacy.get("sessions", {}),
                "costs": legacy.get("session_costs", {}),
                "energy": legacy.get("session_energy", {}),
            }
            self._read(data)
            await self._store.async_save(self._as_dict())
            return
        if data is not None:
            self._read(data)

    def _read(self, data: Mapping[str, Any]) -> None:
        self._sessions = {
            sub: [Session.from_dict(s) for s in items] for sub, items in data["sessions"].items()
        }
        # Costs and tallies are kept as long as their sessions are.
        known = {s.id for items in self._sessions.values() for s in items}
        self._costs = {
            sid: SessionCost.from_dict(c) for sid, c in data["costs"].items() if sid in known
        }
        self._energy = {
            sid: SessionEnergy.from_dict(e) for sid, e in data["energy"].items() if sid in known
        }

    def _as_dict(self) -> dict[str, Any]:
        """A fresh structure: a snapshot of now."""
        return {
            "sessions": {
                sub: [s.as_dict() for s in items] for sub, items in self._sessions.items()
            },
            "costs": {sid: c.as_dict() for sid, c in self._costs.items()},
            "energy": {sid: e.as_dict() for sid, e in self._energy.items()},
        }

    @callback
    def async_changed(self) -> None:
        """Write soon (sessions or costs changed)."""
        self._dirty = True
        if not self._closed:  # the final write is done; nothing may be written after it
            self._store.async_delay_save(self._as_dict, SAVE_DELAY)

    async def async_save(self) -> None:
        """Write now if anything changed (before the upload progress that depends on it)."""
        if self._dirty and not self._closed:
            self._dirty = False
            await self._store.async_save(self._as_dict())

    async def async_unload(self) -> None:
        """The last write; none after it."""
        if not self._closed:
            self._closed = True
            await self._store.async_save(self._as_dict())

    # -- sessions -------------------------------------------------------------------------

    def sessions(self, subentry_id: str) -> Sequence[Session]:
        """A charger's sessions, oldest first (not to be changed: use the methods)."""
        return self._sessions.get(subentry_id, ())

    def open_session(self, subentry_id: str) -> Session | None:
        """The charger's session in progress, if any."""
        items = self._sessions.get(subentry_id)
        return items[-1] if items and items[-1].end is None else None

    def latest(self, subentry_id: str) -> Session | None:
        """The charger's open session, or else its last one."""
        items = self._sessions.get(subentry_id)
        return items[-1] if items else None

    @callback
    def async_open(self, subentry_id: str, session: Session) -> None:
        """A session began (the charger has none open)."""
        items = self._sessions.setdefault(subentry_id, [])
        items.append(session)
        for dropped in items[:-KEEP]:
            self._forget(dropped.id)
        del items[:-KEEP]
        self.async_changed()

    @callback
    def async_close(self, subentry_id: str, when: datetime) -> Session | None:
        """The open session ended at ``when`` (never before it began); None if none is open."""
        if (session := self.open_session(subentry_id)) is None:
            return None
        session.end = max(when, session.start)
        self.async_changed()
        return session

    def overlapping(self, subentry_id: str, start: datetime, end: datetime) -> list[Session]:
        """Copies of the charger's sessions that overlap ``[start, end)`` (for a worker)."""
        return [
            Session(s.id, s.start, s.end)
            for s in self._sessions.get(subentry_id, ())
            if s.start < end and (s.end is None or s.end > start)
        ]

    def chargers(self) -> list[str]:
        """The subentry ids with sessions."""
        return list(self._sessions)

    def _forget(self, session_id: str) -> None:
        self._costs.pop(session_id, None)
        self._energy.pop(session_id, None)

    # -- what Flatpeak confirmed and priced -----------------------------------------------

    def record_confirmed(self, records: Iterable[ChargerRecord]) -> None:
        """Records of chargers Flatpeak confirmed: each session that is not final keeps its
        periods' latest energy (see :func:`..core.session_energy.tally_confirmed`)."""
        records = list(records)
        tracked = {s.id for items in self._sessions.values() for s in items}

        def wanted(session_id: str) -> bool:
            cost = self._costs.get(session_id)
            return session_id in tracked and (cost is None or not cost.final)

        before = len(self._energy)
        for session_id in [sid for sid in self._energy if not wanted(sid)]:
            del self._energy[session_id]
        tally_confirmed(self._energy, records, wanted=wanted)
        if records or len(self._energy) != before:
            self._dirty = True

    def energy(self, session_id: str) -> SessionEnergy | None:
        """What Flatpeak confirmed of a session that is not final (None: nothing)."""
        return self._energy.get(session_id)

    def cost(self, session_id: str) -> SessionCost | None:
        """What Flatpeak last said the session cost (None before any report)."""
        return self._costs.get(session_id)

    def set_cost(self, session_id: str, cost: SessionCost) -> None:
        """A session's cost after a report (written with :meth:`async_changed`)."""
        self._costs[session_id] = cost
        if cost.final:
            self._energy.pop(session_id, None)

    @callback
    def async_notified(self, session_id: str) -> None:
        """The session's ``session_completed`` event is about to fire: written at once, so it
        never fires twice."""
        if (cost := self._costs.get(session_id)) is not None:
            cost.notified = True
        self._dirty = True
        if not self._closed:
            self._store.async_delay_save(self._as_dict, 0)

    def diagnostics(self, chargers: Iterable[str]) -> dict[str, Any]:
        """The last few sessions of each charger with their costs and tallies."""
        return {
            sub: [
                {
                    **session.as_dict(),
                    **(cost.as_dict() if (cost := self._costs.get(session.id)) else {}),
                    **(
                        {
                            "confirmed_kwh": round(tally.kwh, 6),
                            "confirmed_records": len(tally.periods),
                            "confirmed_known": tally.known,
                        }
                        if (tally := self._energy.get(session.id)) is not None
                        else {}
                    ),
                }
                for session in self._sessions.get(sub, [])[-5:]
            ]
            for sub in chargers
        }
