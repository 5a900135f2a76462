"""Which 5-minute periods Flatpeak confirmed with energy, per stream: plain data.

A cost report must account for these: an hour in which Flatpeak accepted energy from this
integration and whose report has fewer rows than that (or none) is incomplete, never zero.
Kept as sorted, disjoint ranges of Unix seconds, so a year of a stream is a few hundred
pairs. A period sent again replaces what was sent before (as at Flatpeak): sent with energy
it is in, sent with none it is out.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from datetime import datetime

PERIOD_SECONDS = 300
# Ranges older than this are dropped: no cost re-import reaches that far back.
KEEP_SECONDS = 400 * 86400


class ConfirmedPeriods:
    """Disjoint ``[start, end)`` ranges (Unix seconds, on 5-minute boundaries), in order."""

    __slots__ = ("_ends", "_starts")

    def __init__(self, ranges: Iterable[Iterable[int]] = ()) -> None:
        """From :meth:`as_list` (sorted, disjoint)."""
        self._starts: list[int] = []
        self._ends: list[int] = []
        for start, end in (tuple(r) for r in ranges):
            self.mark(int(start), int(end), has_energy=True)

    def mark(self, start: int, end: int, *, has_energy: bool) -> None:
        """``[start, end)`` was (re)sent: with energy it is confirmed, without it is not."""
        if end <= start:
            return
        starts, ends = self._starts, self._ends
        # Ranges touching [start, end) (overlapping or adjacent) are cut out or merged.
        first = bisect_left(ends, start)
        last = bisect_right(starts, end)
        touched = list(zip(starts[first:last], ends[first:last], strict=True))
        pieces = [(s, min(e, start)) for s, e in touched if s < min(e, start)]
        pieces += [(max(s, end), e) for s, e in touched if max(s, end) < e]
        if has_energy:
            low = min([start] + [s for s, _ in pieces])
            high = max([end] + [e for _, e in pieces])
            pieces = [(low, high)]
        starts[first:last] = [s for s, _ in pieces]
        ends[first:last] = [e for _, e in pieces]

    def periods(self, start: int, end: int) -> int:
        """How many confirmed 5-minute periods lie in ``[start, end)``."""
        total = 0
        index = bisect_right(self._ends, start)
        while index < len(self._starts) and self._starts[index] < end:
            total += min(end, self._ends[index]) - max(start, self._starts[index])
            index += 1
        return max(0, total) // PERIOD_SECONDS

    def prune(self, now: datetime) -> None:
        """Forget ranges that ended longer ago than any re-import reaches."""
        horizon = int(now.timestamp()) - KEEP_SECONDS
        cut = bisect_right(self._ends, horizon)
        del self._starts[:cut], self._ends[:cut]

    def ranges(self) -> list[tuple[int, int]]:
        """The ranges, oldest first (a copy)."""
        return list(zip(self._starts, self._ends, strict=True))

    def as_list(self) -> list[list[int]]:
        """For the Store."""
        return [[s, e] for s, e in zip(self._starts, self._ends, strict=True)]

    def __len__(self) -> int:
        return len(self._starts)


Run = tuple[int, int, bool]


def runs_of(periods: Iterable[tuple[datetime, float]], length: int = PERIOD_SECONDS) -> list[Run]:
    """Sent periods ``(start, kWh)`` as runs ``(start, end, with energy)`` of consecutive
    periods with the same answer (a worker thread can make them: a window has 10,000)."""
    runs: list[Run] = []
    for start, kwh in sorted(periods, key=lambda p: p[0]):
        begin = int(start.timestamp())
        energy = kwh != 0
        if runs and runs[-1][1] == begin and runs[-1][2] == energy:
            runs[-1] = (runs[-1][0], begin + length, energy)
        else:
            runs.append((begin, begin + length, energy))
    return runs


def mark_runs(ledger: ConfirmedPeriods, runs: Iterable[Run]) -> None:
    """Apply :func:`runs_of`'s runs."""
    for start, end, energy in runs:
        ledger.mark(start, end, has_energy=energy)
