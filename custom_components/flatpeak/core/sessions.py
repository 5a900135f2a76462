"""A charging session and the rules of which records belong to it: plain data.

The session tracker (``sessions/tracker.py``) opens and closes them from Home Assistant's
states; the uploader tags each period with the session that has most of it.
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
