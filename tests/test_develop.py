"""scripts/develop end to end: Connect comes back, sessions are priced, nothing is left behind.

Runs ``scripts/develop.py`` with this test's Python (its virtualenv's Home Assistant) as a
subprocess: one full start shared by the module (about 30 s), and one killed while starting.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
import importlib.util
import json
from pathlib import Path
import re
import select
import subprocess
import sys
import time
from typing import IO, Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest

ROOT = Path(__file__).parent.parent
DEVELOP = ROOT / "scripts" / "develop.py"
RUN_MARKER = "FLATPEAK_DEVELOP_RUN"  # as in scripts/develop.py
LONDON = ZoneInfo("Europe/London")  # the demo home's time zone

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("hass_frontend") is None or not Path("/proc").is_dir(),
    reason="scripts/develop needs Home Assistant's frontend (scripts/setup) and Linux's /proc",
)


@dataclass
class Run:
    """A running scripts/develop: the process, its config folder and its ready line."""

    proc: subprocess.Popen[str]
    config: Path
    ready: dict[str, Any]


def start(config: Path, stderr: IO[str] | int, *flags: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(DEVELOP), "--config", str(config), *flags],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        start_new_session=True,
    )


def read_line(stream: IO[str], seconds: float) -> str:
    """The stream's next line; fails after ``seconds``."""
    ready, _, _ = select.select([stream], [], [], seconds)
    assert ready, f"no line within {seconds} s"
    return stream.readline()


def left_behind(config: Path) -> list[str]:
    """Live processes of the run (each carries its marker), as 'pid command'."""
    marker = f"{RUN_MARKER}={config}".encode()
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if marker in (proc / "environ").read_bytes().split(b"\0"):
                found.append(f"{proc.name} {(proc / 'cmdline').read_bytes().decode()}")
        except OSError:  # gone meanwhile, or not ours to read (a zombie's environ is empty)
            continue
    return found


