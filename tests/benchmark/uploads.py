"""Benchmark: a year's history upload by the real uploader, in the real HA test harness.

Run by ``scripts/benchmark`` (pytest on this file only; its name is not ``test_*``, so the
normal test run does not collect it). A house meter with three sensors gets hourly statistics
for the whole range plus real 5-minute statistics for its last days, then
``flatpeak.upload_history`` sends the range to the emulator over HTTP. Prints figures and
asserts nothing about speed; it does check that the energy arrived, since a figure for a broken
upload means nothing. The cost re-import the action starts is measured after each upload, on its
own. A second test runs a simulated day at the default cycle and counts requests per device-hour
by endpoint; both tests' figures go into one JSON object.

For the upload, the emulator runs in processes of its own, so its CPU time, memory and event
loop are not charged to the uploader. Settings come from the environment (scripts/benchmark
sets them): ``FLATPEAK_BENCH_DAYS`` (365), ``FLATPEAK_BENCH_FIVE_MINUTE_DAYS`` (10),
``FLATPEAK_BENCH_ZERO_HOURS`` (1: night hours of solar and export have 0 kWh, as in a real
house; 0: every sensor moves a little every period) and ``FLATPEAK_BENCH_JSON`` (write the
summary line there instead of printing it).
"""

from __future__ import annotations

from array import array
from collections.abc import Generator, Iterator, Sequence
import contextlib
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
import json
import math
import os
from pathlib import Path
import random
import subprocess
import sys
import time
from typing import Any

from homeassistant.components.recorder.db_schema import StatisticsShortTerm
from homeassistant.components.recorder.models import StatisticMeanType
from homeassistant.components.recorder.statistics import async_import_statistics
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import __version__ as HA_VERSION
from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.recorder import get_instance
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)

from custom_components.flatpeak.client import (
    MAX_RECORDS_PER_CALL,
    EnergyUnits,
    FlatpeakClient,
    MeterRecord,
)
from custom_components.flatpeak.const import (
    CONF_HISTORY_DAYS,
    CONF_UPLOAD_INTERVAL,
    DEFAULT_CHEAP_WINDOW,
    DEFAULT_UPLOAD_INTERVAL_MIN,
    DOMAIN,
)
from custom_components.flatpeak.core.records import record_reference_id
from custom_components.flatpeak.core.streams import Stream, entry_streams
from tests.benchmark.measure import (
    Runs,
    measure,
    peak_rss_kb,
    reset_peak_rss,
    traced_peak_mb,
)
from tests.emulator import EmulatorState, create_app
from tests.helpers import ENERGY, house_meter_subentry, make_entry, new_device
from tests.uploads_helpers import Meter, knows_unit_class

ROOT = Path(__file__).resolve().parents[2]  # the repository: tests/benchmark/uploads.py
DAYS = int(os.environ.get("FLATPEAK_BENCH_DAYS", "365"))
FIVE_MINUTE_DAYS = min(DAYS, int(os.environ.get("FLATPEAK_BENCH_FIVE_MINUTE_DAYS", "10")))
ZERO_HOURS = os.environ.get("FLATPEAK_BENCH_ZERO_HOURS", "1") != "0"
SUMMARY_PATH = os.environ.get("FLATPEAK_BENCH_JSON")

FIVE = timedelta(minutes=5)
PER_HOUR = 12
SENSORS = ("sensor.grid_import", "sensor.grid_export", "sensor.solar")
STANDBY_KWH = 0.0002  # per period and sensor without zero hours
ZERO_KWH = 1e-6  # the planner's tolerance when it compares 5-minute rows with an hour's row


# -- emulators in their own processes --------------------------------------------------------


@dataclass(frozen=True)
class RemoteEmulator:
    """An emulator process: what ``make_entry`` and ``new_device`` need of it."""

    base_url: str
    account_id: str
    api_key: str
    location_id: str

    @property
    def credentials(self) -> dict[str, Any]:
        """Config entry data for its demo account."""
        return {"account_id": self.account_id, "api_key": self.api_key, "base_url": self.base_url}


