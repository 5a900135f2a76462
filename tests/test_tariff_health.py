"""Tariff health against the emulator over HTTP: the tariff sensors, each event's repair
(raised once, kept across restarts, no request storm), its fix flow through the emulator's
Connect page, the missing export tariff, and a location change refreshing prices."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import UTC, datetime, timedelta
import re
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.repairs import repairs_flow_manager
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr, issue_registry as ir
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)

from custom_components.flatpeak.client import LocationStatus, TariffDirection, TariffPart
from custom_components.flatpeak.const import DOMAIN
from custom_components.flatpeak.health.coordinator import Problem, cleared
from tests.conftest import Emulator
from tests.emulator import health as emulated
from tests.helpers import add_sensors, house_meter_subentry, make_entry, new_device
from tests.test_cheap_window_entities import (
    as_pairs,
    dynamic_location,
    emulator_answer,
    entity_ids as window_ids,
    london,
    replace_import_tariff,
    schedule_requests,
    setup as window_setup,
    slots_of,
    window_of,
    window_subentry,
)
from tests.test_config_flow_connect import set_url
from tests.test_costs import costs, flatpeak_cost, hourly, stat_id
from tests.test_emulator_schedules import dynamic_schedule
from tests.uploads_helpers import import_hourly, uploads

NOW = datetime(2025, 6, 2, 10, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
STATUS = "GET", "/locations/{}/status"
PREFIX = "sensor.1_test_street_"


@pytest.fixture(autouse=True)
async def _repairs(hass: HomeAssistant) -> AsyncGenerator[None]:
    """The repairs integration (fix flows), London, pounds; flows closed at the end."""
    await hass.config.async_update(time_zone="Europe/London", currency="GBP")
    assert await async_setup_component(hass, "repairs", {})
    yield
    manager = repairs_flow_manager(hass)
    if manager is not None:
        for flow in manager.async_progress():
            manager.async_abort(flow["flow_id"])


def requests(emulator: Emulator, method: str, path: str) -> int:
    return emulator.requests(method, path.format(emulator.location_id))


async def setup(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory, **sensors: Any
) -> MockConfigEntry:
    freezer.move_to(NOW)
    add_sensors(hass)
    house = await new_device(hass, emulator, "house")
    entry = await make_entry(
        hass,
        emulator,
        subentries=[house_meter_subentry(house, **sensors)],
        options={"history_days": 0},
    )
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    return entry


async def later(hass: HomeAssistant, freezer: FrozenDateTimeFactory, by: timedelta) -> None:
    """Let time pass (timers fire, background work ends)."""
    moment = datetime.now(UTC) + by
    freezer.move_to(moment)
    async_fire_time_changed(hass, moment)
    await hass.async_block_till_done(wait_background_tasks=True)


def flatpeak_issues(hass: HomeAssistant) -> dict[str, ir.IssueEntry]:
    return {
        issue_id: issue
        for (domain, issue_id), issue in ir.async_get(hass).issues.items()
        if domain == DOMAIN
    }


def state(hass: HomeAssistant, key: str) -> Any:
    found = hass.states.get(PREFIX + key)
    assert found is not None, key
    return found


async def test_the_tariff_sensors_and_the_provider(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """Import tariff and Export tariff name the tariffs with provider and structure,
    Contract ends is the import contract's end, and the house meter is made by the
    provider; set-up read the status and the events once each."""
    entry = await setup(hass, emulator, freezer)
    imported = state(hass, "import_tariff")
    assert imported.state == "Demo time of use"
    assert imported.attributes["provider"] == "Demo Energy"
    assert imported.attributes["structure_type"] == "TIME_OF_DAY"
    assert imported.attributes["connection_type"] == "MANUAL"
    exported = state(hass, "export_tariff")
    assert exported.state == "Demo flat export"
    assert exported.attributes["structure_type"] == "FIXED"
    ends = state(hass, "contract_ends")
    (element,) = [
        e
        for e in emulator.state.elements_for(emulator.location_id, "IMPORT")
        if e.type == "COMMODITY"
    ]
    assert element.contract_end_date is not None
    assert datetime.fromisoformat(ends.state) == datetime.fromisoformat(
        element.contract_end_date.replace("Z", "+00:00")
    ).replace(microsecond=0)
    (device,) = [
        d
        for d in dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
        if d.model == "House meter"
    ]
    assert device.manufacturer == "Demo Energy"
    assert requests(emulator, *STATUS) == 1
    assert emulator.requests("GET", "/events") == 1
    assert flatpeak_issues(hass) == {}


async def test_a_day_asks_for_events_hourly_and_the_status_daily(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """No storm: over 24 quiet hours, one events read an hour and one status read."""
    await setup(hass, emulator, freezer)
    events, status = emulator.requests("GET", "/events"), requests(emulator, *STATUS)
    for _ in range(24):
        await later(hass, freezer, HOUR)
    assert emulator.requests("GET", "/events") - events == 24
    assert requests(emulator, *STATUS) - status == 1


async def fix(
    hass: HomeAssistant, emulator: Emulator, issue_id: str, hass_client_no_auth: Any
) -> dict[str, Any]:
    """Follow the repair's fix flow through the emulator's Connect page; its last result."""
    manager = repairs_flow_manager(hass)
    assert manager is not None
    result = await manager.async_init(DOMAIN, data={"issue_id": issue_id})
    assert result["step_id"] == "confirm"
    result = await manager.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.SHOW_PROGRESS
    page_url = result["description_placeholders"]["connect_url"]
    token = re.search(r"fp_cot=([^&]+)", page_url)
    assert token is not None
    async with aiohttp.ClientSession() as browser:
        async with browser.get(page_url) as page:
            html = await page.text()
        tariff = re.search(r'name="tariff"[^>]*value="([^"]+)"', html) or re.search(
            r'value="([^"]+)"[^>]*name="tariff"', html
        )
        assert tariff is not None, html
        async with browser.post(
            f"{emulator.base_url}/connect",
            data={"fp_cot": token.group(1), "tariff": tariff.group(1)},
            allow_redirects=False,
        ) as chosen:
            assert chosen.status == 302
            back = urlsplit(chosen.headers["Location"])
    client = await hass_client_no_auth()
    response = await client.get(f"{back.path}?{back.query}")
    assert response.status == 200
    await hass.async_block_till_done(wait_background_tasks=True)
    return await manager.async_configure(result["flow_id"])


EVENTS = {
    "tariff.expiring": ("tariff_expiring", ir.IssueSeverity.WARNING),
    "tariff.expired": ("tariff_expired", ir.IssueSeverity.ERROR),
    "tariff.fetch.failed": ("tariff_fetch_failed", ir.IssueSeverity.ERROR),
    "tariff.connection.upgrade": ("tariff_upgrade", ir.IssueSeverity.WARNING),
}


@pytest.mark.parametrize("event_type", list(EVENTS))
async def test_each_event_raises_its_repair_once_and_connect_fixes_it(
    hass: HomeAssistant,
    emulator: Emulator,
    freezer: FrozenDateTimeFactory,
    hass_client_no_auth: Any,
    event_type: str,
) -> None:
    """The event raises one repair at the next hourly read (one status read after it),
    the same repair after more reads and a restart (the event is not handled twice); its
    fix flow opens Connect for this location's import tariff, and once Flatpeak shows the
    new tariff the repair is gone and prices are read again."""
    await set_url(hass)
    entry = await setup(hass, emulator, freezer)
    emulated.raise_event(emulator.state, event_type, emulator.location_id)
    status = requests(emulator, *STATUS)
    await later(hass, freezer, HOUR)
    issue_id = f"tariff_{entry.entry_id}_commodity_import"
    key, severity = EVENTS[event_type]
    issues = flatpeak_issues(hass)
    assert list(issues) == [issue_id]
    assert issues[issue_id].translation_key == key
    assert issues[issue_id].severity is severity
    assert issues[issue_id].is_fixable
    assert requests(emulator, *STATUS) - status == 1
    await later(hass, freezer, HOUR)
    assert list(flatpeak_issues(hass)) == [issue_id]
    assert requests(emulator, *STATUS) - status == 1  # no new event: no status read

    status = requests(emulator, *STATUS)
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert list(flatpeak_issues(hass)) == [issue_id]  # the status still shows it
    # the start-up read only: the event was not handled again (it would ask once more)
    assert requests(emulator, *STATUS) - status == 1

    prices = emulator.requests("POST", f"/prices/{emulator.location_id}")
    result = await fix(hass, emulator, issue_id, hass_client_no_auth)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert flatpeak_issues(hass) == {}
    await hass.async_block_till_done(wait_background_tasks=True)
    assert emulator.requests("POST", f"/prices/{emulator.location_id}") > prices
    imported = state(hass, "import_tariff")
    assert imported.attributes["connection_type"] == "DIRECT"
    # the events Connect itself raised (location.update …) raise nothing more
    await later(hass, freezer, HOUR)
    assert flatpeak_issues(hass) == {}


async def test_a_contract_ending_within_ten_days_raises_the_repair_without_an_event(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """The status alone says the contract ends in 9 days: the expiring repair."""
    (element,) = [
        e
        for e in emulator.state.elements_for(emulator.location_id, "IMPORT")
        if e.type == "COMMODITY"
    ]
    element.contract_end_date = (NOW + timedelta(days=9)).isoformat().replace("+00:00", "Z")
    entry = await setup(hass, emulator, freezer)
    issue = flatpeak_issues(hass)[f"tariff_{entry.entry_id}_commodity_import"]
    assert issue.translation_key == "tariff_expiring"
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["ends"] == "2025-06-11"


async def test_an_export_sensor_without_an_export_tariff_until_connect_adds_one(
    hass: HomeAssistant,
    emulator: Emulator,
    freezer: FrozenDateTimeFactory,
    hass_client_no_auth: Any,
) -> None:
    """An export sensor and no export tariff: the repair at set-up; its fix flow connects
    an export tariff through Connect (export mode), the repair goes and the export tariff
    sensor names it."""
    await set_url(hass)
    for element in emulator.state.elements_for(emulator.location_id, "EXPORT"):
        del emulator.state.elements[element.id]
    entry = await setup(hass, emulator, freezer)
    issue_id = f"no_export_tariff_{entry.entry_id}"
    assert list(flatpeak_issues(hass)) == [issue_id]
    assert state(hass, "export_tariff").state == "not_connected"
    result = await fix(hass, emulator, issue_id, hass_client_no_auth)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert flatpeak_issues(hass) == {}
    assert state(hass, "export_tariff").state == "Flat export"
    token = next(iter(emulator.state.connect_tokens.values()))
    assert (token.location_id, token.tariff_direction, token.edit_tariff) == (
        emulator.location_id,
        "EXPORT",
        True,
    )


async def test_no_export_repair_without_an_export_or_solar_sensor(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    for element in emulator.state.elements_for(emulator.location_id, "EXPORT"):
        del emulator.state.elements[element.id]
    await setup(hass, emulator, freezer, grid_export="", solar="")
    assert flatpeak_issues(hass) == {}


async def test_location_update_refreshes_prices_at_once(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """location.update: prices and the recent cost hours are read again at the next events
    read, not at their own schedule; the event raises no repair."""
    entry = await setup(hass, emulator, freezer)
    await later(hass, freezer, timedelta(minutes=1))
    prices = emulator.requests("POST", f"/prices/{emulator.location_id}")
    costs_before = sum(
        1 for m, p in emulator.state.request_log if m == "POST" and p.startswith("/costs/interval")
    )
    emulated.raise_event(emulator.state, "location.update", emulator.location_id)
    await later(hass, freezer, HOUR)
    # one request per direction (import, export), once
    assert emulator.requests("POST", f"/prices/{emulator.location_id}") == prices + 2
    costs_after = sum(
        1 for m, p in emulator.state.request_log if m == "POST" and p.startswith("/costs/interval")
    )
    assert costs_after > costs_before
    assert flatpeak_issues(hass) == {}
    assert entry.runtime_data.health.data is not None


async def test_options_change_tariff_through_connect(
    hass: HomeAssistant,
    emulator: Emulator,
    freezer: FrozenDateTimeFactory,
    hass_client_no_auth: Any,
) -> None:
    """Options → Change tariff → Import tariff: Connect for this location's import part;
    back in Home Assistant the options are as they were and the Import tariff sensor names
    the new tariff."""
    await set_url(hass)
    entry = await setup(hass, emulator, freezer)
    options = dict(entry.options)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.MENU
    assert result["menu_options"] == ["settings", "change_tariff"]
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "change_tariff"}
    )
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"part": "commodity_import"}
    )
    assert result["type"] is FlowResultType.SHOW_PROGRESS
    page_url = result["description_placeholders"]["connect_url"]
    token = re.search(r"fp_cot=([^&]+)", page_url)
    assert token is not None
    async with (
        aiohttp.ClientSession() as browser,
        browser.post(
            f"{emulator.base_url}/connect",
            data={"fp_cot": token.group(1), "tariff": "cheap_nights"},
            allow_redirects=False,
        ) as chosen,
    ):
        back = urlsplit(chosen.headers["Location"])
    client = await hass_client_no_auth()
    assert (await client.get(f"{back.path}?{back.query}")).status == 200
    await hass.async_block_till_done(wait_background_tasks=True)
    result = await hass.config_entries.options.async_configure(result["flow_id"])
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "tariff_changed"
    assert dict(entry.options) == options
    assert state(hass, "import_tariff").state == "Time of use (cheap nights)"


async def test_connecting_the_export_tariff_fills_in_the_export_value(
    hass: HomeAssistant,
    emulator: Emulator,
    freezer: FrozenDateTimeFactory,
    hass_client_no_auth: Any,
) -> None:
    """Exported energy sent while the location had no export tariff is worth nothing at
    Flatpeak; once the fix flow connected one, Flatpeak prices those records again and the
    export value statistic follows, hour by hour."""
    await set_url(hass)
    for element in emulator.state.elements_for(emulator.location_id, "EXPORT"):
        del emulator.state.elements[element.id]
    freezer.move_to(NOW)
    add_sensors(hass)
    start = NOW - 6 * HOUR
    for entity_id, per_hour in (("sensor.grid_import", 0.5), ("sensor.grid_export", 0.8)):
        import_hourly(hass, entity_id, start, 6, per_hour)
    await async_wait_recording_done(hass)
    house = await new_device(hass, emulator, "house")
    subentry = house_meter_subentry(house)
    del subentry["data"]["solar"]
    entry = await make_entry(hass, emulator, subentries=[subentry], options={"history_days": 1})
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    await uploads(entry).async_refresh()
    await costs(entry).async_refresh()
    value = stat_id(house, "grid_export_value")
    before = await hourly(hass, value, start, NOW)
    assert len(before) == 6
    assert all(row["state"] == 0 for row in before)

    result = await fix(hass, emulator, f"no_export_tariff_{entry.entry_id}", hass_client_no_auth)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done(wait_background_tasks=True)
    after = await hourly(hass, value, start, NOW)
    assert len(after) == 6
    for row in after:
        hour = datetime.fromtimestamp(row["start"], UTC)
        figure = await flatpeak_cost(
            hass, emulator, house, (hour, hour + HOUR), direction=TariffDirection.EXPORT
        )
        assert figure > 0
        assert row["state"] == pytest.approx(figure, abs=1e-6)


def _status(**part: Any) -> LocationStatus:
    return LocationStatus(TariffPart(**part), TariffPart(), TariffPart())


@pytest.mark.parametrize(
    ("kind", "part", "fixed"),
    [
        (
            "expiring",
            {"status": "CONNECTED", "tariff_id": "t1", "contract_end": NOW + 5 * DAY},
            False,
        ),
        (
            "expiring",
            {"status": "CONNECTED", "tariff_id": "t1", "contract_end": NOW + 11 * DAY},
            True,
        ),
        ("expiring", {"status": "CONNECTED", "tariff_id": "t1"}, False),  # no end: not renewed
        ("expiring", {"status": "CONNECTED", "tariff_id": "t2", "contract_end": NOW + DAY}, True),
        ("expiring", {"status": "ERROR", "tariff_id": "t1"}, False),
        ("expired", {"status": "ERROR", "tariff_id": "t1"}, False),
        ("expired", {"status": "CONNECTED", "tariff_id": "t1", "contract_end": NOW - DAY}, False),
        ("expired", {"status": "CONNECTED", "tariff_id": "t1", "contract_end": NOW + DAY}, True),
        ("expired", {"status": "CONNECTED", "tariff_id": "t2", "contract_end": NOW - DAY}, True),
        ("fetch_failed", {"status": "ERROR", "tariff_id": "t1"}, False),
        ("fetch_failed", {"status": "CONNECTED", "tariff_id": "t1"}, True),
        ("upgrade", {"status": "CONNECTED", "tariff_id": "t1", "connection_type": "MANUAL"}, False),
        ("upgrade", {"status": "CONNECTED", "tariff_id": "t1", "connection_type": "DIRECT"}, True),
        ("upgrade", {"status": "CONNECTED", "tariff_id": "t2", "connection_type": "MANUAL"}, True),
        ("upgrade", {"status": "NOT_CONNECTED"}, True),
        ("expired", {"status": "NOT_CONNECTED"}, True),
    ],
)
def test_what_clears_a_problem(kind: str, part: dict[str, Any], fixed: bool) -> None:
    """Each problem of tariff t1 against what ``/status`` then shows of the part."""
    problem = Problem(kind, "t1")
    assert cleared(problem, _status(**part), "commodity_import", NOW) is fixed


async def test_an_event_raised_while_home_assistant_is_down_is_read_at_start(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """The cursor is in the Store: an event raised while the entry is unloaded is read when
    it loads again, once."""
    entry = await setup(hass, emulator, freezer)
    assert await hass.config_entries.async_unload(entry.entry_id)
    emulated.raise_event(emulator.state, "tariff.fetch.failed", emulator.location_id)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    issue = flatpeak_issues(hass)[f"tariff_{entry.entry_id}_commodity_import"]
    assert issue.translation_key == "tariff_fetch_failed"
    assert state(hass, "import_tariff").state == "error"


async def test_a_location_update_replans_a_cheap_window_that_has_not_started(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """The tariff changes at Flatpeak (location.update): at the next events read the prices
    are read again and the evening window, not started, is planned from the new tariff
    with one schedule request."""
    location_id = dynamic_location(emulator)
    evening = window_subentry(
        "Evening", window_start="20:00:00", window_end="23:00:00", duration=60
    )
    entry = await window_setup(hass, emulator, freezer, evening, location_id=location_id)
    active = window_ids(hass, window_of(entry, "Evening"))["active"]
    before = slots_of(hass, active)
    replace_import_tariff(emulator, location_id, dynamic_schedule(seed=11))
    emulated.raise_event(emulator.state, "location.update", location_id)
    emulator.state.request_log.clear()
    await later(hass, freezer, HOUR)
    assert schedule_requests(emulator) == 1
    fresh = await emulator_answer(
        hass,
        emulator,
        london(2025, 6, 2, 20, 0),
        london(2025, 6, 2, 23, 0),
        location_id=location_id,
        duration=60,
    )
    assert slots_of(hass, active) == as_pairs(fresh)
    assert slots_of(hass, active) != before  # the new tariff's cheapest hour
