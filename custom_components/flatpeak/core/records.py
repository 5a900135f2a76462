"""Energy statistics → the 5-minute records to send: plain functions over plain data.

Every record covers one 5-minute period of one stream and carries a reference id made of the
Flatpeak device, the stream and the period start, so sending a period again replaces it.

Per stream this keeps what Flatpeak holds for the last 24 hours (:class:`Period`:
HA's change and the value sent). A decrease (a ``total`` sensor going down, or a glitch
reading followed by the true value) is taken back from the periods before it within that
lookback, latest first, and those periods are sent again corrected; only what the lookback
cannot absorb is carried forward against later energy. So Flatpeak's total per stream equals
HA's statistics, and a one-period spike never stays at Flatpeak.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
import math

FIVE_MINUTES = timedelta(minutes=5)
HOUR = timedelta(hours=1)
LOOKBACK = timedelta(hours=24)
PERIODS_PER_HOUR = 12
# Statistics are floats; an hour's 5-minute rows "add up" to its hourly row within this.
_SUM_TOLERANCE_KWH = 1e-6


@dataclass(frozen=True, slots=True)
class StatRow:
    """One statistics row: the energy ``change`` (kWh) over ``[start, start + period)``."""

    start: datetime
    kwh: float


@dataclass(frozen=True, slots=True)
class Period:
    """One 5-minute period of a stream: HA's change (``raw``) and the value sent (``sent``)."""

    start: datetime
    raw: float
    sent: float

    @property
    def end(self) -> datetime:
        """End of the period."""
        return self.start + FIVE_MINUTES


@dataclass(slots=True)
class StreamState:
    """Where a stream has got to: everything before ``cursor`` is at Flatpeak.

    ``recent`` holds the periods of the last 24 hours before the cursor (for netting a
    decrease backwards), ``carry`` what older decreases still owe, ``register`` the running
    total sent in cumulative mode (its reading at the cursor).
    """

    cursor: datetime
    carry: float = 0.0
    register: float = 0.0
    recent: list[Period] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class StreamPlan:
    """What to send for one stream, and its state once Flatpeak has confirmed it.

    ``send`` is in time order: corrected earlier periods first, then the new ones.
    ``corrected`` counts the earlier periods in it.
    """

    send: list[Period]
    corrected: int
    state: StreamState


def floor_time(value: datetime, step: timedelta) -> datetime:
    """``value`` rounded down to a multiple of ``step`` since the epoch (UTC)."""
    seconds = int(step.total_seconds())
    ts = int(value.timestamp())
    return datetime.fromtimestamp(ts - ts % seconds, UTC)


def periods_between(start: datetime, end: datetime) -> int:
    """How many whole 5-minute periods lie in ``[start, end)``."""
    return max(0, int((end - start) / FIVE_MINUTES))


def record_reference_id(device_id: str, stream: str, start: datetime) -> str:
    """Stable id of a stream's period, unique across the account (it names the device)."""
    return f"ha-{device_id}-{stream}-{int(start.timestamp())}"


def rows_from_statistics(rows: Iterable[Mapping[str, object]]) -> list[StatRow]:
    """StatRows from recorder rows (``start`` as a timestamp or datetime, ``change`` maybe None)."""
    result: list[StatRow] = []
    for row in rows:
        change = row.get("change")
        start = row.get("start")
        if not isinstance(change, int | float) or not math.isfinite(change):
            continue
        if isinstance(start, int | float):
            start = datetime.fromtimestamp(start, UTC)
        if isinstance(start, datetime):
            result.append(StatRow(start.astimezone(UTC), float(change)))
    return result


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= _SUM_TOLERANCE_KWH


def new_changes(
    five_minute: Sequence[StatRow],
    hourly: Sequence[StatRow],
    cursor: datetime,
    until: datetime,
    accounted: float,
) -> list[tuple[datetime, float]]:
    """HA's change for each period in ``[cursor, until)`` that has statistics, in time order.

    Per UTC hour, 5-minute rows are used when they account for the hour's energy (with what
    was ``accounted`` before the cursor, if their rows are gone), or when the hour has no
    hourly row yet. Otherwise (5-minute rows are purged after the recorder's keep
    days; hourly rows are kept) what the hourly row holds beyond the energy already
    ``accounted`` for the cursor's hour is spread evenly over the hour's remaining periods.
    A period with statistics and no change is a period of 0 kWh: it is sent, not skipped; so
    is every period of an hour that has an hourly row.
    """
    first_hour = floor_time(cursor, HOUR)
    by_hour: dict[datetime, list[StatRow]] = defaultdict(list)
    for row in five_minute:
        if first_hour <= row.start and row.start + FIVE_MINUTES <= until:
            by_hour[floor_time(row.start, HOUR)].append(row)
    hour_rows = {
        row.start: row for row in hourly if first_hour <= row.start and row.start + HOUR <= until
    }
    changes: list[tuple[datetime, float]] = []
    for hour in sorted(set(by_hour) | set(hour_rows)):
        rows = by_hour.get(hour, [])
        whole = hour_rows.get(hour)
        before = accounted if hour == first_hour else 0.0
        if whole is not None and not (
            # every 5-minute row of the hour is there, or those before the cursor were sent
            _close(sum(r.kwh for r in rows), whole.kwh)
            or _close(before + sum(r.kwh for r in rows if r.start >= cursor), whole.kwh)
        ):
            starts = [
                hour + FIVE_MINUTES * i
                for i in range(PERIODS_PER_HOUR)
                if hour + FIVE_MINUTES * i >= cursor
            ]
            share = (whole.kwh - before) / len(starts)
            changes.extend((start, share) for start in starts)
        else:
            found = {r.start: r.kwh for r in rows if r.start >= cursor}
            if whole is not None:
                # The hourly row vouches for the whole hour: a period without a 5-minute
                # row in it (purged, or HA was off) had no energy, and is sent as 0 kWh.
                for i in range(PERIODS_PER_HOUR):
                    if (start := hour + FIVE_MINUTES * i) >= cursor:
                        found.setdefault(start, 0.0)
            changes.extend(sorted(found.items()))
    return changes


