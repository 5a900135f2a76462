"""Cheap windows in a running HA: the binary sensor, Next start/end, Average price and the
plan behind them, against the emulator's schedule endpoints over HTTP.

Each expectation is the emulator's own answer for the same window (asked with the client),
and for the demo tariff also the off-peak hours it is known to have; the binary sensor must
switch at exactly those boundaries with no request of its own.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigSubentry
from homeassistant.const import STATE_OFF, STATE_ON, STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er, issue_registry as ir
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.flatpeak.client import (
    FlatpeakClient,
    Schedule,
    ScheduleSegment,
    ScheduleSlot,
    TariffDirection,
)
from custom_components.flatpeak.const import DEFAULT_CHEAP_WINDOW, DOMAIN, SUBENTRY_CHEAP_WINDOW
from custom_components.flatpeak.core.cheap_windows import merge_slots
from custom_components.flatpeak.diagnostics import async_get_config_entry_diagnostics
from custom_components.flatpeak.issues import window_problem_issue_id
from tests.conftest import Emulator
from tests.helpers import add_sensors, house_meter_subentry, make_entry, new_device
from tests.test_emulator_schedules import dynamic_schedule

LONDON = ZoneInfo("Europe/London")
SECOND = timedelta(seconds=1)


def london(*args: int) -> datetime:
    """A London wall time as UTC."""
    return datetime(*args, tzinfo=LONDON).astimezone(UTC)


MONDAY_3PM = london(2025, 6, 2, 15, 0)  # BST; the demo off-peak is 00:30-04:30 at 0.07


def window_subentry(title: str = "Dishwasher", **data: Any) -> dict[str, Any]:
    """A cheap window subentry: the cheapest 3 hours 18:00 -> 07:00 unless told otherwise."""
    return {
        "subentry_type": SUBENTRY_CHEAP_WINDOW,
        "title": title,
        "unique_id": None,
        "data": {**DEFAULT_CHEAP_WINDOW, **data},
    }


def schedule_requests(emulator: Emulator) -> int:
    """Schedule requests of either kind the emulator served."""
    return sum(1 for _, path in emulator.state.request_log if path.startswith("/schedules/"))


async def jump(hass: HomeAssistant, freezer: FrozenDateTimeFactory, when: datetime) -> None:
    """Move the clock to ``when`` and run every timer due by then."""
    freezer.move_to(when)
    async_fire_time_changed(hass, when)
    await hass.async_block_till_done(wait_background_tasks=True)


async def setup(
    hass: HomeAssistant,
    emulator: Emulator,
    freezer: FrozenDateTimeFactory,
    *windows: dict[str, Any],
    start: datetime = MONDAY_3PM,
    location_id: str | None = None,
) -> MockConfigEntry:
    """A loaded entry with a house meter and the given cheap windows, set up at ``start``."""
    freezer.move_to(start)
    add_sensors(hass)
    house = house_meter_subentry(await new_device(hass, emulator, "house"))
    entry = await make_entry(hass, emulator, location_id=location_id, subentries=[house, *windows])
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    return entry


def window_of(entry: MockConfigEntry, title: str = "Dishwasher") -> ConfigSubentry:
    """The cheap window subentry of that title."""
    return next(sub for sub in entry.subentries.values() if sub.title == title)


def entity_ids(hass: HomeAssistant, subentry: ConfigSubentry) -> dict[str, str]:
    """The window's entity ids by key, found by unique id."""
    registry = er.async_get(hass)
    found = {
        key: registry.async_get_entity_id(platform, DOMAIN, f"{subentry.subentry_id}_{key}")
        for platform, key in (
            ("binary_sensor", "active"),
            ("sensor", "next_start"),
            ("sensor", "next_end"),
            ("sensor", "average_price"),
        )
    }
    assert None not in found.values(), found
    return {key: value for key, value in found.items() if value is not None}


def state(hass: HomeAssistant, entity_id: str) -> str:
    current = hass.states.get(entity_id)
    assert current is not None
    return current.state


def attributes(hass: HomeAssistant, entity_id: str) -> dict[str, Any]:
    current = hass.states.get(entity_id)
    assert current is not None
    return dict(current.attributes)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


