"""Device subentry flows: house meter and EV chargers, against the emulator over HTTP."""

from __future__ import annotations

import asyncio
from typing import Any

from homeassistant.config_entries import SOURCE_RECONFIGURE, ConfigSubentry
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest

from custom_components.flatpeak.const import (
    CONF_CHARGER_ENERGY,
    CONF_DEVICE_ID,
    CONF_GRID_EXPORT,
    CONF_GRID_IMPORT,
    CONF_POWER_SENSOR,
    CONF_POWER_THRESHOLD,
    CONF_SESSION_ENTITY,
    CONF_SESSION_MODE,
    CONF_SESSION_STATES,
    CONF_SOLAR,
    CONF_SUBMISSION_MODE,
    SUBENTRY_CHEAP_WINDOW,
    SUBENTRY_EV_CHARGER,
    SUBENTRY_HOUSE_METER,
)
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
    HOUSE,
    _uploads_settle,
    flatpeak_client,
    form_default,
    ha_device_for,
    offered,
    poison_next_call,
    subentry_flow,
)

CHARGER = {
    "name": "Driveway",
    CONF_CHARGER_ENERGY: "sensor.charger_energy",
    CONF_SESSION_MODE: "state",
    CONF_SUBMISSION_MODE: "interval",
}
STATE = {CONF_SESSION_ENTITY: "binary_sensor.charging", CONF_SESSION_STATES: ["on"]}


async def loaded_entry(hass: HomeAssistant, emulator: Emulator, **kwargs: Any) -> Any:
    """A loaded entry of the demo location (with its house meter unless told otherwise)."""
    add_sensors(hass)
    entry = await make_entry(hass, emulator, **kwargs)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


def of_type(entry: Any, kind: str) -> list[ConfigSubentry]:
    """The entry's subentries of one kind."""
    return [sub for sub in entry.subentries.values() if sub.subentry_type == kind]


async def test_add_ev_charger_by_state(hass: HomeAssistant, emulator: Emulator) -> None:
    """An EV charger subentry registers an EV_CHARGER device and gets its own HA device."""
    add_sensors(hass)
    entry = await make_entry(hass, emulator)
    assert await hass.config_entries.async_setup(entry.entry_id)
    result = await subentry_flow(hass, entry, SUBENTRY_EV_CHARGER)
    assert result["step_id"] == "user"
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {
            "name": "Driveway",
            CONF_CHARGER_ENERGY: "sensor.charger_energy",
            CONF_SESSION_MODE: "state",
            CONF_SUBMISSION_MODE: "interval",
        },
    )
    assert result["step_id"] == "session_state"
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {CONF_SESSION_ENTITY: "binary_sensor.charging", CONF_SESSION_STATES: [" "]},
    )
    assert result["errors"] == {"base": "no_session_states"}
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {CONF_SESSION_ENTITY: "binary_sensor.charging", CONF_SESSION_STATES: ["on"]},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    charger = next(s for s in entry.subentries.values() if s.subentry_type == SUBENTRY_EV_CHARGER)
    assert charger.title == "Driveway"
    assert charger.data[CONF_SESSION_STATES] == ["on"]
    device = await flatpeak_client(hass, emulator).get_device(charger.data[CONF_DEVICE_ID])
    assert device.type == "EV_CHARGER"
    assert ha_device_for(hass, device.id) is not None

    # the same energy sensor cannot feed a second charger: not even offered
    result = await subentry_flow(hass, entry, SUBENTRY_EV_CHARGER)
    assert "sensor.charger_energy" not in offered(result, CONF_CHARGER_ENERGY)


