"""What the activity log (logbook) shows of a location that works: a start, a reload and a
restart, with upload cycles in between, write no line that reads like a failure."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)
from pytest_homeassistant_custom_component.typing import MockHAClientWebSocket, WebSocketGenerator

from custom_components.flatpeak.const import DOMAIN
from tests.conftest import Emulator
from tests.helpers import ev_charger_subentry, house_meter_subentry, make_entry, new_device
from tests.uploads_helpers import START, Meter, uploads


async def logbook(client: MockHAClientWebSocket, entity_ids: list[str]) -> list[dict[str, Any]]:
    """The logbook's entries of these entities since before the test began."""
    await client.send_json_auto_id(
        {
            "type": "logbook/get_events",
            "start_time": (START - timedelta(days=1)).isoformat(),
            "end_time": (START + timedelta(days=2)).isoformat(),
            "entity_ids": entity_ids,
        }
    )
    answer = await client.receive_json()
    assert answer["success"], answer
    entries: list[dict[str, Any]] = answer["result"]
    return entries


def our_entities(hass: HomeAssistant, entry: MockConfigEntry) -> list[str]:
    return [
        e.entity_id
        for e in er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
        if e.disabled_by is None
    ]


async def test_start_reload_and_restart_leave_no_failure_lines(
    hass: HomeAssistant,
    emulator: Emulator,
    freezer: FrozenDateTimeFactory,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """Set up, upload, reload, upload, restart, upload: no logbook entry of ours says
    unavailable, unknown, none or error."""
    assert await async_setup_component(hass, "logbook", {})
    # Signed in before the clock goes back to 2025, while the access token is valid.
    client = await hass_ws_client(hass)
    meter = Meter(hass, freezer)
    readings = {"sensor.grid_import": 100.0, "sensor.grid_export": 50.0, "sensor.solar": 10.0}
    await meter.period({**readings, "sensor.charger_energy": 1.0})
    hass.states.async_set("binary_sensor.charging", "off")
    house = await new_device(hass, emulator, "house")
    charger = await new_device(hass, emulator, "charger")
    entry = await make_entry(
        hass,
        emulator,
        subentries=[house_meter_subentry(house), ev_charger_subentry(charger)],
        options={"history_days": 1},
    )

    async def cycle(n: int) -> None:
        for step in range(2):
            value = 100.0 + n + step / 10
            await meter.period(
                {**readings, "sensor.grid_import": value, "sensor.charger_energy": value}
            )
        await uploads(entry).async_refresh()
        await hass.async_block_till_done(wait_background_tasks=True)
        assert uploads(entry).last_update_success

    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    await cycle(1)

    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    await cycle(2)

    # A restart: HA stops (no state is written), starts with an empty state machine, writes
    # "unavailable" for every registered entity whose integration is not set up yet, then sets
    # the integration up.
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    registry = er.async_get(hass)
    for entity_id in our_entities(hass, entry):
        hass.states.async_remove(entity_id)
    for entity_id in our_entities(hass, entry):
        registered = registry.async_get(entity_id)
        assert registered is not None
        registered.write_unavailable_state(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    await cycle(3)
    await async_wait_recording_done(hass)

    registry = er.async_get(hass)
    for device_id in (house, charger):
        errors = registry.async_get_entity_id("sensor", DOMAIN, f"{device_id}_upload_errors")
        assert errors is not None
        assert hass.states.get(errors).state == "0"  # type: ignore[union-attr]
    entries = await logbook(client, our_entities(hass, entry))
    # Left to HA: a text sensor (the tariff's name, the contract's end) reads "became
    # unavailable" then its value at each reload and restart, as every text sensor does (HA
    # writes unavailable when an entry unloads; the logbook keeps lines of sensors without a
    # unit). They never read unknown: the status is read before they are added.
    texts = {
        "sensor.1_test_street_import_tariff": "Demo time of use",
        "sensor.1_test_street_export_tariff": "Demo flat export",
        "sensor.1_test_street_contract_ends": None,
    }
    for e in entries:
        if e["entity_id"] in texts:
            assert e["state"] in ("unavailable", texts[e["entity_id"]] or e["state"]), e
            assert e["state"] not in ("unknown", "None", "error"), e
    sensors = [e for e in entries if e["entity_id"].startswith("sensor.")]
    assert [e for e in sensors if e["entity_id"] not in texts] == []
    # Left to its owner: the event entity (event.py), like every event entity in HA, reads
    # "became unavailable" then "unknown" at each reload: the logbook records every event
    # entity's changes.
    allowed = {"event.1_test_street_driveway_charger_charging_session", *texts}
    assert {e["entity_id"] for e in entries} <= allowed
