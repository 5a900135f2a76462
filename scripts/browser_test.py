"""End-to-end test in a real browser: what a person sees of the integration in a real HA.

Run by ``scripts/browser-test``. Starts ``scripts/develop`` (the emulator, a real HA with the
simulated home and one Flatpeak entry), then drives Debian's chromium with Playwright as a
person clicks: a second entry through the UI (a wrong key, a bad base URL, then the right ones),
the location and house meter steps, an EV charger, "Add house meter" on a location that has one,
reconfigure without retyping the key, the device page with cost and price values, the logbook
and the Energy dashboard. Every check is of what is on screen; a screenshot is saved per step.
It fails on a browser console error naming flatpeak, on a HA log ERROR naming it, and when a
process of the run is left once scripts/develop has stopped.

Both integration page layouts are driven: 2025.4's, where devices (subentries) are added from
an entry's menu, and 2026.x's, with a button per device type at the top of the page and an
entry picker. The integration's words come from its English translations and the names of
devices and entities from Home Assistant's registries, so rewording them breaks nothing here.

``--rest-only`` skips the browser: the same start, then the entities, the Energy dashboard's
validation and the logs over REST and websocket (a quick smoke). ``--readme-shots`` also saves a
passing run's screenshots as the README's pictures, in ``.github/screenshots/<line>/``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
from collections.abc import Callable, Iterator
import contextlib
from dataclasses import dataclass
import functools
import json
import os
from pathlib import Path
import re
import signal
import socket
import subprocess
import sys
import time
from typing import Any
import urllib.request

ROOT = Path(__file__).resolve().parent.parent
BROWSER_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# The last page of a flow: 2025.4 says "Created configuration for …"; 2026.11 asks for the new
# device's name and area.
CREATED = re.compile(r"Created configuration for|Name and assign")
FINISH = re.compile(r"^(Finish|Skip and finish)$")
# HA's own words for a subentry updated without a reason (2026.x shows them; 2025.4 the entry's).
HA_SAVED = "Reconfiguration was successful"
# The house meter's sensors whose values the device page must show (translation keys).
MONEY_SENSORS = ("cost_today", "import_price", "export_value_today")
SECOND_LOCATION = {"address_line1": "2 Second Street", "city": "London", "post_code": "N1 2BB"}
TRANSLATIONS = ROOT / "custom_components" / "flatpeak" / "translations" / "en.json"
# scripts/develop puts it in the environment of every process it starts (develop.py RUN_MARKER).
RUN_MARKER = "FLATPEAK_DEVELOP_RUN"
# The README's pictures: one folder per line, a file per step named after it (no step number).
README_SHOTS = ROOT / ".github" / "screenshots"


class CheckFailed(Exception):
    """A check of what is on screen (or in the logs) failed."""


# -- scripts/develop ------------------------------------------------------------------------------


@contextlib.contextmanager
def develop(line_flags: list[str], config: Path) -> Iterator[dict[str, Any]]:
    """Start scripts/develop, yield its ready line, stop it and check nothing is left behind."""
    proc = subprocess.Popen(
        [str(ROOT / "scripts" / "develop"), *line_flags, "--config", str(config)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert proc.stdout is not None
    try:
        line = proc.stdout.readline()
        if not line:
            raise CheckFailed(f"scripts/develop exited ({proc.wait()}) before it was ready")
        ready: dict[str, Any] = json.loads(line)
        print(f"develop ready: Home Assistant {ready['ha_version']} at {ready['url']}", flush=True)
        yield ready
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(120)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            raise CheckFailed("scripts/develop did not stop within 2 minutes of SIGTERM") from None
    if code != 0:
        raise CheckFailed(f"scripts/develop exited with {code} after SIGTERM")
    left = processes_of_run(config)
    listening = [url for url in (ready["url"], ready["emulator"]["base_url"]) if answers(url)]
    if left or listening:
        raise CheckFailed(f"left behind after scripts/develop stopped: {left} {listening}")


def processes_of_run(config: Path) -> list[str]:
    """The processes (pid and command) whose environment marks them as this run's.

    scripts/develop's children (watchdog, emulator, Home Assistant) carry the marker; their
    command lines need not name the config folder, so pgrep -f would not find them all.
    """
    marker = f"{RUN_MARKER}={config}".encode()
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        with contextlib.suppress(OSError):  # gone meanwhile, or not ours to read
            if marker in (proc / "environ").read_bytes().split(b"\0"):
                command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                found.append(f"{proc.name} {command.strip()}")
    return found


def answers(url: str) -> bool:
    """Whether anything still listens at url's port."""
    host, port = url.removeprefix("http://").split(":")
    with contextlib.suppress(OSError), socket.create_connection((host, int(port)), timeout=2):
        return True
    return False


def flatpeak_errors_in_log(config: Path) -> list[str]:
    """HA log records at ERROR (or worse) that name flatpeak, with their traceback lines."""
    found, current = [], ""
    for line in (config / "home-assistant.log").read_text(errors="replace").splitlines():
        if re.match(r"^\d{4}-\d\d-\d\d ", line):
            if current and "flatpeak" in current.lower():
                found.append(current)
            current = line if re.search(r" (ERROR|CRITICAL) ", line) else ""
        elif current:
            current += "\n" + line
    if current and "flatpeak" in current.lower():
        found.append(current)
    return found


