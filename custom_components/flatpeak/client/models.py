"""Typed models of the Flatpeak JSON this client sends and receives (anode field names)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
import math
from typing import Any


class EnergyFlowDirection(StrEnum):
    """Which way energy flowed through the meter."""

    INBOUND = "INBOUND"
    OUTBOUND = "OUTBOUND"


class TariffDirection(StrEnum):
    """Which price applies to a record."""

    IMPORT = "IMPORT"
    EXPORT = "EXPORT"
    LOCAL = "LOCAL"


class EnergyUnits(StrEnum):
    """Units of a meter record; W and KW mean constant power over the interval."""

    W = "W"
    KW = "KW"
    WH = "WH"
    KWH = "KWH"


class DeviceType(StrEnum):
    """Device types accepted by ``POST /devices``."""

    EV_CHARGER = "EV_CHARGER"
    ELECTRIC_VEHICLE = "ELECTRIC_VEHICLE"
    BATTERY_SYSTEM = "BATTERY_SYSTEM"
    PV_SYSTEM = "PV_SYSTEM"
    OTHER = "OTHER"


class Aggregation(StrEnum):
    """Aggregation of a cost report, in the location's timezone."""

    DAY = "DAY"
    MONTH = "MONTH"


class TariffState(StrEnum):
    """State of one tariff part of a location."""

    CONNECTED = "CONNECTED"
    NOT_CONNECTED = "NOT_CONNECTED"
    ERROR = "ERROR"
    NOT_SUPPORTED = "NOT_SUPPORTED"