@contextlib.contextmanager
def _emulator_process() -> Iterator[RemoteEmulator]:
    """``python -m tests.emulator`` on a free port, stopped on exit."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.emulator"], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        if not (line := process.stdout.readline()):
            raise RuntimeError(f"the emulator did not start (exit {process.wait()})")
        info = json.loads(line)
        yield RemoteEmulator(
            info["base_url"], info["account_id"], info["api_key"], info["location_id"]
        )
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:  # still draining a connection: no figure needs it
            process.kill()
            process.wait()


@pytest.fixture
def emulators(socket_enabled: None) -> Generator[tuple[RemoteEmulator, RemoteEmulator]]:
    """Two fresh emulators: one for the uploader, one for the floor."""
    with _emulator_process() as uploader, _emulator_process() as floor:
        yield uploader, floor


@pytest.fixture
def persistent_database() -> bool:
    """The recorder's SQLite database in a file, as in production (not in memory)."""
    return True


@pytest.fixture(autouse=True)
def _ha_harness(request: pytest.FixtureRequest) -> None:
    """The real recorder and our integration, as tests/conftest.py gives the tests."""
    request.getfixturevalue("recorder_mock")
    request.getfixturevalue("enable_custom_integrations")


async def _interval_puts(hass: HomeAssistant, emulator: RemoteEmulator) -> int:
    """``PUT /meters/interval`` requests the emulator has served (its control endpoint)."""
    session = async_get_clientsession(hass)
    async with session.get(f"{emulator.base_url}/_emulator/requests") as answer:
        log = (await answer.json())["data"]
    return sum(1 for r in log if r["method"] == "PUT" and r["path"] == "/meters/interval")


# -- the house's energy ----------------------------------------------------------------------


@dataclass(frozen=True)
class House:
    """Energy (kWh) per 5-minute period of each sensor over ``[start, end)``.

    Its statistics are hourly over the whole range and also 5-minute from ``five_from``.
    """

    start: datetime
    end: datetime
    five_from: datetime
    kwh: dict[str, list[float]]

    @property
    def periods(self) -> int:
        """5-minute periods per sensor."""
        return int((self.end - self.start) / FIVE)

    @property
    def _five_minute_hours_from(self) -> int:
        """The first period of the first hour with 5-minute rows (one before ``five_from``)."""
        if self.five_from >= self.end:
            return self.periods
        return max(0, int((self.five_from - self.start) / FIVE) - PER_HOUR)

    def _hour_kwh(self, entity_id: str, index: int) -> float:
        first = index - index % PER_HOUR
        return sum(self.kwh[entity_id][first : first + PER_HOUR])

    def sent_kwh(self, entity_id: str, index: int) -> float:
        """What the uploader sends for a period: hourly rows are spread evenly over the hour."""
        if self.start + FIVE * index >= self.five_from:
            return self.kwh[entity_id][index]
        return self._hour_kwh(entity_id, index) / PER_HOUR

    def records(self, *, zero_hours: bool) -> array[int]:
        """Every record to send, numbered ``period * sensors + sensor``, in time order.

        ``zero_hours`` False leaves out the periods of hours of 0 kWh that have an hourly
        row only: the planner sends nothing for those at the time of writing.
        """
        numbers = array("l")
        five_minute_hours = self._five_minute_hours_from
        for index in range(self.periods):
            for which, entity_id in enumerate(SENSORS):
                if (
                    zero_hours
                    or index >= five_minute_hours
                    or abs(self._hour_kwh(entity_id, index)) > ZERO_KWH
                ):
                    numbers.append(index * len(SENSORS) + which)
        return numbers


