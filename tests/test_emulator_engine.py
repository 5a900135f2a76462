"""The emulator's cost engine on its own: hand-computed energies, rates and costs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.emulator import DEMO
from tests.emulator.demo import flat_schedule
from tests.emulator.engine import (
    Interval,
    RateTimeline,
    ScheduleError,
    aggregated_rows,
    energy_wh,
    format_rfc3339,
    local_periods,
    merge_equal,
    parse_rfc3339,
    parse_schedule,
    rate_at,
    rate_segments,
    record_rows,
    round_energy,
)

LONDON = ZoneInfo("Europe/London")
DEMO_IMPORT = parse_schedule(DEMO.import_schedule)


def utc(text: str) -> datetime:
    """An instant from an RFC 3339 string."""
    return parse_rfc3339(text)


def hours(valid_from: str, valid_to: str, rate: float) -> dict[str, Any]:
    """One ``hours`` entry of a schedule."""
    return {"valid_from": valid_from, "valid_to": valid_to, "rate": [{"fixed": rate}]}


def hourly(start: datetime, count: int, wh: float = 1000.0) -> list[Interval]:
    """``count`` consecutive one-hour records of ``wh`` each."""
    return [
        Interval(start + timedelta(hours=n), start + timedelta(hours=n + 1), wh)
        for n in range(count)
    ]


def demo_timeline(start: datetime, end: datetime) -> RateTimeline:
    """The demo import tariff in London over [start, end)."""
    return RateTimeline([DEMO_IMPORT], LONDON, start, end)


# --- energy -------------------------------------------------------------------------------


def test_units_give_the_same_energy() -> None:
    """20567 W for 30 min = 20.567 kW = 10283.5 Wh = 10.2835 kWh."""
    start = utc("2025-08-01T10:30:00Z")
    end = start + timedelta(minutes=30)
    assert energy_wh("W", 20567, start, end) == 10283.5
    assert energy_wh("KW", 20.567, start, end) == pytest.approx(10283.5)
    assert energy_wh("WH", 10283.5, start, end) == 10283.5
    assert energy_wh("KWH", 10.2835, start, end) == pytest.approx(10283.5)
    # The API reports integer WH, rounding half up as in API.md's example.
    assert round_energy(10283.5) == 10284


def test_power_over_zero_duration_is_no_energy() -> None:
    """Constant power for no time is no energy; WH is energy regardless of duration."""
    moment = utc("2025-08-01T10:30:00Z")
    assert energy_wh("W", 5000, moment, moment) == 0
    assert energy_wh("WH", 5000, moment, moment) == 5000


# --- schedules ----------------------------------------------------------------------------


def test_record_across_the_16_00_peak_boundary_is_split_by_time() -> None:
    """Friday 15:30-16:30 BST, 20567 Wh: half at 0.245, half at the 0.35 peak."""
    start, end = utc("2025-08-01T15:30:00+01:00"), utc("2025-08-01T16:30:00+01:00")
    cost = demo_timeline(start, end).cost(20567, start, end)
    assert cost == pytest.approx(10283.5 / 1000 * 0.245 + 10283.5 / 1000 * 0.35)
    assert cost == pytest.approx(6.1186825)


def test_uneven_split_across_the_night_boundary() -> None:
    """00:10-00:40 local (GMT, January): 20 min at 0.245 and 10 min at 0.07 of 3000 Wh."""
    start, end = utc("2025-01-15T00:10:00Z"), utc("2025-01-15T00:40:00Z")
    cost = demo_timeline(start, end).cost(3000, start, end)
    assert cost == pytest.approx(2.0 * 0.245 + 1.0 * 0.07)  # 0.56


def test_weekday_weekend_and_month_schedules() -> None:
    """Summer weekdays/weekends differ, other months fall through to the next entry."""
    schedule = parse_schedule(
        [
            {
                "months": ["Jun", "Jul", "Aug"],
                "days_and_hours": [
                    {"days": ["Weekday"], "hours": [hours("00:00:00", "00:00:00", 0.20)]},
                    {"days": ["Weekend"], "hours": [hours("00:00:00", "00:00:00", 0.10)]},
                ],
            },
            {
                "months": ["All"],
                "days_and_hours": [
                    {"days": ["Mon", "Tue"], "hours": [hours("00:00:00", "00:00:00", 0.30)]},
                    {"days": ["All"], "hours": [hours("00:00:00", "00:00:00", 0.25)]},
                ],
            },
        ]
    )
    at = {
        "2025-07-12T12:00:00": 0.10,  # Saturday in July
        "2025-07-14T12:00:00": 0.20,  # Monday in July
        "2025-01-13T12:00:00": 0.30,  # Monday in January
        "2025-01-15T12:00:00": 0.25,  # Wednesday in January
        "2025-01-18T12:00:00": 0.25,  # Saturday in January
    }
    for local, expected in at.items():
        moment = datetime.fromisoformat(local).replace(tzinfo=LONDON)
        assert schedule.rate_at(moment) == expected, local


def test_valid_to_midnight_means_end_of_day() -> None:
    """18:00:00-00:00:00 covers 23:59:59 but not the next day's 00:00:00."""
    schedule = parse_schedule(
        [
            {
                "months": ["All"],
                "days_and_hours": [
                    {
                        "days": ["Fri"],
                        "hours": [
                            hours("00:00:00", "18:00:00", 0.1),
                            hours("18:00:00", "00:00:00", 0.3),
                        ],
                    }
                ],
            }
        ]
    )
    friday_late = datetime(2025, 8, 1, 23, 59, 59, tzinfo=LONDON)
    saturday = datetime(2025, 8, 2, 0, 0, 0, tzinfo=LONDON)
    assert schedule.rate_at(friday_late) == 0.3
    assert schedule.rate_at(datetime(2025, 8, 1, 18, 0, tzinfo=LONDON)) == 0.3
    assert schedule.rate_at(datetime(2025, 8, 1, 17, 59, 59, tzinfo=LONDON)) == 0.1
    assert schedule.rate_at(saturday) is None  # only Fridays are covered


