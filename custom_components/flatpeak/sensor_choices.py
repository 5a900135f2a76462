"""Which Home Assistant sensors can feed Flatpeak, and what the Energy dashboard already uses.

Plain functions over states and dashboard preferences, shared by the config flow (defaults and
pickers) and by setup (repair issues for sensors that disappeared or changed kind).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from homeassistant.components.sensor import SensorDeviceClass, SensorStateClass
from homeassistant.const import ATTR_DEVICE_CLASS, ATTR_UNIT_OF_MEASUREMENT
from homeassistant.core import HomeAssistant, State

from .const import CONF_GRID_EXPORT, CONF_GRID_IMPORT, CONF_SOLAR

ATTR_STATE_CLASS = "state_class"
_CUMULATIVE_STATE_CLASSES = {SensorStateClass.TOTAL, SensorStateClass.TOTAL_INCREASING}


def is_energy_sensor(state: State | None) -> bool:
    """True for a sensor that measures energy as a running total (what statistics need)."""
    return (
        state is not None
        and state.domain == "sensor"
        and state.attributes.get(ATTR_DEVICE_CLASS) == SensorDeviceClass.ENERGY
        and state.attributes.get(ATTR_STATE_CLASS) in _CUMULATIVE_STATE_CLASSES
    )


def is_power_sensor(state: State | None) -> bool:
    """True for a sensor that measures power (for charging-session detection)."""
    return (
        state is not None
        and state.domain == "sensor"
        and state.attributes.get(ATTR_DEVICE_CLASS) == SensorDeviceClass.POWER
        and state.attributes.get(ATTR_UNIT_OF_MEASUREMENT) is not None
    )


def energy_sensors(hass: HomeAssistant) -> list[str]:
    """Entity ids of every energy sensor with a total/total_increasing state class."""
    return sorted(
        state.entity_id for state in hass.states.async_all("sensor") if is_energy_sensor(state)
    )


def power_sensors(hass: HomeAssistant) -> list[str]:
    """Entity ids of every power sensor."""
    return sorted(
        state.entity_id for state in hass.states.async_all("sensor") if is_power_sensor(state)
    )


def sensor_problem(hass: HomeAssistant, entity_id: str) -> str | None:
    """Why a mapped sensor can no longer be used (``missing``/``not_energy``), or ``None``."""
    state = hass.states.get(entity_id)
    if state is None:
        return "missing"
    if not is_energy_sensor(state):
        return "not_energy"
    return None


def dashboard_defaults(prefs: Mapping[str, Any] | None) -> dict[str, str]:
    """Grid import, grid export and solar sensors chosen on the Energy dashboard.

    Understands both grid formats: ``flow_from``/``flow_to`` lists (HA before 2025.12) and
    the unified grid source with ``stat_energy_from``/``stat_energy_to`` (later releases).
    Only the first of each is taken; external statistics (``x:y``) are skipped because
    they are not entities.
    """
    found: dict[str, str] = {}

    def take(key: str, candidates: Iterable[Any]) -> None:
        for candidate in candidates:
            if key not in found and isinstance(candidate, str) and candidate.startswith("sensor."):
                found[key] = candidate

    for source in (prefs or {}).get("energy_sources") or []:
        kind = source.get("type")
        if kind == "grid":
            take(CONF_GRID_IMPORT, [source.get("stat_energy_from")])
            take(
                CONF_GRID_IMPORT, [f.get("stat_energy_from") for f in source.get("flow_from") or []]
            )
            take(CONF_GRID_EXPORT, [source.get("stat_energy_to")])
            take(CONF_GRID_EXPORT, [f.get("stat_energy_to") for f in source.get("flow_to") or []])
        elif kind == "solar":
            take(CONF_SOLAR, [source.get("stat_energy_from")])
    return found


async def async_dashboard_defaults(hass: HomeAssistant) -> dict[str, str]:
    """:func:`dashboard_defaults` of this installation's Energy dashboard."""
    from homeassistant.components.energy.data import async_get_manager

    manager = await async_get_manager(hass)
    return dashboard_defaults(manager.data)
