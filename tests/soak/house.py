"""Soak: days of a house with faults everywhere, in the real HA test harness.

Run by ``scripts/soak`` (pytest on this file only; its name is not ``test_*``, so the normal
test run does not collect it). A house meter (grid import, grid export, solar), a heat pump
(an appliance) and an EV charger with charging sessions feed HA's recorder through real sensor
states; the recorder compiles the 5-minute and hourly statistics; the integration uploads them
to the emulator (in-process, over HTTP on 127.0.0.1) and imports the cost statistics back. Time
is frozen and moved a minute at a time (timers fired, background work awaited); the emulator's
clock follows.

Faults, drawn from the seed: 5xx answers, 429 with odd ``Retry-After``, timeouts, connection
resets, malformed 200 answers (some after the records were stored), expired tokens, restarts
(the entry unloaded while its upload or cost request is in flight, or between cycles, and
set up again from the stored progress), sensor resets, glitch readings, unavailable spells
and an outage of Flatpeak: a day (four hours in a one-day soak), or with ``OUTAGE_DAYS``
that many days of 5xx answers and timeouts during which Home Assistant is not restarted. At
the end (after two fault-free hours) every period HA has statistics for must be at Flatpeak
once, each stream's energy equal, the cost statistics continuous and equal to Flatpeak's
cost, and the integration must have logged no traceback.

In cumulative mode both devices send register readings (``PUT /meters/cumulative/epoch``)
instead of interval records; the soak keeps the readings Flatpeak accepted (the emulator
keeps only the records it differences from them), and the verdict checks them too.

Settings from the environment (scripts/soak sets them): ``FLATPEAK_SOAK_DAYS`` (7),
``FLATPEAK_SOAK_SEED`` (11), ``FLATPEAK_SOAK_MODE`` (interval or cumulative),
``FLATPEAK_SOAK_OUTAGE_DAYS`` (3 from four days on, else 0: the day's outage),
``FLATPEAK_SOAK_JSON`` (write the summary line there).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
import faulthandler
import json
import logging
import math
import os
from pathlib import Path
import random
import re
import sys
import threading
import traceback
from typing import Any
from zoneinfo import ZoneInfo

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.recorder.statistics import statistics_during_period
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import __version__ as HA_VERSION
from homeassistant.core import Event, HomeAssistant
from homeassistant.helpers.event import async_track_state_change_event
from homeassistant.helpers.recorder import get_instance
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
    do_adhoc_statistics,
)

from custom_components.flatpeak.const import (
    CONF_SUBMISSION_MODE,
    SUBMISSION_CUMULATIVE,
    SUBMISSION_INTERVAL,
)
from custom_components.flatpeak.core.streams import entry_streams
from custom_components.flatpeak.costs.statistics import entry_cost_statistics
from tests.conftest import Emulator
from tests.emulator import EmulatorState, create_app, routes_api
from tests.emulator.costs import energy_cost
from tests.emulator.models import Fault
from tests.helpers import (
    ENERGY,
    appliance_subentry,
    ev_charger_subentry,
    house_meter_subentry,
    make_entry,
    new_device,
)
from tests.soak.check import (
    CostVerdict,
    EnergyVerdict,
    StreamKey,
    check_costs,
    check_cumulative,
    check_energy,
    parse_time,
)

DAYS = int(os.environ.get("FLATPEAK_SOAK_DAYS", "7"))
SEED = int(os.environ.get("FLATPEAK_SOAK_SEED", "11"))
MODE = os.environ.get("FLATPEAK_SOAK_MODE") or SUBMISSION_INTERVAL
OUTAGE_DAYS = int(os.environ.get("FLATPEAK_SOAK_OUTAGE_DAYS") or (3 if DAYS >= 4 else 0))
SUMMARY_PATH = os.environ.get("FLATPEAK_SOAK_JSON")
assert MODE in (SUBMISSION_INTERVAL, SUBMISSION_CUMULATIVE), MODE
assert 0 <= OUTAGE_DAYS < DAYS, "the outage ends before the soak does"
CUMULATIVE = MODE == SUBMISSION_CUMULATIVE
UPLOAD_PATH = "/meters/cumulative/epoch" if CUMULATIVE else "/meters/interval"

# A Thursday: seven days cross the clocks going forward (30 March) and a new month.
START = datetime(2025, 3, 27, 0, 0, tzinfo=UTC)
LONDON = ZoneInfo("Europe/London")
FIVE = timedelta(minutes=5)
STEP = timedelta(minutes=1)
SETTLE = timedelta(hours=2)
PERIODS_PER_DAY = 288
CLIENT_TIMEOUT = 30  # seconds: the integration's client gives up after this
HANG = 45.0  # a timeout fault hangs this long (on the frozen clock)
NUDGE_SECONDS = 15.0  # of wall time without progress: a request hangs, move the clock
STALL_SECONDS = 120.0  # of wall time without progress despite that: a deadlock

SENSORS = {
    "grid_import": "sensor.grid_import",
    "grid_export": "sensor.grid_export",
    "solar": "sensor.solar",
    "ev_charger": "sensor.charger_energy",
    "appliance": "sensor.heat_pump",  # the stream's name: one appliance, a heat pump
}
CHARGING = "binary_sensor.charging"
CHARGER_EVENT = "event.1_test_street_driveway_charger_charging_session"
CHARGER_KW = 7.0

# Per 5-minute period: the chance that an API fault is armed (one at a time).
P_API_FAULT = 0.08
API_FAULTS = ("server_error", "rate_limit", "timeout", "connection_reset", "malformed_200")
# Each day, at times drawn from the seed: sensor faults, token expiries and restarts (the
# entry unloaded while its upload or cost request is in flight, or between cycles).
DAILY = {
    "sensor_reset": 1,
    "glitch": 4,
    "unavailable": 2,
    "expired_token": 2,
    "restart_mid_upload": 2,
    "restart_mid_costs": 1,
    "restart_idle": 1,
}

# A long outage: what every call gets, drawn afresh every six hours.
OUTAGE_ANSWERS = ("503", "500", "502", "504", "timeout")
OUTAGE_BLOCK = timedelta(hours=6)

RETRY_AFTER = ["0", "-5", "86400000", "1e9", "inf", "nan", "soon", "", "3.5"]
MALFORMED: list[dict[str, Any]] = [
    {"body": {}},
    {"body": []},
    {"body": "ok"},
    {"text": "null"},
    {"text": ""},
    {"text": '{"object": "meter_ba'},
    {"text": "<html><body>Service temporarily unavailable</body></html>"},
    {
        "body": {
            "id": "bat_000000000000000000000000",
            "object": "meter_batch",
            "records_submitted": 1,
            "records_accepted": 1,
            "records_processed": 1,
            "failed_records": [],
        }
    },
]


# -- the harness -----------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _ha_harness(request: pytest.FixtureRequest) -> None:
    """The real recorder and our integration, as tests/conftest.py gives the tests."""
    request.getfixturevalue("recorder_mock")
    request.getfixturevalue("enable_custom_integrations")


@pytest.fixture
def persistent_database() -> bool:
    """The recorder's SQLite database in a file, as in production (not in memory)."""
    return True


