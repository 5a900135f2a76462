"""EV charging sessions: their cost from Flatpeak, the completed event, ids and manual actions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
import logging
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import Event, HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.event import async_track_state_change_event
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.flatpeak.client import EnergyUnits, MeterRecord
from custom_components.flatpeak.const import DOMAIN
from custom_components.flatpeak.core.session_energy import SessionEnergy
from custom_components.flatpeak.core.sessions import Session, SessionCost, new_session_id
from custom_components.flatpeak.sessions.book import SessionBook
from tests.conftest import Emulator
from tests.helpers import ENERGY, ev_charger_subentry, house_meter_subentry, make_entry, new_device
from tests.uploads_helpers import Meter, uploads

SESSION_COST = "sensor.1_test_street_driveway_charger_session_cost"
EVENT = "event.1_test_street_driveway_charger_charging_session"


def session_requests(emulator: Emulator) -> int:
    """``POST /costs/session/…`` requests the emulator served."""
    return sum(
        1
        for method, path in emulator.state.request_log
        if method == "POST" and path.startswith("/costs/session/")
    )


def completed_events(hass: HomeAssistant) -> list[dict[str, Any]]:
    """Every ``session_completed`` the charger's event entity fires from now on.

    A fired event has a new state (its time); a restored one (after a reload) repeats it.
    """
    fired: list[dict[str, Any]] = []
    seen: set[str] = set()

    def _changed(event: Event[Any]) -> None:
        new = event.data["new_state"]
        if (
            new is not None
            and new.attributes.get("event_type") == "session_completed"
            and new.state not in seen
        ):
            seen.add(new.state)
            fired.append(dict(new.attributes))

    async_track_state_change_event(hass, [EVENT], _changed)
    return fired


async def setup_charger(
    hass: HomeAssistant,
    emulator: Emulator,
    meter: Meter,
    *,
    options: dict[str, Any] | None = None,
    **data: Any,
) -> tuple[MockConfigEntry, str]:
    """A loaded entry with one EV charger whose energy sensor has a first reading."""
    meter.set("binary_sensor.charging", "off", {})
    await meter.period({"sensor.charger_energy": 1000.0})
    charger_id = await new_device(hass, emulator, "charger")
    entry = await make_entry(
        hass,
        emulator,
        subentries=[ev_charger_subentry(charger_id, **data)],
        options={"history_days": 1, **(options or {})},
    )
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    return entry, charger_id


async def drive(
    hass: HomeAssistant, meter: Meter, plan: list[str], energy: float = 1000.0
) -> float:
    """Periods with the charging entity on or off, 2 kWh per period while on."""
    for step in plan:
        energy += 2.0 if step == "on" else 0.0
        meter.freezer.move_to(meter.t + timedelta(seconds=30))
        meter.set("binary_sensor.charging", step, {})
        await hass.async_block_till_done()
        await meter.period({"sensor.charger_energy": energy})
    return energy


async def cycle(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """One upload cycle now, and the session-cost refresh that follows it."""
    await uploads(entry).async_refresh()
    await hass.async_block_till_done(wait_background_tasks=True)


def book(entry: MockConfigEntry) -> SessionBook:
    """The entry's session book (sessions, their costs and confirmed energy)."""
    result: SessionBook = entry.runtime_data.sessions.book
    return result


def charger_sessions(entry: MockConfigEntry) -> Sequence[Session]:
    """The sessions of the entry's first charger."""
    return book(entry).sessions(book(entry).chargers()[0])


def cost_of(entry: MockConfigEntry, session_id: str) -> SessionCost:
    """What the book says a session cost (there must be a figure)."""
    cost = book(entry).cost(session_id)
    assert cost is not None
    return cost


def tally_of(entry: MockConfigEntry, session_id: str) -> SessionEnergy:
    """What Flatpeak confirmed of a session, as the book keeps it."""
    tally = book(entry).energy(session_id)
    assert tally is not None
    return tally