async def emulator_answer(
    hass: HomeAssistant,
    emulator: Emulator,
    start: datetime,
    end: datetime,
    *,
    location_id: str | None = None,
    duration: int = 180,
    segment: ScheduleSegment = ScheduleSegment.LOW,
    direction: TariffDirection = TariffDirection.IMPORT,
) -> Schedule:
    """The emulator's own answer for a window, asked directly with the client."""
    client = FlatpeakClient(
        async_get_clientsession(hass),
        emulator.account_id,
        emulator.api_key,
        base_url=emulator.base_url,
    )
    return await client.find_duration_slots(
        location_id or emulator.location_id,
        start,
        end,
        duration_minutes=duration,
        segment=segment,
        tariff_direction=direction,
    )


async def assert_follows(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    emulator: Emulator,
    ids: dict[str, str],
    slots: tuple[ScheduleSlot, ...],
) -> None:
    """The binary sensor is off a second before each merged slot, on from its first second
    to its last, off at its end; Next start/Next end say so; no request is made."""
    requests = schedule_requests(emulator)
    merged = merge_slots(slots)
    assert merged
    for index, slot in enumerate(merged):
        await jump(hass, freezer, slot.start - SECOND)
        assert state(hass, ids["active"]) == STATE_OFF
        assert state(hass, ids["next_start"]) == iso(slot.start)
        assert state(hass, ids["next_end"]) == iso(slot.end)
        await jump(hass, freezer, slot.start)
        assert state(hass, ids["active"]) == STATE_ON
        assert state(hass, ids["next_end"]) == iso(slot.end)
        following = merged[index + 1].start if index + 1 < len(merged) else None
        assert state(hass, ids["next_start"]) == (iso(following) if following else STATE_UNKNOWN)
        await jump(hass, freezer, slot.end - SECOND)
        assert state(hass, ids["active"]) == STATE_ON
        await jump(hass, freezer, slot.end)
        assert state(hass, ids["active"]) == STATE_OFF
    assert schedule_requests(emulator) == requests


# -- a time-of-day tariff ------------------------------------------------------------------


