"""Typed models of the Flatpeak JSON this client sends and receives (anode field names).

Every ``from_dict`` takes the decoded JSON as it came (any type) and either returns a model or
raises :class:`FlatpeakResponseFormatError` naming what is wrong: a missing or wrong-typed
required field, an unparseable time, a body that is not an object. Optional fields that are
absent or ``null`` get their documented default. One module over 400 lines: one small class
per API object, read the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from itertools import pairwise
import math
import re
from typing import Any

from .exceptions import FlatpeakBatchMismatchError, FlatpeakResponseFormatError
from .reading import (
    array,
    flag,
    json_object,
    number,
    optional_object,
    optional_str,
    optional_time,
    required_int,
    required_str,
    required_time,
)

# RFC 6750 section 2.1: the characters a bearer token may have.
_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")


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


_TARIFF_STATES = frozenset(state.value for state in TariffState)


def format_time(value: datetime) -> str:
    """RFC 3339 in UTC with a ``Z``; naive datetimes are refused (they are ambiguous)."""
    if value.tzinfo is None:
        raise ValueError(f"datetime {value.isoformat()} has no timezone")
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class ListPage:
    """One page of a list envelope ``{"object": "list", "has_more", "data": [...]}``."""

    items: list[dict[str, Any]]
    has_more: bool

    @classmethod
    def from_dict(cls, data: Any, what: str = "list") -> ListPage:
        """Check the envelope and that every item is an object (items are parsed by the caller)."""
        body = json_object(data, what)
        items = array(body, "data", what, required=True)
        for index, item in enumerate(items):
            json_object(item, f"{what}.data[{index}]")
        return cls(items=items, has_more=flag(body, "has_more", what))


@dataclass(frozen=True, slots=True)
class Token:
    """A bearer token from ``GET /login``."""

    bearer_token: str = field(repr=False)
    expires_in: int
    live_mode: bool

    @classmethod
    def from_dict(cls, data: Any) -> Token:
        """Build from the login response; ``expires_in`` must be a positive integer.

        The token must be an RFC 6750 ``b64token``: anything else (a line break, a space)
        could not be sent in a header, and a kept token would fail every later call.
        """
        body = json_object(data, "login")
        token = required_str(body, "bearer_token", "login")
        if not _B64TOKEN.fullmatch(token):
            raise FlatpeakResponseFormatError("login.bearer_token is not a valid bearer token")
        return cls(
            bearer_token=token,
            expires_in=required_int(body, "expires_in", "login", minimum=1),
            live_mode=flag(body, "live_mode", "login"),
        )


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
    def from_dict(cls, data: Any) -> Device:
        """Build from a device object."""
        body = json_object(data, "device")
        locations = array(body, "locations", "device")
        if not all(isinstance(location, str) for location in locations):
            raise FlatpeakResponseFormatError("device.locations must be an array of ids")
        return cls(
            id=required_str(body, "id", "device"),
            reference_id=optional_str(body, "reference_id", "device"),
            type=optional_str(body, "type", "device"),
            live_mode=flag(body, "live_mode", "device"),
            locations=list(locations),
            last_seen=optional_time(body, "last_seen", "device"),
            time_created=optional_time(body, "time_created", "device"),
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
    def from_dict(cls, data: Any) -> PostalAddress:
        """Build from ``postal_address`` (null or missing fields stay ``None``)."""
        body = {} if data is None else json_object(data, "postal_address")
        return cls(
            **{
                key: optional_str(body, key, "postal_address")
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
    def from_dict(cls, data: Any) -> TariffStatus:
        """Build from ``tariff_status``; missing parts are NOT_CONNECTED, unknown ones ERROR."""
        body = {} if data is None else json_object(data, "tariff_status")

        def state(key: str) -> TariffState:
            raw = body.get(key)
            if raw is None:
                return TariffState.NOT_CONNECTED
            if isinstance(raw, str) and raw in _TARIFF_STATES:
                return TariffState(raw)
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
    def from_dict(cls, data: Any) -> Location:
        """Build from a location object (no timezone reads as UTC)."""
        body = json_object(data, "location")
        return cls(
            id=required_str(body, "id", "location"),
            reference_id=optional_str(body, "reference_id", "location"),
            timezone=optional_str(body, "timezone", "location") or "UTC",
            currency_code=optional_str(body, "currency_code", "location") or "",
            postal_address=PostalAddress.from_dict(body.get("postal_address")),
            tariff_status=TariffStatus.from_dict(body.get("tariff_status")),
            live_mode=flag(body, "live_mode", "location"),
        )

    @property
    def name(self) -> str:
        """A human name: the address, or the id when the address is empty."""
        return self.postal_address.one_line() or self.id


def check_record(
    location_id: str,
    start: datetime | None,
    end: datetime | None,
    value: float,
    confidence: float | None,
) -> None:
    """Raise ``ValueError`` naming a bad field of an interval record (times not given are
    not checked: the fields a series of records shares are checked once)."""
    if not location_id:
        raise ValueError("location_id is required")
    if start is not None and end is not None:
        if start.tzinfo is None or end.tzinfo is None:
            raise ValueError("start_time and end_time must be timezone-aware")
        if end < start:
            raise ValueError(f"end_time {end.isoformat()} is before start_time {start.isoformat()}")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"value must be a finite number >= 0, got {value!r}")
    if confidence is not None and not 0 <= confidence <= 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence!r}")


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
        check_record(self.location_id, self.start_time, self.end_time, self.value, self.confidence)

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

    @classmethod
    def from_dict(cls, data: Any, what: str = "failed_record") -> FailedRecord:
        """Build from one ``failed_records`` item (``record_num`` as Flatpeak gave it)."""
        body = json_object(data, what)
        return cls(
            record_num=required_int(body, "record_num", what),
            record_reference_id=optional_str(body, "record_reference_id", what),
            error=optional_str(body, "error", what) or "",
        )


@dataclass(frozen=True, slots=True)
class MeterBatch:
    """The merged result of one or more ``meter_batch`` responses."""

    batch_ids: list[str]
    records_submitted: int
    records_accepted: int
    records_processed: int
    failed_records: list[FailedRecord]

    @classmethod
    def from_dict(cls, data: Any, *, sent: int, cumulative: bool = False) -> MeterBatch:
        """Read the answer to one request that carried ``sent`` records (or readings).

        The answer must account for them: ``records_submitted == sent``, every failed
        ``record_num`` a distinct index below ``sent``, and accepted + failed == ``sent``
        (for cumulative readings at most ``sent``: the first reading is only a baseline).
        :class:`FlatpeakBatchMismatchError` otherwise, :class:`FlatpeakResponseFormatError`
        for a wrong shape.
        """
        what = "meter_batch"
        body = json_object(data, what)
        if body.get("object") not in (None, "meter_batch"):
            raise FlatpeakResponseFormatError(f"{what}.object is not meter_batch")
        batch_id = optional_str(body, "id", what)
        submitted = required_int(body, "records_submitted", what)
        accepted = required_int(body, "records_accepted", what)
        processed = (
            required_int(body, "records_processed", what)
            if body.get("records_processed") is not None
            else 0
        )
        failed = [
            FailedRecord.from_dict(item, f"{what}.failed_records[{index}]")
            for index, item in enumerate(array(body, "failed_records", what))
        ]
        unit = "readings" if cumulative else "records"

        def mismatch(detail: str) -> FlatpeakBatchMismatchError:
            return FlatpeakBatchMismatchError(
                f"Flatpeak's answer does not match the {sent} {unit} sent: {detail}", sent=sent
            )

        if submitted != sent:
            raise mismatch(f"records_submitted is {submitted}")
        numbers = [item.record_num for item in failed]
        if any(number >= sent for number in numbers):
            raise mismatch(f"a failed record_num is {max(numbers)}")
        if len(set(numbers)) != len(numbers):
            raise mismatch("a record is listed as failed twice")
        accounted = accepted + len(failed)
        if accounted > sent or (not cumulative and accounted != sent):
            raise mismatch(f"{accepted} accepted and {len(failed)} failed")
        return cls(
            batch_ids=[] if batch_id is None else [batch_id],
            records_submitted=submitted,
            records_accepted=accepted,
            records_processed=processed,
            failed_records=failed,
        )

    @classmethod
    def merge(cls, parts: Sequence[tuple[int, MeterBatch]]) -> MeterBatch:
        """Merge ``(offset, batch)`` pairs, shifting each ``record_num`` by its offset."""
        return cls(
            batch_ids=[batch_id for _, batch in parts for batch_id in batch.batch_ids],
            records_submitted=sum(batch.records_submitted for _, batch in parts),
            records_accepted=sum(batch.records_accepted for _, batch in parts),
            records_processed=sum(batch.records_processed for _, batch in parts),
            failed_records=[
                FailedRecord(offset + item.record_num, item.record_reference_id, item.error)
                for offset, batch in parts
                for item in batch.failed_records
            ],
        )


@dataclass(frozen=True, slots=True)
class CostRow:
    """One row of a cost report: energy in Wh and its cost in major currency units.

    ``priced`` is False when the row's cost is absent, null or not a finite number: Flatpeak
    did not say what it cost (``cost`` is then 0.0, which is not a figure to show or store).
    """

    start_time: datetime
    end_time: datetime
    energy_wh: float
    cost: float
    confidence: float
    session_reference_id: str | None = None
    record_reference_id: str | None = None
    priced: bool = True

    @classmethod
    def from_dict(cls, data: Any, what: str = "cost_row") -> CostRow:
        """Build from a cost row (``cost`` or the 2024 name ``tariff``); absent energy is 0,
        an absent or unreadable cost makes the row unpriced."""
        body = json_object(data, what)
        money_key = "cost" if body.get("cost") is not None else "tariff"
        money = optional_object(body, money_key, what)
        energy = optional_object(body, "energy", what)
        value = money.get("value")
        priced = (
            isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
        )
        return cls(
            start_time=required_time(body, "start_time", what),
            end_time=required_time(body, "end_time", what),
            energy_wh=number(energy, "value", f"{what}.energy", 0.0),
            cost=float(value) if priced and value is not None else 0.0,
            confidence=number(money, "confidence", f"{what}.{money_key}", 1.0),
            priced=priced,
            session_reference_id=optional_str(body, "session_reference_id", what),
            record_reference_id=optional_str(body, "record_reference_id", what),
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
    def from_dict(cls, data: Any, each_row: Callable[[CostRow], None] | None = None) -> EnergyCost:
        """Build from the response of the cost endpoints (``data`` is required).

        With ``each_row``, each row is checked the same way and given to it instead of
        kept (``rows`` is empty), and the decoded JSON of a row is dropped once it is read:
        a long report never has all of its rows alive at once twice over.
        """
        what = "energy_cost"
        body = json_object(data, what)
        rows = array(body, "data", what, required=True)
        cost = cls(
            id=optional_str(body, "id", what),
            object_id=optional_str(body, "object_id", what),
            tariff_direction=optional_str(body, "tariff_direction", what),
            timezone=optional_str(body, "location_timezone", what),
            currency_code=optional_str(body, "currency_code", what) or "",
            rows=[]
            if each_row is not None
            else [CostRow.from_dict(row, f"{what}.data[{i}]") for i, row in enumerate(rows)],
        )
        if each_row is not None:
            for i, row in enumerate(rows):
                rows[i] = None
                each_row(CostRow.from_dict(row, f"{what}.data[{i}]"))
        return cost

    @property
    def total_cost(self) -> float:
        """Sum of all rows' cost (see :attr:`priced`: an unpriced row counts as 0 here)."""
        return sum(row.cost for row in self.rows)

    @property
    def priced(self) -> bool:
        """Whether Flatpeak said what every row cost."""
        return all(row.priced for row in self.rows)

    def per_record(self) -> EnergyCost:
        """The report with one row per record: a record listed twice counts once, its
        later row in the place of its first (rows without a reference id all count)."""
        by_record: dict[str, int] = {}
        rows: list[CostRow] = []
        for row in self.rows:
            ref = row.record_reference_id
            if ref is not None and (index := by_record.get(ref)) is not None:
                rows[index] = row
                continue
            if ref is not None:
                by_record[ref] = len(rows)
            rows.append(row)
        return replace(self, rows=rows)

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
    def from_dict(cls, data: Any) -> InstantCost:
        """Build from a ``meter_record`` response."""
        what = "meter_record"
        body = json_object(data, what)
        return cls(
            id=optional_str(body, "id", what),
            currency_code=optional_str(body, "currency_code", what) or "",
            row=CostRow.from_dict(body.get("data"), f"{what}.data"),
        )


