"""Retries that stay polite for days, in the real harness against the emulator: the account's
rate limit, one retry policy on every path, and errors short enough for a state."""

from __future__ import annotations

from datetime import datetime, timedelta
import itertools
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.flatpeak.costs.coordinator import CostCoordinator
from custom_components.flatpeak.sessions.costs import SessionCostCoordinator
from tests.conftest import Emulator
from tests.helpers import ev_charger_subentry, house_meter_subentry, make_entry, new_device
from tests.uploads_helpers import Meter, assert_conserved, setup_house, uploads

WAITING = "sensor.1_test_street_intervals_waiting"
UPLOAD_ERRORS = "sensor.1_test_street_upload_errors"
BACKOFF_CAP = timedelta(hours=1)


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


def costs(entry: MockConfigEntry) -> CostCoordinator:
    coordinator: CostCoordinator = entry.runtime_data.costs
    return coordinator


def sessions(entry: MockConfigEntry) -> SessionCostCoordinator:
    coordinator: SessionCostCoordinator = entry.runtime_data.sessions
    return coordinator


def puts(emulator: Emulator) -> int:
    return emulator.requests("PUT", "/meters/interval")


def requests_to(emulator: Emulator, prefix: str) -> int:
    return sum(1 for _, path in emulator.state.request_log if path.startswith(prefix))


def state(hass: HomeAssistant, entity_id: str) -> str:
    found = hass.states.get(entity_id)
    assert found is not None
    return found.state


def error_shown(hass: HomeAssistant) -> str | None:
    """The latest upload error's text, as Upload errors shows it."""
    found = hass.states.get(UPLOAD_ERRORS)
    assert found is not None
    error: str | None = found.attributes.get("error")
    return error


async def jump(hass: HomeAssistant, freezer: FrozenDateTimeFactory, when: datetime) -> None:
    """Move the clock to ``when`` and run every timer due by then."""
    freezer.move_to(when)
    async_fire_time_changed(hass, when)
    await hass.async_block_till_done(wait_background_tasks=True)


# -- the account's rate limit -----------------------------------------------------------


@pytest.mark.parametrize("refused", ["/costs/*", "/prices/*"])
async def test_a_429_on_costs_or_prices_quiets_the_whole_account(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory, refused: str
) -> None:
    """Flatpeak answers the first cost report (or price request) with 429 and Retry-After:
    1800. For the next 30 minutes nothing at all is sent, though upload cycles, cost
    refreshes and price refetches come due; then uploads go on and no energy is lost."""
    meter = Meter(hass, freezer)
    emulator.state.fail_next(refused, 429, retry_after=1800)
    entry, device_id = await setup_house(hass, emulator, meter)
    assert not emulator.state.faults  # the set-up's first cost report or prices got the 429
    refused_at = meter.now
    sent = len(emulator.state.request_log)
    n = 0
    while meter.t + timedelta(minutes=5) < refused_at + timedelta(seconds=1790):
        n += 1
        await meter.period(house_values(n))
    await meter.advance(refused_at + timedelta(seconds=1790))
    assert len(emulator.state.request_log) == sent  # 29 minutes: two upload cycles were due

    await meter.advance(refused_at + timedelta(seconds=1800 + 120))
    assert puts(emulator) > 0
    assert len(emulator.state.request_log) > sent
    await uploads(entry).async_refresh()
    await assert_conserved(hass, emulator, device_id, meter)