def make_house(end: datetime, days: int, five_minute_days: int, *, zero_hours: bool) -> House:
    """A house with solar: evening peak, solar by day, the surplus exported."""
    rng = random.Random(2026)
    start = end - timedelta(days=days)
    standby = 0.0 if zero_hours else STANDBY_KWH
    kwh: dict[str, list[float]] = {entity_id: [] for entity_id in SENSORS}
    for index in range(days * 24 * PER_HOUR):
        when = start + FIVE * index
        hour = when.hour + when.minute / 60
        load = 0.025 + (0.06 if 17 <= hour < 21 else 0.0) + 0.02 * rng.random()
        daylight = max(0.0, math.sin(math.pi * (hour - 6) / 12))
        solar = 0.3 * daylight * (0.5 + 0.5 * rng.random())
        kwh["sensor.grid_import"].append(max(0.0, load - solar) + standby)
        kwh["sensor.grid_export"].append(max(0.0, solar - load) + standby)
        kwh["sensor.solar"].append(solar + standby)
    return House(start, end, end - timedelta(days=five_minute_days), kwh)


def _metadata(entity_id: str) -> dict[str, Any]:
    return {
        "source": "recorder",
        "statistic_id": entity_id,
        "name": None,
        "unit_of_measurement": "kWh",
        "has_mean": False,
        "mean_type": StatisticMeanType.NONE,
        "has_sum": True,
        **({"unit_class": "energy"} if knows_unit_class() else {}),
    }


async def import_statistics(hass: HomeAssistant, house: House) -> None:
    """Hourly rows over the whole range, 5-minute rows from ``five_from`` (sums from 0).

    HA's public import helpers take hourly rows only; the recorder's own import task writes
    the 5-minute table as well. One 5-minute row just before ``five_from`` gives the first
    one in the range its change.
    """
    first_five = int((house.five_from - house.start) / FIVE)
    for entity_id in SENSORS:
        total, hourly, five = 0.0, [], []
        for index, value in enumerate(house.kwh[entity_id]):
            total += value
            when = house.start + FIVE * index
            if first_five - 1 <= index and house.five_from < house.end:
                five.append({"start": when, "state": total, "sum": total})
            if index % PER_HOUR == PER_HOUR - 1:
                hourly.append({"start": when - FIVE * (PER_HOUR - 1), "state": total, "sum": total})
        async_import_statistics(hass, _metadata(entity_id), hourly)  # type: ignore[arg-type]
        if five:
            get_instance(hass).async_import_statistics(
                _metadata(entity_id),  # type: ignore[arg-type]
                five,  # type: ignore[arg-type]
                StatisticsShortTerm,
            )
        hass.states.async_set(entity_id, str(total), ENERGY)
    await async_wait_recording_done(hass)


# -- the floor -------------------------------------------------------------------------------


def floor_records(
    house: House, streams: list[Stream], location_id: str, numbers: Sequence[int]
) -> list[MeterRecord]:
    """The records numbered ``period * sensors + sensor``, as the uploader builds them."""
    records: list[MeterRecord] = []
    for number in numbers:
        index, which = divmod(number, len(streams))
        stream = streams[which]
        start = house.start + FIVE * index
        records.append(
            MeterRecord(
                location_id=location_id,
                device_id=stream.device_id,
                start_time=start,
                end_time=start + FIVE,
                value=house.sent_kwh(stream.entity_id, index),
                units=EnergyUnits.KWH,
                record_reference_id=record_reference_id(stream.device_id, stream.name, start),
                energy_flow_direction=stream.flow,
                tariff_direction=stream.tariff,
                confidence=stream.confidence,
            )
        )
    return records


