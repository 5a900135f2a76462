"""The ledger of periods Flatpeak confirmed with energy, and the slot arithmetic of cost
hours: plain data, no Home Assistant."""

from __future__ import annotations

from array import array
from datetime import UTC, datetime, timedelta

import pytest

from custom_components.flatpeak.client import CostRow
from custom_components.flatpeak.core.confirmed import ConfirmedPeriods, mark_runs, runs_of
from custom_components.flatpeak.core.cost_hours import ReportFold, expected_rows, settle

T0 = datetime(2025, 6, 2, tzinfo=UTC)
P = 300


def test_marking_merges_replaces_and_cuts() -> None:
    ledger = ConfirmedPeriods()
    base = int(T0.timestamp())
    ledger.mark(base, base + 6 * P, has_energy=True)
    ledger.mark(base + 6 * P, base + 12 * P, has_energy=True)  # adjacent: one range
    assert ledger.ranges() == [(base, base + 12 * P)]
    ledger.mark(base + 3 * P, base + 4 * P, has_energy=False)  # re-sent with 0 kWh
    assert ledger.ranges() == [(base, base + 3 * P), (base + 4 * P, base + 12 * P)]
    assert ledger.periods(base, base + 12 * P) == 11
    ledger.mark(base + 3 * P, base + 4 * P, has_energy=True)  # and with energy again
    assert ledger.ranges() == [(base, base + 12 * P)]
    ledger.mark(base - P, base + 13 * P, has_energy=False)
    assert ledger.ranges() == []
    assert ConfirmedPeriods([[base, base + P]]).as_list() == [[base, base + P]]


def test_mark_periods_groups_runs_and_prunes() -> None:
    ledger = ConfirmedPeriods()
    five = timedelta(minutes=5)
    periods = [(T0 + i * five, 0.0 if i in (4, 5) else 0.1) for i in range(12)]
    mark_runs(ledger, runs_of(reversed(periods)))
    base = int(T0.timestamp())
    assert ledger.ranges() == [(base, base + 4 * P), (base + 6 * P, base + 12 * P)]
    ledger.prune(T0 + timedelta(days=401))
    assert len(ledger) == 0


def test_expected_rows_per_hour() -> None:
    base = int(T0.timestamp())
    ranges = [(base + 6 * P, base + 18 * P)]  # 00:30 to 01:30
    assert list(expected_rows(ranges, T0, 3, presence=False)) == [6, 6, 0]
    assert list(expected_rows(ranges, T0, 3, presence=True)) == [1, 1, 0]


def row(start: datetime, minutes: int, cost: float | None, ref: str | None) -> CostRow:
    return CostRow(
        start,
        start + timedelta(minutes=minutes),
        100.0,
        cost or 0.0,
        1.0,
        record_reference_id=ref,
        priced=cost is not None,
    )


def test_fold_spreads_by_time_and_counts_a_record_once() -> None:
    fold = ReportFold(T0, T0 + timedelta(hours=2))
    fold.add(row(T0 + timedelta(minutes=50), 20, 0.4, "a"))  # 10 min in hour 0, 10 in hour 1
    fold.add(row(T0, 5, 1.0, "b"))
    fold.add(row(T0, 5, 0.5, "b"))  # the later row of record b wins
    folded = fold.folded()
    assert list(folded.rows) == [2, 1]
    assert sum(folded.slots[:12]) == 0.5 + 0.2
    assert sum(folded.slots[12:]) == 0.2
    nan = float("nan")
    settled = settle(folded, 10.0, expected=[2, 1], known=[nan, nan])
    assert settled.complete
    assert list(settled.hours.sums) == pytest.approx([10.7, 10.9], abs=1e-12)
    # The part of hour 0 from 00:30 and up to 01:05
    part = settled.hours.total_since(T0 + timedelta(minutes=30), T0 + timedelta(minutes=65))
    assert part == pytest.approx(0.2 + 0.1, abs=1e-12)


def test_settle_keeps_known_hours_and_stops_at_an_unknown_one() -> None:
    fold = ReportFold(T0, T0 + timedelta(hours=3))
    fold.add(row(T0, 5, None, "a"))  # hour 0: no cost
    fold.add(row(T0 + timedelta(hours=2), 5, 0.3, "c"))  # hour 2 fine; hour 1 empty
    nan = float("nan")
    settled = settle(
        fold.folded(),
        0.0,
        expected=[1, 1, 1],
        known=[0.6, nan, 0.2],
        known_slots=array("d", [0.05] * 12 + [nan] * 24),
    )
    assert settled.unaccounted == 2
    assert settled.writable == 1  # hour 1 was never written and cannot be
    assert settled.missing == (T0 + timedelta(hours=1),)
    assert list(settled.hours.states) == pytest.approx([0.6, 0.0, 0.3], abs=1e-12)