def format_time(value: datetime) -> str:
    """RFC 3339 in UTC with a ``Z``; naive datetimes are refused (they are ambiguous)."""
    if value.tzinfo is None:
        raise ValueError(f"datetime {value.isoformat()} has no timezone")
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_time(value: str) -> datetime:
    """Parse an RFC 3339 time (``Z`` or offset)."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _opt_time(value: Any) -> datetime | None:
    return parse_time(value) if isinstance(value, str) else None


@dataclass(frozen=True, slots=True)
class Token:
    """A bearer token from ``GET /login``."""

    bearer_token: str = field(repr=False)
    expires_in: int
    live_mode: bool

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Token:
        """Build from the login response."""
        return cls(str(data["bearer_token"]), int(data["expires_in"]), bool(data.get("live_mode")))


@dataclass(frozen=True, slots=True)
class Device:
    """A Flatpeak device (house meter, EV charger, ...)."""

    id: str
    reference_id: str | None
    type: str | None
    live_mode: bool
    locations: list[str]
    last_seen: datetime | None
    time_created: datetime | None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Device:
        """Build from a device object."""
        return cls(
            id=data["id"],
            reference_id=data.get("reference_id"),
            type=data.get("type"),
            live_mode=bool(data.get("live_mode")),
            locations=[str(loc) for loc in data.get("locations") or []],
            last_seen=_opt_time(data.get("last_seen")),
            time_created=_opt_time(data.get("time_created")),
        )


@dataclass(frozen=True, slots=True)
class PostalAddress:
    """The supply address of a location."""

    address_line1: str | None = None
    address_line2: str | None = None
    city: str | None = None
    state: str | None = None
    post_code: str | None = None
    country_code: str | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> PostalAddress:
        """Build from ``postal_address`` (missing fields stay ``None``)."""
        data = data or {}
        return cls(
            **{
                key: data.get(key)
                for key in (
                    "address_line1",
                    "address_line2",
                    "city",
                    "state",
                    "post_code",
                    "country_code",
                )
            }
        )

    def one_line(self) -> str:
        """The address as one line, for titles and pickers."""
        parts = (self.address_line1, self.address_line2, self.city, self.post_code)
        return ", ".join(part for part in parts if part)


@dataclass(frozen=True, slots=True)
class TariffStatus:
    """Which tariff parts a location has connected."""

    commodity_import: TariffState = TariffState.NOT_CONNECTED
    commodity_export: TariffState = TariffState.NOT_CONNECTED
    non_commodity_import: TariffState = TariffState.NOT_CONNECTED
    non_commodity_export: TariffState = TariffState.NOT_CONNECTED
    local: TariffState = TariffState.NOT_CONNECTED

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> TariffStatus:
        """Build from ``tariff_status``; unknown states read as ERROR."""
        data = data or {}

        def state(key: str) -> TariffState:
            raw = data.get(key, TariffState.NOT_CONNECTED)
            try:
                return TariffState(raw)
            except ValueError:
                return TariffState.ERROR

        return cls(
            commodity_import=state("commodity_import"),
            commodity_export=state("commodity_export"),
            non_commodity_import=state("non_commodity_import"),
            non_commodity_export=state("non_commodity_export"),
            local=state("local"),
        )

    @property
    def import_connected(self) -> bool:
        """True when import energy can be priced."""
        return self.commodity_import is TariffState.CONNECTED


@dataclass(frozen=True, slots=True)
class Location:
    """A supply address with its tariffs."""

    id: str
    reference_id: str | None
    timezone: str
    currency_code: str
    postal_address: PostalAddress
    tariff_status: TariffStatus
    live_mode: bool

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Location:
        """Build from a location object."""
        return cls(
            id=data["id"],
            reference_id=data.get("reference_id"),
            timezone=data.get("timezone") or "UTC",
            currency_code=data.get("currency_code") or "",
            postal_address=PostalAddress.from_dict(data.get("postal_address")),
            tariff_status=TariffStatus.from_dict(data.get("tariff_status")),
            live_mode=bool(data.get("live_mode")),
        )

    @property
    def name(self) -> str:
        """A human name: the address, or the id when the address is empty."""
        return self.postal_address.one_line() or self.id


@dataclass(frozen=True, slots=True)
class MeterRecord:
    """One interval meter record to submit.

    ``value`` is energy for WH/KWH and constant power over the interval for W/KW.
    """

    location_id: str
    start_time: datetime
    end_time: datetime
    value: float
    units: EnergyUnits = EnergyUnits.KWH
    device_id: str | None = None
    record_reference_id: str | None = None
    session_reference_id: str | None = None
    energy_flow_direction: EnergyFlowDirection = EnergyFlowDirection.INBOUND
    tariff_direction: TariffDirection = TariffDirection.IMPORT
    confidence: float | None = None

    def validate(self) -> None:
        """Raise ``ValueError`` naming the bad field; called before any request."""
        if not self.location_id:
            raise ValueError("location_id is required")
        if self.start_time.tzinfo is None or self.end_time.tzinfo is None:
            raise ValueError("start_time and end_time must be timezone-aware")
        if self.end_time < self.start_time:
            raise ValueError(
                f"end_time {self.end_time.isoformat()} is before start_time "
                f"{self.start_time.isoformat()}"
            )
        if not math.isfinite(self.value) or self.value < 0:
            raise ValueError(f"value must be a finite number >= 0, got {self.value!r}")
        if self.confidence is not None and not 0 <= self.confidence <= 1:
            raise ValueError(f"confidence must be between 0 and 1, got {self.confidence!r}")

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of ``PUT /meters/interval`` (optional fields only when set)."""
        data: dict[str, Any] = {
            "location_id": self.location_id,
            "energy_flow_direction": self.energy_flow_direction.value,
            "tariff_direction": self.tariff_direction.value,
            "units": self.units.value,
            "value": self.value,
            "start_time": format_time(self.start_time),
            "end_time": format_time(self.end_time),
        }
        for key in ("device_id", "record_reference_id", "session_reference_id", "confidence"):
            if (value := getattr(self, key)) is not None:
                data[key] = value
        return data


@dataclass(frozen=True, slots=True)
class CumulativeReading:
    """One register reading for ``PUT /meters/cumulative/epoch``."""

    time: datetime
    value: float
    record_reference_id: str | None = None


@dataclass(frozen=True, slots=True)
class FailedRecord:
    """A record Flatpeak refused; ``record_num`` indexes the caller's whole submission."""

    record_num: int
    record_reference_id: str | None
    error: str


