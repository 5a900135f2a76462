"""Flatpeak cost rows → hourly statistics rows: plain functions over plain data.

The Energy dashboard reads a statistic's ``change`` between consecutive hourly ``sum``
values, so every hour of a window gets a row (zero where nothing was spent) and the sums run
on from the last row before the window: re-importing never leaves a jump, gap or duplicate.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, tzinfo

from .client import CostRow
from .planner import HOUR, floor_time


@dataclass(frozen=True, slots=True)
class HourRow:
    """One hour of a cost statistic: what it cost (``state``) and the running ``sum``."""

    start: datetime
    state: float
    sum: float


def floor_hour(value: datetime) -> datetime:
    """The UTC hour ``value`` falls in."""
    return floor_time(value, HOUR)


def hour_count(start: datetime, end: datetime) -> int:
    """How many UTC hours ``[start, end)`` has; ``start`` is a whole hour."""
    return max(0, -((start - end) // HOUR))


def empty_costs(start: datetime, end: datetime) -> array[float]:
    """Every UTC hour of ``[start, end)`` at a cost of 0, for :func:`add_cost` to fill:
    one float per hour in an array, not an object (or two) per hour."""
    return array("d", bytes(8 * hour_count(start, end)))


def add_cost(costs: array[float], start: datetime, row: CostRow) -> None:
    """Add the row's cost to the UTC hour its period starts in (the uploader's records
    never cross an hour); ``costs[0]`` is the hour ``start``. Rows outside are left out."""
    index = (row.start_time - start) // HOUR
    if 0 <= index < len(costs):
        costs[index] += row.cost


@dataclass(frozen=True, slots=True)
class CostHours:
    """Every UTC hour of a window from ``start``: what each cost (``states``) and the
    running ``sums``, as arrays: a year is two arrays, not 8,760 rows of objects."""

    start: datetime
    states: array[float]
    sums: array[float]

    @classmethod
    def from_costs(cls, start: datetime, costs: array[float], baseline: float) -> CostHours:
        """The hours of ``costs`` with running sums from ``baseline``, the ``sum`` of the
        last row before the window."""
        sums = array("d")
        total = baseline
        for value in costs:
            total += value
            sums.append(total)
        return cls(start, costs, sums)

    def __len__(self) -> int:
        return len(self.states)

    def row(self, index: int) -> HourRow:
        """The ``index``-th hour as a row."""
        return HourRow(self.start + index * HOUR, self.states[index], self.sums[index])

    def rows(self, indexes: Iterable[int]) -> list[HourRow]:
        """The rows of ``indexes``."""
        return [self.row(index) for index in indexes]

    def total_since(self, since: datetime) -> float:
        """What the hours from ``since`` cost."""
        first = hour_count(self.start, since)
        return sum(self.states[first:])


def changed_hours(hours: CostHours, written: CostHours | None) -> array[int]:
    """The indexes of the hours of ``hours`` that differ from ``written`` (what the recorder
    was last given: ``hours`` is what it will have been given once they are written)."""
    changed = array("q")
    if written is None:
        changed.extend(range(len(hours)))
        return changed
    offset = (hours.start - written.start) // HOUR
    count = len(written)
    old_states, old_sums = written.states, written.sums
    for index, (state, total) in enumerate(zip(hours.states, hours.sums, strict=True)):
        old = index + offset
        if 0 <= old < count and old_states[old] == state and old_sums[old] == total:
            continue
        changed.append(index)
    return changed


def local_start(now: datetime, zone: tzinfo, period: str) -> datetime:
    """The start of ``now``'s local day or month (``period`` "day" or "month"), aware."""
    local = now.astimezone(zone)
    day = local.date().replace(day=1) if period == "month" else local.date()
    return datetime(day.year, day.month, day.day, tzinfo=zone)
