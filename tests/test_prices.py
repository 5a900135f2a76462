"""Current price sensors from cached schedules, and the tariff gate shared with costs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
import json
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.recorder.history import get_significant_states
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant, State
from homeassistant.helpers import entity_registry as er, issue_registry as ir
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.recorder import get_instance
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.flatpeak.client import (
    FlatpeakClient,
    FlatpeakNoPriceDataError,
    FlatpeakNoTariffConnectedError,
    FlatpeakPendingConnectError,
    Prices,
    PriceSlot,
)
from custom_components.flatpeak.const import DOMAIN
from custom_components.flatpeak.issues import tariff_problem_issue_id
from custom_components.flatpeak.prices.coordinator import PricePeriod, price_period, refetch_at
from custom_components.flatpeak.tariff.gate import TariffGate
from tests.conftest import Emulator
from tests.helpers import add_sensors, house_meter_subentry, make_entry
from tests.uploads_helpers import import_hourly

LONDON = ZoneInfo("Europe/London")
SECOND = timedelta(seconds=1)
MINUTE = timedelta(minutes=1)
TRANSLATIONS = Path(__file__).parent.parent / "custom_components/flatpeak/translations/en.json"
CODES = ("no_tariff_connected", "pending_connect", "no_price_data")
TARIFF = [
    {
        "months": ["All"],
        "days_and_hours": [
            {
                "days": ["All"],
                "hours": [
                    {"valid_from": "00:00:00", "valid_to": "00:00:00", "rate": [{"fixed": 0.2}]}
                ],
            }
        ],
    }
]


def london(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    """A London wall-clock time as an aware UTC datetime."""
    return datetime(year, month, day, hour, minute, tzinfo=LONDON).astimezone(dt_util.UTC)


# Monday 2 June 2025, 15:00 in London (BST): before the 16:00-19:00 weekday peak.
MONDAY_3PM = london(2025, 6, 2, 15, 0)


def price_requests(emulator: Emulator, location_id: str | None = None) -> int:
    return emulator.requests("POST", f"/prices/{location_id or emulator.location_id}")


def price_entities(hass: HomeAssistant, entry: MockConfigEntry) -> tuple[str, str]:
    """Entity ids of the import and export price sensors, found by unique id."""
    registry = er.async_get(hass)
    device_id = next(iter(entry.subentries.values())).data["device_id"]
    found = [
        registry.async_get_entity_id("sensor", DOMAIN, f"{device_id}_{key}")
        for key in ("import_price", "export_price")
    ]
    assert None not in found
    return found[0] or "", found[1] or ""


def gated_requests(emulator: Emulator, location_id: str) -> int:
    """Price-dependent requests: prices, and the cost reports that share the tariff gate."""
    return sum(
        1
        for _, path in emulator.state.request_log
        if path == f"/prices/{location_id}" or path.startswith("/costs/")
    )


def state_of(hass: HomeAssistant, entity_id: str) -> str:
    state = hass.states.get(entity_id)
    assert state is not None
    return state.state


def tariff_issue(hass: HomeAssistant, entry: MockConfigEntry) -> ir.IssueEntry | None:
    """The entry's issue about its tariff: the gate's, or the location status's one."""
    registry = ir.async_get(hass)
    return registry.async_get_issue(
        DOMAIN, tariff_problem_issue_id(entry.entry_id)
    ) or registry.async_get_issue(DOMAIN, f"no_import_tariff_{entry.entry_id}")


async def jump(hass: HomeAssistant, freezer: FrozenDateTimeFactory, when: datetime) -> None:
    """Move the clock to ``when`` and run every timer that is due by then."""
    freezer.move_to(when)
    async_fire_time_changed(hass, when)
    await hass.async_block_till_done(wait_background_tasks=True)


async def walk(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, start: datetime, end: datetime
) -> None:
    """Let time pass minute by minute, as a running HA would."""
    when = start
    while when < end:
        when = min(end, when + MINUTE)
        await jump(hass, freezer, when)


