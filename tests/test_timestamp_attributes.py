"""Times in entity attributes are whole seconds, as HA shows every time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import MappingProxyType, SimpleNamespace
from typing import Any

from homeassistant.config_entries import ConfigSubentry

from custom_components.flatpeak.core.sessions import Session
from custom_components.flatpeak.sessions.costs import ChargerSession
from custom_components.flatpeak.sessions.sensors import FlatpeakSessionCostSensor

# A session starts at the moment a state changes: rarely on a whole second.
START = datetime(2025, 6, 2, 22, 35, 12, 345678, tzinfo=UTC)


def session_sensor(session: Session) -> FlatpeakSessionCostSensor:
    coordinator: Any = SimpleNamespace(
        currency="GBP",
        latest=lambda _subentry_id: ChargerSession(session, None),
        status=lambda _session, _cost: "pending",
    )
    subentry = ConfigSubentry(
        data=MappingProxyType({"device_id": "dev_0123456789abcdef01234567"}),
        subentry_type="ev_charger",
        title="Driveway charger",
        unique_id=None,
    )
    return FlatpeakSessionCostSensor(coordinator, subentry)


def test_session_start_and_end_attributes_are_whole_seconds() -> None:
    """start and end to the second; last_reset stays the exact start (a cycle's key)."""
    end = START + timedelta(hours=2, microseconds=111)
    sensor = session_sensor(Session("ha-session-0", START, end))
    attributes = sensor.extra_state_attributes
    assert attributes is not None
    assert attributes["start"] == "2025-06-02T22:35:12+00:00"
    assert attributes["end"] == "2025-06-03T00:35:12+00:00"
    assert sensor.last_reset == START

    open_session = session_sensor(Session("ha-session-1", START)).extra_state_attributes
    assert open_session is not None
    assert open_session["end"] is None
