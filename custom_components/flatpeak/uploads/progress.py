"""Upload progress of one config entry: a typed model and its versioned Store.

Version 1 (before netting looked back) kept a string-keyed dict with a ``deficit`` per
stream; it migrates to version 2 with that deficit as the carry and no recent periods.
Version 2.2 adds each charging session's confirmed energy (``session_energy``): sessions
not final when an older file is read get a tally that is only a lower bound.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store

from ..const import DOMAIN
from ..core.confirmed import ConfirmedPeriods
from ..core.planner import Period, StreamState
from ..core.session_energy import SessionEnergy
from ..core.sessions import Session

STORE_VERSION = 2
STORE_MINOR_VERSION = 2


@dataclass(slots=True)
class RetryItem:
    """A period Flatpeak refused, to be sent again in the next cycle."""

    stream: str
    start: datetime
    kwh: float
    session: str | None
    attempts: int


@dataclass(slots=True)
class SessionCost:
    """What Flatpeak last said a charging session cost, and how far it is settled.

    ``cost``/``energy_kwh``/``currency``: the last report that could be read as a figure
    (None before any); ``checked``: the last fetch was made with every interval of the ended
    session at Flatpeak, and its report accounted for the session's confirmed energy;
    ``final``: two such fetches agreed; ``notified``: its ``session_completed`` event fired.
    ``pending``: why the last report was not complete (``no_report``, ``unpriced``,
    ``energy``, ``currency``, ``malformed``), None when it was; ``misses`` such reports in a
    row of the ended session, and ``retry_at`` when to ask again.
    """

    cost: float | None
    energy_kwh: float | None
    currency: str
    checked: bool = False
    final: bool = False
    notified: bool = False
    pending: str | None = None
    misses: int = 0
    retry_at: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        """For the Store."""
        return {
            "cost": self.cost,
            "energy_kwh": self.energy_kwh,
            "currency": self.currency,
            "checked": self.checked,
            "final": self.final,
            "notified": self.notified,
            "pending": self.pending,
            "misses": self.misses,
            "retry_at": self.retry_at.isoformat() if self.retry_at else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SessionCost:
        """From the Store."""
        retry_at = data.get("retry_at")
        cost, energy = data.get("cost"), data.get("energy_kwh")
        return cls(
            cost=None if cost is None else float(cost),
            energy_kwh=None if energy is None else float(energy),
            currency=str(data["currency"]),
            checked=bool(data.get("checked", False)),
            final=bool(data.get("final", False)),
            notified=bool(data.get("notified", False)),
            pending=data.get("pending"),
            misses=int(data.get("misses", 0)),
            retry_at=datetime.fromisoformat(retry_at) if retry_at else None,
        )


@dataclass(slots=True)
class Progress:
    """Everything an entry's uploads must remember across restarts."""

    streams: dict[str, StreamState] = field(default_factory=dict)
    retry: list[RetryItem] = field(default_factory=list)
    sessions: dict[str, list[Session]] = field(default_factory=dict)
    last_success: dict[str, datetime] = field(default_factory=dict)
    rejected: int = 0
    # by session id (added within version 2: absent in older files)
    session_costs: dict[str, SessionCost] = field(default_factory=dict)
    # by stream key: the periods Flatpeak confirmed with energy (added within version 2)
    confirmed: dict[str, ConfirmedPeriods] = field(default_factory=dict)
    # by session id: what Flatpeak confirmed of it, while it is not final (version 2.2)
    session_energy: dict[str, SessionEnergy] = field(default_factory=dict)

    def confirmed_periods(self, stream_key: str) -> ConfirmedPeriods:
        """The stream's confirmed periods (empty for a stream never sent)."""
        return self.confirmed.setdefault(stream_key, ConfirmedPeriods())

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Progress:
        """From the Store (version 2)."""
        return cls(
            streams={key: _stream_from_dict(value) for key, value in data["streams"].items()},
            retry=[
                RetryItem(
                    stream=item["stream"],
                    start=datetime.fromisoformat(item["start"]),
                    kwh=float(item["kwh"]),
                    session=item.get("session"),
                    attempts=int(item["attempts"]),
                )
                for item in data["retry"]
            ],
            sessions={
                sub: [Session.from_dict(s) for s in items]
                for sub, items in data["sessions"].items()
            },
            last_success={
                sub: datetime.fromisoformat(value) for sub, value in data["last_success"].items()
            },
            rejected=int(data["rejected"]),
            session_costs={
                sid: SessionCost.from_dict(value)
                for sid, value in data.get("session_costs", {}).items()
            },
            confirmed={
                key: ConfirmedPeriods(ranges) for key, ranges in data.get("confirmed", {}).items()
            },
            session_energy={
                sid: SessionEnergy.from_dict(value)
                for sid, value in data.get("session_energy", {}).items()
            },
        )

    def as_dict(self) -> dict[str, Any]:
        """For the Store: a fresh structure, so it is a snapshot of now."""
        return {
            "streams": {key: _stream_as_dict(state) for key, state in self.streams.items()},
            "retry": [
                {
                    "stream": r.stream,
                    "start": r.start.isoformat(),
                    "kwh": r.kwh,
                    "session": r.session,
                    "attempts": r.attempts,
                }
                for r in self.retry
            ],
            "sessions": {sub: [s.as_dict() for s in items] for sub, items in self.sessions.items()},
            "last_success": {sub: when.isoformat() for sub, when in self.last_success.items()},
            "rejected": self.rejected,
            "session_costs": {sid: c.as_dict() for sid, c in self.session_costs.items()},
            "confirmed": {key: c.as_list() for key, c in self.confirmed.items() if len(c)},
            "session_energy": {sid: e.as_dict() for sid, e in self.session_energy.items()},
        }


