"""Drive energy sensors through 5-minute periods and compile statistics like a running HA."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.recorder.statistics import statistics_during_period
from homeassistant.core import HomeAssistant
from homeassistant.helpers.recorder import get_instance
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
    do_adhoc_statistics,
)

from custom_components.flatpeak.uploads.coordinator import UploadCoordinator
from tests.conftest import Emulator
from tests.helpers import ENERGY, house_meter_subentry, make_entry, new_device

START = datetime(2025, 6, 2, 10, 0, tzinfo=UTC)
FIVE = timedelta(minutes=5)


class Meter:
    """Moves time period by period; each period's states are set 1 minute in.

    Time moves in 20-second steps with timers fired and background tasks awaited, so the
    upload coordinator's own schedule (15 minutes, backoff, Retry-After) runs as in production.
    """

    STEP = timedelta(seconds=20)

    def __init__(
        self, hass: HomeAssistant, freezer: FrozenDateTimeFactory, start: datetime = START
    ) -> None:
        self.hass = hass
        self.freezer = freezer
        self.start = start
        self.t = start
        self.now = start
        freezer.move_to(start)

    async def advance(self, to: datetime) -> None:
        """Let time pass up to ``to``, running whatever is scheduled on the way."""
        while self.now < to:
            self.now = min(to, self.now + self.STEP)
            self.freezer.move_to(self.now)
            async_fire_time_changed(self.hass, self.now)
            await self.hass.async_block_till_done(wait_background_tasks=True)

    def set(self, entity_id: str, value: Any, attrs: dict[str, Any] | None = None) -> None:
        self.hass.states.async_set(entity_id, str(value), attrs or ENERGY)

    async def period(self, values: dict[str, Any] | None = None) -> None:
        """One 5-minute period: states, then the statistics compile at its end."""
        await self.advance(self.t + timedelta(minutes=1))
        for entity_id, value in (values or {}).items():
            if isinstance(value, tuple):
                self.set(entity_id, value[0], value[1])
            else:
                self.set(entity_id, value)
        await async_wait_recording_done(self.hass)
        await self.advance(self.t + FIVE + timedelta(seconds=10))
        do_adhoc_statistics(self.hass, start=self.t, period="5minute")
        await async_wait_recording_done(self.hass)
        self.t += FIVE


async def statistics_change(
    hass: HomeAssistant, entity_id: str, start: datetime, end: datetime
) -> float:
    """What HA's statistics (and so the Energy dashboard) say the sensor used in [start, end)."""
    rows = await get_instance(hass).async_add_executor_job(
        statistics_during_period,
        hass,
        start,
        end,
        {entity_id},
        "5minute",
        {"energy": "kWh"},
        {"change"},
    )
    return sum(row["change"] or 0 for row in rows.get(entity_id, []))


def stored_kwh(emulator: Emulator, device_id: str, tariff: str) -> float:
    """Energy the emulator holds for a device and tariff direction."""
    return (
        sum(
            r["energy_wh"]
            for r in emulator.state.records(device_id=device_id)
            if r["tariff_direction"] == tariff
        )
        / 1000
    )


def assert_no_duplicates(emulator: Emulator) -> None:
    """Every stored record is one 5-minute period with its own reference id."""
    records = emulator.state.records()
    refs = Counter((r["device_id"], r["record_reference_id"]) for r in records)
    assert all(count == 1 for count in refs.values())
    for r in records:
        start = datetime.fromisoformat(r["start_time"].replace("Z", "+00:00"))
        end = datetime.fromisoformat(r["end_time"].replace("Z", "+00:00"))
        assert end - start == FIVE


HOUSE_SENSORS = ("sensor.grid_import", "sensor.grid_export", "sensor.solar")


async def setup_house(
    hass: HomeAssistant, emulator: Emulator, meter: Meter, **options: Any
) -> tuple[MockConfigEntry, str]:
    """Sensors at their first readings, then a loaded entry with a house meter."""
    await meter.period(
        {"sensor.grid_import": 100.0, "sensor.grid_export": 50.0, "sensor.solar": 10.0}
    )
    device_id = await new_device(hass, emulator, "house")
    entry = await make_entry(
        hass,
        emulator,
        subentries=[house_meter_subentry(device_id)],
        options={"history_days": 1, **options},
    )
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    return entry, device_id


async def setup_grid_import(
    hass: HomeAssistant,
    emulator: Emulator,
    meter: Meter,
    first: Any,
    *,
    cumulative: bool = False,
) -> tuple[MockConfigEntry, str]:
    """A loaded entry whose house meter reads grid import only, its sensor at ``first``
    (a value, or a (value, attributes) pair)."""
    await meter.period({"sensor.grid_import": first})
    device_id = await new_device(hass, emulator, "house")
    subentry = house_meter_subentry(
        device_id, **({"submission_mode": "cumulative"} if cumulative else {})
    )
    del subentry["data"]["grid_export"], subentry["data"]["solar"]
    entry = await make_entry(hass, emulator, subentries=[subentry], options={"history_days": 1})
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    return entry, device_id


def uploads(entry: MockConfigEntry) -> UploadCoordinator:
    """The entry's upload coordinator."""
    coordinator: UploadCoordinator = entry.runtime_data.uploads
    return coordinator


async def assert_conserved(
    hass: HomeAssistant, emulator: Emulator, device_id: str, meter: Meter
) -> None:
    """Each stream's stored energy equals HA's statistics change over the whole run."""
    for entity_id, tariff in zip(HOUSE_SENSORS, ("IMPORT", "EXPORT", "LOCAL"), strict=True):
        expected = await statistics_change(hass, entity_id, meter.start, meter.t)
        assert stored_kwh(emulator, device_id, tariff) == pytest.approx(expected, abs=1e-6), (
            entity_id
        )
    assert_no_duplicates(emulator)


def knows_unit_class() -> bool:
    """Whether the running HA's statistics metadata has ``unit_class`` (2025.11 and later)."""
    from homeassistant.components.recorder.models import StatisticMetaData

    return "unit_class" in StatisticMetaData.__annotations__


def import_hourly(
    hass: HomeAssistant, entity_id: str, start: datetime, hours: int, per_hour: float
) -> None:
    """Hourly statistics only (as after the recorder purged the 5-minute rows)."""
    from homeassistant.components.recorder.models import StatisticMeanType
    from homeassistant.components.recorder.statistics import async_import_statistics

    async_import_statistics(
        hass,
        {
            "source": "recorder",
            "statistic_id": entity_id,
            "name": None,
            "unit_of_measurement": "kWh",
            "has_mean": False,
            "mean_type": StatisticMeanType.NONE,
            "has_sum": True,
            **({"unit_class": "energy"} if knows_unit_class() else {}),
        },
        [
            {
                "start": start + timedelta(hours=h),
                "state": per_hour * (h + 1),
                "sum": per_hour * (h + 1),
            }
            for h in range(hours)
        ],
    )
