"""The sensor platform: each device's entities, by subentry type, from its feature."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from .const import (
    DEVICE_SUBENTRIES,
    SUBENTRY_CHEAP_WINDOW,
    SUBENTRY_EV_CHARGER,
    SUBENTRY_HOUSE_METER,
)
from .costs import cost_entities
from .health import tariff_entities
from .prices import price_entities
from .sessions import session_entities
from .uploads import upload_entities
from .windows import window_sensor_entities

if TYPE_CHECKING:
    from homeassistant.config_entries import ConfigSubentry
    from homeassistant.core import HomeAssistant
    from homeassistant.helpers.entity import Entity
    from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

    from . import FlatpeakConfigEntry

PARALLEL_UPDATES = 0

type Builder = Callable[[FlatpeakConfigEntry, ConfigSubentry], list[Entity]]

# Which sensors a device gets, by its subentry type; each feature decides which of its
# sensors exist (e.g. Export value only with an export sensor).
SENSORS: tuple[tuple[frozenset[str], Builder], ...] = (
    (
        DEVICE_SUBENTRIES,
        lambda entry, subentry: upload_entities(entry.runtime_data.uploads, subentry),
    ),
    (
        frozenset({SUBENTRY_EV_CHARGER}),
        lambda entry, subentry: session_entities(entry.runtime_data.sessions, subentry),
    ),
    (
        DEVICE_SUBENTRIES,
        lambda entry, subentry: cost_entities(
            entry.runtime_data.costs,
            subentry,
            updated=subentry.subentry_type == SUBENTRY_HOUSE_METER,
        ),
    ),
    (
        frozenset({SUBENTRY_HOUSE_METER}),
        lambda entry, subentry: price_entities(entry.runtime_data.prices, subentry),
    ),
    (
        frozenset({SUBENTRY_HOUSE_METER}),
        lambda entry, subentry: tariff_entities(entry.runtime_data.health, subentry),
    ),
    (
        frozenset({SUBENTRY_CHEAP_WINDOW}),
        lambda entry, subentry: window_sensor_entities(
            entry.runtime_data.windows[subentry.subentry_id], subentry
        ),
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: FlatpeakConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Every device's sensors, added under its subentry."""
    for subentry in entry.subentries.values():
        entities = [
            entity
            for types, build in SENSORS
            if subentry.subentry_type in types
            for entity in build(entry, subentry)
        ]
        async_add_entities(entities, config_subentry_id=subentry.subentry_id)
