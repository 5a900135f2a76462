"""The domain logic as plain functions: statistics to periods, netting, windows, sessions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
import json
import math
import random

import pytest

from custom_components.flatpeak.core.records import (
    FIVE_MINUTES,
    HOUR,
    LOOKBACK,
    Period,
    StatRow,
    StreamState,
    cumulative_readings,
    floor_time,
    net,
    new_changes,
    periods_between,
    plan_stream,
    record_reference_id,
    rows_from_statistics,
    window_end,
)
from custom_components.flatpeak.core.sessions import Session, session_for
from custom_components.flatpeak.sensor_choices import dashboard_defaults

T = datetime(2025, 3, 4, 10, 0, tzinfo=UTC)
FAR = T + timedelta(days=30)  # statistics long settled


def five(start: datetime, *values: float) -> list[StatRow]:
    return [StatRow(start + FIVE_MINUTES * i, v) for i, v in enumerate(values)]


def sent(periods: list[Period]) -> list[float]:
    return [round(p.sent, 9) for p in periods]


def test_five_minute_rows_used_when_they_add_up() -> None:
    """An hour whose 5-minute rows match its hourly row is sent period by period."""
    changes = new_changes(five(T, *([0.1] * 12)), [StatRow(T, 1.2)], T, T + HOUR, 0.0)
    assert [kwh for _, kwh in changes] == [0.1] * 12
    assert changes[0][0] == T


def test_zero_is_a_reading() -> None:
    """A period whose statistics say 0 kWh is sent as 0 kWh; the cursor passes it."""
    plan = plan_stream(StreamState(T), five(T, 0.0, 0.0, 0.0), [], T + HOUR, settled=T)
    assert sent(plan.send) == [0.0, 0.0, 0.0]
    assert plan.state.cursor == T + 3 * FIVE_MINUTES


def test_hourly_row_spread_when_five_minute_rows_are_purged() -> None:
    """No 5-minute rows for an old hour: its hourly energy over twelve equal periods."""
    changes = new_changes([], [StatRow(T, 0.6)], T, T + HOUR, 0.0)
    assert len(changes) == 12
    assert all(kwh == pytest.approx(0.05) for _, kwh in changes)


def test_mid_hour_cursor_with_purged_rows_sends_only_the_rest_of_the_hour() -> None:
    """Cursor at 10:25 after 0.5 kWh, the hour's 5-minute rows since purged: the 0.7 kWh the
    hourly row holds beyond what was sent goes over the seven periods left. Nothing is sent
    twice and no deficit is subtracted twice."""
    state = StreamState(
        T + 5 * FIVE_MINUTES, recent=[Period(T + FIVE_MINUTES * i, 0.1, 0.1) for i in range(5)]
    )
    plan = plan_stream(state, five(T + 8 * FIVE_MINUTES, 0.1), [StatRow(T, 1.2)], FAR, settled=T)
    assert [p.start for p in plan.send] == [T + FIVE_MINUTES * n for n in range(5, 12)]
    assert sum(p.sent for p in plan.send) == pytest.approx(0.7)
    assert plan.corrected == 0


def test_mid_hour_cursor_sends_only_the_rest() -> None:
    """Cursor at 10:25 with all rows present: only 10:25 onwards is sent."""
    since = T + FIVE_MINUTES * 5
    changes = new_changes(five(T, *([0.1] * 12)), [StatRow(T, 1.2)], since, T + HOUR, 0.5)
    assert [start for start, _ in changes] == [since + FIVE_MINUTES * n for n in range(7)]


def test_incomplete_hour_and_until() -> None:
    """The current hour has no hourly row yet; periods ending after ``until`` wait."""
    plan = plan_stream(StreamState(T), five(T, 0.1, 0.2, 0.3), [], T + 2 * FIVE_MINUTES, settled=T)
    assert sent(plan.send) == [0.1, 0.2]
    assert plan.state.cursor == T + 2 * FIVE_MINUTES


def test_empty_stretch_is_passed_up_to_where_statistics_are_settled() -> None:
    """No statistics (a new sensor, HA was off): the cursor passes what can no longer get
    statistics, and waits only for the recent part."""
    state = StreamState(T)
    assert plan_stream(state, [], [], T + HOUR, settled=T + HOUR).state.cursor == T + HOUR
    assert plan_stream(state, [], [], T + HOUR, settled=T).state.cursor == T
    days = plan_stream(state, [], [], T + timedelta(days=10), settled=T + timedelta(days=9))
    assert days.state.cursor == T + timedelta(days=9)
    # rows that stopped early are followed by the settled stretch, not stuck behind it
    rows = five(T, 0.1, 0.2)
    assert plan_stream(state, rows, [], FAR, settled=T + HOUR).state.cursor == T + HOUR


def test_decrease_is_taken_back_from_the_periods_before_it() -> None:
    """10.0 -> 10.2 -> 10.1: the 0.1 kWh decrease corrects the period before it."""
    periods, changed, carry = net([], [(T, 0.2), (T + FIVE_MINUTES, -0.1)], 0.0)
    assert sent(periods) == [0.1, 0.0]
    assert changed == set()  # both periods are new: nothing sent before is corrected
    assert carry == 0


def test_glitch_spike_is_undone_not_netted_forward() -> None:
    """A reading of 1e12 kWh for one period, then the true value: the spike's period keeps only
    its real energy, and every later period keeps its own."""
    state = StreamState(T)
    first = plan_stream(state, five(T, 0.1, 1e12), [], FAR, settled=T)
    assert first.send[-1].sent == 1e12
    then = five(T + 2 * FIVE_MINUTES, -(1e12 - 0.2), 0.3, 0.4)
    second = plan_stream(first.state, then, [], FAR, settled=T)
    # the spike's period is sent again, corrected; later periods are untouched by it
    assert second.corrected == 1
    assert second.send[0].start == T + FIVE_MINUTES
    # (HA's own statistics carry the same float rounding of a 1e12 spike)
    assert second.send[0].sent == 1e12 - (1e12 - 0.2)
    assert sent(second.send[1:]) == [0.0, 0.3, 0.4]
    assert second.state.carry == 0
    statistics = math.fsum([0.1, 1e12, -(1e12 - 0.2), 0.3, 0.4])
    final = {p.start: p.sent for p in first.send} | {p.start: p.sent for p in second.send}
    assert sum(final.values()) == pytest.approx(statistics, abs=1e-9)


def test_decrease_older_than_the_lookback_carries_forward() -> None:
    """Only the last 24 hours are corrected; what they cannot absorb is owed by later energy."""
    old = [Period(T - LOOKBACK - FIVE_MINUTES, 5.0, 5.0)]
    recent = [Period(T - FIVE_MINUTES * 2, 0.5, 0.5), Period(T - FIVE_MINUTES, 0.25, 0.25)]
    state = StreamState(T, recent=old + recent)
    plan = plan_stream(state, five(T, -1.0, 0.1, 0.5), [], FAR, settled=T)
    assert plan.corrected == 2
    assert sent(plan.send) == [0.0, 0.0, 0.0, 0.0, 0.35]
    assert plan.state.carry == 0
    # the period older than the lookback was not touched and has left the state
    assert all(p.start >= plan.state.cursor - LOOKBACK for p in plan.state.recent)


def test_random_series_total_equals_statistics() -> None:
    """Over any series with dips and glitches, what Flatpeak ends up holding (the last value
    sent per period) sums to HA's statistics, period values never negative."""
    rng = random.Random(7)
    changes = []
    for _ in range(2000):
        roll = rng.random()
        changes.append(-rng.uniform(0, 3) if roll < 0.05 else rng.uniform(0, 0.5))
    held: dict[datetime, float] = {}
    state = StreamState(T)
    rows = five(T, *changes)
    for end in range(37, len(rows) + 37, 37):  # cycles of varying content
        until = T + FIVE_MINUTES * end
        plan = plan_stream(state, rows, [], until, settled=until)
        held.update({p.start: p.sent for p in plan.send})
        state = plan.state
    assert all(value >= 0 for value in held.values())
    assert sum(held.values()) - state.carry == pytest.approx(sum(changes), abs=1e-6)


