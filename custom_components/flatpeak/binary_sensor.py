"""The binary sensor platform: each cheap window is on while one of its slots runs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .windows import window_binary_sensor_entities

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant
    from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

    from . import FlatpeakConfigEntry

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: FlatpeakConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """One binary sensor per cheap window, under its subentry."""
    for subentry_id, window in entry.runtime_data.windows.items():
        async_add_entities(
            window_binary_sensor_entities(window, window.subentry),
            config_subentry_id=subentry_id,
        )