# -- the integration's words ----------------------------------------------------------------------


@functools.cache
def _translations() -> dict[str, Any]:
    translations: dict[str, Any] = json.loads(TRANSLATIONS.read_text())
    return translations


def string(key: str) -> str:
    """One of the integration's English strings, by its dotted key ("config.error.blank")."""
    node: Any = _translations()
    for part in key.split("."):
        node = node[part]
    if not isinstance(node, str):
        raise KeyError(key)
    return node


def shown(key: str) -> re.Pattern[str]:
    """What the frontend shows for a string: each placeholder stands for any text, and only
    the plain text before any markdown, line break or markup is looked for."""
    plain = re.split(r"[*`\[<\n]", string(key))[0].strip()
    return re.compile(".+?".join(re.escape(part) for part in re.split(r"\{\w+\}", plain)))


# -- the emulator, through Flatpeak's API -----------------------------------------------------


def api(base: str, method: str, path: str, body: Any = None, token: str | None = None) -> Any:
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if token:
        headers["Authorization"] = token
    request = urllib.request.Request(
        base + path,
        data=None if body is None else json.dumps(body).encode(),
        headers=headers,
        method=method,
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"null")


def add_second_location(emulator: dict[str, Any]) -> str:
    """A second location with an import tariff on the demo account; its id."""
    basic = base64.b64encode(f"{emulator['account_id']}:{emulator['api_key']}".encode()).decode()
    bearer = (
        "Bearer "
        + api(emulator["base_url"], "GET", "/login", token=f"Basic {basic}")["bearer_token"]
    )
    location = api(
        emulator["base_url"],
        "POST",
        "/locations",
        {"postal_address": {**SECOND_LOCATION, "country_code": "GB"}},
        bearer,
    )
    schedule = [
        {
            "months": ["All"],
            "days_and_hours": [
                {
                    "days": ["All"],
                    "hours": [
                        {
                            "valid_from": "00:00:00",
                            "valid_to": "00:00:00",
                            "rate": [{"fixed": 0.25, "to_kwh": None}],
                        }
                    ],
                }
            ],
        }
    ]
    api(
        emulator["base_url"],
        "POST",
        "/tariffs/elements",
        {"location_id": location["id"], "direction": "IMPORT", "schedule": schedule},
        bearer,
    )
    location_id: str = location["id"]
    return location_id


# -- the browser ----------------------------------------------------------------------------------


def shows_money(row: Any) -> bool:
    return bool(re.search("£|GBP", deep_text(row)))


def say(ok: bool, what: str, detail: str) -> None:
    print(("  ok   " if ok else "  FAIL ") + what + (f": {detail}" if detail else ""), flush=True)


def deep_text(locator: Any) -> str:
    """The text of an element and everything in its shadow roots, spaced."""
    text: str = locator.evaluate(
        """e => { const parts = []; const walk = n => {
             if (n.nodeType === 3) { const t = n.textContent.trim(); if (t) parts.push(t); }
             if (n.shadowRoot) walk(n.shadowRoot);
             for (const c of n.childNodes) walk(c); };
           walk(e); return parts.join(' '); }"""
    )
    return text


@dataclass(frozen=True)
class Device:
    """A device as Home Assistant's registries know it: what the UI shows of it."""

    id: str
    name: str
    entities: dict[str, str]  # each entity's name (as shown on the device page) by translation key