async def test_ev_charger_by_power_and_reconfigure(hass: HomeAssistant, emulator: Emulator) -> None:
    """Power-threshold detection; reconfigure keeps the device and changes detection."""
    add_sensors(hass)
    entry = await make_entry(hass, emulator)
    assert await hass.config_entries.async_setup(entry.entry_id)
    result = await subentry_flow(hass, entry, SUBENTRY_EV_CHARGER)
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {
            "name": "Garage",
            CONF_CHARGER_ENERGY: "sensor.charger_energy",
            CONF_SESSION_MODE: "power",
            CONF_SUBMISSION_MODE: "interval",
        },
    )
    assert result["step_id"] == "session_power"
    assert offered(result, CONF_POWER_SENSOR) == ["sensor.charger_power"]
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_POWER_SENSOR: "sensor.charger_power", CONF_POWER_THRESHOLD: 500}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    charger = next(s for s in entry.subentries.values() if s.subentry_type == SUBENTRY_EV_CHARGER)
    device_id = charger.data[CONF_DEVICE_ID]
    assert charger.data[CONF_POWER_THRESHOLD] == 500.0

    result = await subentry_flow(
        hass, entry, SUBENTRY_EV_CHARGER, SOURCE_RECONFIGURE, charger.subentry_id
    )
    assert result["step_id"] == "reconfigure"
    assert form_default(result, CONF_CHARGER_ENERGY) == "sensor.charger_energy"
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {
            "name": "Garage",
            CONF_CHARGER_ENERGY: "sensor.charger_energy",
            CONF_SESSION_MODE: "state",
            CONF_SUBMISSION_MODE: "cumulative",
        },
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {CONF_SESSION_ENTITY: "binary_sensor.charging", CONF_SESSION_STATES: ["on", "charging"]},
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    charger = entry.subentries[charger.subentry_id]
    assert charger.data[CONF_DEVICE_ID] == device_id
    assert charger.data[CONF_SUBMISSION_MODE] == "cumulative"
    assert charger.data[CONF_SESSION_ENTITY] == "binary_sensor.charging"


