"""A simulated home's power through the day, and its meters: plain functions, no Home Assistant.

House use peaks in the morning and evening (a heat pump, metered on its own, is part of it),
solar follows daylight for the date (London-like day length, a little cloud that changes day
to day), the EV charges every evening, and the grid takes what is left: import when use
exceeds solar, export when solar exceeds use.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, tzinfo
import math

STEP = timedelta(minutes=1)
SESSION_START_HOUR = 18.5  # local time; the EV charges every evening
SESSION_HOURS = 3.0
CHARGER_KW = 7.0
# Meter readings when the simulation starts, like a home that has had its meters for years.
START_READINGS = {
    "grid_import": 18234.5,
    "grid_export": 2150.25,
    "solar": 5120.75,
    "charger": 3400.0,
    "heat_pump": 2890.5,
}


@dataclass(frozen=True)
class Power:
    """kW at one moment."""

    house: float  # everything but the EV
    solar: float
    charger: float
    heat_pump: float = 0.0  # part of the house: its own meter, not more use

    @property
    def grid_import(self) -> float:
        return max(0.0, self.house + self.charger - self.solar)

    @property
    def grid_export(self) -> float:
        return max(0.0, self.solar - self.house - self.charger)


def _bump(hour: float, centre: float, width: float) -> float:
    return math.exp(-(((hour - centre) / width) ** 2))


def _cloud(day: int) -> float:
    """0.45-1.0, the same for every moment of one day (a hash of the day number)."""
    return 0.45 + 0.55 * ((math.sin(day * 12.9898) * 43758.5453) % 1.0)


def power_at(moment: datetime, tz: tzinfo) -> Power:
    """The home's power at ``moment``."""
    local = moment.astimezone(tz)
    hour = local.hour + local.minute / 60 + local.second / 3600
    heat_pump = 0.2 + 0.6 * _bump(hour, 6.5, 1.2) + 0.35 * _bump(hour, 20.0, 1.5)
    house = (
        0.3
        + 0.8 * _bump(hour, 7.5, 1.0)
        + 1.3 * _bump(hour, 18.5, 1.8)
        + 0.15 * (1 + math.sin(hour * 2.7))
        + heat_pump
    )
    day_of_year = local.timetuple().tm_yday
    day_length = 12.2 + 4.2 * math.sin(2 * math.pi * (day_of_year - 80) / 365.25)
    dst = local.dst()
    noon = 12.0 + (dst.total_seconds() / 3600 if dst else 0.0)
    into_day = hour - (noon - day_length / 2)
    solar = 0.0
    if 0 < into_day < day_length:
        peak = 1.0 + 3.0 * (day_length - 7.5) / 9.0
        solar = peak * _cloud(local.toordinal()) * math.sin(math.pi * into_day / day_length) ** 1.5
    charging = SESSION_START_HOUR <= hour < SESSION_START_HOUR + SESSION_HOURS
    return Power(
        house=house, solar=solar, charger=CHARGER_KW if charging else 0.0, heat_pump=heat_pump
    )


def charging_at(moment: datetime, tz: tzinfo) -> bool:
    """Whether the EV charges at ``moment``."""
    return power_at(moment, tz).charger > 0


def charging_changes(start: datetime, end: datetime, tz: tzinfo) -> list[tuple[datetime, bool]]:
    """Whether the EV charges at ``start``, then each start and stop after it up to ``end``."""
    changes = [(start, charging_at(start, tz))]
    day = start.astimezone(tz).date()
    while (midnight := datetime.combine(day, time(), tz)) <= end:
        begin = midnight + timedelta(hours=SESSION_START_HOUR)  # wall time, also on DST days
        for moment, charging in ((begin, True), (begin + timedelta(hours=SESSION_HOURS), False)):
            if start < moment <= end:
                changes.append((moment, charging))
        day += timedelta(days=1)
    return changes


@dataclass
class Meters:
    """Cumulative kWh of each meter, integrated minute by minute from ``at``."""

    tz: tzinfo
    at: datetime
    kwh: dict[str, float] = field(default_factory=lambda: dict(START_READINGS))

    def advance(self, to: datetime) -> dict[str, float]:
        """Integrate up to ``to`` (never backwards) and return the readings."""
        while self.at < to:
            step = min(STEP, to - self.at)
            power = power_at(self.at + step / 2, self.tz)
            hours = step.total_seconds() / 3600
            self.kwh["grid_import"] += power.grid_import * hours
            self.kwh["grid_export"] += power.grid_export * hours
            self.kwh["solar"] += power.solar * hours
            self.kwh["charger"] += power.charger * hours
            self.kwh["heat_pump"] += power.heat_pump * hours
            self.at += step
        return dict(self.kwh)
