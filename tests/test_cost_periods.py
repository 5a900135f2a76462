"""The periods people budget in: yesterday, this week (from the first day of the week) and
this billing period (from a day of the month), each equal to Flatpeak's figure for the same
span in the location's time zone; they move on at the location's midnight, across DST and
short months, and survive restarts. Energy goes through the real uploader."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)

from custom_components.flatpeak.client import Aggregation
from custom_components.flatpeak.core.periods import (
    Calendar,
    billing_start,
    default_first_weekday,
)
from tests.conftest import Emulator
from tests.helpers import add_sensors, house_meter_subentry, make_entry, new_device
from tests.test_cost_trust import import_energy
from tests.test_costs import costs, flatpeak_cost
from tests.uploads_helpers import uploads

HOUR = timedelta(hours=1)
PREFIX = "sensor.1_test_street_"


def local(zone: str, *args: int) -> datetime:
    """A wall time in ``zone``, as UTC."""
    return datetime(*args, tzinfo=ZoneInfo(zone)).astimezone(UTC)  # type: ignore[misc]


def per_hour_from(start: datetime, end: datetime) -> list[float]:
    """kWh per UTC hour of ``[start, end)``: varied, never the same two hours running."""
    return [0.3 + 0.05 * (index % 7) for index in range(int((end - start) / HOUR))]


async def setup_house(
    hass: HomeAssistant,
    emulator: Emulator,
    freezer: FrozenDateTimeFactory,
    *,
    now: datetime,
    since: datetime,
    zone: str,
    options: dict[str, Any],
) -> tuple[MockConfigEntry, str]:
    """A house meter on grid import with hourly energy from ``since`` to ``now``'s hour,
    sent by the uploader and priced back; ``options`` the entry's."""
    emulator.state.locations[emulator.location_id].timezone = zone
    await hass.config.async_update(time_zone=zone, currency="GBP")
    freezer.move_to(now)
    add_sensors(hass)
    start = since.replace(minute=0)
    import_energy(hass, start, per_hour_from(start, now.replace(minute=0)))
    await async_wait_recording_done(hass)
    house = await new_device(hass, emulator, "house")
    subentry = house_meter_subentry(house)
    del subentry["data"]["grid_export"], subentry["data"]["solar"]
    days = (now - start).days + 2
    entry = await make_entry(
        hass, emulator, subentries=[subentry], options={"history_days": days, **options}
    )
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    return entry, house


def entity_id(hass: HomeAssistant, key: str) -> str:
    """The house meter's sensor ``key`` (its id follows its name, which a billing day
    changes)."""
    (house,) = {
        e.unique_id.rsplit("_cost_", 1)[0]
        for e in er.async_get(hass).entities.values()
        if e.platform == "flatpeak" and e.unique_id.endswith("_cost_today")
    }
    found = er.async_get(hass).async_get_entity_id("sensor", "flatpeak", f"{house}_{key}")
    assert found is not None, key
    return found


def value(hass: HomeAssistant, key: str) -> float:
    state = hass.states.get(entity_id(hass, key))
    assert state is not None, key
    assert state.state not in ("unknown", "unavailable"), key
    return float(state.state)


async def assert_periods(
    hass: HomeAssistant,
    emulator: Emulator,
    house: str,
    spans: dict[str, tuple[datetime, datetime]],
) -> None:
    """Each sensor equals Flatpeak's figure for its span (and each figure is something)."""
    for key, span in spans.items():
        figure = await flatpeak_cost(hass, emulator, house, span)
        assert figure > 0, key
        assert value(hass, key) == pytest.approx(figure, abs=1e-4), key


