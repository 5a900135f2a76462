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
from homeassistant.const import STATE_OFF, STATE_ON, STATE_UNKNOWN
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.aiohttp_client import async_get_clientsession
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
from tests.conftest import Emulator
from tests.helpers import add_sensors, house_meter_subentry, make_entry, new_device

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