async def setup_entry(
    hass: HomeAssistant,
    emulator: Emulator,
    freezer: FrozenDateTimeFactory,
    *,
    location_id: str | None = None,
    start: datetime = MONDAY_3PM,
) -> MockConfigEntry:
    """A loaded entry with a house meter, its first prices read at ``start``."""
    freezer.move_to(start)
    add_sensors(hass)
    location_id = location_id or emulator.location_id
    client = FlatpeakClient(
        async_get_clientsession(hass),
        emulator.account_id,
        emulator.api_key,
        base_url=emulator.base_url,
    )
    # The house meter is at the entry's location, so its cost reports are priced there too.
    device = await client.create_device(f"house-{location_id}", location_ids=[location_id])
    entry = await make_entry(
        hass, emulator, location_id=location_id, subentries=[house_meter_subentry(device.id)]
    )
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    return entry


# -- the gate and its texts, without Flatpeak ------------------------------------------


async def test_gate_closes_for_15_minutes_and_keeps_one_issue(hass: HomeAssistant) -> None:
    """A tariff 422 closes the gate for 15 minutes with one issue whose text follows the code;
    a success opens it and clears the issue."""
    entry = MockConfigEntry(domain=DOMAIN, title="1 Test Street, London")
    entry.add_to_hass(hass)
    gate = TariffGate(hass, entry)
    changes: list[str | None] = []
    unsubscribe = gate.async_add_listener(lambda: changes.append(gate.problem))
    now = dt_util.utcnow()
    assert gate.allowed(now)
    assert gate.problem is None

    gate.failed(FlatpeakPendingConnectError(422, "pending_connect", "wait"), now)
    assert gate.problem == "pending_connect"
    assert not gate.allowed(now + timedelta(minutes=15) - SECOND)
    assert gate.allowed(now + timedelta(minutes=15))
    issue = tariff_issue(hass, entry)
    assert issue is not None
    assert issue.translation_key == "tariff_problem_pending_connect"
    assert issue.translation_placeholders == {
        "location": "1 Test Street, London",
        "dashboard_url": "https://dashboard.flatpeak.com",
    }

    later = now + timedelta(minutes=15)
    gate.failed(FlatpeakNoPriceDataError(422, "no_price_data", "none"), later)
    gate.failed(FlatpeakNoPriceDataError(422, "no_price_data", "none"), later)
    assert not gate.allowed(later + timedelta(minutes=14))
    issues = [i for (d, i) in ir.async_get(hass).issues if d == DOMAIN]
    assert issues == [tariff_problem_issue_id(entry.entry_id)]
    issue = tariff_issue(hass, entry)
    assert issue is not None
    assert issue.translation_key == "tariff_problem_no_price_data"

    gate.failed(FlatpeakNoTariffConnectedError(422, "no_tariff_connected", "none"), later)
    assert gate.problem == "no_tariff_connected"
    gate.succeeded()
    assert gate.problem is None
    assert gate.allowed(later)
    assert tariff_issue(hass, entry) is None
    assert changes == ["pending_connect", "no_price_data", "no_tariff_connected", None]
    unsubscribe()
    gate.failed(FlatpeakPendingConnectError(422, "pending_connect", "wait"), later)
    assert len(changes) == 4


def test_texts_exist_for_every_tariff_problem_and_price_sensor() -> None:
    """Each code has an issue title and a description that says what to do."""
    texts = json.loads(TRANSLATIONS.read_text())
    for code in CODES:
        issue = texts["issues"][f"tariff_problem_{code}"]
        assert "{location}" in issue["title"]
        assert "{dashboard_url}" in issue["description"]
        assert "15 minutes" in issue["description"]
    sensors = texts["entity"]["sensor"]
    assert sensors["import_price"]["name"] == "Current import price"
    assert sensors["export_price"]["name"] == "Current export price"