def test_cumulative_readings_resend_from_the_first_correction() -> None:
    """Registers never decrease; a correction re-sends readings from the corrected period on,
    starting at the register Flatpeak already has there (nothing is added twice)."""
    state = StreamState(T)
    first = plan_stream(state, five(T, 1.0, 2.0), [], FAR, settled=T)
    readings, register = cumulative_readings(state, first)
    assert [(w, v) for w, v, _ in readings] == [
        (T, 0.0),
        (T + FIVE_MINUTES, 1.0),
        (T + 2 * FIVE_MINUTES, 3.0),
    ]
    state = StreamState(first.state.cursor, register=register, recent=first.state.recent)
    second = plan_stream(state, five(T + 2 * FIVE_MINUTES, -1.5, 0.5), [], FAR, settled=T)
    readings, register = cumulative_readings(state, second)
    # the second period (2.0) gave back 1.5: re-sent from its start, at register 1.0
    assert [(w, round(v, 9)) for w, v, _ in readings] == [
        (T + FIVE_MINUTES, 1.0),
        (T + 2 * FIVE_MINUTES, 1.5),
        (T + 3 * FIVE_MINUTES, 1.5),
        (T + 4 * FIVE_MINUTES, 2.0),
    ]
    assert register == pytest.approx(2.0)  # 1.0 + 2.0 - 1.5 + 0.5


