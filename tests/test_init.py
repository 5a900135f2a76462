"""Set-up, unload, reload and removal of an entry against the emulator over HTTP."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.const import EVENT_HOMEASSISTANT_STARTED, EntityCategory
from homeassistant.core import CoreState, HomeAssistant
from homeassistant.helpers import (
    device_registry as dr,
    entity_registry as er,
    issue_registry as ir,
)
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.flatpeak.client import FlatpeakClient
from custom_components.flatpeak.const import DOMAIN
from tests.conftest import Emulator
from tests.helpers import (
    add_sensors,
    device_subentries,
    ev_charger_subentry,
    house_meter_subentry,
    make_entry,
    new_device,
)
from tests.uploads_helpers import FIVE, Meter

GONE_LOCATION = "loc_000000000000000000000000"
TARIFF = [
    {
        "months": ["All"],
        "days_and_hours": [
            {
                "days": ["All"],
                "hours": [
                    {"valid_from": "00:00:00", "valid_to": "00:00:00", "rate": [{"fixed": 0.2}]}
                ],
            }
        ],
    }
]


@pytest.fixture(autouse=True)
async def _sensor_statistics(hass: HomeAssistant) -> None:
    """The sensor integration compiles the statistics of sensors, as in a running HA."""
    assert await async_setup_component(hass, "sensor", {})


def location_requests(emulator: Emulator, location_id: str) -> int:
    return emulator.requests("GET", f"/locations/{location_id}")


def reauth_flows(hass: HomeAssistant, entry: MockConfigEntry) -> list[dict[str, Any]]:
    return [
        flow
        for flow in hass.config_entries.flow.async_progress_by_handler(DOMAIN)
        if flow["context"]["source"] == SOURCE_REAUTH
        and flow["context"].get("entry_id") == entry.entry_id
    ]


def issue_ids(hass: HomeAssistant) -> set[str]:
    return {issue_id for domain, issue_id in ir.async_get(hass).issues if domain == DOMAIN}


async def location_without_tariff(hass: HomeAssistant, emulator: Emulator) -> tuple[str, str]:
    """A second location of the demo account with no tariff, and a device there."""
    location = emulator.state.add_location(
        emulator.account_id, address_line1="2 Other Road", post_code="N2 2BB"
    )
    client = FlatpeakClient(
        async_get_clientsession(hass),
        emulator.account_id,
        emulator.api_key,
        base_url=emulator.base_url,
    )
    device = await client.create_device(f"house-{location.id}", location_ids=[location.id])
    return location.id, device.id


# -- set-up failures ---------------------------------------------------------------------


async def test_setup_retries_while_flatpeak_unavailable(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """A 503 reading the location is temporary: set-up is retried and then succeeds."""
    entry = await make_entry(hass, emulator)
    emulator.state.fail_next("/locations/*", 503)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_RETRY
    assert entry.error_reason_translation_key == "cannot_connect"
    assert "503" in entry.error_reason_translation_placeholders["error"]
    assert location_requests(emulator, emulator.location_id) == 1
    assert reauth_flows(hass, entry) == []

    freezer.tick(timedelta(minutes=1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert entry.state is ConfigEntryState.LOADED
    assert location_requests(emulator, emulator.location_id) == 2


@pytest.mark.parametrize(
    "body",
    [
        {"id": 5, "timezone": [], "currency_code": None},
        {"object": "location"},
        ["not", "an", "object"],
        {"id": "loc_x", "tariff_status": "CONNECTED", "postal_address": 7},
    ],
    ids=["wrong_types", "missing_id", "array", "wrong_nested"],
)
async def test_setup_retries_on_a_location_it_cannot_read(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory, body: Any
) -> None:
    """A 200 whose location cannot be parsed is a passing problem: retried, no traceback."""
    entry = await make_entry(hass, emulator)
    emulator.state.fail_next("/locations/*", 200, body=body)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_RETRY
    assert entry.error_reason_translation_key == "cannot_connect"
    assert reauth_flows(hass, entry) == []

    freezer.tick(timedelta(minutes=1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert entry.state is ConfigEntryState.LOADED


async def test_setup_retries_while_flatpeak_unreachable(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    """Nothing listening at the base URL: set-up is retried later, no reauth."""
    entry = await make_entry(hass, emulator, base_url="http://127.0.0.1:1")
    requests = len(emulator.state.request_log)  # make_entry registered the device
    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_RETRY
    assert entry.error_reason_translation_key == "cannot_connect"
    assert "Cannot reach Flatpeak" in entry.error_reason_translation_placeholders["error"]
    assert reauth_flows(hass, entry) == []
    assert len(emulator.state.request_log) == requests


async def test_setup_bad_credentials_start_reauth(hass: HomeAssistant, emulator: Emulator) -> None:
    """A rejected API key fails set-up and starts reauthentication of that entry."""
    entry = await make_entry(hass, emulator, api_key="sk_test_not_the_key")
    assert not await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.SETUP_ERROR
    assert entry.error_reason_translation_key == "invalid_auth"
    assert len(reauth_flows(hass, entry)) == 1
    assert location_requests(emulator, emulator.location_id) == 0


async def test_setup_location_gone(hass: HomeAssistant, emulator: Emulator) -> None:
    """A location deleted in Flatpeak is a permanent error naming the location."""
    entry = await make_entry(hass, emulator, location_id=GONE_LOCATION)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.SETUP_ERROR
    assert entry.error_reason_translation_key == "location_not_found"
    assert entry.error_reason_translation_placeholders == {"location_id": GONE_LOCATION}
    assert location_requests(emulator, GONE_LOCATION) == 1
    assert reauth_flows(hass, entry) == []


async def test_setup_account_disabled(hass: HomeAssistant, emulator: Emulator) -> None:
    """A disabled account is a permanent error, not a reauth (the key is right)."""
    account = emulator.state.add_account(disabled=True)
    entry = await make_entry(hass, emulator, account_id=account.account_id, api_key=account.api_key)
    logins = emulator.requests("GET", "/login")  # make_entry registered the device
    assert not await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.SETUP_ERROR
    assert entry.error_reason_translation_key == "account_disabled"
    assert reauth_flows(hass, entry) == []
    assert emulator.requests("GET", "/login") == logins + 1
    assert location_requests(emulator, emulator.location_id) == 0


# -- loaded entry: devices, first upload, unload, reload ------------------------------------


# What a house meter shows besides its upload diagnostics: costs and prices from Flatpeak.
HOUSE_METER_KEYS = {
    "cost_today",
    "cost_yesterday",
    "cost_this_week",
    "cost_this_month",
    "export_value_today",
    "export_value_yesterday",
    "export_value_this_week",
    "export_value_this_month",
    "solar_value_today",
    "import_price",
    "export_price",
    "import_tariff",
    "export_tariff",
    "contract_ends",
}
# ... and what an EV charger shows: its sessions' and days' costs, and the session event.
CHARGER_KEYS = {
    "session_cost",
    "charging_session",
    "charging_cost_today",
    "charging_cost_yesterday",
    "charging_cost_this_week",
    "charging_cost_this_month",
}


async def test_devices_and_diagnostic_entities_belong_to_subentries(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    """One HA device per subentry, and each device's diagnostic sensors under it."""
    add_sensors(hass)
    house = await new_device(hass, emulator, "house")
    charger = await new_device(hass, emulator, "charger")
    entry = await make_entry(
        hass, emulator, subentries=[house_meter_subentry(house), ev_charger_subentry(charger)]
    )
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)

    devices = dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
    entities = er.async_get(hass)
    by_flatpeak_id = {sub.data["device_id"]: sub for sub in entry.subentries.values()}
    assert len(devices) == len(entry.subentries) == 2
    prefixes = set()
    for device in devices:
        ((domain, flatpeak_id),) = device.identifiers
        assert domain == DOMAIN
        subentry = by_flatpeak_id.pop(flatpeak_id)
        assert device_subentries(device, entry.entry_id) == {subentry.subentry_id}
        # named after the location ("1 Test Street, London"), a real device (no service)
        assert device.name == (
            "1 Test Street"
            if subentry.subentry_type == "house_meter"
            else f"1 Test Street {subentry.title}"
        )
        assert device.entry_type is None
        registered = er.async_entries_for_device(
            entities, device.id, include_disabled_entities=True
        )
        keys = {"last_upload", "intervals_waiting", "upload_errors"}
        if subentry.subentry_type == "house_meter":
            keys |= {*HOUSE_METER_KEYS, "costs_updated"}
        else:
            keys |= CHARGER_KEYS
        assert {e.unique_id for e in registered} == {f"{flatpeak_id}_{key}" for key in keys}
        for entity in registered:
            key = entity.unique_id.removeprefix(f"{flatpeak_id}_")
            diagnostic = key not in HOUSE_METER_KEYS | CHARGER_KEYS
            assert (entity.entity_category is EntityCategory.DIAGNOSTIC) is diagnostic
            assert entity.config_entry_id == entry.entry_id
            assert entity.config_subentry_id == subentry.subentry_id
            # Timestamps are off until enabled: each would write a logbook line every cycle.
            enabled = key not in ("last_upload", "costs_updated")
            assert (hass.states.get(entity.entity_id) is not None) is enabled
        prefixes |= {
            e.entity_id.removesuffix("_last_upload")
            for e in registered
            if e.entity_id.endswith("_last_upload")
        }
    assert by_flatpeak_id == {}
    assert prefixes == {"sensor.1_test_street", "sensor.1_test_street_driveway_charger"}
    for prefix in prefixes:
        for suffix in ("_last_upload", "_intervals_waiting", "_upload_errors"):
            assert entities.async_get(prefix + suffix) is not None


