"""find_cheapest_window against the emulator over HTTP: Flatpeak's answer, its checks
before any request, and tariff errors that say what to do."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
import pytest

from custom_components.flatpeak.client import ScheduleSegment, TariffDirection
from custom_components.flatpeak.const import DOMAIN
from tests.conftest import Emulator
from tests.test_actions import act, failed, refused
from tests.test_cheap_window_entities import emulator_answer, setup
from tests.test_emulator_schedules import dynamic_schedule

LONDON = ZoneInfo("Europe/London")
NOW = datetime(2025, 6, 2, 14, 0, tzinfo=UTC)  # 15:00 BST, a Monday
FIND = "find_cheapest_window"


def london(*args: int) -> str:
    return datetime(*args, tzinfo=LONDON).isoformat()


def schedule_requests(emulator: Emulator) -> int:
    return sum(1 for _, path in emulator.state.request_log if path.startswith("/schedules/"))


async def test_the_cheapest_three_hours_tonight(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """The demo tariff's off-peak from 00:30, in the location's time, at 0.07."""
    entry = await setup(hass, emulator, freezer, start=NOW)
    emulator.state.request_log.clear()
    answer = await act(
        hass,
        FIND,
        config_entry_id=entry.entry_id,
        duration={"hours": 3},
        start=london(2025, 6, 2, 18, 0),
        end=london(2025, 6, 3, 7, 0),
    )
    assert schedule_requests(emulator) == 1
    assert answer == {
        "start": "2025-06-02T18:00:00+01:00",
        "end": "2025-06-03T07:00:00+01:00",
        "mode": "cheapest",
        "direction": "import",
        "currency": "GBP",
        "slots": [
            {
                "start": "2025-06-03T00:30:00+01:00",
                "end": "2025-06-03T03:30:00+01:00",
                "average_price": 0.07,
                "confidence": 1.0,
            }
        ],
        "average_price": 0.07,
        "total_minutes": 180,
        "next_update": "2025-06-03T00:00:00+01:00",
    }


async def test_defaults_search_the_next_24_hours(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """No start or end: from now (to the minute) to 24 hours later; the answer is the
    emulator's own for that window."""
    freezer.move_to(NOW + timedelta(seconds=42))
    entry = await setup(hass, emulator, freezer, start=NOW + timedelta(seconds=42))
    answer = await act(hass, FIND, config_entry_id=entry.entry_id, duration="01:30:00")
    assert answer["start"] == "2025-06-02T15:00:00+01:00"
    assert answer["end"] == "2025-06-03T15:00:00+01:00"
    expected = await emulator_answer(hass, emulator, NOW, NOW + timedelta(hours=24), duration=90)
    assert [(s["start"], s["end"]) for s in answer["slots"]] == [
        (s.start.astimezone(LONDON).isoformat(), s.end.astimezone(LONDON).isoformat())
        for s in expected.slots
    ]
    assert answer["total_minutes"] == 90


async def test_a_relative_limit_and_dearest_export(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """Every slot in the dearest 10 % of a market-like export's range; a price limit too."""
    location = emulator.state.add_location(emulator.account_id, address_line1="4 Solar Way")
    emulator.state.add_tariff_element(location.id, "IMPORT", dynamic_schedule(3))
    emulator.state.add_tariff_element(location.id, "EXPORT", dynamic_schedule(4))
    entry = await setup(hass, emulator, freezer, start=NOW, location_id=location.id)
    answer = await act(
        hass,
        FIND,
        config_entry_id=entry.entry_id,
        relative_limit=90,
        mode="dearest",
        direction="export",
    )
    assert answer["slots"], answer
    client = entry.runtime_data.client
    expected = await client.find_limit_slots(
        location.id,
        NOW,
        NOW + timedelta(hours=24),
        segment=ScheduleSegment.HIGH,
        relative=0.9,
        tariff_direction=TariffDirection.EXPORT,
    )
    assert [s["average_price"] for s in answer["slots"]] == [
        s.average_price for s in expected.slots
    ]
    assert answer["total_minutes"] == sum(
        int((s.end - s.start).total_seconds() // 60) for s in expected.slots
    )
    cheap = await act(hass, FIND, config_entry_id=entry.entry_id, price_limit=0)
    assert all(slot["average_price"] <= 0 for slot in cheap["slots"])


async def test_export_without_an_export_tariff_says_so(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """A translated error naming the location; the import prices and their repair are left
    alone (the import tariff is fine)."""
    location = emulator.state.add_location(emulator.account_id, address_line1="5 Grid Lane")
    emulator.state.add_tariff_element(location.id, "IMPORT", dynamic_schedule(5))
    entry = await setup(hass, emulator, freezer, start=NOW, location_id=location.id)
    error = await failed(
        hass,
        FIND,
        "action_export_no_tariff_connected",
        config_entry_id=entry.entry_id,
        duration={"hours": 2},
        direction="export",
    )
    assert error.translation_placeholders == {"location": entry.title}
    assert entry.runtime_data.tariff_gate.problem is None
    # Only the location's own "no export tariff" repair (its house meter reads an export
    # sensor): the action raised none.
    issues = [i for d, i in ir.async_get(hass).issues if d == DOMAIN]
    assert issues == [f"no_export_tariff_{entry.entry_id}"]


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({}, "one_search"),
        ({"duration": {"hours": 1}, "price_limit": 0.1}, "one_search"),
        ({"duration": {"seconds": 90}}, "duration_whole_minutes"),
        (
            {"duration": {"hours": 3}, "start": "2025-06-02 18:00", "end": "2025-06-02 20:00"},
            "duration_too_long",
        ),
        ({"duration": {"hours": 1}, "start": "2025-06-02 12:00"}, "start_in_the_past"),
        (
            {"duration": {"hours": 1}, "start": "2025-06-02 18:00", "end": "2025-06-02 17:00"},
            "end_before_start",
        ),
        (
            {"duration": {"hours": 1}, "start": "2025-06-02 18:00", "end": "2025-06-05 18:01"},
            "window_too_long",
        ),
        ({"relative_limit": 0}, "relative_limit_range"),
        ({"relative_limit": 100.5}, "relative_limit_range"),
        ({"price_limit": "nan"}, "price_limit_number"),
        ({"duration": {"hours": 1}, "start": "3000-01-01 00:00"}, "time_out_of_range"),
    ],
)
async def test_bad_input_is_refused_before_any_request(
    hass: HomeAssistant,
    emulator: Emulator,
    freezer: FrozenDateTimeFactory,
    data: dict[str, Any],
    key: str,
) -> None:
    """A translated refusal naming the field; Flatpeak is not asked."""
    await hass.config.async_update(time_zone="Europe/London")
    entry = await setup(hass, emulator, freezer, start=NOW)
    emulator.state.request_log.clear()
    await refused(hass, FIND, key, config_entry_id=entry.entry_id, **data)
    assert schedule_requests(emulator) == 0


async def test_a_start_just_past_is_now(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """A script's "now" that is a few minutes old is searched from now."""
    entry = await setup(hass, emulator, freezer, start=NOW)
    answer = await act(
        hass,
        FIND,
        config_entry_id=entry.entry_id,
        duration={"hours": 1},
        start=(NOW - timedelta(minutes=4)).isoformat(),
    )
    assert answer["start"] == "2025-06-02T15:00:00+01:00"
