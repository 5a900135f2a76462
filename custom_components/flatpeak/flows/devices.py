"""Flatpeak device registration for subentries."""

from __future__ import annotations

import hashlib

from homeassistant.core import HomeAssistant
from homeassistant.helpers import instance_id

from ..client import DeviceType, FlatpeakClient


async def async_reference_id(hass: HomeAssistant, location_id: str, kind: str, key: str) -> str:
    """A stable Flatpeak ``reference_id`` for one device of this Home Assistant installation.

    Derived from the installation id, the location, the kind of subentry and a key that
    survives re-installs (the sensor that feeds it), so removing and re-adding the integration
    finds the same Flatpeak device and keeps its history.
    """
    installation = await instance_id.async_get(hass)
    digest = hashlib.sha256(f"{installation}|{location_id}|{kind}|{key}".encode()).hexdigest()
    return f"ha-{kind}-{digest[:24]}"


async def async_register_device(
    client: FlatpeakClient, reference_id: str, device_type: DeviceType, location_id: str
) -> str:
    """The Flatpeak device id for ``reference_id``: looked up first, created only if missing."""
    device = await client.find_device(reference_id)
    if device is None:
        device = await client.create_device(
            reference_id, device_type=device_type, location_ids=[location_id]
        )
    return device.id