def test_hours_wrapping_midnight() -> None:
    """valid_from after valid_to wraps midnight (23:00-06:00)."""
    schedule = parse_schedule(
        [{"days_and_hours": [{"days": ["All"], "hours": [hours("23:00:00", "06:00:00", 0.05)]}]}]
    )
    assert schedule.rate_at(datetime(2025, 8, 1, 23, 30, tzinfo=LONDON)) == 0.05
    assert schedule.rate_at(datetime(2025, 8, 1, 5, 59, tzinfo=LONDON)) == 0.05
    assert schedule.rate_at(datetime(2025, 8, 1, 6, 0, tzinfo=LONDON)) is None


def test_elements_of_one_direction_add_up() -> None:
    """A commodity and a non-commodity element: the rate is their sum."""
    commodity = parse_schedule(flat_schedule(0.20))
    non_commodity = parse_schedule(
        [
            {
                "days_and_hours": [
                    {"days": ["Weekday"], "hours": [hours("16:00:00", "19:00:00", 0.05)]}
                ]
            }
        ]
    )
    weekday_peak = datetime(2025, 8, 1, 17, 0, tzinfo=LONDON)
    weekend_peak = datetime(2025, 8, 2, 17, 0, tzinfo=LONDON)
    assert rate_at([commodity, non_commodity], weekday_peak) == pytest.approx(0.25)
    assert rate_at([commodity, non_commodity], weekend_peak) == pytest.approx(0.20)
    assert rate_at([], weekday_peak) == 0