@dataclass(frozen=True, slots=True)
class PriceSlot:
    """A span with one price per kWh."""

    valid_from: datetime
    valid_to: datetime
    price: float
    confidence: float

    @classmethod
    def from_dict(cls, data: Any, what: str = "price_slot") -> PriceSlot:
        """Build from one item of a ``price`` object's ``data``."""
        body = json_object(data, what)
        price = json_object(body.get("price"), f"{what}.price")
        return cls(
            valid_from=required_time(body, "valid_from", what),
            valid_to=required_time(body, "valid_to", what),
            price=number(price, "value", f"{what}.price"),
            confidence=number(price, "confidence", f"{what}.price", 1.0),
        )


@dataclass(frozen=True, slots=True)
class Prices:
    """The answer of ``POST /prices/{location_id}``."""

    currency_code: str
    timezone: str | None
    next_update: datetime | None
    slots: list[PriceSlot]

    @classmethod
    def from_dict(cls, data: Any) -> Prices:
        """Build from a ``price`` object (``data`` is required)."""
        what = "price"
        body = json_object(data, what)
        return cls(
            currency_code=optional_str(body, "currency_code", what) or "",
            timezone=optional_str(body, "location_timezone", what),
            next_update=optional_time(body, "next_update", what),
            slots=[
                PriceSlot.from_dict(item, f"{what}.data[{index}]")
                for index, item in enumerate(array(body, "data", what, required=True))
            ],
        )

    def slot_at(self, when: datetime) -> PriceSlot | None:
        """The slot valid at ``when`` (``valid_from <= when < valid_to``), or ``None``."""
        for slot in self.slots:
            if slot.valid_from <= when < slot.valid_to:
                return slot
        return None