@pytest.fixture
def recorder_config() -> dict[str, Any]:
    """Commits every 5 s as in production (the harness commits after every event)."""
    return {"commit_interval": 5}


class Hang:
    """The emulator's ``sleep`` for hanging faults: what the soak does while a request hangs."""

    def __init__(self) -> None:
        self.handler: Callable[[float], Awaitable[None]] | None = None

    async def __call__(self, seconds: float) -> None:
        if self.handler is not None:
            await self.handler(seconds)


# Flatpeak's register readings (kWh by time) per device, tariff and flow direction.
type Readings = dict[tuple[str, str, str], dict[datetime, float]]


def keeping_readings(
    submit: Callable[[EmulatorState, str, Any], dict[str, Any]], readings: Readings
) -> Callable[[EmulatorState, str, Any], dict[str, Any]]:
    """``PUT /meters/cumulative/epoch`` that also keeps the readings it accepted, as Flatpeak
    does (the emulator keeps only the records it differences from them); a later reading at
    the same time replaces the earlier one."""

    def _submit(state: EmulatorState, account_id: str, body: Any) -> dict[str, Any]:
        batch = submit(state, account_id, body)  # raises for a request it refuses whole
        failed = {f["record_num"] for f in batch["failed_records"]}
        key = (
            body.get("device_id"),
            body.get("tariff_direction") or "IMPORT",
            body.get("energy_flow_direction") or "INBOUND",
        )
        scale = 1.0 if body["units"] == "KWH" else 0.001
        register = readings.setdefault(key, {})
        for index, reading in enumerate(body["data"]):
            if index not in failed:
                register[datetime.fromtimestamp(reading["time"], UTC)] = reading["value"] * scale
        return batch

    return _submit


@pytest.fixture
async def soak_emulator(
    socket_enabled: None, aiohttp_server: Any, monkeypatch: pytest.MonkeyPatch
) -> tuple[Emulator, Hang, Readings]:
    """The emulator on 127.0.0.1 on HA's frozen clock, with the demo account, and the
    register readings it accepts."""
    hang = Hang()
    readings: Readings = {}
    monkeypatch.setattr(
        routes_api, "submit_cumulative", keeping_readings(routes_api.submit_cumulative, readings)
    )
    state = EmulatorState(now=dt_util.utcnow, sleep=hang)
    demo = state.seed_demo()
    server = await aiohttp_server(create_app(state))
    return (
        Emulator(
            state=state,
            base_url=str(server.make_url("")).rstrip("/"),
            account_id=demo["account_id"],
            api_key=demo["api_key"],
            location_id=demo["location_id"],
        ),
        hang,
        readings,
    )