async def test_session_across_midnight_priced_by_flatpeak_event_once(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """A session over local midnight, with a restart in its middle: its cost is the session
    report's, the sensor shows it, the event fires once, and a final session is never
    fetched again."""
    await hass.config.async_set_time_zone("Europe/London")
    meter = Meter(hass, freezer, datetime(2025, 6, 2, 22, 35, tzinfo=UTC))  # 23:35 BST
    entry, _charger_id = await setup_charger(hass, emulator, meter)
    fired = completed_events(hass)

    energy = await drive(hass, meter, ["off", "on", "on", "on"])
    state = hass.states.get(SESSION_COST)
    assert state is not None
    session = last_session(entry)
    assert state.attributes["session_id"] == session.id
    assert state.attributes["end"] is None
    assert state.attributes["final"] is False
    assert state.attributes["last_reset"] == session.start.isoformat()
    assert state.attributes["unit_of_measurement"] == "GBP"
    assert state.attributes["device_class"] == "monetary"
    assert state.attributes["state_class"] == "total"

    await cycle(hass, entry)
    assert assert_running(hass)
    assert await hass.config_entries.async_reload(entry.entry_id)  # restart mid-session
    await hass.async_block_till_done(wait_background_tasks=True)
    energy = await drive(hass, meter, ["on", "on", "on", "off", "off"], energy)
    session = last_session(entry)
    assert session.start < datetime(2025, 6, 2, 23, 0, tzinfo=UTC) < (session.end or session.start)
    for _ in range(3):
        await cycle(hass, entry)

    report = await entry.runtime_data.client.get_session_cost(session.id)
    assert report.total_energy_wh == pytest.approx(6 * 2000, abs=1)
    state = hass.states.get(SESSION_COST)
    assert state is not None
    assert float(state.state) == pytest.approx(report.total_cost, abs=1e-6)
    assert state.attributes["final"] is True
    assert state.attributes["end"] == session.end.isoformat()  # type: ignore[union-attr]
    assert state.attributes["energy_kwh"] == pytest.approx(12.0, abs=1e-6)
    assert state.attributes["currency"] == "GBP"
    assert len(fired) == 1
    assert fired[0]["session_id"] == session.id
    assert fired[0]["cost"] == pytest.approx(report.total_cost, abs=1e-6)
    assert fired[0]["energy_kwh"] == pytest.approx(12.0, abs=1e-6)
    assert fired[0]["currency"] == "GBP"
    assert fired[0]["start"] == session.start.isoformat()

    # Final: more cycles (with energy and without) never ask for its cost again, nor fire.
    before = session_requests(emulator)
    await drive(hass, meter, ["off", "off"], energy)
    for _ in range(2):
        await cycle(hass, entry)
    assert session_requests(emulator) == before
    assert len(fired) == 1
    # Charging cost today: the hours after local midnight of the charger's cost statistic.
    today = hass.states.get("sensor.1_test_street_driveway_charger_charging_cost_today")
    assert today is not None


def assert_running(hass: HomeAssistant) -> bool:
    """The session cost shows the open session's running cost."""
    state = hass.states.get(SESSION_COST)
    assert state is not None
    assert state.attributes["final"] is False
    assert state.attributes["end"] is None
    assert float(state.state) > 0
    return True


async def test_session_across_dst_restart_between_accepted_and_final(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """A session over the October clock change: priced as Flatpeak's session report, and
    a restart after its first settled fetch neither repeats nor loses the event."""
    await hass.config.async_set_time_zone("Europe/London")
    # clocks go back at 01:00 UTC (02:00 BST → 01:00 GMT)
    meter = Meter(hass, freezer, datetime(2025, 10, 26, 0, 35, tzinfo=UTC))
    entry, _charger_id = await setup_charger(hass, emulator, meter)
    fired = completed_events(hass)
    energy = await drive(hass, meter, ["off", "on", "on", "on", "on", "on", "off", "off"])
    sessions = charger_sessions(entry)
    session = sessions[-1]
    assert session.end is not None
    assert session.start < datetime(2025, 10, 26, 1, 0, tzinfo=UTC) < session.end

    await cycle(hass, entry)
    cost = cost_of(entry, session.id)
    if cost.final:  # the timer's cycle had already checked it once: not the case to test
        pytest.skip("session became final before the restart")
    assert cost.checked
    assert not fired
    assert await hass.config_entries.async_reload(entry.entry_id)  # accepted, not final
    await hass.async_block_till_done(wait_background_tasks=True)  # its first cycle runs
    await cycle(hass, entry)
    assert len(fired) == 1
    report = await entry.runtime_data.client.get_session_cost(session.id)
    assert fired[0]["cost"] == pytest.approx(report.total_cost, abs=1e-6)
    assert report.total_energy_wh == pytest.approx(5 * 2000, abs=1)

    # A restart after the event: it does not fire again, and the session cost still reads
    # the final figure (not 0, not unknown) before any cycle runs.
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    restored = hass.states.get(SESSION_COST)
    assert restored is not None
    assert float(restored.state) == pytest.approx(report.total_cost, abs=1e-6)
    before = session_requests(emulator)
    await drive(hass, meter, ["off"], energy)
    await cycle(hass, entry)
    assert len(fired) == 1
    assert session_requests(emulator) == before


async def test_two_chargers_never_share_a_session_id(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """Two chargers starting at the same instant get different ids; so does a reinstall."""
    meter = Meter(hass, freezer)
    meter.set("binary_sensor.charging", "off", {})
    hass.states.async_set("sensor.charger2_energy", "5.0", ENERGY)
    await meter.period({"sensor.charger_energy": 1000.0})
    first = await new_device(hass, emulator, "charger-a")
    second = await new_device(hass, emulator, "charger-b")
    other = ev_charger_subentry(second, charger_energy="sensor.charger2_energy")
    other["title"] = "Garage charger"
    entry = await make_entry(
        hass, emulator, subentries=[ev_charger_subentry(first), other], options={"history_days": 1}
    )
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    hass.states.async_set("binary_sensor.charging", "on")
    await hass.async_block_till_done()
    ids = [book(entry).sessions(sub)[-1].id for sub in book(entry).chargers()]
    assert len(ids) == 2
    assert len(set(ids)) == 2

    start = datetime(2025, 6, 2, 10, 0, tzinfo=UTC)
    assert new_session_id("install-a", first, start) != new_session_id("install-b", first, start)
    # ids stored before stay as they were
    old = Session.from_dict({"id": "ha-session-0123456789abcdef0123", "start": start.isoformat()})
    assert old.as_dict()["id"] == "ha-session-0123456789abcdef0123"
    assert Session.from_dict(old.as_dict()) == old


async def test_manual_session_actions(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """Start and end a session by hand; every validation error is translated."""
    meter = Meter(hass, freezer)
    meter.set("binary_sensor.charging", "off", {})
    await meter.period({"sensor.charger_energy": 1000.0})
    charger_id = await new_device(hass, emulator, "charger")
    house_id = await new_device(hass, emulator, "house")
    entry = await make_entry(
        hass,
        emulator,
        subentries=[
            ev_charger_subentry(charger_id, session_entity="binary_sensor.no_such_entity"),
            house_meter_subentry(house_id),
        ],
        options={"history_days": 1},
    )
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    devices = {
        value: device
        for device in dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
        for domain, value in device.identifiers
        if domain == DOMAIN
    }
    charger, house = devices[charger_id], devices[house_id]

    async def call(action: str, **data: Any) -> dict[str, Any]:
        result = await hass.services.async_call(
            DOMAIN, action, data, blocking=True, return_response=True
        )
        assert isinstance(result, dict)
        return result

    async def refused(action: str, key: str, **data: Any) -> None:
        with pytest.raises(ServiceValidationError) as err:
            await hass.services.async_call(DOMAIN, action, data, blocking=True)
        assert err.value.translation_key == key

    await refused("end_charging_session", "not_charging", device_id=charger.id)
    meter.freezer.tick(timedelta(microseconds=345678))  # a moment that is not a whole second
    started = await call("start_charging_session", device_id=charger.id, label="Company car")
    assert "." not in started["start"]
    assert started["end"] is None
    assert started["label"] == "Company car"
    state = hass.states.get(SESSION_COST)
    assert state is not None
    assert state.attributes["session_id"] == started["session_id"]
    assert state.attributes["label"] == "Company car"
    await refused("start_charging_session", "already_charging", device_id=charger.id)
    await refused("start_charging_session", "not_a_charger", device_id=house.id)
    await refused("start_charging_session", "not_a_charger", device_id="no-such-device")

    await meter.period({"sensor.charger_energy": 1003.0})
    ended = await call("end_charging_session", device_id=charger.id)
    assert ended["session_id"] == started["session_id"]
    assert ended["end"] is not None
    session = book(entry).sessions(next(iter(entry.subentries)))[-1]
    assert session.manual
    assert session.label == "Company car"
    state = hass.states.get(SESSION_COST)
    assert state is not None
    assert state.attributes["end"] == ended["end"]
    assert state.attributes["start"] == started["start"]
    assert "." not in ended["end"]

    # kept across a restart
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    session = book(entry).sessions(next(iter(entry.subentries)))[-1]
    assert (session.id, session.manual, session.label) == (
        started["session_id"],
        True,
        "Company car",
    )

    assert await hass.config_entries.async_unload(entry.entry_id)
    assert entry.state is ConfigEntryState.NOT_LOADED
    await refused("start_charging_session", "entry_not_loaded", device_id=charger.id)


def last_session(entry: MockConfigEntry) -> Session:
    """The charger's latest session."""
    return charger_sessions(entry)[-1]


def session_cost_state(hass: HomeAssistant) -> tuple[str, dict[str, Any]]:
    """The session cost sensor's state and attributes."""
    state = hass.states.get(SESSION_COST)
    assert state is not None
    return state.state, dict(state.attributes)


async def when_due(
    hass: HomeAssistant, entry: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    """Move to the moment the latest session may be asked for again, then run a cycle."""
    cost = book(entry).cost(last_session(entry).id)
    if cost is not None and cost.retry_at is not None:
        freezer.move_to(cost.retry_at)
    await cycle(hass, entry)


async def test_missing_session_report_keeps_the_session_pending_for_days_across_restarts(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """A session whose records Flatpeak confirmed, while its report answers 404: never final
    at 0 and no event; asked again less and less often, also after a restart and past 48 hours;
    once the report is there, final at its cost with one event."""
    meter = Meter(hass, freezer)
    entry, _charger_id = await setup_charger(hass, emulator, meter, options={"upload_interval": 60})
    fired = completed_events(hass)
    emulator.state.fail_next("/costs/session/*", 404, count=1000)
    await drive(hass, meter, ["on", "on", "on", "off", "off"])
    session = last_session(entry)
    assert session.end is not None
    await cycle(hass, entry)  # every interval of the session confirmed by Flatpeak
    await cycle(hass, entry)  # (the old code: two agreeing 404s, final at 0)
    assert not fired
    value, attributes = session_cost_state(hass)
    assert value == "unknown"
    assert attributes["final"] is False
    assert attributes["status"] == "pending"
    assert tally_of(entry, session.id).kwh == pytest.approx(6.0, abs=1e-9)
    cost = cost_of(entry, session.id)
    assert (cost.final, cost.checked, cost.pending, cost.misses) == (False, False, "no_report", 1)

    delays = []
    for misses in (2, 3, 4):
        before = session_requests(emulator)
        await cycle(hass, entry)  # not due yet: no request
        assert session_requests(emulator) == before
        await when_due(hass, entry, freezer)
        assert session_requests(emulator) == before + 1
        cost = cost_of(entry, session.id)
        assert cost.misses == misses
        assert cost.retry_at is not None
        delays.append(cost.retry_at - dt_util.utcnow())
    assert delays == [timedelta(minutes=30), timedelta(hours=1), timedelta(hours=2)]
    assert not fired

    # A restart: the session is still pending and its next question still waits.
    due = cost_of(entry, session.id).retry_at
    before = session_requests(emulator)
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert session_requests(emulator) == before
    cost = cost_of(entry, session.id)
    assert (cost.final, cost.misses, cost.retry_at) == (False, 4, due)
    assert session_cost_state(hass)[1]["status"] == "pending"

    # Three days after its end (the old code left sessions alone after 48 hours), still
    # pending while the report is missing; then the report appears.
    freezer.move_to(session.end + timedelta(days=3))
    await cycle(hass, entry)
    assert cost_of(entry, session.id).misses == 5
    assert not fired
    emulator.state.faults.clear()
    await when_due(hass, entry, freezer)
    assert cost_of(entry, session.id).checked
    assert not fired
    await cycle(hass, entry)
    report = await entry.runtime_data.client.get_session_cost(session.id)
    assert report.total_energy_wh == pytest.approx(6000, abs=1)
    assert len(fired) == 1
    assert fired[0]["session_id"] == session.id
    assert fired[0]["cost"] == pytest.approx(report.total_cost, abs=1e-6)
    assert fired[0]["cost"] > 0
    assert fired[0]["energy_kwh"] == pytest.approx(6.0, abs=1e-6)
    value, attributes = session_cost_state(hass)
    assert float(value) == pytest.approx(report.total_cost, abs=1e-6)
    assert (attributes["final"], attributes["status"]) == (True, "final")
    await cycle(hass, entry)
    assert book(entry).energy(session.id) is None  # not kept once final
    assert len(fired) == 1


async def test_session_never_reported_is_left_unconfirmed_after_30_days(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """A session whose report never comes is asked for until 30 days after its end, then
    left alone: no request, no event, status unconfirmed."""
    meter = Meter(hass, freezer)
    entry, _charger_id = await setup_charger(hass, emulator, meter, options={"upload_interval": 60})
    fired = completed_events(hass)
    emulator.state.fail_next("/costs/session/*", 404, count=1000)
    await drive(hass, meter, ["on", "on", "off", "off"])
    session = last_session(entry)
    assert session.end is not None
    await cycle(hass, entry)
    freezer.move_to(session.end + timedelta(days=29, hours=23))
    before = session_requests(emulator)
    await cycle(hass, entry)
    assert session_requests(emulator) == before + 1
    assert session_cost_state(hass)[1]["status"] == "pending"
    freezer.move_to(session.end + timedelta(days=30, hours=7))
    await cycle(hass, entry)
    assert session_requests(emulator) == before + 1
    value, attributes = session_cost_state(hass)
    assert (value, attributes["final"], attributes["status"]) == ("unknown", False, "unconfirmed")
    assert not fired


async def test_session_report_that_does_not_account_for_the_energy_stays_pending(
    hass: HomeAssistant,
    emulator: Emulator,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Rows without an amount, a report missing the latest records, an unreadable amount and a
    report in another currency: each keeps the session pending, without an event; the
    complete report makes it final at Flatpeak's cost."""
    meter = Meter(hass, freezer)
    entry, _charger_id = await setup_charger(hass, emulator, meter, options={"upload_interval": 60})
    fired = completed_events(hass)
    emulator.state.set_report_lag(86400, unpriced=True)  # listed, not priced yet
    energy = await drive(hass, meter, ["on", "on"])
    await cycle(hass, entry)  # the first two periods at Flatpeak
    await drive(hass, meter, ["on", "off", "off"], energy)
    session = last_session(entry)
    await cycle(hass, entry)  # the rest
    await cycle(hass, entry)
    assert not fired
    value, attributes = session_cost_state(hass)
    assert (value, attributes["status"]) == ("unknown", "pending")
    cost = cost_of(entry, session.id)
    assert (cost.final, cost.pending, cost.cost) == (False, "unpriced", None)
    await when_due(hass, entry, freezer)
    assert cost_of(entry, session.id).pending == "unpriced"

    # Only the records of the first upload are in the report: part of the energy.
    stored = max(r.time_created for r in emulator.state.record_objects())
    due = cost_of(entry, session.id).retry_at
    assert due is not None
    emulator.state.set_report_lag((due - stored).total_seconds() + 1)
    await when_due(hass, entry, freezer)
    cost = cost_of(entry, session.id)
    assert cost.pending == "energy"
    assert cost.energy_kwh is not None
    assert 0 < cost.energy_kwh < 6.0
    value, attributes = session_cost_state(hass)
    assert float(value) == pytest.approx(cost.cost, abs=1e-6)  # Flatpeak's figure so far
    assert (attributes["final"], attributes["status"]) == (False, "pending")

    # An amount that is not a number; then an answer that is not a report at all.
    emulator.state.set_report_lag(0)
    row = {
        "start_time": session.start.isoformat(),
        "end_time": (session.start + timedelta(minutes=5)).isoformat(),
        "energy": {"value": 6000},
        "cost": {"value": "1.20"},
    }
    path = f"/costs/session/{session.id}"
    emulator.state.fail_next(path, 200, body={"currency_code": "GBP", "data": [row]})
    await when_due(hass, entry, freezer)
    assert cost_of(entry, session.id).pending == "unpriced"
    emulator.state.fail_next(path, 200, body={"currency_code": "GBP", "data": "none"})
    await when_due(hass, entry, freezer)
    cost = cost_of(entry, session.id)
    assert (cost.final, cost.pending) == (False, "malformed")
    assert cost.energy_kwh is not None
    assert 0 < cost.energy_kwh < 6.0  # the last figure is kept

    # The complete report, but in another currency: refused, said once.
    location = emulator.state.locations[emulator.location_id]
    location.currency_code = "EUR"
    with caplog.at_level(logging.WARNING):
        await when_due(hass, entry, freezer)
        await when_due(hass, entry, freezer)
    assert caplog.text.count("is in EUR, not GBP") == 1
    cost = cost_of(entry, session.id)
    assert (cost.final, cost.pending, cost.currency) == (False, "currency", "GBP")
    assert not fired

    location.currency_code = "GBP"
    await when_due(hass, entry, freezer)
    await cycle(hass, entry)
    report = await entry.runtime_data.client.get_session_cost(session.id)
    assert report.total_energy_wh == pytest.approx(6000, abs=1)
    assert len(fired) == 1
    assert fired[0]["cost"] == pytest.approx(report.total_cost, abs=1e-6)
    assert fired[0]["energy_kwh"] == pytest.approx(6.0, abs=1e-6)
    assert fired[0]["currency"] == "GBP"


async def test_session_without_energy_is_final_at_zero_at_once(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """A session during which the charger used nothing: final at 0 as soon as its intervals
    are at Flatpeak, without asking for its report."""
    meter = Meter(hass, freezer)
    entry, _charger_id = await setup_charger(hass, emulator, meter, options={"upload_interval": 60})
    fired = completed_events(hass)
    for step in ("on", "on", "off", "off"):
        meter.freezer.move_to(meter.t + timedelta(seconds=30))
        meter.set("binary_sensor.charging", step, {})
        await hass.async_block_till_done()
        await meter.period({"sensor.charger_energy": 1000.0})
    session = last_session(entry)
    assert session.end is not None
    before = session_requests(emulator)
    await cycle(hass, entry)
    assert session_requests(emulator) == before
    assert len(fired) == 1
    assert (fired[0]["session_id"], fired[0]["cost"], fired[0]["energy_kwh"]) == (
        session.id,
        0,
        0,
    )
    tagged = [r for r in emulator.state.records() if r["session_reference_id"] == session.id]
    assert tagged
    assert all(r["energy_wh"] == 0 for r in tagged)


async def test_session_energy_sent_again_replaces_what_was_confirmed(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """Periods of a session sent again (a decrease netted against earlier periods, then
    ``upload_history`` over the session) replace their confirmed energy instead of adding
    to it: the session still becomes final, at the report's cost and energy."""
    meter = Meter(hass, freezer)
    entry, _charger_id = await setup_charger(hass, emulator, meter, options={"upload_interval": 60})
    fired = completed_events(hass)
    total = {"device_class": "energy", "state_class": "total", "unit_of_measurement": "kWh"}
    for step, value in (("on", 1002.0), ("on", 1004.0), ("on", 1003.5), ("off", 1003.5)):
        meter.freezer.move_to(meter.t + timedelta(seconds=30))
        meter.set("binary_sensor.charging", step, {})
        await hass.async_block_till_done()
        await meter.period({"sensor.charger_energy": (value, total)})
        if value == 1004.0:
            await cycle(hass, entry)  # sent before the decrease
    await meter.period({"sensor.charger_energy": (1003.5, total)})
    session = last_session(entry)
    assert session.end is not None
    await cycle(hass, entry)  # the decrease takes 0.5 kWh back from the periods before
    tally = tally_of(entry, session.id)
    assert tally.kwh == pytest.approx(3.5, abs=1e-9)

    result = await hass.services.async_call(
        DOMAIN,
        "upload_history",
        {
            "config_entry_id": entry.entry_id,
            "start": (session.start - timedelta(hours=1)).isoformat(),
            "end": meter.t.isoformat(),
        },
        blocking=True,
        return_response=True,
    )
    assert isinstance(result, dict)
    assert result["records_sent"] > 0
    assert tally_of(entry, session.id).kwh == pytest.approx(3.5, abs=1e-9)

    await cycle(hass, entry)
    await cycle(hass, entry)
    report = await entry.runtime_data.client.get_session_cost(session.id)
    assert report.total_energy_wh == pytest.approx(3500, abs=1)
    assert len(fired) == 1
    assert fired[0]["energy_kwh"] == pytest.approx(3.5, abs=1e-6)
    assert fired[0]["cost"] == pytest.approx(report.total_cost, abs=1e-6)


async def test_manual_session_survives_reloads_and_its_energy_is_tagged(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """A session started by hand on a charger whose session entity is off stays open across
    reloads and the entity's changes; ending it by hand closes it then, and every period of
    it carries its id at Flatpeak."""
    meter = Meter(hass, freezer)
    entry, charger_id = await setup_charger(hass, emulator, meter)
    fired = completed_events(hass)
    # Looked up by identifier the same way on every line (async_get_device is deprecated).
    device = next(
        d
        for d in dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
        if (DOMAIN, charger_id) in d.identifiers
    )
    assert device is not None

    async def call(action: str) -> dict[str, Any]:
        result = await hass.services.async_call(
            DOMAIN, action, {"device_id": device.id}, blocking=True, return_response=True
        )
        assert isinstance(result, dict)
        return result

    started = await call("start_charging_session")
    energy = 1000.0
    for _ in range(2):
        energy += 1.5
        await meter.period({"sensor.charger_energy": energy})
    assert await hass.config_entries.async_reload(entry.entry_id)  # e.g. options saved
    await hass.async_block_till_done(wait_background_tasks=True)
    session = last_session(entry)
    assert (session.id, session.end, session.manual) == (started["session_id"], None, True)

    # The entity going on and off, then a restart-like unload and set-up: still open.
    meter.set("binary_sensor.charging", "on", {})
    await hass.async_block_till_done()
    energy += 1.5
    await meter.period({"sensor.charger_energy": energy})
    meter.set("binary_sensor.charging", "off", {})
    await hass.async_block_till_done()
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    sessions = charger_sessions(entry)
    assert [(s.id, s.end) for s in sessions] == [(started["session_id"], None)]
    assert session_cost_state(hass)[1]["status"] == "charging"
    energy += 1.5
    await meter.period({"sensor.charger_energy": energy})

    ended = await call("end_charging_session")
    assert ended["session_id"] == started["session_id"]
    assert ended["end"] == dt_util.utcnow().isoformat()
    await meter.period({"sensor.charger_energy": energy})
    await meter.period({"sensor.charger_energy": energy})
    await cycle(hass, entry)
    await cycle(hass, entry)

    session = last_session(entry)
    assert session.end is not None
    assert session.end.isoformat() == ended["end"]
    tagged = [r for r in emulator.state.records() if r["session_reference_id"] == session.id]
    assert sum(r["energy_wh"] for r in tagged) == pytest.approx(6000, abs=1e-6)
    untagged = [r for r in emulator.state.records() if r["session_reference_id"] is None]
    assert sum(r["energy_wh"] for r in untagged) == pytest.approx(0, abs=1e-6)
    assert len(fired) == 1
    assert fired[0]["session_id"] == session.id
    assert fired[0]["energy_kwh"] == pytest.approx(6.0, abs=1e-6)


async def test_sessions_kept_by_an_older_version_are_not_final_at_zero(
    hass: HomeAssistant,
    emulator: Emulator,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
) -> None:
    """Progress of version 2.1: an ended session checked once at 0 (a 404 under the old rule)
    is not made final by the next 404; its report, once there, makes it final."""
    meter = Meter(hass, freezer)
    meter.set("binary_sensor.charging", "off", {})
    await meter.period({"sensor.charger_energy": 1000.0})
    charger_id = await new_device(hass, emulator, "charger")
    entry = await make_entry(
        hass,
        emulator,
        subentries=[ev_charger_subentry(charger_id)],
        options={"history_days": 1, "upload_interval": 60},
    )
    sub = next(iter(entry.subentries))
    key = f"{DOMAIN}.{entry.entry_id}"
    start, end = meter.t - timedelta(hours=2), meter.t - timedelta(hours=1)
    session_id = "ha-session-0123456789abcdef0123"
    hass_storage[key] = {
        "version": 2,
        "minor_version": 1,
        "key": key,
        "data": {
            "streams": {
                f"{charger_id}:ev_charger": {
                    "cursor": meter.t.isoformat(),
                    "carry": 0.0,
                    "register": 0.0,
                    "recent": [],
                }
            },
            "retry": [],
            "sessions": {
                sub: [{"id": session_id, "start": start.isoformat(), "end": end.isoformat()}]
            },
            "last_success": {},
            "rejected": 0,
            "session_costs": {
                session_id: {"cost": 0.0, "energy_kwh": 0.0, "currency": "GBP", "checked": True}
            },
        },
    }
    fired = completed_events(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    await cycle(hass, entry)
    assert not fired
    assert session_cost_state(hass)[1]["status"] == "pending"
    # The sessions moved to the book's own file; the progress file no longer holds them.
    assert hass_storage[key]["minor_version"] == 3
    assert not {"sessions", "session_costs", "session_energy"} & set(hass_storage[key]["data"])
    moved = hass_storage[f"{key}.sessions"]["data"]
    assert [s["id"] for s in moved["sessions"][sub]] == [session_id]
    tally = tally_of(entry, session_id)
    assert (tally.known, tally.periods) == (False, {})
    cost = cost_of(entry, session_id)
    assert (cost.final, cost.pending) == (False, "no_report")

    # The session's energy reaches Flatpeak's report (sent by the older version).
    client = entry.runtime_data.client
    await client.submit_interval_records(
        [
            MeterRecord(
                emulator.location_id,
                start + timedelta(minutes=5 * n),
                start + timedelta(minutes=5 * (n + 1)),
                1.0,
                EnergyUnits.KWH,
                device_id=charger_id,
                session_reference_id=session_id,
            )
            for n in range(3)
        ]
    )
    await when_due(hass, entry, freezer)
    await cycle(hass, entry)
    report = await client.get_session_cost(session_id)
    assert len(fired) == 1
    assert fired[0]["cost"] == pytest.approx(report.total_cost, abs=1e-6)
    assert fired[0]["energy_kwh"] == pytest.approx(3.0, abs=1e-6)


async def test_cumulative_charger_sessions_are_priced_from_the_devices_energy(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """Register readings carry no session id: a session of such a charger costs what the
    device's energy over the session's time cost at Flatpeak, never 0 for energy used; a
    session without energy is still final at 0."""
    await hass.config.async_set_time_zone("Europe/London")
    meter = Meter(hass, freezer, datetime(2025, 6, 2, 15, 35, tzinfo=UTC))  # into the peak
    entry, charger_id = await setup_charger(
        hass, emulator, meter, submission_mode="cumulative", options={"upload_interval": 60}
    )
    fired = completed_events(hass)
    energy = await drive(hass, meter, ["off", "on", "on", "on", "off", "off"])
    session = last_session(entry)
    assert session.end is not None
    for _ in range(3):
        await cycle(hass, entry)

    # The periods the session has most of (it started and ended 30 s into a period).
    span = (session.start - timedelta(seconds=30), session.end - timedelta(seconds=30))
    report = await entry.runtime_data.client.get_interval_cost(charger_id, *span)
    assert report.total_energy_wh == pytest.approx(6000, abs=1)
    assert report.total_cost > 0
    assert len(fired) == 1
    assert fired[0]["session_id"] == session.id
    assert fired[0]["cost"] == pytest.approx(report.total_cost, abs=1e-6)
    assert fired[0]["energy_kwh"] == pytest.approx(6.0, abs=1e-3)
    assert session_requests(emulator) == 0  # no session report: readings name no session

    for step in ("on", "on", "off", "off"):  # a session using nothing
        meter.freezer.move_to(meter.t + timedelta(seconds=30))
        meter.set("binary_sensor.charging", step, {})
        await hass.async_block_till_done()
        await meter.period({"sensor.charger_energy": energy})
    idle = last_session(entry)
    for _ in range(2):
        await cycle(hass, entry)
    assert [(e["session_id"], e["cost"]) for e in fired[1:]] == [(idle.id, 0)]