def _stream_from_dict(data: dict[str, Any]) -> StreamState:
    return StreamState(
        cursor=datetime.fromisoformat(data["cursor"]),
        carry=float(data["carry"]),
        register=float(data["register"]),
        # [unix start, raw kWh, sent kWh]: compact, a day of periods per stream
        recent=[
            Period(datetime.fromtimestamp(start, UTC), float(raw), float(sent))
            for start, raw, sent in data["recent"]
        ],
    )


def _stream_as_dict(state: StreamState) -> dict[str, Any]:
    return {
        "cursor": state.cursor.isoformat(),
        "carry": state.carry,
        "register": state.register,
        "recent": [[int(p.start.timestamp()), p.raw, p.sent] for p in state.recent],
    }


class ProgressStore(Store[dict[str, Any]]):
    """The entry's progress file, migrated from older versions on load."""

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        """One file per entry."""
        super().__init__(
            hass, STORE_VERSION, f"{DOMAIN}.{entry_id}", minor_version=STORE_MINOR_VERSION
        )

    async def async_load_progress(self) -> Progress:
        """The stored progress, or a fresh one."""
        data = await self.async_load()
        return Progress.from_dict(data) if data else Progress()

    async def _async_migrate_func(
        self, old_major_version: int, old_minor_version: int, old_data: dict[str, Any]
    ) -> dict[str, Any]:
        """Version 1 → 2, then 2.1 → 2.2; a newer minor version is read as it is."""
        data = _from_version_1(old_data) if old_major_version == 1 else old_data
        if (old_major_version, old_minor_version) < (2, 2):
            data = _with_session_energy(data)
        return data


def _from_version_1(old_data: dict[str, Any]) -> dict[str, Any]:
    """Version 1 → 2: deficit becomes carry, no recent periods."""
    streams = {
        key: {
            "cursor": value["cursor"],
            "carry": float(value.get("deficit", 0.0)),
            "register": float(value.get("register", 0.0)),
            "recent": [],
        }
        for key, value in old_data.get("streams", {}).items()
        if value.get("cursor")
    }
    return {
        "streams": streams,
        "retry": [{**item, "session": item.get("session")} for item in old_data.get("retry", [])],
        "sessions": old_data.get("sessions", {}),
        "last_success": old_data.get("last_success", {}),
        "rejected": int(old_data.get("rejected", 0)),
    }


def _with_session_energy(data: dict[str, Any]) -> dict[str, Any]:
    """2.1 → 2.2: what Flatpeak confirmed of a session not final yet is unknown (a tally
    that is only a lower bound), and its earlier checks were made by the older rule."""
    costs: dict[str, Any] = {
        sid: cost if cost.get("final") else {**cost, "checked": False}
        for sid, cost in data.get("session_costs", {}).items()
    }
    energy = {
        session["id"]: SessionEnergy("", known=False).as_dict()
        for items in data.get("sessions", {}).values()
        for session in items
        if not costs.get(session["id"], {}).get("final")
    }
    return {**data, "session_costs": costs, "session_energy": energy}
