"""The cheap window subentry flow: its two steps, what it stores, its errors, reconfigure.

A cheap window is no Flatpeak device: no flow of it makes a request to Flatpeak.
"""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import SOURCE_RECONFIGURE, ConfigSubentry
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, InvalidData
import pytest

from custom_components.flatpeak.const import SUBENTRY_CHEAP_WINDOW
from custom_components.flatpeak.flows.cheap_window import duration_minutes, window_minutes
from tests.conftest import Emulator
from tests.helpers import add_sensors, make_entry
from tests.test_config_flow import (  # noqa: F401  # _uploads_settle: fixture
    _uploads_settle,
    form_default,
    subentry_flow,
)

CHOICE = {
    "name": "Dishwasher",
    "search": "duration",
    "window": "between",
    "segment": "cheapest",
    "direction": "import",
}
THREE_HOURS = {"hours": 3, "minutes": 0, "seconds": 0}


async def loaded(hass: HomeAssistant, emulator: Emulator) -> Any:
    """The demo location's entry, loaded, with its house meter."""
    add_sensors(hass)
    entry = await make_entry(hass, emulator)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


def windows(entry: Any) -> list[ConfigSubentry]:
    return [s for s in entry.subentries.values() if s.subentry_type == SUBENTRY_CHEAP_WINDOW]


async def add(
    hass: HomeAssistant, entry: Any, choice: dict[str, Any], details: dict[str, Any]
) -> dict[str, Any]:
    """Both steps; the last answer."""
    result = await subentry_flow(hass, entry, SUBENTRY_CHEAP_WINDOW)
    assert result["step_id"] == "user"
    result = await hass.config_entries.subentries.async_configure(result["flow_id"], choice)
    assert result["step_id"] == "details", result.get("errors")
    return await hass.config_entries.subentries.async_configure(result["flow_id"], details)


async def test_defaults_are_the_cheapest_three_hours_tonight(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    """Submitted as offered: 3 hours, 18:00 -> 07:00, cheapest, import; nothing at Flatpeak."""
    entry = await loaded(hass, emulator)
    emulator.state.request_log.clear()
    result = await subentry_flow(hass, entry, SUBENTRY_CHEAP_WINDOW)
    assert result["description_placeholders"] == {"location": entry.title}
    defaults = {key: form_default(result, key) for key in CHOICE}
    assert defaults == {**CHOICE, "name": "Cheapest 3 hours"}
    result = await hass.config_entries.subentries.async_configure(result["flow_id"], defaults)
    assert result["step_id"] == "details"
    assert form_default(result, "duration") == THREE_HOURS
    assert form_default(result, "window_start") == "18:00:00"
    assert form_default(result, "window_end") == "07:00:00"
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {"duration": THREE_HOURS, "window_start": "18:00:00", "window_end": "07:00:00"},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done(wait_background_tasks=True)
    (window,) = windows(entry)
    assert window.title == "Cheapest 3 hours"
    assert dict(window.data) == {
        "search": "duration",
        "duration": 180,
        "window": "between",
        "window_start": "18:00:00",
        "window_end": "07:00:00",
        "segment": "cheapest",
        "direction": "import",
    }
    # Nothing registered at Flatpeak; the window plans (a schedule request) once loaded.
    paths = [path for _, path in emulator.state.request_log]
    assert not [p for p in paths if p.startswith("/devices")]
    assert window.subentry_id in entry.runtime_data.windows


@pytest.mark.parametrize(
    ("choice", "details", "stored"),
    [
        (
            {"search": "relative_limit", "window": "rolling"},
            {"relative_limit": 20, "rolling_hours": 24},
            {"relative_limit": 20.0, "rolling_hours": 24},
        ),
        (
            {"search": "price_limit", "window": "between", "segment": "dearest"},
            {"price_limit": -0.02, "window_start": "16:00", "window_end": "19:00"},
            {"price_limit": -0.02, "window_start": "16:00:00", "window_end": "19:00:00"},
        ),
        (
            {"search": "duration", "window": "rolling", "direction": "export"},
            {"duration": {"hours": 1, "minutes": 30}, "rolling_hours": 12},
            {"duration": 90, "rolling_hours": 12},
        ),
        (
            {"search": "price_limit", "window": "rolling"},
            {"price_limit": 0, "rolling_hours": 72},
            {"price_limit": 0.0, "rolling_hours": 72},
        ),
    ],
)
async def test_each_kind_stores_only_its_fields(
    hass: HomeAssistant,
    emulator: Emulator,
    choice: dict[str, Any],
    details: dict[str, Any],
    stored: dict[str, Any],
) -> None:
    """The second step asks what the first chose, and the data holds just that."""
    entry = await loaded(hass, emulator)
    result = await add(hass, entry, {**CHOICE, **choice}, details)
    assert result["type"] is FlowResultType.CREATE_ENTRY, result.get("errors")
    (window,) = windows(entry)
    expected = {key: CHOICE[key] for key in ("search", "window", "segment", "direction")}
    assert dict(window.data) == {**expected, **choice, **stored}


async def test_price_limit_is_in_the_location_currency(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    """The price field's unit is the location's currency per kWh."""
    entry = await loaded(hass, emulator)
    result = await subentry_flow(hass, entry, SUBENTRY_CHEAP_WINDOW)
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {**CHOICE, "search": "price_limit"}
    )
    (field,) = [m for m in result["data_schema"].schema if m == "price_limit"]
    selector = result["data_schema"].schema[field]
    assert selector.config["unit_of_measurement"] == "GBP/kWh"


@pytest.mark.parametrize(
    ("choice", "details", "errors"),
    [
        # 18:00 -> 07:00 is 13 hours.
        (
            {},
            {"duration": {"hours": 14}, "window_start": "18:00", "window_end": "07:00"},
            {"duration": "duration_too_long"},
        ),
        (
            {},
            {
                "duration": {"hours": 0, "minutes": 0},
                "window_start": "18:00",
                "window_end": "07:00",
            },
            {"duration": "invalid_duration"},
        ),
        (
            {},
            {
                "duration": {"minutes": 1, "seconds": 30},
                "window_start": "18:00",
                "window_end": "07:00",
            },
            {"duration": "invalid_duration"},
        ),
        (
            {},
            {"duration": THREE_HOURS, "window_start": "18:00:30", "window_end": "07:00"},
            {"window_start": "invalid_time"},
        ),
        (
            {"window": "rolling"},
            {"duration": {"hours": 3}, "rolling_hours": 2},
            {"duration": "duration_too_long"},
        ),
        # Equal times are a whole day, and no more.
        (
            {},
            {"duration": {"hours": 25}, "window_start": "06:00", "window_end": "06:00"},
            {"duration": "duration_too_long"},
        ),
    ],
)
async def test_details_that_cannot_be_planned_are_form_errors(
    hass: HomeAssistant,
    emulator: Emulator,
    choice: dict[str, Any],
    details: dict[str, Any],
    errors: dict[str, str],
) -> None:
    """The form answers with the field's error and keeps what was typed."""
    entry = await loaded(hass, emulator)
    result = await add(hass, entry, {**CHOICE, **choice}, details)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "details"
    assert result["errors"] == errors
    assert windows(entry) == []


@pytest.mark.parametrize(
    ("choice", "details"),
    [
        (
            {"search": "relative_limit", "window": "rolling"},
            {"relative_limit": 0, "rolling_hours": 2},
        ),
        (
            {"search": "relative_limit", "window": "rolling"},
            {"relative_limit": 101, "rolling_hours": 2},
        ),
        ({"window": "rolling"}, {"duration": THREE_HOURS, "rolling_hours": 73}),
        ({"window": "rolling"}, {"duration": THREE_HOURS, "rolling_hours": 0}),
    ],
)
async def test_the_form_refuses_numbers_out_of_range(
    hass: HomeAssistant, emulator: Emulator, choice: dict[str, Any], details: dict[str, Any]
) -> None:
    """The selectors' own limits (the frontend shows them at the field)."""
    entry = await loaded(hass, emulator)
    with pytest.raises(InvalidData):
        await add(hass, entry, {**CHOICE, **choice}, details)
    assert windows(entry) == []


async def test_a_blank_name_is_a_form_error(hass: HomeAssistant, emulator: Emulator) -> None:
    entry = await loaded(hass, emulator)
    result = await subentry_flow(hass, entry, SUBENTRY_CHEAP_WINDOW)
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {**CHOICE, "name": "   "}
    )
    assert result["step_id"] == "user"
    assert result["errors"] == {"name": "blank"}


