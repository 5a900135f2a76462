"""Two homes never look the same: devices are named after their location, every dialog says
which location it is about, and the pickers offer what fits."""

from __future__ import annotations

from datetime import timedelta
import logging
from typing import Any

from homeassistant.config_entries import SOURCE_RECONFIGURE, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import InvalidData
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.flatpeak.const import (
    CONF_CHARGER_ENERGY,
    CONF_LOCATION_ID,
    CONF_SESSION_ENTITY,
    CONF_SESSION_MODE,
    CONF_SESSION_STATES,
    CONF_SUBMISSION_MODE,
    DOMAIN,
    SUBENTRY_EV_CHARGER,
    SUBENTRY_HOUSE_METER,
)
from custom_components.flatpeak.entity import location_label
from tests.conftest import Emulator
from tests.helpers import (
    ENERGY,
    add_sensors,
    ev_charger_subentry,
    house_meter_subentry,
    make_entry,
    new_device,
)
from tests.test_config_flow import (  # noqa: F401  # _uploads_settle: fixture
    _uploads_settle,
    flatpeak_client,
    form_default,
    subentry_flow,
)

LEEDS = "2 Other Road, Leeds, LS1 1AA"


async def second_location(
    hass: HomeAssistant, emulator: Emulator, title: str = LEEDS, line1: str = "2 Other Road"
) -> MockConfigEntry:
    """Another location of the demo account, as its own entry with a house meter."""
    location = emulator.state.add_location(emulator.account_id, address_line1=line1, city="Leeds")
    device = await flatpeak_client(hass, emulator).create_device(
        f"house-{location.id}", location_ids=[location.id]
    )
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=title,
        unique_id=location.id,
        data={**emulator.credentials, CONF_LOCATION_ID: location.id},
        options={"upload_interval": 15, "history_days": 10},
        subentries_data=[house_meter_subentry(device.id)],
    )
    entry.add_to_hass(hass)
    return entry


def devices_of(hass: HomeAssistant, entry: MockConfigEntry) -> list[dr.DeviceEntry]:
    return dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)


def entity_ids_of(hass: HomeAssistant, entry: MockConfigEntry) -> set[str]:
    return {
        e.entity_id for e in er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
    }


async def set_up(hass: HomeAssistant, *entries: MockConfigEntry) -> None:
    """Set up the integration: every entry added so far loads with the first."""
    assert await hass.config_entries.async_setup(entries[0].entry_id)
    await hass.async_block_till_done()
    for entry in entries:
        assert entry.state is ConfigEntryState.LOADED, entry.title


# -- devices ---------------------------------------------------------------------------------