async def test_ev_charger_registration_failure(
    hass: HomeAssistant, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Flatpeak failing to register the device is a form error; submitting again works."""
    add_sensors(hass)
    entry = await make_entry(hass, emulator)
    assert await hass.config_entries.async_setup(entry.entry_id)
    result = await subentry_flow(hass, entry, SUBENTRY_EV_CHARGER)
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {
            "name": "Garage",
            CONF_CHARGER_ENERGY: "sensor.charger_energy",
            CONF_SESSION_MODE: "power",
            CONF_SUBMISSION_MODE: "interval",
        },
    )
    power = {CONF_POWER_SENSOR: "sensor.charger_power", CONF_POWER_THRESHOLD: 500}
    for status, error in ((503, "cannot_connect"), (400, "device_registration_failed")):
        emulator.state.fail_next("/devices", status, count=1)
        result = await hass.config_entries.subentries.async_configure(result["flow_id"], power)
        assert result["type"] is FlowResultType.FORM
        assert result["step_id"] == "session_power"
        assert result["errors"] == {"base": error}
    poison_next_call(monkeypatch)  # an error that is no Flatpeak error
    result = await hass.config_entries.subentries.async_configure(result["flow_id"], power)
    assert result["errors"] == {"base": "unknown"}
    # the entry's client keeps that token; a reload gives it a new client
    assert await hass.config_entries.async_reload(entry.entry_id)
    result = await hass.config_entries.subentries.async_configure(result["flow_id"], power)
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_subentry_needs_loaded_entry(hass: HomeAssistant, emulator: Emulator) -> None:
    """Adding a device needs the loaded entry: said at once, not after the forms."""
    add_sensors(hass)
    entry = await make_entry(hass, emulator, subentries=[])
    for kind in (SUBENTRY_HOUSE_METER, SUBENTRY_EV_CHARGER):
        result = await subentry_flow(hass, entry, kind)
        assert result["type"] is FlowResultType.ABORT
        assert result["reason"] == "entry_not_loaded"


async def test_entry_unloaded_while_adding(hass: HomeAssistant, emulator: Emulator) -> None:
    """The entry unloaded while a form was open: said when it is submitted."""
    add_sensors(hass)
    entry = await make_entry(hass, emulator, subentries=[])
    assert await hass.config_entries.async_setup(entry.entry_id)
    meter = await subentry_flow(hass, entry, SUBENTRY_HOUSE_METER)
    charger = await subentry_flow(hass, entry, SUBENTRY_EV_CHARGER)
    charger = await hass.config_entries.subentries.async_configure(
        charger["flow_id"], {**CHARGER, CONF_SESSION_MODE: "power"}
    )
    assert await hass.config_entries.async_unload(entry.entry_id)
    meter = await hass.config_entries.subentries.async_configure(meter["flow_id"], HOUSE)
    assert meter["type"] is FlowResultType.ABORT
    assert meter["reason"] == "entry_not_loaded"
    charger = await hass.config_entries.subentries.async_configure(
        charger["flow_id"], {CONF_POWER_SENSOR: "sensor.charger_power", CONF_POWER_THRESHOLD: 9}
    )
    assert charger["type"] is FlowResultType.FORM  # the flow stays; load the entry and retry
    assert charger["errors"] == {"base": "entry_not_loaded"}


async def test_house_meter_subentry_remove_and_re_add(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    """Removing the house meter leaves the Flatpeak device; re-adding finds it again."""
    add_sensors(hass)
    entry = await make_entry(hass, emulator, subentries=[])
    assert await hass.config_entries.async_setup(entry.entry_id)
    result = await subentry_flow(hass, entry, SUBENTRY_HOUSE_METER)
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {**HOUSE, CONF_GRID_EXPORT: "sensor.grid_import"}
    )
    assert result["errors"] == {CONF_GRID_EXPORT: "same_sensor"}
    result = await hass.config_entries.subentries.async_configure(result["flow_id"], HOUSE)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    (meter,) = entry.subentries.values()
    device_id = meter.data[CONF_DEVICE_ID]

    result = await subentry_flow(hass, entry, SUBENTRY_HOUSE_METER)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "existing"  # change the one there is: no dead end

    hass.states.async_remove("sensor.solar")  # gone, but still mapped: still shown as chosen
    result = await subentry_flow(
        hass, entry, SUBENTRY_HOUSE_METER, SOURCE_RECONFIGURE, meter.subentry_id
    )
    assert "sensor.solar" in offered(result, CONF_SOLAR)
    assert "sensor.solar" not in offered(result, CONF_GRID_IMPORT)
    add_sensors(hass)  # and back
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {**HOUSE, CONF_SOLAR: "sensor.grid_export"}
    )
    assert result["errors"] == {CONF_SOLAR: "same_sensor"}
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {CONF_GRID_IMPORT: "sensor.grid_import", CONF_SUBMISSION_MODE: "interval"},
    )
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert CONF_SOLAR not in entry.subentries[meter.subentry_id].data
    assert entry.subentries[meter.subentry_id].data[CONF_DEVICE_ID] == device_id

    assert hass.config_entries.async_remove_subentry(entry, meter.subentry_id)
    await hass.async_block_till_done()
    assert ha_device_for(hass, device_id) is None
    assert (await flatpeak_client(hass, emulator).get_device(device_id)).id == device_id

    result = await subentry_flow(hass, entry, SUBENTRY_HOUSE_METER)
    result = await hass.config_entries.subentries.async_configure(result["flow_id"], HOUSE)
    await hass.async_block_till_done()
    (meter,) = entry.subentries.values()
    assert meter.data[CONF_DEVICE_ID] == device_id


# -- "Add house meter" when there is one --------------------------------------------------


async def test_add_house_meter_when_one_exists(hass: HomeAssistant, emulator: Emulator) -> None:
    """No dead end: the form shows the existing meter's sensors and saves changes to it."""
    entry = await loaded_entry(hass, emulator)
    (meter,) = of_type(entry, SUBENTRY_HOUSE_METER)
    result = await subentry_flow(hass, entry, SUBENTRY_HOUSE_METER)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "existing"
    assert form_default(result, CONF_GRID_IMPORT) == "sensor.grid_import"
    assert form_default(result, CONF_SOLAR) == "sensor.solar"
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {CONF_GRID_IMPORT: "sensor.grid_import", CONF_SUBMISSION_MODE: "interval"},
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    (after,) = of_type(entry, SUBENTRY_HOUSE_METER)  # still one house meter, the same one
    assert after.subentry_id == meter.subentry_id
    assert CONF_SOLAR not in after.data
    assert after.data[CONF_DEVICE_ID] == meter.data[CONF_DEVICE_ID]


async def test_existing_meter_deleted_meanwhile(hass: HomeAssistant, emulator: Emulator) -> None:
    """The meter was deleted while its form was open: the form to add one comes instead."""
    entry = await loaded_entry(hass, emulator)
    (meter,) = of_type(entry, SUBENTRY_HOUSE_METER)
    result = await subentry_flow(hass, entry, SUBENTRY_HOUSE_METER)
    assert result["step_id"] == "existing"
    assert hass.config_entries.async_remove_subentry(entry, meter.subentry_id)
    await hass.async_block_till_done()
    result = await hass.config_entries.subentries.async_configure(result["flow_id"], HOUSE)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"


async def test_two_windows_add_a_house_meter(hass: HomeAssistant, emulator: Emulator) -> None:
    """Two "Add house meter" at once: one is added, the other is offered to change it."""
    entry = await loaded_entry(hass, emulator, subentries=[])
    first = await subentry_flow(hass, entry, SUBENTRY_HOUSE_METER)
    second = await subentry_flow(hass, entry, SUBENTRY_HOUSE_METER)
    emulator.state.latency = 0.05  # both are registering at Flatpeak at the same time
    results = await asyncio.gather(
        hass.config_entries.subentries.async_configure(first["flow_id"], HOUSE),
        hass.config_entries.subentries.async_configure(second["flow_id"], HOUSE),
    )
    emulator.state.latency = 0.0
    assert sorted(str(r["type"]) for r in results) == sorted(
        [str(FlowResultType.CREATE_ENTRY), str(FlowResultType.FORM)]
    )
    assert next(r for r in results if r["type"] is FlowResultType.FORM)["step_id"] == "existing"
    await hass.async_block_till_done()
    assert len(of_type(entry, SUBENTRY_HOUSE_METER)) == 1


async def test_every_subentry_type_stays_listed(hass: HomeAssistant, emulator: Emulator) -> None:
    """HA caches the types per entry and needs them to reconfigure: all stay listed."""
    entry = await loaded_entry(hass, emulator)
    types = entry.supported_subentry_types
    assert set(types) == {
        SUBENTRY_HOUSE_METER,
        SUBENTRY_EV_CHARGER,
        "appliance",
        SUBENTRY_CHEAP_WINDOW,
    }
    assert all(types[kind]["supports_reconfigure"] for kind in types)


# -- one sensor, one device ---------------------------------------------------------------


async def test_charger_picker_leaves_out_sensors_in_use(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    """The house meter's sensors and other chargers' sensors are not offered to a charger."""
    entry = await loaded_entry(hass, emulator)
    hass.states.async_set("sensor.second_charger", "1.0", ENERGY)
    result = await subentry_flow(hass, entry, SUBENTRY_EV_CHARGER)
    choices = offered(result, CONF_CHARGER_ENERGY)
    assert set(choices) == {"sensor.charger_energy", "sensor.second_charger"}
    result = await hass.config_entries.subentries.async_configure(result["flow_id"], CHARGER)
    result = await hass.config_entries.subentries.async_configure(result["flow_id"], STATE)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    (charger,) = of_type(entry, SUBENTRY_EV_CHARGER)

    result = await subentry_flow(hass, entry, SUBENTRY_EV_CHARGER)
    assert offered(result, CONF_CHARGER_ENERGY) == ["sensor.second_charger"]
    result = await subentry_flow(
        hass, entry, SUBENTRY_EV_CHARGER, SOURCE_RECONFIGURE, charger.subentry_id
    )
    assert set(offered(result, CONF_CHARGER_ENERGY)) == {
        "sensor.charger_energy",  # its own
        "sensor.second_charger",
    }
    result = await subentry_flow(
        hass,
        entry,
        SUBENTRY_HOUSE_METER,
        SOURCE_RECONFIGURE,
        of_type(entry, "house_meter")[0].subentry_id,
    )
    for field in (CONF_GRID_IMPORT, CONF_GRID_EXPORT, CONF_SOLAR):
        assert "sensor.charger_energy" not in offered(result, field)


async def test_charger_refuses_a_sensor_taken_meanwhile(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    """A form opened before another charger took the sensor refuses it on submit."""
    entry = await loaded_entry(hass, emulator)
    hass.states.async_set("sensor.spare", "1.0", ENERGY)
    first = await subentry_flow(hass, entry, SUBENTRY_EV_CHARGER)
    second = await subentry_flow(hass, entry, SUBENTRY_EV_CHARGER)
    first = await hass.config_entries.subentries.async_configure(first["flow_id"], CHARGER)
    first = await hass.config_entries.subentries.async_configure(first["flow_id"], STATE)
    assert first["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    second = await hass.config_entries.subentries.async_configure(second["flow_id"], CHARGER)
    assert second["type"] is FlowResultType.FORM
    assert second["errors"] == {CONF_CHARGER_ENERGY: "sensor_in_use"}
    assert len(of_type(entry, SUBENTRY_EV_CHARGER)) == 1


async def test_two_chargers_registering_the_same_sensor(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    """Both windows past the sensor form at once: one charger is added, the other is told."""
    entry = await loaded_entry(hass, emulator)
    hass.states.async_set("sensor.spare", "1.0", ENERGY)
    flows = [await subentry_flow(hass, entry, SUBENTRY_EV_CHARGER) for _ in range(2)]
    for flow in flows:
        result = await hass.config_entries.subentries.async_configure(flow["flow_id"], CHARGER)
        assert result["step_id"] == "session_state"
    emulator.state.latency = 0.05
    results = await asyncio.gather(
        *(hass.config_entries.subentries.async_configure(f["flow_id"], STATE) for f in flows)
    )
    emulator.state.latency = 0.0
    refused = [r for r in results if r["type"] is FlowResultType.FORM]
    assert len(refused) == 1
    assert refused[0]["step_id"] == "user"
    assert refused[0]["errors"] == {CONF_CHARGER_ENERGY: "sensor_in_use"}
    await hass.async_block_till_done()
    assert len(of_type(entry, SUBENTRY_EV_CHARGER)) == 1


async def test_charger_reconfigure_to_a_sensor_taken_meanwhile(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    """Reconfiguring a charger onto a sensor another charger took meanwhile is refused."""
    house = house_meter_subentry(await new_device(hass, emulator, "house"))
    garage = ev_charger_subentry(await new_device(hass, emulator, "garage"))
    entry = await loaded_entry(hass, emulator, subentries=[house, garage])
    hass.states.async_set("sensor.spare", "1.0", ENERGY)
    (charger,) = of_type(entry, SUBENTRY_EV_CHARGER)
    result = await subentry_flow(
        hass, entry, SUBENTRY_EV_CHARGER, SOURCE_RECONFIGURE, charger.subentry_id
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {**CHARGER, CONF_CHARGER_ENERGY: "sensor.spare"}
    )
    other = await subentry_flow(hass, entry, SUBENTRY_EV_CHARGER)
    other = await hass.config_entries.subentries.async_configure(
        other["flow_id"], {**CHARGER, "name": "Other", CONF_CHARGER_ENERGY: "sensor.spare"}
    )
    other = await hass.config_entries.subentries.async_configure(other["flow_id"], STATE)
    assert other["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    result = await hass.config_entries.subentries.async_configure(result["flow_id"], STATE)
    assert result["step_id"] == "reconfigure"
    assert result["errors"] == {CONF_CHARGER_ENERGY: "sensor_in_use"}
    assert entry.subentries[charger.subentry_id].data[CONF_CHARGER_ENERGY] == (
        "sensor.charger_energy"
    )


async def test_house_meter_refuses_a_charger_sensor(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    """The other way round: a charger's sensor cannot become a house meter stream."""
    entry = await loaded_entry(hass, emulator)
    (meter,) = of_type(entry, SUBENTRY_HOUSE_METER)
    result = await subentry_flow(
        hass, entry, SUBENTRY_HOUSE_METER, SOURCE_RECONFIGURE, meter.subentry_id
    )
    assert "sensor.charger_energy" in offered(result, CONF_SOLAR)  # free when the form opened
    charger = await subentry_flow(hass, entry, SUBENTRY_EV_CHARGER)
    charger = await hass.config_entries.subentries.async_configure(charger["flow_id"], CHARGER)
    charger = await hass.config_entries.subentries.async_configure(charger["flow_id"], STATE)
    assert charger["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {**HOUSE, CONF_SOLAR: "sensor.charger_energy"}
    )
    assert result["errors"] == {CONF_SOLAR: "sensor_in_use"}


async def test_no_free_energy_sensor(hass: HomeAssistant, emulator: Emulator) -> None:
    """Every energy sensor in use: the form says so and refuses whatever is sent."""
    entry = await loaded_entry(hass, emulator)
    hass.states.async_remove("sensor.charger_energy")
    result = await subentry_flow(hass, entry, SUBENTRY_EV_CHARGER)
    assert result["errors"] == {"base": "no_energy_sensors"}
    assert offered(result, CONF_CHARGER_ENERGY) == []
    # an empty picker lets any entity through the schema: the form still refuses it
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {**CHARGER, CONF_CHARGER_ENERGY: "sensor.outdoor"}
    )
    assert result["errors"] == {
        "base": "no_energy_sensors",
        CONF_CHARGER_ENERGY: "not_energy_sensor",
    }

    (meter,) = of_type(entry, SUBENTRY_HOUSE_METER)
    assert hass.config_entries.async_remove_subentry(entry, meter.subentry_id)
    await hass.async_block_till_done()
    for entity_id in ("sensor.grid_import", "sensor.grid_export", "sensor.solar"):
        hass.states.async_remove(entity_id)
    result = await subentry_flow(hass, entry, SUBENTRY_HOUSE_METER)
    assert result["errors"] == {"base": "no_energy_sensors"}


async def test_charger_name_must_be_given(hass: HomeAssistant, emulator: Emulator) -> None:
    """A blank or odd name is a form error; a name is stored without surrounding blanks."""
    entry = await loaded_entry(hass, emulator)
    result = await subentry_flow(hass, entry, SUBENTRY_EV_CHARGER)
    for name, error in (
        ("   ", "blank"),
        ("x" * 300, "too_long"),
        ("a\u0007b", "invalid_characters"),
    ):
        result = await hass.config_entries.subentries.async_configure(
            result["flow_id"], {**CHARGER, "name": name}
        )
        assert result["errors"] == {"name": error}
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {**CHARGER, "name": "  Garage  "}
    )
    result = await hass.config_entries.subentries.async_configure(result["flow_id"], STATE)
    assert result["title"] == "Garage"


async def test_house_meter_subentry_flatpeak_errors(
    hass: HomeAssistant, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A disabled account, then a non-Flatpeak error, while registering: form errors."""
    entry = await loaded_entry(hass, emulator, subentries=[])
    result = await subentry_flow(hass, entry, SUBENTRY_HOUSE_METER)
    emulator.state.accounts[emulator.account_id].disabled = True
    emulator.state.expire_tokens()
    result = await hass.config_entries.subentries.async_configure(result["flow_id"], HOUSE)
    assert result["errors"] == {"base": "account_disabled"}
    emulator.state.accounts[emulator.account_id].disabled = False
    poison_next_call(monkeypatch)
    result = await hass.config_entries.subentries.async_configure(result["flow_id"], HOUSE)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "unknown"}
