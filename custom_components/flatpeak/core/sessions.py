"""A charging session, what Flatpeak said it cost, and which records belong to it: plain data.

The session tracker opens and closes sessions from Home Assistant's states and the session
book keeps them; the uploader tags each period with the session that has most of it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
import hashlib
from typing import Any


def new_session_id(installation: str, device_id: str, start: datetime) -> str:
    """A session id unique per installation and charger (ids already stored stay as they are)."""
    digest = hashlib.sha256(f"{installation}|{device_id}|{start.isoformat()}".encode())
    return f"ha-session-{digest.hexdigest()[:20]}"


@dataclass(slots=True)
class Session:
    """One charging session; ``end`` is None while it is open.

    ``manual``: opened by the ``start_charging_session`` action; ``label`` is the user's.
    """

    id: str
    start: datetime
    end: datetime | None = None
    manual: bool = False
    label: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """For the Store (the optional keys only when set)."""
        data: dict[str, Any] = {
            "id": self.id,
            "start": self.start.isoformat(),
            "end": self.end.isoformat() if self.end else None,
        }
        if self.manual:
            data["manual"] = True
        if self.label:
            data["label"] = self.label
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Session:
        """From the Store."""
        end = data.get("end")
        return cls(
            id=data["id"],
            start=datetime.fromisoformat(data["start"]),
            end=datetime.fromisoformat(end) if end else None,
            manual=bool(data.get("manual", False)),
            label=data.get("label"),
        )


def session_for(sessions: list[Session], start: datetime, end: datetime) -> str | None:
    """The session a period belongs to: the one overlapping it most, or None."""
    best: tuple[float, str] | None = None
    for session in sessions:
        overlap = (min(end, session.end or end) - max(start, session.start)).total_seconds()
        if overlap > 0 and (best is None or overlap > best[0]):
            best = (overlap, session.id)
    return best[1] if best else None


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
