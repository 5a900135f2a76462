"""Meter record validation and batches (PUT /meters/interval, /meters/cumulative/epoch).

Both endpoints always store what they accept: Flatpeak documents no ``non_persistent`` flag
for them, so the emulator ignores one (nothing may rely on it to keep a simulation out of a
customer's meter data). Only ``POST /costs/instant`` honours ``non_persistent``.
"""

from __future__ import annotations

from datetime import UTC, datetime
import math
from typing import Any

from .engine import UNITS, energy_wh, format_rfc3339, parse_rfc3339
from .errors import ApiError, invalid, missing, not_found
from .models import DIRECTIONS, FLOW_DIRECTIONS, MeterRecord, new_id
from .state import EmulatorState

MAX_RECORDS = 10_000
CUMULATIVE_UNITS = ("WH", "KWH")


class RecordError(ValueError):
    """One record is invalid; the message goes into ``failed_records``.

    ``field``/``kind`` let whole-request validation (cumulative) map it to an HTTP error.
    """

    def __init__(self, message: str, field: str | None = None, kind: str = "invalid") -> None:
        super().__init__(message)
        self.field = field
        self.kind = kind

    def to_api_error(self, value: object = None) -> ApiError:
        """The HTTP error for this problem when it concerns the whole request."""
        if self.kind == "missing" and self.field:
            return missing(self.field)
        if self.kind == "not_found" and self.field:
            return not_found(self.field.removesuffix("_id"), str(value))
        return ApiError(400, "parameter_invalid", str(self))


def _is_number(value: object) -> bool:
    return (
        not isinstance(value, bool)
        and isinstance(value, int | float)
        and math.isfinite(float(value))
    )


def _optional_str(raw: dict[str, Any], field: str) -> str | None:
    value = raw.get(field)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise RecordError(f"{field} must be a non-empty string")
    return value


def _enum(raw: dict[str, Any], field: str, allowed: tuple[str, ...], default: str) -> str:
    value = raw.get(field)
    if value is None:
        return default
    if value not in allowed:
        raise RecordError(f"{field} must be one of {', '.join(allowed)}")
    return str(value)


def _owner_fields(
    state: EmulatorState, account_id: str, raw: dict[str, Any]
) -> tuple[str, str | None]:
    """Validated (location_id, device_id) of a record or cumulative submission."""
    location_id = raw.get("location_id")
    if location_id is None:
        raise RecordError("location_id is required", "location_id", "missing")
    location = state.locations.get(location_id) if isinstance(location_id, str) else None
    if location is None or location.account_id != account_id:
        raise RecordError(f"location_id '{location_id}' not found", "location_id", "not_found")
    device_id = raw.get("device_id")
    if device_id is not None:
        device = state.devices.get(device_id) if isinstance(device_id, str) else None
        if device is None or device.account_id != account_id:
            raise RecordError(f"device_id '{device_id}' not found", "device_id", "not_found")
    return location_id, device_id


def parse_record(
    state: EmulatorState, account_id: str, raw: object, batch_id: str | None
) -> MeterRecord:
    """Validate one interval record and compute its exact energy; raises RecordError."""
    if not isinstance(raw, dict):
        raise RecordError("record must be a JSON object")
    location_id, device_id = _owner_fields(state, account_id, raw)
    record_reference_id = _optional_str(raw, "record_reference_id")
    session_reference_id = _optional_str(raw, "session_reference_id")
    flow = _enum(raw, "energy_flow_direction", FLOW_DIRECTIONS, "INBOUND")
    tariff_direction = _enum(raw, "tariff_direction", DIRECTIONS, "IMPORT")
    if raw.get("units") is None:
        raise RecordError("units is required")
    units = _enum(raw, "units", UNITS, "")
    value = raw.get("value")
    if value is None:
        raise RecordError("value is required")
    if not _is_number(value):
        raise RecordError("value must be a number")
    if value < 0:
        raise RecordError("value must not be negative")
    confidence = raw.get("confidence", 1)
    if not _is_number(confidence) or not 0 <= confidence <= 1:
        raise RecordError("confidence must be a number between 0 and 1")
    times: list[datetime] = []
    for field in ("start_time", "end_time"):
        if raw.get(field) is None:
            raise RecordError(f"{field} is required")
        try:
            times.append(parse_rfc3339(raw[field], field))
        except ValueError as err:
            raise RecordError(str(err)) from None
    start, end = times
    if end < start:
        raise RecordError("end_time must not be before start_time")
    return MeterRecord(
        id=new_id("mre"),
        account_id=account_id,
        location_id=location_id,
        device_id=device_id,
        record_reference_id=record_reference_id,
        session_reference_id=session_reference_id,
        energy_flow_direction=flow,
        tariff_direction=tariff_direction,
        units=units,
        value=float(value),
        confidence=float(confidence),
        start=start,
        end=end,
        energy_wh=energy_wh(units, float(value), start, end),
        batch_id=batch_id,
        time_created=state.now(),
    )


def _batch(
    state: EmulatorState,
    *,
    account_id: str,
    batch_id: str,
    submitted: int,
    accepted: int,
    failed: list[dict[str, Any]],
) -> dict[str, Any]:
    batch = {
        "id": batch_id,
        "object": "meter_batch",
        "live_mode": False,
        "records_submitted": submitted,
        "records_accepted": accepted,
        "records_processed": accepted,
        "failed_records": failed,
        "time_created": format_rfc3339(state.now()),
        "account_id": account_id,
    }
    state.batches[batch_id] = batch
    return batch