# -- the house -------------------------------------------------------------------------------


@dataclass
class House:
    """True energy per sensor, what each meter reads, and the sensor faults in play."""

    rng: random.Random
    total: dict[str, float] = field(
        default_factory=lambda: {
            "grid_import": 1000.0,
            "grid_export": 200.0,
            "solar": 300.0,
            "ev_charger": 50.0,
            "appliance": 80.0,
        }
    )
    base: dict[str, float] = field(default_factory=lambda: dict.fromkeys(SENSORS, 0.0))
    charging_until: datetime | None = None
    next_session: datetime | None = None
    unavailable: dict[str, int] = field(default_factory=dict)
    glitch: dict[str, float] = field(default_factory=dict)

    def reading(self, name: str) -> float:
        """What the meter shows (it was reset to 0 at ``base``)."""
        return round(self.total[name] - self.base[name], 6)

    def charging(self, when: datetime) -> bool:
        """Whether the car charges in the period starting ``when`` (sessions from the seed)."""
        if self.charging_until is not None and when >= self.charging_until:
            self.charging_until = None
        if self.next_session is None or self.next_session < when - timedelta(days=1):
            local = when.astimezone(LONDON)
            evening = datetime(local.year, local.month, local.day, 17, tzinfo=LONDON)
            start = evening + timedelta(minutes=5 * self.rng.randrange(0, 72))
            self.next_session = start if start > when else start + timedelta(days=1)
        if self.charging_until is None and when >= self.next_session:
            self.charging_until = when + FIVE * self.rng.randrange(6, 48)
            self.next_session = self.next_session + timedelta(days=1)
        return self.charging_until is not None

    def run(self, when: datetime) -> bool:
        """One period of energy; whether the car charged."""
        local = when.astimezone(LONDON)
        hour = local.hour + local.minute / 60
        load = 0.025 + (0.06 if 17 <= hour < 21 else 0.0) + 0.02 * self.rng.random()
        daylight = max(0.0, math.sin(math.pi * (hour - 6) / 12))
        solar = 0.3 * daylight * (0.5 + 0.5 * self.rng.random())
        charging = self.charging(when)
        charger = CHARGER_KW / 12 if charging else 0.0
        self.total["grid_import"] += max(0.0, load - solar) + charger
        self.total["grid_export"] += max(0.0, solar - load)
        self.total["solar"] += solar
        self.total["ev_charger"] += charger
        self.total["appliance"] += 0.4 * load  # the heat pump is part of the house's load
        return charging

    def states(self) -> dict[str, str]:
        """Each sensor's state for this period: its reading, a glitch or unavailable."""
        states = {}
        for name, entity_id in SENSORS.items():
            if self.unavailable.get(name, 0) > 0:
                self.unavailable[name] -= 1
                states[entity_id] = "unavailable"
            elif (factor := self.glitch.pop(name, None)) is not None:
                states[entity_id] = str(round(self.reading(name) * factor, 6))
            else:
                states[entity_id] = str(self.reading(name))
        return states


# -- the soak --------------------------------------------------------------------------------


@dataclass
class Armed:
    """An API fault waiting for its request; counted once the emulator used it."""

    kind: str
    fault: Fault
    restart: bool = False


