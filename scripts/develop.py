"""Run the integration in a real Home Assistant against the emulator, with a simulated home.

Started by ``scripts/develop`` with the Python of a test virtualenv (aiohttp and Home Assistant
come from there). Steps: a fresh config folder, the emulator, Home Assistant (``--skip-pip``,
127.0.0.1 only), the owner user through onboarding, the Energy dashboard's sources, a Flatpeak
entry made through the real config flow over REST (house meter, then an EV charger), and a wait
until the first cost statistics are in. Then one JSON line on stdout, and serve until SIGINT or
SIGTERM, when Home Assistant and the emulator are stopped.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from dataclasses import dataclass
import json
import os
from pathlib import Path
import shutil
import signal
import socket
import subprocess
import sys
import time
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
USERNAME, PASSWORD = "demo", "demo-pass-123"
SENSORS = {
    "grid_import": "sensor.grid_import_energy",
    "grid_export": "sensor.grid_export_energy",
    "solar": "sensor.solar_energy",
    "charger": "sensor.charger_energy",
}
CONFIGURATION = """\
homeassistant:
  name: Flatpeak demo home
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


def log(message: str) -> None:
    print(f"develop: {message}", file=sys.stderr, flush=True)


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
    emulator: subprocess.Popen[str] | None = None
    ha: subprocess.Popen[bytes] | None = None

    def stop(self) -> None:
        """SIGTERM each, HA first; SIGKILL what is still there after 60 s."""
        for proc in (self.ha, self.emulator):
            if proc is None or proc.poll() is not None:
                continue
            proc.terminate()
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def start_emulator(procs: Processes, config: Path) -> dict[str, Any]:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    with (config / "emulator.log").open("w") as log_file:
        procs.emulator = subprocess.Popen(
            [sys.executable, "-m", "tests.emulator", "--port", "0"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=log_file,
            text=True,
            env=env,
            start_new_session=True,  # Ctrl-C reaches us only; we stop it in order
        )
    assert procs.emulator.stdout is not None
    line = procs.emulator.stdout.readline()
    if not line:
        raise DevelopError("the emulator did not start")
    emulator: dict[str, Any] = json.loads(line)
    return emulator


def start_ha(procs: Processes, config: Path) -> None:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    with (config / "ha.stdout").open("wb") as out:
        procs.ha = subprocess.Popen(
            [sys.executable, "-m", "homeassistant", "-c", str(config), "--skip-pip"],
            cwd=config,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )


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

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()


def energy_prefs(legacy: bool, cost: str | None, compensation: str | None) -> dict[str, Any]:
    """Grid import and export, solar and the charger, in the shape of the running HA line."""
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
        "device_consumption": [{"stat_consumption": SENSORS["charger"]}],
    }


async def save_energy_prefs(ha: HomeAssistant, cost: str | None, compensation: str | None) -> None:
    # The installed HA is the one running: its prefs types say which shape it takes.
    from homeassistant.components.energy.data import GridSourceType

    legacy = "flow_from" in GridSourceType.__annotations__
    answer = await ha.ws(energy_prefs(legacy, cost, compensation))
    if not answer["success"]:
        raise DevelopError(f"energy/save_prefs failed: {answer}")


async def configure(ha: HomeAssistant, emulator: dict[str, Any]) -> str:
    """The Flatpeak entry through the config flow, then an EV charger; the entry id."""
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


async def run(args: argparse.Namespace, procs: Processes, stop: asyncio.Event) -> None:
    started = time.monotonic()
    config = Path(args.config)
    port = args.port or free_port()
    url = f"http://127.0.0.1:{port}"
    write_config(config, port, args.history_days)
    emulator = await asyncio.to_thread(start_emulator, procs, config)
    log(f"emulator at {emulator['base_url']}")
    start_ha(procs, config)
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
        log(f"Flatpeak entry {entry_id} set up; waiting for the first costs")
        cost, value = await wait_for_costs(ha, args.timeout)
        await save_energy_prefs(ha, cost, value)
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
    print(json.dumps(ready), flush=True)
    log(f"ready in {time.monotonic() - started:.0f} s; Ctrl-C stops")
    assert procs.ha is not None
    while procs.ha.poll() is None:
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
    args = parser.parse_args()
    args.config = str(Path(args.config).resolve())
    if args.pid_file:
        Path(args.pid_file).write_text(str(os.getpid()))
    procs = Processes()
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
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
    sys.exit(main())