@pytest.mark.parametrize(
    ("schedule", "field"),
    [
        ([], "schedule"),
        ([{"months": ["Jum"], "days_and_hours": []}], "schedule[0].months[0]"),
        (
            [
                {
                    "days_and_hours": [
                        {"days": ["Funday"], "hours": [hours("00:00:00", "00:00:00", 1)]}
                    ]
                }
            ],
            "schedule[0].days_and_hours[0].days[0]",
        ),
        (
            [{"days_and_hours": [{"days": ["All"], "hours": [hours("7:00", "00:00:00", 1)]}]}],
            "schedule[0].days_and_hours[0].hours[0].valid_from",
        ),
        (
            [
                {
                    "days_and_hours": [
                        {"days": ["All"], "hours": [{"valid_from": "00:00:00", "rate": []}]}
                    ]
                }
            ],
            "schedule[0].days_and_hours[0].hours[0].rate",
        ),
        (
            [
                {
                    "days_and_hours": [
                        {"days": ["All"], "hours": [{"rate": [{"fixed": "0.2"}]}]},
                    ]
                }
            ],
            "schedule[0].days_and_hours[0].hours[0].rate[0].fixed",
        ),
    ],
)
def test_schedule_validation_names_the_field(schedule: list[Any], field: str) -> None:
    """Malformed schedules are rejected with the path of the offending field."""
    with pytest.raises(ScheduleError) as err:
        parse_schedule(schedule)
    assert err.value.field == field


# --- timelines ----------------------------------------------------------------------------


def test_price_segments_of_a_weekday() -> None:
    """A BST Friday: 0.07 until 04:30, 0.245, 0.35 from 16:00 to 19:00, 0.245 (UTC shown)."""
    start, end = utc("2025-08-01T00:00:00+01:00"), utc("2025-08-02T00:00:00+01:00")
    segments = merge_equal(rate_segments([DEMO_IMPORT], LONDON, start, end))
    assert [(format_rfc3339(s.start), s.rate) for s in segments] == [
        ("2025-07-31T23:00:00Z", 0.245),
        ("2025-07-31T23:30:00Z", 0.07),
        ("2025-08-01T03:30:00Z", 0.245),
        ("2025-08-01T15:00:00Z", 0.35),
        ("2025-08-01T18:00:00Z", 0.245),
    ]
    assert segments[-1].end == end


def test_boundary_inside_the_spring_forward_gap() -> None:
    """A rate change at 01:30 local on 2025-03-30 takes effect when clocks jump (01:00Z)."""
    schedule = parse_schedule(
        [
            {
                "days_and_hours": [
                    {
                        "days": ["All"],
                        "hours": [
                            hours("00:00:00", "01:30:00", 0.1),
                            hours("01:30:00", "00:00:00", 0.2),
                        ],
                    }
                ]
            }
        ]
    )
    start, end = utc("2025-03-30T00:00:00Z"), utc("2025-03-30T03:00:00Z")
    segments = rate_segments([schedule], LONDON, start, end)
    assert [(format_rfc3339(s.start), s.rate) for s in segments] == [
        ("2025-03-30T00:00:00Z", 0.1),
        ("2025-03-30T01:00:00Z", 0.2),
    ]


# --- reports ------------------------------------------------------------------------------


def test_day_report_on_the_23_hour_day() -> None:
    """2025-03-30 (Sunday) in London is 23 h; hourly 1 kWh records land in their local day.

    Off-peak (00:30-04:30 wall clock) is 00:30-01:00 GMT and 02:00-04:30 BST = 3 h:
    3 x 0.07 + 20 x 0.245 = 5.11.
    """
    day_start, day_end = utc("2025-03-30T00:00:00Z"), utc("2025-03-30T23:00:00Z")
    records = hourly(utc("2025-03-29T00:00:00Z"), 24 + 23 + 24)  # Sat, Sun (23 h), Mon
    window_start, window_end = records[0].start, records[-1].end
    timeline = demo_timeline(window_start, window_end)
    rows = aggregated_rows(
        records, window_start, window_end, LONDON, "DAY", timeline_for=lambda _: timeline
    )
    assert [(r.start, r.end) for r in rows] == [
        (window_start, day_start),
        (day_start, day_end),
        (day_end, window_end),
    ]
    assert [r.energy_wh for r in rows] == pytest.approx([24000, 23000, 24000])
    assert rows[1].cost == pytest.approx(5.11)
    # Saturday 2025-03-29 (GMT): 4 h off-peak, 20 h standard.
    assert rows[0].cost == pytest.approx(4 * 0.07 + 20 * 0.245)
    # Monday 2025-03-31 (BST, weekday): 4 h off-peak, 3 h peak, 17 h standard.
    assert rows[2].cost == pytest.approx(4 * 0.07 + 3 * 0.35 + 17 * 0.245)
    assert sum(r.cost for r in rows) == pytest.approx(
        sum(r.cost for r in record_rows(records, window_start, window_end, lambda _: timeline))
    )


