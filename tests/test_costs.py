"""Costs back in Home Assistant: hourly cost statistics and the cost sensors, in the real
recorder, from the emulator's cost reports over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
import itertools
import logging
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.recorder.statistics import get_metadata, statistics_during_period
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.recorder import get_instance
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
    do_adhoc_statistics,
)
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.flatpeak.client import (
    Aggregation,
    EnergyFlowDirection,
    FlatpeakClient,
    MeterRecord,
    TariffDirection,
)
from custom_components.flatpeak.const import DOMAIN
from custom_components.flatpeak.costs import (
    coordinator as cost_coordinator,
    statistics as cost_statistics,
)
from custom_components.flatpeak.costs.coordinator import CostCoordinator
from tests.conftest import Emulator
from tests.helpers import (
    add_sensors,
    ev_charger_subentry,
    house_meter_subentry,
    make_entry,
    new_device,
)
from tests.uploads_helpers import Meter

FIVE = timedelta(minutes=5)
HOUR = timedelta(hours=1)
KINDS = {
    TariffDirection.IMPORT: "grid_import_cost",
    TariffDirection.EXPORT: "grid_export_value",
    TariffDirection.LOCAL: "solar_value",
}


@pytest.fixture(autouse=True)
async def _london(hass: HomeAssistant) -> None:
    """A home in London that counts in pounds, like the emulator's demo location."""
    await hass.config.async_update(time_zone="Europe/London", currency="GBP")


async def setup_entry(
    hass: HomeAssistant, emulator: Emulator, *, charger: bool = False
) -> tuple[MockConfigEntry, str, str | None]:
    """A loaded entry with a house meter (import, export, solar) and maybe a charger. Its
    sensors have no statistics, so the uploader sends nothing: the tests put the records
    at Flatpeak themselves, as any source of energy would."""
    add_sensors(hass)
    house = await new_device(hass, emulator, "house")
    subentries = [house_meter_subentry(house)]
    charger_id = None
    if charger:
        charger_id = await new_device(hass, emulator, "charger")
        subentries.append(ev_charger_subentry(charger_id))
    entry = await make_entry(hass, emulator, subentries=subentries, options={"history_days": 0})
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    return entry, house, charger_id


def costs(entry: MockConfigEntry) -> CostCoordinator:
    coordinator: CostCoordinator = entry.runtime_data.costs
    return coordinator


def stat_id(device_id: str, kind: str) -> str:
    return f"{DOMAIN}:{device_id}_{kind}"


def client_for(hass: HomeAssistant, emulator: Emulator) -> FlatpeakClient:
    from homeassistant.helpers.aiohttp_client import async_get_clientsession

    return FlatpeakClient(
        async_get_clientsession(hass),
        emulator.account_id,
        emulator.api_key,
        base_url=emulator.base_url,
    )


async def submit(
    hass: HomeAssistant,
    emulator: Emulator,
    device_id: str,
    span: tuple[datetime, datetime],
    kwh: float,
    *,
    direction: TariffDirection = TariffDirection.IMPORT,
) -> None:
    """5-minute records of ``kwh`` each over ``[start, end)``, with stable reference ids."""
    flow = (
        EnergyFlowDirection.OUTBOUND
        if direction is TariffDirection.EXPORT
        else EnergyFlowDirection.INBOUND
    )
    records = []
    moment, end = span
    while moment < end:
        records.append(
            MeterRecord(
                location_id=emulator.location_id,
                device_id=device_id,
                start_time=moment,
                end_time=moment + FIVE,
                value=kwh,
                record_reference_id=f"t-{device_id}-{direction}-{int(moment.timestamp())}",
                energy_flow_direction=flow,
                tariff_direction=direction,
            )
        )
        moment += FIVE
    await client_for(hass, emulator).submit_interval_records(records)


async def hourly(
    hass: HomeAssistant, statistic_id: str, start: datetime, end: datetime
) -> list[dict[str, Any]]:
    await async_wait_recording_done(hass)
    rows = await get_instance(hass).async_add_executor_job(
        statistics_during_period,
        hass,
        start,
        end,
        {statistic_id},
        "hour",
        None,
        {"state", "sum"},
    )
    return list(rows.get(statistic_id, []))