class Floor:
    """The same records built (worker thread), encoded and sent 10,000 at a time with the
    client alone, to an emulator of their own."""

    def __init__(self, hass: HomeAssistant, emulator: RemoteEmulator, house: House) -> None:
        self._hass = hass
        self._emulator = emulator
        self._house = house
        self._client = FlatpeakClient(
            async_get_clientsession(hass),
            emulator.account_id,
            emulator.api_key,
            base_url=emulator.base_url,
        )
        self._streams: list[Stream] = []
        self.numbers: array[int] = array("l")

    async def async_setup(self, streams: list[Stream], numbers: array[int]) -> None:
        """A device of its own for the streams; ``numbers`` are the records to send."""
        device = await self._client.create_device(
            "bench-floor", location_ids=[self._emulator.location_id]
        )
        self._streams = [replace(s, device_id=device.id) for s in streams]
        self.numbers = numbers

    async def send(self) -> dict[str, Any]:
        """Every record once; what the emulator accepted."""
        sent = requests = 0
        for first in range(0, len(self.numbers), MAX_RECORDS_PER_CALL):
            records = await self._hass.async_add_executor_job(
                floor_records,
                self._house,
                self._streams,
                self._emulator.location_id,
                self.numbers[first : first + MAX_RECORDS_PER_CALL],
            )
            sent += (await self._client.submit_interval_records(records)).records_accepted
            requests += 1
        return {"records_sent": sent, "requests": requests}


# -- the summary -----------------------------------------------------------------------------

# Both tests' figures, in one JSON object: each test adds its own and writes the whole.
_SUMMARY: dict[str, Any] = {}


async def _publish(hass: HomeAssistant, figures: dict[str, Any]) -> None:
    """Add ``figures`` to the summary and write it (``FLATPEAK_BENCH_JSON``) or print it."""
    _SUMMARY.update(figures)
    line = json.dumps(_SUMMARY)
    if SUMMARY_PATH:
        await hass.async_add_executor_job(Path(SUMMARY_PATH).write_text, line + "\n")
    else:
        print(line)


# -- the benchmark ---------------------------------------------------------------------------