def test_cumulative_gap_is_a_zero_reading() -> None:
    """A period without statistics is not smeared: the register stays put over the gap."""
    rows = [StatRow(T, 1.0), StatRow(T + 3 * FIVE_MINUTES, 0.5)]
    plan = plan_stream(StreamState(T), rows, [], FAR, settled=T)
    readings, _ = cumulative_readings(StreamState(T), plan)
    assert [(w, v) for w, v, _ in readings] == [
        (T, 0.0),
        (T + FIVE_MINUTES, 1.0),
        (T + 3 * FIVE_MINUTES, 1.0),
        (T + 4 * FIVE_MINUTES, 1.5),
    ]


def test_window_end_fills_the_budget() -> None:
    """Three streams at one cursor: 3,333 periods each fit 10,000 records."""
    cursors = [T, T, T]
    end = window_end(cursors, T, T + timedelta(days=365), 10_000)
    assert periods_between(T, end) == 3333
    # a stream far behind the others takes the budget first
    end = window_end([T, T + timedelta(days=100)], T, T + timedelta(days=365), 100)
    assert end == T + 100 * FIVE_MINUTES
    assert window_end(cursors, T, T + FIVE_MINUTES * 3, 10_000) == T + FIVE_MINUTES * 3


def test_rows_from_statistics_skips_unusable_rows() -> None:
    """None and non-finite changes are skipped; timestamps and datetimes both accepted."""
    rows = rows_from_statistics(
        [
            {"start": T.timestamp(), "change": 1.0},
            {"start": T + FIVE_MINUTES, "change": 2},
            {"start": T.timestamp(), "change": None},
            {"start": T.timestamp(), "change": float("nan")},
            {"start": "x", "change": 1.0},
        ]
    )
    assert rows == [StatRow(T, 1.0), StatRow(T + FIVE_MINUTES, 2.0)]


def test_time_helpers() -> None:
    assert floor_time(T + timedelta(minutes=7, seconds=3), FIVE_MINUTES) == T + FIVE_MINUTES
    assert floor_time(T + timedelta(minutes=59), HOUR) == T
    assert periods_between(T, T + timedelta(minutes=17)) == 3
    assert periods_between(T + HOUR, T) == 0
    ts = int(T.timestamp())
    assert record_reference_id("dev_1", "grid_import", T) == f"ha-dev_1-grid_import-{ts}"


def test_session_for_picks_the_overlapping_session() -> None:
    """Any overlap tags a period; the longer overlap wins; an open session runs on."""
    sessions = [
        Session("a", T, T + timedelta(minutes=7)),
        Session("b", T + timedelta(minutes=8)),
    ]
    assert session_for(sessions, T - FIVE_MINUTES, T) is None
    assert session_for(sessions, T, T + FIVE_MINUTES) == "a"
    assert session_for(sessions, T + FIVE_MINUTES, T + 2 * FIVE_MINUTES) == "a"  # 2 min vs 2 min
    assert session_for(sessions, T + 2 * FIVE_MINUTES, T + 3 * FIVE_MINUTES) == "b"
    assert session_for(sessions, T + timedelta(hours=5), T + timedelta(hours=5, minutes=5)) == "b"
    restored = Session.from_dict(sessions[0].as_dict())
    assert restored == sessions[0]


def test_dashboard_defaults_both_grid_formats() -> None:
    """Legacy flow_from/flow_to and the unified grid source give the same defaults."""
    legacy = {
        "energy_sources": [
            {
                "type": "grid",
                "flow_from": [
                    {"stat_energy_from": "sensor.imp"},
                    {"stat_energy_from": "sensor.imp2"},
                ],
                "flow_to": [{"stat_energy_to": "sensor.exp"}],
            },
            {"type": "solar", "stat_energy_from": "sensor.pv"},
            {"type": "battery", "stat_energy_from": "sensor.bat"},
        ]
    }
    unified = {
        "energy_sources": [
            {"type": "grid", "stat_energy_from": "sensor.imp", "stat_energy_to": "sensor.exp"},
            {"type": "solar", "stat_energy_from": "sensor.pv"},
        ]
    }
    expected = {"grid_import": "sensor.imp", "grid_export": "sensor.exp", "solar": "sensor.pv"}
    assert dashboard_defaults(legacy) == expected
    assert dashboard_defaults(unified) == expected
    external = {
        "energy_sources": [
            {"type": "grid", "stat_energy_from": "tibber:energy", "stat_energy_to": None}
        ]
    }
    assert dashboard_defaults(external) == {}
    assert dashboard_defaults(None) == {}


