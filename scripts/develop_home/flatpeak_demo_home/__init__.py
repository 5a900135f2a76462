"""A simulated home for ``scripts/develop``: energy sensors that move through the day, with history.

At start-up it imports the last days of hourly statistics (and of 5-minute ones, as far back as
the recorder keeps them) for its four energy sensors, so the Energy dashboard has data at once;
the live sensors then go on from the last imported reading, so HA's own statistics continue
without a jump.

``binary_sensor.ev_charging`` comes only with the ``add_ev_charging`` action: its first states
are the history's evenings, written at the times they happened, so a charger that follows it
(``scripts/develop`` adds one first) has every session of the history, finished, in order.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from homeassistant.components.recorder.db_schema import StatisticsShortTerm
from homeassistant.components.recorder.models import StatisticMeanType, StatisticMetaData
from homeassistant.components.recorder.statistics import async_import_statistics
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import discovery
from homeassistant.helpers.recorder import get_instance
from homeassistant.helpers.typing import ConfigType
from homeassistant.util import dt as dt_util
import voluptuous as vol

from .model import START_READINGS, Meters

DOMAIN = "flatpeak_demo_home"
FIVE = timedelta(minutes=5)
HOUR = timedelta(hours=1)
# The sensors' entity ids (from their names) by meter.
ENTITY_IDS = {
    "grid_import": "sensor.grid_import_energy",
    "grid_export": "sensor.grid_export_energy",
    "solar": "sensor.solar_energy",
    "charger": "sensor.charger_energy",
    "heat_pump": "sensor.heat_pump_energy",
}

SERVICE_ADD_EV_CHARGING = "add_ev_charging"

CONFIG_SCHEMA = vol.Schema(
    {DOMAIN: vol.Schema({vol.Optional("history_days", default=3): vol.All(int, vol.Range(0, 30))})},
    extra=vol.ALLOW_EXTRA,
)


@dataclass
class Home:
    """The meters, where the history starts, and how the EV charging sensor is added (set by
    its platform; None once it is added)."""

    meters: Meters
    history_start: datetime
    add_ev_charging: Callable[[], Awaitable[None]] | None = None


def _metadata(entity_id: str) -> StatisticMetaData:
    meta: dict[str, Any] = {
        "source": "recorder",
        "statistic_id": entity_id,
        "name": None,
        "unit_of_measurement": "kWh",
        "has_mean": False,
        "mean_type": StatisticMeanType.NONE,
        "has_sum": True,
    }
    if "unit_class" in StatisticMetaData.__annotations__:  # HA 2025.11 and later
        meta["unit_class"] = "energy"
    return meta  # type: ignore[return-value]


def _history(
    meters: Meters, now: datetime, five_days: int
) -> tuple[dict[str, list[Any]], dict[str, list[Any]]]:
    """Hourly rows up to the current hour, 5-minute rows for ``five_days`` before the current
    period (the uploader reads those where it has them: hourly ones only spread evenly)."""
    last_hour = now.replace(minute=0, second=0, microsecond=0)
    last_five = now.replace(minute=now.minute - now.minute % 5, second=0, microsecond=0)
    five_from = last_five - timedelta(days=five_days) - FIVE
    hourly: dict[str, list[Any]] = {meter: [] for meter in ENTITY_IDS}
    five: dict[str, list[Any]] = {meter: [] for meter in ENTITY_IDS}
    while meters.at < last_five:
        start = meters.at
        readings = meters.advance(start + FIVE)
        for meter, reading in readings.items():
            row = {"start": start, "state": reading, "sum": reading - START_READINGS[meter]}
            if start >= five_from:
                five[meter].append(row)
            if (start + FIVE).minute == 0 and start + FIVE <= last_hour:
                hourly[meter].append({**row, "start": start + FIVE - HOUR})
    return hourly, five


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Import the history, then start the sensors from where it ends."""
    days: int = config[DOMAIN]["history_days"]
    now = dt_util.utcnow()
    start = now.replace(minute=0, second=0, microsecond=0) - timedelta(days=days)
    meters = Meters(dt_util.get_default_time_zone(), start)
    hourly, five = _history(meters, now, get_instance(hass).keep_days)
    for meter, entity_id in ENTITY_IDS.items():
        async_import_statistics(hass, _metadata(entity_id), hourly[meter])
        get_instance(hass).async_import_statistics(
            _metadata(entity_id), five[meter], StatisticsShortTerm
        )
    hass.data[DOMAIN] = Home(meters, start)
    for platform in (Platform.SENSOR, Platform.BINARY_SENSOR):
        hass.async_create_task(
            discovery.async_load_platform(hass, platform, DOMAIN, {}, config), eager_start=True
        )
    hass.services.async_register(DOMAIN, SERVICE_ADD_EV_CHARGING, _async_add_ev_charging)
    return True


async def _async_add_ev_charging(call: ServiceCall) -> None:
    """Add the EV charging sensor with its history; returns once its states are written."""
    home: Home = call.hass.data[DOMAIN]
    if (add := home.add_ev_charging) is None:
        raise HomeAssistantError("EV charging is added already, or its platform is not set up yet")
    home.add_ev_charging = None
    await add()
