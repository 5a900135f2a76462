"""Data objects of the Flatpeak emulator and their JSON (API) representations."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
import secrets
from typing import Any

from .engine import Schedule, format_rfc3339

DIRECTIONS = ("IMPORT", "EXPORT", "LOCAL")
ELEMENT_TYPES = ("COMMODITY", "NON_COMMODITY")
FLOW_DIRECTIONS = ("INBOUND", "OUTBOUND")
DEVICE_TYPES = (
    "EV_CHARGER",
    "ELECTRIC_VEHICLE",
    "BATTERY_SYSTEM",
    "PV_SYSTEM",
    "HEAT_PUMP",
    "HOUSE",
    "SMART_METER",
    "OTHER",
)

# country_code -> (IANA timezone, ISO 4217 currency); the location's zone drives local pricing.
COUNTRIES: dict[str, tuple[str, str]] = {
    "GB": ("Europe/London", "GBP"),
    "IE": ("Europe/Dublin", "EUR"),
    "FR": ("Europe/Paris", "EUR"),
    "DE": ("Europe/Berlin", "EUR"),
    "NL": ("Europe/Amsterdam", "EUR"),
    "ES": ("Europe/Madrid", "EUR"),
    "IT": ("Europe/Rome", "EUR"),
    "BE": ("Europe/Brussels", "EUR"),
    "AT": ("Europe/Vienna", "EUR"),
    "PT": ("Europe/Lisbon", "EUR"),
    "FI": ("Europe/Helsinki", "EUR"),
    "LU": ("Europe/Luxembourg", "EUR"),
    "GR": ("Europe/Athens", "EUR"),
    "EE": ("Europe/Tallinn", "EUR"),
    "LV": ("Europe/Riga", "EUR"),
    "LT": ("Europe/Vilnius", "EUR"),
    "SK": ("Europe/Bratislava", "EUR"),
    "SI": ("Europe/Ljubljana", "EUR"),
    "HR": ("Europe/Zagreb", "EUR"),
    "MT": ("Europe/Malta", "EUR"),
    "CY": ("Asia/Nicosia", "EUR"),
    "SE": ("Europe/Stockholm", "SEK"),
    "DK": ("Europe/Copenhagen", "DKK"),
    "NO": ("Europe/Oslo", "NOK"),
}

OLDEST_API_VERSION = "2024-08-24"


def new_id(prefix: str) -> str:
    """A Flatpeak-style id: prefix, underscore, 24 lowercase hex characters."""
    return f"{prefix}_{secrets.token_hex(12)}"


def new_api_key() -> str:
    """A test-mode secret key."""
    return f"sk_test_{secrets.token_hex(16)}"


def _time(moment: datetime | None) -> str | None:
    return None if moment is None else format_rfc3339(moment)


@dataclass(slots=True)
class Account:
    """An API account; ``api_version`` is its default version (None = the oldest)."""

    account_id: str
    api_key: str
    api_version: str | None = None
    disabled: bool = False

    def to_json(self) -> dict[str, Any]:
        """The account as /_emulator/accounts shows it."""
        return {
            "account_id": self.account_id,
            "api_key": self.api_key,
            "api_version": self.api_version,
            "disabled": self.disabled,
        }


@dataclass(slots=True)
class Device:
    """A device of an account."""

    id: str
    account_id: str
    reference_id: str
    time_created: datetime
    seq: int
    type: str | None = None
    locations: list[str] = field(default_factory=list)
    last_seen: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        """API representation."""
        return {
            "id": self.id,
            "object": "device",
            "live_mode": False,
            "reference_id": self.reference_id,
            "type": self.type,
            "locations": list(self.locations),
            "last_seen": _time(self.last_seen),
            "time_created": format_rfc3339(self.time_created),
            "account_id": self.account_id,
        }


@dataclass(slots=True)
class Location:
    """A supply address; its timezone and currency follow the country."""

    id: str
    account_id: str
    postal_address: dict[str, str]
    timezone: str
    currency_code: str
    time_created: datetime
    seq: int
    reference_id: str | None = None
    customer_id: str | None = None


@dataclass(slots=True)
class TariffElement:
    """A tariff element attached to a location."""

    id: str
    account_id: str
    location_id: str
    direction: str
    type: str
    schedule: list[Any]  # as submitted, echoed back
    parsed: Schedule
    time_created: datetime
    seq: int
    connection_type: str = "MANUAL"
    display_name: str | None = None
    provider_id: str | None = None
    contract_start_date: str | None = None
    contract_end_date: str | None = None
    # What /locations/{id}/status says of the part: CONNECTED, or ERROR once the tariff
    # expired or stopped syncing (an emulator decision: until a new tariff replaces it).
    health: str = "CONNECTED"
    structure_type: str = "TIME_OF_DAY"

    def to_json(self, timezone: str) -> dict[str, Any]:
        """API representation; optional fields that were not given are left out."""
        body: dict[str, Any] = {
            "id": self.id,
            "object": "tariff",
            "live_mode": False,
            "location_id": self.location_id,
            "is_linked": self.connection_type == "CONNECT",
            "connection_type": self.connection_type,
            "direction": self.direction,
            "type": self.type,
            "status": "CONNECTED",
            "timezone": timezone,
            "market_rates": False,
            "schedule": self.schedule,
            "time_created": format_rfc3339(self.time_created),
            "account_id": self.account_id,
        }
        optional = {
            "display_name": self.display_name,
            "provider_id": self.provider_id,
            "contract_start_date": self.contract_start_date,
            "contract_end_date": self.contract_end_date,
        }
        body.update({k: v for k, v in optional.items() if v is not None})
        return body


@dataclass(slots=True)
class MeterRecord:
    """A stored meter record; ``energy_wh`` is exact (float) energy."""

    id: str
    account_id: str
    location_id: str
    device_id: str | None
    record_reference_id: str | None
    session_reference_id: str | None
    energy_flow_direction: str
    tariff_direction: str
    units: str
    value: float
    confidence: float
    start: datetime
    end: datetime
    energy_wh: float
    batch_id: str | None
    time_created: datetime

    @property
    def owner(self) -> str:
        """Whose record it is: the device, else the location."""
        return self.device_id or self.location_id

    def to_json(self) -> dict[str, Any]:
        """Inspection representation (all fields, exact energy)."""
        return {
            "id": self.id,
            "account_id": self.account_id,
            "location_id": self.location_id,
            "device_id": self.device_id,
            "record_reference_id": self.record_reference_id,
            "session_reference_id": self.session_reference_id,
            "energy_flow_direction": self.energy_flow_direction,
            "tariff_direction": self.tariff_direction,
            "units": self.units,
            "value": self.value,
            "confidence": self.confidence,
            "start_time": format_rfc3339(self.start),
            "end_time": format_rfc3339(self.end),
            "energy_wh": self.energy_wh,
            "batch_id": self.batch_id,
            "time_created": format_rfc3339(self.time_created),
        }


@dataclass(slots=True)
class ConnectToken:
    """A Connect session: created by the API, completed on the hosted page."""

    token: str
    account_id: str
    callback_url: str
    time_created: datetime
    expires_at: datetime
    connect_url: str | None = None
    location_id: str | None = None
    tariff_direction: str = "IMPORT"
    tariff_type: str = "COMMODITY"
    tariff_id: str | None = None
    edit_tariff: bool = False
    disconnect_tariff: bool = False
    complete_action: str = ""
    completed_at: datetime | None = None
    tariff_choice: str | None = None


@dataclass(slots=True)
class BearerSession:
    """An issued bearer token."""

    token: str
    account_id: str
    expires_at: datetime


@dataclass(slots=True)
class Fault:
    """An injected failure for the next ``remaining`` matching API calls."""

    path: str
    status: int
    remaining: int
    method: str | None = None
    retry_after: float | None = None
    body: Any = None
    text: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    reflect_headers: str | None = None
    # Matching calls to let through (answered normally) before the fault applies.
    after: int = 0
    # No answer: the connection is closed (a reset; after ``hang``, a timeout to the client).
    disconnect: bool = False
    # Seconds (on the state's ``sleep``) before the fault answers or disconnects.
    hang: float = 0.0
    # The endpoint runs first and its effects stay; only its answer is replaced or lost.
    processed: bool = False

    def matches(self, method: str, path: str) -> bool:
        """Exact path, or a prefix when the pattern ends in ``*``; method if one was given."""
        if self.method is not None and self.method.upper() != method.upper():
            return False
        if self.path.endswith("*"):
            return path.startswith(self.path[:-1])
        return path == self.path

    def to_json(self) -> dict[str, Any]:
        """Inspection representation."""
        return {
            "path": self.path,
            "method": self.method,
            "status": self.status,
            "count": self.remaining,
            "retry_after": self.retry_after,
            "body": self.body,
            "text": self.text,
            "headers": dict(self.headers),
            "reflect_headers": self.reflect_headers,
            "after": self.after,
            "disconnect": self.disconnect,
            "hang": self.hang,
            "processed": self.processed,
        }


@dataclass(slots=True)
class Event:
    """Something Flatpeak tells about an account's objects (``GET /events``)."""

    id: str
    account_id: str
    type: str
    data: dict[str, Any]
    time_created: datetime
    seq: int

    def to_json(self) -> dict[str, Any]:
        """API representation."""
        return {
            "id": self.id,
            "object": "event",
            "live_mode": False,
            "type": self.type,
            "time_created": format_rfc3339(self.time_created),
            "data": self.data,
            "account_id": self.account_id,
        }
