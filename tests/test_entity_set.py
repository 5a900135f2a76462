"""The whole set of entities a location gets, as a snapshot: ids, unique ids, devices,
categories, units, classes and attribute names. A change to any of them (a refactor that
renames an entity, a platform that adds one by accident) shows as a diff here."""

from __future__ import annotations

from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
from syrupy.assertion import SnapshotAssertion

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
from tests.test_cheap_window_entities import window_subentry


async def test_the_entity_set_of_a_house_meter_a_charger_an_appliance_and_a_cheap_window(
    hass: HomeAssistant, emulator: Emulator, snapshot: SnapshotAssertion
) -> None:
    """A house meter (import, export, solar), an EV charger, an appliance and a cheap
    window: every entity, as it is."""
    await hass.config.async_update(time_zone="Europe/London", currency="GBP")
    add_sensors(hass)
    hass.states.async_set("sensor.heat_pump", "3.0", ENERGY)
    house = await new_device(hass, emulator, "house")
    charger = await new_device(hass, emulator, "charger")
    appliance = await new_device(hass, emulator, "appliance")
    entry = await make_entry(
        hass,
        emulator,
        subentries=[
            house_meter_subentry(house),
            ev_charger_subentry(charger),
            appliance_subentry(appliance, "sensor.heat_pump", "Heat pump"),
            window_subentry("Dishwasher"),
        ],
    )
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)

    window = next(s.subentry_id for s in entry.subentries.values() if s.title == "Dishwasher")
    names = {
        house: "<house meter>",
        charger: "<charger>",
        appliance: "<appliance>",
        window: "<cheap window>",
    }
    devices = {
        d.id: d for d in dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
    }

    def stable(value: str) -> str:
        for device_id, name in names.items():
            value = value.replace(device_id, name)
        return value

    shape: list[dict[str, Any]] = []
    for entity in sorted(
        er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id),
        key=lambda e: e.entity_id,
    ):
        state = hass.states.get(entity.entity_id)
        device = devices[entity.device_id] if entity.device_id else None
        shape.append(
            {
                "entity_id": entity.entity_id,
                "unique_id": stable(entity.unique_id),
                "device": device.name if device else None,
                "device_model": device.model if device else None,
                "translation_key": entity.translation_key,
                "entity_category": str(entity.entity_category) if entity.entity_category else None,
                "enabled": entity.disabled_by is None,
                "device_class": str(entity.original_device_class or "") or None,
                "unit": entity.unit_of_measurement,
                "attributes": sorted(str(key) for key in state.attributes) if state else None,
            }
        )
    assert shape == snapshot