async def test_upload_history_benchmark(
    hass: HomeAssistant, emulators: tuple[RemoteEmulator, RemoteEmulator]
) -> None:
    """Upload the whole range with the action and send the floor, twice each in turn (timed),
    then upload once more traced."""
    emulator, floor_emulator = emulators
    hass.loop.set_debug(False)  # the harness turns asyncio debug on; Home Assistant does not
    imported = time.perf_counter()
    # Midnight UTC: the same hours of day, so the same records, whenever it runs.
    end = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    house = make_house(end, DAYS, FIVE_MINUTE_DAYS, zero_hours=ZERO_HOURS)
    await import_statistics(hass, house)
    imported = time.perf_counter() - imported

    device_id = await new_device(hass, emulator, "house")  # type: ignore[arg-type]
    entry = await make_entry(
        hass,
        emulator,  # type: ignore[arg-type]
        subentries=[house_meter_subentry(device_id)],
        options={"history_days": 0},  # the entry's own cycles send nothing of the range
    )
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    data = {"config_entry_id": entry.entry_id, "start": house.start, "end": house.end}

    async def upload() -> dict[str, Any]:
        response = await hass.services.async_call(
            DOMAIN, "upload_history", data, blocking=True, return_response=True
        )
        assert response is not None
        return dict(response)

    async def costs_after() -> dict[str, Any]:
        # The action re-imports the range's costs in a background task: measured on its
        # own, so it neither hides nor lands in the next run.
        await hass.async_block_till_done(wait_background_tasks=True)
        return {}

    puts = await _interval_puts(hass, emulator)
    rss = reset_peak_rss()
    first = await measure(upload)
    rss_peak = peak_rss_kb() if rss is not None else None
    puts = await _interval_puts(hass, emulator) - puts
    reimports = [await measure(costs_after)]

    result = first.result
    assert result["records_failed"] == 0, result
    for entity_id in SENSORS:
        assert result["kwh"][entity_id] == pytest.approx(sum(house.kwh[entity_id]), abs=1e-4)
    # Every period of every sensor should be sent, zero periods too. Where the uploader
    # leaves out hours of 0 kWh, the floor leaves them out as well, to send the same records.
    records, expected = result["records_sent"], house.periods * len(SENSORS)
    numbers = house.records(zero_hours=records == expected)

    floor = Floor(hass, floor_emulator, house)
    await floor.async_setup(entry_streams(entry), numbers)
    floors = [await measure(floor.send)]
    uploads = [first, await measure(upload)]
    reimports.append(await measure(costs_after))
    floors.append(await measure(floor.send))
    # Once more, traced; the emulator replaces the records each time.
    peak_mb, traced_wall = await traced_peak_mb(upload)
    for run in uploads:
        assert run.result["records_sent"] == records, run.result
    for run in floors:
        assert run.result["records_sent"] == len(numbers), run.result
    await hass.async_block_till_done(wait_background_tasks=True)

    action, client, costs = Runs(uploads), Runs(floors), Runs(reimports)
    loop = action.loop
    summary = {
        "records": records,
        "records_expected": expected,
        "floor_records": len(numbers),
        "requests": result["requests"],
        "floor_requests": math.ceil(records / MAX_RECORDS_PER_CALL),
        "overhead_ratio": round(action.best.wall / client.best.wall, 2),
        # The action's whole effect: its uploads and the cost re-import it starts.
        "loop_block_max_ms": max(loop["max"], costs.loop["max"]),
        "loop_block_max_upload_ms": loop["max"],
        "cost_reimport_loop_block_max_ms": costs.loop["max"],
        "cost_reimport_loop_block_max_outside_full_gc_ms": costs.loop["max_outside_full_gc"],
        "cost_reimport_wall_seconds": round(costs.best.wall, 2),
        "loop_block_p99_ms": loop["p99"],
        "loop_block_p50_ms": loop["p50"],
        "loop_block_max_outside_full_gc_ms": loop["max_outside_full_gc"],
        "gc_pause_max_ms": action.gc["max"],
        "peak_memory_mb": round(peak_mb, 1),
        "peak_rss_growth_mb": None if rss_peak is None else round((rss_peak - rss) * 1024 / 1e6, 1),
        "records_per_second": round(records / action.best.wall),
        "cpu_seconds": round(action.best.cpu, 2),
        "wall_seconds": round(action.best.wall, 2),
        "floor_wall_seconds": round(client.best.wall, 2),
        "floor_cpu_seconds": round(client.best.cpu, 2),
        "floor_loop_block_max_ms": client.loop["max"],
        "traced_wall_seconds": round(traced_wall, 2),
        "days": DAYS,
        "five_minute_days": FIVE_MINUTE_DAYS,
        "zero_hours": ZERO_HOURS,
        "ha_version": HA_VERSION,
        "python": sys.version.split()[0],
    }
    _print_report(summary, action, client, puts=puts, imported=imported)
    await _publish(hass, summary)


