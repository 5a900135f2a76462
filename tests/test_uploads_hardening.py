"""Uploads against a hostile world: shared ids, lying answers, glitches, odd waits, bugs."""

from __future__ import annotations

from datetime import datetime, timedelta
import math
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
import pytest

from custom_components.flatpeak.const import DOMAIN
from tests.conftest import Emulator
from tests.helpers import ENERGY, ev_charger_subentry, house_meter_subentry, make_entry, new_device
from tests.uploads_helpers import (
    START,
    Meter,
    assert_conserved,
    assert_no_duplicates,
    import_hourly,
    setup_grid_import,
    setup_house,
    statistics_change,
    stored_kwh,
    uploads,
)

TOTAL = {**ENERGY, "state_class": "total"}
START_40 = START + timedelta(days=40)


@pytest.fixture(autouse=True)
async def _sensor_statistics(hass: HomeAssistant) -> None:
    """The sensor integration compiles the statistics of sensors, as in a running HA."""
    assert await async_setup_component(hass, "sensor", {})


def house_values(n: int) -> dict[str, Any]:
    return {
        "sensor.grid_import": 100 + 0.25 * n,
        "sensor.grid_export": 50 + 0.05 * n,
        "sensor.solar": 10 + 0.1 * n,
    }


async def test_two_locations_and_two_chargers_keep_their_own_energy(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """Flatpeak replaces a record by its reference id account-wide: two locations of one
    account and two chargers of one location send the same periods, and each device still
    holds exactly its own sensor's energy."""
    meter = Meter(hass, freezer)
    second = emulator.state.add_location(emulator.account_id, reference_id="holiday-home")
    sensors = {
        "sensor.grid_import": 100.0,
        "sensor.other_import": 7.0,
        "sensor.charger_energy": 1000.0,
        "sensor.charger2_energy": 500.0,
    }
    await meter.period(sensors)
    home_meter = await new_device(hass, emulator, "house")
    other_meter = await new_device(hass, emulator, "other")
    charger1 = await new_device(hass, emulator, "charger1")
    charger2 = await new_device(hass, emulator, "charger2")
    home = house_meter_subentry(home_meter)
    del home["data"]["grid_export"], home["data"]["solar"]
    other = house_meter_subentry(other_meter, grid_import="sensor.other_import")
    del other["data"]["grid_export"], other["data"]["solar"]
    entries = [
        await make_entry(
            hass,
            emulator,
            subentries=[
                home,
                ev_charger_subentry(charger1),
                ev_charger_subentry(charger2, charger_energy="sensor.charger2_energy"),
            ],
            options={"history_days": 1},
        ),
        await make_entry(
            hass,
            emulator,
            location_id=second.id,
            subentries=[other],
            options={"history_days": 1},
        ),
    ]
    assert await hass.config_entries.async_setup(entries[0].entry_id)  # sets up both
    await hass.async_block_till_done(wait_background_tasks=True)
    for n in range(1, 13):
        sensors = {
            "sensor.grid_import": 100 + 0.5 * n,
            "sensor.other_import": 7 + 0.1 * n,
            "sensor.charger_energy": 1000 + 2 * n,
            "sensor.charger2_energy": 500 + 1.5 * n,
        }
        await meter.period(sensors)
        if n % 4 == 0:
            for entry in entries:
                await uploads(entry).async_refresh()

    for device_id, entity_id in (
        (home_meter, "sensor.grid_import"),
        (other_meter, "sensor.other_import"),
        (charger1, "sensor.charger_energy"),
        (charger2, "sensor.charger2_energy"),
    ):
        expected = await statistics_change(hass, entity_id, meter.start, meter.t)
        assert expected > 0
        assert stored_kwh(emulator, device_id, "IMPORT") == pytest.approx(expected, abs=1e-6)
        assert len(emulator.state.records(device_id=device_id)) == 13
    refs = [r["record_reference_id"] for r in emulator.state.records()]
    assert len(refs) == len(set(refs)) == 4 * 13
    assert {r["location_id"] for r in emulator.state.records(device_id=other_meter)} == {second.id}


@pytest.mark.parametrize(
    "body",
    [
        {},
        {
            "id": "bat_000000000000000000000000",
            "object": "meter_batch",
            "records_submitted": 1,
            "records_accepted": 1,
            "records_processed": 1,
            "failed_records": [],
        },
    ],
    ids=["empty", "fewer_submitted"],
)
async def test_a_success_that_does_not_account_for_the_records_is_a_failure(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory, body: Any
) -> None:
    """A 200 that does not prove every record arrived advances nothing; they are sent again."""
    meter = Meter(hass, freezer)
    entry, device_id = await setup_house(hass, emulator, meter)
    coordinator = uploads(entry)
    for n in range(1, 4):
        await meter.period(house_values(n))
    stored = len(emulator.state.records())
    emulator.state.fail_next("/meters/interval", 200, body=body)
    await coordinator.async_refresh()
    (device,) = coordinator.data.devices.values()
    assert device.last_error is not None
    assert device.waiting > 0  # nothing was taken as sent
    assert coordinator.update_interval < timedelta(minutes=2)  # backing off, not 15 minutes
    assert len(emulator.state.records()) == stored  # the fault answered without storing

    await coordinator.async_refresh()
    (device,) = coordinator.data.devices.values()  # a fresh status
    assert device.last_error is None
    assert device.waiting == 0
    await assert_conserved(hass, emulator, device_id, meter)


async def test_glitch_reading_of_a_total_sensor_is_undone(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """One period reads 1e9 kWh, the next the true value again. The spike was already sent;
    the drop corrects that period (same id, replaced), and every later period keeps its own
    energy instead of being netted to zero against the spike."""
    meter = Meter(hass, freezer)
    entry, device_id = await setup_grid_import(hass, emulator, meter, (100.0, TOTAL))
    coordinator = uploads(entry)

    await meter.period({"sensor.grid_import": (100.1, TOTAL)})
    await meter.period({"sensor.grid_import": (1e9, TOTAL)})
    await coordinator.async_refresh()
    assert stored_kwh(emulator, device_id, "IMPORT") > 1e8  # the spike reached Flatpeak
    glitch_end = meter.t
    value = 100.2
    for n in range(12):
        await meter.period({"sensor.grid_import": (value, TOTAL)})
        value += 0.3
        if n % 4 == 3:
            await coordinator.async_refresh()
    await coordinator.async_refresh()

    expected = await statistics_change(hass, "sensor.grid_import", meter.start, meter.t)
    assert expected == pytest.approx(0.2 + 11 * 0.3, abs=1e-6)
    assert stored_kwh(emulator, device_id, "IMPORT") == pytest.approx(expected, abs=1e-6)
    later = [
        r
        for r in emulator.state.records(device_id=device_id)
        if r["start_time"] >= glitch_end.isoformat().replace("+00:00", "Z")
    ]
    assert len(later) == 12
    assert sum(r["energy_wh"] for r in later) / 1000 == pytest.approx(3.3, abs=1e-6)
    assert_no_duplicates(emulator)


async def test_zero_periods_are_sent_and_progress_keeps_up(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """Export and solar stand still for two hours (night): every period is a 0 kWh record and
    nothing is left waiting."""
    meter = Meter(hass, freezer)
    entry, device_id = await setup_house(hass, emulator, meter)
    for n in range(1, 25):
        await meter.period(
            {"sensor.grid_import": 100 + 0.1 * n, "sensor.grid_export": 50, "sensor.solar": 10}
        )
    await uploads(entry).async_refresh()
    records = emulator.state.records(device_id=device_id)
    for tariff in ("EXPORT", "LOCAL"):
        stream = [r for r in records if r["tariff_direction"] == tariff]
        assert len(stream) == 25
        assert {r["energy_wh"] for r in stream} == {0}
    assert hass.states.get("sensor.1_test_street_intervals_waiting").state == "0"
    await assert_conserved(hass, emulator, device_id, meter)


async def test_cumulative_zero_periods_and_corrections_are_not_smeared_or_added(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """A cumulative register: still periods are readings too (no interval spans the night),
    a decrease re-sends the corrected readings without adding them twice, and a cycle with
    nothing new still counts as an upload."""
    meter = Meter(hass, freezer)
    entry, device_id = await setup_grid_import(
        hass, emulator, meter, (100.0, TOTAL), cumulative=True
    )
    coordinator = uploads(entry)
    values = [100.5, 100.5, 100.5, 100.5, 101.0, 100.8, 101.2, 101.2]
    for n, value in enumerate(values):
        await meter.period({"sensor.grid_import": (value, TOTAL)})
        if n in (3, 5):
            await coordinator.async_refresh()
    await coordinator.async_refresh()

    records = emulator.state.records(device_id=device_id)
    assert {r["end_time"] > r["start_time"] for r in records} == {True}
    assert all(
        _minutes(r["end_time"]) - _minutes(r["start_time"]) == 5 for r in records
    )  # 5-minute intervals only: nothing smeared over the still periods
    assert all(r["energy_wh"] >= 0 for r in records)
    expected = await statistics_change(hass, "sensor.grid_import", meter.start, meter.t)
    assert expected == pytest.approx(1.2, abs=1e-6)
    assert stored_kwh(emulator, device_id, "IMPORT") == pytest.approx(expected, abs=1e-6)

    (device,) = coordinator.data.devices.values()
    puts = emulator.requests("PUT", "/meters/cumulative/epoch")
    before = device.last_success
    assert before is not None
    await meter.advance(meter.now + timedelta(minutes=2))
    await coordinator.async_refresh()  # nothing new: no request, still an upload
    (device,) = coordinator.data.devices.values()  # a fresh status
    assert emulator.requests("PUT", "/meters/cumulative/epoch") == puts
    assert device.last_success is not None
    assert device.last_success > before


def _minutes(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() / 60


async def test_cumulative_request_refused_is_reported_and_passed(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """Flatpeak refuses a whole cumulative request (4xx): a repair issue, and the next cycle
    goes on with new readings instead of sending the refused ones forever."""
    meter = Meter(hass, freezer)
    entry, device_id = await setup_grid_import(hass, emulator, meter, 100.0, cumulative=True)
    coordinator = uploads(entry)
    for n in range(3):
        await meter.period({"sensor.grid_import": 100.5 + n})
    emulator.state.fail_next("/meters/cumulative/epoch", 400)
    await coordinator.async_refresh()
    issue = ir.async_get(hass).async_get_issue(DOMAIN, f"records_rejected_{entry.entry_id}")
    assert issue is not None
    (device,) = coordinator.data.devices.values()
    assert device.last_error is not None
    assert coordinator.update_interval == timedelta(minutes=15)  # not a retry loop
    assert device.waiting == 0

    stored = stored_kwh(emulator, device_id, "IMPORT")
    for n in range(3):
        await meter.period({"sensor.grid_import": 103 + n})
    await coordinator.async_refresh()
    (device,) = coordinator.data.devices.values()  # a fresh status
    assert device.last_error is None
    assert stored_kwh(emulator, device_id, "IMPORT") == pytest.approx(stored + 2.5, abs=1e-6)


async def test_unexpected_error_is_a_failed_cycle_with_backoff(
    hass: HomeAssistant,
    emulator: Emulator,
    freezer: FrozenDateTimeFactory,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A bug surfacing as an exception the uploader does not know: the cycle fails like any
    other (error shown, backing off, progress kept), one traceback, no tight loop."""
    meter = Meter(hass, freezer)
    entry, device_id = await setup_house(hass, emulator, meter)
    coordinator = uploads(entry)
    client = coordinator.client
    real = client.submit_interval_records
    calls = 0

    async def broken(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls <= 3:
            raise KeyError("records_accepted")
        return await real(*args, **kwargs)

    for n in range(1, 4):
        await meter.period(house_values(n))
    monkeypatch.setattr(client, "submit_interval_records", broken)
    await coordinator.async_refresh()
    (device,) = coordinator.data.devices.values()
    assert device.last_error is not None
    assert "records_accepted" in device.last_error
    assert timedelta(seconds=30) < coordinator.update_interval < timedelta(minutes=2)
    # the schedule backs off: 1, 2, 4 minutes; not a request every few seconds
    await meter.advance(meter.now + timedelta(minutes=2))
    assert calls == 2
    assert caplog.text.count("Traceback") == 1
    await meter.advance(meter.now + timedelta(minutes=10))
    assert calls == 4
    (device,) = coordinator.data.devices.values()  # a fresh status
    assert device.last_error is None
    await assert_conserved(hass, emulator, device_id, meter)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("0", None),
        ("-5", None),
        ("nan", None),
        ("inf", timedelta(hours=1)),
        ("999999999999", timedelta(hours=1)),
        ("Wed, 21 Oct 2015 07:28:00 GMT", None),
        ("soon", None),
    ],
)
async def test_odd_retry_after_is_clamped(
    hass: HomeAssistant,
    emulator: Emulator,
    freezer: FrozenDateTimeFactory,
    header: str,
    expected: timedelta | None,
) -> None:
    """Whatever a 429 asks for, the next attempt waits between 30 seconds and an hour: the
    usual backoff when it asks for little, nothing or nonsense, and the cycle never raises."""
    meter = Meter(hass, freezer)
    entry, device_id = await setup_house(hass, emulator, meter)
    coordinator = uploads(entry)
    await meter.period(house_values(1))
    emulator.state.fail_next("/meters/interval", 429, headers={"Retry-After": header})
    puts = emulator.requests("PUT", "/meters/interval")
    await coordinator.async_refresh()
    assert emulator.requests("PUT", "/meters/interval") == puts + 1
    wait = coordinator.update_interval
    assert wait is not None
    if expected is None:
        assert timedelta(seconds=30) <= wait <= timedelta(minutes=2)
    else:
        assert wait == expected
    await meter.advance(meter.now + timedelta(seconds=25))
    assert emulator.requests("PUT", "/meters/interval") == puts + 1  # no hammering
    await meter.advance(meter.now + wait)
    assert emulator.requests("PUT", "/meters/interval") == puts + 2
    await assert_conserved(hass, emulator, device_id, meter)


async def test_catch_up_failing_part_way_keeps_the_confirmed_windows(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """Set up with 40 days of history to send (34,560 records): windows of at most 10,000,
    each confirmed and saved. Flatpeak fails the second: the first stays sent and is not sent
    again; the rest follows on the next cycle, at the request floor."""
    days = 40
    meter = Meter(hass, freezer, START_40)
    sensors = {"sensor.grid_import": 0.5, "sensor.grid_export": 0.25, "sensor.solar": 0.125}
    for entity_id, per_hour in sensors.items():
        import_hourly(hass, entity_id, START_40 - timedelta(days=days), days * 24, per_hour)
        meter.set(entity_id, str(per_hour * days * 24))
    await meter.period()
    device_id = await new_device(hass, emulator, "house")
    entry = await make_entry(
        hass, emulator, subentries=[house_meter_subentry(device_id)], options={"history_days": 40}
    )
    emulator.state.fail_next("/meters/interval", 503, after=1)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    coordinator = uploads(entry)
    (device,) = coordinator.data.devices.values()
    assert device.last_error is not None
    first = len(emulator.state.records(device_id=device_id))
    assert 9_000 < first <= 10_000
    assert device.waiting == 3 * (days * 24 * 12 + 1) - first

    batches = len(emulator.state.batches)
    await coordinator.async_refresh()
    (device,) = coordinator.data.devices.values()  # a fresh status
    assert device.last_error is None
    assert device.waiting == 0
    sizes = [b["records_submitted"] for b in list(emulator.state.batches.values())[batches:]]
    assert sum(sizes) == 3 * (days * 24 * 12 + 1) - first  # nothing of the first window again
    assert len(sizes) == math.ceil(sum(sizes) / 10_000)
    for entity_id, per_hour in sensors.items():
        tariff = {"sensor.grid_import": "IMPORT", "sensor.grid_export": "EXPORT"}.get(
            entity_id, "LOCAL"
        )
        assert stored_kwh(emulator, device_id, tariff) == pytest.approx(
            per_hour * days * 24, abs=1e-6
        )
    assert_no_duplicates(emulator)


async def test_sensors_without_history_leave_little_waiting(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """Set up with a 10-day history window over sensors that were just created: the empty
    days are passed at once, so Intervals waiting counts the last hour at most, not days."""
    meter = Meter(hass, freezer)
    await meter.period(house_values(0))
    device_id = await new_device(hass, emulator, "house")
    entry = await make_entry(
        hass, emulator, subentries=[house_meter_subentry(device_id)], options={"history_days": 10}
    )
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    waiting = int(hass.states.get("sensor.1_test_street_intervals_waiting").state)
    assert waiting <= 3 * 12
    for n in range(1, 4):
        await meter.period(house_values(n))
    await uploads(entry).async_refresh()
    assert hass.states.get("sensor.1_test_street_intervals_waiting").state == "0"
    await assert_conserved(hass, emulator, device_id, meter)