def test_day_report_on_the_25_hour_day() -> None:
    """2025-10-26 (Sunday) in London is 25 h; 01:00-02:00 happens twice, both off-peak.

    Off-peak: 00:30-01:00 BST, 01:00-02:00 BST, 01:00-02:00 GMT, 02:00-04:30 GMT = 5 h:
    5 x 0.07 + 20 x 0.245 = 5.25.
    """
    day_start, day_end = utc("2025-10-25T23:00:00Z"), utc("2025-10-27T00:00:00Z")
    records = hourly(day_start, 25)
    timeline = demo_timeline(day_start, day_end)
    rows = aggregated_rows(
        records, day_start, day_end, LONDON, "DAY", timeline_for=lambda _: timeline
    )
    assert len(rows) == 1
    assert (rows[0].start, rows[0].end) == (day_start, day_end)
    assert rows[0].energy_wh == pytest.approx(25000)
    assert rows[0].cost == pytest.approx(5.25)


def test_record_straddling_local_midnight_is_split_between_days() -> None:
    """23:30-00:30 BST, 2000 Wh: 1000 Wh on each local day, each at 0.245 (Fri -> Sat)."""
    record = Interval(utc("2025-08-01T23:30:00+01:00"), utc("2025-08-02T00:30:00+01:00"), 2000)
    start, end = utc("2025-08-01T00:00:00+01:00"), utc("2025-08-03T00:00:00+01:00")
    timeline = demo_timeline(start, end)
    rows = aggregated_rows([record], start, end, LONDON, "DAY", timeline_for=lambda _: timeline)
    assert [r.energy_wh for r in rows] == pytest.approx([1000, 1000])
    assert [r.cost for r in rows] == pytest.approx([0.245, 0.245])


def test_record_rows_are_clipped_to_the_window() -> None:
    """Only the part of a record inside the window counts, prorated by time."""
    record = Interval(utc("2025-08-01T10:00:00Z"), utc("2025-08-01T12:00:00Z"), 4000)
    start, end = utc("2025-08-01T11:30:00Z"), utc("2025-08-02T00:00:00Z")
    timeline = demo_timeline(start, end)
    (row,) = record_rows([record], start, end, lambda _: timeline)
    assert (row.start, row.end) == (start, record.end)
    assert row.energy_wh == pytest.approx(1000)
    assert row.cost == pytest.approx(0.245)


def test_month_periods_follow_local_time() -> None:
    """March 2025 in London runs 2025-03-01T00:00Z to 2025-03-31T23:00Z (BST at the end)."""
    start, end = utc("2025-02-15T00:00:00Z"), utc("2025-04-15T00:00:00Z")
    periods = local_periods(LONDON, start, end, "MONTH")
    assert periods == [
        (start, utc("2025-03-01T00:00:00Z")),
        (utc("2025-03-01T00:00:00Z"), utc("2025-03-31T23:00:00Z")),
        (utc("2025-03-31T23:00:00Z"), end),
    ]
    assert (periods[1][1] - periods[1][0]) == timedelta(days=31) - timedelta(hours=1)


# --- time format --------------------------------------------------------------------------


def test_rfc3339_in_and_out() -> None:
    """Offsets are accepted and normalised to UTC with a Z; naive times are refused."""
    assert parse_rfc3339("2025-08-01T11:30:00+01:00") == datetime(2025, 8, 1, 10, 30, tzinfo=UTC)
    assert format_rfc3339(utc("2025-08-01T11:30:00+01:00")) == "2025-08-01T10:30:00Z"
    with pytest.raises(ValueError, match="offset"):
        parse_rfc3339("2025-08-01T10:30:00")
    with pytest.raises(ValueError, match="RFC 3339"):
        parse_rfc3339("yesterday")
