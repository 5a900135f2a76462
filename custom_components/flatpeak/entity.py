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
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.entity import EntityDescription
from homeassistant.helpers.update_coordinator import CoordinatorEntity, DataUpdateCoordinator

from .const import (
    CONF_DEVICE_ID,
    DOMAIN,
    SUBENTRY_APPLIANCE,
    SUBENTRY_CHEAP_WINDOW,
    SUBENTRY_EV_CHARGER,
)

MANUFACTURER = "Flatpeak"
MODELS = {
    SUBENTRY_EV_CHARGER: "EV charger",
    SUBENTRY_APPLIANCE: "Appliance",
    SUBENTRY_CHEAP_WINDOW: "Cheap window",
}
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
    """The house meter is the location; a charger, an appliance or a cheap window is the
    location and its name (once)."""
    if subentry.subentry_type not in MODELS:
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


def device_key(subentry: ConfigSubentry) -> str:
    """What identifies a subentry's device and prefixes its entities' unique ids: the
    Flatpeak device id, or for a cheap window (no Flatpeak device) the subentry id."""
    device_id: str = subentry.data.get(CONF_DEVICE_ID) or subentry.subentry_id
    return device_id


def subentry_device_info(
    hass: HomeAssistant, entry: ConfigEntry, subentry: ConfigSubentry
) -> DeviceInfo:
    """The HA device of a subentry, identified by :func:`device_key`.

    A real device (house meters, chargers and appliances are things in the home), not a service:
    ``entry_type`` is given as ``None`` so devices registered as services before change too.
    A cheap window is a service of the location (a search Flatpeak runs for it).
    """
    service = subentry.subentry_type == SUBENTRY_CHEAP_WINDOW
    return DeviceInfo(
        identifiers={(DOMAIN, device_key(subentry))},
        name=device_name(entry_label(hass, entry), subentry),
        manufacturer=MANUFACTURER,
        model=MODELS.get(subentry.subentry_type, DEFAULT_MODEL),
        entry_type=DeviceEntryType.SERVICE if service else None,
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
        self._attr_unique_id = f"{device_key(subentry)}_{description.key}"
        entry = coordinator.config_entry
        assert entry is not None  # every coordinator of this integration is given its entry
        self._attr_device_info = subentry_device_info(coordinator.hass, entry, subentry)
