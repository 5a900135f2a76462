"""The session cost sensor of an EV charger."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.config_entries import ConfigSubentry

from ..entity import FlatpeakEntity
from .costs import SessionCostCoordinator

if TYPE_CHECKING:
    from homeassistant.helpers.entity import Entity


def session_entities(sessions: SessionCostCoordinator, subentry: ConfigSubentry) -> list[Entity]:
    """A charger's session cost."""
    return [FlatpeakSessionCostSensor(sessions, subentry)]


class FlatpeakSessionCostSensor(FlatpeakEntity[SessionCostCoordinator], SensorEntity):
    """The running cost of the open session, then the final cost of the last one.

    Each session is a cycle of its own (``last_reset`` is its start), so long-term statistics
    add up every session's cost.
    """

    _attr_device_class = SensorDeviceClass.MONETARY
    _attr_state_class = SensorStateClass.TOTAL
    _attr_suggested_display_precision = 2
    _attr_translation_key = "session_cost"

    def __init__(self, coordinator: SessionCostCoordinator, subentry: ConfigSubentry) -> None:
        """Belong to the charger's device."""
        super().__init__(coordinator, subentry, SensorEntityDescription(key="session_cost"))
        self._attr_native_unit_of_measurement = coordinator.currency

    @property
    def available(self) -> bool:
        """Stays readable while a fetch fails: the last known cost still holds."""
        return True

    @property
    def native_value(self) -> float | None:
        """Unknown until a report of the session gives a figure; then the last one."""
        latest = self.coordinator.latest(self.subentry_id)
        if latest is None or latest.cost is None or latest.cost.cost is None:
            return None
        return round(latest.cost.cost, 6)

    @property
    def last_reset(self) -> datetime | None:
        """The session's start, exactly (not to the second like the attributes): another
        last_reset for the same session would start a new cycle and count its cost twice."""
        latest = self.coordinator.latest(self.subentry_id)
        return latest.session.start if latest else None

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """Session id, start, end (None while charging), energy, currency, final, and
        status: charging, pending (ended; Flatpeak's report does not account for it yet),
        final, or unconfirmed (no longer asked for)."""
        latest = self.coordinator.latest(self.subentry_id)
        if latest is None:
            return None
        session, cost = latest.session, latest.cost
        attributes: dict[str, Any] = {
            "session_id": session.id,
            # To the second, like every time HA shows (a session starts at a state change).
            "start": session.start.isoformat(timespec="seconds"),
            "end": session.end.isoformat(timespec="seconds") if session.end else None,
            "energy_kwh": round(cost.energy_kwh, 6)
            if cost and cost.energy_kwh is not None
            else None,
            "currency": cost.currency if cost else self.coordinator.currency,
            "final": bool(cost and cost.final),
            "status": self.coordinator.status(session, cost),
        }
        if session.label:
            attributes["label"] = session.label
        return attributes