def net(
    recent: Sequence[Period], changes: Sequence[tuple[datetime, float]], carry: float
) -> tuple[list[Period], set[int], float]:
    """Apply new changes after ``recent``: a decrease is taken back from the periods before it.

    Returns every period (``recent`` then the new ones), the indices of ``recent`` periods
    whose sent value changed, and what is still owed.
    """
    periods = list(recent)
    changed: set[int] = set()
    for start, raw in changes:
        if raw >= 0:
            paid = min(carry, raw)
            carry -= paid
            periods.append(Period(start, raw, raw - paid))
            continue
        owed = -raw
        index = len(periods) - 1
        while owed > 0 and index >= 0 and periods[index].start > start - LOOKBACK:
            taken = min(owed, periods[index].sent)
            if taken > 0:
                periods[index] = replace(periods[index], sent=periods[index].sent - taken)
                owed -= taken
                if index < len(recent):
                    changed.add(index)
            index -= 1
        carry += owed
        periods.append(Period(start, raw, 0.0))
    return periods, changed, carry


def plan_stream(
    state: StreamState,
    five_minute: Sequence[StatRow],
    hourly: Sequence[StatRow],
    until: datetime,
    *,
    settled: datetime,
) -> StreamPlan:
    """The periods of ``[state.cursor, until)`` to send, and the state after them.

    Without statistics in the window the cursor still moves up to ``settled`` (statistics
    cannot appear before it any more), so that stretch is not read again.
    """
    first_hour = floor_time(state.cursor, HOUR)
    accounted = sum(p.raw for p in state.recent if p.start >= first_hour)
    changes = new_changes(five_minute, hourly, state.cursor, until, accounted)
    periods, changed, carry = net(state.recent, changes, state.carry)
    fresh = periods[len(state.recent) :]
    # Statistics cannot appear before ``settled`` any more: an empty stretch up to there is
    # passed (a sensor without statistics yet is a few periods behind, not days). Not into
    # the hour ``until`` cuts: its hourly row, beyond this window, may still cover it.
    passed = min(floor_time(until, HOUR), settled)
    cursor = max(state.cursor, fresh[-1].end if fresh else state.cursor, passed)
    send = [periods[i] for i in sorted(changed)] + fresh
    keep_from = cursor - LOOKBACK
    return StreamPlan(
        send=send,
        corrected=len(changed),
        state=StreamState(
            cursor=cursor,
            carry=carry,
            register=state.register,
            recent=[p for p in periods if p.start >= keep_from],
        ),
    )


def cumulative_readings(
    state: StreamState, plan: StreamPlan
) -> tuple[list[tuple[datetime, float, Period | None]], float]:
    """Register readings for a cumulative stream's plan, and the register afterwards.

    The register is the running total of what was sent, so it never decreases. Readings run
    from the first period sent (its start is the baseline, at the register Flatpeak already
    has there) through every later period, corrected or not, so a re-sent period replaces its
    interval instead of being added again. A gap without statistics becomes a reading at the
    next period's start with the register unchanged (no energy there); each reading carries the
    period that ends with it (None for a baseline or gap reading).
    """
    if not plan.send:
        return [], state.register
    first = plan.send[0].start
    old = {p.start: p.sent for p in state.recent}
    register = state.register - sum(sent for start, sent in old.items() if start >= first)
    corrected = {p.start: p for p in plan.send}
    timeline = [corrected.get(p.start, p) for p in state.recent if p.start >= first]
    timeline += plan.send[plan.corrected :]
    readings: list[tuple[datetime, float, Period | None]] = [(first, register, None)]
    for period in timeline:
        if period.start != readings[-1][0]:
            readings.append((period.start, register, None))
        register += period.sent
        readings.append((period.end, register, period))
    return readings, register


def window_end(
    cursors: Sequence[datetime], start: datetime, until: datetime, budget: int
) -> datetime:
    """The latest 5-minute boundary in ``(start, until]`` whose window stays within ``budget``.

    A window ``[start, end)`` sends, per stream, the periods from its cursor to ``end``; the
    end is chosen so their count is at most ``budget`` (always at least one period on).
    """
    low, high = 1, max(1, periods_between(start, until))
    while low < high:
        mid = (low + high + 1) // 2
        end = start + FIVE_MINUTES * mid
        if sum(periods_between(c, end) for c in cursors) <= budget:
            low = mid
        else:
            high = mid - 1
    return min(until, start + FIVE_MINUTES * low)
