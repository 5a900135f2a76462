"""Appliances: each one a Flatpeak device (type OTHER) whose energy is sent with the house
meter's and the chargers' in the same requests, and whose hourly cost comes back as its own
statistic and sensors. Real sensors, the real recorder and uploader, the emulator over HTTP."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import SOURCE_RECONFIGURE
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.flatpeak.const import (
    CONF_APPLIANCE_ENERGY,
    CONF_DEVICE_ID,
    CONF_SUBMISSION_MODE,
    DOMAIN,
    SUBENTRY_APPLIANCE,
)
from tests.conftest import Emulator
from tests.helpers import (
    ENERGY,
    add_sensors,
    appliance_subentry,
    ev_charger_subentry,
    house_meter_subentry,
    make_entry,
    new_device,
)
from tests.test_config_flow import flatpeak_client, ha_device_for, offered, subentry_flow
from tests.test_costs import costs, flatpeak_cost, hourly, stat_id
from tests.uploads_helpers import (
    START,
    Meter,
    assert_no_duplicates,
    import_hourly,
    statistics_change,
    stored_kwh,
    uploads,
)

HOUR = timedelta(hours=1)
# sensor suffix → period
PERIODS = {
    "today": "day",
    "yesterday": "yesterday",
    "this_week": "week",
    "this_month": "billing",
}
# sensor → (first reading, kWh per 5-minute period); the dishwasher runs only now and then
SENSORS = {
    "sensor.grid_import": (100.0, 0.4),
    "sensor.charger_energy": (1000.0, 0.9),
    "sensor.heat_pump": (50.0, 0.15),
    "sensor.dishwasher": (20.0, 0.1),
}


@pytest.fixture(autouse=True)
async def _london(hass: HomeAssistant) -> None:
    await hass.config.async_update(time_zone="Europe/London", currency="GBP")


def readings(n: int) -> dict[str, float]:
    """Every sensor's reading after ``n`` periods (the dishwasher every third one)."""
    values = {}
    for entity_id, (first, step) in SENSORS.items():
        periods = n // 3 if entity_id == "sensor.dishwasher" else n
        values[entity_id] = round(first + step * periods, 6)
    return values


async def setup_home(
    hass: HomeAssistant, emulator: Emulator, meter: Meter
) -> tuple[MockConfigEntry, dict[str, str]]:
    """A house meter on grid import, a charger and two appliances, each sensor at its
    first reading; the devices by their sensors."""
    meter.set("binary_sensor.charging", "off", {})
    await meter.period(readings(0))
    return await home_entry(hass, emulator, history_days=1)


async def home_entry(
    hass: HomeAssistant, emulator: Emulator, *, history_days: int
) -> tuple[MockConfigEntry, dict[str, str]]:
    """A loaded entry: the house meter on grid import, the charger and both appliances,
    each a device at the emulator; the devices by their sensors."""
    devices = {entity_id: await new_device(hass, emulator, entity_id) for entity_id in SENSORS}
    house = house_meter_subentry(devices["sensor.grid_import"])
    del house["data"]["grid_export"], house["data"]["solar"]
    entry = await make_entry(
        hass,
        emulator,
        subentries=[
            house,
            ev_charger_subentry(devices["sensor.charger_energy"]),
            appliance_subentry(devices["sensor.heat_pump"], "sensor.heat_pump", "Heat pump"),
            appliance_subentry(devices["sensor.dishwasher"], "sensor.dishwasher", "Dishwasher"),
        ],
        options={"history_days": history_days},
    )
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    return entry, devices


