"""Run the integration in a real Home Assistant against the emulator, with a simulated home.

Started by ``scripts/develop`` with the Python of a test virtualenv (aiohttp and Home Assistant
come from there). Steps: a fresh config folder, the emulator, Home Assistant (``--skip-pip``,
127.0.0.1 only, and 127.0.0.1 as its internal URL, so Flatpeak Connect's way back to HA is an
address HA serves), the owner user through onboarding, the Energy dashboard's sources, a
Flatpeak entry made through the real config flow over REST (house meter, then an EV charger
and a cheap window; the heat pump's meter is there for an appliance),
the EV's charging sensor with its history (so the charger has the history's sessions), that
history sent again with its sessions, and a wait until the first cost statistics are in and
every finished session's cost is final. Then one JSON line on stdout, and serve until SIGINT,
SIGTERM or SIGHUP, or until the reader of stdout goes away; then Home Assistant and the
emulator are stopped.

Should this process die without stopping them (SIGKILL, a crash), a watchdog does: a small
process of its own (this file with ``--watchdog``) that learns each process group on its
stdin and, when that pipe closes without a "done", stops those groups.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
import json
import os
from pathlib import Path
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
from typing import IO, Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
USERNAME, PASSWORD = "demo", "demo-pass-123"
SENSORS = {
    "grid_import": "sensor.grid_import_energy",
    "grid_export": "sensor.grid_export_energy",
    "solar": "sensor.solar_energy",
    "charger": "sensor.charger_energy",
    "heat_pump": "sensor.heat_pump_energy",
}
CONFIGURATION = """\
homeassistant:
  name: Flatpeak demo home
  internal_url: http://127.0.0.1:{port}
  latitude: 51.5
  longitude: -0.12
  elevation: 10
  unit_system: metric
  time_zone: Europe/London
  currency: GBP
  country: GB
  language: en

http:
  server_host: 127.0.0.1
  server_port: {port}

frontend:
config:
history:
logbook:
energy:
recorder:
  commit_interval: 1
system_health:
person:

logger:
  default: warning
  logs:
    custom_components.flatpeak: info

flatpeak_demo_home:
  history_days: {history_days}
