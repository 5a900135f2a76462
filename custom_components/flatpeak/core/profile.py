"""Energy profiles for a simulation: checked, and merged to as few intervals as Flatpeak is asked.

Plain functions over plain data, no Home Assistant: the simulate_cost action builds a
profile from the user's list or a sensor's hourly statistics, and prices what this returns.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
import itertools
import math

# One Flatpeak request per interval: a profile is merged down to this many.
MAX_PRICED_INTERVALS = 96
# Longer inputs are refused rather than read and merged.
MAX_INPUT_INTERVALS = 10_000


@dataclass(frozen=True, slots=True)
class Interval:
    """Energy used in ``[start, end)``, in kWh (times are aware)."""

    start: datetime
    end: datetime
    kwh: float


class ProfileError(ValueError):
    """A profile that cannot be priced; ``key`` names the reason, ``index`` the interval."""

    def __init__(self, key: str, index: int | None = None) -> None:
        """Keep the reason and the 0-based position in the input."""
        super().__init__(key if index is None else f"{key} (interval {index})")
        self.key = key
        self.index = index


def checked(intervals: list[Interval]) -> list[Interval]:
    """The intervals in time order, or :class:`ProfileError` for the first problem found.

    Refused: no intervals, more than :data:`MAX_INPUT_INTERVALS`, an end not after its start,
    a negative or non-finite kWh, and intervals that overlap.
    """
    if not intervals:
        raise ProfileError("profile_empty")
    if len(intervals) > MAX_INPUT_INTERVALS:
        raise ProfileError("profile_too_long")
    for index, item in enumerate(intervals):
        if item.end <= item.start:
            raise ProfileError("interval_end_before_start", index)
        if not math.isfinite(item.kwh) or item.kwh < 0:
            raise ProfileError("interval_negative_kwh", index)
    ordered = sorted(range(len(intervals)), key=lambda i: intervals[i].start)
    for before, after in itertools.pairwise(ordered):
        if intervals[after].start < intervals[before].end:
            raise ProfileError("intervals_overlap", after)
    return [intervals[i] for i in ordered]


def merged(intervals: list[Interval], limit: int = MAX_PRICED_INTERVALS) -> list[Interval]:
    """Ordered, non-overlapping intervals merged to at most ``limit``.

    Intervals without energy cost nothing and are left out. If more than ``limit`` remain,
    runs of ``ceil(n / limit)`` neighbours become one interval from the first start to the
    last end with their energy added up (Flatpeak spreads it evenly over that span, so a
    merged profile is priced at a coarser resolution). Energy is conserved exactly.
    """
    used = [item for item in intervals if item.kwh > 0]
    if len(used) <= limit:
        return used
    size = math.ceil(len(used) / limit)
    return [
        Interval(run[0].start, run[-1].end, math.fsum(item.kwh for item in run))
        for run in (used[i : i + size] for i in range(0, len(used), size))
    ]