async def test_first_upload_waits_for_home_assistant_started(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """Set up while HA is starting: the history is sent once HA has started, not before."""
    meter = Meter(hass, freezer)
    for n in range(3):
        await meter.period(
            {"sensor.grid_import": 100 + n, "sensor.grid_export": 50, "sensor.solar": 10}
        )
    entry = await make_entry(hass, emulator, options={"history_days": 1})
    hass.set_state(CoreState.starting)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert entry.state is ConfigEntryState.LOADED
    assert emulator.requests("PUT", "/meters/interval") == 0

    hass.set_state(CoreState.running)
    hass.bus.async_fire(EVENT_HOMEASSISTANT_STARTED)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert emulator.requests("PUT", "/meters/interval") == 1
    assert emulator.state.records() != []


async def test_unload_stops_uploads(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """Loaded, the uploader sends every cycle; unloaded, it makes no request at all."""
    meter = Meter(hass, freezer)
    await meter.period({"sensor.grid_import": 100, "sensor.grid_export": 50, "sensor.solar": 10})
    entry = await make_entry(hass, emulator, options={"history_days": 1})
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    puts = emulator.requests("PUT", "/meters/interval")
    assert puts == 1  # the first cycle
    for n in range(6):
        await meter.period(
            {"sensor.grid_import": 101 + n, "sensor.grid_export": 50, "sensor.solar": 10}
        )
    assert emulator.requests("PUT", "/meters/interval") > puts  # the 15-minute cycle runs

    assert await hass.config_entries.async_unload(entry.entry_id)
    assert entry.state is ConfigEntryState.NOT_LOADED
    assert not hasattr(entry, "runtime_data")
    assert hass.states.get("sensor.1_test_street_intervals_waiting").state == "unavailable"
    requests = len(emulator.state.request_log)
    records = len(emulator.state.records())
    for n in range(12):  # an hour of new energy
        await meter.period(
            {"sensor.grid_import": 110 + n, "sensor.grid_export": 51, "sensor.solar": 11}
        )
    assert len(emulator.state.request_log) == requests
    assert len(emulator.state.records()) == records


async def test_options_change_reloads_entry(hass: HomeAssistant, emulator: Emulator) -> None:
    """New options are applied by reloading the entry."""
    entry = await make_entry(hass, emulator)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    before = entry.runtime_data.uploads
    assert before.update_interval == timedelta(minutes=15)
    logins = emulator.requests("GET", "/login")

    hass.config_entries.async_update_entry(entry, options={**entry.options, "upload_interval": 45})
    await hass.async_block_till_done(wait_background_tasks=True)
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data.uploads is not before
    assert entry.runtime_data.uploads.update_interval == timedelta(minutes=45)
    assert emulator.requests("GET", "/login") == logins + 1  # a new client signed in


# -- repairs and removal ---------------------------------------------------------------------


async def test_no_import_tariff_issue_until_tariff_connected(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    """No import tariff: a repair issue; connecting a tariff and reloading clears it."""
    add_sensors(hass)
    location_id, device_id = await location_without_tariff(hass, emulator)
    entry = await make_entry(
        hass, emulator, location_id=location_id, subentries=[house_meter_subentry(device_id)]
    )
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert entry.state is ConfigEntryState.LOADED  # readings are still sent
    issue_id = f"no_import_tariff_{entry.entry_id}"
    issue = ir.async_get(hass).async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_key == "no_import_tariff"
    assert issue.severity is ir.IssueSeverity.WARNING
    assert issue.translation_placeholders["location"].startswith("2 Other Road")

    emulator.state.add_tariff_element(location_id, direction="IMPORT", schedule=TARIFF)
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert entry.state is ConfigEntryState.LOADED
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None


async def test_remove_entry_deletes_progress_and_issues(
    hass: HomeAssistant,
    emulator: Emulator,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
) -> None:
    """Removing an entry deletes its stored progress and every issue of its own, only its own."""
    meter = Meter(hass, freezer)
    # sensor.solar never exists: each entry's house meter gets a sensor issue for it
    await meter.period({"sensor.grid_import": 100, "sensor.grid_export": 50})
    location_id, device_id = await location_without_tariff(hass, emulator)
    removed = await make_entry(
        hass,
        emulator,
        location_id=location_id,
        subentries=[house_meter_subentry(device_id)],
        options={"history_days": 1, "upload_interval": 60},
    )
    kept = await make_entry(hass, emulator, options={"history_days": 1})
    emulator.state.refuse_records(
        "value out of range", count=10_000, where=lambda r: r.device_id == device_id
    )
    assert await async_setup_component(hass, DOMAIN, {})
    await hass.async_block_till_done(wait_background_tasks=True)
    assert removed.state is ConfigEntryState.LOADED
    assert kept.state is ConfigEntryState.LOADED
    await meter.period({"sensor.grid_import": 101, "sensor.grid_export": 51})
    for _ in range(3):  # refused three times: given up and reported
        await removed.runtime_data.uploads.async_refresh()

    (removed_sub,) = removed.subentries
    (kept_sub,) = kept.subentries
    own = {
        f"no_import_tariff_{removed.entry_id}",
        f"records_rejected_{removed.entry_id}",
        f"sensor_problem_{removed.entry_id}_{removed_sub}_solar",
        f"no_export_tariff_{removed.entry_id}",  # an export sensor, and no export tariff
    }
    others = {f"sensor_problem_{kept.entry_id}_{kept_sub}_solar"}
    assert issue_ids(hass) == own | others
    assert f"{DOMAIN}.{removed.entry_id}" in hass_storage
    assert f"{DOMAIN}.{kept.entry_id}" in hass_storage

    await hass.config_entries.async_remove(removed.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert hass.config_entries.async_get_entry(removed.entry_id) is None
    assert f"{DOMAIN}.{removed.entry_id}" not in hass_storage
    assert f"{DOMAIN}.{kept.entry_id}" in hass_storage
    assert issue_ids(hass) == others
    assert dr.async_entries_for_config_entry(dr.async_get(hass), removed.entry_id) == []

    await meter.advance(meter.t + timedelta(hours=1))  # nothing of the removed entry comes back
    assert f"{DOMAIN}.{removed.entry_id}" not in hass_storage
    assert issue_ids(hass) == others


async def test_removal_right_after_a_session_change_leaves_no_progress(
    hass: HomeAssistant,
    emulator: Emulator,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
) -> None:
    """A charging session starting just before removal must not write the progress back later."""
    meter = Meter(hass, freezer)
    meter.set("binary_sensor.charging", "off", {})
    await meter.period({"sensor.charger_energy": 10.0})
    charger_id = await new_device(hass, emulator, "charger")
    entry = await make_entry(hass, emulator, subentries=[ev_charger_subentry(charger_id)])
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    meter.set("binary_sensor.charging", "on", {})  # schedules a delayed save of the session
    await hass.async_block_till_done()
    await hass.config_entries.async_remove(entry.entry_id)
    await meter.advance(meter.now + timedelta(minutes=2))
    assert f"{DOMAIN}.{entry.entry_id}" not in hass_storage
    assert f"{DOMAIN}.{entry.entry_id}.sessions" not in hass_storage


async def test_sensor_issues_stay_with_their_entry_and_subentry(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """An entry without devices clears nobody's issues; a removed device's issue goes with it."""
    meter = Meter(hass, freezer)
    add_sensors(hass)
    hass.states.async_remove("sensor.solar")
    first = await make_entry(hass, emulator, options={"upload_interval": 60})
    assert await hass.config_entries.async_setup(first.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    (sub_id,) = first.subentries
    issue = f"sensor_problem_{first.entry_id}_{sub_id}_solar"
    assert issue in issue_ids(hass)

    location_id, _ = await location_without_tariff(hass, emulator)
    empty = await make_entry(hass, emulator, location_id=location_id, subentries=[])
    assert await hass.config_entries.async_setup(empty.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    await empty.runtime_data.uploads.async_refresh()
    assert issue in issue_ids(hass)

    assert hass.config_entries.async_remove_subentry(first, sub_id)
    await meter.advance(meter.now + timedelta(minutes=1))
    assert issue not in issue_ids(hass)


async def test_session_tracking_stops_with_the_entry(
    hass: HomeAssistant,
    emulator: Emulator,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
) -> None:
    """Unloaded, the entry no longer follows its chargers: a session starting then is not
    recorded and nothing is written to its progress."""
    meter = Meter(hass, freezer)
    meter.set("binary_sensor.charging", "off", {})
    await meter.period({"sensor.charger_energy": 10.0})
    charger_id = await new_device(hass, emulator, "charger")
    entry = await make_entry(hass, emulator, subentries=[ev_charger_subentry(charger_id)])
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    book = entry.runtime_data.sessions.book
    (sub,) = entry.subentries
    meter.set("binary_sensor.charging", "on", {})
    await hass.async_block_till_done()
    assert len(book.sessions(sub)) == 1

    assert await hass.config_entries.async_unload(entry.entry_id)
    files = (f"{DOMAIN}.{entry.entry_id}", f"{DOMAIN}.{entry.entry_id}.sessions")
    saved = [hass_storage[key]["data"] for key in files]
    assert [s["end"] for s in saved[1]["sessions"][sub]] == [None]
    meter.set("binary_sensor.charging", "off", {})
    await hass.async_block_till_done()
    meter.set("binary_sensor.charging", "on", {})
    await meter.advance(meter.now + timedelta(minutes=2))
    assert len(book.sessions(sub)) == 1
    assert book.sessions(sub)[0].end is None
    assert [hass_storage[key]["data"] for key in files] == saved


async def test_progress_of_version_1_is_migrated(
    hass: HomeAssistant,
    emulator: Emulator,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
) -> None:
    """Progress written before netting looked back: cursors kept, the owed deficit still
    owed, refused records still retried; nothing sent before is sent again."""
    meter = Meter(hass, freezer)
    await meter.period({"sensor.grid_import": 100.0})
    for n in range(1, 4):
        await meter.period({"sensor.grid_import": 100 + n})
    device_id = await new_device(hass, emulator, "house")
    subentry = house_meter_subentry(device_id)
    del subentry["data"]["grid_export"], subentry["data"]["solar"]
    entry = await make_entry(hass, emulator, subentries=[subentry], options={"history_days": 1})
    sub = next(iter(entry.subentries))
    key = f"{DOMAIN}.{entry.entry_id}"
    cursor = meter.t - 2 * FIVE  # two periods not yet sent
    hass_storage[key] = {
        "version": 1,
        "minor_version": 1,
        "key": key,
        "data": {
            "streams": {
                f"{device_id}:grid_import": {
                    "cursor": cursor.isoformat(),
                    "deficit": 0.25,
                    "next_deficit": 0.0,
                }
            },
            "retry": [
                {
                    "stream": f"{device_id}:grid_import",
                    "start": (cursor - FIVE).isoformat(),
                    "kwh": 1.0,
                    "session": None,
                    "attempts": 1,
                }
            ],
            "sessions": {},
            "last_success": {sub: cursor.isoformat()},
        },
    }
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)

    records = sorted(emulator.state.records(device_id=device_id), key=lambda r: r["start_time"])
    assert [r["start_time"] for r in records] == [
        (cursor + n * FIVE - FIVE).isoformat().replace("+00:00", "Z") for n in range(3)
    ]
    # the retried period as queued, then the two new ones with the 0.25 kWh still owed
    assert [round(r["energy_wh"], 6) for r in records] == [1000.0, 750.0, 1000.0]
    data = hass_storage[key]["data"]
    assert hass_storage[key]["version"] == 2
    assert data["streams"][f"{device_id}:grid_import"]["cursor"] == meter.t.isoformat()
    assert data["streams"][f"{device_id}:grid_import"]["carry"] == 0
    assert data["retry"] == []
    assert data["last_success"][sub] != cursor.isoformat()