class Soak:
    """Moves time, draws faults and keeps the house's sensors and the entry going."""

    def __init__(
        self,
        hass: HomeAssistant,
        freezer: FrozenDateTimeFactory,
        emulator: Emulator,
        hang: Hang,
        rng: random.Random,
    ) -> None:
        self.hass = hass
        self.freezer = freezer
        self.emulator = emulator
        self.state = emulator.state
        self.rng = rng
        self.house = House(random.Random(rng.random()))
        self.t = START
        self.entry: MockConfigEntry | None = None
        self.faults: Counter[str] = Counter()
        self.armed: Armed | None = None
        self.outage: Fault | None = None
        self.outage_window: tuple[datetime, datetime] = self._draw_outage()
        # periods of outage with the entry loaded throughout (up when it began, no restart)
        self.outage_up = 0
        self.outage_restarts: int | None = None  # restarts when it began, if up then
        self.outage_upload_failures: int | None = None  # the uploads' failures in a row
        self.restarts = 0  # unloads and set-ups
        self.down_until: datetime | None = None
        self.charging = False
        self.setup_retries = 0
        self.schedule: dict[datetime, list[str]] = {}
        self.pending: list[str] = []
        self.deck: list[str] = []
        hang.handler = self._hang
        freezer.move_to(START)

    def _draw_outage(self) -> tuple[datetime, datetime]:
        """``OUTAGE_DAYS`` of outage from the first day's fifth hour on, ending eight hours
        before the soak at the latest; else a day of outage on the second day or later, four
        hours when the soak is one day."""
        if OUTAGE_DAYS:
            latest = PERIODS_PER_DAY * (DAYS - OUTAGE_DAYS) - 96
            start = START + FIVE * self.rng.randrange(48, latest)
            return start, start + timedelta(days=OUTAGE_DAYS)
        if DAYS >= 2:
            start = START + timedelta(days=1 + self.rng.randrange(0, DAYS - 1), hours=0)
            start += FIVE * self.rng.randrange(0, 144)
            return start, start + timedelta(days=1)
        start = START + FIVE * self.rng.randrange(48, 168)
        return start, start + timedelta(hours=4)

    @property
    def now(self) -> datetime:
        """HA's (frozen) time."""
        return dt_util.utcnow()

    async def advance(self, to: datetime) -> None:
        """Let time pass to ``to`` a minute at a time, running what is scheduled.

        Nothing may be in flight when the clock moves: its timeout would fire at once.
        """
        await self.hass.async_block_till_done(wait_background_tasks=True)
        while self.now < to:
            moment = min(to, self.now + STEP)
            self.freezer.move_to(moment)
            async_fire_time_changed(self.hass, moment)
            await self.hass.async_block_till_done(wait_background_tasks=True)

    async def _hang(self, seconds: float) -> None:
        """A request hangs: the entry restarts under it, or the clock runs past the client's
        timeout (always during an outage: a restart armed before it waits)."""
        if self.armed is not None and self.armed.restart and self.outage is None:
            await self._unload()
            return
        self.freezer.tick(timedelta(seconds=seconds))
        async_fire_time_changed(self.hass)

    async def _unload(self) -> None:
        """HA stops: the entry unloads (progress saved), the sensors stay as they were."""
        assert self.entry is not None
        if self.entry.state is ConfigEntryState.LOADED:
            await self.hass.config_entries.async_unload(self.entry.entry_id)
            self.restarts += 1
        self.down_until = self.now + FIVE * self.rng.randrange(1, 7)

    async def setup(self) -> None:
        """First readings, devices, and the entry with a house meter, an EV charger and a
        heat pump (an appliance)."""
        self.hass.states.async_set(CHARGING, "off", {})
        await self.period()
        house_id = await new_device(self.hass, self.emulator, "house")
        charger_id = await new_device(self.hass, self.emulator, "charger")
        heat_pump_id = await new_device(self.hass, self.emulator, "heat_pump")
        mode = {CONF_SUBMISSION_MODE: MODE}
        self.entry = await make_entry(
            self.hass,
            self.emulator,
            subentries=[
                house_meter_subentry(house_id, **mode),
                ev_charger_subentry(charger_id, **mode),
                appliance_subentry(heat_pump_id, SENSORS["appliance"], "Heat pump", **mode),
            ],
            options={"history_days": 1},
        )
        assert await self.hass.config_entries.async_setup(self.entry.entry_id)
        await self.hass.async_block_till_done(wait_background_tasks=True)

    # -- faults ---------------------------------------------------------------------------

    def _count_used(self) -> None:
        if self.armed is not None and self.armed.fault not in self.state.faults:
            self.faults[self.armed.kind] += 1
            self.armed = None

    @property
    def loaded(self) -> bool:
        return self.entry is not None and self.entry.state is ConfigEntryState.LOADED

    def _outage(self) -> None:
        """Flatpeak down: every call a 503, or in a long outage 5xx answers and timeouts
        that change every six hours; a long one begins with HA up and restarts wait."""
        start, end = self.outage_window
        if self.outage is None and start <= self.t < end:
            if OUTAGE_DAYS and (self.down_until is not None or not self.loaded):
                self.outage_window = start + FIVE, end + FIVE
                return
            self._outage_answer("503")
            self.faults["outage_hours"] += round((end - start) / timedelta(hours=1))
            self.outage_restarts = self.restarts if self.loaded else None
        elif self.outage is not None and self.t >= end:
            assert self.entry is not None
            if self.loaded:
                diagnostics = self.entry.runtime_data.uploads.diagnostics()
                self.outage_upload_failures = diagnostics.get("consecutive_failures")
            self.state.faults.remove(self.outage)
            self.outage = None
        elif self.outage is not None and OUTAGE_DAYS and not (self.t - start) % OUTAGE_BLOCK:
            self._outage_answer(self.rng.choice(OUTAGE_ANSWERS))
        if self.outage is not None and self.loaded and self.restarts == self.outage_restarts:
            self.outage_up += 1

    def _outage_answer(self, answer: str) -> None:
        """What every call gets from now on, before any other fault."""
        if self.outage is not None:
            self.state.faults.remove(self.outage)
        if answer == "timeout":
            self.outage = self.state.drop_next("/*", count=10**9, hang=HANG)
        else:
            self.outage = self.state.fail_next("/*", int(answer), count=10**9)
        self.state.faults.remove(self.outage)
        self.state.faults.insert(0, self.outage)

    def draw_day(self) -> None:
        """Each day: when its sensor faults, token expiries and restarts happen."""
        for kind, count in DAILY.items():
            for _ in range(count):
                when = self.t + FIVE * self.rng.randrange(PERIODS_PER_DAY)
                self.schedule.setdefault(when, []).append(kind)

    def _arm(self) -> None:
        """Maybe one API fault for the next matching request (kinds dealt from a deck)."""
        if self.armed is not None or self.outage is not None:
            return
        rng = self.rng
        if rng.random() >= P_API_FAULT:
            return
        if not self.deck:
            self.deck = list(API_FAULTS)
            rng.shuffle(self.deck)
        kind = self.deck.pop()
        path = rng.choice([UPLOAD_PATH] * 2 + ["/costs/interval/*", "/*"])
        processed = rng.random() < 0.5
        if kind == "server_error":
            status = rng.choice([500, 502, 503, 504])
            extra = {"text": "<html>Bad gateway</html>"} if rng.random() < 0.3 else {}
            fault = self.state.fail_next(path, status, processed=processed, **extra)
        elif kind == "rate_limit":
            value = rng.choice([*RETRY_AFTER, "date"])
            if value == "date":  # an HTTP-date, past or future
                when = self.now + timedelta(minutes=rng.choice([-30, 10, 600]))
                value = when.strftime("%a, %d %b %Y %H:%M:%S GMT")
            fault = self.state.fail_next(path, 429, headers={"Retry-After": value})
        elif kind == "timeout":
            fault = self.state.drop_next(path, hang=HANG, processed=processed)
        elif kind == "connection_reset":
            fault = self.state.drop_next(path, processed=processed)
        else:
            fault = self.state.fail_next(path, 200, processed=processed, **rng.choice(MALFORMED))
        self.armed = Armed(kind, fault)

    def _scheduled(self) -> None:
        """The day's events that are due; a restart waits while an API fault is armed."""
        self.pending += self.schedule.pop(self.t, [])
        rng, house, waiting = self.rng, self.house, []
        for kind in self.pending:
            name = rng.choice(list(SENSORS))
            if kind == "sensor_reset":  # the meter starts again from 0
                house.base[name] = house.total[name]
            elif kind == "glitch":  # up or down by under 10 %: a rise and a fall, not a reset
                house.glitch[name] = rng.choice([1 + 0.09 * rng.random(), 1 - 0.08 * rng.random()])
            elif kind == "unavailable":
                house.unavailable[name] = rng.randrange(1, 13)
            elif kind == "expired_token":
                self.state.expire_tokens()
            elif self.armed is not None or self.down_until is not None or self.outage is not None:
                waiting.append(kind)
                continue
            elif kind == "restart_idle":
                self.down_until = self.t  # unloaded at once, in _restarts
            else:  # under an upload or a cost request in flight
                path = UPLOAD_PATH if kind == "restart_mid_upload" else "/costs/interval/*"
                fault = self.state.drop_next(path, hang=1.0, processed=rng.random() < 0.5)
                self.armed = Armed(kind, fault, restart=True)
                continue  # counted once its request came
            self.faults[kind] += 1
        self.pending = waiting

    # -- periods --------------------------------------------------------------------------

    async def period(self, *, faults: bool = False) -> None:
        """One 5-minute period: faults drawn, states set, then the statistics compile."""
        if faults:
            self._count_used()
            self._outage()
            self._scheduled()
            self._arm()
        await self._restarts()
        charging = self.house.run(self.t)
        await self.advance(self.t + timedelta(seconds=30))
        if self.down_until is None:
            if charging != self.charging:
                self.charging = charging
                self.hass.states.async_set(CHARGING, "on" if charging else "off", {})
            await self.advance(self.t + STEP)
            for entity_id, value in self.house.states().items():
                self.hass.states.async_set(entity_id, value, ENERGY)
        await self.advance(self.t + FIVE + timedelta(seconds=10))
        do_adhoc_statistics(self.hass, start=self.t)
        await async_wait_recording_done(self.hass)
        self.t += FIVE

    async def _restarts(self) -> None:
        """Unload for an idle restart; set up again once the downtime is over."""
        if self.entry is None or self.down_until is None:
            return
        if self.entry.state is ConfigEntryState.LOADED and self.down_until <= self.t:
            await self._unload()  # an idle restart, drawn for now
            return
        if self.t < self.down_until:
            return
        self.down_until = None
        # HA is back: the sensors show what they count now, then the entry sets up.
        self.charging = self.house.charging_until is not None
        self.hass.states.async_set(CHARGING, "on" if self.charging else "off", {})
        for entity_id, value in self.house.states().items():
            self.hass.states.async_set(entity_id, value, ENERGY)
        self.restarts += 1
        if not await self.hass.config_entries.async_setup(self.entry.entry_id):
            self.setup_retries += 1  # during the outage: HA retries on its own
        await self.hass.async_block_till_done(wait_background_tasks=True)

    async def settle(self) -> None:
        """Faults off, the entry up, two quiet hours, a last cycle and its cost refresh."""
        if self.armed is not None:
            self._count_used()
        if self.armed is not None:
            self.state.faults.remove(self.armed.fault)
            self.armed = None
        if self.outage is not None:
            self.state.faults.remove(self.outage)
            self.outage = None
        assert self.state.faults == []
        end = self.t + SETTLE
        while self.t < end:
            await self.period()
        assert self.entry is not None
        if self.entry.state is not ConfigEntryState.LOADED:
            self.down_until = self.t
            await self._restarts()
        assert self.entry.state is ConfigEntryState.LOADED, self.entry.state
        await self.entry.runtime_data.uploads.async_refresh()
        await self.advance(self.now + timedelta(minutes=2))  # the debounced cost refresh
        await async_wait_recording_done(self.hass)