class ScheduleSegment(StrEnum):
    """Which end of the window's prices a schedule looks for."""

    LOW = "LOW"  # the cheapest slots (use energy)
    HIGH = "HIGH"  # the dearest slots (export, or stay off)


@dataclass(frozen=True, slots=True)
class ScheduleSlot:
    """One chosen span ``[start, end)`` and its mean price per kWh."""

    start: datetime
    end: datetime
    average_price: float
    confidence: float

    @classmethod
    def from_dict(cls, data: Any, what: str = "schedule_slot") -> ScheduleSlot:
        """Build from one item of a schedule's ``data``: ``price.average``, else ``price.value``.

        The anode guides name the mean ``average``, the newer reference ``value``; a slot
        with neither, or that does not end after it starts, is an answer the client cannot use.
        """
        body = json_object(data, what)
        price = json_object(body.get("price"), f"{what}.price")
        key = "average" if price.get("average") is not None else "value"
        start = required_time(body, "start_time", what)
        end = required_time(body, "end_time", what)
        if end <= start:
            raise FlatpeakResponseFormatError(f"{what} does not end after it starts")
        return cls(
            start=start,
            end=end,
            average_price=number(price, key, f"{what}.price"),
            confidence=number(price, "confidence", f"{what}.price", 1.0),
        )