async def test_reconfigure_changes_the_window_and_keeps_its_subentry(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    """Filled in with what it has; saved under the same subentry (and device)."""
    entry = await loaded(hass, emulator)
    await add(
        hass,
        entry,
        CHOICE,
        {"duration": THREE_HOURS, "window_start": "18:00", "window_end": "07:00"},
    )
    await hass.async_block_till_done(wait_background_tasks=True)
    (window,) = windows(entry)
    result = await subentry_flow(
        hass, entry, SUBENTRY_CHEAP_WINDOW, SOURCE_RECONFIGURE, window.subentry_id
    )
    assert result["step_id"] == "reconfigure"
    assert form_default(result, "name") == "Dishwasher"
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {**CHOICE, "name": "Hot water", "window": "rolling"}
    )
    assert result["step_id"] == "details"
    assert form_default(result, "duration") == THREE_HOURS
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"duration": {"hours": 2}, "rolling_hours": 8}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done(wait_background_tasks=True)
    (changed,) = windows(entry)
    assert changed.subentry_id == window.subentry_id
    assert changed.title == "Hot water"
    assert dict(changed.data) == {
        "search": "duration",
        "duration": 120,
        "window": "rolling",
        "rolling_hours": 8,
        "segment": "cheapest",
        "direction": "import",
    }


def test_window_and_duration_arithmetic() -> None:
    """Crossing midnight, equal times (a day), rolling hours; durations in whole minutes."""
    between = {"window": "between"}
    assert window_minutes({**between, "window_start": "18:00:00", "window_end": "07:00:00"}) == 780
    assert window_minutes({**between, "window_start": "07:00:00", "window_end": "18:00:00"}) == 660
    assert window_minutes({**between, "window_start": "00:00:00", "window_end": "00:00:00"}) == 1440
    assert window_minutes({"window": "rolling", "rolling_hours": 72}) == 72 * 60
    assert duration_minutes({"hours": 3}) == 180
    assert duration_minutes({"days": 1, "minutes": 5}) == 1445
    assert duration_minutes({"seconds": 90}) is None
    assert duration_minutes({"hours": "x"}) is None
    assert duration_minutes(180) is None
