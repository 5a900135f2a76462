"""The flatpeak.upload_history action: real statistics in, emulator records out, over HTTP."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.flatpeak.const import DOMAIN, MAX_HISTORY_DAYS
from tests.conftest import Emulator
from tests.helpers import ev_charger_subentry, house_meter_subentry, make_entry, new_device
from tests.uploads_helpers import (
    START,
    Meter,
    assert_no_duplicates,
    import_hourly,
    statistics_change,
    stored_kwh,
)

HOUSE = {
    "sensor.grid_import": "IMPORT",
    "sensor.grid_export": "EXPORT",
    "sensor.solar": "LOCAL",
}
HOUR = timedelta(hours=1)
PERIODS = 12  # 5-minute periods after the first readings: 10:05 to 11:05 UTC


@pytest.fixture(autouse=True)
async def _sensor_statistics(hass: HomeAssistant) -> None:
    """The sensor integration compiles the statistics of sensors, as in a running HA."""
    assert await async_setup_component(hass, "sensor", {})


async def setup_with_history(
    hass: HomeAssistant, emulator: Emulator, meter: Meter, *, charger: str | None = None
) -> tuple[MockConfigEntry, str]:
    """An hour of statistics from START, then (an hour later) a loaded entry that sends none.

    ``history_days`` 0 makes the entry's own cycles start at the current hour, after the
    statistics, so whatever the emulator holds for the range came from the action.
    ``charger`` adds an EV charger subentry with that submission mode.
    """
    imp, exp, sol, ev = 100.0, 50.0, 10.0, 500.0
    values = {"sensor.grid_import": imp, "sensor.grid_export": exp, "sensor.solar": sol}
    if charger:
        meter.set("binary_sensor.charging", "off", {})
        values["sensor.charger_energy"] = ev
    await meter.period(values)
    for n in range(PERIODS):
        imp += 0.1 + n / 100
        exp += 0.05 if n % 3 else 0.0
        sol += 0.2 if n < 8 else 0.0
        ev += 1.5
        values = {"sensor.grid_import": imp, "sensor.grid_export": exp, "sensor.solar": sol}
        if charger:
            values["sensor.charger_energy"] = ev
        await meter.period(values)
    await meter.advance(meter.t + HOUR)
    device_id = await new_device(hass, emulator, "house")
    subentries = [house_meter_subentry(device_id)]
    if charger:
        charger_id = await new_device(hass, emulator, "charger")
        subentries.append(ev_charger_subentry(charger_id, submission_mode=charger))
    entry = await make_entry(hass, emulator, subentries=subentries, options={"history_days": 0})
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert entry.state is ConfigEntryState.LOADED
    assert emulator.state.records() == []
    return entry, device_id


async def upload_history(hass: HomeAssistant, **data: Any) -> dict[str, Any]:
    response = await hass.services.async_call(
        DOMAIN, "upload_history", data, blocking=True, return_response=True
    )
    assert response is not None
    return dict(response)


def per_sensor(by_tariff: dict[str, float]) -> Any:
    """The action's ``kwh`` answer expected for energy by tariff: one figure per sensor."""
    return pytest.approx(
        {entity_id: by_tariff[tariff] for entity_id, tariff in HOUSE.items()}, abs=1e-6
    )


async def expected_kwh(hass: HomeAssistant, start: datetime, end: datetime) -> dict[str, float]:
    """HA's statistics change of each house sensor over ``[start, end)``, by tariff."""
    return {
        tariff: await statistics_change(hass, entity_id, start, end)
        for entity_id, tariff in HOUSE.items()
    }


def assert_stored(emulator: Emulator, device_id: str, expected: dict[str, float]) -> None:
    for tariff, kwh in expected.items():
        assert stored_kwh(emulator, device_id, tariff) == pytest.approx(kwh, abs=1e-6), tariff