"""


class DevelopError(Exception):
    """What stopped the start; said on stderr."""


# Events --event raises (tests/emulator/health.py EVENT_TYPES, less Connect's own).
TARIFF_EVENTS = (
    "tariff.expiring",
    "tariff.expired",
    "tariff.fetch.failed",
    "tariff.connection.upgrade",
    "location.update",
)

# Every process this run starts carries it: tests find what a run left behind by it.
RUN_MARKER = "FLATPEAK_DEVELOP_RUN"


def log(message: str) -> None:
    try:
        print(f"develop: {message}", file=sys.stderr, flush=True)
    except OSError:  # nobody reads stderr any more: go on (and stop) without saying so
        _to_devnull(sys.stderr)


def _to_devnull(stream: IO[str]) -> None:
    """Point a closed stream at /dev/null, so no later write (nor the flush at exit) fails."""
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, stream.fileno())
    os.close(null)


def output_closed() -> bool:
    """Whether the reader of stdout has gone (its pipe closed, its terminal hung up)."""
    poller = select.poll()
    poller.register(sys.stdout.fileno(), 0)  # only errors and hang-ups are reported
    return any(events & (select.POLLERR | select.POLLHUP) for _, events in poller.poll(0))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def write_config(config: Path, port: int, history_days: int) -> None:
    """A fresh folder: YAML, both custom integrations linked, onboarding all but the owner."""
    if config.exists():
        shutil.rmtree(config)
    (config / ".storage").mkdir(parents=True)
    (config / "custom_components").mkdir()
    (config / "configuration.yaml").write_text(
        CONFIGURATION.format(port=port, history_days=history_days)
    )
    for name, source in (
        ("flatpeak", ROOT / "custom_components" / "flatpeak"),
        ("flatpeak_demo_home", ROOT / "scripts" / "develop_home" / "flatpeak_demo_home"),
    ):
        (config / "custom_components" / name).symlink_to(source)
    # Marking core_config done up front also keeps HA from starting its weather/radio flows.
    onboarding = {"done": ["core_config", "analytics", "integration"]}
    (config / ".storage" / "onboarding").write_text(
        json.dumps({"version": 4, "minor_version": 1, "key": "onboarding", "data": onboarding})
    )


@dataclass
class Processes:
    """The watchdog, the emulator and HA, each in a process group (a session) of its own."""

    config: Path
    watchdog: subprocess.Popen[str] | None = None
    emulator: subprocess.Popen[str] | None = None
    ha: subprocess.Popen[bytes] | None = None

    def env(self) -> dict[str, str]:
        return {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", RUN_MARKER: str(self.config)}

    def start_watchdog(self) -> None:
        with (self.config / "watchdog.log").open("w") as log_file:
            self.watchdog = subprocess.Popen(
                [sys.executable, __file__, "--watchdog"],
                stdin=subprocess.PIPE,
                stdout=log_file,
                stderr=log_file,
                text=True,
                env=self.env(),
                start_new_session=True,  # neither Ctrl-C nor a signal to our group reaches it
            )

    def watch(self, proc: subprocess.Popen[Any]) -> None:
        """Tell the watchdog a new process group (its leader's pid)."""
        self._tell(f"{proc.pid}\n")

    def _tell(self, line: str) -> None:
        if self.watchdog is None or self.watchdog.stdin is None:
            return
        with contextlib.suppress(OSError):  # a dead watchdog is no reason to stop the demo
            self.watchdog.stdin.write(line)
            self.watchdog.stdin.flush()

    def stop(self) -> None:
        """SIGTERM each, HA first; SIGKILL what is still there after 60 s; then the watchdog."""
        for proc in (self.ha, self.emulator):
            if proc is None or proc.poll() is not None:
                continue
            proc.terminate()
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self.watchdog is not None and self.watchdog.stdin is not None:
            self._tell("done\n")
            with contextlib.suppress(OSError):
                self.watchdog.stdin.close()
            try:
                self.watchdog.wait(10)
            except subprocess.TimeoutExpired:
                self.watchdog.kill()
                self.watchdog.wait()


def start_emulator(procs: Processes) -> subprocess.Popen[str]:
    with (procs.config / "emulator.log").open("w") as log_file:
        procs.emulator = subprocess.Popen(
            [sys.executable, "-m", "tests.emulator", "--port", "0"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=log_file,
            text=True,
            env=procs.env(),
            start_new_session=True,  # Ctrl-C reaches us only; we stop it in order
        )
    procs.watch(procs.emulator)
    return procs.emulator


def read_emulator(emulator: subprocess.Popen[str]) -> dict[str, Any]:
    """The emulator's line: where it listens and the demo account (blocks: a worker thread)."""
    assert emulator.stdout is not None
    line = emulator.stdout.readline()
    if not line:
        raise DevelopError("the emulator did not start")
    answer: dict[str, Any] = json.loads(line)
    return answer


def start_ha(procs: Processes) -> None:
    with (procs.config / "ha.stdout").open("wb") as out:
        procs.ha = subprocess.Popen(
            [sys.executable, "-m", "homeassistant", "-c", str(procs.config), "--skip-pip"],
            cwd=procs.config,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=procs.env(),
            start_new_session=True,
        )
    procs.watch(procs.ha)


def _group_running(pgid: int) -> bool:
    """Whether a process of the group still runs (a zombie waiting for init does not)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            # pid (comm) state ppid pgrp ...: comm may hold spaces, so split after its ")"
            fields = stat.read_text().rpartition(")")[2].split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                return True
    return False


def watchdog() -> int:
    """Read process groups from stdin; if it closes without "done", stop them, last first."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    groups: list[int] = []
    for line in sys.stdin:
        if line.strip() == "done":
            return 0
        groups.append(int(line))
    for pgid in reversed(groups):  # HA before the emulator, as develop stops them
        print(f"develop went away; stopping process group {pgid}", flush=True)
        for sig, seconds in ((signal.SIGTERM, 60.0), (signal.SIGKILL, 5.0)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, sig)
            deadline = time.monotonic() + seconds
            while _group_running(pgid) and time.monotonic() < deadline:
                time.sleep(0.2)
            if not _group_running(pgid):
                break
    return 0


class HomeAssistant:
    """REST and websocket calls to the running HA as its owner."""

    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self.session, self.url = session, url
        self.token = ""
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._id = 0

    async def wait_up(self, procs: Processes, seconds: float = 180) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if procs.ha is not None and procs.ha.poll() is not None:
                raise DevelopError("Home Assistant exited; see ha.stdout in the config folder")
            with contextlib.suppress(aiohttp.ClientError, OSError):
                async with self.session.get(f"{self.url}/api/onboarding") as resp:
                    if resp.status == 200:
                        return
            await asyncio.sleep(0.5)
        raise DevelopError("Home Assistant did not answer in time")

    async def wait_running(self, seconds: float = 180) -> None:
        """HTTP answers before every integration is set up (energy among the late ones)."""
        deadline = time.monotonic() + seconds
        while (await self.rest("GET", "/api/config"))["state"] != "RUNNING":
            if time.monotonic() > deadline:
                raise DevelopError("Home Assistant did not finish starting in time")
            await asyncio.sleep(0.5)

    async def onboard(self) -> None:
        """Create the owner and keep an access token."""
        client_id = f"{self.url}/"
        async with self.session.post(
            f"{self.url}/api/onboarding/users",
            json={
                "client_id": client_id,
                "name": "Demo Owner",
                "username": USERNAME,
                "password": PASSWORD,
                "language": "en",
            },
        ) as resp:
            resp.raise_for_status()
            code = (await resp.json())["auth_code"]
        async with self.session.post(
            f"{self.url}/auth/token",
            data={"grant_type": "authorization_code", "code": code, "client_id": client_id},
        ) as resp:
            resp.raise_for_status()
            self.token = (await resp.json())["access_token"]

    async def ws(self, message: dict[str, Any]) -> dict[str, Any]:
        """One websocket command; its result message."""
        if self._ws is None:
            self._ws = await self.session.ws_connect(f"{self.url}/api/websocket")
            await self._ws.receive_json()
            await self._ws.send_json({"type": "auth", "access_token": self.token})
            if (await self._ws.receive_json())["type"] != "auth_ok":
                raise DevelopError("websocket authentication failed")
        self._id += 1
        await self._ws.send_json({"id": self._id, **message})
        while True:
            answer: dict[str, Any] = await self._ws.receive_json()
            if answer.get("id") == self._id and answer["type"] == "result":
                return answer

    async def call(
        self, domain: str, service: str, data: dict[str, Any] | None = None, *, answer: bool = False
    ) -> Any:
        """An action over the websocket (REST stops waiting after 10 s); its response if
        ``answer``."""
        result = await self.ws(
            {
                "type": "call_service",
                "domain": domain,
                "service": service,
                "service_data": data or {},
                **({"return_response": True} if answer else {}),
            }
        )
        if not result["success"]:
            raise DevelopError(f"{domain}.{service} failed: {result['error']}")
        return result["result"].get("response")

    async def exists(self, entity_id: str) -> bool:
        """Whether the entity has a state."""
        async with self.session.get(
            f"{self.url}/api/states/{entity_id}",
            headers={"Authorization": f"Bearer {self.token}"},
        ) as resp:
            return resp.status == 200

    async def rest(self, method: str, path: str, body: Any = None) -> Any:
        async with self.session.request(
            method,
            f"{self.url}{path}",
            json=body,
            headers={"Authorization": f"Bearer {self.token}"},
        ) as resp:
            text = await resp.text()
            if resp.status >= 400:
                raise DevelopError(f"{method} {path} -> {resp.status}: {text}")
            return json.loads(text) if text else None

    async def flow(self, start_path: str, handler: Any, steps: list[dict[str, Any]]) -> Any:
        """Start a flow and submit each step's input; the last answer."""
        result = await self.rest("POST", start_path, {"handler": handler})
        for user_input in steps:
            if result.get("errors"):
                raise DevelopError(f"{result['step_id']} answered {result['errors']}")
            result = await self.rest("POST", f"{start_path}/{result['flow_id']}", user_input)
        if result.get("type") != "create_entry":
            raise DevelopError(f"the flow ended with {result}")
        return result

    async def wait_loaded(self, entry_id: str, seconds: float = 60) -> None:
        """Until the entry is loaded again (adding a device reloads it; a device that is
        registered at Flatpeak can only be added to a loaded entry)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            entries = await self.rest("GET", "/api/config/config_entries/entry?domain=flatpeak")
            if any(e["entry_id"] == entry_id and e["state"] == "loaded" for e in entries):
                return
            await asyncio.sleep(0.5)
        raise DevelopError("the Flatpeak entry did not load again in time")

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()


def energy_prefs(legacy: bool, cost: str | None, compensation: str | None) -> dict[str, Any]:
    """Grid import and export, solar, the charger and the heat pump, in the shape of the
    running HA line."""
    solar: dict[str, Any] = {"type": "solar", "stat_energy_from": SENSORS["solar"]}
    if legacy:  # HA 2025.4: one grid source with lists of flows
        grid: dict[str, Any] = {
            "type": "grid",
            "flow_from": [
                {
                    "stat_energy_from": SENSORS["grid_import"],
                    "stat_cost": cost,
                    "entity_energy_price": None,
                    "number_energy_price": None,
                }
            ],
            "flow_to": [
                {
                    "stat_energy_to": SENSORS["grid_export"],
                    "stat_compensation": compensation,
                    "entity_energy_price": None,
                    "number_energy_price": None,
                }
            ],
            "cost_adjustment_day": 0,
        }
        solar["config_entry_solar_forecast"] = None
    else:  # HA 2026.x: one object per grid connection
        grid = {
            "type": "grid",
            "stat_energy_from": SENSORS["grid_import"],
            "stat_energy_to": SENSORS["grid_export"],
            "stat_cost": cost,
            "stat_compensation": compensation,
            "cost_adjustment_day": 0,
        }
    return {
        "type": "energy/save_prefs",
        "energy_sources": [grid, solar],
        "device_consumption": [
            {"stat_consumption": SENSORS["charger"]},
            {"stat_consumption": SENSORS["heat_pump"]},
        ],
    }


async def save_energy_prefs(ha: HomeAssistant, cost: str | None, compensation: str | None) -> None:
    # The installed HA is the one running: its prefs types say which shape it takes.
    from homeassistant.components.energy.data import GridSourceType

    legacy = "flow_from" in GridSourceType.__annotations__
    answer = await ha.ws(energy_prefs(legacy, cost, compensation))
    if not answer["success"]:
        raise DevelopError(f"energy/save_prefs failed: {answer}")


async def configure(ha: HomeAssistant, emulator: dict[str, Any]) -> str:
    """The Flatpeak entry through the config flow, then an EV charger and a cheap window;
    the entry id."""
    entry = await ha.flow(
        "/api/config/config_entries/flow",
        "flatpeak",
        [
            {
                "account_id": emulator["account_id"],
                "api_key": emulator["api_key"],
                "advanced": {"base_url": emulator["base_url"]},
            },
            {"location": emulator["location_id"]},
            {key: SENSORS[key] for key in ("grid_import", "grid_export", "solar")},
        ],
    )
    entry_id: str = entry["result"]["entry_id"]
    await ha.flow(
        "/api/config/config_entries/subentries/flow",
        [entry_id, "ev_charger"],
        [
            {"charger_energy": SENSORS["charger"], "session_mode": "state"},
            {"session_entity": "binary_sensor.ev_charging"},
        ],
    )
    # No appliance on the demo's entry yet (its heat pump meter is there to add one): with
    # one here the charger's history sessions went final at 0, a race the session cost
    # coordinator now closes (a session with no confirmed tally asks Flatpeak).
    # The cheapest 3 hours tonight, as the flow's defaults offer it.
    await ha.flow(
        "/api/config/config_entries/subentries/flow",
        [entry_id, "cheap_window"],
        [
            {
                "name": "Dishwasher",
                "search": "duration",
                "window": "between",
                "segment": "cheapest",
                "direction": "import",
            },
            {
                "duration": {"hours": 3, "minutes": 0, "seconds": 0},
                "window_start": "18:00:00",
                "window_end": "07:00:00",
            },
        ],
    )
    await ha.wait_loaded(entry_id)  # reloaded with every device added
    return entry_id


async def wait_for_costs(ha: HomeAssistant, seconds: float) -> tuple[str, str | None]:
    """The house meter's import cost and export value statistic ids, once they have hours."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        listed = await ha.ws({"type": "recorder/list_statistic_ids", "statistic_type": "sum"})
        ids = [item["statistic_id"] for item in listed["result"]]
        cost = next((i for i in ids if i.endswith("_grid_import_cost")), None)
        value = next((i for i in ids if i.endswith("_grid_export_value")), None)
        if cost:
            rows = await ha.ws(
                {
                    "type": "recorder/statistics_during_period",
                    "start_time": "2000-01-01T00:00:00+00:00",
                    "statistic_ids": [cost],
                    "period": "hour",
                    "types": ["sum"],
                }
            )
            if rows["result"].get(cost):
                return cost, value
        await asyncio.sleep(2)
    raise DevelopError("no cost statistics arrived in time")


async def raise_events(
    ha: HomeAssistant,
    emulator: dict[str, Any],
    entry_id: str,
    events: list[str],
    seconds: float = 60,
) -> None:
    """Raise each event at the emulator (its control URL, as a person would with curl),
    then have the entry read Flatpeak's events now (``homeassistant.update_entity`` on its
    Import tariff sensor; else it reads them within the hour), until its diagnostics show
    that they were read. No reload: the demo's sessions stay as they were priced."""
    for event in events:
        async with ha.session.post(
            f"{emulator['base_url']}/_emulator/events",
            json={"type": event, "location_id": emulator["location_id"]},
        ) as resp:
            if resp.status != 201:
                raise DevelopError(f"the emulator refused {event}: {await resp.text()}")
        log(f"raised {event}")
    entities = (await ha.ws({"type": "config/entity_registry/list"}))["result"]
    (tariff,) = [
        e["entity_id"]
        for e in entities
        if e["config_entry_id"] == entry_id and e["unique_id"].endswith("_import_tariff")
    ]
    before = (await ha.rest("GET", f"/api/diagnostics/config_entry/{entry_id}"))["data"]
    await ha.call("homeassistant", "update_entity", {"entity_id": tariff})
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        data = (await ha.rest("GET", f"/api/diagnostics/config_entry/{entry_id}"))["data"]
        if data["tariff"] != before["tariff"]:
            return
        await asyncio.sleep(1)
    raise DevelopError("the Flatpeak entry did not read the raised events in time")


async def charger_entities(ha: HomeAssistant, seconds: float = 60) -> tuple[str, str]:
    """The EV charger's session cost and intervals waiting sensors, once its entry (reloaded
    with the charger, session tracking first) has added them."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        entities = (await ha.ws({"type": "config/entity_registry/list"}))["result"]
        by_id = {e["unique_id"]: e["entity_id"] for e in entities if e["platform"] == "flatpeak"}
        for unique_id, session_cost in by_id.items():
            device = unique_id.removesuffix("_session_cost")
            if device != unique_id and await ha.exists(session_cost):
                return session_cost, by_id[f"{device}_intervals_waiting"]
        await asyncio.sleep(0.5)
    raise DevelopError("the EV charger's entities did not appear in time")


async def add_charging_history(ha: HomeAssistant, entry_id: str, history_days: int) -> None:
    """The EV's charging sensor with its history's sessions (the charger follows it already),
    then the history's energy sent again, so each charging record names its session."""
    await ha.call("flatpeak_demo_home", "add_ev_charging")
    start = datetime.now(UTC) - timedelta(days=history_days, hours=1)  # from before it starts
    sent = await ha.call(
        "flatpeak",
        "upload_history",
        {"config_entry_id": entry_id, "start": start.isoformat()},
        answer=True,
    )
    log(f"history sent again with its charging sessions: {sent['records_sent']} records")


def unpriced_sessions(diagnostics: dict[str, Any]) -> list[dict[str, Any]]:
    """The charger's sessions (the last few) not priced yet: finished ones without a final
    cost, an open one never asked for (its first minutes may have nothing to price). Each
    session of the diagnostics carries its cost's fields once Flatpeak was asked."""
    return [
        session
        for items in diagnostics["sessions"].values()
        for session in items
        if not (session.get("final") or (session["end"] is None and "currency" in session))
    ]


async def wait_for_sessions(
    ha: HomeAssistant, entry_id: str, uploads_entity: str, seconds: float
) -> int:
    """Upload cycles (each prices the sessions) until every session is priced; how many."""
    deadline = time.monotonic() + seconds
    while True:
        diagnostics = (await ha.rest("GET", f"/api/diagnostics/config_entry/{entry_id}"))["data"]
        if not (waiting := unpriced_sessions(diagnostics)):
            return sum(len(items) for items in diagnostics["sessions"].values())
        if time.monotonic() > deadline:
            raise DevelopError(f"charging sessions still without a final cost: {waiting}")
        # Debounced by the coordinator: a cycle now, then one every 10 s at most.
        await ha.call("homeassistant", "update_entity", {"entity_id": uploads_entity})
        await asyncio.sleep(2)


async def run(args: argparse.Namespace, procs: Processes, stop: asyncio.Event) -> None:
    started = time.monotonic()
    config = Path(args.config)
    port = args.port or free_port()
    url = f"http://127.0.0.1:{port}"
    write_config(config, port, args.history_days)
    procs.start_watchdog()
    emulator = await asyncio.to_thread(read_emulator, start_emulator(procs))
    log(f"emulator at {emulator['base_url']}")
    start_ha(procs)
    log(f"starting Home Assistant at {url} (config {config})")
    async with aiohttp.ClientSession() as session:
        ha = HomeAssistant(session, url)
        await ha.wait_up(procs)
        await ha.onboard()
        await ha.wait_running()
        # HA 2026.11+ keeps YAML http settings only once promoted; older lines don't know it.
        promoted = await ha.ws({"type": "http/config/promote"})
        if not promoted["success"] and promoted["error"]["code"] != "unknown_command":
            raise DevelopError(f"http/config/promote failed: {promoted['error']}")
        version = (await ha.rest("GET", "/api/config"))["version"]
        await save_energy_prefs(ha, None, None)
        entry_id = await configure(ha, emulator)
        session_cost, uploads_entity = await charger_entities(ha)
        await add_charging_history(ha, entry_id, args.history_days)
        log(f"Flatpeak entry {entry_id} set up; waiting for the first costs")
        cost, value = await wait_for_costs(ha, args.timeout)
        await save_energy_prefs(ha, cost, value)
        sessions = await wait_for_sessions(ha, entry_id, uploads_entity, args.timeout)
        log(f"{sessions} charging sessions priced ({session_cost})")
        if args.event:
            await raise_events(ha, emulator, entry_id, args.event)
        await ha.close()
    ready = {
        "url": url,
        "username": USERNAME,
        "password": PASSWORD,
        "ha_version": version,
        "config_dir": str(config),
        "entry_id": entry_id,
        "emulator": emulator,
    }
    try:
        print(json.dumps(ready), flush=True)
    except OSError:
        _to_devnull(sys.stdout)
        raise DevelopError("nobody reads the output any more (stdout closed)") from None
    log(f"ready in {time.monotonic() - started:.0f} s; Ctrl-C stops")
    assert procs.ha is not None
    while procs.ha.poll() is None:
        if output_closed():
            log("the reader of the output has gone")
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1)
            return
    log("Home Assistant exited; see home-assistant.log in the config folder")


def main() -> int:
    parser = argparse.ArgumentParser(prog="scripts/develop", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="HA's port (default: a free one)")
    parser.add_argument("--config", required=True, help="HA config folder (made anew)")
    parser.add_argument("--history-days", type=int, default=3, help="days of history (3)")
    parser.add_argument("--timeout", type=float, default=240, help="seconds to wait for costs")
    parser.add_argument("--pid-file", help="write this process's pid there (for scripts/develop)")
    parser.add_argument(
        "--event",
        action="append",
        default=[],
        choices=TARIFF_EVENTS,
        help="raise this Flatpeak event for the location once it is set up (repeatable), "
        "then reload the entry so its repair shows at once",
    )
    args = parser.parse_args()
    args.config = str(Path(args.config).resolve())
    if args.pid_file:
        Path(args.pid_file).write_text(str(os.getpid()))
    procs = Processes(Path(args.config))
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(sig, stop.set)
    task = loop.create_task(run(args, procs, stop))
    try:
        # Stop also while still starting: whichever of the two comes first.
        waiter = loop.create_task(stop.wait())
        loop.run_until_complete(asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED))
        waiter.cancel()
        loop.run_until_complete(asyncio.sleep(0))  # let the cancelled waiter finish
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                loop.run_until_complete(task)
        elif isinstance(error := task.exception(), DevelopError):
            log(str(error))
            return 1
        else:
            task.result()  # anything else is a bug: its traceback
    finally:
        log("stopping")
        procs.stop()
        loop.close()
    return 0


if __name__ == "__main__":
    sys.exit(watchdog() if sys.argv[1:] == ["--watchdog"] else main())