def _print_report(
    summary: dict[str, Any], action: Runs, floor: Runs, *, puts: int, imported: float
) -> None:
    records = summary["records"]
    print(
        f"\nHome Assistant {HA_VERSION}, Python {summary['python']}: {DAYS} days x "
        f"{len(SENSORS)} sensors, hourly statistics and the last {FIVE_MINUTE_DAYS} days "
        f"also 5-minute ({'with' if ZERO_HOURS else 'no'} hours of 0 kWh; imported in "
        f"{imported:.1f} s)"
    )
    print(
        f"  records sent {records:,}; requests {summary['requests']} (the emulator served "
        f"{puts}); floor ceil(records / 10,000) = {summary['floor_requests']}"
    )
    zero_hours = "hours of 0 kWh that have an hourly row only"
    if missing := summary["records_expected"] - records:
        which = f" ({zero_hours})" if summary["floor_records"] == records else ""
        print(
            f"  NOT SENT: {missing:,} of {summary['records_expected']:,} periods{which}; "
            "every period should be sent"
        )
    if summary["floor_records"] != records:
        print(
            f"  the floor sends {summary['floor_records']:,} records, all periods but "
            f"{zero_hours}: the nearest to what the uploader sent"
        )
    print("  times of the faster of two runs; event loop and garbage collector over both")
    for label, runs, count in (
        ("upload_history action", action, records),
        ("floor (client only)", floor, summary["floor_records"]),
    ):
        best, loop, gcs = runs.best, runs.loop, runs.gc
        print(
            f"  {label:<22} {best.wall:6.2f} s wall ({runs.walls}) {best.cpu:6.2f} s CPU "
            f"{count / best.wall:8,.0f} records/s\n"
            f"  {'':<22} loop late p50 {loop['p50']} ms, p99 {loop['p99']} ms, max "
            f"{loop['max']} ms ({loop['max_outside_full_gc']} ms outside full collections)\n"
            f"  {'':<22} garbage collector per run up to {gcs['collections']} runs "
            f"({gcs['full']} full), {gcs['total']} ms; longest pause {gcs['max']} ms"
        )
    print(
        f"  then the cost re-import the action starts: {summary['cost_reimport_wall_seconds']} s "
        f"wall; loop late max {summary['cost_reimport_loop_block_max_ms']} ms "
        f"({summary['cost_reimport_loop_block_max_outside_full_gc_ms']} ms outside full "
        "collections)"
    )
    print(f"  overhead ratio (action wall / floor wall): {summary['overhead_ratio']}")
    print(
        f"  peak memory growth (tracemalloc, a third run, {summary['traced_wall_seconds']} s "
        f"traced): {summary['peak_memory_mb']} MB; peak RSS growth (first run): "
        f"{summary['peak_rss_growth_mb']} MB"
    )


# -- steady state ----------------------------------------------------------------------------

STEADY_START = datetime(2025, 6, 2, 0, 0, tzinfo=UTC)
STEADY_HOURS = 24
# Endpoint of a request by its path; anything else (devices, locations) is "other".
ENDPOINTS = {
    "meter": "/meters/",
    "cost": "/costs/",
    "price": "/prices/",
    "schedule": "/schedules/",
    "login": "/login",
}
# Two cheap windows beside the meter: tonight's cheapest 3 hours and the dearest 2 hours of
# a rolling 24 (export). Each is planned about once per window.
STEADY_WINDOWS = [
    {
        "subentry_type": "cheap_window",
        "title": "Dishwasher",
        "unique_id": None,
        "data": dict(DEFAULT_CHEAP_WINDOW),
    },
    {
        "subentry_type": "cheap_window",
        "title": "Export peak",
        "unique_id": None,
        "data": {
            **DEFAULT_CHEAP_WINDOW,
            "window": "rolling",
            "rolling_hours": 24,
            "duration": 120,
            "segment": "dearest",
            "direction": "export",
        },
    },
]


class _QuickMeter(Meter):
    """A meter whose clock moves a minute at a time: timers fire as in production, and a
    simulated day takes seconds."""

    STEP = timedelta(minutes=1)


def _endpoint(path: str) -> str:
    return next((name for name, prefix in ENDPOINTS.items() if path.startswith(prefix)), "other")


def _by_endpoint(log: Sequence[tuple[str, str]]) -> dict[str, int]:
    counts = dict.fromkeys([*ENDPOINTS, "other"], 0)
    for _, path in log:
        counts[_endpoint(path)] += 1
    return counts


@pytest.fixture
async def local_emulator(
    socket_enabled: None, aiohttp_server: Any
) -> tuple[EmulatorState, RemoteEmulator]:
    """The emulator in this process, on HA's loop: it then runs on the harness's frozen
    clock, as the simulated day needs (a process of its own would see the real time)."""
    state = EmulatorState()
    demo = state.seed_demo()
    # No access log: its local-time lookup fails under the frozen clock.
    server = await aiohttp_server(create_app(state), access_log=None)
    url = str(server.make_url("")).rstrip("/")
    return state, RemoteEmulator(url, demo["account_id"], demo["api_key"], demo["location_id"])