async def test_two_locations_get_their_own_device_names_and_entity_ids(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    """London and Leeds: devices named after each location, entity ids that say which."""
    add_sensors(hass)
    charger = await new_device(hass, emulator, "charger")
    london = await make_entry(
        hass,
        emulator,
        subentries=[
            house_meter_subentry(await new_device(hass, emulator, "house")),
            ev_charger_subentry(charger),
        ],
    )
    leeds = await second_location(hass, emulator)
    await set_up(hass, london, leeds)

    names = {entry.title: {d.name for d in devices_of(hass, entry)} for entry in (london, leeds)}
    assert names == {
        "1 Test Street, London": {"1 Test Street", "1 Test Street Driveway charger"},
        LEEDS: {"2 Other Road"},
    }
    for entry in (london, leeds):
        for device in devices_of(hass, entry):
            assert device.entry_type is None  # a device, not a service
            # the house meter is made by the import tariff's provider (the demo's names one,
            # Leeds's tariff none), everything else by Flatpeak
            demo_meter = entry is london and device.model == "House meter"
            assert device.manufacturer == ("Demo Energy" if demo_meter else "Flatpeak")
            assert device.model in {"House meter", "EV charger"}
    london_ids, leeds_ids = entity_ids_of(hass, london), entity_ids_of(hass, leeds)
    assert "sensor.1_test_street_cost_today" in london_ids
    assert "sensor.1_test_street_driveway_charger_session_cost" in london_ids
    assert "sensor.2_other_road_cost_today" in leeds_ids
    assert not any(entity_id.endswith("_2") for entity_id in london_ids | leeds_ids)
    state = hass.states.get("sensor.2_other_road_cost_today")
    assert state is not None
    assert state.attributes["friendly_name"] == "2 Other Road Cost today"


async def test_locations_whose_titles_start_alike_get_their_whole_title(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    """'Flat 1, …' twice: the first part would be the same, so each device gets the title."""
    add_sensors(hass)
    london = await make_entry(hass, emulator)
    hass.config_entries.async_update_entry(london, title="Flat 1, 1 Test Street, London")
    leeds = await second_location(hass, emulator, "Flat 1, 2 Other Road, Leeds", "Flat 1")
    await set_up(hass, london, leeds)
    assert {d.name for d in devices_of(hass, london)} == {"Flat 1, 1 Test Street, London"}
    assert {d.name for d in devices_of(hass, leeds)} == {"Flat 1, 2 Other Road, Leeds"}


def test_location_label() -> None:
    assert location_label("1 Test Street, London, N1 1AA") == "1 Test Street"
    assert location_label("Home") == "Home"
    assert location_label("Home", ["Cottage, Wales"]) == "Home"
    assert location_label("Home, Leeds", ["home, London"]) == "Home, Leeds"
    assert location_label(", odd") == ", odd"


async def test_an_existing_install_keeps_its_entity_ids(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    """Devices registered as services named 'House meter' and 'Driveway charger' become
    devices named after the location; the entities keep the ids they had."""
    add_sensors(hass)
    house = await new_device(hass, emulator, "house")
    charger = await new_device(hass, emulator, "charger")
    entry = await make_entry(
        hass, emulator, subentries=[house_meter_subentry(house), ev_charger_subentry(charger)]
    )
    devices, entities = dr.async_get(hass), er.async_get(hass)
    for subentry in entry.subentries.values():
        flatpeak_id = subentry.data["device_id"]
        devices.async_get_or_create(
            config_entry_id=entry.entry_id,
            config_subentry_id=subentry.subentry_id,
            identifiers={(DOMAIN, flatpeak_id)},
            name=subentry.title,
            manufacturer="Flatpeak",
            entry_type=dr.DeviceEntryType.SERVICE,
        )
        key = "cost_today" if subentry.subentry_type == SUBENTRY_HOUSE_METER else "session_cost"
        entities.async_get_or_create(
            "sensor",
            DOMAIN,
            f"{flatpeak_id}_{key}",
            suggested_object_id=f"{subentry.title}_{key}".lower().replace(" ", "_"),
            config_entry=entry,
        )
    assert entities.async_get("sensor.house_meter_cost_today") is not None

    await set_up(hass, entry)
    assert {(d.name, d.entry_type) for d in devices_of(hass, entry)} == {
        ("1 Test Street", None),
        ("1 Test Street Driveway charger", None),
    }
    for entity_id, friendly in (
        ("sensor.house_meter_cost_today", "1 Test Street Cost today"),
        ("sensor.driveway_charger_session_cost", "1 Test Street Driveway charger Session cost"),
    ):
        state = hass.states.get(entity_id)
        assert state is not None, entity_id
        assert state.attributes["friendly_name"] == friendly
    assert "sensor.1_test_street_cost_today" not in entity_ids_of(hass, entry)


async def test_cost_report_finds_the_device_without_deprecated_lookups(
    hass: HomeAssistant, emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    """The action finds a device of the entry through the registry: no warning about
    ``DeviceEntry.config_entries`` on the lines that deprecate it."""
    add_sensors(hass)
    entry = await make_entry(hass, emulator)
    await set_up(hass, entry)
    (device,) = devices_of(hass, entry)
    end = dt_util.utcnow().replace(minute=0, second=0, microsecond=0)
    caplog.set_level(logging.WARNING)
    caplog.clear()  # the set-up's own lines are not the action's
    answer = await hass.services.async_call(
        DOMAIN,
        "get_cost_report",
        {
            "config_entry_id": entry.entry_id,
            "device_id": device.id,
            "start": end - timedelta(hours=2),
            "end": end,
        },
        blocking=True,
        return_response=True,
    )
    assert answer is not None
    # (asyncio's slow-callback lines name HA's config_entries.py on a busy machine)
    said = [r.getMessage() for r in caplog.records if r.name != "asyncio"]
    assert not [line for line in said if "config_entries" in line]


# -- dialogs ---------------------------------------------------------------------------------


async def loaded(hass: HomeAssistant, emulator: Emulator, **kwargs: Any) -> MockConfigEntry:
    add_sensors(hass)
    entry = await make_entry(hass, emulator, **kwargs)
    await set_up(hass, entry)
    return entry


async def test_options_name_the_location(hass: HomeAssistant, emulator: Emulator) -> None:
    entry = await loaded(hass, emulator)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["description_placeholders"] == {"location": "1 Test Street, London"}


async def test_credentials_dialogs_name_the_location(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    entry = await loaded(hass, emulator)
    result = await entry.start_reconfigure_flow(hass)
    assert result["description_placeholders"] == {"location": "1 Test Street, London"}
    result = await entry.start_reauth_flow(hass)
    assert result["description_placeholders"]["location"] == "1 Test Street, London"


async def test_house_meter_dialogs_name_the_location(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    """Add (with and without a meter) and reconfigure: each form names the location."""
    entry = await loaded(hass, emulator)
    (meter,) = entry.subentries.values()
    where = {"location": "1 Test Street, London"}
    existing = await subentry_flow(hass, entry, SUBENTRY_HOUSE_METER)
    assert existing["step_id"] == "existing"
    assert existing["description_placeholders"] == where
    change = await subentry_flow(
        hass, entry, SUBENTRY_HOUSE_METER, SOURCE_RECONFIGURE, meter.subentry_id
    )
    assert change["step_id"] == "reconfigure"
    assert change["description_placeholders"] == where
    hass.config_entries.async_remove_subentry(entry, meter.subentry_id)
    await hass.async_block_till_done()
    new = await subentry_flow(hass, entry, SUBENTRY_HOUSE_METER)
    assert new["step_id"] == "user"
    assert new["description_placeholders"] == where


CHARGER = {
    "name": "Driveway",
    CONF_CHARGER_ENERGY: "sensor.charger_energy",
    CONF_SUBMISSION_MODE: "interval",
}


async def test_ev_charger_dialogs_name_the_location(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    """Every step of adding and changing a charger names the location; the name field's
    help gets the short name devices start with."""
    entry = await loaded(hass, emulator)
    named = {"location": "1 Test Street, London", "label": "1 Test Street"}
    result = await subentry_flow(hass, entry, SUBENTRY_EV_CHARGER)
    assert result["description_placeholders"] == named
    for mode, step in (("state", "session_state"), ("power", "session_power")):
        result = await subentry_flow(hass, entry, SUBENTRY_EV_CHARGER)
        result = await hass.config_entries.subentries.async_configure(
            result["flow_id"], {**CHARGER, CONF_SESSION_MODE: mode}
        )
        assert result["step_id"] == step
        assert result["description_placeholders"] == {"location": "1 Test Street, London"}
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"power_sensor": "sensor.charger_power", "power_threshold": 500}
    )
    await hass.async_block_till_done()
    (charger,) = [s for s in entry.subentries.values() if s.subentry_type == SUBENTRY_EV_CHARGER]
    result = await subentry_flow(
        hass, entry, SUBENTRY_EV_CHARGER, SOURCE_RECONFIGURE, charger.subentry_id
    )
    assert result["step_id"] == "reconfigure"
    assert result["description_placeholders"] == named


# -- pickers ---------------------------------------------------------------------------------


async def test_the_one_free_energy_sensor_is_the_chargers(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    """The house meter reads import, export and solar: the charger form fills in the one
    energy sensor left; with two left it suggests none."""
    entry = await loaded(hass, emulator)
    result = await subentry_flow(hass, entry, SUBENTRY_EV_CHARGER)
    assert form_default(result, CONF_CHARGER_ENERGY) == "sensor.charger_energy"

    hass.states.async_set("sensor.second_charger", "1.0", ENERGY)
    result = await subentry_flow(hass, entry, SUBENTRY_EV_CHARGER)
    assert form_default(result, CONF_CHARGER_ENERGY) is None


def excluded(result: dict[str, Any], key: str) -> list[str]:
    for marker, selector in result["data_schema"].schema.items():
        if marker == key:
            return list(selector.config.get("exclude_entities", []))
    raise AssertionError(f"{key} not in form")


async def test_session_picker_leaves_out_flatpeaks_own_entities(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    """Flatpeak's own sensors (costs, upload status) and measuring sensors are not offered as
    the session entity; a charger's status sensor and charging binary sensor are."""
    entry = await loaded(hass, emulator)
    hass.states.async_set("sensor.charger_status", "charging")
    result = await subentry_flow(hass, entry, SUBENTRY_EV_CHARGER)
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {**CHARGER, CONF_SESSION_MODE: "state"}
    )
    assert result["step_id"] == "session_state"
    left_out = set(excluded(result, CONF_SESSION_ENTITY))
    own = entity_ids_of(hass, entry)
    assert "sensor.1_test_street_upload_errors" in own  # a sensor of Flatpeak's own
    assert own <= left_out
    assert {"sensor.charger_power", "sensor.charger_energy", "sensor.outdoor"} <= left_out
    assert not {"binary_sensor.charging", "sensor.charger_status"} & left_out

    with pytest.raises(InvalidData):
        await hass.config_entries.subentries.async_configure(
            result["flow_id"],
            {
                CONF_SESSION_ENTITY: "sensor.1_test_street_upload_errors",
                CONF_SESSION_STATES: ["on"],
            },
        )
