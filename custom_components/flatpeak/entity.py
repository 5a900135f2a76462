"""The base entity: one Home Assistant device per subentry (a Flatpeak device)."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import ConfigSubentry
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.entity import EntityDescription
from homeassistant.helpers.update_coordinator import CoordinatorEntity, DataUpdateCoordinator

from .const import CONF_DEVICE_ID, DOMAIN, SUBENTRY_EV_CHARGER


def subentry_device_info(subentry: ConfigSubentry) -> DeviceInfo:
    """The HA device of a subentry, identified by its Flatpeak device id."""
    return DeviceInfo(
        identifiers={(DOMAIN, subentry.data[CONF_DEVICE_ID])},
        name=subentry.title,
        manufacturer="Flatpeak",
        model="EV charger" if subentry.subentry_type == SUBENTRY_EV_CHARGER else "House meter",
        entry_type=DeviceEntryType.SERVICE,
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
        self._attr_device_info = subentry_device_info(subentry)
