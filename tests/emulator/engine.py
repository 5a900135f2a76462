"""Cost engine of the Flatpeak emulator: tariff schedules, energy units, rates and cost rows.

Pure functions over datetimes and plain data (no aiohttp, no emulator state), so the numbers
can be tested on their own. All instants are timezone-aware; rates are per kWh in major
currency units; tariff schedules are in the location's local (wall-clock) time.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from itertools import pairwise
import math
from typing import Any, Literal

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
FULL_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
WEEKDAYS = frozenset(range(5))
WEEKEND = frozenset({5, 6})
ALL_DAYS = frozenset(range(7))
ALL_MONTHS = frozenset(range(1, 13))
SECONDS_PER_DAY = 86_400

ENERGY_UNITS = ("WH", "KWH")
POWER_UNITS = ("W", "KW")
UNITS = (*POWER_UNITS, *ENERGY_UNITS)

Aggregation = Literal["DAY", "MONTH"]


class ScheduleError(ValueError):
    """A tariff schedule that does not follow the documented structure."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field} {message}")
        self.field = field


# --- time helpers -------------------------------------------------------------------------


def parse_rfc3339(value: object, field: str = "time") -> datetime:
    """Parse an RFC 3339 timestamp (``Z`` or an offset is required) into a UTC datetime."""
    if not isinstance(value, str) or "T" not in value.upper():
        raise ValueError(f"{field} must be an RFC 3339 date-time string")
    try:
        parsed = datetime.fromisoformat(value.upper())
    except ValueError:
        raise ValueError(f"{field} must be an RFC 3339 date-time string") from None
    if parsed.tzinfo is None:
        # A naive time is ambiguous: the API requires an offset.
        raise ValueError(f"{field} must include a UTC offset (e.g. 'Z' or '+01:00')")
    return parsed.astimezone(UTC)


def format_rfc3339(moment: datetime) -> str:
    """Format an instant as RFC 3339 in UTC with a ``Z`` suffix (as the API answers)."""
    utc = moment.astimezone(UTC)
    text = f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}T{utc.hour:02d}:{utc.minute:02d}:"
    text += f"{utc.second:02d}"
    if utc.microsecond:
        text += f".{utc.microsecond:06d}".rstrip("0")
    return text + "Z"


def _parse_clock(value: object, field: str) -> int:
    """Parse ``HH:MM:SS`` into seconds after midnight."""
    if not isinstance(value, str):
        raise ScheduleError(field, "must be a string in HH:MM:SS format")
    try:
        parsed = time.fromisoformat(value)
    except ValueError:
        raise ScheduleError(field, "must be a string in HH:MM:SS format") from None
    if len(value) != 8 or parsed.tzinfo is not None:
        raise ScheduleError(field, "must be a string in HH:MM:SS format")
    return parsed.hour * 3600 + parsed.minute * 60 + parsed.second


# --- energy -----------------------------------------------------------------------------


def energy_wh(units: str, value: float, start: datetime, end: datetime) -> float:
    """Energy in Wh of a meter record: W/KW are constant power over [start, end)."""
    hours = (end - start).total_seconds() / 3600
    match units:
        case "WH":
            return float(value)
        case "KWH":
            return float(value) * 1000
        case "W":
            return float(value) * hours
        case "KW":
            return float(value) * 1000 * hours
    raise ValueError(f"units must be one of {', '.join(UNITS)}")


def round_energy(value: float) -> int:
    """Round Wh half up to an integer (the API reports integer WH; 10283.5 -> 10284)."""
    return math.floor(value + 0.5)


def round_money(value: float) -> float:
    """Round money to 6 decimals, which hides float noise but keeps sub-penny detail."""
    rounded = round(value, 6)
    return 0.0 if rounded == 0 else rounded


