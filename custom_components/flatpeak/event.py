"""Event entities: each EV charger's ``session_completed``, once per session, when final."""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.components.event import EventEntity, EventEntityDescription
from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import callback

from .const import SUBENTRY_EV_CHARGER
from .entity import FlatpeakEntity
from .sessions import SessionCostCoordinator, completed_data

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant
    from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

    from . import FlatpeakConfigEntry

PARALLEL_UPDATES = 0
SESSION_COMPLETED = "session_completed"


async def async_setup_entry(
    hass: HomeAssistant,
    entry: FlatpeakConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """One event entity per EV charger."""
    for subentry in entry.subentries.values():
        if subentry.subentry_type == SUBENTRY_EV_CHARGER:
            async_add_entities(
                [FlatpeakSessionEvent(entry.runtime_data.sessions, subentry)],
                config_subentry_id=subentry.subentry_id,
            )


class FlatpeakSessionEvent(FlatpeakEntity[SessionCostCoordinator], EventEntity):
    """Fires ``session_completed`` for each final session not notified yet.

    A session's "notified" mark is kept with the sessions, so after a restart the event
    neither fires again nor is missed (it fires as soon as the entity is back).
    """

    _attr_translation_key = "charging_session"

    def __init__(self, coordinator: SessionCostCoordinator, subentry: ConfigSubentry) -> None:
        """Belong to the charger's device."""
        super().__init__(coordinator, subentry, EventEntityDescription(key="charging_session"))
        self._attr_event_types = [SESSION_COMPLETED]

    @property
    def available(self) -> bool:
        """An event entity has nothing to be unavailable about."""
        return True

    async def async_added_to_hass(self) -> None:
        """Fire what became final while the entity was away (a restart in between)."""
        await super().async_added_to_hass()
        self._fire_pending()

    @callback
    def _handle_coordinator_update(self) -> None:
        self._fire_pending()

    @callback
    def _fire_pending(self) -> None:
        due = self.coordinator.to_notify(self.subentry_id)
        for item in due:
            if item.cost is None:
                continue
            self.coordinator.async_notified(item.session.id)
            self._trigger_event(SESSION_COMPLETED, completed_data(item.session, item.cost))
            self.async_write_ha_state()