async def test_entries_of_one_account_share_its_rate_limit(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """Two locations of one account, two config entries: a 429 to one entry's upload keeps
    the other's upload from being sent too."""
    meter = Meter(hass, freezer)
    second = emulator.state.add_location(emulator.account_id, reference_id="holiday-home")
    await meter.period({"sensor.grid_import": 100.0, "sensor.other_import": 7.0})
    entries = []
    for location_id, reference, sensor in (
        (emulator.location_id, "house", "sensor.grid_import"),
        (second.id, "other", "sensor.other_import"),
    ):
        subentry = house_meter_subentry(
            await new_device(hass, emulator, reference), grid_import=sensor
        )
        del subentry["data"]["grid_export"], subentry["data"]["solar"]
        entries.append(
            await make_entry(
                hass,
                emulator,
                location_id=location_id,
                subentries=[subentry],
                options={"history_days": 1},
            )
        )
    assert await hass.config_entries.async_setup(entries[0].entry_id)  # sets up both
    await hass.async_block_till_done(wait_background_tasks=True)
    for n in range(1, 4):
        await meter.period({"sensor.grid_import": 100 + n, "sensor.other_import": 7 + n})
    emulator.state.fail_next("/meters/interval", 429, retry_after=600)
    await uploads(entries[0]).async_refresh()
    sent = len(emulator.state.request_log)
    await uploads(entries[1]).async_refresh()
    assert len(emulator.state.request_log) == sent
    (device,) = uploads(entries[1]).data.devices.values()
    assert device.last_error is not None
    assert "429" in device.last_error
    assert uploads(entries[1]).update_interval > timedelta(minutes=9)  # waits it out too


# -- one retry policy ---------------------------------------------------------------------


async def test_two_days_of_failures_keep_the_schedule_and_the_diagnostics(
    hass: HomeAssistant,
    emulator: Emulator,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Flatpeak answers every upload with 503 for a day and a half or more, and HA is not
    restarted: 45 failed cycles in a row, each at most an hour after the last, none
    raising; the diagnostic entities follow every cycle; the first success after it is a
    normal cycle."""
    meter = Meter(hass, freezer)
    entry, _ = await setup_house(hass, emulator, meter)
    coordinator = uploads(entry)
    for n in range(1, 4):
        await meter.period(house_values(n))
    emulator.state.fail_next("/meters/interval", 503, count=10_000)
    before = puts(emulator)
    await coordinator.async_refresh()
    now = meter.now
    waiting = [int(state(hass, WAITING))]
    waits: list[timedelta] = []
    for cycle in range(2, 46):
        wait = coordinator.update_interval
        assert wait is not None
        waits.append(wait)
        now += wait + timedelta(seconds=2)
        await jump(hass, freezer, now)
        assert puts(emulator) == before + cycle
        assert coordinator.last_update_success, f"cycle {cycle} raised"
        waiting.append(int(state(hass, WAITING)))
    assert max(waits) <= BACKOFF_CAP
    assert now - meter.now > timedelta(hours=30)  # the old arithmetic overflowed at 42
    assert coordinator.diagnostics()["consecutive_failures"] == 45
    assert waiting == sorted(waiting)
    assert waiting[-1] > waiting[-2] > waiting[-3]  # still counting at the end
    # Upload errors counts the failed cycles in a row and shows the latest error.
    assert state(hass, UPLOAD_ERRORS) == "45"
    assert "503" in error_shown(hass)
    assert "Traceback" not in caplog.text
    assert "OverflowError" not in caplog.text

    emulator.state.faults.clear()
    now += coordinator.update_interval + timedelta(seconds=2)
    await jump(hass, freezer, now)
    assert state(hass, UPLOAD_ERRORS) == "0"
    assert error_shown(hass) is None
    assert coordinator.diagnostics()["consecutive_failures"] == 0
    assert coordinator.update_interval == timedelta(minutes=15)
    assert int(state(hass, WAITING)) <= 3 * 12  # the last hour at most, still settling


@pytest.mark.parametrize("header", ["0", "-5", "soon"])
async def test_a_429_storm_is_met_with_growing_gaps(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory, header: str
) -> None:
    """Every upload is refused with 429 and a Retry-After asking for nothing (or nonsense):
    the gaps between attempts double like after any failure, so half an hour sees a
    handful of PUTs, not one every 30 seconds."""
    meter = Meter(hass, freezer)
    entry, _ = await setup_house(hass, emulator, meter)
    coordinator = uploads(entry)
    await meter.period(house_values(1))
    emulator.state.fail_next("/meters/interval", 429, count=10_000, headers={"Retry-After": header})
    before = puts(emulator)
    await coordinator.async_refresh()
    start = meter.now
    attempts = [start]
    while meter.now < start + timedelta(minutes=31):
        await meter.advance(meter.now + Meter.STEP)
        if puts(emulator) > before + len(attempts):
            attempts.append(meter.now)
    assert puts(emulator) == before + len(attempts)
    assert 4 <= len(attempts) <= 7
    gaps = [later - earlier for earlier, later in itertools.pairwise(attempts)]
    assert gaps == sorted(gaps)
    assert len(set(gaps)) == len(gaps)  # each gap longer than the one before
    assert coordinator.diagnostics()["consecutive_failures"] == len(attempts)


async def test_cost_reports_wait_out_the_policy_after_a_failure(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """A cost report fails: a refresh asked for within the policy's delay (another upload
    cycle, upload_history) sends nothing; one after it asks again and succeeds."""
    meter = Meter(hass, freezer)
    entry, _ = await setup_house(hass, emulator, meter)
    for n in range(1, 4):
        await meter.period(house_values(n))
    emulator.state.fail_next("/costs/*", 503)
    reports = requests_to(emulator, "/costs/")
    await costs(entry).async_refresh()
    assert requests_to(emulator, "/costs/") == reports + 1
    assert not costs(entry).last_update_success
    await costs(entry).async_refresh()
    await costs(entry).async_refresh_since(meter.start)
    assert requests_to(emulator, "/costs/") == reports + 1
    assert not costs(entry).last_update_success

    freezer.tick(timedelta(minutes=2))  # past the first delay (1 minute ± 20 %)
    await costs(entry).async_refresh()
    assert requests_to(emulator, "/costs/") == reports + 1 + len(costs(entry).statistics)
    assert costs(entry).last_update_success


async def test_session_costs_wait_out_a_429(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """A session report answered 429 with Retry-After 600: the session is not asked for
    again, nor anything else sent, before 10 minutes have passed."""
    meter = Meter(hass, freezer)
    meter.set("binary_sensor.charging", "off", {})
    await meter.period({"sensor.charger_energy": 1000.0})
    charger_id = await new_device(hass, emulator, "charger")
    entry = await make_entry(
        hass, emulator, subentries=[ev_charger_subentry(charger_id)], options={"history_days": 1}
    )
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    meter.set("binary_sensor.charging", "on", {})
    await hass.async_block_till_done()
    await meter.period({"sensor.charger_energy": 1002.0})
    emulator.state.fail_next("/costs/session/*", 429, retry_after=600)
    await uploads(entry).async_refresh()  # the session's cost follows the cycle
    await hass.async_block_till_done(wait_background_tasks=True)
    assert not emulator.state.faults
    assert not sessions(entry).last_update_success
    sent = len(emulator.state.request_log)
    refused_at = meter.now
    freezer.tick(timedelta(minutes=5))
    await sessions(entry).async_refresh()
    assert len(emulator.state.request_log) == sent

    freezer.move_to(refused_at + timedelta(seconds=601))
    await sessions(entry).async_refresh()
    assert requests_to(emulator, "/costs/session/") == 2
    assert sessions(entry).last_update_success


# -- errors short enough to read ----------------------------------------------------------


async def test_a_huge_error_body_gives_a_short_upload_error(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """A 10 MB error page: Upload errors' error says the status and the first words in well
    under 255 characters, and is the same text the diagnostics show."""
    meter = Meter(hass, freezer)
    entry, _ = await setup_house(hass, emulator, meter)
    coordinator = uploads(entry)
    await meter.period(house_values(1))
    emulator.state.fail_next("/meters/interval", 503, text="Service unavailable. " * 500_000)
    await coordinator.async_refresh()
    await hass.async_block_till_done()
    shown = error_shown(hass)
    assert shown is not None
    assert len(shown) <= 200
    assert shown.startswith("503")
    assert "Service unavailable" in shown
    (device,) = coordinator.diagnostics()["devices"].values()
    assert device["last_error"] == shown