# --- tariff schedules ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HourRule:
    """One ``hours`` entry: [start, end) seconds of the local day at a rate per kWh."""

    start: int
    end: int  # 86400 when valid_to is "00:00:00" (end of day)
    rate: float

    def matches(self, second: int) -> bool:
        """Whether a local second-of-day falls in this rule (start > end wraps midnight)."""
        if self.start < self.end:
            return self.start <= second < self.end
        return second >= self.start or second < self.end


@dataclass(frozen=True, slots=True)
class DayRule:
    """One ``days_and_hours`` entry."""

    days: frozenset[int]  # Monday = 0
    hours: tuple[HourRule, ...]


@dataclass(frozen=True, slots=True)
class ScheduleEntry:
    """One entry of a schedule: the months it covers and its day rules."""

    months: frozenset[int]  # January = 1
    days: tuple[DayRule, ...]


@dataclass(frozen=True, slots=True)
class Schedule:
    """A parsed tariff-element schedule."""

    entries: tuple[ScheduleEntry, ...]

    def rate_at(self, local: datetime) -> float | None:
        """Rate of the first matching rule at a local wall time, or None if none matches.

        Within one element the entries are meant to be disjoint, so the first match wins.
        """
        second = local.hour * 3600 + local.minute * 60 + local.second
        weekday = local.weekday()
        for entry in self.entries:
            if local.month not in entry.months:
                continue
            for day_rule in entry.days:
                if weekday not in day_rule.days:
                    continue
                for hour_rule in day_rule.hours:
                    if hour_rule.matches(second):
                        return hour_rule.rate
        return None

    def boundaries(self) -> set[int]:
        """Seconds of the local day at which this schedule's rate may change."""
        found: set[int] = {0}
        for entry in self.entries:
            for day_rule in entry.days:
                for hour_rule in day_rule.hours:
                    found.add(hour_rule.start % SECONDS_PER_DAY)
                    found.add(hour_rule.end % SECONDS_PER_DAY)
        return found


def _parse_months(value: object, field: str) -> frozenset[int]:
    if not isinstance(value, list) or not value:
        raise ScheduleError(field, 'must be a non-empty list of month names or ["All"]')
    months: set[int] = set()
    for index, name in enumerate(value):
        if name == "All":
            months |= ALL_MONTHS
        elif isinstance(name, str) and name.title() in MONTHS:
            months.add(MONTHS.index(name.title()) + 1)
        else:
            raise ScheduleError(f"{field}[{index}]", f"must be 'All' or one of {', '.join(MONTHS)}")
    return frozenset(months)


def _parse_days(value: object, field: str) -> frozenset[int]:
    if not isinstance(value, list) or not value:
        raise ScheduleError(field, "must be a non-empty list of day names")
    days: set[int] = set()
    for index, name in enumerate(value):
        if name == "All":
            days |= ALL_DAYS
        elif name == "Weekday":
            days |= WEEKDAYS
        elif name == "Weekend":
            days |= WEEKEND
        elif isinstance(name, str) and name.title() in DAY_NAMES:
            days.add(DAY_NAMES.index(name.title()))
        elif isinstance(name, str) and name.title() in FULL_DAY_NAMES:
            days.add(FULL_DAY_NAMES.index(name.title()))
        elif isinstance(name, str) and name in {"1", "2", "3", "4", "5", "6", "7"}:
            # The 2024 spec mentions "day numbers": ISO numbering, Monday = 1.
            days.add(int(name) - 1)
        else:
            raise ScheduleError(
                f"{field}[{index}]",
                f"must be 'All', 'Weekday', 'Weekend' or one of {', '.join(DAY_NAMES)}",
            )
    return frozenset(days)


def _parse_rate(value: object, field: str) -> float:
    if not isinstance(value, list) or not value:
        raise ScheduleError(field, 'must be a non-empty list like [{"fixed": 0.245}]')
    first = value[0]
    if not isinstance(first, dict):
        raise ScheduleError(f"{field}[0]", "must be an object")
    fixed = first.get("fixed")
    if isinstance(fixed, bool) or not isinstance(fixed, int | float) or not math.isfinite(fixed):
        raise ScheduleError(f"{field}[0].fixed", "must be a number")
    # Tiers (to_kwh) are not modelled: the first tier's rate applies to all energy.
    return float(fixed)