def test_refetch_time_follows_next_update_within_bounds() -> None:
    """At next_update, never sooner than 15 minutes, never later than 24 hours, and an hour
    before the schedule runs out."""
    now = MONDAY_3PM

    def prices(next_update: datetime | None, hours: float) -> Prices:
        slot = PriceSlot(now, now + timedelta(hours=hours), 0.2, 1.0)
        return Prices("GBP", "Europe/London", next_update, [slot])

    assert refetch_at(prices(now + timedelta(hours=9), 48), now) == now + timedelta(hours=9)
    assert refetch_at(prices(now + MINUTE, 48), now) == now + timedelta(minutes=15)
    assert refetch_at(prices(now + timedelta(days=3), 48), now) == now + timedelta(hours=24)
    assert refetch_at(prices(None, 48), now) == now + timedelta(hours=24)
    assert refetch_at(prices(now + timedelta(hours=9), 5), now) == now + timedelta(hours=4)
    assert refetch_at(prices(now + timedelta(hours=9), 0.5), now) == now + timedelta(minutes=15)
    assert refetch_at(Prices("GBP", None, None, []), now) == now + timedelta(minutes=15)


def test_price_period_is_what_the_schedule_tells() -> None:
    """Adjacent slots of one price are one period; a start or an end the schedule does not
    show (its first slot's start, its last slot's end) is None, and so is the next price
    across a gap."""
    t = [MONDAY_3PM + timedelta(hours=h) for h in range(8)]

    def slots(*spans: tuple[int, int, float]) -> Prices:
        return Prices("GBP", None, None, [PriceSlot(t[a], t[b], p, 1.0) for a, b, p in spans])

    # Given in any order; 0.2 from 1 to 3 in two slots.
    schedule = slots((3, 4, 0.3), (0, 1, 0.1), (1, 2, 0.2), (2, 3, 0.2), (5, 6, 0.3))
    assert price_period(schedule, t[1]) == PricePeriod(0.2, t[1], t[3], 0.3)
    assert price_period(schedule, t[2] + MINUTE) == PricePeriod(0.2, t[1], t[3], 0.3)
    assert price_period(schedule, t[0]) == PricePeriod(0.1, None, t[1], 0.2)
    # Followed by a gap: no next price; after the gap a start of its own.
    assert price_period(schedule, t[3]) == PricePeriod(0.3, t[3], t[4], None)
    assert price_period(schedule, t[4]) is None
    assert price_period(schedule, t[5]) == PricePeriod(0.3, t[5], None, None)
    # One price over the whole schedule: neither its start nor its end is known.
    assert price_period(slots((0, 2, 0.15), (2, 7, 0.15)), t[3]) == PricePeriod(
        0.15, None, None, None
    )
    assert price_period(slots(), t[0]) is None


# -- the sensors over a simulated day ----------------------------------------------------


