"""Flatpeak cost rows → hourly statistics rows: plain functions over plain data.

The Energy dashboard reads a statistic's ``change`` between consecutive hourly ``sum``
values, so every hour of a window gets a row (zero where nothing was spent) and the sums run
on from the last row before the window: re-importing never leaves a jump, gap or duplicate.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
import math

from ..client import CostRow
from .records import HOUR, floor_time


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


SLOT_SECONDS = 300  # cost is kept per 5-minute slot: local midnight is not always on an hour
SLOTS_PER_HOUR = 12


class ReportFold:
    """The rows of one cost report over ``[start, end)``, collected as they are decoded.

    One row per record: a record's later row replaces an earlier one (a report listing a
    record twice must not count it twice). Rows are kept as numbers in arrays, not objects,
    and folded into 5-minute slots and hourly checks by :meth:`folded`.
    """

    __slots__ = ("_by_record", "_costs", "_ends", "_priced", "_starts", "end", "start")

    def __init__(self, start: datetime, end: datetime) -> None:
        """An empty report over ``[start, end)``; ``start`` is a whole UTC hour."""
        self.start = start
        self.end = end
        self._starts: array[float] = array("d")
        self._ends: array[float] = array("d")
        self._costs: array[float] = array("d")
        self._priced: array[int] = array("b")
        self._by_record: dict[str, int] = {}

    def add(self, row: CostRow) -> None:
        """Take one row (for ``each_row``: the client's worker thread, one at a time)."""
        values = (row.start_time.timestamp(), row.end_time.timestamp(), row.cost, row.priced)
        if row.record_reference_id is not None:
            index = self._by_record.get(row.record_reference_id)
            if index is not None:
                self._set(index, *values)
                return
            self._by_record[row.record_reference_id] = len(self._costs)
        self._starts.append(values[0])
        self._ends.append(values[1])
        self._costs.append(values[2])
        self._priced.append(1 if values[3] else 0)

    def _set(self, index: int, start: float, end: float, cost: float, priced: bool) -> None:
        self._starts[index], self._ends[index], self._costs[index] = start, end, cost
        self._priced[index] = 1 if priced else 0

    def folded(self) -> FoldedReport:
        """Each slot's cost (a row spread over the slots it covers, by time) and, per hour,
        how many rows touch it and how many of those have no cost."""
        origin = self.start.timestamp()
        hours = hour_count(self.start, self.end)
        slots = array("d", bytes(8 * hours * SLOTS_PER_HOUR))
        rows = array("q", bytes(8 * hours))
        unpriced = array("q", bytes(8 * hours))
        limit = hours * SLOTS_PER_HOUR * SLOT_SECONDS
        for first, last, cost, priced in zip(
            self._starts, self._ends, self._costs, self._priced, strict=True
        ):
            begin, finish = max(first - origin, 0.0), min(last - origin, limit)
            if finish < begin or begin >= limit or (finish == begin and last > first):
                continue  # outside the window
            for hour in range(int(begin // 3600), int(max(begin, finish - 1e-9) // 3600) + 1):
                rows[hour] += 1
                unpriced[hour] += 0 if priced else 1
            if not priced or cost == 0:
                continue
            if finish == begin:  # an instant: its slot gets all of it
                slots[min(int(begin // SLOT_SECONDS), len(slots) - 1)] += cost
                continue
            span = finish - begin
            slot = int(begin // SLOT_SECONDS)
            while slot * SLOT_SECONDS < finish:
                overlap = min(finish, (slot + 1) * SLOT_SECONDS) - max(begin, slot * SLOT_SECONDS)
                slots[slot] += cost if overlap >= span else cost * overlap / span
                slot += 1
        return FoldedReport(self.start, slots, rows, unpriced)


@dataclass(frozen=True, slots=True)
class FoldedReport:
    """A report in numbers: cost per 5-minute slot, and per UTC hour its rows and how many
    of them have no cost."""

    start: datetime
    slots: array[float]
    rows: array[int]
    unpriced: array[int]


@dataclass(frozen=True, slots=True)
class Settled:
    """What a report comes to: ``hours``, each the report's figure where it accounts for
    what was sent, else the figure written before (0 where there is none); the first
    ``writable`` of them may be written (an hour it cannot account for and that was never
    written ends those); ``unaccounted``: how many hours it could not account for;
    ``missing``: the starts of those never written (no figure is known for them)."""

    hours: CostHours
    writable: int
    unaccounted: int
    missing: tuple[datetime, ...] = ()

    @property
    def complete(self) -> bool:
        """Whether the report accounted for every hour."""
        return self.unaccounted == 0


def settle(
    report: FoldedReport,
    baseline: float,
    *,
    expected: Sequence[int],
    known: Sequence[float],
    known_slots: Sequence[float] | None = None,
) -> Settled:
    """The hours of a report, each checked against what was sent and written before.

    An hour is accounted for when none of its rows lacks a cost, it has at least
    ``expected[i]`` rows (the periods Flatpeak confirmed with energy), and it does not come
    back empty where a cost was written before (rows are replaced at Flatpeak, never
    removed). ``known[i]`` is the hour's written cost, NaN where none was written;
    ``known_slots`` its 5-minute slots where known (NaN otherwise: a kept hour without them
    is spread evenly over the hour).
    """
    slots = array("d", report.slots)
    count = len(report.rows)
    writable = count
    unaccounted = 0
    missing: list[datetime] = []
    for hour in range(count):
        before = known[hour]
        rows = report.rows[hour]
        if (
            report.unpriced[hour] == 0
            and rows >= expected[hour]
            and not (rows == 0 and not math.isnan(before) and before != 0)
        ):
            continue
        unaccounted += 1
        first = hour * SLOTS_PER_HOUR
        if math.isnan(before):  # never written: nothing to show, and no sum after it
            writable = min(writable, hour)
            missing.append(report.start + hour * HOUR)
            slots[first : first + SLOTS_PER_HOUR] = array("d", bytes(8 * SLOTS_PER_HOUR))
            continue
        old = known_slots[first : first + SLOTS_PER_HOUR] if known_slots is not None else None
        if old is None or any(math.isnan(v) for v in old):
            old = [before / SLOTS_PER_HOUR] * SLOTS_PER_HOUR
        slots[first : first + SLOTS_PER_HOUR] = array("d", old)
    hours = CostHours.from_slots(report.start, slots, baseline)
    return Settled(hours, writable, unaccounted, tuple(missing))


@dataclass(frozen=True, slots=True)
class CostHours:
    """Every UTC hour of a window from ``start``: what each cost (``states``), the running
    ``sums``, and the cost of each 5-minute slot (``slots``, for totals from a local
    midnight that is not on a UTC hour), as arrays: a year is arrays, not rows of objects."""

    start: datetime
    states: array[float]
    sums: array[float]
    slots: array[float]

    @classmethod
    def from_slots(cls, start: datetime, slots: array[float], baseline: float) -> CostHours:
        """The hours of 5-minute ``slots`` with running sums from ``baseline``, the ``sum``
        of the last row before the window."""
        states = array("d")
        sums = array("d")
        total = baseline
        for first in range(0, len(slots) - SLOTS_PER_HOUR + 1, SLOTS_PER_HOUR):
            state = math.fsum(slots[first : first + SLOTS_PER_HOUR])
            total += state
            states.append(state)
            sums.append(total)
        return cls(start, states, sums, slots)

    def __len__(self) -> int:
        return len(self.states)

    @property
    def end(self) -> datetime:
        """The end of the last hour."""
        return self.start + len(self.states) * HOUR

    def head(self, count: int) -> CostHours:
        """The first ``count`` hours."""
        if count >= len(self.states):
            return self
        return CostHours(
            self.start,
            self.states[:count],
            self.sums[:count],
            self.slots[: count * SLOTS_PER_HOUR],
        )

    def row(self, index: int) -> HourRow:
        """The ``index``-th hour as a row."""
        return HourRow(self.start + index * HOUR, self.states[index], self.sums[index])

    def rows(self, indexes: Iterable[int]) -> list[HourRow]:
        """The rows of ``indexes``."""
        return [self.row(index) for index in indexes]

    def total_since(self, since: datetime, until: datetime | None = None) -> float:
        """What ``[since, until)`` cost (to the end of the hours without ``until``); a
        slot cut by either end counts by time, as Flatpeak prorates a record."""
        return _slot_total(self.slots, self.start, since, until)


def _slot_total(
    slots: Sequence[float], start: datetime, since: datetime, until: datetime | None
) -> float:
    count = len(slots)
    first = max(0.0, (since - start).total_seconds() / SLOT_SECONDS)
    last = count if until is None else min(count, (until - start).total_seconds() / SLOT_SECONDS)
    if last <= first:
        return 0.0
    whole_first, whole_last = math.ceil(first), math.floor(last)
    if whole_first > whole_last:  # both ends inside one slot
        return slots[int(first)] * (last - first)
    total = math.fsum(slots[whole_first:whole_last])
    if whole_first > first:
        total += slots[whole_first - 1] * (whole_first - first)
    if last > whole_last:
        total += slots[whole_last] * (last - whole_last)
    return total


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


def known_hours(
    start: datetime, count: int, recorded: Iterable[HourRow], written: CostHours | None
) -> tuple[array[float], array[float]]:
    """What was written for each hour of a window from ``start`` (NaN where nothing was),
    and each 5-minute slot where this process still knows it: ``written`` (the hours last
    given to the recorder) over ``recorded`` (the recorder's rows)."""
    nan = math.nan
    states = array("d", [nan]) * count
    slots = array("d", [nan]) * (count * SLOTS_PER_HOUR)
    for row in recorded:
        index = (row.start - start) // HOUR
        if 0 <= index < count:
            states[index] = row.state
    if written is not None:
        offset = (written.start - start) // HOUR
        for old in range(len(written)):
            index = old + offset
            if 0 <= index < count:
                states[index] = written.states[old]
                first, source = index * SLOTS_PER_HOUR, old * SLOTS_PER_HOUR
                slots[first : first + SLOTS_PER_HOUR] = written.slots[
                    source : source + SLOTS_PER_HOUR
                ]
    return states, slots


def expected_rows(
    ranges: Iterable[tuple[int, int]], start: datetime, count: int, *, presence: bool
) -> array[int]:
    """Per UTC hour of a window: how many rows its report must have at least, from the
    ranges (Unix seconds) of 5-minute periods confirmed with energy; ``presence``: one row
    is enough (cumulative readings, whose intervals Flatpeak forms itself)."""
    expected = array("q", bytes(8 * count))
    origin = int(start.timestamp())
    limit = origin + count * 3600
    for low, high in ranges:
        left, right = max(low, origin), min(high, limit)
        while left < right:
            hour = (left - origin) // 3600
            boundary = origin + (hour + 1) * 3600
            periods = (min(right, boundary) - left) // SLOT_SECONDS
            expected[hour] = 1 if presence else expected[hour] + periods
            left = boundary
    return expected