async def test_each_device_keeps_its_energy_and_gets_its_own_hourly_cost(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """Two appliances and a charger beside the house meter for three hours: each device
    holds exactly its sensor's change, each cost statistic equals Flatpeak's report of its
    device hour by hour, and each period sensor (today, yesterday, this week, this month)
    equals Flatpeak's figure for its span."""
    meter = Meter(hass, freezer)
    entry, devices = await setup_home(hass, emulator, meter)
    for n in range(1, 37):
        await meter.period(readings(n))
    await uploads(entry).async_refresh()
    await costs(entry).async_refresh()
    await hass.async_block_till_done()

    for entity_id, device_id in devices.items():
        used = await statistics_change(hass, entity_id, meter.start, meter.t)
        assert used > 0
        assert stored_kwh(emulator, device_id, "IMPORT") == pytest.approx(used, abs=1e-6)
    assert_no_duplicates(emulator)

    kinds = {
        "sensor.grid_import": "grid_import_cost",
        "sensor.charger_energy": "charging_cost",
        "sensor.heat_pump": "appliance_cost",
        "sensor.dishwasher": "appliance_cost",
    }
    for entity_id, kind in kinds.items():
        device_id = devices[entity_id]
        rows = await hourly(hass, stat_id(device_id, kind), START, meter.t + HOUR)
        priced = [row for row in rows if row["state"]]
        assert len(priced) >= 3, entity_id
        for row in rows:
            hour = meter.start.fromtimestamp(row["start"], meter.start.tzinfo)
            figure = await flatpeak_cost(hass, emulator, device_id, (hour, hour + HOUR))
            assert row["state"] == pytest.approx(figure, abs=1e-6), (entity_id, hour)

    calendar = costs(entry).calendar
    end = meter.t + HOUR
    for prefix, entity_id in (
        ("sensor.1_test_street_cost", "sensor.grid_import"),
        ("sensor.1_test_street_driveway_charger_charging_cost", "sensor.charger_energy"),
        ("sensor.1_test_street_heat_pump_cost", "sensor.heat_pump"),
        ("sensor.1_test_street_dishwasher_cost", "sensor.dishwasher"),
    ):
        for suffix, period in PERIODS.items():
            start, until = calendar.span(meter.t, period)
            state = hass.states.get(f"{prefix}_{suffix}")
            assert state is not None, (prefix, suffix)
            span = (start, until or end)
            figure = await flatpeak_cost(hass, emulator, devices[entity_id], span)
            assert float(state.state) == pytest.approx(figure, abs=1e-4), (prefix, suffix)
            assert state.attributes["unit_of_measurement"] == "GBP"
        today = hass.states.get(f"{prefix}_today")
        assert today is not None
        assert float(today.state) > 0, prefix


async def test_appliances_ride_in_the_same_requests(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """Each upload cycle sends every device's records in one PUT (the entry's floor,
    ceil(records / 10,000), is 1): adding appliances adds records, not requests."""
    meter = Meter(hass, freezer)
    entry, devices = await setup_home(hass, emulator, meter)
    sending: list[int] = []

    def cycle_ended() -> None:
        status = uploads(entry).data
        if status is not None and status.confirmed:
            sending.append(status.confirmed)

    entry.async_on_unload(uploads(entry).async_add_listener(cycle_ended))
    puts = emulator.requests("PUT", "/meters/interval")
    batches = set(emulator.state.batches)
    for n in range(1, 25):  # two hours: the entry's own 15-minute cycles
        await meter.period(readings(n))
    new = [batch for batch in emulator.state.batches if batch not in batches]
    assert len(sending) >= 6
    assert emulator.requests("PUT", "/meters/interval") - puts == len(new) == len(sending)
    everyone = {devices[e] for e in ("sensor.grid_import", "sensor.charger_energy")}
    everyone.add(devices["sensor.heat_pump"])
    for batch in new:
        senders = {r["device_id"] for r in emulator.state.records() if r["batch_id"] == batch}
        assert senders >= everyone
    assert_no_duplicates(emulator)


async def test_history_of_all_devices_walks_windows_at_the_entry_floor(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """Nine days of hourly history for the house meter, the charger and two appliances:
    4 x 9 x 24 x 12 = 10,368 records, so ceil(10,368 / 10,000) = 2 requests for all of them
    together, and every device's energy arrives."""
    days = 9
    meter = Meter(hass, freezer, START + timedelta(days=days))
    per_hour = {entity_id: 0.1 * (index + 1) for index, entity_id in enumerate(SENSORS)}
    for entity_id, kwh in per_hour.items():
        import_hourly(hass, entity_id, START, days * 24, kwh)
        meter.set(entity_id, str(kwh * days * 24))
    meter.set("binary_sensor.charging", "off", {})
    await meter.period()
    entry, devices = await home_entry(hass, emulator, history_days=0)
    puts = emulator.requests("PUT", "/meters/interval")
    response = await hass.services.async_call(
        DOMAIN,
        "upload_history",
        {
            "config_entry_id": entry.entry_id,
            "start": START.isoformat(),
            "end": (START + timedelta(days=days)).isoformat(),
        },
        blocking=True,
        return_response=True,
    )
    assert response is not None
    records = 4 * days * 24 * 12
    assert response["records_sent"] == records
    assert response["requests"] == emulator.requests("PUT", "/meters/interval") - puts == 2
    for entity_id, kwh in per_hour.items():
        assert stored_kwh(emulator, devices[entity_id], "IMPORT") == pytest.approx(
            kwh * days * 24, abs=1e-6
        )
    assert_no_duplicates(emulator)


async def test_a_sensor_reset_is_netted_like_the_house_meters(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """A smart plug whose total drops (replaced, reset) and comes back: the appliance
    gets exactly what HA's statistics count, nothing twice, nothing negative."""
    assert await async_setup_component(hass, "sensor", {})
    meter = Meter(hass, freezer)
    await meter.period({"sensor.plug": 5.0})
    plug = await new_device(hass, emulator, "plug")
    entry = await make_entry(
        hass,
        emulator,
        subentries=[appliance_subentry(plug, "sensor.plug", "Plug")],
        options={"history_days": 1},
    )
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    for value in (5.2, 5.5, 0.1, 0.4, 0.6, 0.9, 1.3):
        await meter.period({"sensor.plug": value})
    await uploads(entry).async_refresh()
    used = await statistics_change(hass, "sensor.plug", meter.start, meter.t)
    assert used == pytest.approx(0.5 + 1.3, abs=1e-6)
    assert stored_kwh(emulator, plug, "IMPORT") == pytest.approx(used, abs=1e-6)
    assert all(r["energy_wh"] >= 0 for r in emulator.state.records(device_id=plug))
    assert_no_duplicates(emulator)


# -- the flow -------------------------------------------------------------------------


async def loaded(hass: HomeAssistant, emulator: Emulator) -> MockConfigEntry:
    add_sensors(hass)
    for entity_id in ("sensor.heat_pump", "sensor.dishwasher"):
        hass.states.async_set(entity_id, "3.0", ENERGY)
    entry = await make_entry(hass, emulator)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


async def add_appliance(
    hass: HomeAssistant, entry: MockConfigEntry, name: str, energy: str
) -> dict[str, Any]:
    result = await subentry_flow(hass, entry, SUBENTRY_APPLIANCE)
    assert result["step_id"] == "user"
    return await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {"name": name, CONF_APPLIANCE_ENERGY: energy, CONF_SUBMISSION_MODE: "interval"},
    )


async def test_add_an_appliance_registers_an_other_device(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    """ "Add appliance" registers a Flatpeak device of type OTHER at the location, an HA
    device named after the location, and its cost sensors; its sensor is then offered to
    no other device of the entry."""
    entry = await loaded(hass, emulator)
    late = await subentry_flow(hass, entry, SUBENTRY_APPLIANCE)  # opened before the first ends
    blank = await add_appliance(hass, entry, "   ", "sensor.heat_pump")
    assert blank["errors"] == {"name": "blank"}
    result = await add_appliance(hass, entry, "  Heat pump ", "sensor.heat_pump")
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done(wait_background_tasks=True)
    (appliance,) = [s for s in entry.subentries.values() if s.subentry_type == SUBENTRY_APPLIANCE]
    assert appliance.title == "Heat pump"
    device = await flatpeak_client(hass, emulator).get_device(appliance.data[CONF_DEVICE_ID])
    assert device.type == "OTHER"
    assert emulator.location_id in device.locations
    ha_device = ha_device_for(hass, device.id)
    assert ha_device is not None
    assert ha_device.name == "1 Test Street Heat pump"
    assert ha_device.model == "Appliance"
    entities = {
        e.translation_key
        for e in er.async_entries_for_device(er.async_get(hass), ha_device.id)
        if e.domain == "sensor"
    }
    assert {"cost_today", "cost_yesterday", "cost_this_week", "cost_this_month"} <= entities
    assert not {"session_cost", "charging_cost_today"} & entities

    for kind in (SUBENTRY_APPLIANCE, "ev_charger"):
        other = await subentry_flow(hass, entry, kind)
        key = CONF_APPLIANCE_ENERGY if kind == SUBENTRY_APPLIANCE else "charger_energy"
        assert "sensor.heat_pump" not in offered(other, key)
        assert "sensor.grid_import" not in offered(other, key)
    refused = await hass.config_entries.subentries.async_configure(
        late["flow_id"],
        {
            "name": "Second",
            CONF_APPLIANCE_ENERGY: "sensor.heat_pump",
            CONF_SUBMISSION_MODE: "interval",
        },
    )
    assert refused["errors"] == {CONF_APPLIANCE_ENERGY: "sensor_in_use"}
    assert len([s for s in entry.subentries.values() if s.subentry_type == SUBENTRY_APPLIANCE]) == 1


async def test_reconfigure_an_appliance_keeps_its_device(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    """A new name or sensor; the Flatpeak device (and its history) stays."""
    entry = await loaded(hass, emulator)
    assert (await add_appliance(hass, entry, "Heat pump", "sensor.heat_pump"))[
        "type"
    ] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done(wait_background_tasks=True)
    (appliance,) = [s for s in entry.subentries.values() if s.subentry_type == SUBENTRY_APPLIANCE]
    devices = len(emulator.state.devices)
    result = await subentry_flow(
        hass, entry, SUBENTRY_APPLIANCE, SOURCE_RECONFIGURE, appliance.subentry_id
    )
    assert result["step_id"] == "reconfigure"
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {
            "name": "Hot water",
            CONF_APPLIANCE_ENERGY: "sensor.dishwasher",
            CONF_SUBMISSION_MODE: "interval",
        },
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    changed = entry.subentries[appliance.subentry_id]
    assert changed.title == "Hot water"
    assert changed.data[CONF_APPLIANCE_ENERGY] == "sensor.dishwasher"
    assert changed.data[CONF_DEVICE_ID] == appliance.data[CONF_DEVICE_ID]
    assert len(emulator.state.devices) == devices