class Person:
    """A person at the browser: clicks, reads, and a screenshot per step."""

    def __init__(self, page: Any, ready: dict[str, Any], shots: Path) -> None:
        self.page, self.base, self.shots = page, ready["url"], shots
        self.emulator: dict[str, Any] = ready["emulator"]
        self.ready = ready
        self.steps = 0
        self.checks = 0

    def shot(self, name: str) -> None:
        self.steps += 1
        self.page.screenshot(path=str(self.shots / f"{self.steps:02d}-{name}.png"))

    def check(self, what: str, ok: bool, detail: str = "") -> None:
        self.checks += 1
        say(ok, what, detail)
        if not ok:
            self.page.screenshot(path=str(self.shots / "FAIL.png"))
            raise CheckFailed(f"{what}: {detail}")

    def sees(self, text: str | re.Pattern[str], timeout: float = 15_000) -> bool:
        """Whether text shows: any visible match (hidden copies, such as closed menus, aside)."""
        with contextlib.suppress(Exception):
            match = self.page.get_by_text(text).locator("visible=true").first
            match.wait_for(state="visible", timeout=timeout)
            return True
        return False

    def wait_until(self, probe: Callable[[], bool], timeout: float = 15.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(Exception):
                if probe():
                    return True
            self.page.wait_for_timeout(300)
        return False

    def goto(self, path: str) -> None:
        """Open a page of Home Assistant and wait until its launch screen (the logo) is gone."""
        self.page.goto(self.base + path)
        self.until_loaded()

    def until_loaded(self) -> None:
        self.page.wait_for_function("() => !document.getElementById('ha-launch-screen')")

    def submit(self) -> None:
        self.page.get_by_role("button", name="Submit").click()
        self.page.wait_for_timeout(1500)

    def field(self, role: str, name: str) -> Any:
        return self.page.get_by_role(role, name=name)

    # -- what Home Assistant knows, over the page's own connection ---------------------------

    def ws(self, message: dict[str, Any]) -> Any:
        """A websocket command, sent on the frontend's connection (the person's login)."""
        return self.page.evaluate(
            "m => document.querySelector('home-assistant').hass.callWS(m)", message
        )

    def name_of(self, entity_id: str) -> str:
        """The name the frontend shows for an entity."""
        name: str = self.page.evaluate(
            """id => document.querySelector('home-assistant')
                 .hass.states[id].attributes.friendly_name""",
            entity_id,
        )
        return name

    def house_meter(self) -> Device:
        """scripts/develop's house meter: found by its entry and subentry, not by its name."""
        entry_id = self.ready["entry_id"]
        subentries = self.ws({"type": "config_entries/subentries/list", "entry_id": entry_id})
        meter = next(s["subentry_id"] for s in subentries if s["subentry_type"] == "house_meter")
        (device,) = [
            d
            for d in self.ws({"type": "config/device_registry/list"})
            if meter in (d.get("config_entries_subentries") or {}).get(entry_id, [])
        ]
        entities = {
            e["translation_key"]: e["name"] or e["original_name"]
            for e in self.ws({"type": "config/entity_registry/list"})
            if e["device_id"] == device["id"] and e["translation_key"]
        }
        return Device(device["id"], device["name_by_user"] or device["name"], entities)

    def subentry_device(self, entry_title: str, subentry_title: str) -> dict[str, Any]:
        """The HA device of the entry's subentry called ``subentry_title`` (as the registry
        lists it: by the subentry it belongs to)."""
        entry_id = next(
            e["entry_id"]
            for e in self.ws({"type": "config_entries/get", "domain": "flatpeak"})
            if entry_title in e["title"]
        )
        subentries = self.ws({"type": "config_entries/subentries/list", "entry_id": entry_id})
        wanted = next(s["subentry_id"] for s in subentries if s["title"] == subentry_title)
        (device,) = [
            d
            for d in self.ws({"type": "config/device_registry/list"})
            if wanted in (d.get("config_entries_subentries") or {}).get(entry_id, [])
        ]
        found: dict[str, Any] = device
        return found

    # -- the integration's page, in either layout --------------------------------------------

    def integration_page(self, entry_title: str) -> None:
        self.goto("/config/integrations/integration/flatpeak")
        self.sees(entry_title)

    def entry_menu(self, entry_title: str, item: str) -> None:
        """The ⋮ menu of one entry on the integration's page, then one of its items."""
        # An entry is a row with its title; on 2026.x its subentries are rows inside it, after
        # its own menu. 2025.4's menu is an ha-md-button-menu, 2026.x's an ha-dropdown.
        row = self.page.locator("ha-md-list-item, ha-config-entry-row").filter(has_text=entry_title)
        row.first.locator("ha-dropdown > ha-icon-button, ha-md-button-menu").first.click()
        self.page.wait_for_timeout(600)
        menu_item = self.page.get_by_role("menuitem", name=item, exact=True)
        menu_item.locator("visible=true").first.click()
        self.page.wait_for_timeout(1500)

    def add_device(self, entry_title: str, subentry_type: str) -> None:
        """Start adding a device (a subentry) to one entry, the way the page offers it.

        2026.x: a button per device type at the top of the page, then a dialog asking for the
        entry (there are two). 2025.4: an item of the entry's ⋮ menu.
        """
        label = string(f"config_subentries.{subentry_type}.initiate_flow.user")
        self.integration_page(entry_title)
        button = self.page.get_by_role("button", name=label, exact=True).locator("visible=true")
        if not button.count():
            print(f"  ..   '{label}' from the entry's menu (2025.4 layout)", flush=True)
            self.entry_menu(entry_title, label)
            return
        print(f"  ..   '{label}' from the top of the page, then the entry (2026.x)", flush=True)
        button.first.click()
        self.page.locator("dialog-pick-config-entry").get_by_text(entry_title).first.click()
        self.page.wait_for_timeout(1500)

    # -- forms ----------------------------------------------------------------------------------

    def shows(self, name: str) -> bool:
        """Whether a field shows name: as text (2026.x pickers) or as an input's value (2025.4)."""
        found: bool = self.page.evaluate(
            """name => { const look = r => { for (const e of r.querySelectorAll('*')) {
                 if (e.tagName === 'INPUT' && e.value === name) return true;
                 if (e.shadowRoot && look(e.shadowRoot)) return true; } return false; };
               return look(document); }""",
            name,
        )
        return found or self.sees(name, 3000)

    def form_data(self) -> dict[str, Any]:
        """What the open dialog's form holds (the values its fields show)."""
        data: dict[str, Any] = self.page.evaluate(
            """() => { const find = r => { for (const e of r.querySelectorAll('*')) {
                 if (e.tagName === 'HA-FORM') return e;
                 if (e.shadowRoot) { const f = find(e.shadowRoot); if (f) return f; } }
                 return null; };
               const form = find(document); return form ? {...form.data} : {}; }"""
        )
        return data

    def picker_options(self, label: str) -> list[str]:
        """The entity ids an entity picker offers; the picker is left open.

        2025.4's picker lists entity ids in its drop-down; 2026.x pickers show names only, so
        there it is the field's selector (what the drop-down is built from).
        """
        if self.open_picker(label):
            self.page.wait_for_timeout(1200)
            texts = self.page.locator("vaadin-combo-box-item").all_inner_texts()
            ids = [re.findall(r"\b[a-z_]+\.[a-z0-9_]+\b", text) for text in texts]
            return [found[-1] for found in ids if found]
        offered: list[str] = self.page.evaluate(
            """label => { const find = r => { for (const e of r.querySelectorAll('*')) {
                 if (e.tagName === 'HA-FORM') return e;
                 if (e.shadowRoot) { const f = find(e.shadowRoot); if (f) return f; } }
                 return null; };
               const form = find(document);
               const field = form.schema.find(f => form.computeLabel ?
                 form.computeLabel(f) === label : f.name === label) || {};
               const entity = (field.selector || {}).entity || {};
               return entity.include_entities || []; }""",
            label,
        )
        return offered

    def open_picker(self, label: str) -> bool:
        """Click an entity picker open; whether it is 2025.4's combo box."""
        box = self.field("combobox", label)
        if box.count():
            box.click()
            return True
        fields = self.page.locator("ha-selector-entity, ha-entity-picker, ha-picker-field")
        fields.filter(has_text=label).last.click()
        return False

    def pick(self, entity_id: str) -> None:
        """Choose an entity in the open picker: 2025.4's lists entity ids, 2026.x's is searched
        by name in its own search field (typed with nothing focused, letters are HA's shortcuts)."""
        items = self.page.locator("vaadin-combo-box-item").filter(has_text=entity_id)
        if items.count():
            items.first.click()
        else:
            name = self.name_of(entity_id)
            search = self.page.locator("dialog-data-entry-flow").get_by_placeholder("Search")
            search.locator("visible=true").last.fill(name)
            self.page.wait_for_timeout(800)
            self.page.get_by_text(name, exact=True).locator("visible=true").last.click()
        self.page.wait_for_timeout(500)

    # -- steps ------------------------------------------------------------------------------

    def log_in(self) -> None:
        self.page.goto(self.base + "/")
        self.page.locator("input[name=username]").fill(self.ready["username"])
        self.page.locator("input[name=password]").fill(self.ready["password"])
        self.page.get_by_role("button", name="Log in").click()
        # The default dashboard is /lovelace on 2025.4 and /home on 2026.11.
        self.page.wait_for_url(re.compile(r"/(lovelace|home)(/|$)"), timeout=30_000)
        self.until_loaded()
        self.sees("Settings", 30_000)  # the sidebar is drawn; the dashboard follows it
        self.page.wait_for_timeout(1500)
        self.shot("logged-in")

    def sign_in_errors(self) -> None:
        """A wrong key, then a bad base URL: each shows its message on screen."""
        page = self.page
        self.goto("/config/integrations/dashboard")
        page.get_by_role("button", name="Add integration").click()
        page.wait_for_timeout(1000)
        page.keyboard.type("Flatpeak")
        page.wait_for_timeout(1000)
        page.get_by_text("Flatpeak", exact=True).last.click()
        self.check("the sign-in form opens", self.sees(shown("config.step.user.title")))
        self.shot("sign-in")
        account_id = self.field("textbox", string("config.step.user.data.account_id"))
        api_key = self.field("textbox", string("config.step.user.data.api_key"))
        advanced = page.get_by_text(string("config.step.user.sections.advanced.name"), exact=True)
        base_url = self.field("textbox", string("config.step.user.sections.advanced.data.base_url"))
        account_id.fill(self.emulator["account_id"])
        api_key.fill("sk_test_wrong" + "0" * 27)
        advanced.click()
        base_url.fill(self.emulator["base_url"])
        self.submit()
        self.check(
            "a wrong API key says so on screen", self.sees(shown("config.error.invalid_auth"))
        )
        self.shot("wrong-key")
        # The base URL field sits in a section that is collapsed again after each submit: on
        # HA 2025.4 an error on it would not show, so the flow reports it at the top.
        advanced.click()
        page.wait_for_timeout(400)
        base_url.fill("https://user:secret@example.com")
        api_key.fill(self.emulator["api_key"])
        self.submit()
        self.check(
            "a bad base URL says so on screen, with the Advanced section collapsed",
            self.sees(shown("config.error.invalid_base_url")),
        )
        self.shot("bad-base-url")

    def new_entry(self) -> None:
        """The right key: the location step, then the house meter with suggested sensors."""
        page = self.page
        page.get_by_text(string("config.step.user.sections.advanced.name"), exact=True).click()
        page.wait_for_timeout(400)
        base_url = self.field("textbox", string("config.step.user.sections.advanced.data.base_url"))
        base_url.fill(self.emulator["base_url"])
        api_key = self.field("textbox", string("config.step.user.data.api_key"))
        api_key.fill(self.emulator["api_key"])
        self.submit()
        self.check("the location step follows", self.sees(shown("config.step.location.title")))
        self.check(
            "the location set up already is marked so",
            self.sees(re.compile(r"1 Demo Street.*already set up")),
        )
        second = page.get_by_role("radio", name=re.compile(SECOND_LOCATION["address_line1"]))
        demo = page.get_by_role("radio", name=re.compile("1 Demo Street"))
        chosen = f"2 Second Street: {second.is_checked()}, 1 Demo Street: {demo.is_checked()}"
        self.check(
            "the pre-selected location is the one not set up yet",
            second.is_checked() and not demo.is_checked(),
            chosen,
        )
        self.shot("location")
        self.submit()
        self.check(
            "the house meter step follows", self.sees(shown("config.step.house_meter.description"))
        )
        data = self.form_data()
        for key, entity_id in (
            ("grid_import", "sensor.grid_import_energy"),
            ("grid_export", "sensor.grid_export_energy"),
            ("solar", "sensor.solar_energy"),
        ):
            name = self.name_of(entity_id)
            self.check(
                f"{name} is pre-filled from the Energy dashboard",
                data.get(key) == entity_id and self.shows(name),
                str(data.get(key)),
            )
        self.shot("house-meter")
        self.submit()
        self.check("the entry is created", self.sees(CREATED))
        self.shot("entry-created")
        page.get_by_role("button", name=FINISH).click()

    def repair(self, entry_title: str) -> None:
        """The new location reads an export sensor but has no export tariff: its repair is
        listed; its fix flow opens Flatpeak Connect (the emulator's page, in a new tab), and
        once Connect sends the browser back the repair is gone."""
        page = self.page
        issues = "issues.no_export_tariff"

        def listed() -> list[dict[str, Any]]:
            found: list[dict[str, Any]] = [
                i
                for i in self.ws({"type": "repairs/list_issues"})["issues"]
                if i["domain"] == "flatpeak"
                and i["issue_id"].startswith("no_export_tariff_")
                and not i.get("dismissed_version")
            ]
            return found

        self.check(
            "the missing export tariff is a repair", self.wait_until(lambda: bool(listed()), 30)
        )
        self.goto("/config/repairs")
        title = shown(f"{issues}.title")
        self.check("the repairs page lists it", self.sees(title))
        self.shot("repairs")
        page.get_by_text(title).locator("visible=true").first.click()
        page.wait_for_timeout(1500)
        confirm = shown(f"{issues}.fix_flow.step.confirm.description")
        self.check("its fix flow explains what Connect will do", self.sees(confirm))
        self.shot("repair-confirm")
        self.submit()
        link = page.get_by_role("link", name="Flatpeak Connect").locator("visible=true").first
        self.check(
            "the next step links to Flatpeak Connect",
            self.sees(shown(f"{issues}.fix_flow.progress.connect")),
        )
        self.shot("repair-connect")
        with page.context.expect_page() as opened:
            link.click()
        connect = opened.value
        connect.wait_for_load_state()
        self.check(
            "the link opens Connect for the export tariff",
            "export tariff" in connect.content(),
            connect.url,
        )
        connect.get_by_role("button", name=re.compile("Connect export tariff")).click()
        with contextlib.suppress(Exception):  # the callback page closes itself
            connect.wait_for_load_state()
        self.check("the repair is gone", self.wait_until(lambda: not listed(), 45))
        page.wait_for_timeout(1000)
        self.shot("repair-done")
        done = page.get_by_role("button", name=re.compile("^(Close|Finish|OK)$"))
        if done.locator("visible=true").count():
            done.locator("visible=true").first.click()
        self.goto("/config/repairs")
        self.check("the repairs page no longer lists it", not self.sees(title, 3000))

    def appliance(self, entry_title: str) -> None:
        """Add an appliance (the heat pump), then see its Cost today in pounds on its device
        page once its history is priced."""
        page = self.page
        flow = "config_subentries.appliance.step"
        self.add_device(entry_title, "appliance")
        self.check("the appliance form opens", self.sees(shown(f"{flow}.user.description")))
        name = self.field("textbox", string(f"{flow}.user.data.name"))
        name.fill("Heat pump")
        offered = self.picker_options(string(f"{flow}.user.data.appliance_energy"))
        self.check(
            "the appliance picker leaves out the house meter's sensors",
            set(offered) == {"sensor.charger_energy", "sensor.heat_pump_energy"},
            str(offered),
        )
        self.pick("sensor.heat_pump_energy")
        self.shot("appliance")
        self.submit()
        self.check("the appliance is created", self.sees(CREATED))
        page.get_by_role("button", name=FINISH).click()
        page.wait_for_timeout(1000)

        device = self.subentry_device(entry_title, "Heat pump")
        self.goto(f"/config/devices/device/{device['id']}")
        self.check("the appliance's device page opens", self.sees(device["name"]))
        cost_name = string("entity.sensor.cost_today.name")
        self.check(f"the device page lists {cost_name}", self.sees(cost_name))
        row = page.locator("hui-sensor-entity-row").filter(has_text=cost_name).first
        ok = self.wait_until(functools.partial(shows_money, row), 90)
        self.check(f"the heat pump's {cost_name} shows an amount in pounds", ok, deep_text(row))
        self.shot("appliance-device")

    def ev_charger(self, entry_title: str) -> None:
        """Add an EV charger: its picker leaves out the house meter's sensors."""
        page = self.page
        flow = "config_subentries.ev_charger.step"
        self.add_device(entry_title, "ev_charger")
        self.check("the EV charger form opens", self.sees(shown(f"{flow}.user.description")))
        offered = self.picker_options(string(f"{flow}.user.data.charger_energy"))
        self.shot("ev-charger-picker")
        self.check(
            "the charger picker offers only sensors no other device reads",
            offered == ["sensor.charger_energy"],
            str(offered),
        )
        self.pick("sensor.charger_energy")
        self.submit()
        self.check("the session step follows", self.sees(shown(f"{flow}.session_state.title")))
        if self.open_picker(string(f"{flow}.session_state.data.session_entity")):
            page.wait_for_timeout(600)  # 2025.4's combo box lists what matches the typing
            page.keyboard.type("ev_charging")
            page.wait_for_timeout(600)
        self.pick("binary_sensor.ev_charging")
        self.shot("ev-charger-session")
        self.submit()
        self.check("the EV charger is created", self.sees(CREATED))
        page.get_by_role("button", name=FINISH).click()

    def cheap_window(self, entry_title: str) -> None:
        """Add a cheap window with the form's own defaults (the cheapest 3 hours 18:00 to
        07:00), then see its binary sensor and Next start on its device page."""
        page = self.page
        flow = "config_subentries.cheap_window.step"
        self.add_device(entry_title, "cheap_window")
        self.check("the cheap window form opens", self.sees(shown(f"{flow}.user.description")))
        name = self.field("textbox", string(f"{flow}.user.data.name"))
        name.fill("Hot water")
        self.shot("cheap-window")
        self.submit()
        self.check("the how long and when step follows", self.sees(shown(f"{flow}.details.title")))
        data = self.form_data()
        self.check(
            "it offers the cheapest 3 hours from 18:00 to 07:00",
            data.get("duration") == {"hours": 3, "minutes": 0, "seconds": 0}
            and data.get("window_start") == "18:00:00"
            and data.get("window_end") == "07:00:00",
            str(data),
        )
        self.shot("cheap-window-details")
        self.submit()
        self.check("the cheap window is created", self.sees(CREATED))
        page.get_by_role("button", name=FINISH).click()
        page.wait_for_timeout(1000)

        device = self.subentry_device(entry_title, "Hot water")
        entities = [
            e
            for e in self.ws({"type": "config/entity_registry/list"})
            if e["device_id"] == device["id"]
        ]
        active = next(e["entity_id"] for e in entities if e["entity_id"].startswith("binary_"))
        times = {
            key: next(e["entity_id"] for e in entities if e["translation_key"] == key)
            for key in ("next_start", "next_end")
        }
        start_name = string("entity.sensor.next_start.name")

        def state_of(entity_id: str) -> str | None:
            state: str | None = self.page.evaluate(
                "id => document.querySelector('home-assistant').hass.states[id]?.state", entity_id
            )
            return state

        def planned() -> bool:
            # Next start is the next slot's; while the window's last slot runs (the real
            # clock may be inside 18:00 to 07:00) it is unknown and the window is on.
            return state_of(active) == "on" or state_of(times["next_start"]) not in (
                None,
                "unknown",
                "unavailable",
            )

        self.check("Flatpeak planned the window", self.wait_until(planned, 60))
        running = state_of(active) == "on"
        self.goto(f"/config/devices/device/{device['id']}")
        self.check("the device page opens", self.sees(device["name"]))
        self.check(f"the device page lists {start_name}", self.sees(start_name))
        rows = page.locator("hui-sensor-entity-row, hui-simple-entity-row, hui-generic-entity-row")
        shown_key = "next_end" if running else "next_start"
        shown_name = string(f"entity.sensor.{shown_key}.name")
        text = deep_text(rows.filter(has_text=shown_name).first)
        self.check(
            f"{shown_name} shows a time (the window is {'on' if running else 'off'})",
            bool(re.search(r"\d|hour|minute|day", text)) and "Unknown" not in text,
            text,
        )
        window_row = deep_text(rows.filter(has_text=device["name"]).first)
        expected = "On" if running else "Off"
        self.check(
            f"the binary sensor is on the device page and reads {expected}",
            window_row.strip().endswith(expected),
            f"{active}: {window_row}",
        )
        self.shot("cheap-window-device")

    def add_house_meter_again(self, entry_title: str) -> None:
        """'Add house meter' on a location with one opens that meter, not a dead end."""
        flow = "config_subentries.house_meter"
        self.add_device(entry_title, "house_meter")
        self.check(
            "Add house meter opens the location's meter",
            self.sees(shown(f"{flow}.step.existing.title")),
        )
        value = str(self.form_data().get("grid_export"))
        on_screen = value == "sensor.grid_export_energy"
        self.check("its sensors are shown", on_screen and self.shows(self.name_of(value)), value)
        offered = self.picker_options(string(f"{flow}.step.existing.data.grid_import"))
        self.page.keyboard.press("Escape")
        self.page.wait_for_timeout(500)  # the drop-down's closing animation
        self.check(
            "the house meter picker leaves out the charger's sensor",
            "sensor.charger_energy" not in offered,
            str(offered),
        )
        self.shot("house-meter-again")
        self.submit()
        # The integration's words; HA 2026.x shows its own for a subentry updated without a
        # reason of its own (async_update_and_abort's default).
        saved = re.compile(f"{shown(f'{flow}.abort.reconfigure_successful').pattern}|{HA_SAVED}")
        self.check("the meter is saved", self.sees(saved), self.text_of(saved))
        self.shot("house-meter-saved")

    def text_of(self, pattern: re.Pattern[str]) -> str:
        """The visible text that matches, for a check's detail."""
        with contextlib.suppress(Exception):
            found = pattern.search(deep_text(self.page.locator("body")))
            return found.group(0) if found else ""
        return ""

    def reconfigure(self, entry_title: str) -> None:
        """Reconfigure keeps the stored key: the field is empty and need not be typed."""
        self.integration_page(entry_title)
        self.entry_menu(entry_title, "Reconfigure")
        self.check("the reconfigure form opens", self.sees(shown("config.step.reconfigure.title")))
        api_key = self.field("textbox", string("config.step.reconfigure.data.api_key"))
        value = api_key.input_value()
        self.check("the API key is not shown and not asked for again", value == "", value)
        self.shot("reconfigure")
        self.submit()
        saved = shown("config.abort.reconfigure_successful")
        self.check("saved without retyping the key", self.sees(saved))
        self.shot("reconfigure-saved")

    def device_page(self, meter: Device) -> None:
        """The develop entry's house meter: cost and price sensors with values."""
        page = self.page
        self.goto(f"/config/devices/device/{meter.id}")
        self.sees(meter.name)
        names = {key: meter.entities[key] for key in MONEY_SENSORS}
        for name in names.values():
            self.check(f"the device page lists {name}", self.sees(name))
        for key in ("cost_today", "import_price"):
            row = page.locator("hui-sensor-entity-row").filter(has_text=names[key]).first
            ok = self.wait_until(functools.partial(shows_money, row), 60)
            self.check(f"{names[key]} shows an amount in pounds", ok, deep_text(row))
        self.shot("device-page")

    def logbook(self, meter: Device) -> None:
        """Uploads write no logbook line, per cycle or at the start: "Last upload" is disabled
        by default and "Upload errors" is a count (with a state class). The logbook is shown
        for the house meter's device (the whole one is longer than a page)."""
        self.goto(f"/logbook?device_id={meter.id}")
        self.check(
            "the logbook opens",
            # an entry reads "… changed to …" on 2025.4 and "… → …" on 2026.x
            self.sees(
                re.compile("No logbook events found|No activity found|changed to|became|→"),
                30_000,
            ),
        )
        text = deep_text(self.page.locator("body"))
        names = [meter.entities[key] for key in ("last_upload", "upload_errors")]
        lines = [m for name in names for m in re.findall(re.escape(name) + ".{0,40}", text)]
        self.check("the logbook has no line of the upload diagnostics", not lines, str(lines))
        self.shot("logbook")

    def energy_dashboard(self) -> None:
        """The Energy dashboard shows a cost for a day, from the Flatpeak statistics."""
        page = self.page
        self.goto("/energy")
        self.check("the Energy dashboard opens", self.sees("Grid", 30_000))
        # Its "Sources" table (2025.4), "Totals" on 2026.11.
        sources = page.locator("hui-energy-sources-table-card")

        def cost_shown() -> bool:
            return bool(re.search(r"Grid total[^£]*£\s?\d+\.\d\d", deep_text(sources.first)))

        ok = self.wait_until(cost_shown, 30)
        detail = deep_text(sources.first)[:300] if sources.count() else ""
        self.check("the sources table shows today's grid cost in pounds", ok, detail)
        # In the middle of the screen: 2026.x floats its date picker over the bottom.
        sources.first.evaluate("e => e.scrollIntoView({block: 'center'})")
        page.wait_for_timeout(1500)  # the charts' animations
        self.shot("energy-dashboard")


def browse(ready: dict[str, Any], shots: Path) -> int:
    # Playwright is there only after scripts/setup --browser.
    from playwright.sync_api import ConsoleMessage, Error, sync_playwright

    for old in shots.glob("*.png"):  # a run's folder shows that run only
        old.unlink()
    add_second_location(ready["emulator"])
    console: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=BROWSER_ARGS
        )
        # The README's pictures are these screenshots: a common laptop's 1280x800.
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.set_default_timeout(30_000)

        def on_console(message: ConsoleMessage) -> None:
            if message.type == "error":
                console.append(message.text)

        def on_page_error(error: Error) -> None:
            console.append(str(error))

        page.on("console", on_console)
        page.on("pageerror", on_page_error)
        person = Person(page, ready, shots)
        try:
            person.log_in()
            meter = person.house_meter()
            person.sign_in_errors()
            person.new_entry()
            title = SECOND_LOCATION["address_line1"]
            person.repair(title)
            person.appliance(title)
            person.ev_charger(title)
            person.cheap_window(title)
            person.add_house_meter_again(title)
            person.reconfigure(title)
            person.device_page(meter)
            person.logbook(meter)
            person.energy_dashboard()
        except Error as err:  # a step could not be done on screen: that is a failure too
            page.screenshot(path=str(shots / "FAIL.png"))
            raise CheckFailed(f"step {person.steps + 1}: {err.message.splitlines()[0]}") from err
        finally:
            browser.close()
    (shots / "console.log").write_text("\n".join(console))
    named = [m for m in console if "flatpeak" in m.lower()]
    if named:
        raise CheckFailed(f"browser console errors naming flatpeak: {named}")
    return person.checks