# -- the verdict -----------------------------------------------------------------------------


def _rows(
    hass: HomeAssistant, ids: set[str], end: datetime, period: str, types: set[str]
) -> dict[str, list[dict[str, Any]]]:
    units = {"energy": "kWh"} if period == "5minute" else None
    return statistics_during_period(  # type: ignore[return-value]
        hass,
        START - timedelta(days=40),
        end,
        ids,
        period,
        units,
        types,  # type: ignore[arg-type]
    )


async def energy_verdict(soak: Soak, readings: Readings) -> tuple[EnergyVerdict, list[StreamKey]]:
    """HA's 5-minute statistics of every sensor against the emulator's records (and in
    cumulative mode the register readings Flatpeak accepted)."""
    assert soak.entry is not None
    streams = [
        StreamKey(s.name, s.device_id, s.tariff.value, s.flow.value)
        for s in entry_streams(soak.entry)
    ]
    by_entity = {s.entity_id: s.name for s in entry_streams(soak.entry)}
    rows = await get_instance(soak.hass).async_add_executor_job(
        _rows, soak.hass, set(by_entity), soak.t, "5minute", {"change"}
    )
    ha_rows = {
        by_entity[entity_id]: [
            (datetime.fromtimestamp(float(row["start"]), UTC), float(row["change"]))
            for row in items
            if row.get("change") is not None
        ]
        for entity_id, items in rows.items()
    }
    if CUMULATIVE:
        return check_cumulative(streams, ha_rows, readings, soak.state.records()), streams
    return check_energy(streams, ha_rows, soak.state.records()), streams