def test_rows_after_the_cursor_kept_when_the_earlier_ones_are_purged() -> None:
    """Cursor at 10:25 after 0.5 kWh; the rows before it are purged but the later ones are
    there and, with what was sent, make up the hour: they are used as they are."""
    state = StreamState(
        T + 5 * FIVE_MINUTES, recent=[Period(T + FIVE_MINUTES * i, 0.1, 0.1) for i in range(5)]
    )
    rows = five(T + 5 * FIVE_MINUTES, 0.0, 0.3, 0.1, 0.1, 0.1, 0.05, 0.05)
    plan = plan_stream(state, rows, [StatRow(T, 1.2)], FAR, settled=T)
    assert sent(plan.send) == [0.0, 0.3, 0.1, 0.1, 0.1, 0.05, 0.05]


def test_window_with_corrections_is_shortened_to_fit_the_budget() -> None:
    """A decrease brings a day of corrected periods on top of the new ones: the window is
    planned again shorter so one request never carries more than the budget."""
    from custom_components.flatpeak.client import EnergyFlowDirection, TariffDirection
    from custom_components.flatpeak.core.streams import Stream
    from custom_components.flatpeak.core.window import PlanJob, build_window

    stream = Stream(
        "grid_import",
        "sub",
        "dev_1",
        "sensor.grid_import",
        EnergyFlowDirection.INBOUND,
        TariffDirection.IMPORT,
        None,
        cumulative=False,
        sessions=False,
    )
    recent = [Period(T - FIVE_MINUTES * (i + 1), 0.01, 0.01) for i in range(288)][::-1]
    state = StreamState(T, recent=recent)
    rows = five(T, -2.0, *([0.01] * 99))
    job = PlanJob(stream, state, rows, [], [])
    window = build_window(
        [job], T + 100 * FIVE_MINUTES, settled=T, location_id="loc_1", queued=[], budget=250
    )
    assert len(window.items) == window.body.count <= 250
    assert window.end < T + 100 * FIVE_MINUTES
    assert window.plans["dev_1:grid_import"].corrected == 200  # 2 kWh took back 200 periods
    assert window.plans["dev_1:grid_import"].state.cursor == window.end
    sent = json.loads(window.body.body)
    assert [r["record_reference_id"] for r in sent] == [
        f"ha-dev_1-grid_import-{int(item.start.timestamp())}" for item in window.items
    ]


def test_an_hour_resent_from_hourly_statistics_pays_what_is_owed_once() -> None:
    """0.8 kWh owed at 10:00; 10:00-10:25 (0.1 kWh each) paid 0.5 of it. The hour's 5-minute
    rows are then purged and its hourly row says 1.2 kWh: the rest of the hour carries 0.7, of
    which 0.3 still pays what is owed. Flatpeak's hour ends at 1.2 - 0.8, never lower."""
    recent = [Period(T + FIVE_MINUTES * i, 0.1, 0.0) for i in range(5)]
    state = StreamState(T + 5 * FIVE_MINUTES, carry=0.3, recent=recent)
    plan = plan_stream(state, [], [StatRow(T, 1.2)], FAR, settled=T)
    assert plan.corrected == 0
    assert sent(plan.send) == [0.0, 0.0, 0.0, 0.1, 0.1, 0.1, 0.1]
    assert plan.state.carry == 0
    hour = sum(p.sent for p in recent) + sum(p.sent for p in plan.send)
    assert hour == pytest.approx(1.2 - 0.8)


def test_every_period_of_an_hour_with_an_hourly_row_is_sent() -> None:
    """Old hours with hourly rows only: a 0 kWh hour is twelve 0 kWh periods, not nothing,
    and an hour whose 5-minute rows add up but are incomplete fills the rest with zeros."""
    hourly = [StatRow(T, 0.0), StatRow(T + HOUR, 1.2), StatRow(T + 2 * HOUR, 0.3)]
    rows = [StatRow(T + 2 * HOUR + FIVE_MINUTES, 0.3)]  # one row left of the third hour
    plan = plan_stream(StreamState(T), rows, hourly, T + 3 * HOUR, settled=T)
    assert len(plan.send) == 36
    assert sent(plan.send[:12]) == [0.0] * 12
    assert sum(p.sent for p in plan.send[12:24]) == pytest.approx(1.2)
    assert sent(plan.send[24:]) == [0.0, 0.3] + [0.0] * 10
