"""Flatpeak cost rows → hourly statistics rows: plain functions over plain data.

The Energy dashboard reads a statistic's ``change`` between consecutive hourly ``sum``
values, so every hour of a window gets a row (zero where nothing was spent) and the sums run
on from the last row before the window: re-importing never leaves a jump, gap or duplicate.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from .client import CostRow

HOUR = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class HourRow:
    """One hour of a cost statistic: what it cost (``state``) and the running ``sum``."""

    start: datetime
    state: float
    sum: float


def floor_hour(value: datetime) -> datetime:
    """The UTC hour ``value`` falls in."""
    return value.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def hours_between(start: datetime, end: datetime) -> list[datetime]:
    """Every UTC hour start in ``[start, end)``; ``start`` is a whole hour."""
    hours = []
    hour = start
    while hour < end:
        hours.append(hour)
        hour += HOUR
    return hours


def add_costs(hours: dict[datetime, float], rows: Iterable[CostRow]) -> None:
    """Add each row's cost to the UTC hour its period starts in (the uploader's records
    never cross an hour); rows outside ``hours`` are left out."""
    for row in rows:
        hour = floor_hour(row.start_time)
        if hour in hours:
            hours[hour] += row.cost


def empty_hours(start: datetime, end: datetime) -> dict[datetime, float]:
    """Every UTC hour of ``[start, end)`` at a cost of 0, for :func:`add_costs` to fill."""
    return dict.fromkeys(hours_between(start, end), 0.0)


def hourly_rows(costs: dict[datetime, float], baseline: float) -> list[HourRow]:
    """The hours of ``costs`` (every hour of a window, in order) with running sums from
    ``baseline``, the ``sum`` of the last row before the window."""
    result = []
    total = baseline
    for hour, value in costs.items():
        total += value
        result.append(HourRow(hour, value, total))
    return result


def changed_rows(
    hours: list[HourRow], written: dict[datetime, tuple[float, float]]
) -> tuple[list[HourRow], dict[datetime, tuple[float, float]]]:
    """The rows of ``hours`` that differ from ``written`` (what the recorder was last
    given), and what it will have been given once they are written."""
    changed = [row for row in hours if written.get(row.start) != (row.state, row.sum)]
    return changed, {row.start: (row.state, row.sum) for row in hours}


def slices(rows: list[HourRow], size: int) -> list[list[HourRow]]:
    """``rows`` in order, ``size`` at a time."""
    return [rows[first : first + size] for first in range(0, len(rows), size)]


def local_start(now: datetime, zone: tzinfo, period: str) -> datetime:
    """The start of ``now``'s local day or month (``period`` "day" or "month"), aware."""
    local = now.astimezone(zone)
    day = local.date().replace(day=1) if period == "month" else local.date()
    return datetime(day.year, day.month, day.day, tzinfo=zone)