def _failure(index: int, raw: object, error: str) -> dict[str, Any]:
    failure: dict[str, Any] = {"record_num": index, "error": error}
    reference = raw.get("record_reference_id") if isinstance(raw, dict) else None
    if isinstance(reference, str):
        failure["record_reference_id"] = reference
    return failure


def submit_interval(state: EmulatorState, account_id: str, body: object) -> dict[str, Any]:
    """PUT /meters/interval: store the valid records, report the invalid ones."""
    if not isinstance(body, list):
        raise ApiError(400, "invalid_body", "Request body must be a JSON array of meter records")
    if len(body) > MAX_RECORDS:
        raise ApiError(
            400,
            "too_many_records",
            f"A batch may contain at most {MAX_RECORDS} records; got {len(body)}",
        )
    batch_id = new_id("bat")
    failed: list[dict[str, Any]] = []
    accepted: list[MeterRecord] = []
    for index, raw in enumerate(body):
        try:
            record = parse_record(state, account_id, raw, batch_id)
        except RecordError as err:
            failed.append(_failure(index, raw, str(err)))
            continue
        if (refusal := state.take_record_refusal(record)) is not None:
            failed.append(_failure(index, raw, refusal))
            continue
        accepted.append(record)
    for record in accepted:
        state.store_record(record)
    return _batch(
        state,
        account_id=account_id,
        batch_id=batch_id,
        submitted=len(body),
        accepted=len(accepted),
        failed=failed,
    )


def submit_cumulative(state: EmulatorState, account_id: str, body: object) -> dict[str, Any]:
    """PUT /meters/cumulative/epoch: difference register readings into interval records.

    The first valid reading is only a baseline. A reading whose time does not advance, or
    whose register decreased, goes to failed_records; a decreased register becomes the new
    baseline (treated as a meter reset), so later readings difference against it.
    """
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_body", "Request body must be a JSON object")
    try:
        location_id, device_id = _owner_fields(state, account_id, body)
        session_reference_id = _optional_str(body, "session_reference_id")
        flow = _enum(body, "energy_flow_direction", FLOW_DIRECTIONS, "INBOUND")
        tariff_direction = _enum(body, "tariff_direction", DIRECTIONS, "IMPORT")
    except RecordError as err:
        raise err.to_api_error(body.get(err.field) if err.field else None) from None
    units = body.get("units")
    if units is None:
        raise missing("units")
    if units not in CUMULATIVE_UNITS:
        raise invalid("units", f"must be one of {', '.join(CUMULATIVE_UNITS)}")
    data = body.get("data")
    if data is None:
        raise missing("data")
    if not isinstance(data, list):
        raise invalid("data", "must be an array of readings")
    if len(data) > MAX_RECORDS + 1:
        raise ApiError(
            400, "too_many_records", f"data may contain at most {MAX_RECORDS + 1} readings"
        )
    factor = 1000.0 if units == "KWH" else 1.0
    batch_id = new_id("bat")
    failed: list[dict[str, Any]] = []
    accepted: list[MeterRecord] = []
    baseline: tuple[float, float] | None = None  # (unix time, register value)
    for index, reading in enumerate(data):
        error = _reading_error(reading)
        if error is None and baseline is not None:
            if reading["time"] <= baseline[0]:
                error = "time must be after the previous reading's time"
            elif reading["value"] < baseline[1]:
                error = "value must not be lower than the previous reading (register decreased)"
                baseline = (float(reading["time"]), float(reading["value"]))
        if error is not None:
            failed.append(_failure(index, reading, error))
            continue
        time_, value = float(reading["time"]), float(reading["value"])
        if baseline is not None:
            start = datetime.fromtimestamp(baseline[0], UTC)
            end = datetime.fromtimestamp(time_, UTC)
            reference = reading.get("record_reference_id")
            accepted.append(
                MeterRecord(
                    id=new_id("mre"),
                    account_id=account_id,
                    location_id=location_id,
                    device_id=device_id,
                    # Derived from the owner and the interval so that a resubmission
                    # replaces, not adds, and two devices' readings never collide.
                    record_reference_id=reference
                    if isinstance(reference, str) and reference
                    else f"cum_{device_id or location_id}_{_epoch(baseline[0])}_{_epoch(time_)}",
                    session_reference_id=session_reference_id,
                    energy_flow_direction=flow,
                    tariff_direction=tariff_direction,
                    units=units,
                    value=value - baseline[1],
                    confidence=1.0,
                    start=start,
                    end=end,
                    energy_wh=(value - baseline[1]) * factor,
                    batch_id=batch_id,
                    time_created=state.now(),
                )
            )
        baseline = (time_, value)
    for record in accepted:
        state.store_record(record)
    return _batch(
        state,
        account_id=account_id,
        batch_id=batch_id,
        submitted=len(data),
        accepted=len(accepted),
        failed=failed,
    )


def _epoch(value: float) -> str:
    """Unix seconds as text for derived ids (no float noise for whole seconds)."""
    return str(int(value)) if value == int(value) else repr(value)


def _reading_error(reading: object) -> str | None:
    if not isinstance(reading, dict):
        return "reading must be a JSON object"
    if reading.get("time") is None:
        return "time is required"
    if not _is_number(reading["time"]):
        return "time must be a number (unix seconds)"
    if reading.get("value") is None:
        return "value is required"
    if not _is_number(reading["value"]):
        return "value must be a number"
    if reading["value"] < 0:
        return "value must not be negative"
    reference = reading.get("record_reference_id")
    if reference is not None and (not isinstance(reference, str) or not reference):
        return "record_reference_id must be a non-empty string"
    return None