async def test_upload_history_sends_range_and_replaces_on_repeat(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """A past range of every stream is sent once per call; repeating it replaces, never adds."""
    meter = Meter(hass, freezer)
    entry, device_id = await setup_with_history(hass, emulator, meter)
    puts = emulator.requests("PUT", "/meters/interval")

    half = START + timedelta(minutes=30)
    result = await upload_history(
        hass, config_entry_id=entry.entry_id, start=START.isoformat(), end=half.isoformat()
    )
    expected_half = await expected_kwh(hass, START, half)
    assert result["records_sent"] == len(HOUSE) * 6
    assert result["records_failed"] == 0
    assert result["requests"] == 1
    assert result["kwh"] == per_sensor(expected_half)
    assert result["skipped_cumulative"] == []
    assert emulator.requests("PUT", "/meters/interval") == puts + 1
    assert len(emulator.state.records(device_id=device_id)) == len(HOUSE) * 6
    assert_stored(emulator, device_id, expected_half)

    # The whole hour: the first half is replaced, the second half added.
    end = START + HOUR
    expected = await expected_kwh(hass, START, end)
    assert expected["IMPORT"] > expected_half["IMPORT"] > 0
    assert expected["EXPORT"] > 0
    assert expected["LOCAL"] > 0
    result = await upload_history(
        hass, config_entry_id=entry.entry_id, start=START.isoformat(), end=end.isoformat()
    )
    assert result["records_sent"] == len(HOUSE) * PERIODS
    assert result["records_failed"] == 0
    assert result["requests"] == 1
    assert result["kwh"] == per_sensor(expected)
    records = emulator.state.records(device_id=device_id)
    assert len(records) == len(HOUSE) * PERIODS
    assert_stored(emulator, device_id, expected)

    # The same range again: the same records are replaced, the energy does not double.
    again = await upload_history(
        hass, config_entry_id=entry.entry_id, start=START.isoformat(), end=end.isoformat()
    )
    assert again == result
    assert emulator.requests("PUT", "/meters/interval") == puts + 3
    assert len(emulator.state.records(device_id=device_id)) == len(records)
    assert_stored(emulator, device_id, expected)
    assert_no_duplicates(emulator)
    starts = sorted({r["start_time"] for r in records})
    assert _utc(starts[0]) == START
    assert _utc(starts[-1]) == end - timedelta(minutes=5)


async def test_upload_history_without_end_runs_to_now(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """Without an end the range runs up to now: every compiled period of every stream."""
    meter = Meter(hass, freezer)
    entry, device_id = await setup_with_history(hass, emulator, meter)
    result = await upload_history(hass, config_entry_id=entry.entry_id, start=START.isoformat())
    expected = await expected_kwh(hass, START, meter.now)
    assert result["records_sent"] == len(HOUSE) * (PERIODS + 1)
    assert result["kwh"] == per_sensor(expected)
    assert_stored(emulator, device_id, expected)
    # The entry's own cycle starts at the current hour, so the cursor stays where it was:
    # the next cycle sends nothing of this range again.
    puts = emulator.requests("PUT", "/meters/interval")
    await entry.runtime_data.uploads.async_refresh()
    assert emulator.requests("PUT", "/meters/interval") == puts
    assert_stored(emulator, device_id, expected)


async def test_upload_history_with_charger_streams(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """An interval charger's energy goes in the same single request as the house's."""
    meter = Meter(hass, freezer)
    entry, device_id = await setup_with_history(hass, emulator, meter, charger="interval")
    charger_id = next(
        sub.data["device_id"]
        for sub in entry.subentries.values()
        if sub.subentry_type == "ev_charger"
    )
    end = START + HOUR
    result = await upload_history(
        hass, config_entry_id=entry.entry_id, start=START.isoformat(), end=end.isoformat()
    )
    assert result["records_sent"] == (len(HOUSE) + 1) * PERIODS
    assert result["requests"] == 1
    assert result["skipped_cumulative"] == []
    assert_stored(emulator, device_id, await expected_kwh(hass, START, end))
    assert stored_kwh(emulator, charger_id, "IMPORT") == pytest.approx(
        await statistics_change(hass, "sensor.charger_energy", START, end), abs=1e-6
    )


async def test_upload_history_skips_cumulative_streams(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """A cumulative register is not re-sent for a past range; the answer names its sensor."""
    meter = Meter(hass, freezer)
    entry, device_id = await setup_with_history(hass, emulator, meter, charger="cumulative")
    epochs = emulator.requests("PUT", "/meters/cumulative/epoch")
    end = START + HOUR
    result = await upload_history(
        hass, config_entry_id=entry.entry_id, start=START.isoformat(), end=end.isoformat()
    )
    assert result["skipped_cumulative"] == ["sensor.charger_energy"]
    assert result["records_sent"] == len(HOUSE) * PERIODS
    assert emulator.requests("PUT", "/meters/cumulative/epoch") == epochs
    assert {r["device_id"] for r in emulator.state.records()} == {device_id}
    assert_stored(emulator, device_id, await expected_kwh(hass, START, end))


async def test_upload_history_naive_times_are_local(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """A start and end without a zone (as the UI sends them) are Home Assistant's local time."""
    meter = Meter(hass, freezer)
    entry, device_id = await setup_with_history(hass, emulator, meter)
    await hass.config.async_set_time_zone("Europe/London")  # BST in June: UTC+1
    result = await upload_history(
        hass,
        config_entry_id=entry.entry_id,
        start="2025-06-02 11:00:00",
        end="2025-06-02 11:30:00",
    )
    assert result["records_sent"] == len(HOUSE) * 6
    starts = sorted(_utc(r["start_time"]) for r in emulator.state.records(device_id=device_id))
    assert starts[0] == START  # 11:00 in London is 10:00 UTC
    assert starts[-1] == START + timedelta(minutes=25)
    assert_stored(
        emulator, device_id, await expected_kwh(hass, START, START + timedelta(minutes=30))
    )


async def test_upload_history_range_without_statistics(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """Nothing recorded in the range: nothing sent and no request made."""
    meter = Meter(hass, freezer)
    entry, _ = await setup_with_history(hass, emulator, meter)
    requests = len(emulator.state.request_log)
    result = await upload_history(
        hass,
        config_entry_id=entry.entry_id,
        start=(START - timedelta(days=2)).isoformat(),
        end=(START - timedelta(days=1)).isoformat(),
    )
    assert result["records_sent"] == 0
    assert result["records_failed"] == 0
    assert result["requests"] == 0
    assert result["kwh"] == dict.fromkeys(HOUSE, 0.0)
    assert result["skipped_cumulative"] == []
    assert len(emulator.state.request_log) == requests
    assert emulator.state.records() == []


async def test_upload_history_longest_range_is_accepted(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """Exactly the maximum number of days is allowed (and here holds the recorded hour)."""
    meter = Meter(hass, freezer)
    entry, device_id = await setup_with_history(hass, emulator, meter)
    end = START + HOUR
    result = await upload_history(
        hass,
        config_entry_id=entry.entry_id,
        start=(end - timedelta(days=MAX_HISTORY_DAYS)).isoformat(),
        end=end.isoformat(),
    )
    assert result["records_sent"] == len(HOUSE) * PERIODS
    assert_stored(emulator, device_id, await expected_kwh(hass, START, end))


async def test_upload_history_flatpeak_failure(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """Flatpeak answering 503 fails the action with upload_failed; nothing is stored."""
    meter = Meter(hass, freezer)
    entry, device_id = await setup_with_history(hass, emulator, meter)
    emulator.state.fail_next("/meters/interval", 503)
    puts = emulator.requests("PUT", "/meters/interval")
    with pytest.raises(HomeAssistantError) as caught:
        await upload_history(hass, config_entry_id=entry.entry_id, start=START.isoformat())
    err = caught.value
    assert not isinstance(err, ServiceValidationError)
    assert err.translation_domain == DOMAIN
    assert err.translation_key == "upload_failed"
    assert err.translation_placeholders is not None
    assert "503" in err.translation_placeholders["error"]
    assert emulator.requests("PUT", "/meters/interval") == puts + 1
    assert emulator.state.records(device_id=device_id) == []

    # Flatpeak is back: the same call succeeds.
    result = await upload_history(hass, config_entry_id=entry.entry_id, start=START.isoformat())
    assert result["records_sent"] > 0
    assert_stored(emulator, device_id, await expected_kwh(hass, START, meter.now))


async def _refused(hass: HomeAssistant, emulator: Emulator, **data: Any) -> ServiceValidationError:
    """The action refuses the call before making any request."""
    requests = len(emulator.state.request_log)
    with pytest.raises(ServiceValidationError) as caught:
        await upload_history(hass, **data)
    assert len(emulator.state.request_log) == requests
    assert caught.value.translation_domain == DOMAIN
    return caught.value


async def test_upload_history_validation(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """Every refused call names its reason; none of them reaches Flatpeak."""
    meter = Meter(hass, freezer)
    entry, _ = await setup_with_history(hass, emulator, meter)
    now = meter.now

    err = await _refused(hass, emulator, config_entry_id="no-such-entry", start=START.isoformat())
    assert err.translation_key == "entry_not_found"
    assert err.translation_placeholders == {"entry_id": "no-such-entry"}
    assert str(err) == "No Flatpeak entry with id no-such-entry"  # translations/en.json

    other = MockConfigEntry(domain="sensor", title="Not Flatpeak")
    other.add_to_hass(hass)
    err = await _refused(hass, emulator, config_entry_id=other.entry_id, start=START.isoformat())
    assert err.translation_key == "entry_not_found"

    err = await _refused(
        hass,
        emulator,
        config_entry_id=entry.entry_id,
        start=START.isoformat(),
        end=(START - timedelta(minutes=5)).isoformat(),
    )
    assert err.translation_key == "end_before_start"
    err = await _refused(
        hass,
        emulator,
        config_entry_id=entry.entry_id,
        start=START.isoformat(),
        end=START.isoformat(),
    )
    assert err.translation_key == "end_before_start"

    err = await _refused(
        hass,
        emulator,
        config_entry_id=entry.entry_id,
        start=(now + HOUR).isoformat(),
        end=(now + 2 * HOUR).isoformat(),
    )
    assert err.translation_key == "start_in_future"

    err = await _refused(
        hass,
        emulator,
        config_entry_id=entry.entry_id,
        start=(now - timedelta(days=MAX_HISTORY_DAYS, minutes=5)).isoformat(),
        end=now.isoformat(),
    )
    assert err.translation_key == "range_too_long"
    assert err.translation_placeholders == {"field": "end", "days": str(MAX_HISTORY_DAYS)}
    assert str(err) == (
        f"The end can be at most {MAX_HISTORY_DAYS} days after the start: "
        f"at most {MAX_HISTORY_DAYS} days can be uploaded at once"
    )

    err = await _refused(
        hass,
        emulator,
        config_entry_id=entry.entry_id,
        start=(now - timedelta(days=MAX_HISTORY_DAYS + 30)).isoformat(),
    )
    assert err.translation_key == "range_too_long"

    # the first day of the calendar: one day of it, so not too long, but no day before it
    for start, end in (("0001-01-01T00:00:00", "0001-01-02T00:00:00"), ("0001-01-01", None)):
        err = await _refused(
            hass,
            emulator,
            config_entry_id=entry.entry_id,
            start=start,
            **({"end": end} if end else {}),
        )
        assert err.translation_key == "time_out_of_range"
    err = await _refused(
        hass,
        emulator,
        config_entry_id=entry.entry_id,
        start="0001-01-01T00:00:00+00:00",
        end="0001-01-02T00:00:00+00:00",
    )
    assert err.translation_key == "time_out_of_range"
    assert "0001-01-01" in str(err)

    assert await hass.config_entries.async_unload(entry.entry_id)
    assert entry.state is ConfigEntryState.NOT_LOADED
    err = await _refused(hass, emulator, config_entry_id=entry.entry_id, start=START.isoformat())
    assert err.translation_key == "entry_not_loaded"
    assert err.translation_placeholders == {"location": entry.title}
    assert emulator.state.records() == []


async def test_upload_history_entry_that_failed_to_set_up(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    """An entry whose set-up failed (its location is gone) is refused as not loaded."""
    good = await make_entry(hass, emulator)
    gone = await make_entry(hass, emulator, location_id="loc_000000000000000000000000")
    assert await hass.config_entries.async_setup(good.entry_id)
    await hass.async_block_till_done()
    assert good.state is ConfigEntryState.LOADED
    assert gone.state is ConfigEntryState.SETUP_ERROR
    with pytest.raises(ServiceValidationError) as caught:
        await upload_history(hass, config_entry_id=gone.entry_id, start=(START - HOUR).isoformat())
    assert caught.value.translation_domain == DOMAIN
    assert caught.value.translation_key == "entry_not_loaded"


def _utc(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def test_upload_history_keeps_netted_values(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """A `total` sensor dipping and recovering: re-sending a range right after the dip gives
    the same netted values the regular cycle sent, so Flatpeak still holds what HA used."""
    total = {"device_class": "energy", "state_class": "total", "unit_of_measurement": "kWh"}
    meter = Meter(hass, freezer)
    await meter.period({"sensor.grid_import": (100.0, total)})
    device_id = await new_device(hass, emulator, "house")
    subentry = house_meter_subentry(device_id)
    del subentry["data"]["grid_export"]
    del subentry["data"]["solar"]
    entry = await make_entry(hass, emulator, subentries=[subentry], options={"history_days": 1})
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    for value in (101.0, 100.5, 101.5, 102.0):
        await meter.period({"sensor.grid_import": (value, total)})
    await entry.runtime_data.uploads.async_refresh()
    used = await statistics_change(hass, "sensor.grid_import", meter.start, meter.t)
    assert used == pytest.approx(2.0)
    assert stored_kwh(emulator, device_id, "IMPORT") == pytest.approx(used, abs=1e-6)

    after_dip = START + timedelta(minutes=15)  # the 101.5 period, which still owes the dip
    await upload_history(hass, config_entry_id=entry.entry_id, start=after_dip, end=meter.t)
    assert stored_kwh(emulator, device_id, "IMPORT") == pytest.approx(used, abs=1e-6)
    assert_no_duplicates(emulator)


async def test_upload_history_of_weeks_walks_windows_at_the_request_floor(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """40 days of hourly history for three sensors: 34,560 records in windows of at most
    10,000, so ceil(34,560 / 10,000) = 4 requests; every stream's energy arrives."""
    days = 40
    meter = Meter(hass, freezer, START + timedelta(days=days))
    for entity_id, per_hour in zip(HOUSE, (0.5, 0.25, 0.125), strict=True):
        import_hourly(hass, entity_id, START, days * 24, per_hour)
    for entity_id, per_hour in zip(HOUSE, (0.5, 0.25, 0.125), strict=True):
        meter.set(entity_id, str(per_hour * days * 24))
    await meter.period()
    device_id = await new_device(hass, emulator, "house")
    entry = await make_entry(
        hass, emulator, subentries=[house_meter_subentry(device_id)], options={"history_days": 0}
    )
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    puts = emulator.requests("PUT", "/meters/interval")
    batches = len(emulator.state.batches)

    result = await upload_history(
        hass,
        config_entry_id=entry.entry_id,
        start=START.isoformat(),
        end=(START + timedelta(days=days)).isoformat(),
    )
    records = 3 * days * 24 * 12
    assert result["records_sent"] == records
    assert result["requests"] == emulator.requests("PUT", "/meters/interval") - puts == 4
    sizes = [b["records_submitted"] for b in list(emulator.state.batches.values())[batches:]]
    assert max(sizes) <= 10_000
    assert sum(sizes) == records
    assert result["kwh"] == pytest.approx(
        {e: p * days * 24 for e, p in zip(HOUSE, (0.5, 0.25, 0.125), strict=True)}, abs=1e-6
    )
    for tariff, per_hour in zip(HOUSE.values(), (0.5, 0.25, 0.125), strict=True):
        assert stored_kwh(emulator, device_id, tariff) == pytest.approx(
            per_hour * days * 24, abs=1e-6
        )


async def test_upload_history_failing_part_way_keeps_what_was_confirmed(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """The second of four windows fails: the action reports it, the first window's records
    stay at Flatpeak, and running the action again completes the range without doubling."""
    days = 40
    meter = Meter(hass, freezer, START + timedelta(days=days))
    for entity_id, per_hour in zip(HOUSE, (0.5, 0.25, 0.125), strict=True):
        import_hourly(hass, entity_id, START, days * 24, per_hour)
        meter.set(entity_id, str(per_hour * days * 24))
    await meter.period()
    device_id = await new_device(hass, emulator, "house")
    entry = await make_entry(
        hass, emulator, subentries=[house_meter_subentry(device_id)], options={"history_days": 0}
    )
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    data = {
        "config_entry_id": entry.entry_id,
        "start": START.isoformat(),
        "end": (START + timedelta(days=days)).isoformat(),
    }
    before = len(emulator.state.records(device_id=device_id))  # the entry's own cycle
    emulator.state.fail_next("/meters/interval", 503, after=1)
    with pytest.raises(HomeAssistantError) as caught:
        await upload_history(hass, **data)
    assert caught.value.translation_key == "upload_failed"
    first = len(emulator.state.records(device_id=device_id)) - before
    assert 9_000 < first <= 10_000  # the first window is kept

    result = await upload_history(hass, **data)
    assert result["records_sent"] == 3 * days * 24 * 12
    assert len(emulator.state.records(device_id=device_id)) - before == 3 * days * 24 * 12
    for tariff, per_hour in zip(HOUSE.values(), (0.5, 0.25, 0.125), strict=True):
        assert stored_kwh(emulator, device_id, tariff) == pytest.approx(
            per_hour * days * 24, abs=1e-6
        )