async def test_cheapest_three_hours_tonight_switch_at_the_boundaries(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """The demo tariff's off-peak, 00:30 -> 03:30 BST, in one request for the night; the
    window crossing midnight keeps its plan past Flatpeak's next_update (midnight); the next
    window is planned once when this one ends."""
    entry = await setup(hass, emulator, freezer, window_subentry())
    ids = entity_ids(hass, window_of(entry))
    assert schedule_requests(emulator) == 1
    start, end = london(2025, 6, 2, 18, 0), london(2025, 6, 3, 7, 0)
    expected = await emulator_answer(hass, emulator, start, end)
    assert [(s.start, s.end, s.average_price) for s in expected.slots] == [
        (london(2025, 6, 3, 0, 30), london(2025, 6, 3, 3, 30), 0.07)
    ]
    emulator.state.request_log.clear()

    assert state(hass, ids["active"]) == STATE_OFF
    assert state(hass, ids["next_start"]) == "2025-06-02T23:30:00+00:00"
    assert state(hass, ids["next_end"]) == "2025-06-03T02:30:00+00:00"
    assert float(state(hass, ids["average_price"])) == 0.07
    assert attributes(hass, ids["average_price"])["unit_of_measurement"] == "GBP/kWh"
    assert attributes(hass, ids["active"]) | {"friendly_name": None} == {
        "friendly_name": None,
        "window_start": "2025-06-02T17:00:00+00:00",
        "window_end": "2025-06-03T06:00:00+00:00",
        "slots": [
            {
                "start": "2025-06-02T23:30:00+00:00",
                "end": "2025-06-03T02:30:00+00:00",
                "average_price": 0.07,
            }
        ],
    }
    await assert_follows(hass, freezer, emulator, ids, expected.slots)
    assert state(hass, ids["next_start"]) == STATE_UNKNOWN  # nothing left tonight
    assert state(hass, ids["next_end"]) == STATE_UNKNOWN
    await jump(hass, freezer, end - SECOND)
    assert schedule_requests(emulator) == 0

    # 07:00: tonight's window opens its plan: one request.
    await jump(hass, freezer, end + 2 * SECOND)
    assert schedule_requests(emulator) == 1
    assert state(hass, ids["next_start"]) == "2025-06-03T23:30:00+00:00"
    assert attributes(hass, ids["active"])["window_start"] == "2025-06-03T17:00:00+00:00"
    # Then quiet until the next window (its next_update, midnight, falls after it started).
    for hour in range(1, 24):
        await jump(hass, freezer, end + timedelta(hours=hour))
    assert schedule_requests(emulator) == 1
    await jump(hass, freezer, end + timedelta(hours=24, seconds=2))
    assert schedule_requests(emulator) == 2


async def test_a_dst_night_follows_the_emulator(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """The spring-forward night (an hour shorter): 4 hours asked, the emulator splits them
    around the lost hour; the binary sensor follows every boundary."""
    saturday = london(2025, 3, 29, 12, 0)
    entry = await setup(hass, emulator, freezer, window_subentry(duration=240), start=saturday)
    ids = entity_ids(hass, window_of(entry))
    expected = await emulator_answer(
        hass, emulator, london(2025, 3, 29, 18, 0), london(2025, 3, 30, 7, 0), duration=240
    )
    assert sum((s.end - s.start for s in expected.slots), timedelta()) == timedelta(hours=4)
    assert attributes(hass, ids["active"])["window_end"] == "2025-03-30T06:00:00+00:00"
    await assert_follows(hass, freezer, emulator, ids, expected.slots)


async def test_a_half_hour_zone(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """A location in India (+05:30): 22:00 -> 06:00 local is 16:30Z -> 00:30Z."""
    emulator.state.locations[emulator.location_id].timezone = "Asia/Kolkata"
    start = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)
    entry = await setup(
        hass,
        emulator,
        freezer,
        window_subentry(window_start="22:00:00", window_end="06:00:00", duration=90),
        start=start,
    )
    ids = entity_ids(hass, window_of(entry))
    assert attributes(hass, ids["active"])["window_start"] == "2025-06-02T16:30:00+00:00"
    assert attributes(hass, ids["active"])["window_end"] == "2025-06-03T00:30:00+00:00"
    expected = await emulator_answer(
        hass,
        emulator,
        datetime(2025, 6, 2, 16, 30, tzinfo=UTC),
        datetime(2025, 6, 3, 0, 30, tzinfo=UTC),
        duration=90,
    )
    await assert_follows(hass, freezer, emulator, ids, expected.slots)


# -- prices that change ----------------------------------------------------------------------


def replace_import_tariff(emulator: Emulator, location_id: str, schedule: list[Any]) -> None:
    """The customer's import prices change at Flatpeak (a new day-ahead, another tariff)."""
    for element in emulator.state.elements_for(location_id, "IMPORT"):
        del emulator.state.elements[element.id]
    emulator.state.add_tariff_element(location_id, "IMPORT", schedule)


def dynamic_location(emulator: Emulator, seed: int = 7) -> str:
    """A GB location with a half-hourly market-like import tariff."""
    location = emulator.state.add_location(emulator.account_id, address_line1="3 Market Row")
    emulator.state.add_tariff_element(location.id, "IMPORT", dynamic_schedule(seed))
    return location.id


def slots_of(hass: HomeAssistant, entity_id: str) -> list[tuple[str, str]]:
    return [(slot["start"], slot["end"]) for slot in attributes(hass, entity_id)["slots"]]


def as_pairs(schedule: Schedule) -> list[tuple[str, str]]:
    return [(iso(slot.start), iso(slot.end)) for slot in schedule.slots]


async def test_changed_prices_replan_a_window_not_started_and_keep_a_running_one(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """Sunday 23:00 with a dynamic tariff: "Day" (Monday 08:00 -> 20:00) has not started,
    "Night" (22:00 -> 07:00) runs. At midnight Flatpeak's prices are new: the day window is
    planned again from them (one request), the night keeps what it had (none)."""
    location_id = dynamic_location(emulator)
    sunday = london(2025, 6, 1, 23, 0)
    day = window_subentry("Day", window_start="08:00:00", window_end="20:00:00", duration=120)
    night = window_subentry("Night", window_start="22:00:00", window_end="07:00:00", duration=120)
    entry = await setup(hass, emulator, freezer, day, night, start=sunday, location_id=location_id)
    day_ids = entity_ids(hass, window_of(entry, "Day"))
    night_ids = entity_ids(hass, window_of(entry, "Night"))
    assert schedule_requests(emulator) == 2
    night_before = slots_of(hass, night_ids["active"])
    # The night was asked for from 23:00 (the hour before is gone).
    assert night_before == as_pairs(
        await emulator_answer(
            hass, emulator, sunday, london(2025, 6, 2, 7, 0), location_id=location_id, duration=120
        )
    )

    replace_import_tariff(emulator, location_id, dynamic_schedule(seed=8))
    emulator.state.request_log.clear()
    await jump(hass, freezer, london(2025, 6, 2, 0, 0) + 2 * SECOND)
    assert emulator.requests("POST", f"/prices/{location_id}") >= 1  # the prices were read
    assert schedule_requests(emulator) == 1
    fresh = await emulator_answer(
        hass,
        emulator,
        london(2025, 6, 2, 8, 0),
        london(2025, 6, 2, 20, 0),
        location_id=location_id,
        duration=120,
    )
    assert slots_of(hass, day_ids["active"]) == as_pairs(fresh)
    assert slots_of(hass, night_ids["active"]) == night_before

    # Through the night and the day: each window as planned, nothing asked again but
    # tonight's window when last night's ends.
    emulator.state.request_log.clear()
    ahead = tuple(
        ScheduleSlot(datetime.fromisoformat(a), datetime.fromisoformat(b), 0, 1)
        for a, b in night_before
        if datetime.fromisoformat(b) > dt_util.utcnow()
    )
    await assert_follows(hass, freezer, emulator, night_ids, ahead)
    await jump(hass, freezer, london(2025, 6, 2, 7, 0) + 2 * SECOND)
    assert schedule_requests(emulator) == 1
    await assert_follows(hass, freezer, emulator, day_ids, fresh.slots)


async def test_prices_read_again_replan_only_what_changed(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """The price coordinator's answer reaches the windows: the same prices ask nothing, new
    prices re-plan a window that has not started, and never one that runs."""
    location_id = dynamic_location(emulator)
    entry = await setup(
        hass,
        emulator,
        freezer,
        window_subentry("Later", window_start="20:00:00", window_end="23:00:00", duration=60),
        window_subentry("Now", window_start="14:00:00", window_end="19:00:00", duration=60),
        location_id=location_id,
    )
    later = entry.runtime_data.windows[window_of(entry, "Later").subentry_id]
    running = entry.runtime_data.windows[window_of(entry, "Now").subentry_id]
    client = entry.runtime_data.client
    kept = running.plan
    assert kept is not None
    hour = MONDAY_3PM

    async def read_prices() -> None:
        prices = await client.get_prices(
            location_id, hour + timedelta(hours=48), start=hour - timedelta(hours=24)
        )
        later.prices_updated(prices)
        running.prices_updated(prices)
        await hass.async_block_till_done(wait_background_tasks=True)

    emulator.state.request_log.clear()
    await read_prices()
    await read_prices()
    assert schedule_requests(emulator) == 0
    replace_import_tariff(emulator, location_id, dynamic_schedule(seed=9))
    await read_prices()
    assert schedule_requests(emulator) == 1
    fresh = await emulator_answer(
        hass,
        emulator,
        london(2025, 6, 2, 20, 0),
        london(2025, 6, 2, 23, 0),
        location_id=location_id,
        duration=60,
    )
    assert later.plan is not None
    assert later.plan.schedule.slots == fresh.slots
    assert running.plan == kept


# -- restarts and changes ------------------------------------------------------------------


async def test_a_running_window_keeps_its_slots_across_a_reload_until_it_is_changed(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """19:00, tonight's window runs: a reload (a device added, HA restarted) keeps its plan
    without asking, even after prices moved; changing the window itself plans it again."""
    location_id = dynamic_location(emulator)
    entry = await setup(
        hass,
        emulator,
        freezer,
        window_subentry(duration=120),
        start=london(2025, 6, 2, 19, 0),
        location_id=location_id,
    )
    subentry = window_of(entry)
    ids = entity_ids(hass, subentry)
    before = slots_of(hass, ids["active"])
    replace_import_tariff(emulator, location_id, dynamic_schedule(seed=11))
    emulator.state.request_log.clear()

    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert schedule_requests(emulator) == 0
    assert slots_of(hass, ids["active"]) == before
    assert state(hass, ids["active"]) in (STATE_ON, STATE_OFF)

    hass.config_entries.async_update_subentry(
        entry, subentry, data={**subentry.data, "duration": 60}
    )
    await hass.async_block_till_done(wait_background_tasks=True)
    assert schedule_requests(emulator) == 1
    fresh = await emulator_answer(
        hass,
        emulator,
        london(2025, 6, 2, 19, 0),
        london(2025, 6, 3, 7, 0),
        location_id=location_id,
        duration=60,
    )
    assert slots_of(hass, ids["active"]) == as_pairs(fresh)


async def test_removing_a_window_removes_its_device_entities_and_plan(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """Its device and entities go; the house meter and another window stay."""
    entry = await setup(hass, emulator, freezer, window_subentry(), window_subentry("Heater"))
    gone, stays = window_of(entry), window_of(entry, "Heater")
    gone_ids, stays_ids = entity_ids(hass, gone), entity_ids(hass, stays)
    assert hass.config_entries.async_remove_subentry(entry, gone.subentry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    registry = er.async_get(hass)
    assert all(registry.async_get(entity_id) is None for entity_id in gone_ids.values())
    assert all(registry.async_get(entity_id) is not None for entity_id in stays_ids.values())
    identifiers = {
        identifier
        for device in dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
        for identifier in device.identifiers
    }
    assert (DOMAIN, gone.subentry_id) not in identifiers
    assert (DOMAIN, stays.subentry_id) in identifiers
    assert set(entry.runtime_data.windows) == {stays.subentry_id}
    assert state(hass, stays_ids["active"]) == STATE_OFF


# -- export, and what Flatpeak refuses -------------------------------------------------------


async def test_dearest_export_slots(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """A location exporting on a market-like tariff: the dearest 2 hours of the next 24."""
    location = emulator.state.add_location(emulator.account_id, address_line1="4 Solar Way")
    emulator.state.add_tariff_element(location.id, "IMPORT", dynamic_schedule(3))
    emulator.state.add_tariff_element(location.id, "EXPORT", dynamic_schedule(4))
    entry = await setup(
        hass,
        emulator,
        freezer,
        window_subentry(
            "Export peak",
            window="rolling",
            rolling_hours=24,
            duration=120,
            segment="dearest",
            direction="export",
        ),
        location_id=location.id,
    )
    ids = entity_ids(hass, window_of(entry, "Export peak"))
    expected = await emulator_answer(
        hass,
        emulator,
        MONDAY_3PM,
        MONDAY_3PM + timedelta(hours=24),
        location_id=location.id,
        duration=120,
        segment=ScheduleSegment.HIGH,
        direction=TariffDirection.EXPORT,
    )
    assert slots_of(hass, ids["active"]) == as_pairs(expected)
    await assert_follows(hass, freezer, emulator, ids, expected.slots)


async def test_no_export_tariff_is_one_repair_retried_every_15_minutes(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """Export windows at a location that only imports: unavailable with one repair naming the
    window; import prices work on; asked again every 15 minutes; connected, all is back."""
    location = emulator.state.add_location(emulator.account_id, address_line1="5 Grid Lane")
    emulator.state.add_tariff_element(location.id, "IMPORT", dynamic_schedule(5))
    entry = await setup(
        hass,
        emulator,
        freezer,
        window_subentry("Export peak", segment="dearest", direction="export"),
        location_id=location.id,
    )
    subentry = window_of(entry, "Export peak")
    ids = entity_ids(hass, subentry)
    assert all(state(hass, entity_id) == STATE_UNAVAILABLE for entity_id in ids.values())
    issues = [i for d, i in ir.async_get(hass).issues if d == DOMAIN]
    issue_id = window_problem_issue_id(entry.entry_id, subentry.subentry_id)
    # and the location's own "no export tariff" repair (the house meter reads an export sensor)
    assert sorted(issues) == sorted([issue_id, f"no_export_tariff_{entry.entry_id}"])
    issue = ir.async_get(hass).async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_key == "cheap_window_no_tariff_connected"
    assert issue.translation_placeholders == {
        "window": "Export peak",
        "location": entry.title,
        "dashboard_url": "https://dashboard.flatpeak.com",
    }
    assert entry.runtime_data.tariff_gate.problem is None  # imports are priced

    minutes: list[int] = []
    count = schedule_requests(emulator)
    for minute in range(1, 61):
        await jump(hass, freezer, MONDAY_3PM + timedelta(minutes=minute))
        if (new := schedule_requests(emulator)) != count:
            count = new
            minutes.append(minute)
    # Every 15 minutes (the timers fire a second or so after, the clock moves by minutes).
    gaps = [b - a for a, b in zip([0, *minutes], minutes, strict=False)]
    assert len(gaps) >= 3
    assert all(15 <= gap <= 17 for gap in gaps), minutes
    assert all(state(hass, entity_id) == STATE_UNAVAILABLE for entity_id in ids.values())

    emulator.state.add_tariff_element(location.id, "EXPORT", dynamic_schedule(6))
    await jump(hass, freezer, MONDAY_3PM + timedelta(minutes=77))
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None
    assert state(hass, ids["active"]) == STATE_OFF
    assert state(hass, ids["next_start"]) != STATE_UNAVAILABLE


async def test_a_failed_request_is_retried_and_keeps_what_is_known(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """A 503 at set-up: unavailable (nothing known), asked again after a minute or so; a
    failure later, when the next window is due, leaves the last night's "off" until known."""
    emulator.state.fail_next("/schedules/duration/*", 503)
    entry = await setup(hass, emulator, freezer, window_subentry())
    ids = entity_ids(hass, window_of(entry))
    assert state(hass, ids["active"]) == STATE_UNAVAILABLE
    assert schedule_requests(emulator) == 1
    await jump(hass, freezer, MONDAY_3PM + timedelta(seconds=90))
    assert schedule_requests(emulator) == 2
    assert state(hass, ids["active"]) == STATE_OFF
    assert state(hass, ids["next_start"]) == "2025-06-02T23:30:00+00:00"

    emulator.state.fail_next("/schedules/duration/*", 503)
    await jump(hass, freezer, london(2025, 6, 3, 7, 0) + 2 * SECOND)
    assert schedule_requests(emulator) == 3
    assert state(hass, ids["active"]) == STATE_UNAVAILABLE
    await jump(hass, freezer, london(2025, 6, 3, 7, 2))
    assert schedule_requests(emulator) == 4
    assert state(hass, ids["next_start"]) == "2025-06-03T23:30:00+00:00"


async def test_diagnostics_show_each_window_plan(
    hass: HomeAssistant,
    emulator: Emulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Support sees the plan, its next_update and when Flatpeak is asked next (the download
    itself is tested in test_diagnostics; the frozen clock here outdates its access token)."""
    entry = await setup(hass, emulator, freezer, window_subentry())
    diagnostics = await async_get_config_entry_diagnostics(hass, entry)
    assert diagnostics["cheap_windows"]["Dishwasher"] | {"refresh_in_seconds": None} == {
        "window": ["2025-06-02T17:00:00+00:00", "2025-06-03T06:00:00+00:00"],
        "slots": [["2025-06-02T23:30:00+00:00", "2025-06-03T02:30:00+00:00", 0.07]],
        "next_update": "2025-06-02T23:00:00+00:00",
        "tariff_problem": None,
        "failures": 0,
        "last_error": None,
        "refresh_in_seconds": None,
    }
    # The refresh is due when the window ends (its next_update falls after it started).
    assert diagnostics["cheap_windows"]["Dishwasher"]["refresh_in_seconds"] == 16 * 3600 + 1