@dataclass(frozen=True, slots=True)
class MeterBatch:
    """The merged result of one or more ``meter_batch`` responses."""

    batch_ids: list[str]
    records_submitted: int
    records_accepted: int
    records_processed: int
    failed_records: list[FailedRecord]

    @classmethod
    def merge(cls, parts: list[tuple[int, dict[str, Any]]]) -> MeterBatch:
        """Merge ``(offset, meter_batch)`` pairs, shifting ``record_num`` by each offset."""
        failed = [
            FailedRecord(
                record_num=offset + int(item.get("record_num", 0)),
                record_reference_id=item.get("record_reference_id"),
                error=str(item.get("error", "")),
            )
            for offset, batch in parts
            for item in batch.get("failed_records") or []
        ]
        return cls(
            batch_ids=[str(batch["id"]) for _, batch in parts if "id" in batch],
            records_submitted=sum(int(b.get("records_submitted", 0)) for _, b in parts),
            records_accepted=sum(int(b.get("records_accepted", 0)) for _, b in parts),
            records_processed=sum(int(b.get("records_processed", 0)) for _, b in parts),
            failed_records=failed,
        )


@dataclass(frozen=True, slots=True)
class CostRow:
    """One row of a cost report: energy in Wh and its cost in major currency units."""

    start_time: datetime
    end_time: datetime
    energy_wh: float
    cost: float
    confidence: float
    session_reference_id: str | None = None
    record_reference_id: str | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CostRow:
        """Build from a cost row (``cost``, or the 2024 ``tariff`` name)."""
        money = data.get("cost") or data.get("tariff") or {}
        return cls(
            start_time=parse_time(data["start_time"]),
            end_time=parse_time(data["end_time"]),
            energy_wh=float((data.get("energy") or {}).get("value") or 0),
            cost=float(money.get("value") or 0),
            confidence=float(money.get("confidence", 1)),
            session_reference_id=data.get("session_reference_id"),
            record_reference_id=data.get("record_reference_id"),
        )


@dataclass(frozen=True, slots=True)
class EnergyCost:
    """An ``energy_cost`` report."""

    id: str | None
    object_id: str | None
    tariff_direction: str | None
    timezone: str | None
    currency_code: str
    rows: list[CostRow]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EnergyCost:
        """Build from the response of the cost endpoints."""
        return cls(
            id=data.get("id"),
            object_id=data.get("object_id"),
            tariff_direction=data.get("tariff_direction"),
            timezone=data.get("location_timezone"),
            currency_code=data.get("currency_code") or "",
            rows=[CostRow.from_dict(row) for row in data.get("data") or []],
        )

    @property
    def total_cost(self) -> float:
        """Sum of all rows' cost."""
        return sum(row.cost for row in self.rows)

    @property
    def total_energy_wh(self) -> float:
        """Sum of all rows' energy in Wh."""
        return sum(row.energy_wh for row in self.rows)


@dataclass(frozen=True, slots=True)
class InstantCost:
    """The answer of ``POST /costs/instant``."""

    id: str | None
    currency_code: str
    row: CostRow

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InstantCost:
        """Build from a ``meter_record`` response."""
        return cls(
            id=data.get("id"),
            currency_code=data.get("currency_code") or "",
            row=CostRow.from_dict(data["data"]),
        )


@dataclass(frozen=True, slots=True)
class PriceSlot:
    """A span with one price per kWh."""

    valid_from: datetime
    valid_to: datetime
    price: float
    confidence: float


@dataclass(frozen=True, slots=True)
class Prices:
    """The answer of ``POST /prices/{location_id}``."""

    currency_code: str
    timezone: str | None
    next_update: datetime | None
    slots: list[PriceSlot]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Prices:
        """Build from a ``price`` object."""
        return cls(
            currency_code=data.get("currency_code") or "",
            timezone=data.get("location_timezone"),
            next_update=_opt_time(data.get("next_update")),
            slots=[
                PriceSlot(
                    valid_from=parse_time(item["valid_from"]),
                    valid_to=parse_time(item["valid_to"]),
                    price=float(item["price"]["value"]),
                    confidence=float(item["price"].get("confidence", 1)),
                )
                for item in data.get("data") or []
            ],
        )

    def price_at(self, when: datetime) -> float | None:
        """The price valid at ``when``, or ``None`` outside the slots."""
        for slot in self.slots:
            if slot.valid_from <= when < slot.valid_to:
                return slot.price
        return None


@dataclass(frozen=True, slots=True)
class ConnectToken:
    """A Connect token; the customer opens the Connect page with ``?fp_cot=<token>``."""

    connect_token: str
    expires_in: int


@dataclass(frozen=True, slots=True)
class ConnectResult:
    """What a completed Connect session produced."""

    location_id: str
    is_tariff_processed: bool