@dataclass(frozen=True, slots=True)
class Schedule:
    """The answer of ``POST /schedules/duration/{id}`` or ``POST /schedules/limit/{id}``.

    ``slots`` are in time order and never overlap. ``total_minutes`` is a limit answer's own
    ``duration`` (Flatpeak's examples do not always match the slots listed, so it is kept as
    sent); ``None`` for a duration answer, whose total is the one asked for.
    """

    id: str | None
    currency_code: str
    timezone: str | None
    tariff_direction: TariffDirection
    next_update: datetime | None
    slots: tuple[ScheduleSlot, ...]
    total_minutes: int | None = None

    @classmethod
    def from_dict(
        cls, data: Any, *, tariff_direction: TariffDirection, limit: bool = False
    ) -> Schedule:
        """Build from a ``schedule_duration`` (or, with ``limit``, ``schedule_limit``) object.

        ``data`` is required; a ``tariff_direction`` other than the one asked for, slots that
        overlap, or (for a limit) no whole non-negative ``duration`` raise
        :class:`FlatpeakResponseFormatError`. An absent direction is the one asked for.
        """
        what = "schedule_limit" if limit else "schedule_duration"
        body = json_object(data, what)
        answered = optional_str(body, "tariff_direction", what)
        if answered is not None and answered != tariff_direction.value:
            raise FlatpeakResponseFormatError(
                f"{what}.tariff_direction is not the {tariff_direction.value} asked for"
            )
        slots = sorted(
            (
                ScheduleSlot.from_dict(item, f"{what}.data[{index}]")
                for index, item in enumerate(array(body, "data", what, required=True))
            ),
            key=lambda slot: slot.start,
        )
        for before, after in pairwise(slots):
            if after.start < before.end:
                raise FlatpeakResponseFormatError(f"{what}.data has overlapping slots")
        return cls(
            id=optional_str(body, "id", what),
            currency_code=optional_str(body, "currency_code", what) or "",
            timezone=optional_str(body, "location_timezone", what),
            tariff_direction=tariff_direction,
            next_update=optional_time(body, "next_update", what),
            slots=tuple(slots),
            total_minutes=required_int(body, "duration", what) if limit else None,
        )


@dataclass(frozen=True, slots=True)
class ConnectToken:
    """A Connect token; the customer opens the Connect page with ``?fp_cot=<token>``."""

    connect_token: str
    expires_in: int

    @classmethod
    def from_dict(cls, data: Any) -> ConnectToken:
        """Build from the ``POST /connect/token`` answer (no ``expires_in`` reads as 0)."""
        body = json_object(data, "connect_token")
        expires_in = body.get("expires_in")
        return cls(
            connect_token=required_str(body, "connect_token", "connect_token"),
            expires_in=0
            if expires_in is None
            else required_int(body, "expires_in", "connect_token"),
        )


@dataclass(frozen=True, slots=True)
class ConnectResult:
    """What a completed Connect session produced."""

    location_id: str
    is_tariff_processed: bool

    @classmethod
    def from_dict(cls, data: Any) -> ConnectResult:
        """Build from the ``GET /connect/tariff/token`` answer."""
        body = json_object(data, "connect_result")
        return cls(
            location_id=required_str(body, "location_id", "connect_result"),
            is_tariff_processed=flag(body, "is_tariff_processed", "connect_result"),
        )
