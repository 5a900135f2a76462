"""Energy statistics → 5-minute intervals: plain functions over plain data.

Every record the uploader sends covers one 5-minute period, whatever statistics it came from,
so a record's ``record_reference_id`` (stream + period start) is the same whether the energy was
read from 5-minute or hourly statistics. A re-upload therefore always replaces and never adds.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
import math

FIVE_MINUTES = timedelta(minutes=5)
HOUR = timedelta(hours=1)
PERIODS_PER_HOUR = 12
# Statistics are floats; an hour's 5-minute rows "add up" to its hourly row within this.
_SUM_TOLERANCE_KWH = 1e-6


@dataclass(frozen=True, slots=True)
class StatRow:
    """One statistics row: the energy ``change`` (kWh) over ``[start, start + period)``."""

    start: datetime
    kwh: float


@dataclass(frozen=True, slots=True)
class Interval:
    """Energy (kWh) over one 5-minute period."""

    start: datetime
    kwh: float

    @property
    def end(self) -> datetime:
        """End of the period."""
        return self.start + FIVE_MINUTES


def floor_time(value: datetime, step: timedelta) -> datetime:
    """``value`` rounded down to a multiple of ``step`` since the epoch (UTC)."""
    seconds = int(step.total_seconds())
    ts = int(value.timestamp())
    return datetime.fromtimestamp(ts - ts % seconds, UTC)


def rows_from_statistics(rows: Iterable[dict[str, object]]) -> list[StatRow]:
    """StatRows from recorder rows (``start`` as a timestamp or datetime, ``change`` maybe None)."""
    result: list[StatRow] = []
    for row in rows:
        change = row.get("change")
        start = row.get("start")
        if not isinstance(change, int | float) or not math.isfinite(change):
            continue
        if isinstance(start, int | float):
            start = datetime.fromtimestamp(start, UTC)
        if isinstance(start, datetime):
            result.append(StatRow(start.astimezone(UTC), float(change)))
    return result


def plan_intervals(
    five_minute: Sequence[StatRow], hourly: Sequence[StatRow], since: datetime, until: datetime
) -> list[Interval]:
    """The 5-minute intervals from ``since`` to ``until``, in time order.

    Per UTC hour, 5-minute rows are used when they account for the hour's energy, or when
    the hour has no hourly row yet. Otherwise (5-minute rows are purged after the recorder's
    keep days; hourly rows are kept) the hourly row is spread evenly over the hour's twelve
    periods. That can include periods before ``since`` in the same hour: sent again with the
    same reference ids, they replace what was sent from 5-minute rows, so the hour is whole
    and nothing is counted twice.
    """
    first_hour = floor_time(since, HOUR)
    by_hour: dict[datetime, list[StatRow]] = defaultdict(list)
    for row in five_minute:
        if first_hour <= row.start and row.start + FIVE_MINUTES <= until:
            by_hour[floor_time(row.start, HOUR)].append(row)
    hour_rows = {
        row.start: row for row in hourly if first_hour <= row.start and row.start + HOUR <= until
    }
    intervals: list[Interval] = []
    for hour in sorted(set(by_hour) | set(hour_rows)):
        rows = by_hour.get(hour, [])
        whole = hour_rows.get(hour)
        if whole is not None and abs(sum(r.kwh for r in rows) - whole.kwh) > _SUM_TOLERANCE_KWH:
            share = whole.kwh / PERIODS_PER_HOUR
            intervals.extend(
                Interval(hour + FIVE_MINUTES * i, share) for i in range(PERIODS_PER_HOUR)
            )
        else:
            intervals.extend(
                Interval(r.start, r.kwh)
                for r in sorted(rows, key=lambda r: r.start)
                if r.start >= since
            )
    return intervals


def net_negative(intervals: Sequence[Interval], deficit: float) -> tuple[list[Interval], float]:
    """Flatpeak takes no negative energy: a decrease is netted against later increases.

    A ``total`` sensor that dips and recovers (10.0 → 9.9 → 10.1) used 0.1 kWh, not 0.2.
    ``deficit`` (≥ 0) is what earlier decreases still owe; the new deficit is returned.
    """
    result: list[Interval] = []
    for interval in intervals:
        kwh = interval.kwh - deficit
        deficit = max(0.0, -kwh)
        result.append(Interval(interval.start, max(0.0, kwh)))
    return result, deficit


def periods_between(start: datetime, end: datetime) -> int:
    """How many whole 5-minute periods lie in ``[start, end)``."""
    return max(0, int((end - start) / FIVE_MINUTES))


def record_reference_id(stream: str, start: datetime) -> str:
    """Stable id of a stream's period: a retry or re-upload replaces instead of adding."""
    return f"ha-{stream}-{int(start.timestamp())}"
