"""Every number, time, range, count and length an action accepts is bounded.

Out of bounds, each action is refused with a translated error naming the field and the limit,
before any request to Flatpeak (the emulator's request log stays as it was); at the limit it
still works. In the real harness, against the emulator over HTTP.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
import pytest
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)

from custom_components.flatpeak.const import DOMAIN, MAX_HISTORY_DAYS
from tests.conftest import Emulator
from tests.helpers import ENERGY
from tests.test_actions import ha_device
from tests.test_costs import setup_entry
from tests.uploads_helpers import import_hourly

NOW = datetime(2025, 6, 2, 10, 10, tzinfo=UTC)
DAY = datetime(2025, 6, 2, tzinfo=UTC)
HOUR = timedelta(hours=1)
FIVE = timedelta(minutes=5)
EARLIEST, LATEST = "2000-01-01", "2100-01-01"
SIMULATION_DAYS = 416  # 10,000 hours


@pytest.fixture(autouse=True)
async def _london(hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> None:
    await hass.config.async_update(time_zone="Europe/London", currency="GBP")
    freezer.move_to(NOW)


async def act(hass: HomeAssistant, service: str, **data: Any) -> dict[str, Any]:
    response = await hass.services.async_call(
        DOMAIN, service, data, blocking=True, return_response=True
    )
    assert response is not None
    return dict(response)


async def refused(
    hass: HomeAssistant,
    emulator: Emulator,
    service: str,
    key: str,
    expected: dict[str, str],
    **data: Any,
) -> ServiceValidationError:
    """Refused with ``key`` and (at least) the ``expected`` placeholders, whose values the
    translated text shows; Flatpeak was not asked."""
    before = list(emulator.state.request_log)
    with pytest.raises(ServiceValidationError) as caught:
        await act(hass, service, **data)
    err = caught.value
    assert (err.translation_domain, err.translation_key) == (DOMAIN, key), str(err)
    assert expected.items() <= (err.translation_placeholders or {}).items(), (
        err.translation_placeholders
    )
    text = str(err)
    assert text != key, f"{key} has no text in en.json"
    assert "{" not in text, text  # every placeholder of the text was given
    for value in expected.values():
        assert value in text, (value, text)
    assert emulator.state.request_log == before
    return err


def interval(start: datetime, length: timedelta, kwh: Any) -> dict[str, Any]:
    return {"start": start.isoformat(), "end": (start + length).isoformat(), "kwh": kwh}


# -- simulate_cost: energy ---------------------------------------------------------------


async def test_simulation_refuses_energy_that_is_no_plausible_number(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    """1e308 kWh in 5 minutes was an OverflowError ("Unknown error"); NaN, inf, booleans
    and text were priced or called negative."""
    entry, _, _ = await setup_entry(hass, emulator)
    good = interval(DAY, HOUR, 1.0)
    field = "intervals[1].kwh"
    cases: list[tuple[Any, str, dict[str, str]]] = [
        (1e308, "interval_kwh_too_large", {"limit": "83.3333", "power": "1000"}),
        ("1e308", "interval_kwh_too_large", {"limit": "83.3333", "power": "1000"}),
        (83.34, "interval_kwh_too_large", {"limit": "83.3333", "value": "83.34"}),
        (-1, "interval_negative_kwh", {}),
        (-1e308, "interval_negative_kwh", {}),
        (float("nan"), "interval_kwh_not_a_number", {"value": "nan"}),
        ("nan", "interval_kwh_not_a_number", {"value": "nan"}),
        (float("inf"), "interval_kwh_not_a_number", {"value": "inf"}),
        ("-inf", "interval_kwh_not_a_number", {}),
        ("1e400", "interval_kwh_not_a_number", {}),  # inf once read
        (10**400, "interval_kwh_not_a_number", {}),  # too large for a float at all
        (True, "interval_kwh_not_a_number", {"value": "True"}),
        ("lots", "interval_kwh_not_a_number", {"value": "lots"}),
        ([1], "interval_kwh_not_a_number", {}),
        (None, "interval_kwh_not_a_number", {}),
    ]
    for kwh, key, expected in cases:
        await refused(
            hass,
            emulator,
            "simulate_cost",
            key,
            {"field": field, **expected},
            config_entry_id=entry.entry_id,
            intervals=[good, interval(DAY + 2 * HOUR, FIVE, kwh)],
        )
    # The limit grows with the interval: 1000 kW for 15 minutes is 250 kWh.
    await refused(
        hass,
        emulator,
        "simulate_cost",
        "interval_kwh_too_large",
        {"field": field, "limit": "250", "power": "1000", "duration": "0:15:00"},
        config_entry_id=entry.entry_id,
        intervals=[good, interval(DAY + 2 * HOUR, timedelta(minutes=15), 250.001)],
    )


async def test_simulation_prices_energy_at_the_limit(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    """1000 kW on average (250 kWh in 15 minutes, 1000 kWh in an hour) and energy given as
    text are priced; a sum of them is exact."""
    entry, _, _ = await setup_entry(hass, emulator)
    answer = await act(
        hass,
        "simulate_cost",
        config_entry_id=entry.entry_id,
        intervals=[
            interval(DAY, timedelta(minutes=15), 250),
            interval(DAY + HOUR, HOUR, 1000.0),
            interval(DAY + 3 * HOUR, timedelta(minutes=1), "7.5"),
            interval(DAY + 4 * HOUR, FIVE, 0),
        ],
    )
    assert emulator.requests("POST", "/costs/instant") == 3  # no energy, no request
    assert answer["total_kwh"] == 1257.5
    assert [i["kwh"] for i in answer["intervals"]] == [250, 1000, 7.5]
    assert answer["total_cost"] > 0


# -- simulate_cost: times, durations, spans and counts -----------------------------------


async def test_simulation_refuses_intervals_out_of_bounds(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    entry, _, _ = await setup_entry(hass, emulator)
    good = interval(DAY, HOUR, 1.0)
    base = {"config_entry_id": entry.entry_id}
    late = datetime(2099, 12, 31, 23, 30, tzinfo=UTC)
    cases: list[tuple[Any, str, dict[str, str]]] = [
        (
            interval(datetime(1999, 12, 31, 23, 0, tzinfo=UTC), HOUR, 1),
            "time_out_of_range",
            {"field": "intervals[1].start", "earliest": EARLIEST, "latest": LATEST},
        ),
        (
            interval(late, HOUR, 1),
            "time_out_of_range",
            {"field": "intervals[1].end", "earliest": EARLIEST, "latest": LATEST},
        ),
        (
            {"start": "0001-01-01 00:00:00", "end": "9999-12-31 23:59:59", "kwh": 1},
            "time_out_of_range",
            {"field": "intervals[1].start", "time": "0001-01-01T00:00:00"},
        ),
        (
            {"start": "soon", "end": DAY.isoformat(), "kwh": 1},
            "interval_not_a_time",
            {"field": "intervals[1].start", "value": "soon"},
        ),
        (
            {"start": DAY.isoformat(), "end": 1e308, "kwh": 1},
            "interval_not_a_time",
            {"field": "intervals[1].end", "value": "1e+308"},
        ),
        (
            {"start": DAY.isoformat(), "end": DAY.isoformat()},
            "interval_incomplete",
            {"field": "intervals[1]"},
        ),
        ("every night", "interval_incomplete", {"field": "intervals[1]"}),
        (
            interval(DAY + 2 * HOUR, timedelta(seconds=59), 0.01),
            "interval_too_short",
            {"field": "intervals[1]", "seconds": "60"},
        ),
        (
            interval(DAY + 2 * HOUR, -HOUR, 1),
            "interval_end_before_start",
            {"field": "intervals[1]"},
        ),
    ]
    for item, key, expected in cases:
        await refused(
            hass, emulator, "simulate_cost", key, expected, **base, intervals=[good, item]
        )

    # From the first start to the last end at most 416 days (10,000 hours).
    first = DAY - timedelta(days=SIMULATION_DAYS)
    await refused(
        hass,
        emulator,
        "simulate_cost",
        "profile_span_too_long",
        {"field": "intervals", "days": str(SIMULATION_DAYS)},
        **base,
        intervals=[interval(first - timedelta(minutes=1), HOUR, 1), interval(DAY - HOUR, HOUR, 1)],
    )
    # At most 10,000 intervals, counted before any is read.
    await refused(
        hass,
        emulator,
        "simulate_cost",
        "profile_too_long",
        {"field": "intervals", "limit": "10000"},
        **base,
        intervals=["x"] * 10_001,
    )


async def test_simulation_intervals_at_the_limits(hass: HomeAssistant, emulator: Emulator) -> None:
    """The first and last accepted times, a one-minute interval, a 416-day span and
    10,000 intervals are all priced."""
    entry, _, _ = await setup_entry(hass, emulator)
    base = {"config_entry_id": entry.entry_id}
    for intervals in (
        [{"start": "2000-01-01T00:00:00+00:00", "end": "2000-01-01T01:00:00+00:00", "kwh": 1}],
        [{"start": "2099-12-31T23:00:00+00:00", "end": "2100-01-01T00:00:00+00:00", "kwh": 1}],
        [interval(DAY, timedelta(minutes=1), 0.5)],
        [
            interval(DAY - timedelta(days=SIMULATION_DAYS), HOUR, 1),
            interval(DAY - HOUR, HOUR, 1),
        ],
    ):
        answer = await act(hass, "simulate_cost", **base, intervals=intervals)
        assert answer["total_kwh"] == sum(i["kwh"] for i in intervals)
        assert len(answer["intervals"]) == len(intervals)
    many = [interval(DAY - 10_000 * FIVE + n * FIVE, FIVE, 0.01) for n in range(10_000)]
    requests = emulator.requests("POST", "/costs/instant")
    answer = await act(hass, "simulate_cost", **base, intervals=many)
    assert answer["total_kwh"] == pytest.approx(100.0)
    assert emulator.requests("POST", "/costs/instant") == requests + 96


async def test_simulation_from_a_sensor_is_bounded_too(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    """An hour of a sensor's statistics above 1000 kWh (a meter glitch, Wh recorded as kWh)
    is refused naming the sensor and the hour; 1000 kWh is priced; the period is at most
    416 days."""
    entry, _, _ = await setup_entry(hass, emulator)
    hass.states.async_set("sensor.heat_pump_energy", "1.0", ENERGY)
    import_hourly(hass, "sensor.charger_energy", DAY - 10 * HOUR, 3, 2000.0)
    import_hourly(hass, "sensor.heat_pump_energy", DAY - 10 * HOUR, 3, 1000.0)
    await async_wait_recording_done(hass)
    base = {"config_entry_id": entry.entry_id, "end": DAY.isoformat()}
    start = (DAY - timedelta(days=SIMULATION_DAYS)).isoformat()

    await refused(
        hass,
        emulator,
        "simulate_cost",
        "interval_kwh_too_large",
        {
            "field": "sensor.charger_energy, hour from 2025-06-01T15:00:00+01:00",
            "limit": "1000",
            "value": "2000.0",
        },
        **base,
        entity_id="sensor.charger_energy",
        start=start,
    )
    answer = await act(
        hass, "simulate_cost", **base, entity_id="sensor.heat_pump_energy", start=start
    )
    assert [i["kwh"] for i in answer["intervals"]] == [1000.0] * 3
    assert emulator.requests("POST", "/costs/instant") == 3

    too_early = (DAY - timedelta(days=SIMULATION_DAYS, seconds=1)).isoformat()
    await refused(
        hass,
        emulator,
        "simulate_cost",
        "simulation_range_too_long",
        {"field": "end", "days": str(SIMULATION_DAYS)},
        **base,
        entity_id="sensor.heat_pump_energy",
        start=too_early,
    )
    await refused(
        hass,
        emulator,
        "simulate_cost",
        "time_out_of_range",
        {"field": "start", "earliest": EARLIEST, "latest": LATEST},
        config_entry_id=entry.entry_id,
        entity_id="sensor.heat_pump_energy",
        start="1999-12-31T00:00:00+00:00",
        end="2000-01-01T00:00:00+00:00",
    )


# -- get_cost_report, get_prices, upload_history: times and ranges -----------------------


@pytest.mark.parametrize(
    ("service", "key", "days"),
    [
        ("get_cost_report", "report_range_too_long", 90),
        ("get_prices", "report_range_too_long", 90),
        ("upload_history", "range_too_long", MAX_HISTORY_DAYS),
    ],
)
async def test_times_and_ranges_are_bounded(
    hass: HomeAssistant, emulator: Emulator, service: str, key: str, days: int
) -> None:
    entry, _, _ = await setup_entry(hass, emulator)
    base = {"config_entry_id": entry.entry_id}
    bounds = {"earliest": EARLIEST, "latest": LATEST}
    for start, end, field in (
        ("1999-12-31T23:59:59+00:00", "2000-01-01T01:00:00+00:00", "start"),
        ("0001-01-01T00:00:00", "0001-01-02T00:00:00", "start"),
        ("0001-01-01T00:00:00+01:00", "0001-01-02T00:00:00", "start"),  # no UTC for it
        ("2025-06-01T00:00:00+00:00", "2100-01-01T00:00:01+00:00", "end"),
        ("2025-06-01T00:00:00+00:00", "9999-12-31T23:59:59", "end"),
    ):
        await refused(
            hass,
            emulator,
            service,
            "time_out_of_range",
            {"field": field, **bounds},
            **base,
            start=start,
            end=end,
        )
    await refused(
        hass,
        emulator,
        service,
        key,
        {"field": "end", "days": str(days)},
        **base,
        start=(DAY - timedelta(days=days, seconds=1)).isoformat(),
        end=DAY.isoformat(),
    )

    # At the limits: the first accepted day, and exactly the longest range.
    first = await act(hass, service, **base, start="2000-01-01T00:00:00+00:00", end="2000-01-02")
    longest = await act(
        hass, service, **base, start=(DAY - timedelta(days=days)).isoformat(), end=DAY.isoformat()
    )
    if service == "upload_history":  # nothing recorded then: nothing to send
        assert first["records_sent"] == longest["records_sent"] == 0
    elif service == "get_prices":
        assert first["import"][0]["start"] == "2000-01-01T00:00:00+00:00"
        assert longest["import"][-1]["end"] == "2025-06-02T01:00:00+01:00"
    else:
        assert first["rows"] == longest["rows"] == []


async def test_prices_up_to_the_last_accepted_time(hass: HomeAssistant, emulator: Emulator) -> None:
    entry, _, _ = await setup_entry(hass, emulator)
    answer = await act(
        hass,
        "get_prices",
        config_entry_id=entry.entry_id,
        start="2099-12-31T00:00:00+00:00",
        end="2100-01-01T00:00:00+00:00",
    )
    assert answer["import"][-1]["end"] == "2100-01-01T00:00:00+00:00"


# -- charging sessions and echoed ids ------------------------------------------------------


async def test_session_label_is_at_most_100_characters(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    entry, _, charger = await setup_entry(hass, emulator, charger=True)
    assert charger is not None
    device_id = ha_device(hass, entry, charger)
    await refused(
        hass,
        emulator,
        "start_charging_session",
        "label_too_long",
        {"field": "label", "limit": "100"},
        device_id=device_id,
        label="x" * 101,
    )
    book = entry.runtime_data.sessions.book
    assert [list(book.sessions(sub)) for sub in book.chargers()] in ([], [[]])
    started = await act(hass, "start_charging_session", device_id=device_id, label="y" * 100)
    assert started["label"] == "y" * 100


async def test_errors_repeat_at_most_40_characters_of_what_was_given(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    """An id of 10,000 characters is not repeated whole in the error."""
    entry, _, _ = await setup_entry(hass, emulator)
    huge = "z" * 10_000
    cut = "z" * 39 + "…"
    await refused(
        hass, emulator, "get_prices", "entry_not_found", {"entry_id": cut}, config_entry_id=huge
    )
    await refused(
        hass,
        emulator,
        "get_cost_report",
        "device_not_in_entry",
        {"device_id": cut},
        config_entry_id=entry.entry_id,
        device_id=huge,
        start=DAY.isoformat(),
        end=(DAY + HOUR).isoformat(),
    )
    await refused(
        hass, emulator, "start_charging_session", "not_a_charger", {"device": cut}, device_id=huge
    )
    await refused(
        hass,
        emulator,
        "simulate_cost",
        "interval_kwh_not_a_number",
        {"field": "intervals[0].kwh", "value": "1" * 39 + "…"},
        config_entry_id=entry.entry_id,
        intervals=[interval(DAY, HOUR, "1" * 5000 + "x")],
    )