async def test_steady_state_requests(
    hass: HomeAssistant,
    local_emulator: tuple[EmulatorState, RemoteEmulator],
    freezer: Any,
) -> None:
    """A simulated day of a house meter (import, export, solar moving every period) at the
    default cycle: requests per hour by endpoint, counted by the emulator.

    One device: every request counts for it, the location's price and the account's login
    requests included. Counts only; what they cost in time is the upload benchmark's.
    """
    state, emulator = local_emulator
    hass.loop.set_debug(False)
    await hass.config.async_update(currency="GBP")  # the demo location's currency
    assert await async_setup_component(hass, "sensor", {})
    meter = _QuickMeter(hass, freezer, STEADY_START)
    await meter.period(
        {"sensor.grid_import": 100.0, "sensor.grid_export": 50.0, "sensor.solar": 10.0}
    )
    device_id = await new_device(hass, emulator, "house")  # type: ignore[arg-type]
    entry = await make_entry(
        hass,
        emulator,  # type: ignore[arg-type]
        subentries=[house_meter_subentry(device_id), *STEADY_WINDOWS],
        options={CONF_UPLOAD_INTERVAL: DEFAULT_UPLOAD_INTERVAL_MIN, CONF_HISTORY_DAYS: 1},
    )
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    state.request_log.clear()  # set-up is not steady state
    hourly: list[dict[str, int]] = []
    n = 0
    for _hour in range(STEADY_HOURS):
        before = len(state.request_log)
        for _period in range(PER_HOUR):
            n += 1
            await meter.period(
                {
                    "sensor.grid_import": 100 + 0.1 * n,
                    "sensor.grid_export": 50 + 0.02 * n,
                    "sensor.solar": 10 + (0.05 * n if 72 < n < 240 else 0),
                }
            )
        hourly.append(_by_endpoint(state.request_log[before:]))
    await hass.async_block_till_done(wait_background_tasks=True)
    assert entry.state is ConfigEntryState.LOADED
    devices = 1
    total = _by_endpoint(state.request_log)
    for name in ("meter", "cost", "price", "schedule"):  # the day did run
        assert total[name], total
    # One plan per window that opened, none for a window that runs (both opened once).
    windows = len(STEADY_WINDOWS)
    assert total["schedule"] <= windows, total
    per_hour = {k: round(v / STEADY_HOURS / devices, 2) for k, v in total.items()}
    busiest = {k: max(hour[k] for hour in hourly) for k in total}
    figures = {
        "steady_requests_per_device_hour": {k: per_hour[k] for k in ENDPOINTS},
        "steady_other_requests_per_device_hour": per_hour["other"],
        "steady_max_requests_in_an_hour": busiest,
        "steady_hours": STEADY_HOURS,
        "steady_devices": devices,
        "steady_schedule_requests_per_window_day": round(
            total["schedule"] / windows * 24 / STEADY_HOURS, 2
        ),
        "steady_upload_interval_min": DEFAULT_UPLOAD_INTERVAL_MIN,
    }
    print(
        f"\nSteady state: {STEADY_HOURS} simulated hours, a house meter (import, export, solar; "
        f"one device), cycle every {DEFAULT_UPLOAD_INTERVAL_MIN} minutes"
    )
    print(
        "  requests per device-hour: "
        + ", ".join(f"{k} {per_hour[k]}" for k in total)
        + f" (targets: meter <= 4, cost + price <= 16: "
        f"{round(per_hour['cost'] + per_hour['price'], 2)})"
    )
    print(
        f"  schedule requests per cheap window-day: "
        f"{figures['steady_schedule_requests_per_window_day']} ({windows} windows)"
    )
    print("  busiest hour: " + ", ".join(f"{k} {v}" for k, v in busiest.items()))
    await _publish(hass, figures)
