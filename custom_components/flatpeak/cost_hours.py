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


def hourly_rows(
    rows: Iterable[CostRow], start: datetime, end: datetime, baseline: float
) -> list[HourRow]:
    """Every hour of ``[start, end)`` with the cost of the rows that start in it.

    A row counts in the UTC hour its period starts in (the uploader's records never cross an
    hour). ``baseline`` is the ``sum`` of the last row before ``start``.
    """
    cost = dict.fromkeys(hours_between(start, end), 0.0)
    for row in rows:
        hour = floor_hour(row.start_time)
        if hour in cost:
            cost[hour] += row.cost
    result = []
    total = baseline
    for hour, value in cost.items():
        total += value
        result.append(HourRow(hour, value, total))
    return result


def local_start(now: datetime, zone: tzinfo, period: str) -> datetime:
    """The start of ``now``'s local day or month (``period`` "day" or "month"), aware."""
    local = now.astimezone(zone)
    day = local.date().replace(day=1) if period == "month" else local.date()
    return datetime(day.year, day.month, day.day, tzinfo=zone)