def assert_nothing_left(config: Path, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while (left := left_behind(config)) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not left, f"left behind: {left}"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    """scripts/develop, ready; stopped (if a test has not ended it) when the module is done."""
    folder = tmp_path_factory.mktemp("develop")
    config = folder / "ha"
    with (folder / "develop.stderr").open("w") as stderr:
        proc = start(config, stderr, "--event", "tariff.expiring")
    assert proc.stdout is not None
    try:
        line = read_line(proc.stdout, 300)
        assert line, (
            f"scripts/develop ended ({proc.poll()}): {(folder / 'develop.stderr').read_text()}"
        )
        yield Run(proc, config, json.loads(line))
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(120)
        assert_nothing_left(config)


async def signed_in(session: aiohttp.ClientSession, ready: dict[str, Any]) -> dict[str, str]:
    """Headers with an access token of the demo's owner, signed in as a person does."""
    url, client_id = ready["url"], f"{ready['url']}/"
    async with session.post(
        f"{url}/auth/login_flow",
        json={
            "client_id": client_id,
            "handler": ["homeassistant", None],
            "redirect_uri": client_id,
        },
    ) as resp:
        flow_id = (await resp.json())["flow_id"]
    async with session.post(
        f"{url}/auth/login_flow/{flow_id}",
        json={"client_id": client_id, "username": ready["username"], "password": ready["password"]},
    ) as resp:
        code = (await resp.json())["result"]
    async with session.post(
        f"{url}/auth/token",
        data={"grant_type": "authorization_code", "code": code, "client_id": client_id},
    ) as resp:
        return {"Authorization": f"Bearer {(await resp.json())['access_token']}"}


async def test_connect_sends_the_browser_back_to_the_demo(demo: Run, socket_enabled: None) -> None:
    """A new location through Flatpeak Connect: the page's redirect reaches the demo's HA and
    resumes the flow at the new location's house meter."""
    url, emulator = demo.ready["url"], demo.ready["emulator"]
    flows = f"{url}/api/config/config_entries/flow"
    async with aiohttp.ClientSession() as session:
        auth = await signed_in(session, demo.ready)

        async def step(path: str, body: dict[str, Any]) -> dict[str, Any]:
            async with session.post(path, json=body, headers=auth) as resp:
                assert resp.status == 200, await resp.text()
                answer: dict[str, Any] = await resp.json()
                return answer

        flow = await step(flows, {"handler": "flatpeak"})
        flow_url = f"{flows}/{flow['flow_id']}"
        credentials = {
            "account_id": emulator["account_id"],
            "api_key": emulator["api_key"],
            "advanced": {"base_url": emulator["base_url"]},
        }
        assert (await step(flow_url, credentials))["step_id"] == "location"
        flow = await step(flow_url, {"location": "connect"})
        assert flow["type"] == "progress"
        page_url = flow["description_placeholders"]["connect_url"]  # the link the step shows
        async with session.get(page_url) as resp:  # the Connect page, as the browser opens it
            page = await resp.text()
        token = re.search(r'name="fp_cot" value="([^"]+)"', page)
        tariff = re.search(r'name="tariff" value="([^"]+)"', page)
        assert token, page
        assert tariff, page
        async with session.post(
            f"{emulator['base_url']}/connect",
            data={"fp_cot": token[1], "tariff": tariff[1]},
            allow_redirects=False,
        ) as resp:
            back = resp.headers["Location"]
        assert back.startswith(f"{url}/api/flatpeak/connect?"), back
        async with session.get(back) as resp:  # refused before: HA named its LAN address
            assert resp.status == 200, await resp.text()
        async with session.get(flow_url, headers=auth) as resp:  # as the frontend does next
            flow = await resp.json()
        assert flow["step_id"] == "house_meter", flow
        async with session.delete(flow_url, headers=auth) as resp:
            assert resp.status == 200


async def test_every_charging_session_entity_has_a_value(demo: Run, socket_enabled: None) -> None:
    """At any time of day: the history's sessions are final, the session cost has a figure
    (the running one while the EV charges), the event entity names the last final session."""
    url = demo.ready["url"]
    async with aiohttp.ClientSession() as session:
        auth = await signed_in(session, demo.ready)
        async with session.get(f"{url}/api/states", headers=auth) as resp:
            states = {s["entity_id"]: s for s in await resp.json()}
        async with session.get(
            f"{url}/api/diagnostics/config_entry/{demo.ready['entry_id']}", headers=auth
        ) as resp:
            diagnostics = (await resp.json())["data"]

    def one(suffix: str) -> dict[str, Any]:
        found: list[dict[str, Any]] = [
            s
            for e, s in states.items()
            if e.startswith("sensor.") and "ev_charger" in e and e.endswith(suffix)
        ]
        assert len(found) == 1, suffix
        return found[0]

    cost = one("_session_cost")
    assert float(cost["state"]) > 0
    ended = cost["attributes"]["end"] is not None
    assert cost["attributes"]["status"] == ("final" if ended else "charging")
    for suffix in ("_charging_cost_today", "_charging_cost_this_month"):
        assert float(one(suffix)["state"]) >= 0
    (event,) = [s for e, s in states.items() if e.startswith("event.") and "ev_charger" in e]
    assert event["attributes"]["event_type"] == "session_completed"
    assert event["attributes"]["cost"] > 0

    (sessions,) = diagnostics["sessions"].values()
    final = {s["id"]: s for s in sessions if s.get("final")}
    finished = [s for s in sessions if s["end"] is not None]
    assert len(finished) >= 3  # three days of history
    for session in finished[1:]:  # the first may begin where the history does
        begin = datetime.fromisoformat(session["start"]).astimezone(LONDON)
        end = datetime.fromisoformat(session["end"]).astimezone(LONDON)
        assert (begin.hour, begin.minute, end - begin) == (18, 30, timedelta(hours=3))
        # 7 kW for 3 h, each 5 minutes in the session (none spread from an hourly row)
        assert final[session["id"]]["energy_kwh"] == pytest.approx(21.0, abs=0.05)


async def test_a_raised_event_shows_its_repair(demo: Run, socket_enabled: None) -> None:
    """``--event tariff.expiring``: once ready, the demo has the expiring tariff's repair
    (read at the entry's reload) and its tariff sensors name the demo's tariffs."""
    url = demo.ready["url"]
    async with aiohttp.ClientSession() as session:
        auth = await signed_in(session, demo.ready)
        async with session.get(
            f"{url}/api/diagnostics/config_entry/{demo.ready['entry_id']}", headers=auth
        ) as resp:
            tariff = (await resp.json())["data"]["tariff"]
        async with session.get(f"{url}/api/states", headers=auth) as resp:
            states = {s["entity_id"]: s["state"] for s in await resp.json()}
    assert tariff["problems"] == {"commodity_import": "expiring"}
    names = {e: s for e, s in states.items() if e.endswith(("_import_tariff", "_export_tariff"))}
    assert sorted(names.values()) == ["Demo flat export", "Demo time of use"], names


def test_a_closed_output_stops_the_run(demo: Run) -> None:
    """The reader of the ready line goes away (``scripts/develop | head -1``): develop stops
    Home Assistant, the emulator and its watchdog, and exits."""
    assert len(left_behind(demo.config)) >= 3  # HA, the emulator and the watchdog
    assert demo.proc.stdout is not None
    demo.proc.stdout.close()
    assert demo.proc.wait(120) == 0
    assert_nothing_left(demo.config, seconds=5)


def test_a_killed_develop_leaves_nothing_behind(tmp_path: Path) -> None:
    """SIGKILL while Home Assistant starts: its watchdog stops HA and the emulator."""
    config = tmp_path / "ha"
    proc = start(config, subprocess.PIPE)
    assert proc.stderr is not None
    try:
        while "starting Home Assistant" not in (line := read_line(proc.stderr, 120)):
            assert line, f"scripts/develop ended ({proc.wait()})"
        # HA, the emulator and the watchdog: HA's process may start just after the line.
        deadline = time.monotonic() + 60
        while len(left_behind(config)) < 3 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(left_behind(config)) >= 3
    finally:
        proc.kill()
        proc.wait()
    assert_nothing_left(config)
