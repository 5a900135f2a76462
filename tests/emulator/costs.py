"""Cost reports, instant costs and prices: state + engine, answering API-shaped dicts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from .engine import (
    Aggregation,
    CostRow,
    Interval,
    RateTimeline,
    aggregated_rows,
    clip,
    format_rfc3339,
    merge_equal,
    overlaps,
    record_rows,
    round_energy,
    round_money,
)
from .errors import ApiError
from .models import Location, MeterRecord, new_id
from .state import EmulatorState

MAX_PRICE_WINDOW = timedelta(days=90)


def price_guard(state: EmulatorState, location_id: str) -> None:
    """422 when the location cannot be priced yet (pending Connect) or at all (no tariff)."""
    if state.is_pending(location_id):
        raise ApiError(
            422,
            "pending_connect",
            f"Tariff for location '{location_id}' is still being processed; try again later",
        )
    if not state.has_import_tariff(location_id):
        raise ApiError(
            422, "no_tariff_connected", f"Location '{location_id}' has no tariff connected"
        )


def next_update(state: EmulatorState, location_id: str) -> datetime:
    """When the location's price list is next published: the next local midnight.

    The emulator's tariffs are schedules that change only when a customer reconnects, so it
    suggests a refresh like a daily tariff update. Prices and schedules answer the same time.
    """
    zone = state.zone(location_id)
    tomorrow = state.now().astimezone(zone).date() + timedelta(days=1)
    return datetime.combine(tomorrow, datetime.min.time(), zone)


def timeline(
    state: EmulatorState, location_id: str, direction: str, start: datetime, end: datetime
) -> RateTimeline:
    """Rates of one direction at a location over [start, end).

    A direction without elements (EXPORT/LOCAL not set up) simply has rate 0.
    """
    schedules = [e.parsed for e in state.elements_for(location_id, direction)]
    return RateTimeline(schedules, state.zone(location_id), start, end)


def _cost_json(row: CostRow, *, with_refs: bool, priced: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = {
        "start_time": format_rfc3339(row.start),
        "end_time": format_rfc3339(row.end),
        "energy": {"value": round_energy(row.energy_wh)},
        "cost": {"value": round_money(row.cost) if priced else None, "confidence": 1},
    }
    record = row.record
    if with_refs and isinstance(record, MeterRecord):
        if record.session_reference_id is not None:
            body["session_reference_id"] = record.session_reference_id
        if record.record_reference_id is not None:
            body["record_reference_id"] = record.record_reference_id
    return body


def energy_cost(
    state: EmulatorState,
    *,
    account_id: str,
    object_id: str,
    location: Location,
    records: Sequence[MeterRecord],
    direction: str,
    start: datetime,
    end: datetime,
    aggregation: Aggregation | None,
) -> dict[str, Any]:
    """An ``energy_cost`` report over [start, end) for the given records.

    Only the part of each record inside the window counts (prorated by time); DAY/MONTH rows
    follow ``location``'s timezone. Records not costed yet (the report lag) are left out, or
    listed with a null amount in rows of their own (``report_lag_unpriced``, no aggregation).
    """
    unpriced = {id(r) for r in records if not state.is_costed(r)}
    if unpriced and (aggregation is not None or not state.report_lag_unpriced):
        records = [r for r in records if id(r) not in unpriced]
    intervals = [
        Interval(r.start, r.end, r.energy_wh, r) for r in records if r.tariff_direction == direction
    ]
    intervals = [i for i in intervals if overlaps(i, start, end)]
    for location_id in {location.id} | {i.extra.location_id for i in intervals}:
        price_guard(state, location_id)
    timelines: dict[str, RateTimeline] = {}
    for location_id in {i.extra.location_id for i in intervals}:
        spans = [clip(i, start, end)[:2] for i in intervals if i.extra.location_id == location_id]
        first, last = min(s[0] for s in spans), max(s[1] for s in spans)
        timelines[location_id] = timeline(state, location_id, direction, first, last)

    def timeline_for(interval: Interval) -> RateTimeline:
        return timelines[interval.extra.location_id]

    if aggregation is None:
        rows = record_rows(intervals, start, end, timeline_for)
    else:
        rows = aggregated_rows(
            intervals, start, end, state.zone(location.id), aggregation, timeline_for=timeline_for
        )
    body: dict[str, Any] = {
        "id": new_id("ecs"),
        "object": "energy_cost",
        "live_mode": False,
        "object_id": object_id,
        "tariff_direction": direction,
        "location_timezone": location.timezone,
        "currency_code": location.currency_code,
        "energy_units": "WH",
        "data": [
            _cost_json(row, with_refs=aggregation is None, priced=id(row.record) not in unpriced)
            for row in rows
        ],
        "account_id": account_id,
    }
    if aggregation is not None:
        body["aggregation"] = aggregation
    return body


def instant_cost(state: EmulatorState, record: MeterRecord) -> dict[str, Any]:
    """POST /costs/instant: one record priced at once, as a ``meter_record``."""
    price_guard(state, record.location_id)
    location = state.locations[record.location_id]
    end = max(record.end, record.start + timedelta(seconds=1))
    rates = timeline(state, record.location_id, record.tariff_direction, record.start, end)
    cost = rates.cost(record.energy_wh, record.start, record.end)
    data: dict[str, Any] = {
        "start_time": format_rfc3339(record.start),
        "end_time": format_rfc3339(record.end),
        "energy": {"value": round_energy(record.energy_wh)},
        "cost": {"value": round_money(cost), "confidence": 1},
    }
    if record.session_reference_id is not None:
        data["session_reference_id"] = record.session_reference_id
    if record.record_reference_id is not None:
        data["record_reference_id"] = record.record_reference_id
    return {
        "id": record.id,
        "object": "meter_record",
        "live_mode": False,
        "energy_flow_direction": record.energy_flow_direction,
        "tariff_direction": record.tariff_direction,
        "currency_code": location.currency_code,
        "energy_units": "WH",
        "data": data,
        "time_created": format_rfc3339(record.time_created),
        "account_id": record.account_id,
    }


def prices(
    state: EmulatorState,
    location: Location,
    direction: str,
    start: datetime,
    end: datetime,
) -> dict[str, Any]:
    """POST /prices/{location_id}: one entry per stretch of constant rate."""
    if end <= start:
        raise ApiError(400, "parameter_invalid", "end_time must be after start_time")
    if end - start > MAX_PRICE_WINDOW:
        raise ApiError(400, "window_too_long", "The requested window must not exceed 90 days")
    price_guard(state, location.id)
    segments = merge_equal(timeline(state, location.id, direction, start, end).segments)
    return {
        "object": "price",
        "live_mode": False,
        "location_id": location.id,
        "tariff_direction": direction,
        "currency_code": location.currency_code,
        "location_timezone": location.timezone,
        "next_update": format_rfc3339(next_update(state, location.id)),
        "data": [
            {
                "valid_from": format_rfc3339(s.start),
                "valid_to": format_rfc3339(s.end),
                "price": {"value": round_money(s.rate), "confidence": 1},
            }
            for s in segments
        ],
    }
