"""The get_cost_report, get_prices and simulate_cost actions against the emulator over HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
import itertools
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import device_registry as dr
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)

from custom_components.flatpeak.client import (
    Aggregation,
    EnergyFlowDirection,
    MeterRecord,
    TariffDirection,
)
from custom_components.flatpeak.const import DOMAIN
from custom_components.flatpeak.core.profile import Interval, ProfileError, checked, merged
from tests.conftest import Emulator
from tests.emulator import EmulatorState, create_app
from tests.test_costs import client_for, setup_entry, submit
from tests.uploads_helpers import import_hourly

DAY = datetime(2025, 6, 2, 0, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
FIVE = timedelta(minutes=5)
LONDON = ZoneInfo("Europe/London")


@pytest.fixture(autouse=True)
async def _london(hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> None:
    """A home in London that counts in pounds, on 2 June 2025 at 10:10 UTC."""
    await hass.config.async_update(time_zone="Europe/London", currency="GBP")
    freezer.move_to(DAY + timedelta(hours=10, minutes=10))


async def act(hass: HomeAssistant, service: str, **data: Any) -> dict[str, Any]:
    response = await hass.services.async_call(
        DOMAIN, service, data, blocking=True, return_response=True
    )
    assert response is not None
    return dict(response)


async def refused(hass: HomeAssistant, service: str, key: str, **data: Any) -> None:
    """The action is refused with the translated error ``key``."""
    with pytest.raises(ServiceValidationError) as caught:
        await act(hass, service, **data)
    assert caught.value.translation_domain == DOMAIN
    assert caught.value.translation_key == key


async def failed(hass: HomeAssistant, service: str, key: str, **data: Any) -> HomeAssistantError:
    """The action fails (not the user's fault) with the translated error ``key``."""
    with pytest.raises(HomeAssistantError) as caught:
        await act(hass, service, **data)
    assert not isinstance(caught.value, ServiceValidationError)
    assert caught.value.translation_domain == DOMAIN
    assert caught.value.translation_key == key
    return caught.value


def ha_device(hass: HomeAssistant, entry: MockConfigEntry, flatpeak_id: str) -> str:
    registry = dr.async_get(hass)
    for device in dr.async_entries_for_config_entry(registry, entry.entry_id):
        if (DOMAIN, flatpeak_id) in device.identifiers:
            return device.id
    raise AssertionError(flatpeak_id)


def local(moment: datetime) -> str:
    return moment.astimezone(LONDON).isoformat()


# -- get_cost_report -------------------------------------------------------------------


async def test_cost_report_is_flatpeaks_report_of_the_house_meter(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    """Default device: the house meter; rows and totals as Flatpeak reports them, in
    London time and pounds."""
    entry, house, charger = await setup_entry(hass, emulator, charger=True)
    assert charger is not None
    await submit(hass, emulator, house, (DAY, DAY + 6 * HOUR), 0.1)
    await submit(hass, emulator, charger, (DAY, DAY + 2 * HOUR), 1.0)
    span = (DAY, DAY + 6 * HOUR)
    expected = await client_for(hass, emulator).get_interval_cost(house, *span)

    answer = await act(
        hass, "get_cost_report", config_entry_id=entry.entry_id, start=DAY, end=DAY + 6 * HOUR
    )

    assert answer["currency"] == "GBP"
    assert answer["timezone"] == "Europe/London"
    assert answer["direction"] == "import"
    assert len(answer["rows"]) == len(expected.rows) == 72
    for row, want in zip(answer["rows"], expected.rows, strict=True):
        assert row == {
            "start": local(want.start_time),
            "end": local(want.end_time),
            "kwh": pytest.approx(want.energy_wh / 1000),
            "cost": want.cost,
        }
    assert answer["rows"][0]["start"] == "2025-06-02T01:00:00+01:00"
    assert answer["total_kwh"] == pytest.approx(7.2)
    assert answer["total_cost"] == pytest.approx(expected.total_cost)
    assert answer["total_cost"] > 0


async def test_cost_report_of_a_charger_by_day_and_for_export(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    entry, house, charger = await setup_entry(hass, emulator, charger=True)
    assert charger is not None
    week = (DAY - timedelta(days=3), DAY + 6 * HOUR)
    await submit(hass, emulator, charger, week, 0.05)
    await submit(hass, emulator, house, week, 0.02, direction=TariffDirection.EXPORT)
    client = client_for(hass, emulator)

    answer = await act(
        hass,
        "get_cost_report",
        config_entry_id=entry.entry_id,
        device_id=ha_device(hass, entry, charger),
        start=week[0],
        end=week[1],
        aggregation="day",
    )
    expected = await client.get_interval_cost(charger, *week, aggregation=Aggregation.DAY)
    assert [(r["start"], r["cost"]) for r in answer["rows"]] == [
        (local(r.start_time), r.cost) for r in expected.rows
    ]
    assert len(answer["rows"]) == 4
    assert answer["total_kwh"] == pytest.approx(expected.total_energy_wh / 1000)
    assert answer["total_cost"] == pytest.approx(expected.total_cost)

    export = await act(
        hass,
        "get_cost_report",
        config_entry_id=entry.entry_id,
        start=week[0],
        end=week[1],
        direction="export",
        aggregation="month",
    )
    expected = await client.get_interval_cost(
        house, *week, tariff_direction=TariffDirection.EXPORT, aggregation=Aggregation.MONTH
    )
    assert export["direction"] == "export"
    assert len(export["rows"]) == 2  # May and June
    assert export["total_cost"] == pytest.approx(expected.total_cost)
    assert export["total_kwh"] == pytest.approx(expected.total_energy_wh / 1000)


async def test_cost_report_validation(hass: HomeAssistant, emulator: Emulator) -> None:
    entry, _, _ = await setup_entry(hass, emulator)
    base = {"config_entry_id": entry.entry_id}
    requests = len(emulator.state.request_log)
    await refused(hass, "get_cost_report", "end_before_start", **base, start=DAY, end=DAY)
    await refused(
        hass,
        "get_cost_report",
        "report_range_too_long",
        **base,
        start=DAY - timedelta(days=91),
        end=DAY,
    )
    other = MockConfigEntry(domain="demo")
    other.add_to_hass(hass)
    stranger = dr.async_get(hass).async_get_or_create(
        config_entry_id=other.entry_id, identifiers={("demo", "x")}
    )
    for device in (stranger.id, "no-such-device"):
        await refused(
            hass,
            "get_cost_report",
            "device_not_in_entry",
            **base,
            device_id=device,
            start=DAY,
            end=DAY + HOUR,
        )
    await refused(
        hass,
        "get_cost_report",
        "entry_not_found",
        config_entry_id="nope",
        start=DAY,
        end=DAY + HOUR,
    )
    assert len(emulator.state.request_log) == requests

    assert await hass.config_entries.async_unload(entry.entry_id)
    await refused(hass, "get_cost_report", "entry_not_loaded", **base, start=DAY, end=DAY + HOUR)


async def test_cost_report_flatpeak_failures(hass: HomeAssistant, emulator: Emulator) -> None:
    """A 503 is reported with Flatpeak's words; a tariff 422 gets its own text and the
    entry's tariff gate hears of it (the repair issue)."""
    entry, _, _ = await setup_entry(hass, emulator)
    data = {"config_entry_id": entry.entry_id, "start": DAY, "end": DAY + HOUR}
    emulator.state.fail_next("/costs/*", 503)
    err = await failed(hass, "get_cost_report", "flatpeak_failed", **data)
    assert "503" in (err.translation_placeholders or {})["error"]

    emulator.state.set_pending_connect(emulator.location_id, 3600)
    err = await failed(hass, "get_cost_report", "action_pending_connect", **data)
    assert err.translation_placeholders == {"location": entry.title}
    assert entry.runtime_data.tariff_gate.problem == "pending_connect"


async def test_cost_report_never_totals_what_flatpeak_did_not_price(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    """Rows without a cost make the report fail with a clear error, not a smaller total;
    a record listed twice counts once (its later row)."""
    entry, _, _ = await setup_entry(hass, emulator)
    data = {"config_entry_id": entry.entry_id, "start": DAY, "end": DAY + HOUR}

    def row(minute: int, cost: Any, ref: str) -> dict[str, Any]:
        start = DAY + timedelta(minutes=minute)
        return {
            "start_time": start.isoformat(),
            "end_time": (start + timedelta(minutes=5)).isoformat(),
            "energy": {"value": 100},
            "cost": {"value": cost},
            "record_reference_id": ref,
        }

    body = {"object": "energy_cost", "currency_code": "GBP", "data": []}
    emulator.state.fail_next(
        "/costs/*", 200, body={**body, "data": [row(0, 0.1, "a"), row(5, None, "b")]}
    )
    err = await failed(hass, "get_cost_report", "report_incomplete", **data)
    assert err.translation_placeholders == {"count": "1", "rows": "2"}

    twice = [row(0, 0.1, "a"), row(5, 0.2, "b"), row(0, 0.3, "a")]
    emulator.state.fail_next("/costs/*", 200, body={**body, "data": twice})
    answer = await act(hass, "get_cost_report", **data)
    assert [r["cost"] for r in answer["rows"]] == [0.3, 0.2]
    assert answer["total_cost"] == pytest.approx(0.5)
    assert answer["total_kwh"] == pytest.approx(0.2)


# -- get_prices ------------------------------------------------------------------------


async def test_prices_today_and_tomorrow_in_the_locations_day(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    entry, _, _ = await setup_entry(hass, emulator)
    client = client_for(hass, emulator)
    midnight = datetime(2025, 6, 2, tzinfo=LONDON)
    for period, day in (("today", midnight), ("tomorrow", midnight + timedelta(days=1))):
        answer = await act(hass, "get_prices", config_entry_id=entry.entry_id, period=period)
        end = day + timedelta(days=1)
        expected = await client.get_prices(
            emulator.location_id, end, start=day, tariff_direction=TariffDirection.IMPORT
        )
        assert answer["currency"] == "GBP"
        assert answer["timezone"] == "Europe/London"
        assert (answer["start"], answer["end"]) == (day.isoformat(), end.isoformat())
        assert answer["import"] == [
            {"start": local(s.valid_from), "end": local(s.valid_to), "price": s.price}
            for s in expected.slots
        ]
        assert len(answer["import"]) > 1  # the demo tariff is time-of-use
        assert answer["import"][0]["start"] == day.isoformat()
        assert answer["import"][-1]["end"] == end.isoformat()
        assert "export" not in answer


async def test_prices_for_a_range_both_directions(hass: HomeAssistant, emulator: Emulator) -> None:
    entry, _, _ = await setup_entry(hass, emulator)
    start, end = DAY + 16 * HOUR, DAY + 31 * HOUR
    answer = await act(
        hass,
        "get_prices",
        config_entry_id=entry.entry_id,
        start=start,
        end=end,
        direction=["import", "export"],
    )
    client = client_for(hass, emulator)
    for name, direction in (("import", TariffDirection.IMPORT), ("export", TariffDirection.EXPORT)):
        expected = await client.get_prices(
            emulator.location_id, end, start=start, tariff_direction=direction
        )
        assert [p["price"] for p in answer[name]] == [s.price for s in expected.slots]
        assert answer[name][0]["start"] == local(start)
        assert answer[name][-1]["end"] == local(end)
    cheapest = min(answer["import"], key=lambda p: p["price"])
    assert cheapest["price"] < max(p["price"] for p in answer["import"])


async def test_prices_validation_and_failures(hass: HomeAssistant, emulator: Emulator) -> None:
    entry, _, _ = await setup_entry(hass, emulator)
    base = {"config_entry_id": entry.entry_id}
    for data in ({}, {"period": "today", "start": DAY, "end": DAY + HOUR}, {"start": DAY}):
        await refused(hass, "get_prices", "period_or_range", **base, **data)
    await refused(hass, "get_prices", "end_before_start", **base, start=DAY, end=DAY - HOUR)
    await refused(
        hass,
        "get_prices",
        "report_range_too_long",
        **base,
        start=DAY,
        end=DAY + timedelta(days=90, seconds=1),
    )
    emulator.state.fail_next("/prices/*", 500)
    await failed(hass, "get_prices", "flatpeak_failed", **base, period="today")
    emulator.state.fail_next(
        "/prices/*",
        422,
        body={
            "object": "error",
            "type": "invalid_request",
            "code": "no_tariff_connected",
            "message": "No tariff",
        },
    )
    await failed(hass, "get_prices", "action_no_tariff_connected", **base, period="today")


# -- simulate_cost ---------------------------------------------------------------------


def profile(start: datetime, count: int, step: timedelta, kwh: float) -> list[dict[str, Any]]:
    return [
        {"start": start + n * step, "end": start + (n + 1) * step, "kwh": kwh} for n in range(count)
    ]


async def stored_cost(
    hass: HomeAssistant, emulator: Emulator, intervals: list[dict[str, Any]]
) -> list[float]:
    """What Flatpeak charges for the same energy submitted for real, per interval (a scratch
    device of the location: its own cost report)."""
    client = client_for(hass, emulator)
    device = await client.create_device("scratch", location_ids=[emulator.location_id])
    await client.submit_interval_records(
        [
            MeterRecord(
                location_id=emulator.location_id,
                device_id=device.id,
                start_time=item["start"],
                end_time=item["end"],
                value=item["kwh"],
                record_reference_id=f"scratch-{n}",
                energy_flow_direction=EnergyFlowDirection.INBOUND,
            )
            for n, item in enumerate(intervals)
        ]
    )
    report = await client.get_interval_cost(device.id, intervals[0]["start"], intervals[-1]["end"])
    return [row.cost for row in report.rows]


async def test_simulation_prices_the_intervals_and_stores_nothing(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    entry, house, _ = await setup_entry(hass, emulator)
    await submit(hass, emulator, house, (DAY, DAY + HOUR), 0.1)
    before = emulator.state.records()
    # Across the demo tariff's peak boundary, out of order.
    intervals = profile(DAY + 14 * HOUR, 4, HOUR, 2.5)
    answer = await act(
        hass, "simulate_cost", config_entry_id=entry.entry_id, intervals=intervals[::-1]
    )

    assert emulator.state.records() == before
    assert emulator.requests("POST", "/costs/instant") == 4
    assert answer["currency"] == "GBP"
    assert answer["direction"] == "import"
    assert answer["total_kwh"] == pytest.approx(10.0)
    costs = await stored_cost(hass, emulator, intervals)
    assert [i["cost"] for i in answer["intervals"]] == costs
    assert len(set(costs)) > 1
    assert answer["total_cost"] == pytest.approx(sum(costs))
    assert [(i["start"], i["end"], i["kwh"]) for i in answer["intervals"]] == [
        (local(i["start"]), local(i["end"]), 2.5) for i in intervals
    ]


@pytest.fixture
async def counted(socket_enabled: None, aiohttp_server: Any) -> tuple[Emulator, dict[str, int]]:
    """An emulator whose ``/costs/instant`` calls are counted, with the most in flight at once
    (each call yields to the loop a while before it is answered: time is frozen, so the
    emulator's own latency, a sleep, would never end)."""
    state = EmulatorState()
    demo = state.seed_demo()
    seen = {"calls": 0, "in_flight": 0, "most": 0}

    @web.middleware
    async def count(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if request.path != "/costs/instant":
            return await handler(request)
        seen["calls"] += 1
        seen["in_flight"] += 1
        seen["most"] = max(seen["most"], seen["in_flight"])
        try:
            for _ in range(50):
                await asyncio.sleep(0)
            return await handler(request)
        finally:
            seen["in_flight"] -= 1

    app = create_app(state)
    app.middlewares.insert(0, count)
    server = await aiohttp_server(app)
    emulator = Emulator(
        state=state,
        base_url=str(server.make_url("")).rstrip("/"),
        account_id=demo["account_id"],
        api_key=demo["api_key"],
        location_id=demo["location_id"],
    )
    return emulator, seen


async def test_a_long_profile_is_merged_to_96_requests_four_at_a_time(
    hass: HomeAssistant, counted: tuple[Emulator, dict[str, int]]
) -> None:
    emulator, seen = counted
    entry, _, _ = await setup_entry(hass, emulator)
    before = emulator.state.records()
    intervals = profile(DAY - timedelta(days=4), 960, FIVE, 0.05)  # 80 hours of 5 minutes
    answer = await act(hass, "simulate_cost", config_entry_id=entry.entry_id, intervals=intervals)

    assert seen["calls"] == len(answer["intervals"]) == 96
    assert 2 <= seen["most"] <= 4
    assert emulator.state.records() == before
    assert answer["total_kwh"] == pytest.approx(48.0)
    assert all(i["kwh"] == pytest.approx(0.5) for i in answer["intervals"])
    assert answer["intervals"][0]["start"] == local(intervals[0]["start"])
    assert answer["intervals"][-1]["end"] == local(intervals[-1]["end"])
    assert answer["total_cost"] == pytest.approx(sum(i["cost"] for i in answer["intervals"]))
    # The emulator prices energy spread evenly over an interval, like the 5-minute records.
    assert answer["total_cost"] == pytest.approx(
        sum(await stored_cost(hass, emulator, intervals)), abs=0.01
    )


async def test_simulation_from_a_sensors_hourly_statistics(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    """Last week's charging: the sensor's hourly change is the profile; hours with no energy
    are not sent."""
    entry, _, _ = await setup_entry(hass, emulator)
    start = DAY - timedelta(days=1)
    import_hourly(hass, "sensor.charger_energy", start + 2 * HOUR, 5, 7.0)
    await async_wait_recording_done(hass)
    before = emulator.state.records()
    answer = await act(
        hass,
        "simulate_cost",
        config_entry_id=entry.entry_id,
        entity_id="sensor.charger_energy",
        start=start,
        end=DAY,
    )
    # The first imported hour has no change before it (no earlier sum): four hours of 7 kWh.
    hours = [h["start"] for h in answer["intervals"]]
    assert answer["total_kwh"] == pytest.approx(7.0 * len(hours))
    assert len(hours) >= 4
    assert emulator.requests("POST", "/costs/instant") == len(hours)
    assert emulator.state.records() == before
    expected = await stored_cost(
        hass,
        emulator,
        [
            {
                "start": datetime.fromisoformat(i["start"]),
                "end": datetime.fromisoformat(i["end"]),
                "kwh": i["kwh"],
            }
            for i in answer["intervals"]
        ],
    )
    assert [i["cost"] for i in answer["intervals"]] == expected


async def test_simulation_validation(hass: HomeAssistant, emulator: Emulator) -> None:
    entry, _, _ = await setup_entry(hass, emulator)
    assert await async_setup_component(hass, "sensor", {})
    hass.states.async_set("sensor.no_history", "3", {"unit_of_measurement": "kWh"})
    base = {"config_entry_id": entry.entry_id}
    one = profile(DAY, 1, HOUR, 1.0)
    cases: list[tuple[str, dict[str, Any]]] = [
        ("profile_source", {}),
        ("profile_source", {"intervals": one, "entity_id": "sensor.grid_import"}),
        ("profile_source", {"intervals": one, "start": DAY}),
        ("profile_source", {"entity_id": "sensor.grid_import", "start": DAY}),
        ("profile_empty", {"intervals": []}),
        ("interval_negative_kwh", {"intervals": profile(DAY, 1, HOUR, -1.0)}),
        ("interval_end_before_start", {"intervals": [{"start": DAY, "end": DAY, "kwh": 1}]}),
        (
            "intervals_overlap",
            {"intervals": [*one, {"start": DAY + FIVE, "end": DAY + HOUR, "kwh": 1}]},
        ),
        ("profile_too_long", {"intervals": profile(DAY, 10_001, FIVE, 0.1)}),
        ("entity_not_found", {"entity_id": "sensor.nothing", "start": DAY - HOUR, "end": DAY}),
        (
            "entity_no_statistics",
            {"entity_id": "sensor.no_history", "start": DAY - HOUR, "end": DAY},
        ),
        ("end_before_start", {"entity_id": "sensor.grid_import", "start": DAY, "end": DAY}),
        (
            "simulation_range_too_long",
            {"entity_id": "sensor.grid_import", "start": DAY - timedelta(days=417), "end": DAY},
        ),
    ]
    requests = len(emulator.state.request_log)
    for key, data in cases:
        await refused(hass, "simulate_cost", key, **base, **data)
    assert len(emulator.state.request_log) == requests

    import_hourly(hass, "sensor.charger_energy", DAY - 10 * HOUR, 3, 1.0)
    await async_wait_recording_done(hass)
    await refused(
        hass,
        "simulate_cost",
        "entity_no_statistics_in_period",
        **base,
        entity_id="sensor.charger_energy",
        start=DAY - timedelta(days=3),
        end=DAY - timedelta(days=2),
    )


async def test_simulation_flatpeak_failure(hass: HomeAssistant, emulator: Emulator) -> None:
    entry, _, _ = await setup_entry(hass, emulator)
    before = emulator.state.records()
    emulator.state.fail_next("/costs/instant", 503, after=2)
    await failed(
        hass,
        "simulate_cost",
        "flatpeak_failed",
        config_entry_id=entry.entry_id,
        intervals=profile(DAY, 6, HOUR, 1.0),
    )
    assert emulator.state.records() == before


async def test_simulation_never_totals_what_flatpeak_did_not_price(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    """An instant cost without an amount fails the simulation with a clear error, not a
    smaller total."""
    entry, _, _ = await setup_entry(hass, emulator)
    start = DAY + timedelta(hours=2)
    body = {
        "object": "meter_record",
        "currency_code": "GBP",
        "data": {
            "start_time": start.isoformat(),
            "end_time": (start + HOUR).isoformat(),
            "energy": {"value": 1000},
            "cost": {"value": None},
        },
    }
    emulator.state.fail_next("/costs/instant", 200, body=body, after=1)
    err = await failed(
        hass,
        "simulate_cost",
        "report_incomplete",
        config_entry_id=entry.entry_id,
        intervals=profile(DAY, 3, HOUR, 1.0),
    )
    assert err.translation_placeholders == {"count": "1", "rows": "3"}


# -- the pure profile functions ----------------------------------------------------------


def test_merging_conserves_energy_and_keeps_the_span() -> None:
    items = [Interval(DAY + n * FIVE, DAY + (n + 1) * FIVE, 0.01 * (n % 7)) for n in range(1000)]
    result = merged(checked(items))
    assert len(result) <= 96
    assert sum(i.kwh for i in result) == pytest.approx(sum(i.kwh for i in items), abs=1e-9)
    assert result[0].start == next(i.start for i in items if i.kwh > 0)
    assert result[-1].end == items[-1].end
    assert all(a.end <= b.start for a, b in itertools.pairwise(result))


def test_checked_names_the_interval() -> None:
    with pytest.raises(ProfileError) as caught:
        checked([Interval(DAY, DAY + HOUR, 1), Interval(DAY + HOUR, DAY + HOUR, 1)])
    assert (caught.value.key, caught.value.index) == ("interval_end_before_start", 1)
