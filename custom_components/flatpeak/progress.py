"""Upload progress of one config entry: a typed model and its versioned Store.

Version 1 (before netting looked back) kept a string-keyed dict with a ``deficit`` per
stream; it migrates to version 2 with that deficit as the carry and no recent periods.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store

from .confirmed import ConfirmedPeriods
from .const import DOMAIN
from .planner import Period, StreamState
from .sessions import Session

STORE_VERSION = 2


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

    ``checked``: the last fetch was made with every interval of the ended session at Flatpeak;
    ``final``: two such fetches agreed; ``notified``: its ``session_completed`` event fired.
    """

    cost: float
    energy_kwh: float
    currency: str
    checked: bool = False
    final: bool = False
    notified: bool = False

    def as_dict(self) -> dict[str, Any]:
        """For the Store."""
        return {
            "cost": self.cost,
            "energy_kwh": self.energy_kwh,
            "currency": self.currency,
            "checked": self.checked,
            "final": self.final,
            "notified": self.notified,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SessionCost:
        """From the Store."""
        return cls(
            cost=float(data["cost"]),
            energy_kwh=float(data["energy_kwh"]),
            currency=str(data["currency"]),
            checked=bool(data.get("checked", False)),
            final=bool(data.get("final", False)),
            notified=bool(data.get("notified", False)),
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
        super().__init__(hass, STORE_VERSION, f"{DOMAIN}.{entry_id}")

    async def async_load_progress(self) -> Progress:
        """The stored progress, or a fresh one."""
        data = await self.async_load()
        return Progress.from_dict(data) if data else Progress()

    async def _async_migrate_func(
        self, old_major_version: int, old_minor_version: int, old_data: dict[str, Any]
    ) -> dict[str, Any]:
        """Version 1 → 2 (the only older one): deficit becomes carry, no recent periods."""
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
            "retry": [
                {**item, "session": item.get("session")} for item in old_data.get("retry", [])
            ],
            "sessions": old_data.get("sessions", {}),
            "last_success": old_data.get("last_success", {}),
            "rejected": int(old_data.get("rejected", 0)),
        }
