"""The simulated home of scripts/develop: energy balances, daylight and the evening session."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
import importlib.util
from pathlib import Path
import sys
from zoneinfo import ZoneInfo

import pytest

_PATH = Path(__file__).parent.parent / "scripts/develop_home/flatpeak_demo_home/model.py"
_SPEC = importlib.util.spec_from_file_location("flatpeak_demo_home_model", _PATH)
assert _SPEC is not None
assert _SPEC.loader is not None
model = importlib.util.module_from_spec(_SPEC)
sys.modules[_SPEC.name] = model  # dataclasses look their module up
_SPEC.loader.exec_module(model)

LONDON = ZoneInfo("Europe/London")


def test_grid_takes_what_solar_leaves_every_minute_of_a_summer_and_a_winter_day() -> None:
    for day in (datetime(2026, 6, 21, tzinfo=LONDON), datetime(2026, 12, 21, tzinfo=LONDON)):
        for minute in range(0, 24 * 60, 7):
            power = model.power_at(day + timedelta(minutes=minute), LONDON)
            use = power.house + power.charger
            assert power.grid_import - power.grid_export == pytest.approx(use - power.solar)
            assert min(power.grid_import, power.grid_export) == 0


def test_solar_by_daylight_longer_in_summer() -> None:
    def daylight_minutes(day: datetime) -> int:
        return sum(
            model.power_at(day + timedelta(minutes=m), LONDON).solar > 0 for m in range(24 * 60)
        )

    assert model.power_at(datetime(2026, 6, 21, 1, tzinfo=LONDON), LONDON).solar == 0
    assert model.power_at(datetime(2026, 6, 21, 13, tzinfo=LONDON), LONDON).solar > 0
    summer = daylight_minutes(datetime(2026, 6, 21, tzinfo=LONDON))
    winter = daylight_minutes(datetime(2026, 12, 21, tzinfo=LONDON))
    assert 15 * 60 < summer < 17 * 60
    assert 7 * 60 < winter < 9 * 60


def test_the_ev_charges_each_evening_and_the_meters_add_up() -> None:
    start = datetime(2026, 11, 27, tzinfo=UTC)
    meters = model.Meters(LONDON, start)
    first = meters.advance(start)
    readings = meters.advance(start + timedelta(days=1))
    charged = readings["charger"] - first["charger"]
    assert charged == pytest.approx(model.CHARGER_KW * model.SESSION_HOURS)
    assert model.charging_at(datetime(2026, 11, 27, 19, tzinfo=LONDON), LONDON)
    assert not model.charging_at(datetime(2026, 11, 27, 22, tzinfo=LONDON), LONDON)
    # Meters only go up, and never backwards in time.
    assert all(readings[k] >= first[k] for k in readings)
    assert meters.advance(start) == readings


def test_the_charging_history_is_each_evening_in_order_ending_as_the_ev_is_now() -> None:
    start = datetime(2026, 3, 27, 19, tzinfo=UTC)  # in a session; the clocks go forward on the 29th
    for end in (datetime(2026, 3, 30, 12, tzinfo=UTC), datetime(2026, 3, 30, 19, tzinfo=UTC)):
        changes = model.charging_changes(start, end, LONDON)
        assert changes[0] == (start, True)
        moments = [moment for moment, _ in changes]
        assert moments == sorted(moments)
        assert [charging for _, charging in changes[1:]] == [
            not charging for _, charging in changes[:-1]
        ]
        assert changes[-1][1] == model.charging_at(end, LONDON)
        for moment, charging in changes[1:]:
            local = moment.astimezone(LONDON)
            assert (local.hour, local.minute) == ((18, 30) if charging else (21, 30))
            assert model.charging_at(moment, LONDON) is charging
            assert model.charging_at(moment - timedelta(minutes=1), LONDON) is not charging


def test_the_heat_pump_is_metered_inside_the_house_use() -> None:
    """The heat pump (the demo's appliance) is part of the house's use, never more, and its
    meter counts what it drew."""
    day = datetime(2026, 1, 15, tzinfo=LONDON)
    for minute in range(0, 24 * 60, 11):
        power = model.power_at(day + timedelta(minutes=minute), LONDON)
        assert 0 < power.heat_pump < power.house
    meters = model.Meters(LONDON, day)
    first = meters.advance(day)
    readings = meters.advance(day + timedelta(days=1))
    drawn = sum(
        model.power_at(day + timedelta(minutes=m + 0.5), LONDON).heat_pump / 60
        for m in range(24 * 60)
    )
    assert readings["heat_pump"] - first["heat_pump"] == pytest.approx(drawn)
    assert 5 < drawn < 12