async def restart(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    await costs(entry).async_refresh()
    await hass.async_block_till_done()


@pytest.mark.parametrize("zone", ["Europe/London", "Asia/Kolkata", "America/St_Johns"])
async def test_yesterday_week_and_billing_period_equal_flatpeak(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory, zone: str
) -> None:
    """Wednesday 4 June 10:10, billing day 28, weeks from Monday: yesterday is 3 June, the
    week from 2 June, the billing period from 28 May, each from the location's midnight
    (off the UTC hour in Kolkata and St John's). The same after the hot window has moved
    past the week's and the period's start, and after a restart."""
    now = local(zone, 2025, 6, 4, 10, 10)
    entry, house = await setup_house(
        hass,
        emulator,
        freezer,
        now=now,
        since=local(zone, 2025, 5, 26, 12),
        zone=zone,
        options={"billing_day": 28, "first_weekday": "mon"},
    )
    end = now + HOUR
    spans = {
        "cost_today": (local(zone, 2025, 6, 4), end),
        "cost_yesterday": (local(zone, 2025, 6, 3), local(zone, 2025, 6, 4)),
        "cost_this_week": (local(zone, 2025, 6, 2), end),
        "cost_this_month": (local(zone, 2025, 5, 28), end),
    }
    await assert_periods(hass, emulator, house, spans)
    yesterday = await flatpeak_cost(
        hass, emulator, house, spans["cost_yesterday"], aggregation=Aggregation.DAY
    )
    assert value(hass, "cost_yesterday") == pytest.approx(yesterday, abs=1e-4)

    freezer.move_to(now + 2 * HOUR)
    await costs(entry).async_refresh()  # the hot window: 48 hours, after Monday
    await hass.async_block_till_done()
    before = costs(entry).data.before_window[f"flatpeak:{house.lower()}_grid_import_cost"]
    assert set(before) == {spans["cost_this_week"][0], spans["cost_this_month"][0]}
    await assert_periods(hass, emulator, house, spans)
    await restart(hass, entry)
    await assert_periods(hass, emulator, house, spans)

    month = er.async_get(hass).async_get(entity_id(hass, "cost_this_month"))
    assert month is not None
    assert month.translation_key == "cost_this_billing_period"
    assert month.entity_id == PREFIX + "cost_this_billing_period"
    state = hass.states.get(entity_id(hass, "cost_this_week"))
    assert state is not None
    assert state.attributes["last_reset"] == spans["cost_this_week"][0].isoformat()
    yesterday_state = hass.states.get(entity_id(hass, "cost_yesterday"))
    assert yesterday_state is not None
    assert "last_reset" not in yesterday_state.attributes
    assert "state_class" not in yesterday_state.attributes


async def test_periods_move_on_at_the_location_midnight_across_dst(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """London, weeks from Sunday, billing from the 27th: Sunday 26 October 2025 is 25 hours
    long (clocks go back), and the week and the billing period both start on it. At
    midnight the day becomes yesterday by the timer alone; with Monday's energy sent, each
    total is Flatpeak's for its span."""
    zone = "Europe/London"
    saturday_night = local(zone, 2025, 10, 25, 23, 40)
    entry, house = await setup_house(
        hass,
        emulator,
        freezer,
        now=saturday_night,
        since=local(zone, 2025, 10, 20, 0),
        zone=zone,
        options={"billing_day": 26, "first_weekday": "sun"},
    )
    saturday = value(hass, "cost_today")
    week_before = value(hass, "cost_this_week")
    assert week_before > saturday > 0
    sunday = local(zone, 2025, 10, 26)
    assert local(zone, 2025, 10, 27) - sunday == 25 * HOUR

    freezer.move_to(sunday + timedelta(minutes=5))  # the midnight timer, no new data
    async_fire_time_changed(hass, sunday + timedelta(minutes=5))
    await hass.async_block_till_done()
    assert value(hass, "cost_yesterday") == pytest.approx(saturday, abs=1e-4)
    for key in ("cost_today", "cost_this_week", "cost_this_month"):
        assert value(hass, key) == 0, key
    state = hass.states.get(entity_id(hass, "cost_this_week"))
    assert state is not None
    assert state.attributes["last_reset"] == sunday.isoformat()

    monday = local(zone, 2025, 10, 27, 9, 10)  # past Sunday's 25 hours
    freezer.move_to(monday)
    first = local(zone, 2025, 10, 20, 0)  # the same hours again, and Sunday's and Monday's
    import_energy(hass, first, per_hour_from(first, monday.replace(minute=0)))
    await async_wait_recording_done(hass)
    await uploads(entry).async_refresh()
    await costs(entry).async_refresh()
    await hass.async_block_till_done()
    end = monday + HOUR
    await assert_periods(
        hass,
        emulator,
        house,
        {
            "cost_today": (local(zone, 2025, 10, 27), end),
            "cost_yesterday": (sunday, local(zone, 2025, 10, 27)),
            "cost_this_week": (sunday, end),
            "cost_this_month": (sunday, end),
        },
    )
    assert value(hass, "cost_this_week") == pytest.approx(
        value(hass, "cost_yesterday") + value(hass, "cost_today"), abs=1e-4
    )
    await restart(hass, entry)
    assert value(hass, "cost_this_week") == pytest.approx(
        await flatpeak_cost(hass, emulator, house, (sunday, end)), abs=1e-4
    )


async def test_billing_day_31_starts_on_the_last_day_of_february(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """Billing day 31 on 10 March 2025: the period began on 28 February (a 28-day month)."""
    zone = "Europe/London"
    now = local(zone, 2025, 3, 10, 8, 10)
    entry, house = await setup_house(
        hass,
        emulator,
        freezer,
        now=now,
        since=local(zone, 2025, 2, 26, 0),
        zone=zone,
        options={"billing_day": 31},
    )
    await assert_periods(
        hass, emulator, house, {"cost_this_month": (local(zone, 2025, 2, 28), now + HOUR)}
    )
    assert costs(entry).calendar.billing_day == 31


async def test_calendar_months_keep_the_name_this_month(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """Without a billing day (the default 1) the period is the calendar month and the
    sensor is "Cost this month"."""
    zone = "Europe/London"
    now = local(zone, 2025, 6, 4, 10, 10)
    _entry, house = await setup_house(
        hass, emulator, freezer, now=now, since=local(zone, 2025, 5, 30, 0), zone=zone, options={}
    )
    await assert_periods(
        hass, emulator, house, {"cost_this_month": (local(zone, 2025, 6, 1), now + HOUR)}
    )
    registry_entry = er.async_get(hass).async_get(entity_id(hass, "cost_this_month"))
    assert registry_entry is not None
    assert registry_entry.translation_key == "cost_this_month"


# -- the calendar itself ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("today", "day", "expected"),
    [
        (date(2025, 6, 4), 1, date(2025, 6, 1)),
        (date(2025, 6, 4), 4, date(2025, 6, 4)),
        (date(2025, 6, 4), 5, date(2025, 5, 5)),
        (date(2025, 1, 10), 15, date(2024, 12, 15)),
        (date(2025, 3, 10), 31, date(2025, 2, 28)),
        (date(2024, 3, 10), 30, date(2024, 2, 29)),
        (date(2025, 2, 27), 31, date(2025, 1, 31)),
        (date(2025, 2, 28), 31, date(2025, 2, 28)),
        (date(2025, 4, 30), 31, date(2025, 4, 30)),
        (date(2025, 5, 1), 31, date(2025, 4, 30)),
    ],
)
def test_billing_start(today: date, day: int, expected: date) -> None:
    assert billing_start(today, day) == expected


def test_a_day_in_a_zone_whose_clocks_jump_at_midnight() -> None:
    """America/Santiago skips 00:00-01:00 on 7 September 2025: that day starts at 01:00
    local (04:00 UTC), and is 23 hours long."""
    calendar = Calendar(ZoneInfo("America/Santiago"))
    start, end = calendar.span(datetime(2025, 9, 7, 12, tzinfo=UTC), "day")
    assert end is None
    assert start == datetime(2025, 9, 7, 4, tzinfo=UTC)
    assert calendar.next_midnight(start) - start == 23 * HOUR


@pytest.mark.parametrize(
    ("language", "country", "expected"),
    [
        ("en-GB", None, 0),
        ("en", "GB", 0),
        ("en", None, 6),
        ("en", "US", 6),
        ("de", None, 0),
        ("pt-BR", "PT", 6),
        ("ar", None, 5),
        ("nl", "NL", 0),
        ("en_US", "DE", 6),
    ],
)
def test_default_first_weekday(language: str, country: str | None, expected: int) -> None:
    assert default_first_weekday(language, country) == expected


async def test_options_offer_the_homes_usual_first_weekday(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    """The options form suggests the usual first day where the home is; without an
    option, the week sensors start on it."""
    await hass.config.async_update(country="GB", time_zone="Europe/London", currency="GBP")
    add_sensors(hass)
    entry = await make_entry(hass, emulator)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert costs(entry).calendar.first_weekday == 0
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "settings"}
    )
    defaults = {
        str(marker): marker.default() for marker in result["data_schema"].schema if marker.default
    }
    assert defaults["first_weekday"] == "mon"
    assert defaults["billing_day"] == 1
