"""Upload progress of one config entry: a typed model and its versioned Store.

Version 1 (before netting looked back) kept a string-keyed dict with a ``deficit`` per
stream; it migrates to version 2 with that deficit as the carry and no recent periods.
Version 2.2 added each charging session's confirmed energy (``session_energy``): sessions
not final when an older file is read get a tally that is only a lower bound. Up to 2.2 the
file also held the charging sessions and their costs; from 2.3 the session book keeps them
in a Store of its own, and takes them from an older file once (:attr:`Loaded.sessions`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store

from ..const import DOMAIN
from ..core.confirmed import ConfirmedPeriods
from ..core.records import Period, StreamState
from ..core.session_energy import SessionEnergy

STORE_VERSION = 2
STORE_MINOR_VERSION = 3
# What files up to 2.2 held of the charging sessions (the session book's since 2.3).
SESSION_KEYS = ("sessions", "session_costs", "session_energy")


@dataclass(slots=True)
class RetryItem:
    """A period Flatpeak refused, to be sent again in the next cycle."""

    stream: str
    start: datetime
    kwh: float
    session: str | None
    attempts: int


@dataclass(slots=True)
class Progress:
    """Everything an entry's uploads must remember across restarts."""

    streams: dict[str, StreamState] = field(default_factory=dict)
    retry: list[RetryItem] = field(default_factory=list)
    last_success: dict[str, datetime] = field(default_factory=dict)
    rejected: int = 0
    # by stream key: the periods Flatpeak confirmed with energy (added within version 2)
    confirmed: dict[str, ConfirmedPeriods] = field(default_factory=dict)

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
            last_success={
                sub: datetime.fromisoformat(value) for sub, value in data["last_success"].items()
            },
            rejected=int(data["rejected"]),
            confirmed={
                key: ConfirmedPeriods(ranges) for key, ranges in data.get("confirmed", {}).items()
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
            "last_success": {sub: when.isoformat() for sub, when in self.last_success.items()},
            "rejected": self.rejected,
            "confirmed": {key: c.as_list() for key, c in self.confirmed.items() if len(c)},
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

    async def async_load_progress(self) -> Loaded:
        """The stored progress (or a fresh one), and the sessions a file up to 2.2 held."""
        data = await self.async_load()
        if not data:
            return Loaded(Progress(), None)
        legacy = {key: data[key] for key in SESSION_KEYS if key in data}
        return Loaded(Progress.from_dict(data), legacy or None)

    async def _async_migrate_func(
        self, old_major_version: int, old_minor_version: int, old_data: dict[str, Any]
    ) -> dict[str, Any]:
        """Version 1 → 2, then 2.1 → 2.2; a newer minor version is read as it is. The
        sessions stay in the data until the session book has saved them (2.3)."""
        data = _from_version_1(old_data) if old_major_version == 1 else old_data
        if (old_major_version, old_minor_version) < (2, 2):
            data = _with_session_energy(data)
        return data


@dataclass(frozen=True, slots=True)
class Loaded:
    """A read progress file; ``sessions``: what a file up to 2.2 held of the charging
    sessions (``sessions``, ``session_costs``, ``session_energy``), for the session book."""

    progress: Progress
    sessions: dict[str, Any] | None


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
