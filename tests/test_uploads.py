"""Meter uploads end to end: real recorder statistics in, emulator records out, energy summed."""

from __future__ import annotations

import copy
from datetime import timedelta
import itertools
import math
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er, issue_registry as ir
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
    setup_house,
    statistics_change,
    stored_kwh,
    uploads,
)

WH = {**ENERGY, "unit_of_measurement": "Wh"}


@pytest.fixture(autouse=True)
async def _sensor_statistics(hass: HomeAssistant) -> None:
    """The sensor integration compiles the statistics of sensors, as in a running HA."""
    assert await async_setup_component(hass, "sensor", {})


async def test_energy_conserved_through_bad_values(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """Unavailable, unknown, non-numeric, a reset and a Wh→kWh change: nothing lost or doubled."""
    meter = Meter(hass, freezer)
    entry, device_id = await setup_house(hass, emulator, meter)
    imp, exp, sol = 100.0, 50.0, 10.0
    bad = {3: "unavailable", 4: "unknown", 5: "garbage"}
    for n in range(1, 37):
        imp += 0.125
        exp += 0.05
        sol += 0.2 if 2 < n < 30 else 0.0
        values: dict[str, Any] = {"sensor.grid_export": exp, "sensor.solar": sol}
        if n in bad:
            values["sensor.grid_import"] = bad[n]
        elif n == 9:
            imp = 0.5  # the meter was replaced: total_increasing starts again
            values["sensor.grid_import"] = imp
        elif n >= 20:
            values["sensor.grid_import"] = (imp * 1000, WH)  # the sensor now reports Wh
        else:
            values["sensor.grid_import"] = imp
        await meter.period(values)
        if n % 3 == 0:
            await uploads(entry).async_refresh()
    await uploads(entry).async_refresh()

    await assert_conserved(hass, emulator, device_id, meter)
    assert await statistics_change(hass, "sensor.grid_import", meter.start, meter.t) > 3
    records = emulator.state.records(device_id=device_id)
    by_tariff = {r["tariff_direction"]: r for r in records}
    assert by_tariff["IMPORT"]["energy_flow_direction"] == "INBOUND"
    assert by_tariff["EXPORT"]["energy_flow_direction"] == "OUTBOUND"
    assert by_tariff["LOCAL"]["energy_flow_direction"] == "INBOUND"
    assert all(r["confidence"] == 1 for r in records if r["tariff_direction"] == "LOCAL")
    assert all(r["session_reference_id"] is None for r in records)


async def test_one_request_per_cycle(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """Steady state on the 15-minute schedule: one request per cycle, none with nothing new."""
    meter = Meter(hass, freezer)
    entry, device_id = await setup_house(hass, emulator, meter)
    base = emulator.requests("PUT", "/meters/interval")
    for n in range(12):  # one hour
        await meter.period(
            {
                "sensor.grid_import": 101 + n / 10,
                "sensor.grid_export": 51 + n / 20,
                "sensor.solar": 11,
            }
        )
    await meter.advance(meter.t + timedelta(minutes=1))
    # cycles at 10:20, 10:35, 10:50, 11:05 (each a moment before that period's compile)
    assert emulator.requests("PUT", "/meters/interval") == base + 4
    await meter.advance(meter.t + timedelta(minutes=16))  # the last period's leftover
    assert emulator.requests("PUT", "/meters/interval") == base + 5
    await meter.advance(meter.t + timedelta(minutes=46))  # two cycles with nothing new
    assert emulator.requests("PUT", "/meters/interval") == base + 5
    (device,) = uploads(entry).data.devices.values()
    assert device.last_error is None
    await assert_conserved(hass, emulator, device_id, meter)


async def test_restart_mid_upload_resends_without_double_counting(
    hass: HomeAssistant,
    emulator: Emulator,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
) -> None:
    """Records sent but progress not saved (HA stopped in between): sent again, replaced."""
    meter = Meter(hass, freezer)
    entry, device_id = await setup_house(hass, emulator, meter)
    key = f"{DOMAIN}.{entry.entry_id}"
    for n in range(6):
        await meter.period(
            {"sensor.grid_import": 100.5 + n, "sensor.grid_export": 50, "sensor.solar": 10 + n}
        )
    await uploads(entry).async_refresh()
    saved = copy.deepcopy(hass_storage[key])
    for n in range(6):
        await meter.period(
            {"sensor.grid_import": 107 + n, "sensor.grid_export": 51 + n, "sensor.solar": 16}
        )
    await uploads(entry).async_refresh()
    sent = len(emulator.state.records(device_id=device_id))

    assert await hass.config_entries.async_unload(entry.entry_id)
    hass_storage[key] = saved  # the progress of the last cycle never reached the disk
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    await uploads(entry).async_refresh()

    assert len(emulator.state.records(device_id=device_id)) == sent
    await assert_conserved(hass, emulator, device_id, meter)


async def test_flatpeak_down_two_hours_then_back(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """503s back off exponentially with jitter; the backlog is caught up once Flatpeak is back."""
    meter = Meter(hass, freezer)
    entry, device_id = await setup_house(hass, emulator, meter)
    coordinator = uploads(entry)
    before = emulator.requests("PUT", "/meters/interval")
    emulator.state.fail_next("/meters/interval", 503, count=10_000)
    delays = set()
    for n in range(24):  # two hours
        await meter.period(
            {
                "sensor.grid_import": 100 + n * 0.3,
                "sensor.grid_export": 50 + n * 0.1,
                "sensor.solar": 10,
            }
        )
        delays.add(coordinator.update_interval)
    ((device_subentry, device),) = coordinator.data.devices.items()
    assert device.last_error is not None
    assert "503" in device.last_error
    assert device.waiting > 0
    assert stored_kwh(emulator, device_id, "IMPORT") == 0
    attempts = emulator.requests("PUT", "/meters/interval") - before
    # 15-minute cycle, then waits of 1, 2, 4, 8, 16, 32, 60 minutes (±20 %): not hammering
    assert 5 <= attempts <= 9
    waits = sorted(delays - {timedelta(minutes=15)})
    assert waits[0] < timedelta(minutes=1, seconds=13)
    assert all(later > earlier * 1.3 for earlier, later in itertools.pairwise(waits))
    assert waits[-1] <= timedelta(hours=1, minutes=12)

    emulator.state.faults.clear()
    for n in range(15):  # Flatpeak is back; the next retry (at most ~72 minutes away) succeeds
        await meter.period(
            {"sensor.grid_import": 108 + n, "sensor.grid_export": 53, "sensor.solar": 10}
        )
        if coordinator.data.devices[device_subentry].last_error is None:
            break
    await coordinator.async_refresh()
    assert coordinator.update_interval == timedelta(minutes=15)
    (device,) = coordinator.data.devices.values()  # a fresh status each cycle
    assert device.last_error is None
    assert device.waiting == 0
    await assert_conserved(hass, emulator, device_id, meter)


async def test_rate_limit_and_token_expiry(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """429 waits exactly for Retry-After; an expired token is renewed within the cycle."""
    meter = Meter(hass, freezer)
    entry, device_id = await setup_house(hass, emulator, meter, upload_interval=60)
    coordinator = uploads(entry)
    for burst in range(3):
        for _ in range(3):
            await meter.period(
                {
                    "sensor.grid_import": 100 + meter.now.minute / 60,
                    "sensor.grid_export": 50,
                    "sensor.solar": 10,
                }
            )
        emulator.state.fail_next("/meters/interval", 429, count=1, retry_after=120 + burst)
        puts = emulator.requests("PUT", "/meters/interval")
        await coordinator.async_refresh()
        assert emulator.requests("PUT", "/meters/interval") == puts + 1
        assert coordinator.update_interval == timedelta(seconds=120 + burst)
        refused_at = meter.now
        await meter.advance(refused_at + timedelta(seconds=100))
        assert emulator.requests("PUT", "/meters/interval") == puts + 1  # still waiting
        await meter.advance(refused_at + timedelta(seconds=141 + burst))
        assert emulator.requests("PUT", "/meters/interval") == puts + 2
        assert coordinator.update_interval == timedelta(minutes=60)
    logins = emulator.requests("GET", "/login")
    emulator.state.expire_tokens()
    for _ in range(3):
        await meter.period(
            {"sensor.grid_import": 103, "sensor.grid_export": 51, "sensor.solar": 11}
        )
    await coordinator.async_refresh()
    assert emulator.requests("GET", "/login") == logins + 1
    await assert_conserved(hass, emulator, device_id, meter)


async def test_refused_records_retried_then_reported(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """failed_records are retried; refused three times, they are given up and a repair raised."""
    meter = Meter(hass, freezer)
    entry, device_id = await setup_house(hass, emulator, meter, upload_interval=60)
    coordinator = uploads(entry)
    # Flatpeak refuses two export records once (then accepts them) and one import record always.
    emulator.state.refuse_records(
        "temporary trouble", count=2, where=lambda r: r.tariff_direction == "EXPORT"
    )
    stuck = START + timedelta(minutes=10)
    emulator.state.refuse_records(
        "value out of range",
        count=99,
        where=lambda r: r.tariff_direction == "IMPORT" and r.start == stuck,
    )
    for n in range(3):
        await meter.period(
            {"sensor.grid_import": 101 + n, "sensor.grid_export": 51 + n, "sensor.solar": 10}
        )
    await coordinator.async_refresh()
    (device,) = coordinator.data.devices.values()
    assert device.last_error in ("temporary trouble", "value out of range")
    assert device.waiting == 3  # two export records and the import one, waiting for a retry
    issue_id = f"records_rejected_{entry.entry_id}"
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None

    await coordinator.async_refresh()  # export accepted now; import refused a second time
    (device,) = coordinator.data.devices.values()  # a fresh status
    assert device.waiting == 1
    await coordinator.async_refresh()  # third refusal: given up and reported
    (device,) = coordinator.data.devices.values()  # a fresh status
    assert device.waiting == 0
    issue = ir.async_get(hass).async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_placeholders["count"] == "1"
    assert "value out of range" in issue.translation_placeholders["example"]
    puts = emulator.requests("PUT", "/meters/interval")
    await coordinator.async_refresh()  # nothing left to retry, nothing new
    assert emulator.requests("PUT", "/meters/interval") == puts

    expected_import = await statistics_change(hass, "sensor.grid_import", meter.start, meter.t)
    lost = 1.0  # the refused import period (101 -> 102 happened in it)
    assert stored_kwh(emulator, device_id, "IMPORT") == pytest.approx(
        expected_import - lost, abs=1e-6
    )
    assert stored_kwh(emulator, device_id, "EXPORT") == pytest.approx(
        await statistics_change(hass, "sensor.grid_export", meter.start, meter.t), abs=1e-6
    )
    assert_no_duplicates(emulator)


async def test_auth_failure_starts_reauth(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """A key that stops working (even after one renewal) starts reauthentication."""
    meter = Meter(hass, freezer)
    entry, _ = await setup_house(hass, emulator, meter)
    await meter.period({"sensor.grid_import": 101, "sensor.grid_export": 50, "sensor.solar": 10})
    emulator.state.expire_tokens()
    emulator.state.fail_next("/login", 403, count=5)
    await uploads(entry).async_refresh()
    await hass.async_block_till_done()
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [f["context"]["source"] for f in flows] == ["reauth"]


async def test_broken_sensor_does_not_block_others(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """A mapped sensor that disappears gets a repair issue; the other streams keep flowing."""
    meter = Meter(hass, freezer)
    entry, device_id = await setup_house(hass, emulator, meter)
    hass.states.async_remove("sensor.grid_export")
    for n in range(3):
        await meter.period({"sensor.grid_import": 101 + n, "sensor.solar": 11 + n})
    await uploads(entry).async_refresh()
    assert stored_kwh(emulator, device_id, "IMPORT") == pytest.approx(
        await statistics_change(hass, "sensor.grid_import", meter.start, meter.t), abs=1e-6
    )
    subentry_id = next(iter(entry.subentries))
    prefix = f"sensor_problem_{entry.entry_id}_{subentry_id}"
    issue = ir.async_get(hass).async_get_issue(DOMAIN, f"{prefix}_grid_export")
    assert issue is not None
    assert issue.translation_key == "sensor_missing"

    # a sensor that stops being an energy sensor is reported too
    meter.set("sensor.solar", "5", {"device_class": "power", "unit_of_measurement": "W"})
    await uploads(entry).async_refresh()
    issue = ir.async_get(hass).async_get_issue(DOMAIN, f"{prefix}_solar")
    assert issue is not None
    assert issue.translation_key == "sensor_not_energy"

    # both come back: the issues go away and their energy is caught up
    meter.set("sensor.grid_export", "60")
    meter.set("sensor.solar", "20")
    await meter.period({"sensor.grid_import": 105, "sensor.grid_export": 61, "sensor.solar": 21})
    await uploads(entry).async_refresh()
    assert ir.async_get(hass).async_get_issue(DOMAIN, f"{prefix}_solar") is None
    assert ir.async_get(hass).async_get_issue(DOMAIN, f"{prefix}_grid_export") is None
    await assert_conserved(hass, emulator, device_id, meter)


async def test_history_window_longer_than_the_statistics(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """A 60-day window over 10 days of statistics: the empty weeks are passed, not re-read."""
    meter = Meter(hass, freezer, START + timedelta(days=10))
    hours = 10 * 24
    import_hourly(hass, "sensor.grid_import", START, hours, 1.0)
    meter.set("sensor.grid_import", str(float(hours)))
    await meter.period()
    device_id = await new_device(hass, emulator, "house")
    subentry = house_meter_subentry(device_id)
    del subentry["data"]["solar"]
    del subentry["data"]["grid_export"]
    entry = await make_entry(hass, emulator, subentries=[subentry], options={"history_days": 60})
    assert await hass.config_entries.async_setup(entry.entry_id)
    await meter.advance(meter.now + timedelta(minutes=1))  # the catch-up cycles run
    assert uploads(entry).update_interval == timedelta(minutes=15)
    assert stored_kwh(emulator, device_id, "IMPORT") == pytest.approx(float(hours), abs=1e-6)
    puts = emulator.requests("PUT", "/meters/interval")
    assert puts <= 2  # the empty window made no request
    await meter.advance(meter.now + timedelta(minutes=10))
    assert emulator.requests("PUT", "/meters/interval") == puts


async def test_backfill_from_hourly_history_counts_requests(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """30 days of hourly-only history: split into 5-minute records, ceil(N / 10,000) requests."""
    meter = Meter(hass, freezer, START + timedelta(days=30))
    hours = 30 * 24
    first = START
    for entity_id, per_hour in (("sensor.grid_import", 0.5), ("sensor.grid_export", 0.25)):
        import_hourly(hass, entity_id, first, hours, per_hour)
    meter.set("sensor.grid_import", str(0.5 * hours))
    meter.set("sensor.grid_export", str(0.25 * hours))
    hass.states.async_remove("sensor.solar")
    await meter.period()
    device_id = await new_device(hass, emulator, "house")
    subentry = house_meter_subentry(device_id)
    del subentry["data"]["solar"]
    entry = await make_entry(hass, emulator, subentries=[subentry], options={"history_days": 30})
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    await uploads(entry).async_refresh()

    records = len(emulator.state.records(device_id=device_id))
    # one record per 5 minutes and stream, plus each stream's first 5-minute row (no change)
    assert records == 2 * hours * 12 + 2
    assert emulator.requests("PUT", "/meters/interval") == math.ceil(records / 10_000) == 2
    assert stored_kwh(emulator, device_id, "IMPORT") == pytest.approx(0.5 * hours, abs=1e-6)
    assert stored_kwh(emulator, device_id, "EXPORT") == pytest.approx(0.25 * hours, abs=1e-6)
    # an hour's energy is spread evenly over its twelve 5-minute records
    from_hourly = [
        r
        for r in emulator.state.records(device_id=device_id)
        if r["tariff_direction"] == "IMPORT" and r["start_time"] < "2025-07-02T10:00:00Z"
    ]
    assert len(from_hourly) == hours * 12
    assert {round(r["energy_wh"], 6) for r in from_hourly} == {round(500 / 12, 6)}
    assert_no_duplicates(emulator)


async def test_charging_sessions_survive_restart(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """Records inside a session carry its id, outside none, and a session spans a restart."""
    meter = Meter(hass, freezer)
    meter.set("binary_sensor.charging", "off", {})
    await meter.period({"sensor.charger_energy": 1000.0})
    charger_id = await new_device(hass, emulator, "charger")
    entry = await make_entry(
        hass, emulator, subentries=[ev_charger_subentry(charger_id)], options={"history_days": 1}
    )
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)

    energy = 1000.0
    plan = ["off", "off", "on", "on", "on", "RESTART", "on", "on", "off", "off", "on", "off"]
    charging_periods: list[int] = []
    index = 0
    for step in plan:
        if step == "RESTART":
            await uploads(entry).async_refresh()
            assert await hass.config_entries.async_reload(entry.entry_id)
            await hass.async_block_till_done()
            continue
        energy += 2.0 if step == "on" else 0.0
        freezer.move_to(meter.t + timedelta(seconds=30))
        meter.set("binary_sensor.charging", step, {})
        await hass.async_block_till_done()
        if step == "on":
            charging_periods.append(index)
        await meter.period({"sensor.charger_energy": energy})
        index += 1
    await uploads(entry).async_refresh()

    records = sorted(emulator.state.records(device_id=charger_id), key=lambda r: r["start_time"])
    sessions = [r["session_reference_id"] for r in records]
    charged = [s for r, s in zip(records, sessions, strict=True) if r["energy_wh"] > 0]
    assert len(charged) == len(charging_periods) == 6
    assert None not in charged
    assert len(set(charged)) == 2  # one session across the restart, one after
    # records[0] is the period before set-up; then the plan's periods in order
    assert sessions[0] is None
    assert sessions[1] is None
    assert sessions[2] is None
    assert sessions[9] is None  # a whole period after the first session ended
    # the period in which a session ends overlaps it, so it is still tagged
    assert sessions[8] == charged[0]
    assert sum(r["energy_wh"] for r in records) / 1000 == pytest.approx(
        await statistics_change(hass, "sensor.charger_energy", meter.start, meter.t), abs=1e-6
    )
    session_cost = await entry.runtime_data.client.get_session_cost(charged[0])
    assert session_cost.total_energy_wh == pytest.approx(5 * 2000, abs=1)


async def test_cumulative_mode(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """Cumulative devices send a register that never decreases; energy still adds up."""
    meter = Meter(hass, freezer)
    await meter.period({"sensor.grid_import": 100.0})
    device_id = await new_device(hass, emulator, "house")
    subentry = house_meter_subentry(device_id, submission_mode="cumulative")
    del subentry["data"]["solar"]
    del subentry["data"]["grid_export"]
    entry = await make_entry(hass, emulator, subentries=[subentry], options={"history_days": 1})
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    value = 100.0
    for n in range(12):
        value = 0.3 if n == 5 else value + 0.2  # a meter reset in the middle
        await meter.period({"sensor.grid_import": value})
        if n % 4 == 3:
            await uploads(entry).async_refresh()
    assert emulator.requests("PUT", "/meters/interval") == 0
    assert emulator.requests("PUT", "/meters/cumulative/epoch") >= 3
    records = emulator.state.records(device_id=device_id)
    assert all(r["energy_wh"] >= 0 for r in records)
    assert stored_kwh(emulator, device_id, "IMPORT") == pytest.approx(
        await statistics_change(hass, "sensor.grid_import", meter.start, meter.t), abs=1e-6
    )


async def test_diagnostic_sensors(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """Last upload, intervals waiting and upload errors per device, readable during failures."""
    meter = Meter(hass, freezer)
    entry, _ = await setup_house(hass, emulator, meter)
    base = "sensor.1_test_street"
    registry = er.async_get(hass)
    # Off by default (a timestamp would write a logbook line every cycle); a user may enable it.
    assert (
        registry.async_get(f"{base}_last_upload").disabled_by
        is er.RegistryEntryDisabler.INTEGRATION
    )
    registry.async_update_entity(f"{base}_last_upload", disabled_by=None)
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    first_upload = hass.states.get(f"{base}_last_upload").state
    assert first_upload not in ("unknown", "unavailable")
    for n in range(2):
        await meter.period(
            {"sensor.grid_import": 101 + n, "sensor.grid_export": 50, "sensor.solar": 10}
        )
    await uploads(entry).async_refresh()
    first_upload = hass.states.get(f"{base}_last_upload").state
    for n in range(2):
        await meter.period(
            {"sensor.grid_import": 103 + n, "sensor.grid_export": 50, "sensor.solar": 10}
        )
    emulator.state.fail_next("/meters/interval", 500, count=1)
    await uploads(entry).async_refresh()
    assert hass.states.get(f"{base}_intervals_waiting").state == "6"  # 2 periods x 3 streams
    errors = hass.states.get(f"{base}_upload_errors")
    assert errors.state == "1"
    assert "500" in errors.attributes["error"]
    assert hass.states.get(f"{base}_last_upload").state == first_upload

    await uploads(entry).async_refresh()
    assert hass.states.get(f"{base}_intervals_waiting").state == "0"
    errors = hass.states.get(f"{base}_upload_errors")
    assert errors.state == "0"
    assert "error" not in errors.attributes
    assert hass.states.get(f"{base}_last_upload").state != first_upload
    assert entry.state is ConfigEntryState.LOADED