def _parse_hours(value: object, field: str) -> tuple[HourRule, ...]:
    if not isinstance(value, list) or not value:
        raise ScheduleError(field, "must be a non-empty list")
    rules: list[HourRule] = []
    for index, item in enumerate(value):
        where = f"{field}[{index}]"
        if not isinstance(item, dict):
            raise ScheduleError(where, "must be an object")
        start = _parse_clock(item.get("valid_from", "00:00:00"), f"{where}.valid_from")
        end = _parse_clock(item.get("valid_to", "00:00:00"), f"{where}.valid_to")
        if end == 0:
            end = SECONDS_PER_DAY  # "00:00:00" as valid_to means the end of the day
        if start == end:
            raise ScheduleError(f"{where}.valid_to", "must differ from valid_from")
        rules.append(HourRule(start, end, _parse_rate(item.get("rate"), f"{where}.rate")))
    return tuple(rules)


def parse_schedule(raw: object, field: str = "schedule") -> Schedule:
    """Validate and parse a tariff schedule as documented in API.md's "Tariff structure"."""
    if not isinstance(raw, list) or not raw:
        raise ScheduleError(field, "must be a non-empty list")
    entries: list[ScheduleEntry] = []
    for index, item in enumerate(raw):
        where = f"{field}[{index}]"
        if not isinstance(item, dict):
            raise ScheduleError(where, "must be an object")
        months = _parse_months(item.get("months", ["All"]), f"{where}.months")
        days_and_hours = item.get("days_and_hours")
        if not isinstance(days_and_hours, list) or not days_and_hours:
            raise ScheduleError(f"{where}.days_and_hours", "must be a non-empty list")
        day_rules: list[DayRule] = []
        for day_index, day_item in enumerate(days_and_hours):
            day_where = f"{where}.days_and_hours[{day_index}]"
            if not isinstance(day_item, dict):
                raise ScheduleError(day_where, "must be an object")
            day_rules.append(
                DayRule(
                    _parse_days(day_item.get("days", ["All"]), f"{day_where}.days"),
                    _parse_hours(day_item.get("hours"), f"{day_where}.hours"),
                )
            )
        entries.append(ScheduleEntry(months, tuple(day_rules)))
    return Schedule(tuple(entries))


def rate_at(schedules: Iterable[Schedule], local: datetime) -> float:
    """Total rate at a local wall time: the sum over all elements that match (else 0)."""
    return sum((rate for s in schedules if (rate := s.rate_at(local)) is not None), 0.0)


# --- rate timelines -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RateSegment:
    """A stretch of time [start, end) with one constant total rate."""

    start: datetime
    end: datetime
    rate: float


