"""The soak's verdict (tests/soak/check.py) sees what it must: a clean run is clean, and a
missing period, a period stored twice, an energy difference, a gap and a jump each fail; in
cumulative mode so do a decreasing register, a missing reading and a doubled interval."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

from tests.soak.check import (
    EnergyVerdict,
    RegisterVerdict,
    StreamKey,
    check_costs,
    check_cumulative,
    check_energy,
)

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


def readings_and_records(
    registers: list[tuple[datetime, float]],
) -> tuple[dict[tuple[str, str, str], dict[datetime, float]], list[dict[str, Any]]]:
    """Flatpeak's stored readings (kWh) of the import stream and the records it differences
    from consecutive ones, as one request of these readings would leave them."""
    records = [
        record(start, (high - low) * 1000, end_time=end.isoformat().replace("+00:00", "Z"))
        for (start, low), (end, high) in pairwise(registers)
    ]
    return {("dev_1", "IMPORT", "INBOUND"): dict(registers)}, records


def registers_of(verdict: EnergyVerdict) -> RegisterVerdict:
    """The register part of a cumulative verdict."""
    assert verdict.registers is not None
    return verdict.registers


def test_cumulative_clean_run_with_netting_a_zero_fill_and_a_span() -> None:
    """Per-period values may differ (netting); the register's rise and the records' total
    must not. A reading after a stretch without statistics makes a longer record of 0 kWh."""
    rows = {"grid_import": [(T0, 1.0), (T0 + FIVE, -0.5), (T0 + 3 * FIVE, 0.25)]}
    readings, records = readings_and_records(
        [
            (T0, 10.0),
            (T0 + FIVE, 10.5),
            (T0 + 2 * FIVE, 10.5),
            (T0 + 3 * FIVE, 10.5),
            (T0 + 4 * FIVE, 10.75),
            (T0 + 5 * FIVE, 10.75),
        ]
    )
    verdict = check_cumulative([IMPORT], rows, readings, records)
    assert (verdict.expected, verdict.stored, verdict.missing, verdict.duplicated) == (3, 5, 0, 0)
    assert verdict.filled == 2  # T0 + 2 * FIVE between two readings, and the last period
    assert (registers_of(verdict).readings, registers_of(verdict).decreases) == (6, 0)
    assert abs(registers_of(verdict).rise_kwh["grid_import"] - 0.75) < 1e-12
    assert abs(verdict.difference_kwh["grid_import"]) < 1e-12
    assert verdict.ok, verdict.examples

    spanned, records = readings_and_records(
        [(T0, 10.0), (T0 + FIVE, 11.0), (T0 + 3 * FIVE, 11.0), (T0 + 4 * FIVE, 11.25)]
    )
    rows = {"grid_import": [(T0, 1.0), (T0 + 3 * FIVE, 0.25)]}
    verdict = check_cumulative([IMPORT], rows, spanned, records)
    assert (registers_of(verdict).spans, verdict.missing, verdict.ok) == (1, 0, True)


def test_cumulative_decreasing_register_fails() -> None:
    """A register that goes down, even with records that add up, fails the verdict."""
    rows = {"grid_import": [(T0, 1.0), (T0 + FIVE, 1.0), (T0 + 2 * FIVE, 1.0)]}
    readings, records = readings_and_records(
        [(T0, 10.0), (T0 + FIVE, 11.0), (T0 + 2 * FIVE, 12.0), (T0 + 3 * FIVE, 13.0)]
    )
    readings[("dev_1", "IMPORT", "INBOUND")][T0 + FIVE] = 12.5  # a re-sent reading, too high
    verdict = check_cumulative([IMPORT], rows, readings, records)
    assert registers_of(verdict).decreases == 1
    assert registers_of(verdict).mismatches == 2  # the records on both sides of it
    assert not verdict.ok


def test_cumulative_missing_reading_fails() -> None:
    """A period whose closing reading is missing is missing: Flatpeak merged it into one
    record with the next period, or holds a record its readings cannot explain."""
    rows = {"grid_import": [(T0, 1.0), (T0 + FIVE, 1.0), (T0 + 2 * FIVE, 1.0)]}
    readings, records = readings_and_records(
        [(T0, 10.0), (T0 + 2 * FIVE, 12.0), (T0 + 3 * FIVE, 13.0)]
    )
    verdict = check_cumulative([IMPORT], rows, readings, records)
    assert verdict.missing == 2  # neither T0 nor T0 + FIVE has its own record
    assert registers_of(verdict).spans == 1
    assert abs(verdict.difference_kwh["grid_import"]) < 1e-12  # the energy alone looks fine
    assert not verdict.ok

    readings, records = readings_and_records(
        [(T0, 10.0), (T0 + FIVE, 11.0), (T0 + 2 * FIVE, 12.0), (T0 + 3 * FIVE, 13.0)]
    )
    del readings[("dev_1", "IMPORT", "INBOUND")][T0 + FIVE]  # records kept, reading gone
    verdict = check_cumulative([IMPORT], rows, readings, records)
    assert verdict.missing == 2
    assert registers_of(verdict).mismatches == 2
    assert not verdict.ok


def test_cumulative_doubled_interval_fails() -> None:
    """A period in two records (its own and one spanning it, or the same one twice) is
    counted twice: duplicated, and more energy than HA's."""
    rows = {"grid_import": [(T0, 1.0), (T0 + FIVE, 1.0)]}
    readings, records = readings_and_records([(T0, 10.0), (T0 + FIVE, 11.0), (T0 + 2 * FIVE, 12.0)])
    spanning = record(T0, 2000.0, end_time=(T0 + 2 * FIVE).isoformat().replace("+00:00", "Z"))
    verdict = check_cumulative([IMPORT], rows, readings, [*records, spanning])
    assert verdict.duplicated == 2
    assert verdict.difference_kwh["grid_import"] == 2.0
    assert not verdict.ok

    verdict = check_cumulative([IMPORT], rows, readings, [*records, records[1]])
    assert (verdict.duplicated, verdict.ok) == (1, False)


def test_cumulative_register_rise_and_odd_records_fail() -> None:
    """A register that rose by other than HA's change fails, even when the records agree with
    HA; so does a record off the 5-minute grid or of another stream."""
    rows = {"grid_import": [(T0, 1.0), (T0 + FIVE, 1.0)]}
    readings, records = readings_and_records([(T0, 10.0), (T0 + FIVE, 11.0), (T0 + 2 * FIVE, 12.0)])
    readings[("dev_1", "IMPORT", "INBOUND")][T0 + 3 * FIVE] = 12.5  # a reading with no record
    verdict = check_cumulative([IMPORT], rows, readings, records)
    assert registers_of(verdict).difference_kwh["grid_import"] == 0.5
    assert abs(verdict.difference_kwh["grid_import"]) < 1e-12
    assert not verdict.ok

    readings, records = readings_and_records([(T0, 10.0), (T0 + FIVE, 11.0), (T0 + 2 * FIVE, 12.0)])
    odd = record(T0 + 2 * FIVE, 0.0, end_time="2025-03-27T10:12:30Z")
    verdict = check_cumulative([IMPORT], rows, readings, [*records, odd])
    assert (verdict.misaligned, verdict.ok) == (1, False)
    other = record(T0 + 2 * FIVE, 0.0, device_id="dev_2")
    assert not check_cumulative([IMPORT], rows, readings, [*records, other]).ok