async def test_prices_switch_at_each_boundary_without_requests(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """The states change exactly at 16:00, 19:00, 00:30 and 04:30 London time from the cached
    schedule; Flatpeak is asked once per direction at start and at next_update (midnight)."""
    entry = await setup_entry(hass, emulator, freezer)
    import_price, export_price = price_entities(hass, entry)
    assert price_requests(emulator) == 2

    state = hass.states.get(import_price)
    assert state is not None
    assert state.state == "0.245"
    assert state.attributes["unit_of_measurement"] == "GBP/kWh"
    assert state.attributes["state_class"] == "measurement"
    assert "device_class" not in state.attributes
    assert state.attributes["friendly_name"] == "1 Test Street Current import price"
    assert datetime.fromisoformat(state.attributes["valid_to"]) == london(2025, 6, 2, 16, 0)
    assert state.attributes["next_price"] == 0.35
    state = hass.states.get(export_price)
    assert state is not None
    assert (state.state, state.attributes["unit_of_measurement"]) == ("0.15", "GBP/kWh")
    registry = er.async_get(hass)
    assert registry.async_get(import_price).options["sensor"] == {  # type: ignore[union-attr]
        "suggested_display_precision": 4
    }

    midnight = london(2025, 6, 3, 0, 0)
    steps = [
        (london(2025, 6, 2, 16, 0), "0.245", "0.35"),
        (london(2025, 6, 2, 19, 0), "0.35", "0.245"),
        (midnight, "0.245", "0.245"),
        (london(2025, 6, 3, 0, 30), "0.245", "0.07"),
        (london(2025, 6, 3, 4, 30), "0.07", "0.245"),
    ]
    for boundary, before, after in steps:
        await jump(hass, freezer, boundary - SECOND)
        assert state_of(hass, import_price) == before, boundary
        assert price_requests(emulator) == (2 if boundary <= midnight else 4)
        await jump(hass, freezer, boundary + 2 * SECOND)
        assert state_of(hass, import_price) == after, boundary
        assert state_of(hass, export_price) == "0.15"
        state = hass.states.get(import_price)
        assert state is not None
        if before != after:
            assert state.last_changed == boundary + 2 * SECOND
            assert datetime.fromisoformat(state.attributes["valid_from"]) == boundary
        # The refetch is at next_update: midnight, with both directions.
        assert price_requests(emulator) == (2 if boundary < midnight else 4)

    # A whole day from set-up: two requests at set-up, two at midnight.
    await jump(hass, freezer, MONDAY_3PM + timedelta(days=1) - SECOND)
    assert price_requests(emulator) == 4
    await jump(hass, freezer, london(2025, 6, 4, 0, 0) + 2 * SECOND)
    assert price_requests(emulator) == 6

    # What the recorder keeps of the state: the price and its unit, not the slot details.
    await async_wait_recording_done(hass)
    states = await get_instance(hass).async_add_executor_job(
        get_significant_states, hass, MONDAY_3PM - SECOND, None, [import_price]
    )
    recorded = [s for s in states[import_price] if isinstance(s, State)]
    # Unavailable only until the first prices arrive, in the background of set-up.
    assert [s.state for s in recorded] == [
        STATE_UNAVAILABLE,
        "0.245",
        "0.35",
        "0.245",
        "0.07",
        "0.245",
    ]
    assert all("valid_to" not in s.attributes for s in recorded)
    assert all(s.attributes["unit_of_measurement"] == "GBP/kWh" for s in recorded)


async def test_energy_dashboard_accepts_the_price_sensors(
    hass: HomeAssistant,
    emulator: Emulator,
    freezer: FrozenDateTimeFactory,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """energy/validate finds nothing wrong with the price sensors as entity prices of a
    grid import and export, in the preferences shape of the running HA."""
    # Signed in before the clock goes back to 2025, while the access token is valid (HTTP
    # views are all registered before the first connection).
    assert await async_setup_component(hass, "energy", {})
    client = await hass_ws_client(hass)
    entry = await setup_entry(hass, emulator, freezer)
    import_price, export_price = price_entities(hass, entry)
    for entity_id in ("sensor.grid_import", "sensor.grid_export"):
        import_hourly(hass, entity_id, MONDAY_3PM - timedelta(hours=2), 1, 1.0)
    await async_wait_recording_done(hass)

    unified = {
        "type": "grid",
        "stat_energy_from": "sensor.grid_import",
        "stat_energy_to": "sensor.grid_export",
        "stat_cost": None,
        "entity_energy_price": import_price,
        "number_energy_price": None,
        "stat_compensation": None,
        "entity_energy_price_export": export_price,
        "number_energy_price_export": None,
        "cost_adjustment_day": 0,
    }
    legacy = {
        "type": "grid",
        "flow_from": [
            {
                "stat_energy_from": "sensor.grid_import",
                "stat_cost": None,
                "entity_energy_price": import_price,
                "number_energy_price": None,
            }
        ],
        "flow_to": [
            {
                "stat_energy_to": "sensor.grid_export",
                "stat_compensation": None,
                "entity_energy_price": export_price,
                "number_energy_price": None,
            }
        ],
        "cost_adjustment_day": 0,
    }
    # Each HA line refuses the other's shape (2025.4: flow lists; 2026.x: one object).
    await client.send_json_auto_id({"type": "energy/save_prefs", "energy_sources": [unified]})
    answer = await client.receive_json()
    if not answer["success"]:
        await client.send_json_auto_id({"type": "energy/save_prefs", "energy_sources": [legacy]})
        answer = await client.receive_json()
    assert answer["success"], answer
    await hass.async_block_till_done()

    await client.send_json_auto_id({"type": "energy/validate"})
    answer = await client.receive_json()
    assert answer["success"]
    assert answer["result"]["energy_sources"] == [[]]
    # HA prices the grid import with our sensor from now on.
    assert hass.states.get("sensor.grid_import_cost") is not None

    # The check is real: an unavailable price is reported.
    emulator.state.fail_next(
        f"/prices/{emulator.location_id}", 422, body=error_body("no_price_data")
    )
    await jump(hass, freezer, london(2025, 6, 3, 0, 0) + 2 * SECOND)
    assert state_of(hass, import_price) == STATE_UNAVAILABLE
    await client.send_json_auto_id({"type": "energy/validate"})
    answer = await client.receive_json()
    found = {issue["type"] for issue in answer["result"]["energy_sources"][0]}
    assert found == {"entity_state_non_numeric"}


# -- tariff problems ---------------------------------------------------------------------


def error_body(code: str) -> dict[str, Any]:
    return {
        "object": "error",
        "type": "invalid_request",
        "code": code,
        "message": f"Injected {code}",
    }


async def _no_tariff(hass: HomeAssistant, emulator: Emulator) -> tuple[str, Callable[[], None]]:
    location = emulator.state.add_location(
        emulator.account_id, address_line1="2 Other Road", post_code="N2 2BB"
    )

    def fix() -> None:
        emulator.state.add_tariff_element(location.id, schedule=TARIFF)

    return location.id, fix


async def _pending(hass: HomeAssistant, emulator: Emulator) -> tuple[str, Callable[[], None]]:
    # Still pending at the first retry (15 min), ready at the second (30 min).
    emulator.state.set_pending_connect(emulator.location_id, 20 * 60)
    return emulator.location_id, lambda: None


async def _no_price_data(hass: HomeAssistant, emulator: Emulator) -> tuple[str, Callable[[], None]]:
    # Flatpeak answers every price-dependent call so, costs too.
    faults = [
        emulator.state.fail_next(path, 422, count=100, body=error_body("no_price_data"))
        for path in (f"/prices/{emulator.location_id}", "/costs/*")
    ]

    def fix() -> None:
        for fault in faults:
            emulator.state.faults.remove(fault)

    return emulator.location_id, fix


ARRANGE: dict[str, Callable[[HomeAssistant, Emulator], Awaitable[tuple[str, Callable[[], None]]]]]
ARRANGE = {
    "no_tariff_connected": _no_tariff,
    "pending_connect": _pending,
    "no_price_data": _no_price_data,
}


@pytest.mark.parametrize("code", CODES)
async def test_tariff_problem_makes_sensors_unavailable_and_retries_every_15_minutes(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory, code: str
) -> None:
    """Sensors are unavailable with the matching issue; price-dependent calls go out at most
    every 15 minutes (export waits for import); once prices come, all is back."""
    freezer.move_to(MONDAY_3PM)
    location_id, fix = await ARRANGE[code](hass, emulator)
    entry = await setup_entry(hass, emulator, freezer, location_id=location_id)
    import_price, export_price = price_entities(hass, entry)
    assert price_requests(emulator, location_id) == 1
    assert state_of(hass, import_price) == STATE_UNAVAILABLE
    assert state_of(hass, export_price) == STATE_UNAVAILABLE
    issue = tariff_issue(hass, entry)
    assert issue is not None
    assert issue.translation_key == (
        # the location's own status already reported the missing tariff: one issue, not two
        "no_import_tariff" if code == "no_tariff_connected" else f"tariff_problem_{code}"
    )
    assert entry.runtime_data.tariff_gate.problem == code

    # Minute by minute until Flatpeak prices again: the minutes in which any price-dependent
    # request went out (prices, or the cost reports behind the same gate).
    gate = entry.runtime_data.tariff_gate
    seen: list[int] = []
    count = gated_requests(emulator, location_id)
    for minute in range(1, 61):
        await jump(hass, freezer, MONDAY_3PM + minute * MINUTE)
        if (new := gated_requests(emulator, location_id)) != count:
            count = new
            seen.append(minute)
            if len(seen) == 1:  # the first retry still fails: then the tariff comes
                assert state_of(hass, import_price) == STATE_UNAVAILABLE
                issue = tariff_issue(hass, entry)
                assert issue is not None
                assert issue.translation_key in ("no_import_tariff", f"tariff_problem_{code}")
                fix()
        if gate.problem is None:
            break
    # The timers fire within a second or two of the 15 minutes.
    assert len(seen) == 2
    assert seen[0] in (15, 16)
    assert seen[1] - seen[0] in (15, 16)
    assert tariff_issue(hass, entry) is None

    # Both directions fetched fresh once allowed; the sensors are back.
    await walk(hass, freezer, MONDAY_3PM + seen[1] * MINUTE, MONDAY_3PM + (seen[1] + 2) * MINUTE)
    assert price_requests(emulator, location_id) in (3, 4)  # a retry may fall to costs
    expected = "0.2" if code == "no_tariff_connected" else "0.245"
    assert state_of(hass, import_price) == expected
    assert state_of(hass, export_price) != STATE_UNAVAILABLE

    # Then no price request until next_update.
    done = price_requests(emulator, location_id)
    await walk(hass, freezer, MONDAY_3PM + (seen[1] + 2) * MINUTE, MONDAY_3PM + 90 * MINUTE)
    assert price_requests(emulator, location_id) == done


async def test_export_refused_keeps_import_and_no_issue(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """Export prices refused while import prices work: only the export sensor is
    unavailable, no issue, and only export is asked again (15 minutes later)."""
    emulator.state.fail_next(
        f"/prices/{emulator.location_id}", 422, after=1, body=error_body("no_tariff_connected")
    )
    entry = await setup_entry(hass, emulator, freezer)
    import_price, export_price = price_entities(hass, entry)
    assert price_requests(emulator) == 2
    assert state_of(hass, import_price) == "0.245"
    assert state_of(hass, export_price) == STATE_UNAVAILABLE
    assert tariff_issue(hass, entry) is None

    await walk(hass, freezer, MONDAY_3PM, MONDAY_3PM + 14 * MINUTE)
    assert price_requests(emulator) == 2
    await walk(hass, freezer, MONDAY_3PM + 14 * MINUTE, MONDAY_3PM + 16 * MINUTE)
    assert price_requests(emulator) == 3
    assert state_of(hass, export_price) == "0.15"
    assert state_of(hass, import_price) == "0.245"


async def test_transient_failures_keep_the_cached_prices(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """A 503 at set-up is retried after about a minute; a 503 at a refetch keeps the cached
    schedule, so the sensors go on switching."""
    emulator.state.fail_next(f"/prices/{emulator.location_id}", 503)
    entry = await setup_entry(hass, emulator, freezer)
    import_price, _ = price_entities(hass, entry)
    assert price_requests(emulator) == 1
    assert state_of(hass, import_price) == STATE_UNAVAILABLE
    await walk(hass, freezer, MONDAY_3PM, MONDAY_3PM + 2 * MINUTE)
    assert price_requests(emulator) == 3
    assert state_of(hass, import_price) == "0.245"

    midnight = london(2025, 6, 3, 0, 0)
    emulator.state.fail_next(f"/prices/{emulator.location_id}", 503, count=2)
    await jump(hass, freezer, midnight + 2 * SECOND)
    assert price_requests(emulator) == 4
    await jump(hass, freezer, london(2025, 6, 3, 0, 30))
    assert state_of(hass, import_price) == "0.07"
    assert tariff_issue(hass, entry) is None
    # Backoff: 1 then 2 minutes (±20 %), then both directions.
    await walk(hass, freezer, london(2025, 6, 3, 0, 30), london(2025, 6, 3, 0, 35))
    assert price_requests(emulator) == 7


async def test_unload_leaves_nothing_running(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """After unload no price boundary changes a state and no refetch is made."""
    entry = await setup_entry(hass, emulator, freezer)
    import_price, export_price = price_entities(hass, entry)
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)

    def snapshot() -> list[tuple[str, datetime] | None]:
        states = [hass.states.get(e) for e in (import_price, export_price)]
        return [(s.state, s.last_updated) if s else None for s in states]

    before = snapshot()
    requests = len(emulator.state.request_log)

    await jump(hass, freezer, london(2025, 6, 2, 16, 0) + SECOND)
    await jump(hass, freezer, london(2025, 6, 3, 0, 0) + SECOND)
    await jump(hass, freezer, london(2025, 6, 3, 0, 30) + SECOND)
    assert snapshot() == before
    assert len(emulator.state.request_log) == requests


# -- what the attributes say ---------------------------------------------------------------

EXPORT_TIME_OF_USE = [
    {
        "months": ["All"],
        "days_and_hours": [
            {
                "days": ["All"],
                "hours": [
                    {"valid_from": "00:00:00", "valid_to": "07:00:00", "rate": [{"fixed": 0.05}]},
                    {"valid_from": "07:00:00", "valid_to": "00:00:00", "rate": [{"fixed": 0.15}]},
                ],
            }
        ],
    }
]


def attributes(hass: HomeAssistant, entity_id: str) -> dict[str, Any]:
    """The price attributes; every time among them is whole seconds."""
    state = hass.states.get(entity_id)
    assert state is not None
    shown = {key: state.attributes[key] for key in ("valid_from", "valid_to", "next_price")}
    for key in ("valid_from", "valid_to"):
        if shown[key] is not None:
            assert "." not in shown[key], shown[key]
            shown[key] = datetime.fromisoformat(shown[key])
    return shown


async def test_valid_to_is_where_the_price_ends_or_none(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """The demo's flat export rate has its only slot end where the request ends (Flatpeak's
    slots always have an end): neither start nor end is shown, not an invented time two days
    ahead. A time-of-use export rate and the import rate show their real start and end, to
    the second, though set up at an odd moment."""
    odd = MONDAY_3PM + timedelta(minutes=7, seconds=5, microseconds=654321)
    entry = await setup_entry(hass, emulator, freezer, start=odd)
    import_price, export_price = price_entities(hass, entry)
    assert state_of(hass, export_price) == "0.15"
    assert attributes(hass, export_price) == {
        "valid_from": None,
        "valid_to": None,
        "next_price": None,
    }
    assert attributes(hass, import_price) == {
        "valid_from": london(2025, 6, 2, 4, 30),  # from the day before set-up
        "valid_to": london(2025, 6, 2, 16, 0),
        "next_price": 0.35,
    }

    location = emulator.state.add_location(
        emulator.account_id, address_line1="3 Solar Lane", post_code="N3 3CC"
    )
    emulator.state.add_tariff_element(location.id, schedule=TARIFF)
    emulator.state.add_tariff_element(location.id, "EXPORT", EXPORT_TIME_OF_USE)
    other = await setup_entry(hass, emulator, freezer, location_id=location.id, start=odd)
    import_price, export_price = price_entities(hass, other)
    assert attributes(hass, export_price) == {
        "valid_from": london(2025, 6, 2, 7, 0),
        "valid_to": london(2025, 6, 3, 0, 0),
        "next_price": 0.05,
    }
    assert attributes(hass, import_price) == {  # one rate all day
        "valid_from": None,
        "valid_to": None,
        "next_price": None,
    }

    # Past midnight (and the refetch there), the night rate until 07:00.
    await jump(hass, freezer, london(2025, 6, 3, 0, 0) + 2 * SECOND)
    assert state_of(hass, export_price) == "0.05"
    assert attributes(hass, export_price) == {
        "valid_from": london(2025, 6, 3, 0, 0),
        "valid_to": london(2025, 6, 3, 7, 0),
        "next_price": 0.15,
    }
