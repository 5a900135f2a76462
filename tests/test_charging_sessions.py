"""EV charging sessions: their cost from Flatpeak, the completed event, ids and manual actions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import Event, HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.event import async_track_state_change_event
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.flatpeak.const import DOMAIN
from custom_components.flatpeak.progress import Progress
from custom_components.flatpeak.sessions import Session, new_session_id
from tests.conftest import Emulator
from tests.helpers import ENERGY, ev_charger_subentry, house_meter_subentry, make_entry, new_device
from tests.uploads_helpers import Meter, uploads

SESSION_COST = "sensor.driveway_charger_session_cost"
EVENT = "event.driveway_charger_charging_session"


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
    hass: HomeAssistant, emulator: Emulator, meter: Meter, **data: Any
) -> tuple[MockConfigEntry, str]:
    """A loaded entry with one EV charger whose energy sensor has a first reading."""
    meter.set("binary_sensor.charging", "off", {})
    await meter.period({"sensor.charger_energy": 1000.0})
    charger_id = await new_device(hass, emulator, "charger")
    entry = await make_entry(
        hass,
        emulator,
        subentries=[ev_charger_subentry(charger_id, **data)],
        options={"history_days": 1},
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


def progress(entry: MockConfigEntry) -> Progress:
    """The entry's upload progress (sessions and their costs)."""
    result: Progress = entry.runtime_data.uploads.uploader.progress
    return result


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
    session = progress(entry).sessions[next(iter(progress(entry).sessions))][-1]
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
    session = progress(entry).sessions[next(iter(progress(entry).sessions))][-1]
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
    today = hass.states.get("sensor.driveway_charger_charging_cost_today")
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
    sessions = next(iter(progress(entry).sessions.values()))
    session = sessions[-1]
    assert session.end is not None
    assert session.start < datetime(2025, 10, 26, 1, 0, tzinfo=UTC) < session.end

    await cycle(hass, entry)
    cost = progress(entry).session_costs[session.id]
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

    # A restart after the event: it does not fire again.
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
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
    ids = [items[-1].id for items in progress(entry).sessions.values()]
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
    started = await call("start_charging_session", device_id=charger.id, label="Company car")
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
    session = progress(entry).sessions[next(iter(entry.subentries))][-1]
    assert session.manual
    assert session.label == "Company car"
    state = hass.states.get(SESSION_COST)
    assert state is not None
    assert state.attributes["end"] == ended["end"]

    # kept across a restart
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    session = progress(entry).sessions[next(iter(entry.subentries))][-1]
    assert (session.id, session.manual, session.label) == (
        started["session_id"],
        True,
        "Company car",
    )

    assert await hass.config_entries.async_unload(entry.entry_id)
    assert entry.state is ConfigEntryState.NOT_LOADED
    await refused("start_charging_session", "entry_not_loaded", device_id=charger.id)
