"""The soak's verdict (scripts/soak_check.py) sees what it must: a clean run is clean, and a
missing period, a period stored twice, an energy difference, a gap and a jump each fail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from scripts.soak_check import StreamKey, check_costs, check_energy

T0 = datetime(2025, 3, 27, 10, 0, tzinfo=UTC)
FIVE = timedelta(minutes=5)
HOUR = timedelta(hours=1)
IMPORT = StreamKey("grid_import", "dev_1", "IMPORT", "INBOUND")


def record(start: datetime, wh: float, **fields: Any) -> dict[str, Any]:
    """A stored record as the emulator lists it."""
    return {
        "device_id": "dev_1",
        "tariff_direction": "IMPORT",
        "energy_flow_direction": "INBOUND",
        "start_time": start.isoformat().replace("+00:00", "Z"),
        "end_time": (start + FIVE).isoformat().replace("+00:00", "Z"),
        "energy_wh": wh,
        **fields,
    }


def test_energy_clean_run_with_netting_and_a_zero_fill() -> None:
    """Per-period values may differ (netting); totals must not. A stored 0 kWh period HA has
    no 5-minute row for is counted apart, not as a duplicate."""
    rows = {"grid_import": [(T0, 1.0), (T0 + FIVE, -0.5), (T0 + 2 * FIVE, 0.25)]}
    records = [
        record(T0, 500.0),
        record(T0 + FIVE, 0.0),
        record(T0 + 2 * FIVE, 250.0),
        record(T0 + 3 * FIVE, 0.0),
    ]
    verdict = check_energy([IMPORT], rows, records)
    assert (verdict.expected, verdict.stored, verdict.missing, verdict.duplicated) == (3, 4, 0, 0)
    assert verdict.filled == 1
    assert abs(verdict.difference_kwh["grid_import"]) < 1e-12
    assert verdict.ok


def test_energy_missing_duplicated_misaligned_and_different() -> None:
    """Each kind of loss is seen."""
    rows = {"grid_import": [(T0, 1.0), (T0 + FIVE, 1.0)]}
    verdict = check_energy([IMPORT], rows, [record(T0, 1000.0)])
    assert (verdict.missing, verdict.ok) == (1, False)
    assert verdict.difference_kwh["grid_import"] == -1.0

    twice = [record(T0, 500.0), record(T0, 500.0), record(T0 + FIVE, 1000.0)]
    verdict = check_energy([IMPORT], rows, twice)
    assert (verdict.duplicated, verdict.ok) == (1, False)

    odd = [record(T0, 1000.0), record(T0 + FIVE, 1000.0, end_time="2025-03-27T10:30:00Z")]
    verdict = check_energy([IMPORT], rows, odd)
    assert (verdict.misaligned, verdict.ok) == (1, False)

    off = [record(T0, 1000.0), record(T0 + FIVE, 1000.01)]
    assert not check_energy([IMPORT], rows, off).ok


def test_costs_continuous_and_equal_to_flatpeak() -> None:
    """Every hour, running sums, the last sum Flatpeak's total."""
    rows = [(T0, 0.5, 0.5), (T0 + HOUR, 0.0, 0.5), (T0 + 2 * HOUR, 0.25, 0.75)]
    verdict = check_costs(rows, {T0: 0.5, T0 + 2 * HOUR: 0.25})
    assert (verdict.gaps, verdict.jumps, verdict.ok) == (0, 0, True)


def test_costs_gap_jump_short_and_different() -> None:
    """A missing hour, a sum that jumps, rows ending before Flatpeak's last hour and a total
    that differs each fail."""
    flatpeak = {T0: 0.5, T0 + 2 * HOUR: 0.25}
    gap = [(T0, 0.5, 0.5), (T0 + 2 * HOUR, 0.25, 0.75)]
    assert check_costs(gap, flatpeak).gaps == 1
    jump = [(T0, 0.5, 0.5), (T0 + HOUR, 0.0, 1.5), (T0 + 2 * HOUR, 0.25, 1.75)]
    verdict = check_costs(jump, flatpeak)
    assert (verdict.jumps, verdict.ok) == (1, False)
    short = [(T0, 0.5, 0.5), (T0 + HOUR, 0.0, 0.5)]
    assert not check_costs(short, flatpeak).ok
    different = [(T0, 0.5, 0.5), (T0 + HOUR, 0.0, 0.5), (T0 + 2 * HOUR, 0.2, 0.7)]
    verdict = check_costs(different, flatpeak)
    assert not verdict.ok
    assert any("hour" in example for example in verdict.examples)
    assert not check_costs([], {}).ok