async def cost_verdicts(soak: Soak) -> dict[str, CostVerdict]:
    """Each cost statistic's hours against the emulator's report over all the records."""
    assert soak.entry is not None
    state, emulator = soak.state, soak.emulator
    location = state.locations[emulator.location_id]
    verdicts = {}
    for statistic in entry_cost_statistics(soak.entry, ""):
        records = [
            r
            for r in state.record_objects(emulator.account_id, device_id=statistic.device_id)
            if r.tariff_direction == statistic.direction.value
        ]
        report = energy_cost(
            state,
            account_id=emulator.account_id,
            object_id=statistic.device_id,
            location=location,
            records=records,
            direction=statistic.direction.value,
            start=min(r.start for r in records),
            end=max(r.end for r in records),
            aggregation=None,
        )
        flatpeak: dict[datetime, float] = {}
        for row in report["data"]:
            hour = parse_time(row["start_time"]).replace(minute=0, second=0, microsecond=0)
            flatpeak[hour] = flatpeak.get(hour, 0.0) + row["cost"]["value"]
        rows = await get_instance(soak.hass).async_add_executor_job(
            _rows,
            soak.hass,
            {statistic.statistic_id},
            soak.now + timedelta(hours=2),
            "hour",
            {"state", "sum"},
        )
        hours = [
            (
                datetime.fromtimestamp(float(row["start"]), UTC),
                float(row.get("state") or 0.0),
                float(row.get("sum") or 0.0),
            )
            for row in rows.get(statistic.statistic_id, [])
        ]
        verdicts[statistic.kind] = check_costs(hours, flatpeak)
    return verdicts


_ID = re.compile(r"/(dev|loc|trf|ecs|bat|ha-session)[_-][^/]+")


def requests_by_endpoint(log: list[tuple[str, str]]) -> dict[str, int]:
    """API requests served, by method and path with ids left out."""
    counts = Counter(f"{method} {_ID.sub(r'/{\1}', path)}" for method, path in log)
    return dict(sorted(counts.items()))


