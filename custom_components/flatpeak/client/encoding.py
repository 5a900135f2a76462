"""The JSON body of ``PUT /meters/interval``, written record by record.

No object is made per record (no :class:`MeterRecord`, no dict): a window of 10,000 records
would otherwise be 10,000 more objects for the garbage collector to track and promote, and
full collections stop Home Assistant's event loop for as long as they take. Each record is
a few string operations, so a worker thread writing them lets the loop run between records;
one ``json.dumps`` of 10,000 records is a single C call that holds the GIL for ~70 ms.

The text is what ``json.dumps([record.to_dict(), ...])`` gives for the same records.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
import json
from json.encoder import encode_basestring_ascii

from .models import (
    EnergyFlowDirection,
    EnergyUnits,
    MeterRecord,
    TariffDirection,
    check_record,
    format_time,
)

# json.dumps' own string encoder (ensure_ascii), without json.dumps' per-call overhead.
_quote = encode_basestring_ascii


def _number(value: float) -> str:
    """A number as json.dumps writes it (finite: records are checked first)."""
    return float.__repr__(value) if type(value) is float else json.dumps(value)


@dataclass(frozen=True, slots=True)
class EncodedRecords:
    """Interval records encoded as the body of one ``PUT /meters/interval``."""

    body: bytes
    count: int


class RecordSeries:
    """The fields a series of interval records shares (one stream's), written once."""

    __slots__ = ("_confidence", "_device", "_head", "location_id")

    def __init__(
        self,
        location_id: str,
        *,
        device_id: str | None = None,
        units: EnergyUnits = EnergyUnits.KWH,
        energy_flow_direction: EnergyFlowDirection = EnergyFlowDirection.INBOUND,
        tariff_direction: TariffDirection = TariffDirection.IMPORT,
        confidence: float | None = None,
    ) -> None:
        """The order of the keys is :meth:`MeterRecord.to_dict`'s."""
        self.location_id = location_id
        self._head = (
            f'{{"location_id": {_quote(location_id)}, '
            f'"energy_flow_direction": {_quote(energy_flow_direction.value)}, '
            f'"tariff_direction": {_quote(tariff_direction.value)}, '
            f'"units": {_quote(units.value)}, "value": '
        )
        self._device = "" if device_id is None else f', "device_id": {_quote(device_id)}'
        self._confidence = "" if confidence is None else f', "confidence": {_number(confidence)}'
        check_record(location_id, None, None, 0.0, confidence)

    @classmethod
    def of(cls, record: MeterRecord) -> RecordSeries:
        """The series a record belongs to."""
        return cls(
            record.location_id,
            device_id=record.device_id,
            units=record.units,
            energy_flow_direction=record.energy_flow_direction,
            tariff_direction=record.tariff_direction,
            confidence=record.confidence,
        )

    def encode(
        self,
        start: datetime,
        end: datetime,
        value: float,
        record_reference_id: str | None = None,
        session_reference_id: str | None = None,
    ) -> str:
        """One record's JSON object; ``ValueError`` names a bad field (as ``validate``)."""
        check_record(self.location_id, start, end, value, None)
        reference = (
            ""
            if record_reference_id is None
            else f', "record_reference_id": {_quote(record_reference_id)}'
        )
        session = (
            ""
            if session_reference_id is None
            else f', "session_reference_id": {_quote(session_reference_id)}'
        )
        return (
            f'{self._head}{_number(value)}, "start_time": "{format_time(start)}", '
            f'"end_time": "{format_time(end)}"{self._device}{reference}{session}'
            f"{self._confidence}}}"
        )


def encode_records(objects: list[str]) -> EncodedRecords:
    """The request body of records each encoded by :meth:`RecordSeries.encode`."""
    return EncodedRecords(f"[{', '.join(objects)}]".encode(), len(objects))


def encode_meter_records(records: list[MeterRecord] | tuple[MeterRecord, ...]) -> EncodedRecords:
    """The request body of ``records``; ``ValueError`` names the first bad one."""
    series: dict[tuple[object, ...], RecordSeries] = {}
    objects: list[str] = []
    for r in records:
        shared = (
            r.location_id,
            r.device_id,
            r.units,
            r.energy_flow_direction,
            r.tariff_direction,
            None if r.confidence is None else _number(r.confidence),  # 1 and 1.0 differ
        )
        if (each := series.get(shared)) is None:
            each = series[shared] = RecordSeries.of(r)
        objects.append(
            each.encode(
                r.start_time, r.end_time, r.value, r.record_reference_id, r.session_reference_id
            )
        )
    return encode_records(objects)
