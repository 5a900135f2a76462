"""Diagnostics over HA's HTTP API: useful for support, without secrets or the address."""

from __future__ import annotations

import json
from typing import Any

from freezegun.api import FrozenDateTimeFactory

# The diagnostics download imports hassio (system info), whose mashumaro models cannot be
# compiled while time is frozen: import it before any test freezes time.
import homeassistant.components.hassio  # noqa: F401
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion

from custom_components.flatpeak.const import DOMAIN
from custom_components.flatpeak.core.records import FIVE_MINUTES, floor_time
from tests.conftest import Emulator
from tests.helpers import (
    add_sensors,
    ev_charger_subentry,
    house_meter_subentry,
    make_entry,
    new_device,
)
from tests.uploads_helpers import Meter

REDACTED = "**REDACTED**"


@pytest.fixture(autouse=True)
async def _sensor_statistics(hass: HomeAssistant) -> None:
    """The sensor integration compiles the statistics of sensors, as in a running HA."""
    assert await async_setup_component(hass, "sensor", {})


async def test_diagnostics_of_loaded_entry(
    hass: HomeAssistant,
    emulator: Emulator,
    hass_client: ClientSessionGenerator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Entry, subentries, location, client and uploads are there; secrets and address not."""
    assert await async_setup_component(hass, "diagnostics", {})
    add_sensors(hass)
    # from now on, not in the past: hass_client's access token was issued just now
    meter = Meter(hass, freezer, floor_time(dt_util.utcnow(), FIVE_MINUTES) + FIVE_MINUTES)
    await meter.period(
        {
            "sensor.grid_import": 100,
            "sensor.grid_export": 50,
            "sensor.solar": 10,
            "sensor.charger_energy": 500,
        }
    )
    house = await new_device(hass, emulator, "house")
    charger = await new_device(hass, emulator, "charger")
    entry = await make_entry(
        hass,
        emulator,
        subentries=[house_meter_subentry(house), ev_charger_subentry(charger)],
        options={"upload_interval": 30},
    )
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert entry.state is ConfigEntryState.LOADED
    hass.states.async_set("binary_sensor.charging", "on")  # a charging session starts
    await hass.async_block_till_done()

    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)

    assert diagnostics["entry"]["title"] == REDACTED
    data = diagnostics["entry"]["data"]
    assert data["api_key"] == REDACTED
    assert data["account_id"] == REDACTED
    assert data["location_id"] == emulator.location_id
    assert data["base_url"] == emulator.base_url
    assert diagnostics["entry"]["options"] == {"upload_interval": 30, "history_days": 10}

    subentries = {sub["type"]: sub for sub in diagnostics["subentries"]}
    assert set(subentries) == {"house_meter", "ev_charger"}
    assert all(sub["title"] == REDACTED for sub in subentries.values())
    assert subentries["house_meter"]["data"]["device_id"] == house
    assert subentries["house_meter"]["data"]["grid_import"] == "sensor.grid_import"
    assert subentries["ev_charger"]["data"]["device_id"] == charger
    assert subentries["ev_charger"]["data"]["session_entity"] == "binary_sensor.charging"

    location = emulator.state.locations[emulator.location_id]
    assert diagnostics["location"] == {
        "id": emulator.location_id,
        "timezone": location.timezone,
        "currency_code": location.currency_code,
        "country_code": "GB",
        "tariff_status": emulator.state.tariff_status(emulator.location_id),
    }
    assert diagnostics["location"]["timezone"] == "Europe/London"
    assert diagnostics["location"]["tariff_status"]["commodity_import"] == "CONNECTED"
    client = diagnostics["client"]
    assert client["base_url"] == emulator.base_url
    assert client["sends_version_header"] is True
    assert client["live_mode"] is False
    assert client["requests_made"] == entry.runtime_data.client.request_count > 0

    subs = {sub.subentry_type: sub.subentry_id for sub in entry.subentries.values()}
    uploads = diagnostics["uploads"]
    assert set(uploads["streams"]) == {
        f"{house}:grid_import",
        f"{house}:grid_export",
        f"{house}:solar",
        f"{charger}:ev_charger",
    }
    # the first cycle sent the one compiled period of every stream
    assert {s["cursor"] for s in uploads["streams"].values()} == {meter.t.isoformat()}
    assert all(s["carry_kwh"] == 0 for s in uploads["streams"].values())
    assert uploads["retry_queue"] == 0
    assert uploads["records_given_up"] == 0
    assert uploads["consecutive_failures"] == 0
    assert uploads["update_interval_seconds"] == 30 * 60
    assert set(uploads["devices"]) == set(subs.values())
    for device in uploads["devices"].values():
        assert device["last_success"] is not None
        assert device["last_error"] is None

    costs = diagnostics["costs"]
    assert costs["currency"] == "GBP"
    assert set(costs["statistics"]) == {
        f"flatpeak:{house}_grid_import_cost",
        f"flatpeak:{house}_grid_export_value",
        f"flatpeak:{house}_solar_value",
        f"flatpeak:{charger}_charging_cost",
    }
    assert costs["tariff_problem"] is None
    # the open session, from the session book, with no cost yet
    assert list(diagnostics["sessions"]) == [subs["ev_charger"]]
    (session,) = diagnostics["sessions"][subs["ev_charger"]]
    assert session["end"] is None

    dump = json.dumps(diagnostics)
    assert emulator.api_key not in dump
    assert emulator.account_id not in dump
    assert entry.title not in dump
    assert location.postal_address["address_line1"] not in dump
    assert location.postal_address["post_code"] not in dump


async def test_diagnostics_of_entry_not_loaded(
    hass: HomeAssistant, emulator: Emulator, hass_client: ClientSessionGenerator
) -> None:
    """An entry that failed to set up (no runtime data) still gives its redacted diagnostics."""
    assert await async_setup_component(hass, "diagnostics", {})
    entry = await make_entry(hass, emulator, location_id="loc_000000000000000000000000")
    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_ERROR

    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)

    assert "location" not in diagnostics
    assert "client" not in diagnostics
    assert diagnostics["entry"]["title"] == REDACTED
    assert diagnostics["entry"]["data"]["api_key"] == REDACTED
    assert diagnostics["entry"]["data"]["account_id"] == REDACTED
    assert diagnostics["entry"]["data"]["location_id"] == "loc_000000000000000000000000"
    assert diagnostics["entry"]["options"] == {"upload_interval": 15, "history_days": 10}
    assert [sub["type"] for sub in diagnostics["subentries"]] == ["house_meter"]
    dump = json.dumps(diagnostics)
    assert emulator.api_key not in dump
    assert emulator.account_id not in dump


async def test_diagnostics_after_unload(
    hass: HomeAssistant, emulator: Emulator, hass_client: ClientSessionGenerator
) -> None:
    """Once unloaded the entry keeps no runtime data; diagnostics still answer."""
    assert await async_setup_component(hass, "diagnostics", {})
    entry = await make_entry(hass, emulator)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert "location" in await get_diagnostics_for_config_entry(hass, hass_client, entry)

    assert await hass.config_entries.async_unload(entry.entry_id)
    assert entry.state is ConfigEntryState.NOT_LOADED
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert "location" not in diagnostics
    assert diagnostics["entry"]["data"]["location_id"] == emulator.location_id
    assert emulator.api_key not in json.dumps(diagnostics)
    assert hass.config_entries.async_entries(DOMAIN) == [entry]


def _shape(value: Any) -> Any:
    """The keys of a diagnostics download with the kind of each value (a list: its first
    item's shape), so the snapshot holds its structure, not this run's ids and times."""
    if isinstance(value, dict):
        return {str(key): _shape(item) for key, item in sorted(value.items())}
    if isinstance(value, list):
        return [_shape(value[0])] if value else []
    return type(value).__name__


async def test_diagnostics_shape(
    hass: HomeAssistant,
    emulator: Emulator,
    hass_client: ClientSessionGenerator,
    snapshot: SnapshotAssertion,
) -> None:
    """The whole redacted download of a house meter and a charger, as a snapshot of its shape
    (every key, every kind of value); the redaction itself is checked above."""
    assert await async_setup_component(hass, "diagnostics", {})
    add_sensors(hass)
    house = await new_device(hass, emulator, "house")
    charger = await new_device(hass, emulator, "charger")
    entry = await make_entry(
        hass, emulator, subentries=[house_meter_subentry(house), ev_charger_subentry(charger)]
    )
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    names = {house: "<house meter>", charger: "<charger>", entry.entry_id: "<entry>"}
    names |= {sub.subentry_id: f"<{sub.subentry_type}>" for sub in entry.subentries.values()}
    text = json.dumps(diagnostics)
    for real, stable in names.items():
        text = text.replace(real, stable).replace(real.lower(), stable)
    assert _shape(json.loads(text)) == snapshot
