"""Cost figures a person can trust: a report that cannot account for the energy sent is
incomplete, never zero; a record counts once; another currency is refused; and the day and
month sensors equal Flatpeak's figures from the location's midnight in any time zone.

The energy goes through the real uploader (hourly statistics of a real sensor), so the
integration knows what Flatpeak confirmed; the hostile answers come from the emulator.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
import itertools
from typing import Any
from zoneinfo import ZoneInfo

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.recorder.models import StatisticMeanType
from homeassistant.components.recorder.statistics import async_import_statistics
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)

from custom_components.flatpeak.client import Aggregation
from custom_components.flatpeak.const import DOMAIN
from tests.conftest import Emulator
from tests.helpers import add_sensors, house_meter_subentry, make_entry, new_device
from tests.test_costs import costs, flatpeak_cost, hourly, stat_id
from tests.uploads_helpers import knows_unit_class, uploads

HOUR = timedelta(hours=1)
FIVE = timedelta(minutes=5)
NOW = datetime(2025, 6, 3, 14, 10, tzinfo=UTC)  # a Tuesday, 15:10 in London
# kWh per hour of the house's grid import, from 24 hours before NOW; hour 20 used nothing
PER_HOUR = [0.6] * 20 + [0.0] + [0.9] * 3


def import_energy(hass: HomeAssistant, start: datetime, per_hour: list[float]) -> None:
    """Hourly statistics of sensor.grid_import (as if the recorder had compiled them)."""
    rows, total = [], 0.0
    for index, kwh in enumerate(per_hour):
        total += kwh
        rows.append({"start": start + index * HOUR, "state": total, "sum": total})
    async_import_statistics(
        hass,
        {
            "source": "recorder",
            "statistic_id": "sensor.grid_import",
            "name": None,
            "unit_of_measurement": "kWh",
            "has_mean": False,
            "mean_type": StatisticMeanType.NONE,
            "has_sum": True,
            **({"unit_class": "energy"} if knows_unit_class() else {}),
        },
        rows,
    )


async def setup_house(
    hass: HomeAssistant,
    emulator: Emulator,
    freezer: FrozenDateTimeFactory,
    *,
    now: datetime = NOW,
    per_hour: list[float] = PER_HOUR,
    zone: str = "Europe/London",
    history_days: int = 2,
) -> tuple[MockConfigEntry, str]:
    """A house meter on grid import whose energy the uploader has sent and Flatpeak
    confirmed, and the cost statistic imported once from Flatpeak's answer."""
    emulator.state.locations[emulator.location_id].timezone = zone
    await hass.config.async_update(time_zone=zone, currency="GBP")
    freezer.move_to(now)
    add_sensors(hass)
    start = now.replace(minute=0) - len(per_hour) * HOUR
    import_energy(hass, start, per_hour)
    await async_wait_recording_done(hass)
    house = await new_device(hass, emulator, "house")
    subentry = house_meter_subentry(house)
    del subentry["data"]["grid_export"], subentry["data"]["solar"]
    entry = await make_entry(
        hass, emulator, subentries=[subentry], options={"history_days": history_days}
    )
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert uploads(entry).confirmed_periods(f"{house}:grid_import")
    return entry, house


def states(rows: list[dict[str, Any]]) -> dict[datetime, float]:
    return {datetime.fromtimestamp(r["start"], UTC): r["state"] for r in rows}


async def statistic_hours(hass: HomeAssistant, house: str) -> dict[datetime, float]:
    start = NOW - 3 * 24 * HOUR
    return states(await hourly(hass, stat_id(house, "grid_import_cost"), start, NOW + HOUR))


def cost_today(hass: HomeAssistant) -> str:
    state = hass.states.get("sensor.1_test_street_cost_today")
    assert state is not None
    return state.state


def answer(rows: list[dict[str, Any]], currency: str = "GBP") -> dict[str, Any]:
    """An ``energy_cost`` body as Flatpeak shapes it."""
    return {
        "id": "ecs_" + "0" * 24,
        "object": "energy_cost",
        "tariff_direction": "IMPORT",
        "location_timezone": "Europe/London",
        "currency_code": currency,
        "energy_units": "WH",
        "data": rows,
    }


def rows_for(
    house: str, start: datetime, end: datetime, cost: Any, *, energy_wh: int = 50
) -> list[dict[str, Any]]:
    """One row per 5-minute record of ``[start, end)``; ``cost`` is the ``cost`` object
    (``...`` leaves the key out)."""
    rows = []
    moment = start
    while moment < end:
        row: dict[str, Any] = {
            "start_time": moment.isoformat().replace("+00:00", "Z"),
            "end_time": (moment + FIVE).isoformat().replace("+00:00", "Z"),
            "energy": {"value": energy_wh},
            "record_reference_id": f"ha-{house}-grid_import-{int(moment.timestamp())}",
        }
        if cost is not ...:
            row["cost"] = cost
        rows.append(row)
        moment += FIVE
    return rows