def publish_shots(shots: Path, line: str) -> Path:
    """A passing run's screenshots as the README's pictures: .github/screenshots/<line>/<step>.png.

    Saved with a 256-colour palette and no dithering: Home Assistant's flat UI keeps its look,
    at a fraction of the size.
    """
    from PIL import Image  # Home Assistant depends on Pillow

    target = README_SHOTS / line
    target.mkdir(parents=True, exist_ok=True)
    for old in target.glob("*.png"):
        old.unlink()
    for shot in sorted(shots.glob("[0-9][0-9]-*.png")):
        with Image.open(shot) as image:
            palette = image.convert("RGB").quantize(256, dither=Image.Dither.NONE)
            palette.save(target / shot.name[3:], optimize=True)
    return target


# -- the REST smoke -------------------------------------------------------------------------------


async def rest_smoke(ready: dict[str, Any]) -> int:
    """Entities with values, the Energy dashboard's validation, as a script would see them."""
    import aiohttp

    checks = 0

    def check(what: str, ok: bool, detail: str = "") -> None:
        nonlocal checks
        checks += 1
        say(ok, what, detail)
        if not ok:
            raise CheckFailed(f"{what}: {detail}")

    url = ready["url"]
    async with aiohttp.ClientSession() as session:
        client_id = f"{url}/"
        async with session.post(
            f"{url}/auth/login_flow",
            json={"client_id": client_id, "handler": ["homeassistant", None], "redirect_uri": url},
        ) as resp:
            flow = await resp.json()
        async with session.post(
            f"{url}/auth/login_flow/{flow['flow_id']}",
            json={
                "client_id": client_id,
                "username": ready["username"],
                "password": ready["password"],
            },
        ) as resp:
            code = (await resp.json())["result"]
        async with session.post(
            f"{url}/auth/token",
            data={"grant_type": "authorization_code", "code": code, "client_id": client_id},
        ) as resp:
            token = (await resp.json())["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        async with session.get(f"{url}/api/states", headers=headers) as resp:
            states = {s["entity_id"]: s for s in await resp.json()}
        for suffix in ("cost_today", "current_import_price", "export_value_today"):
            found = [s for e, s in states.items() if e.startswith("sensor.") and e.endswith(suffix)]
            value = found[0]["state"] if found else "missing"
            ok = bool(found) and re.fullmatch(r"-?\d+(\.\d+)?", value) is not None
            check(f"sensor …{suffix} has a number", ok, value)
        async with session.get(f"{url}/api/config/config_entries/entry", headers=headers) as resp:
            entries = [e for e in await resp.json() if e["domain"] == "flatpeak"]
        loaded = [e["state"] for e in entries] == ["loaded"]
        check("the Flatpeak entry is loaded", loaded, str(entries))
        async with session.ws_connect(f"{url}/api/websocket") as ws:
            await ws.receive_json()
            await ws.send_json({"type": "auth", "access_token": token})
            await ws.receive_json()
            await ws.send_json({"id": 1, "type": "energy/validate"})
            result = (await ws.receive_json())["result"]
            await ws.send_json({"id": 2, "type": "repairs/list_issues"})
            issues = (await ws.receive_json())["result"]["issues"]
        ours = [i["issue_id"] for i in issues if i["domain"] == "flatpeak"]
        others = [f"{i['domain']}.{i['issue_id']}" for i in issues if i["domain"] != "flatpeak"]
        check("no Flatpeak repair issue is raised", not ours, f"{ours}; others: {others}")
        problems = json.dumps(result)
        check(
            "energy/validate reports nothing about the Flatpeak statistics",
            "flatpeak" not in problems,
            problems[:300],
        )
    return checks


def main() -> int:
    parser = argparse.ArgumentParser(prog="scripts/browser-test", description=__doc__)
    parser.add_argument("--line", choices=("oldest", "newest", "latest-release"), default="oldest")
    parser.add_argument("--rest-only", action="store_true", help="no browser: REST checks")
    parser.add_argument("--shots", help="screenshot folder (default .develop/shots/<line>)")
    parser.add_argument(
        "--readme-shots",
        action="store_true",
        help="also save a passing run's screenshots as the README's (.github/screenshots/<line>)",
    )
    args = parser.parse_args()
    flags = {"oldest": [], "newest": ["--newest"], "latest-release": ["--latest-release"]}
    config = ROOT / ".develop" / f"e2e-{args.line}"
    shots = Path(args.shots or ROOT / ".develop" / "shots" / args.line).resolve()
    shots.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    try:
        with develop(flags[args.line], config) as ready:
            checks = asyncio.run(rest_smoke(ready)) if args.rest_only else browse(ready, shots)
        errors = flatpeak_errors_in_log(config)
        if errors:
            raise CheckFailed("Home Assistant logged errors naming flatpeak:\n" + "\n".join(errors))
    except CheckFailed as err:
        print(f"browser-test: FAILED on Home Assistant {args.line} line: {err}", file=sys.stderr)
        return 1
    mode = "REST" if args.rest_only else "browser"
    print(
        f"browser-test: {checks} {mode} checks passed on Home Assistant {ready['ha_version']} "
        f"({args.line} line) in {time.monotonic() - started:.0f} s"
        + ("" if args.rest_only else f"; screenshots in {shots}")
    )
    if args.readme_shots and not args.rest_only:
        print(f"browser-test: the README's pictures are in {publish_shots(shots, args.line)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
