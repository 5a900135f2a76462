"""The soak's verdict: plain functions over HA's statistics and the emulator's records.

Energy: per stream, the 5-minute periods HA's statistics hold (``expected``) against the
records Flatpeak stored (``stored``), matched by device, direction and period start; the
energy of each stream is compared as a total, since the uploader nets a decrease against the
periods before it (a period's record need not equal its own change, the sum must).

Registers (cumulative mode): Flatpeak differences the register readings it stores into
records, so per stream its readings never decrease, every period HA has statistics for has a
reading at its start and its end and exactly its own record, no stretch of time is in two
records, each record is the difference of the readings at its ends, and both the records'
total and the register's rise equal HA's change.

Costs: every hour of each cost statistic is there (no gap), each ``sum`` is the previous one
plus the hour's ``state`` (no jump), and the last ``sum`` is what Flatpeak's report says the
device's energy of that direction cost.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

FIVE = timedelta(minutes=5)
HOUR = timedelta(hours=1)
ENERGY_TOLERANCE_KWH = 1e-6
# a record against the readings it was differenced from (both rounded to 1e-9 kWh when sent)
READING_TOLERANCE_KWH = 1e-8
COST_TOLERANCE = 1e-6


@dataclass(frozen=True, slots=True)
class StreamKey:
    """Where a stream's records go: its Flatpeak device and directions."""

    name: str
    device_id: str
    tariff: str
    flow: str


@dataclass(slots=True)
class EnergyVerdict:
    """Periods and energy of every stream, HA against Flatpeak."""

    expected: int = 0
    stored: int = 0
    missing: int = 0
    duplicated: int = 0
    misaligned: int = 0
    # stored periods HA has no 5-minute row for (an hour's row vouches for them: 0 kWh)
    filled: int = 0
    ha_kwh: dict[str, float] = field(default_factory=dict)
    stored_kwh: dict[str, float] = field(default_factory=dict)
    difference_kwh: dict[str, float] = field(default_factory=dict)
    examples: list[str] = field(default_factory=list)
    # cumulative mode: Flatpeak's register readings checked as well
    registers: RegisterVerdict | None = None

    @property
    def ok(self) -> bool:
        """Nothing missing or twice, every stream's energy within the tolerance (and the
        registers right, in cumulative mode)."""
        return (
            self.missing == 0
            and self.duplicated == 0
            and self.misaligned == 0
            and all(abs(d) < ENERGY_TOLERANCE_KWH for d in self.difference_kwh.values())
            and (self.registers is None or self.registers.ok)
        )

    def example(self, text: str) -> None:
        if len(self.examples) < 10:
            self.examples.append(text)


@dataclass(slots=True)
class RegisterVerdict:
    """Flatpeak's stored register readings of every stream (cumulative mode)."""

    readings: int = 0
    # a reading lower than the one before it
    decreases: int = 0
    # a record that is not the difference of the readings at its ends (or has none there)
    mismatches: int = 0
    # records longer than a period: a stretch without statistics, 0 kWh
    spans: int = 0
    # the register's rise (last reading less the first) and that less HA's change
    rise_kwh: dict[str, float] = field(default_factory=dict)
    difference_kwh: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Registers never decrease, records agree with them, each rise is HA's change."""
        return (
            self.decreases == 0
            and self.mismatches == 0
            and all(abs(d) < ENERGY_TOLERANCE_KWH for d in self.difference_kwh.values())
        )


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def _record_key(record: Mapping[str, Any]) -> tuple[str, str, str]:
    return (record["device_id"], record["tariff_direction"], record["energy_flow_direction"])


def check_energy(
    streams: Sequence[StreamKey],
    ha_rows: Mapping[str, Sequence[tuple[datetime, float]]],
    records: Iterable[Mapping[str, Any]],
) -> EnergyVerdict:
    """Compare HA's 5-minute ``change`` rows (by stream name) with the stored records."""
    verdict = EnergyVerdict()
    by_key = {(s.device_id, s.tariff, s.flow): s.name for s in streams}
    stored: dict[str, Counter[datetime]] = {s.name: Counter() for s in streams}
    stored_kwh = dict.fromkeys(stored, 0.0)
    for record in records:
        verdict.stored += 1
        key = _record_key(record)
        name = by_key.get(key)
        start, end = parse_time(record["start_time"]), parse_time(record["end_time"])
        if name is None or end - start != FIVE or start.timestamp() % FIVE.total_seconds():
            verdict.misaligned += 1
            verdict.examples.append(f"odd record {key} {record['start_time']}")
            continue
        stored[name][start] += 1
        stored_kwh[name] += record["energy_wh"] / 1000
    for stream in streams:
        rows = ha_rows.get(stream.name, [])
        periods = {start for start, _change in rows}
        verdict.expected += len(periods)
        held = stored[stream.name]
        for start in sorted(periods - set(held)):
            verdict.missing += 1
            if len(verdict.examples) < 10:
                verdict.examples.append(f"missing {stream.name} {start.isoformat()}")
        for start, count in held.items():
            verdict.duplicated += count - 1
            if count > 1 and len(verdict.examples) < 10:
                verdict.examples.append(f"{count} records for {stream.name} {start.isoformat()}")
        verdict.filled += len(set(held) - periods)
        ha = sum(change for _start, change in rows)
        verdict.ha_kwh[stream.name] = ha
        verdict.stored_kwh[stream.name] = stored_kwh[stream.name]
        verdict.difference_kwh[stream.name] = stored_kwh[stream.name] - ha
    return verdict


