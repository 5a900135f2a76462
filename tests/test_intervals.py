"""The domain logic as plain functions: statistics to intervals, netting, sessions, defaults."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from custom_components.flatpeak.intervals import (
    FIVE_MINUTES,
    HOUR,
    Interval,
    StatRow,
    floor_time,
    net_negative,
    periods_between,
    plan_intervals,
    record_reference_id,
    rows_from_statistics,
)
from custom_components.flatpeak.sensors_map import dashboard_defaults
from custom_components.flatpeak.sessions import Session, session_for

T = datetime(2025, 3, 4, 10, 0, tzinfo=UTC)


def five(start: datetime, *values: float) -> list[StatRow]:
    return [StatRow(start + FIVE_MINUTES * i, v) for i, v in enumerate(values)]


def test_five_minute_rows_used_when_they_add_up() -> None:
    """An hour whose 5-minute rows match its hourly row is sent period by period."""
    rows = five(T, *([0.1] * 12))
    planned = plan_intervals(rows, [StatRow(T, 1.2)], T, T + HOUR)
    assert [i.kwh for i in planned] == [0.1] * 12
    assert planned[0].start == T
    assert planned[-1].end == T + HOUR


def test_hourly_row_spread_when_five_minute_rows_are_purged() -> None:
    """No 5-minute rows for an old hour: its hourly energy over twelve equal periods."""
    planned = plan_intervals([], [StatRow(T, 0.6)], T, T + HOUR)
    assert len(planned) == 12
    assert sum(i.kwh for i in planned) == pytest.approx(0.6)
    assert all(i.kwh == pytest.approx(0.05) for i in planned)


def test_mid_hour_cursor_with_purged_rows_resends_the_whole_hour() -> None:
    """Cursor at 10:25, the hour's 5-minute rows now partly purged: the hourly row wins and
    all twelve periods are sent again (same ids, so they replace the earlier ones)."""
    since = T + FIVE_MINUTES * 5
    rows = five(since, 0.1, 0.1, 0.1)  # only 10:25-10:40 left
    planned = plan_intervals(rows, [StatRow(T, 1.2)], since, T + HOUR)
    assert [i.start for i in planned] == [T + FIVE_MINUTES * n for n in range(12)]
    assert sum(i.kwh for i in planned) == pytest.approx(1.2)


def test_mid_hour_cursor_sends_only_the_rest() -> None:
    """Cursor at 10:25 with all rows present: only 10:25 onwards is sent."""
    since = T + FIVE_MINUTES * 5
    planned = plan_intervals(five(T, *([0.1] * 12)), [StatRow(T, 1.2)], since, T + HOUR)
    assert [i.start for i in planned] == [since + FIVE_MINUTES * n for n in range(7)]


def test_incomplete_hour_and_until() -> None:
    """The current hour has no hourly row yet; periods ending after ``until`` wait."""
    planned = plan_intervals(five(T, 0.1, 0.2, 0.3), [], T, T + FIVE_MINUTES * 2)
    assert [i.kwh for i in planned] == [0.1, 0.2]


def test_net_negative_nets_decreases_against_later_increases() -> None:
    """10.0 -> 9.9 -> 10.1 used 0.1 kWh, not 0.2; what is still owed carries over."""
    intervals = [
        Interval(T, -0.1),
        Interval(T + FIVE_MINUTES, 0.2),
        Interval(T + 2 * FIVE_MINUTES, -0.3),
    ]
    netted, deficit = net_negative(intervals, 0.0)
    assert [round(i.kwh, 9) for i in netted] == [0.0, 0.1, 0.0]
    assert deficit == pytest.approx(0.3)
    netted, deficit = net_negative([Interval(T, 0.5)], deficit)
    assert netted[0].kwh == pytest.approx(0.2)
    assert deficit == 0


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
    assert record_reference_id("grid_import", T) == f"ha-grid_import-{int(T.timestamp())}"


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