class Tracebacks(logging.Handler):
    """Errors logged with a traceback that runs through the integration, by exception."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.kinds: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info is None or (error := record.exc_info[1]) is None:
            return
        text = "".join(traceback.format_exception(error))
        if record.name.startswith("custom_components.flatpeak") or (
            "custom_components/flatpeak" in text
        ):
            self.kinds[f"{type(error).__name__}: {str(error)[:100]}"] += 1


def completed_events(hass: HomeAssistant) -> set[tuple[str, str]]:
    """Every ``session_completed`` the charger's event entity fires from now on: its time
    (the state; a restored state repeats it, two sessions final in one cycle share it) and
    the session id."""
    fired: set[tuple[str, str]] = set()

    def _changed(event: Event[Any]) -> None:
        new = event.data["new_state"]
        if new is not None and new.attributes.get("event_type") == "session_completed":
            fired.add((new.state, str(new.attributes.get("session_id"))))

    async_track_state_change_event(hass, [CHARGER_EVENT], _changed)
    return fired


# -- the soak itself -------------------------------------------------------------------------


class Watchdog:
    """Keeps simulated time honest when a request hangs with nobody moving the clock.

    A request that gets no answer waits for the client's timeout, which on HA's frozen clock
    never comes while the soak waits for that request: after ``NUDGE_SECONDS`` of wall time
    without progress the clock is moved past the timeout (as real time would). Still stuck
    after ``STALL_SECONDS``: a deadlock; the stacks are printed and the process ends, so CI
    does not hang.
    """

    def __init__(self, soak: Soak) -> None:
        self._soak = soak
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="soak-watchdog", daemon=True)
        self.nudges = 0

    def __enter__(self) -> Watchdog:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _nudge(self) -> None:
        self.nudges += 1
        self._soak.freezer.tick(timedelta(seconds=CLIENT_TIMEOUT + 1))
        async_fire_time_changed(self._soak.hass)

    def _run(self) -> None:
        last: datetime | None = None
        stuck = 0.0
        while not self._stop.wait(NUDGE_SECONDS):
            moment = self._soak.t  # periods done (a nudge moves the clock, not this)
            if moment != last:
                last, stuck = moment, 0.0
                continue
            stuck += NUDGE_SECONDS
            if stuck < STALL_SECONDS:
                self._soak.hass.loop.call_soon_threadsafe(self._nudge)
                continue
            print(f"soak: stalled at {self._soak.now}; stacks follow", file=sys.stderr)
            faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
            for task in asyncio.all_tasks(self._soak.hass.loop):
                task.print_stack(file=sys.stderr)
            sys.stderr.flush()
            os._exit(3)


async def test_soak(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    soak_emulator: tuple[Emulator, Hang, Readings],
) -> None:
    """``DAYS`` days with faults, two quiet hours, then the verdict."""
    hass.loop.set_debug(False)  # the harness turns asyncio debug on; Home Assistant does not
    for name in ("aiohttp.access", "homeassistant.components.sensor.recorder"):
        logging.getLogger(name).setLevel(logging.WARNING)  # a line per request or reset
    tracebacks = Tracebacks()
    logging.getLogger().addHandler(tracebacks)
    wall = os.times().elapsed  # time.perf_counter is frozen with the clock
    emulator, hang, readings = soak_emulator
    await hass.config.async_set_time_zone("Europe/London")
    await hass.config.async_update(currency="GBP")
    assert await async_setup_component(hass, "sensor", {})
    random.seed(SEED)  # HA's and the integration's jitter too: the same run every time
    soak = Soak(hass, freezer, emulator, hang, random.Random(SEED))
    with Watchdog(soak) as watchdog:
        await soak.setup()
        events = completed_events(hass)
        for _ in range(DAYS):
            soak.draw_day()
            for _ in range(PERIODS_PER_DAY):
                await soak.period(faults=True)
        await soak.settle()
    energy, streams = await energy_verdict(soak, readings)
    costs = await cost_verdicts(soak)
    await hass.async_block_till_done(wait_background_tasks=True)
    logging.getLogger().removeHandler(tracebacks)

    assert soak.entry is not None
    book = soak.entry.runtime_data.sessions.book
    sessions = [s for sub in book.chargers() for s in book.sessions(sub)]
    session_costs = [c for s in sessions if (c := book.cost(s.id)) is not None]
    final = {c_id for s in sessions if (c := book.cost(c_id := s.id)) is not None and c.final}
    pending = [s.end.isoformat() for s in sessions if s.end is not None and s.id not in final]
    registers = energy.registers
    summary = {
        "days": DAYS,
        "seed": SEED,
        "mode": MODE,
        "outage_hours": soak.faults["outage_hours"],
        "outage_without_restart_hours": round(soak.outage_up * FIVE / timedelta(hours=1), 2),
        "outage_upload_failures": soak.outage_upload_failures,
        "outage_window": [t.isoformat() for t in soak.outage_window],
        "expected": energy.expected,
        "stored": energy.stored,
        "missing": energy.missing,
        "duplicated": energy.duplicated + energy.misaligned,
        "zero_filled": energy.filled,
        "energy_difference_kwh": {k: float(f"{v:.3g}") for k, v in energy.difference_kwh.items()},
        "energy_kwh": {k: round(v, 3) for k, v in energy.ha_kwh.items()},
        "registers": None
        if registers is None
        else {
            "readings": registers.readings,
            "decreases": registers.decreases,
            "mismatches": registers.mismatches,
            "spans": registers.spans,
            "rise_difference_kwh": {
                k: float(f"{v:.3g}") for k, v in registers.difference_kwh.items()
            },
        },
        "costs": {
            kind: {
                "hours": v.hours,
                "gaps": v.gaps,
                "jumps": v.jumps,
                "sum": round(v.final_sum, 6),
                "flatpeak": round(v.flatpeak_cost, 6),
                "ok": v.ok,
            }
            for kind, v in costs.items()
        },
        "costs_continuous": all(v.ok for v in costs.values()),
        "faults": dict(sorted(soak.faults.items())),
        "setups_refused": soak.setup_retries,
        "hung_requests_timed_out": watchdog.nudges,
        "sessions": {
            "recorded": len(sessions),
            "ended": sum(1 for s in sessions if s.end is not None),
            "final": sum(1 for c in session_costs if c.final),
            "notified": sum(1 for c in session_costs if c.notified),
            "pending": pending,  # when each session that ended and is not final ended
            # every soak session charges for half an hour or more: a final 0 is wrong
            "final_at_zero": sum(1 for c in session_costs if c.final and not c.cost),
            "completed_events": len(events),
            "fired_twice": len(events) - len({session for _time, session in events}),
        },
        "tracebacks": sum(tracebacks.kinds.values()),
        "traceback_kinds": dict(tracebacks.kinds.most_common(5)),
        "requests": len(emulator.state.request_log),
        "requests_by_endpoint": requests_by_endpoint(emulator.state.request_log),
        "wall_seconds": round(os.times().elapsed - wall, 1),
        "ha_version": HA_VERSION,
        "python": sys.version.split()[0],
    }
    # a session's completed event fires once (the last sessions may not be final yet)
    summary["ok"] = (
        energy.ok
        and summary["costs_continuous"]
        and not summary["sessions"]["fired_twice"]
        and not summary["tracebacks"]
        and (not OUTAGE_DAYS or summary["outage_without_restart_hours"] == 24 * OUTAGE_DAYS)
    )
    _print_report(summary, energy, costs, streams)
    if SUMMARY_PATH:
        Path(SUMMARY_PATH).write_text(json.dumps(summary) + "\n", encoding="utf-8")  # noqa: ASYNC240
    else:
        print(json.dumps(summary))
    assert summary["ok"], [
        *energy.examples,
        *(e for v in costs.values() for e in v.examples),
        *(f"{n} tracebacks: {kind}" for kind, n in summary["traceback_kinds"].items()),
        f"{summary['outage_without_restart_hours']} h of the outage without a restart",
    ]


def _print_report(
    summary: dict[str, Any],
    energy: EnergyVerdict,
    costs: dict[str, CostVerdict],
    streams: list[StreamKey],
) -> None:
    print(
        f"\nSoak: {summary['days']} days, seed {summary['seed']}, {summary['mode']} mode, "
        f"Home Assistant {summary['ha_version']} on Python {summary['python']} "
        f"({summary['wall_seconds']} s of wall time)"
    )
    print(
        f"  outage {summary['outage_hours']} h, {summary['outage_without_restart_hours']} h of "
        f"it without a restart; {summary['outage_upload_failures']} upload failures in a row"
    )
    print(
        f"  intervals expected {energy.expected}, stored {energy.stored} "
        f"({energy.filled} of 0 kWh where HA has an hourly row only), missing {energy.missing}, "
        f"duplicated {energy.duplicated}, misaligned {energy.misaligned}"
    )
    for stream in streams:
        name = stream.name
        print(
            f"  {name:<12} HA {energy.ha_kwh[name]:12.6f} kWh  Flatpeak "
            f"{energy.stored_kwh[name]:12.6f} kWh  difference {energy.difference_kwh[name]:+.2e}"
        )
    if (registers := energy.registers) is not None:
        print(
            f"  registers: {registers.readings} readings, {registers.decreases} decreases, "
            f"{registers.mismatches} records not their readings' difference, "
            f"{registers.spans} spans"
        )
        for name, rise in registers.rise_kwh.items():
            print(
                f"  {name:<12} register rose {rise:12.6f} kWh  "
                f"difference {registers.difference_kwh[name]:+.2e}"
            )
    for kind, verdict in costs.items():
        print(
            f"  {kind:<18} {verdict.hours} hours, {verdict.gaps} gaps, {verdict.jumps} jumps; "
            f"sum {verdict.final_sum:.6f}, Flatpeak {verdict.flatpeak_cost:.6f} "
            f"({'ok' if verdict.ok else 'FAILED'})"
        )
    print(f"  faults: {summary['faults']}")
    print(f"  sessions: {summary['sessions']}")
    print(f"  requests: {summary['requests']} {summary['requests_by_endpoint']}")
    for kind, count in summary["traceback_kinds"].items():
        print(f"  ! {count} tracebacks: {kind}")
    for example in energy.examples[:10]:
        print(f"  ! {example}")
    for verdict in costs.values():
        for example in verdict.examples[:5]:
            print(f"  ! {example}")
    print(f"  verdict: {'ok' if summary['ok'] else 'FAILED'}")
