"""Test helpers shared by the Home Assistant tests."""

from __future__ import annotations

from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.flatpeak.client import FlatpeakClient
from custom_components.flatpeak.const import (
    CONF_DEVICE_ID,
    CONF_GRID_EXPORT,
    CONF_GRID_IMPORT,
    CONF_LOCATION_ID,
    CONF_REFERENCE_ID,
    CONF_SOLAR,
    CONF_SUBMISSION_MODE,
    DOMAIN,
    SUBENTRY_HOUSE_METER,
    SUBMISSION_INTERVAL,
)
from tests.conftest import Emulator

ENERGY = {"device_class": "energy", "state_class": "total_increasing", "unit_of_measurement": "kWh"}
POWER = {"device_class": "power", "state_class": "measurement", "unit_of_measurement": "W"}


def add_sensors(hass: HomeAssistant) -> None:
    """Energy sensors for every stream, a power sensor, and sensors that must not be offered."""
    for entity_id in ("grid_import", "grid_export", "solar", "charger_energy"):
        hass.states.async_set(f"sensor.{entity_id}", "1.0", ENERGY)
    hass.states.async_set("sensor.charger_power", "0", POWER)
    hass.states.async_set("binary_sensor.charging", "off")
    hass.states.async_set("sensor.outdoor", "12", {"device_class": "temperature"})
    hass.states.async_set(
        "sensor.energy_price", "0.2", {"device_class": "energy", "unit_of_measurement": "kWh"}
    )


def house_meter_subentry(device_id: str, **sensors: str) -> dict[str, Any]:
    """Subentry data of a house meter registered as ``device_id``."""
    return {
        "subentry_type": SUBENTRY_HOUSE_METER,
        "title": "House meter",
        "unique_id": f"ref-{device_id}",
        "data": {
            CONF_GRID_IMPORT: "sensor.grid_import",
            CONF_GRID_EXPORT: "sensor.grid_export",
            CONF_SOLAR: "sensor.solar",
            CONF_SUBMISSION_MODE: SUBMISSION_INTERVAL,
            CONF_DEVICE_ID: device_id,
            CONF_REFERENCE_ID: f"ref-{device_id}",
            **sensors,
        },
    }


async def new_device(hass: HomeAssistant, emulator: Emulator, reference: str) -> str:
    """Register a device in the emulator over HTTP and return its id."""
    client = FlatpeakClient(
        async_get_clientsession(hass),
        emulator.account_id,
        emulator.api_key,
        base_url=emulator.base_url,
    )
    device = await client.create_device(
        f"{reference}-{emulator.location_id}", location_ids=[emulator.location_id]
    )
    return device.id


def ev_charger_subentry(device_id: str, **data: Any) -> dict[str, Any]:
    """Subentry data of an EV charger recognised by binary_sensor.charging."""
    return {
        "subentry_type": "ev_charger",
        "title": "Driveway charger",
        "unique_id": f"ref-{device_id}",
        "data": {
            "charger_energy": "sensor.charger_energy",
            "session_mode": "state",
            "session_entity": "binary_sensor.charging",
            "session_states": ["on"],
            CONF_SUBMISSION_MODE: SUBMISSION_INTERVAL,
            CONF_DEVICE_ID: device_id,
            CONF_REFERENCE_ID: f"ref-{device_id}",
            **data,
        },
    }


def appliance_subentry(device_id: str, energy: str, title: str, **data: Any) -> dict[str, Any]:
    """Subentry data of an appliance reading ``energy``, registered as ``device_id``."""
    return {
        "subentry_type": "appliance",
        "title": title,
        "unique_id": f"ref-{device_id}",
        "data": {
            "appliance_energy": energy,
            CONF_SUBMISSION_MODE: SUBMISSION_INTERVAL,
            CONF_DEVICE_ID: device_id,
            CONF_REFERENCE_ID: f"ref-{device_id}",
            **data,
        },
    }


async def make_entry(
    hass: HomeAssistant,
    emulator: Emulator,
    *,
    location_id: str | None = None,
    subentries: list[dict[str, Any]] | None = None,
    options: dict[str, Any] | None = None,
    **data: Any,
) -> MockConfigEntry:
    """A config entry for the emulator's demo account, with a house meter subentry."""
    location_id = location_id or emulator.location_id
    if subentries is None:
        subentries = [house_meter_subentry(await new_device(hass, emulator, "house"))]
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="1 Test Street, London",
        unique_id=location_id,
        data={**emulator.credentials, CONF_LOCATION_ID: location_id, **data},
        options={"upload_interval": 15, "history_days": 10} | (options or {}),
        subentries_data=subentries,
    )
    entry.add_to_hass(hass)
    return entry


def device_subentries(device: Any, entry_id: str) -> set[str | None]:
    """The subentries a device belongs to, on every supported HA.

    HA 2026.8 gave a device one entry and one subentry (``config_subentry_id``); earlier
    releases map entries to sets of subentries.
    """
    if hasattr(device, "config_subentry_id"):
        return {device.config_subentry_id} if device.config_entry_id == entry_id else set()
    return set(device.config_entries_subentries.get(entry_id, set()))