async def flatpeak_cost(
    hass: HomeAssistant,
    emulator: Emulator,
    device_id: str,
    span: tuple[datetime, datetime],
    *,
    direction: TariffDirection = TariffDirection.IMPORT,
    aggregation: Aggregation | None = None,
) -> float:
    start, end = span
    report = await client_for(hass, emulator).get_interval_cost(
        device_id, start, end, tariff_direction=direction, aggregation=aggregation
    )
    return report.total_cost


def assert_continuous(rows: list[dict[str, Any]]) -> None:
    """One row per UTC hour, no gap, and each row's change is its state."""
    assert rows
    for before, after in itertools.pairwise(rows):
        assert after["start"] - before["start"] == 3600
        assert after["sum"] - before["sum"] == pytest.approx(after["state"], abs=1e-9)


async def test_metadata_exists_right_after_setup(
    hass: HomeAssistant, emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    """Every cost statistic can be picked at once: source flatpeak, a sum, the location's
    currency, a name a person recognises; no recorder complaint on either HA line."""
    caplog.set_level(logging.WARNING)
    _, house, charger = await setup_entry(hass, emulator, charger=True)
    assert charger is not None
    await async_wait_recording_done(hass)
    ids = {stat_id(house, kind) for kind in KINDS.values()} | {stat_id(charger, "charging_cost")}
    metadata = await get_instance(hass).async_add_executor_job(
        lambda: get_metadata(hass, statistic_ids=ids)
    )
    assert set(metadata) == ids
    for _, meta in metadata.values():
        assert meta["source"] == DOMAIN
        assert meta["has_sum"] is True
        assert meta["unit_of_measurement"] == "GBP"
        assert int(meta["mean_type"]) == 0
    assert metadata[stat_id(house, "grid_import_cost")][1]["name"].startswith("Flatpeak ")
    assert metadata[stat_id(house, "grid_import_cost")][1]["name"].endswith(" grid import cost")
    assert metadata[stat_id(charger, "charging_cost")][1]["name"] == (
        "Flatpeak Driveway charger charging cost"
    )
    assert not [
        r for r in caplog.records if "unit_class" in r.getMessage() or "mean_type" in r.getMessage()
    ]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_hourly_statistics_match_flatpeak_and_stay_continuous(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """A day of records at Flatpeak: one row per UTC hour with Flatpeak's cost of that hour,
    zero hours included, and sums that run on without a jump."""
    day = datetime(2025, 6, 2, 0, 0, tzinfo=UTC)  # a Monday: peak 16:00-19:00 London
    freezer.move_to(day + timedelta(hours=20, minutes=10))
    entry, house, _ = await setup_entry(hass, emulator)
    await submit(hass, emulator, house, (day, day + timedelta(hours=20)), 0.1)
    await submit(
        hass,
        emulator,
        house,
        (day + timedelta(hours=9), day + timedelta(hours=15)),
        0.05,
        direction=TariffDirection.EXPORT,
    )
    await costs(entry).async_refresh()

    rows = await hourly(hass, stat_id(house, "grid_import_cost"), day - HOUR, day + 24 * HOUR)
    assert_continuous(rows)
    by_hour = {datetime.fromtimestamp(r["start"], UTC): r["state"] for r in rows}
    for h in range(21):
        hour = day + h * HOUR
        expected = await flatpeak_cost(hass, emulator, house, (hour, hour + HOUR))
        assert by_hour[hour] == pytest.approx(expected, abs=1e-9), hour
    assert by_hour[day + 14 * HOUR] == pytest.approx(1.2 * 0.245)  # 15:00 BST
    assert by_hour[day + 15 * HOUR] == pytest.approx(1.2 * 0.35)  # 16:00 BST: peak
    assert by_hour[day + 20 * HOUR] == 0  # the current hour, nothing yet
    export = await hourly(hass, stat_id(house, "grid_export_value"), day, day + 24 * HOUR)
    assert_continuous(export)
    assert sum(r["state"] for r in export) == pytest.approx(6 * 12 * 0.05 * 0.15)


async def test_a_correction_shifts_later_sums_only(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """Flatpeak re-settles an hour 10 hours back: that hour changes, every later sum moves by
    the same amount, every earlier row stays as it was."""
    day = datetime(2025, 6, 2, 0, 0, tzinfo=UTC)
    now = day + timedelta(hours=20, minutes=10)
    freezer.move_to(now)
    entry, house, _ = await setup_entry(hass, emulator)
    await submit(hass, emulator, house, (day, day + timedelta(hours=20)), 0.1)
    await costs(entry).async_refresh()
    statistic = stat_id(house, "grid_import_cost")
    before = await hourly(hass, statistic, day - 30 * 24 * HOUR, day + 24 * HOUR)

    corrected = day + 10 * HOUR
    await submit(hass, emulator, house, (corrected, corrected + HOUR), 0.3)  # same ids: replaced
    freezer.tick(timedelta(minutes=15))
    await costs(entry).async_refresh()
    after = await hourly(hass, statistic, day - 30 * 24 * HOUR, day + 24 * HOUR)

    assert_continuous(after)
    assert [r["start"] for r in after] == [r["start"] for r in before]
    delta = 12 * 0.2 * 0.245
    for old, new in zip(before, after, strict=True):
        start = datetime.fromtimestamp(old["start"], UTC)
        if start < corrected:
            assert new["state"] == old["state"]
            assert new["sum"] == pytest.approx(old["sum"], abs=1e-9)
        elif start == corrected:
            assert new["state"] == pytest.approx(old["state"] + delta)
        else:
            assert new["state"] == pytest.approx(old["state"], abs=1e-9)
            assert new["sum"] == pytest.approx(old["sum"] + delta, abs=1e-9)


@pytest.mark.parametrize(
    ("local_day", "hours"),
    [(datetime(2025, 3, 30), 23), (datetime(2025, 10, 26), 25)],
    ids=["spring", "autumn"],
)
async def test_dst_day_has_its_hours_and_flatpeaks_total(
    hass: HomeAssistant,
    emulator: Emulator,
    freezer: FrozenDateTimeFactory,
    local_day: datetime,
    hours: int,
) -> None:
    """A clock-change day in London: 23 or 25 hourly rows, and their total is Flatpeak's
    DAY report for that device."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo("Europe/London")
    start = local_day.replace(tzinfo=zone).astimezone(UTC)
    end = (local_day + timedelta(days=1)).replace(tzinfo=zone).astimezone(UTC)
    assert end - start == timedelta(hours=hours)
    freezer.move_to(end + timedelta(hours=1, minutes=10))
    entry, house, _ = await setup_entry(hass, emulator)
    await submit(hass, emulator, house, (start - HOUR, end + HOUR), 0.1)
    await costs(entry).async_refresh()

    rows = await hourly(hass, stat_id(house, "grid_import_cost"), start, end)
    assert len(rows) == hours
    assert_continuous(rows)
    day_report = await flatpeak_cost(
        hass, emulator, house, (start, end), aggregation=Aggregation.DAY
    )
    assert sum(r["state"] for r in rows) == pytest.approx(day_report, abs=1e-6)


async def test_cost_sensors_equal_the_statistics(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """Cost today and this month: monetary totals in pounds that reset at local midnight and
    on the first of the month, each the sum of the same hours in the statistics."""
    first = datetime(2025, 6, 1, 0, 0, tzinfo=UTC)
    now = datetime(2025, 6, 3, 20, 10, tzinfo=UTC)  # 21:10 BST
    freezer.move_to(now)
    entry, house, _ = await setup_entry(hass, emulator)
    await submit(hass, emulator, house, (first - 3 * HOUR, now - 10 * FIVE), 0.1)
    await submit(
        hass, emulator, house, (first, now - 10 * FIVE), 0.02, direction=TariffDirection.EXPORT
    )
    await costs(entry).async_refresh_since(first - 3 * HOUR)  # as after upload_history
    await hass.async_block_till_done()

    midnight = datetime(2025, 6, 2, 23, 0, tzinfo=UTC)  # 3 June 00:00 BST
    month = datetime(2025, 5, 31, 23, 0, tzinfo=UTC)  # 1 June 00:00 BST
    rows = await hourly(hass, stat_id(house, "grid_import_cost"), month, now)
    today = hass.states.get("sensor.1_test_street_cost_today")
    assert today is not None
    assert today.attributes["device_class"] == "monetary"
    assert today.attributes["state_class"] == "total"
    assert today.attributes["unit_of_measurement"] == "GBP"
    assert datetime.fromisoformat(today.attributes["last_reset"]) == midnight
    expected_today = sum(
        r["state"] for r in rows if datetime.fromtimestamp(r["start"], UTC) >= midnight
    )
    assert float(today.state) == pytest.approx(expected_today, abs=1e-6)
    this_month = hass.states.get("sensor.1_test_street_cost_this_month")
    assert this_month is not None
    assert datetime.fromisoformat(this_month.attributes["last_reset"]) == month
    assert float(this_month.state) == pytest.approx(sum(r["state"] for r in rows), abs=1e-6)
    assert float(this_month.state) == pytest.approx(
        await flatpeak_cost(hass, emulator, house, (month, now)), abs=1e-6
    )
    export_today = hass.states.get("sensor.1_test_street_export_value_today")
    assert export_today is not None
    assert float(export_today.state) > 0

    # Local midnight: the day's sensor starts again without waiting for new data.
    freezer.move_to(datetime(2025, 6, 3, 23, 0, 1, tzinfo=UTC))
    from pytest_homeassistant_custom_component.common import async_fire_time_changed

    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    today = hass.states.get("sensor.1_test_street_cost_today")
    assert today is not None
    assert datetime.fromisoformat(today.attributes["last_reset"]) == datetime(
        2025, 6, 3, 23, 0, tzinfo=UTC
    )
    assert float(today.state) == 0


async def _save_prefs(client: Any, prefs: dict[str, Any]) -> dict[str, Any]:
    await client.send_json_auto_id({"type": "energy/save_prefs", **prefs})
    result: dict[str, Any] = await client.receive_json()
    return result


async def test_energy_dashboard_accepts_the_cost_statistics(
    hass: HomeAssistant,
    emulator: Emulator,
    hass_ws_client: WebSocketGenerator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """The grid's cost and compensation are our statistics, wired in the prefs shape of the
    running HA line: energy/validate has nothing to say about them."""
    assert await async_setup_component(hass, "energy", {})
    assert await async_setup_component(hass, "sensor", {})
    _, house, _ = await setup_entry(hass, emulator)
    # The meters' own statistics exist, as they do for any recorded energy sensor.
    now = dt_util.utcnow()
    period = now.replace(minute=now.minute - now.minute % 5, second=0, microsecond=0)
    freezer.move_to(period + timedelta(minutes=5, seconds=10))
    do_adhoc_statistics(hass, start=period, period="5minute")
    await async_wait_recording_done(hass)
    client = await hass_ws_client(hass)
    legacy = {
        "energy_sources": [
            {
                "type": "grid",
                "flow_from": [
                    {
                        "stat_energy_from": "sensor.grid_import",
                        "stat_cost": stat_id(house, "grid_import_cost"),
                        "entity_energy_price": None,
                        "number_energy_price": None,
                    }
                ],
                "flow_to": [
                    {
                        "stat_energy_to": "sensor.grid_export",
                        "stat_compensation": stat_id(house, "grid_export_value"),
                        "entity_energy_price": None,
                        "number_energy_price": None,
                    }
                ],
                "cost_adjustment_day": 0,
            }
        ]
    }
    unified = {
        "energy_sources": [
            {
                "type": "grid",
                "stat_energy_from": "sensor.grid_import",
                "stat_energy_to": "sensor.grid_export",
                "stat_cost": stat_id(house, "grid_import_cost"),
                "stat_compensation": stat_id(house, "grid_export_value"),
                "cost_adjustment_day": 0,
            }
        ]
    }
    saved = await _save_prefs(client, legacy)
    if not saved["success"]:  # HA 2026: single grid connections
        saved = await _save_prefs(client, unified)
    assert saved["success"], saved
    await client.send_json_auto_id({"type": "energy/validate"})
    result = await client.receive_json()
    assert result["success"]
    assert result["result"]["energy_sources"] == [[]], result


async def test_currency_other_than_home_assistants_raises_an_issue(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    """A GBP location in a home that counts in euros: the dashboard would label the figures
    wrongly, so a repair issue says so."""
    await hass.config.async_update(currency="EUR")
    entry, _, _ = await setup_entry(hass, emulator)
    issue = ir.async_get(hass).async_get_issue(DOMAIN, f"currency_mismatch_{entry.entry_id}")
    assert issue is not None
    assert issue.translation_placeholders == {
        "location": entry.title,
        "currency": "GBP",
        "ha_currency": "EUR",
    }
    await hass.config.async_update(currency="GBP")
    assert await hass.config_entries.async_reload(entry.entry_id)
    assert ir.async_get(hass).async_get_issue(DOMAIN, f"currency_mismatch_{entry.entry_id}") is None


async def test_removing_the_entry_clears_its_statistics(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    """Deleting the entry deletes its cost statistics (Flatpeak keeps its own figures)."""
    entry, house, _ = await setup_entry(hass, emulator)
    await async_wait_recording_done(hass)
    ids = {stat_id(house, kind) for kind in KINDS.values()}
    await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    await async_wait_recording_done(hass)
    metadata = await get_instance(hass).async_add_executor_job(
        lambda: get_metadata(hass, statistic_ids=ids)
    )
    assert metadata == {}


async def test_gap_after_downtime_is_filled(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """Home Assistant was off for 3 days (longer than the hot window): the next refresh fills
    every hour back to the last one written, and the sums run on without a jump."""
    day = datetime(2025, 6, 2, 0, 0, tzinfo=UTC)
    freezer.move_to(day + timedelta(hours=5, minutes=10))
    entry, house, _ = await setup_entry(hass, emulator)
    await submit(hass, emulator, house, (day, day + 5 * HOUR), 0.1)
    await costs(entry).async_refresh()
    assert await hass.config_entries.async_unload(entry.entry_id)

    back = day + timedelta(days=3, hours=5, minutes=10)
    await submit(hass, emulator, house, (day + 5 * HOUR, back - 10 * FIVE), 0.1)
    freezer.move_to(back)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    await costs(entry).async_refresh()

    statistic = stat_id(house, "grid_import_cost")
    rows = await hourly(hass, statistic, day, back)
    assert_continuous(rows)
    assert len(rows) == 3 * 24 + 6
    assert sum(r["state"] for r in rows) == pytest.approx(
        await flatpeak_cost(hass, emulator, house, (day, back)), abs=1e-6
    )


class _QuickMeter(Meter):
    """A meter whose clock moves a minute at a time (a simulated day in seconds)."""

    STEP = timedelta(minutes=1)


async def test_request_budget_over_a_simulated_day(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """A day at the default 15-minute cycle with import, export and solar moving: per hour
    at most 4 meter requests and at most 16 cost and price requests for the house meter,
    and the day's cost statistics equal Flatpeak's figures."""
    assert await async_setup_component(hass, "sensor", {})
    meter = _QuickMeter(hass, freezer, datetime(2025, 6, 2, 0, 0, tzinfo=UTC))
    await meter.period(
        {"sensor.grid_import": 100.0, "sensor.grid_export": 50.0, "sensor.solar": 10.0}
    )
    house = await new_device(hass, emulator, "house")
    entry = await make_entry(
        hass, emulator, subentries=[house_meter_subentry(house)], options={"history_days": 1}
    )
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    emulator.state.request_log.clear()
    first = meter.t
    for n in range(1, 24 * 12):
        await meter.period(
            {
                "sensor.grid_import": 100 + 0.1 * n,
                "sensor.grid_export": 50 + 0.02 * n,
                "sensor.solar": 10 + (0.05 * n if 72 < n < 240 else 0),
            }
        )
    hours = (meter.t - first) / HOUR
    log = emulator.state.request_log
    meter_requests = sum(1 for _, path in log if path.startswith("/meters/"))
    cost_requests = sum(1 for _, path in log if path.startswith(("/costs/", "/prices/")))
    assert meter_requests <= 4 * hours
    assert cost_requests <= 16 * hours
    assert cost_requests >= 3 * 4 * (hours - 1)  # three statistics follow every cycle
    await costs(entry).async_refresh()
    day = first.replace(minute=0)
    rows = await hourly(hass, stat_id(house, "grid_import_cost"), day, meter.t)
    assert_continuous(rows)
    assert sum(r["state"] for r in rows) == pytest.approx(
        await flatpeak_cost(hass, emulator, house, (day, meter.t)), abs=1e-6
    )


async def test_flatpeak_failing_leaves_the_statistics_and_comes_back(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """A 503 on the cost report: the cost sensors are unavailable (their figures may be
    stale), the statistics keep what they had; the next refresh after the retry policy's
    delay brings both back."""
    day = datetime(2025, 6, 2, 0, 0, tzinfo=UTC)
    freezer.move_to(day + timedelta(hours=5, minutes=10))
    entry, house, _ = await setup_entry(hass, emulator)
    await submit(hass, emulator, house, (day, day + 5 * HOUR), 0.1)
    await costs(entry).async_refresh()
    statistic = stat_id(house, "grid_import_cost")
    before = await hourly(hass, statistic, day, day + 6 * HOUR)
    assert float(hass.states.get("sensor.1_test_street_cost_today").state) > 0

    emulator.state.fail_next("/costs/*", 503)
    await submit(hass, emulator, house, (day + 5 * HOUR, day + 5 * HOUR + 2 * FIVE), 0.1)
    await costs(entry).async_refresh()
    assert hass.states.get("sensor.1_test_street_cost_today").state == "unavailable"
    assert await hourly(hass, statistic, day, day + 6 * HOUR) == before

    freezer.tick(timedelta(minutes=2))  # past the retry policy's first delay
    await costs(entry).async_refresh()
    today = hass.states.get("sensor.1_test_street_cost_today")
    assert today.state != "unavailable"
    after = await hourly(hass, statistic, day, day + 6 * HOUR)
    assert_continuous(after)
    assert after[-1]["sum"] > before[-1]["sum"]


async def test_a_long_reimport_is_written_in_slices_with_continuous_sums(
    hass: HomeAssistant,
    emulator: Emulator,
    freezer: FrozenDateTimeFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Re-importing 40 days (960 hours, two reports) reaches the recorder in slices of at
    most WRITE_SLICE hours, in order, each hour once; the recorder ends with one continuous
    row per hour and Flatpeak's total."""
    day = datetime(2025, 5, 1, 0, 0, tzinfo=UTC)
    back = day + timedelta(days=40)
    freezer.move_to(back + timedelta(minutes=10))
    entry, house, _ = await setup_entry(hass, emulator)
    # A few hours of each day, so every report has rows and most hours are 0.
    for offset in range(0, 40, 3):
        start = day + timedelta(days=offset, hours=7)
        await submit(hass, emulator, house, (start, start + 2 * HOUR), 0.1)
    statistic = stat_id(house, "grid_import_cost")
    calls: list[list[Any]] = []
    real_write = cost_statistics.async_write

    def spy(hass: HomeAssistant, stat: Any, currency: str, rows: list[Any]) -> None:
        if stat.statistic_id == statistic:
            calls.append(list(rows))
        real_write(hass, stat, currency, rows)

    monkeypatch.setattr(cost_coordinator, "async_write", spy)
    await costs(entry).async_refresh_since(day)

    assert len(calls) == 2
    assert all(0 < len(rows) <= cost_coordinator.WRITE_SLICE for rows in calls)
    written = [row for rows in calls for row in rows]
    assert [row.start for row in written] == [day + h * HOUR for h in range(40 * 24 + 1)]
    for before, after in itertools.pairwise(written):
        assert after.sum - before.sum == pytest.approx(after.state, abs=1e-9)

    rows = await hourly(hass, statistic, day, back + HOUR)
    assert_continuous(rows)
    assert len(rows) == 40 * 24 + 1
    assert [r["sum"] for r in rows] == pytest.approx([row.sum for row in written], abs=1e-9)
    assert rows[-1]["sum"] == pytest.approx(
        await flatpeak_cost(hass, emulator, house, (day, back + HOUR)), abs=1e-6
    )

    # Nothing changed at Flatpeak: the next refresh of the same range writes nothing.
    calls.clear()
    await costs(entry).async_refresh_since(day)
    assert calls == []
