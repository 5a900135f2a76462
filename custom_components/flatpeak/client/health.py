"""Tariff health models: which tariff prices each part of a location
(``GET /locations/{id}/status``), and Flatpeak's events (``GET /events``).

Read leniently where Flatpeak's docs are loose: a status is compared trimmed and upper case
(one example has ``"CONNECTED "``), an unknown one is ERROR, a NOT_CONNECTED part may have
no provider or tariff, and an unreadable optional field is left out rather than failing the
whole answer. A body that is not an object or has no ``tariff_status`` object, or an event
without an id or type, still is an error (:class:`FlatpeakResponseFormatError`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .reading import json_object, parse_time, required_str

CONNECTED = "CONNECTED"
NOT_CONNECTED = "NOT_CONNECTED"
ERROR = "ERROR"
NOT_SUPPORTED = "NOT_SUPPORTED"
_STATES = frozenset({CONNECTED, NOT_CONNECTED, ERROR, NOT_SUPPORTED})
PARTS = ("commodity_import", "commodity_export", "non_commodity_import")


def _text(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    return value.strip() or None if isinstance(value, str) else None


def _object(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def _time(data: dict[str, Any], key: str) -> datetime | None:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        found = parse_time(value.strip())
    except ValueError:
        return None
    return found if found.tzinfo is not None else found.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class TariffPart:
    """One part of a location's tariff (import, export, grid fees) as ``/status`` tells it."""

    status: str = NOT_CONNECTED
    connection_type: str | None = None
    provider: str | None = None
    tariff_id: str | None = None
    tariff_name: str | None = None
    structure_type: str | None = None
    contract_end: datetime | None = None

    @property
    def connected(self) -> bool:
        """Whether the part prices energy."""
        return self.status == CONNECTED

    @classmethod
    def from_dict(cls, data: Any) -> TariffPart:
        """A part; a missing one is NOT_CONNECTED, one that is not an object ERROR."""
        if data is None:
            return cls()
        if not isinstance(data, dict):
            return cls(status=ERROR)
        raw = data.get("status")
        status = raw.strip().upper() if isinstance(raw, str) else ""
        provider = _object(data, "provider")
        tariff = _object(data, "tariff")
        return cls(
            status=status if status in _STATES else ERROR,
            connection_type=(_text(data, "connection_type") or "").upper() or None,
            provider=_text(provider, "display_name"),
            tariff_id=_text(tariff, "id"),
            tariff_name=_text(tariff, "display_name"),
            structure_type=(_text(tariff, "structure_type") or "").upper() or None,
            contract_end=_time(tariff, "contract_end_date"),
        )


@dataclass(frozen=True, slots=True)
class LocationStatus:
    """Each tariff part of a location."""

    commodity_import: TariffPart
    commodity_export: TariffPart
    non_commodity_import: TariffPart

    @classmethod
    def from_dict(cls, data: Any) -> LocationStatus:
        """Build from the ``GET /locations/{id}/status`` answer."""
        body = json_object(data, "location_status")
        parts = json_object(body.get("tariff_status"), "location_status.tariff_status")
        return cls(*(TariffPart.from_dict(parts.get(part)) for part in PARTS))

    def part(self, name: str) -> TariffPart:
        """The part named ``name`` (one of :data:`PARTS`)."""
        found: TariffPart = getattr(self, name)
        return found

    def part_of(self, tariff_id: str | None) -> str | None:
        """Which part has the tariff ``tariff_id``."""
        for name in PARTS:
            if tariff_id is not None and self.part(name).tariff_id == tariff_id:
                return name
        return None


@dataclass(frozen=True, slots=True)
class Event:
    """One of Flatpeak's events, with what this integration reads of its ``data``."""

    id: str
    type: str
    time_created: datetime | None
    location_id: str | None
    tariff_id: str | None

    @classmethod
    def from_dict(cls, data: Any) -> Event:
        """Build from one item of ``GET /events``."""
        body = json_object(data, "event")
        payload = _object(body, "data")
        location_id = _text(payload, "location_id")
        if location_id is None and _text(body, "type") == "location.update":
            location_id = _text(payload, "id")  # the location object itself
        return cls(
            id=required_str(body, "id", "event"),
            type=required_str(body, "type", "event"),
            time_created=_time(body, "time_created"),
            location_id=location_id,
            tariff_id=_text(payload, "tariff_id"),
        )
