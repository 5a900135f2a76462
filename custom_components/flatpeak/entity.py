"""The base entity: one Home Assistant device per subentry (a Flatpeak device).

Devices are named after their location, so two homes never look the same: the house meter
is the location itself ("1 Test Street"), a charger is the location and its own name
("1 Test Street Driveway charger"). With ``has_entity_name`` the entities follow
("1 Test Street Cost today"). Names follow the entry's title on every load; entity ids stay
as the entity registry has them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from homeassistant.config_entries import ConfigEntry, ConfigSubentry
from homeassistant.core import HomeAssistant
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import EntityDescription
from homeassistant.helpers.update_coordinator import CoordinatorEntity, DataUpdateCoordinator

from .const import CONF_DEVICE_ID, DOMAIN, SUBENTRY_EV_CHARGER

MANUFACTURER = "Flatpeak"
MODELS = {SUBENTRY_EV_CHARGER: "EV charger"}
DEFAULT_MODEL = "House meter"


def location_label(title: str, other_titles: Iterable[str] = ()) -> str:
    """The short name of a location: the first part of its entry's title.

    "1 Test Street, London, N1 1AA" gives "1 Test Street"; a title the person gave the entry
    ("Home") stays whole. When another location's title starts the same way, the whole
    title, so the two still differ.
    """

    def first(text: str) -> str:
        return text.split(",", 1)[0].strip() or text.strip()

    label = first(title)
    if any(first(other).casefold() == label.casefold() for other in other_titles):
        return title.strip()
    return label


def device_name(label: str, subentry: ConfigSubentry) -> str:
    """The house meter is the location; a charger is the location and its name (once)."""
    if subentry.subentry_type != SUBENTRY_EV_CHARGER:
        return label
    if label.casefold() in subentry.title.casefold():
        return subentry.title
    return f"{label} {subentry.title}"


def entry_label(hass: HomeAssistant, entry: ConfigEntry) -> str:
    """:func:`location_label` of an entry, beside the installation's other locations."""
    others = [
        other.title
        for other in hass.config_entries.async_entries(DOMAIN)
        if other.entry_id != entry.entry_id
    ]
    return location_label(entry.title, others)


def subentry_device_info(
    hass: HomeAssistant, entry: ConfigEntry, subentry: ConfigSubentry
) -> DeviceInfo:
    """The HA device of a subentry, identified by its Flatpeak device id.

    A real device (house meters and chargers are things in the home), not a service:
    ``entry_type`` is given as ``None`` so devices registered as services before change too.
    """
    return DeviceInfo(
        identifiers={(DOMAIN, subentry.data[CONF_DEVICE_ID])},
        name=device_name(entry_label(hass, entry), subentry),
        manufacturer=MANUFACTURER,
        model=MODELS.get(subentry.subentry_type, DEFAULT_MODEL),
        entry_type=None,
    )


class FlatpeakEntity[CoordinatorT: DataUpdateCoordinator[Any]](CoordinatorEntity[CoordinatorT]):
    """An entity of one subentry's device, read from one coordinator.

    Its unique id is the Flatpeak device id and the description's key; it is available when
    its coordinator's last refresh worked (entities that stay readable say so).
    """

    _attr_has_entity_name = True

    def __init__(
        self, coordinator: CoordinatorT, subentry: ConfigSubentry, description: EntityDescription
    ) -> None:
        """Belong to the subentry's device."""
        super().__init__(coordinator)
        self.entity_description = description
        self.subentry_id = subentry.subentry_id
        self._attr_unique_id = f"{subentry.data[CONF_DEVICE_ID]}_{description.key}"
        entry = coordinator.config_entry
        assert entry is not None  # every coordinator of this integration is given its entry
        self._attr_device_info = subentry_device_info(coordinator.hass, entry, subentry)