def _local_midnight(day: date, tz: tzinfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def _offset_change(tz: tzinfo, day: date) -> datetime | None:
    """The UTC instant of a UTC-offset change (DST) during a local day, if there is one."""
    low = _local_midnight(day, tz)
    high = _local_midnight(day + timedelta(days=1), tz)
    before, after = low.astimezone(tz).utcoffset(), high.astimezone(tz).utcoffset()
    if before == after:
        return None
    # Binary search whole seconds: the first instant that already has the new offset.
    lo, hi = int(low.timestamp()), int(high.timestamp())
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if datetime.fromtimestamp(mid, tz).utcoffset() == before:
            lo = mid
        else:
            hi = mid
    return datetime.fromtimestamp(hi, UTC)


def rate_segments(
    schedules: Sequence[Schedule], tz: tzinfo, start: datetime, end: datetime
) -> list[RateSegment]:
    """Split [start, end) into maximal segments of constant total rate.

    Candidate change points are every schedule boundary on every local day (both readings of
    an ambiguous wall time) plus DST offset changes; the rate of each piece is evaluated at
    its start, and equal neighbours are merged.
    """
    if end <= start:
        return []
    seconds = set().union(*(s.boundaries() for s in schedules)) if schedules else {0}
    candidates = {start.astimezone(UTC), end.astimezone(UTC)}
    first_day = start.astimezone(tz).date() - timedelta(days=1)
    last_day = end.astimezone(tz).date() + timedelta(days=1)
    day = first_day
    while day <= last_day:
        for second in seconds:
            clock = time(second // 3600, second % 3600 // 60, second % 60)
            for fold in (0, 1):
                local = datetime.combine(day, clock, tzinfo=tz).replace(fold=fold)
                candidates.add(local.astimezone(UTC))
        if (change := _offset_change(tz, day)) is not None:
            candidates.add(change)
        day += timedelta(days=1)
    points = sorted(c for c in candidates if start <= c <= end)
    segments: list[RateSegment] = []
    for left, right in pairwise(points):
        if right <= left:
            continue
        rate = rate_at(schedules, left.astimezone(tz))
        if segments and segments[-1].rate == rate and segments[-1].end == left:
            segments[-1] = RateSegment(segments[-1].start, right, rate)
        else:
            segments.append(RateSegment(left, right, rate))
    return segments


class RateTimeline:
    """Rate segments over a span with fast lookup, for pricing many records at once."""

    def __init__(
        self, schedules: Sequence[Schedule], tz: tzinfo, start: datetime, end: datetime
    ) -> None:
        self.tz = tz
        self.schedules = tuple(schedules)
        self.segments = rate_segments(self.schedules, tz, start, end)
        self._starts = [segment.start for segment in self.segments]

    def rate_at(self, moment: datetime) -> float:
        """Rate at one instant (computed directly, so instants outside the span work too)."""
        return rate_at(self.schedules, moment.astimezone(self.tz))

    def cost(self, energy: float, start: datetime, end: datetime) -> float:
        """Cost of ``energy`` Wh spread evenly over [start, end), split at rate changes."""
        if end <= start:
            return energy / 1000 * self.rate_at(start)
        per_second = energy / (end - start).total_seconds()
        total = 0.0
        index = max(bisect_right(self._starts, start) - 1, 0)
        covered = 0.0
        while index < len(self.segments) and self.segments[index].start < end:
            segment = self.segments[index]
            left, right = max(segment.start, start), min(segment.end, end)
            if right > left:
                seconds = (right - left).total_seconds()
                covered += seconds
                total += per_second * seconds / 1000 * segment.rate
            index += 1
        missing = (end - start).total_seconds() - covered
        if missing > 1e-6:
            # The span was not built for this stretch: price it piecewise on demand.
            return sum(
                (
                    per_second * (s.end - s.start).total_seconds() / 1000 * s.rate
                    for s in rate_segments(self.schedules, self.tz, start, end)
                ),
                0.0,
            )
        return total


def merge_equal(segments: Iterable[RateSegment]) -> list[RateSegment]:
    """Merge adjacent segments with the same rate (price lists show one entry per rate)."""
    merged: list[RateSegment] = []
    for segment in segments:
        if merged and merged[-1].rate == segment.rate and merged[-1].end == segment.start:
            merged[-1] = RateSegment(merged[-1].start, segment.end, segment.rate)
        else:
            merged.append(segment)
    return merged


# --- records and reports ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Interval:
    """A meter record as the engine sees it: energy spread evenly over [start, end)."""

    start: datetime
    end: datetime
    energy_wh: float
    extra: Any = None  # the caller's record, carried through to report rows


def overlaps(interval: Interval, start: datetime, end: datetime) -> bool:
    """Whether any of the record lies in [start, end) (an instant record: its start does)."""
    if interval.end <= interval.start:
        return start <= interval.start < end
    return interval.start < end and interval.end > start


def clip(interval: Interval, start: datetime, end: datetime) -> tuple[datetime, datetime, float]:
    """The part of a record inside [start, end): its bounds and its prorated energy in Wh."""
    if interval.end <= interval.start:
        inside = start <= interval.start < end
        return interval.start, interval.start, interval.energy_wh if inside else 0.0
    left, right = max(interval.start, start), min(interval.end, end)
    if right <= left:
        return left, left, 0.0
    share = (right - left) / (interval.end - interval.start)
    return left, right, interval.energy_wh * share


def priced(interval: Interval, start: datetime, end: datetime, timeline: RateTimeline) -> float:
    """Cost of the part of a record inside [start, end)."""
    left, right, energy = clip(interval, start, end)
    if energy == 0:
        return 0.0
    return timeline.cost(energy, left, right)


def local_periods(
    tz: tzinfo, start: datetime, end: datetime, aggregation: Aggregation
) -> list[tuple[datetime, datetime]]:
    """Local calendar days or months overlapping [start, end), as UTC bounds clipped to it.

    DST makes some local days 23 or 25 hours long; the bounds are real instants, so each
    record lands in the local day it happened in.
    """
    periods: list[tuple[datetime, datetime]] = []
    local_day = start.astimezone(tz).date()
    if aggregation == "MONTH":
        local_day = local_day.replace(day=1)
    while True:
        if aggregation == "MONTH":
            following = (local_day.replace(day=28) + timedelta(days=4)).replace(day=1)
        else:
            following = local_day + timedelta(days=1)
        period_start = _local_midnight(local_day, tz)
        period_end = _local_midnight(following, tz)
        if period_start >= end:
            break
        left, right = max(period_start, start), min(period_end, end)
        if right > left:
            periods.append((left, right))
        local_day = following
    return periods


@dataclass(frozen=True, slots=True)
class CostRow:
    """One row of an energy-cost report, before rounding."""

    start: datetime
    end: datetime
    energy_wh: float
    cost: float
    record: Any = None  # set for per-record rows


def record_rows(
    intervals: Iterable[Interval],
    start: datetime,
    end: datetime,
    timeline_for: Callable[[Interval], RateTimeline],
) -> list[CostRow]:
    """One row per record overlapping [start, end), clipped to it and prorated.

    ``timeline_for(interval)`` returns the RateTimeline that prices that record (records of
    a device may belong to different locations).
    """
    rows: list[CostRow] = []
    for interval in sorted(intervals, key=lambda i: (i.start, i.end)):
        if not overlaps(interval, start, end):
            continue
        left, right, energy = clip(interval, start, end)
        cost = priced(interval, start, end, timeline_for(interval))
        rows.append(CostRow(left, right, energy, cost, interval.extra))
    return rows


def aggregated_rows(
    intervals: Sequence[Interval],
    start: datetime,
    end: datetime,
    tz: tzinfo,
    aggregation: Aggregation,
    *,
    timeline_for: Callable[[Interval], RateTimeline],
) -> list[CostRow]:
    """One row per local day/month of [start, end), each summing the records' parts in it."""
    # Sorted starts + the longest record bound the records that can touch a period, so a
    # year of days over many records stays fast.
    ordered = sorted(intervals, key=lambda i: i.start)
    starts = [i.start for i in ordered]
    longest = max((i.end - i.start for i in ordered), default=timedelta(0))
    rows: list[CostRow] = []
    for period_start, period_end in local_periods(tz, start, end, aggregation):
        energy = cost = 0.0
        first = bisect_left(starts, period_start - longest)
        last = bisect_left(starts, period_end)
        for interval in ordered[first:last]:
            if not overlaps(interval, period_start, period_end):
                continue
            energy += clip(interval, period_start, period_end)[2]
            cost += priced(interval, period_start, period_end, timeline_for(interval))
        rows.append(CostRow(period_start, period_end, energy, cost))
    return rows