def hostile(emulator: Emulator, body: dict[str, Any], count: int = 10) -> None:
    emulator.state.fail_next("/costs/interval/*", 200, count=count, body=body)


async def test_an_empty_answer_keeps_the_hours_and_cost_today(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """``{"data": []}`` for hours whose energy Flatpeak confirmed: the hours stay as they
    were, Cost today keeps its figure, and once Flatpeak answers fully the hours equal its
    figures again."""
    entry, house = await setup_house(hass, emulator, freezer)
    before = await statistic_hours(hass, house)
    today = cost_today(hass)
    assert float(today) > 0
    assert max(before.values()) > 0

    hostile(emulator, answer([]))
    await costs(entry).async_refresh()
    await hass.async_block_till_done()
    assert await statistic_hours(hass, house) == before
    assert cost_today(hass) == today
    assert costs(entry).data.incomplete == {stat_id(house, "grid_import_cost")}

    emulator.state.faults.clear()
    await costs(entry).async_refresh()
    after = await statistic_hours(hass, house)
    assert not costs(entry).data.incomplete
    for hour, state in after.items():
        if hour >= NOW - 24 * HOUR:
            expected = await flatpeak_cost(hass, emulator, house, (hour, hour + HOUR))
            assert state == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize(
    "cost",
    [None, {"value": None, "confidence": 1}, {"confidence": 1}, {"value": "0.1"}, ...],
    ids=["cost-null", "value-null", "value-missing", "value-string", "cost-missing"],
)
async def test_rows_without_a_cost_are_not_written_as_zero(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory, cost: Any
) -> None:
    """Rows for the confirmed energy whose cost is null, missing or not a number: nothing
    is written over the stored hours."""
    entry, house = await setup_house(hass, emulator, freezer)
    before = await statistic_hours(hass, house)
    window = (NOW.replace(minute=0) - 47 * HOUR, NOW.replace(minute=0))
    hostile(emulator, answer(rows_for(house, *window, cost)))
    await costs(entry).async_refresh()
    await hass.async_block_till_done()
    assert await statistic_hours(hass, house) == before
    assert costs(entry).data.incomplete


async def test_a_real_zero_is_written(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """An hour with no energy is a zero hour, and so is an answer whose rows say cost 0:
    Flatpeak said so, and the figures follow it."""
    entry, house = await setup_house(hass, emulator, freezer)
    hours = await statistic_hours(hass, house)
    quiet = NOW.replace(minute=0) - 4 * HOUR  # PER_HOUR[20]: nothing used
    assert hours[quiet] == 0
    assert hours[quiet - HOUR] > 0
    assert not costs(entry).data.incomplete

    window = (NOW.replace(minute=0) - 47 * HOUR, NOW.replace(minute=0) + HOUR)
    hostile(emulator, answer(rows_for(house, *window, {"value": 0, "confidence": 1})))
    await costs(entry).async_refresh()
    after = await statistic_hours(hass, house)
    assert not costs(entry).data.incomplete
    assert all(after[hour] == 0 for hour in after if hour >= window[0])
    assert float(cost_today(hass)) == 0


async def test_a_record_listed_twice_counts_once(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """Two rows with the same record reference id: one record, the later row wins."""
    entry, house = await setup_house(hass, emulator, freezer)
    start = NOW.replace(minute=0) - 47 * HOUR
    end = NOW.replace(minute=0) + HOUR
    first = rows_for(house, start, end, {"value": 0.01, "confidence": 1})
    later = rows_for(house, start, end, {"value": 0.02, "confidence": 1})
    hostile(emulator, answer(first + later))
    await costs(entry).async_refresh()
    after = await statistic_hours(hass, house)
    assert not costs(entry).data.incomplete
    for hour in range(47):
        assert after[start + hour * HOUR] == pytest.approx(12 * 0.02)


async def test_a_report_in_another_currency_is_refused(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """A report in euros for a statistic in pounds: nothing written, a repair issue says
    so, and it goes once Flatpeak reports in pounds again."""
    entry, house = await setup_house(hass, emulator, freezer)
    before = await statistic_hours(hass, house)
    today = cost_today(hass)
    window = (NOW.replace(minute=0) - 47 * HOUR, NOW.replace(minute=0) + HOUR)
    hostile(emulator, answer(rows_for(house, *window, {"value": 5.0}), currency="EUR"))
    await costs(entry).async_refresh()
    await hass.async_block_till_done()
    assert await statistic_hours(hass, house) == before
    assert cost_today(hass) == today
    issue_id = f"report_currency_{entry.entry_id}"
    issue = ir.async_get(hass).async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_placeholders == {
        "location": entry.title,
        "currency": "EUR",
        "expected": "GBP",
    }

    emulator.state.faults.clear()
    await costs(entry).async_refresh()
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None
    assert not costs(entry).data.incomplete


async def test_first_import_of_an_empty_answer_shows_no_figure(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """Never imported and Flatpeak answers empty: no zero hours are written and Cost today
    is unknown, not 0; the next full answer fills every hour."""
    hostile(emulator, answer([]), count=1)
    entry, house = await setup_house(hass, emulator, freezer)
    energy_start = NOW.replace(minute=0) - len(PER_HOUR) * HOUR
    written = await statistic_hours(hass, house)
    assert written  # the hours before any energy are real zeros
    assert all(state == 0 for state in written.values())
    assert max(written) < energy_start
    assert cost_today(hass) == "unknown"

    await costs(entry).async_refresh()
    hours = await statistic_hours(hass, house)
    assert hours
    assert float(cost_today(hass)) == pytest.approx(
        await flatpeak_cost(
            hass, emulator, house, (datetime(2025, 6, 2, 23, tzinfo=UTC), NOW + HOUR)
        ),
        abs=1e-9,
    )


async def test_an_owed_report_is_asked_for_again_with_backoff(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """An incomplete answer is retried on a timer of its own (no upload needed), later each
    time, until Flatpeak accounts for the energy."""
    from pytest_homeassistant_custom_component.common import async_fire_time_changed

    entry, house = await setup_house(hass, emulator, freezer)
    hostile(emulator, answer([]), count=100)
    path = f"/costs/interval/{house}"
    await costs(entry).async_refresh()
    asked = [emulator.requests("POST", path)]
    moment = NOW
    for _ in range(90):  # 90 minutes, a minute at a time, no upload cycle in between
        moment += timedelta(minutes=1)
        freezer.move_to(moment)
        async_fire_time_changed(hass, moment)
        await hass.async_block_till_done()
        asked.append(emulator.requests("POST", path))
    retries = [minute for minute in range(1, len(asked)) if asked[minute] > asked[minute - 1]]
    gaps = [b - a for a, b in itertools.pairwise(retries)]
    assert len(retries) >= 4
    assert gaps == sorted(gaps)
    assert gaps[-1] > gaps[0]
    assert costs(entry).data.incomplete


LOCAL_ZONES = [
    "Asia/Kolkata",
    "Australia/Adelaide",
    "Asia/Kathmandu",
    "Pacific/Chatham",
    "America/St_Johns",
    "Europe/London",
]


@pytest.mark.parametrize("zone", LOCAL_ZONES)
async def test_today_and_this_month_equal_flatpeak_from_local_midnight(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory, zone: str
) -> None:
    """In a zone whose midnight is not on a UTC hour, Cost today and Cost this month equal
    Flatpeak's DAY and MONTH figures from the location's midnight and the 1st, also after
    a restart (when the month's first part-hour is before the re-imported window)."""
    local = ZoneInfo(zone)
    now = datetime(2025, 6, 3, 10, 10, tzinfo=local).astimezone(UTC)
    energy_start = datetime(2025, 5, 31, 12, tzinfo=local).astimezone(UTC)
    hours = int((now.replace(minute=0) - energy_start.replace(minute=0)) / HOUR)
    entry, house = await setup_house(
        hass, emulator, freezer, now=now, per_hour=[0.6] * hours, zone=zone, history_days=3
    )
    midnight = datetime(2025, 6, 3, tzinfo=local).astimezone(UTC)
    month = datetime(2025, 6, 1, tzinfo=local).astimezone(UTC)
    end = now + HOUR

    async def check() -> None:
        day_figure = await flatpeak_cost(
            hass, emulator, house, (midnight, end), aggregation=Aggregation.DAY
        )
        month_figure = await flatpeak_cost(
            hass, emulator, house, (month, end), aggregation=Aggregation.MONTH
        )
        assert day_figure > 0
        assert month_figure > day_figure
        assert float(cost_today(hass)) == pytest.approx(day_figure, abs=1e-4)
        month_state = hass.states.get("sensor.1_test_street_cost_this_month")
        assert month_state is not None
        assert float(month_state.state) == pytest.approx(month_figure, abs=1e-4)

    await check()  # the first import reaches back past the 1st
    freezer.move_to(now + 10 * FIVE)
    await costs(entry).async_refresh()  # the hot window starts after the 1st
    assert costs(entry).data.before_window
    await check()
    assert await hass.config_entries.async_reload(entry.entry_id)  # nothing kept in memory
    await hass.async_block_till_done(wait_background_tasks=True)
    await costs(entry).async_refresh()
    await hass.async_block_till_done()
    await check()
