"""Schedules: the cheapest or dearest slots of a window, from the tariff engine's rates.

``POST /schedules/duration/{location_id}`` and ``POST /schedules/limit/{location_id}`` as
API.md ("Schedules: cheapest/dearest slots") states them, with its emulator decisions: the
window is searched in 1-minute steps counted from ``start_time``; a duration answer has
exactly ``duration`` minutes (equal prices: the earliest minutes); a limit answer has every
minute at or beyond the limit; chosen minutes that touch are merged into one slot whose
``price.average`` is the time-weighted mean of the rate over it.

The search (:func:`minute_prices`, :func:`cheapest_minutes`, :func:`limit_minutes`,
:func:`merge_minutes`) is plain functions over rate segments, so tests can check it alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
import math
from typing import Any, Literal

from .common import get_enum, get_str, get_time
from .costs import next_update, timeline
from .engine import RateSegment, format_rfc3339, round_money
from .errors import ApiError, invalid, missing
from .models import Location, new_id
from .state import EmulatorState

MAX_SCHEDULE_WINDOW = timedelta(days=3)
STEP = timedelta(minutes=1)
SEGMENTS = ("LOW", "HIGH")
SCHEDULE_DIRECTIONS = ("IMPORT", "EXPORT")
RELATIVE_MIN = 0.01
RELATIVE_MAX = 1.0

Segment = Literal["LOW", "HIGH"]


# --- the search ---------------------------------------------------------------------------


def minute_prices(segments: Sequence[RateSegment], start: datetime, minutes: int) -> list[float]:
    """Time-weighted mean rate of each whole minute ``[start + k, start + k + 1)``.

    ``segments`` must cover the minutes (as :func:`.costs.timeline` builds them). A minute
    that straddles a rate change averages both rates by the seconds of each.
    """
    prices: list[float] = []
    index = 0
    for k in range(minutes):
        left = start + k * STEP
        right = left + STEP
        while index < len(segments) and segments[index].end <= left:
            index += 1
        total = 0.0
        scan = index
        while scan < len(segments) and segments[scan].start < right:
            segment = segments[scan]
            overlap = (min(segment.end, right) - max(segment.start, left)).total_seconds()
            total += segment.rate * overlap
            scan += 1
        prices.append(total / STEP.total_seconds())
    return prices


def cheapest_minutes(prices: Sequence[float], duration: int, segment: Segment) -> list[int]:
    """The ``duration`` lowest (LOW) or highest (HIGH) minutes; equal prices: earliest first.

    Prices are compared rounded to 6 decimals, as money is reported, so float noise from
    averaging never decides between two minutes the answer shows at the same price.
    """
    rounded = [round_money(p) for p in prices]
    sign = 1 if segment == "LOW" else -1
    order = sorted(range(len(prices)), key=lambda i: (sign * rounded[i], i))
    return sorted(order[:duration])


def relative_values(prices: Sequence[float]) -> list[float]:
    """Each minute on the relative scale ``0.01 + 0.99 * (p - min) / (max - min)``, 6 decimals.

    When every price is equal the scale has no width: every minute is then both the lowest
    and the highest price of the window, so :func:`limit_minutes` lets all of them through.
    """
    rounded = [round_money(p) for p in prices]
    low, high = min(rounded), max(rounded)
    return [round(RELATIVE_MIN + 0.99 * (p - low) / (high - low), 6) for p in rounded]


def limit_minutes(
    prices: Sequence[float],
    segment: Segment,
    *,
    relative: float | None = None,
    absolute: float | None = None,
) -> list[int]:
    """Minutes at or below (LOW) / at or above (HIGH) the limit; ``absolute`` wins.

    The limit is inclusive: a minute exactly at it is chosen.
    """
    if not prices:
        return []
    if absolute is not None:
        values = [round_money(p) for p in prices]
        limit = absolute
    else:
        assert relative is not None
        rounded = [round_money(p) for p in prices]
        if min(rounded) == max(rounded):
            return list(range(len(prices)))
        values = relative_values(prices)
        limit = relative
    if segment == "LOW":
        return [i for i, value in enumerate(values) if value <= limit]
    return [i for i, value in enumerate(values) if value >= limit]


@dataclass(frozen=True, slots=True)
class Slot:
    """Chosen minutes that touch: [start, end) and the time-weighted mean rate over it."""

    start: datetime
    end: datetime
    average: float


def merge_minutes(minutes: Iterable[int], prices: Sequence[float], start: datetime) -> list[Slot]:
    """Runs of consecutive minute indexes as slots (``minutes`` in ascending order)."""
    runs: list[list[int]] = []
    for minute in minutes:
        if runs and runs[-1][-1] == minute - 1:
            runs[-1].append(minute)
        else:
            runs.append([minute])
    return [
        Slot(
            start + run[0] * STEP,
            start + (run[-1] + 1) * STEP,
            sum(prices[i] for i in run) / len(run),
        )
        for run in runs
    ]


# --- the request --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ScheduleRequest:
    """A checked schedule body: the window, what to look for, and the answer's UTC offset."""

    start: datetime
    end: datetime
    offset: timedelta
    segment: Segment
    direction: str

    @property
    def minutes(self) -> int:
        """Whole minutes of the window (a shorter remainder at its end is not searched)."""
        return int((self.end - self.start) // STEP)


def _offset(value: str) -> timedelta:
    """The UTC offset written in an RFC 3339 time (already checked by ``get_time``)."""
    offset = datetime.fromisoformat(value.upper()).utcoffset()
    assert offset is not None
    return offset


def parse_request(body: dict[str, Any]) -> ScheduleRequest:
    """The fields both schedule endpoints share (400 for anything API.md does not allow)."""
    if "direction" in body:
        # The stored anode limit reference still shows the 2024 name; the guides use
        # tariff_direction. The strict reading refuses the old name instead of guessing.
        raise invalid("direction", "is not a field of this API version; use tariff_direction")
    start = get_time(body, "start_time")
    end = get_time(body, "end_time")
    assert start is not None  # required=True
    assert end is not None
    if end <= start:
        raise invalid("end_time", "must be after start_time")
    if end - start > MAX_SCHEDULE_WINDOW:
        raise ApiError(
            400, "period_too_long", "The window from start_time to end_time exceeds 3 days"
        )
    segment = get_enum(body, "segment", SEGMENTS, None)
    if segment is None:
        raise missing("segment")
    direction = get_enum(body, "tariff_direction", SCHEDULE_DIRECTIONS, "IMPORT")
    get_str(body, "device_id")  # newer reference only: checked, not used (prices only)
    return ScheduleRequest(
        start,
        end,
        _offset(body["end_time"]),
        "LOW" if segment == "LOW" else "HIGH",
        str(direction),
    )


def parse_duration(body: dict[str, Any], window_minutes: int) -> int:
    """``duration``: a JSON integer of minutes from 1 to the window's whole minutes."""
    value = body.get("duration")
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= window_minutes:
        raise ApiError(
            400,
            "duration_invalid",
            f"duration must be a whole number of minutes from 1 to {window_minutes}",
        )
    return value


def _number(body: dict[str, Any], field: str) -> float | None:
    value = body.get(field)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise invalid(field, "must be a number")
    return float(value)


def parse_limit(body: dict[str, Any]) -> tuple[float | None, float | None]:
    """``(relative, absolute)``: at least one; a relative value is on the 0.01…1 scale."""
    relative = _number(body, "relative")
    absolute = _number(body, "absolute")
    if relative is not None and not RELATIVE_MIN <= relative <= RELATIVE_MAX:
        raise invalid("relative", "must be from 0.01 (lowest price) to 1 (highest price)")
    if relative is None and absolute is None:
        raise ApiError(400, "limit_missing", "Give relative or absolute")
    return relative, absolute


def schedule_guard(state: EmulatorState, location_id: str, direction: str) -> None:
    """422 while Connect is pending, or when the direction has no COMMODITY tariff."""
    if state.is_pending(location_id):
        raise ApiError(
            422,
            "pending_connect",
            f"Tariff for location '{location_id}' is still being processed; try again later",
        )
    if not state.has_tariff(location_id, direction):
        raise ApiError(
            422,
            "no_tariff_connected",
            f"Location '{location_id}' has no {direction.lower()} tariff connected",
        )


# --- the answer ---------------------------------------------------------------------------


def _format(moment: datetime, offset: timedelta) -> str:
    """RFC 3339 in the request's ``end_time`` offset (``Z`` for UTC)."""
    if not offset:
        return format_rfc3339(moment)
    local = moment.astimezone(timezone(offset))
    text = local.replace(tzinfo=None).isoformat()
    if local.microsecond:
        text = text.rstrip("0")
    sign = "-" if offset < timedelta(0) else "+"
    minutes = int(abs(offset).total_seconds()) // 60
    return f"{text}{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def schedule(
    state: EmulatorState,
    location: Location,
    account_id: str,
    body: dict[str, Any],
    *,
    kind: Literal["duration", "limit"],
) -> dict[str, Any]:
    """The ``schedule_duration`` / ``schedule_limit`` answer for a body (raises ApiError)."""
    request = parse_request(body)
    if kind == "duration":
        duration = parse_duration(body, request.minutes)
        relative = absolute = None
    else:
        relative, absolute = parse_limit(body)
    schedule_guard(state, location.id, request.direction)
    window_end = request.start + request.minutes * STEP
    rates = timeline(state, location.id, request.direction, request.start, window_end)
    prices = minute_prices(rates.segments, request.start, request.minutes)
    if kind == "duration":
        chosen = cheapest_minutes(prices, duration, request.segment)
    else:
        chosen = limit_minutes(prices, request.segment, relative=relative, absolute=absolute)
    slots = merge_minutes(chosen, prices, request.start)
    answer: dict[str, Any] = {
        "id": new_id("std" if kind == "duration" else "spl"),
        "object": f"schedule_{kind}",
        "live_mode": False,
        "location_id": location.id,
        "location_timezone": location.timezone,
        "currency_code": location.currency_code,
        "tariff_direction": request.direction,
        "next_update": _format(next_update(state, location.id), request.offset),
        "request": body,
        "data": [
            {
                "start_time": _format(slot.start, request.offset),
                "end_time": _format(slot.end, request.offset),
                "price": {"average": round_money(slot.average), "confidence": 1},
            }
            for slot in slots
        ],
    }
    if kind == "limit":
        answer["duration"] = len(chosen)
    answer["time_created"] = format_rfc3339(state.now().astimezone(UTC))
    answer["account_id"] = account_id
    return answer