def check_cumulative(
    streams: Sequence[StreamKey],
    ha_rows: Mapping[str, Sequence[tuple[datetime, float]]],
    readings: Mapping[tuple[str, str, str], Mapping[datetime, float]],
    records: Iterable[Mapping[str, Any]],
) -> EnergyVerdict:
    """Compare HA's 5-minute ``change`` rows with Flatpeak's register readings (kWh by time,
    per device, tariff and flow direction) and the records it differenced from them."""
    registers = RegisterVerdict()
    verdict = EnergyVerdict(registers=registers)
    by_key = {(s.device_id, s.tariff, s.flow): s.name for s in streams}
    held: dict[str, list[tuple[datetime, datetime, float]]] = {s.name: [] for s in streams}
    for record in records:
        verdict.stored += 1
        key = _record_key(record)
        name = by_key.get(key)
        start, end = parse_time(record["start_time"]), parse_time(record["end_time"])
        step = FIVE.total_seconds()
        if name is None or end <= start or start.timestamp() % step or end.timestamp() % step:
            verdict.misaligned += 1
            verdict.example(f"odd record {key} {record['start_time']} {record['end_time']}")
            continue
        held[name].append((start, end, record["energy_wh"] / 1000))
    for stream in streams:
        name = stream.name
        register = readings.get((stream.device_id, stream.tariff, stream.flow), {})
        times = sorted(register)
        registers.readings += len(times)
        for before, after in pairwise(times):
            if register[after] < register[before] - READING_TOLERANCE_KWH:
                registers.decreases += 1
                verdict.example(
                    f"{name} register falls {register[before]} -> {register[after]} "
                    f"at {after.isoformat()}"
                )
        spans = sorted(held[name])
        own = Counter(start for start, end, _kwh in spans if end - start == FIVE)
        covered: datetime | None = None  # the end of the records so far
        for start, end, kwh in spans:
            if covered is not None and start < covered:
                verdict.duplicated += int((min(end, covered) - start) / FIVE)
                verdict.example(f"{name} {start.isoformat()} is in two records")
            covered = end if covered is None else max(covered, end)
            if end - start > FIVE:
                registers.spans += 1
            low, high = register.get(start), register.get(end)
            if low is None or high is None or abs(high - low - kwh) > READING_TOLERANCE_KWH:
                registers.mismatches += 1
                verdict.example(
                    f"{name} record {start.isoformat()} of {kwh} kWh against readings "
                    f"{low} -> {high}"
                )
        periods = {start for start, _change in ha_rows.get(name, [])}
        verdict.expected += len(periods)
        for start in sorted(periods):
            if not own[start] or start not in register or start + FIVE not in register:
                verdict.missing += 1
                verdict.example(f"missing {name} {start.isoformat()}")
        verdict.filled += len(set(own) - periods)
        ha = sum(change for _start, change in ha_rows.get(name, []))
        stored = sum(kwh for _start, _end, kwh in spans)
        verdict.ha_kwh[name] = ha
        verdict.stored_kwh[name] = stored
        verdict.difference_kwh[name] = stored - ha
        rise = register[times[-1]] - register[times[0]] if times else 0.0
        registers.rise_kwh[name] = rise
        registers.difference_kwh[name] = rise - ha
    return verdict


@dataclass(slots=True)
class CostVerdict:
    """One cost statistic's hours against Flatpeak's report."""

    hours: int
    gaps: int
    jumps: int
    final_sum: float
    flatpeak_cost: float
    first: datetime | None
    last: datetime | None
    examples: list[str] = field(default_factory=list)

    @property
    def difference(self) -> float:
        """The statistic's last sum less Flatpeak's cost."""
        return self.final_sum - self.flatpeak_cost

    @property
    def ok(self) -> bool:
        """Every hour there, sums continuous, the total Flatpeak's."""
        return (
            self.hours > 0
            and self.gaps == 0
            and self.jumps == 0
            and abs(self.difference) < COST_TOLERANCE
        )


def check_costs(
    rows: Sequence[tuple[datetime, float, float]], flatpeak: Mapping[datetime, float]
) -> CostVerdict:
    """Hourly ``(start, state, sum)`` rows of a cost statistic against Flatpeak's cost per
    UTC hour; the rows must reach the last hour Flatpeak has."""
    verdict = CostVerdict(
        hours=len(rows),
        gaps=0,
        jumps=0,
        final_sum=rows[-1][2] if rows else 0.0,
        flatpeak_cost=sum(flatpeak.values()),
        first=rows[0][0] if rows else None,
        last=rows[-1][0] if rows else None,
    )
    states = {start: state for start, state, _sum in rows}
    for hour in sorted(set(flatpeak) | set(states)):
        if abs(states.get(hour, 0.0) - flatpeak.get(hour, 0.0)) > COST_TOLERANCE:
            verdict.examples.append(
                f"hour {hour.isoformat()}: HA {states.get(hour)} Flatpeak {flatpeak.get(hour)}"
            )
    covers = max(flatpeak, default=None)
    previous: tuple[datetime, float, float] | None = None
    for row in rows:
        start, state, total = row
        expected_sum = state if previous is None else previous[2] + state
        if abs(total - expected_sum) > COST_TOLERANCE:
            verdict.jumps += 1
            verdict.examples.append(f"jump at {start.isoformat()}: {total} != {expected_sum}")
        if previous is not None and start - previous[0] != HOUR:
            verdict.gaps += 1
            verdict.examples.append(f"gap {previous[0].isoformat()} -> {start.isoformat()}")
        previous = row
    if covers is not None and (verdict.last is None or verdict.last < covers):
        verdict.gaps += 1
        verdict.examples.append(f"ends at {verdict.last} before {covers.isoformat()}")
    return verdict
