"""The emulator over real HTTP (aiohttp test client on 127.0.0.1)."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
import json
import sys
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestClient
import pytest

from tests.emulator import DEMO, EmulatorState, create_app


def basic_auth(login: str, password: str) -> dict[str, str]:
    """An HTTP Basic Authorization header (aiohttp's BasicAuth is deprecated in newer releases)."""
    token = base64.b64encode(f"{login}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


START = datetime(2025, 8, 1, 12, 0, tzinfo=UTC)  # a Friday, BST


class Clock:
    """A settable clock for EmulatorState(now=...)."""

    def __init__(self, moment: datetime = START) -> None:
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self.moment += timedelta(seconds=seconds)


@dataclass
class Api:
    """A test client logged in to the demo account."""

    client: TestClient[web.Request, web.Application]
    state: EmulatorState
    clock: Clock
    demo: dict[str, str]
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def location_id(self) -> str:
        """The demo location."""
        return self.demo["location_id"]

    async def login(self, account_id: str | None = None, api_key: str | None = None) -> str:
        """Log in and use the token for later calls."""
        response = await self.client.get(
            "/login",
            headers=basic_auth(
                account_id or self.demo["account_id"], api_key or self.demo["api_key"]
            ),
        )
        assert response.status == 200, await response.text()
        token = (await response.json())["bearer_token"]
        self.headers = {"Authorization": f"Bearer {token}"}
        return str(token)

    async def call(
        self, method: str, path: str, body: Any = None, *, expect: int = 200, **kwargs: Any
    ) -> Any:
        """One authenticated JSON call; asserts the status and returns the JSON body."""
        response = await self.client.request(
            method,
            path,
            json=body,
            headers={**self.headers, **kwargs.pop("headers", {})},
            **kwargs,
        )
        text = await response.text()
        assert response.status == expect, f"{method} {path}: {response.status} {text}"
        return json.loads(text) if text else None


@pytest.fixture(autouse=True)
def _loopback(socket_enabled: None) -> None:
    """The HA test harness blocks sockets; these tests talk HTTP over loopback."""


@pytest.fixture
async def api(
    aiohttp_client: Callable[..., Awaitable[TestClient[web.Request, web.Application]]],
) -> Api:
    """The emulator with the demo account, a controllable clock, logged in."""
    clock = Clock()
    state = EmulatorState(now=clock)
    demo = state.seed_demo()
    client = await aiohttp_client(create_app(state))
    result = Api(client, state, clock, demo)
    await result.login()
    return result


def record(location_id: str, **fields: Any) -> dict[str, Any]:
    """A valid half-hour import record (Friday 2025-08-01 10:00-10:30 UTC, 1000 Wh)."""
    return {
        "location_id": location_id,
        "units": "WH",
        "value": 1000,
        "start_time": "2025-08-01T10:00:00Z",
        "end_time": "2025-08-01T10:30:00Z",
        **fields,
    }


def assert_error(body: dict[str, Any], code: str, *, status_type: str = "invalid_request") -> None:
    """An error object exactly as API.md documents it."""
    assert set(body) == {
        "object",
        "live_mode",
        "context",
        "type",
        "code",
        "message",
        "time_created",
    }
    assert body["object"] == "error"
    assert body["live_mode"] is False
    assert body["context"].startswith("api.")
    assert body["type"] == status_type
    assert body["code"] == code, body
    assert body["time_created"].endswith("Z")


# --- login, tokens, versions --------------------------------------------------------------


async def test_login(api: Api) -> None:
    """Basic credentials give a bearer token that works on other calls."""
    response = await api.client.get(
        "/login", headers=basic_auth(api.demo["account_id"], api.demo["api_key"])
    )
    body = await response.json()
    assert response.status == 200
    assert body["expires_in"] == 3600
    assert body["live_mode"] is False
    assert body["bearer_token"]
    assert api.demo["account_id"] == DEMO.account_id
    await api.call("GET", "/devices")


async def test_bad_and_missing_credentials(api: Api) -> None:
    """Wrong key -> 403 Bad credentials; no Authorization at all -> 401."""
    response = await api.client.get(
        "/login", headers=basic_auth(api.demo["account_id"], "sk_test_wrong")
    )
    assert response.status == 403
    assert await response.json() == {"message": "Bad credentials"}
    assert (await api.client.get("/login")).status == 401
    assert (await api.client.get("/devices")).status == 401


async def test_disabled_account(api: Api) -> None:
    """A disabled account cannot log in: 422 account_disabled."""
    account = api.state.add_account(disabled=True)
    response = await api.client.get(
        "/login", headers=basic_auth(account.account_id, account.api_key)
    )
    assert response.status == 422
    assert_error(await response.json(), "account_disabled")


async def test_token_expiry_and_lifetime(api: Api) -> None:
    """Tokens die after their lifetime (clock), on expire_tokens, and lifetime is settable."""
    api.clock.advance(3599)
    await api.call("GET", "/devices")
    api.clock.advance(1)
    body = await api.call("GET", "/devices", expect=403)
    assert set(body) == {"message"}

    await api.login()
    await api.client.post("/_emulator/expire_tokens")
    await api.call("GET", "/devices", expect=403)

    await api.client.post("/_emulator/token_lifetime", json={"seconds": 5})
    response = await api.client.get(
        "/login", headers=basic_auth(api.demo["account_id"], api.demo["api_key"])
    )
    assert (await response.json())["expires_in"] == 5


async def test_api_versions(api: Api) -> None:
    """Older than the account default -> 422 api_version_not_supported; responses echo it."""
    account = api.state.add_account(api_version="2025-09-14.anode")
    location = api.state.add_location(account.account_id)
    await api.login(account.account_id, account.api_key)

    old = {"Flatpeak-Version": "2024-08-24"}
    body = await api.call("GET", f"/locations/{location.id}", headers=old, expect=422)
    assert_error(body, "api_version_not_supported")

    response = await api.client.get(
        "/devices", headers={**api.headers, "Flatpeak-Version": "2025-09-14.anode"}
    )
    assert response.status == 200
    assert response.headers["flatpeak-version"] == "2025-09-14.anode"

    response = await api.client.get("/devices", headers=api.headers)
    assert response.status == 200
    assert response.headers["flatpeak-version"] == "2025-09-14.anode"  # the account default

    # The demo account has no default (the oldest): any version is fine.
    await api.login()
    await api.call("GET", "/devices", headers=old)


# --- devices ------------------------------------------------------------------------------


async def test_device_crud(api: Api) -> None:
    """Create (201), get, look up by reference_id, patch, delete (202), then 404."""
    created = await api.call(
        "POST",
        "/devices",
        {"reference_id": "ha-house", "type": "HOUSE", "locations": [api.location_id]},
        expect=201,
    )
    device_id = created["id"]
    assert device_id.startswith("dev_")
    assert len(device_id) == 28
    assert created["object"] == "device"
    assert created["last_seen"] is None
    assert created["account_id"] == api.demo["account_id"]
    assert created["locations"] == [api.location_id]
    assert created["time_created"].endswith("Z")

    assert await api.call("GET", f"/devices/{device_id}") == created
    found = await api.call("GET", "/devices", params={"reference_id": "ha-house"})
    assert [d["id"] for d in found["data"]] == [device_id]
    none = await api.call("GET", "/devices", params={"reference_id": "other"})
    assert none["data"] == []

    patched = await api.call("PATCH", f"/devices/{device_id}", {"reference_id": "ha-house-2"})
    assert patched["reference_id"] == "ha-house-2"
    assert patched["type"] == "HOUSE"

    assert await api.call("DELETE", f"/devices/{device_id}", expect=202) == {"message": "Accepted"}
    assert_error(await api.call("GET", f"/devices/{device_id}", expect=404), "resource_not_found")


async def test_device_validation(api: Api) -> None:
    """Missing reference_id, a bad type, an unknown location, bad JSON -> 4xx naming it."""
    body = await api.call("POST", "/devices", {"type": "EV_CHARGER"}, expect=400)
    assert_error(body, "parameter_missing")
    assert "reference_id" in body["message"]
    body = await api.call("POST", "/devices", {"reference_id": "x", "type": "TOASTER"}, expect=400)
    assert_error(body, "parameter_invalid")
    assert "type" in body["message"]
    body = await api.call(
        "POST", "/devices", {"reference_id": "x", "locations": ["loc_" + "0" * 24]}, expect=404
    )
    assert_error(body, "resource_not_found")
    response = await api.client.post("/devices", data="{nope", headers=api.headers)
    assert response.status == 400
    assert_error(await response.json(), "invalid_json")


async def test_devices_are_scoped_to_the_account(api: Api) -> None:
    """Another account's device is invisible (404) and not listed."""
    other = api.state.add_account()
    device = api.state.add_device(other.account_id, "theirs")
    await api.call("GET", f"/devices/{device.id}", expect=404)
    assert (await api.call("GET", "/devices"))["data"] == []


async def test_device_list_pagination(api: Api) -> None:
    """Newest first; limit; starting_after / ending_before cursors; has_more."""
    ids = [
        (await api.call("POST", "/devices", {"reference_id": f"d{n}"}, expect=201))["id"]
        for n in range(5)
    ]
    newest_first = ids[::-1]
    page = await api.call("GET", "/devices", params={"limit": "2"})
    assert page["object"] == "list"
    assert page["url"] == "/devices"
    assert [d["id"] for d in page["data"]] == newest_first[:2]
    assert page["has_more"] is True

    page = await api.call(
        "GET", "/devices", params={"limit": "2", "starting_after": newest_first[1]}
    )
    assert [d["id"] for d in page["data"]] == newest_first[2:4]
    assert page["has_more"] is True
    page = await api.call(
        "GET", "/devices", params={"limit": "2", "starting_after": newest_first[3]}
    )
    assert [d["id"] for d in page["data"]] == newest_first[4:]
    assert page["has_more"] is False

    page = await api.call(
        "GET", "/devices", params={"limit": "2", "ending_before": newest_first[4]}
    )
    assert [d["id"] for d in page["data"]] == newest_first[2:4]
    assert page["has_more"] is True

    full = await api.call("GET", "/devices")
    assert len(full["data"]) == 5
    assert full["has_more"] is False
    for bad in ("0", "101", "x"):
        body = await api.call("GET", "/devices", params={"limit": bad}, expect=400)
        assert "limit" in body["message"]


# --- locations and tariffs ----------------------------------------------------------------


async def test_locations(api: Api) -> None:
    """FR -> Europe/Paris/EUR; duplicate reference_id -> 409; list and get."""
    created = await api.call(
        "POST",
        "/locations",
        {
            "reference_id": "paris-flat",
            "postal_address": {
                "address_line1": "1 Rue de Rivoli",
                "city": "Paris",
                "post_code": "75001",
                "country_code": "FR",
            },
        },
        expect=201,
    )
    assert created["id"].startswith("loc_")
    assert created["timezone"] == "Europe/Paris"
    assert created["currency_code"] == "EUR"
    assert created["postal_address"]["country_code"] == "FR"
    assert set(created["tariff_status"].values()) == {"NOT_CONNECTED"}

    body = await api.call(
        "POST",
        "/locations",
        {"reference_id": "paris-flat", "postal_address": {"country_code": "FR"}},
        expect=409,
    )
    assert_error(body, "resource_already_exists")

    assert await api.call("GET", f"/locations/{created['id']}") == created
    listed = await api.call("GET", "/locations")
    assert [loc["id"] for loc in listed["data"]] == [created["id"], api.location_id]

    demo = await api.call("GET", f"/locations/{api.location_id}")
    assert demo["timezone"] == "Europe/London"
    assert demo["currency_code"] == "GBP"
    assert demo["tariff_status"] == {
        "commodity_import": "CONNECTED",
        "commodity_export": "CONNECTED",
        "non_commodity_import": "NOT_CONNECTED",
        "non_commodity_export": "NOT_CONNECTED",
        "local": "CONNECTED",
    }

    body = await api.call("POST", "/locations", {"postal_address": {"city": "X"}}, expect=400)
    assert "postal_address.country_code" in body["message"]
    body = await api.call(
        "POST", "/locations", {"postal_address": {"country_code": "ZZ"}}, expect=400
    )
    assert "country_code" in body["message"]
    await api.call("GET", "/locations/loc_" + "0" * 24, expect=404)


@pytest.mark.parametrize(
    ("country", "timezone"),
    [
        ("IE", "Europe/Dublin"),
        ("DE", "Europe/Berlin"),
        ("NL", "Europe/Amsterdam"),
        ("ES", "Europe/Madrid"),
        ("IT", "Europe/Rome"),
        ("BE", "Europe/Brussels"),
        ("AT", "Europe/Vienna"),
        ("PT", "Europe/Lisbon"),
        ("FI", "Europe/Helsinki"),
    ],
)
def test_euro_countries(country: str, timezone: str) -> None:
    """Euro-area locations get their own zone and EUR."""
    state = EmulatorState()
    account = state.add_account()
    location = state.add_location(account.account_id, country)
    assert (location.timezone, location.currency_code) == (timezone, "EUR")


async def test_tariff_element(api: Api) -> None:
    """POST /tariffs/elements attaches rates; a bad schedule is a 400 naming the field."""
    location = api.state.add_location(api.demo["account_id"])
    schedule = [
        {
            "months": ["All"],
            "days_and_hours": [
                {
                    "days": ["All"],
                    "hours": [
                        {"valid_from": "00:00:00", "valid_to": "00:00:00", "rate": [{"fixed": 0.3}]}
                    ],
                }
            ],
        }
    ]
    element = await api.call(
        "POST",
        "/tariffs/elements",
        {
            "location_id": location.id,
            "direction": "IMPORT",
            "type": "COMMODITY",
            "schedule": schedule,
        },
        expect=201,
    )
    assert element["id"].startswith("trf_")
    loc = await api.call("GET", f"/locations/{location.id}")
    assert loc["tariff_status"]["commodity_import"] == "CONNECTED"
    assert loc["tariff_elements"] == [element["id"]]

    bad = [{"months": ["All"], "days_and_hours": [{"days": ["Someday"], "hours": []}]}]
    body = await api.call(
        "POST",
        "/tariffs/elements",
        {"location_id": location.id, "direction": "IMPORT", "schedule": bad},
        expect=400,
    )
    assert_error(body, "invalid_schedule")
    assert "schedule[0].days_and_hours[0].days[0]" in body["message"]
    body = await api.call(
        "POST",
        "/tariffs/elements",
        {"location_id": location.id, "direction": "SIDEWAYS", "schedule": schedule},
        expect=400,
    )
    assert "direction" in body["message"]


# --- meters -------------------------------------------------------------------------------


async def test_batch_with_failed_records(api: Api) -> None:
    """Invalid records go to failed_records (0-based record_num); the rest are stored."""
    loc = api.location_id
    records = [
        record(loc, record_reference_id="ok-1"),
        record(loc, record_reference_id="backwards", end_time="2025-08-01T09:00:00Z"),
        {k: v for k, v in record(loc).items() if k != "units"},
        record(loc, units="MWH"),
        record(loc, value=-1),
        record("loc_" + "0" * 24),
        record(loc, device_id="dev_" + "0" * 24),
        record(loc, start_time="yesterday"),
        record(loc, tariff_direction="UP"),
        record(loc, record_reference_id="ok-2", units="W", value=2000),
    ]
    batch = await api.call("PUT", "/meters/interval", records)
    assert batch["id"].startswith("bat_")
    assert batch["object"] == "meter_batch"
    assert batch["records_submitted"] == 10
    assert batch["records_accepted"] == 2
    assert batch["records_processed"] == 2
    assert batch["account_id"] == api.demo["account_id"]
    failed = {f["record_num"]: f for f in batch["failed_records"]}
    assert sorted(failed) == [1, 2, 3, 4, 5, 6, 7, 8]
    assert failed[1] == {
        "record_num": 1,
        "record_reference_id": "backwards",
        "error": "end_time must not be before start_time",
    }
    for num, word in {
        2: "units",
        3: "units",
        4: "value",
        5: "location_id",
        6: "device_id",
        7: "start_time",
        8: "tariff_direction",
    }.items():
        assert word in failed[num]["error"], failed[num]

    stored = api.state.records(location_id=loc)
    assert [(r["record_reference_id"], r["energy_wh"]) for r in stored] == [
        ("ok-1", 1000.0),
        ("ok-2", 1000.0),  # 2000 W for 30 minutes
    ]
    again = await api.call("GET", "/meters/batch", params={"batch_id": batch["id"]})
    assert again == batch
    await api.call("GET", "/meters/batch", params={"batch_id": "bat_" + "0" * 24}, expect=404)


async def test_batch_limits(api: Api) -> None:
    """More than 10,000 records -> 400 too_many_records; a non-array body -> 400."""
    records = [record(api.location_id)] * 10_001
    body = await api.call("PUT", "/meters/interval", records, expect=400)
    assert_error(body, "too_many_records")
    assert api.state.records() == []
    body = await api.call("PUT", "/meters/interval", record(api.location_id), expect=400)
    assert_error(body, "invalid_body")
    batch = await api.call("PUT", "/meters/interval", [record(api.location_id)] * 10_000)
    assert batch["records_accepted"] == 10_000


async def test_resubmission_replaces_by_record_reference_id(api: Api) -> None:
    """Same record_reference_id for the same device: stored once, the second value wins."""
    device = api.state.add_device(api.demo["account_id"], "ev", locations=[api.location_id])
    first = record(api.location_id, device_id=device.id, record_reference_id="r1", value=1000)
    second = {**first, "value": 1500}
    await api.call("PUT", "/meters/interval", [first])
    await api.call("PUT", "/meters/interval", [second])
    stored = api.state.records(device_id=device.id)
    assert len(stored) == 1
    assert stored[0]["energy_wh"] == 1500.0
    # Records without a reference id are simply added.
    plain = record(api.location_id, device_id=device.id)
    await api.call("PUT", "/meters/interval", [plain, plain])
    assert len(api.state.records(device_id=device.id)) == 3


async def test_resubmission_replaces_across_devices_and_locations(api: Api) -> None:
    """Reference ids are scoped to the account: another device's or location's record with
    the same id replaces the first one (it moves); another account's does not."""
    account_id = api.demo["account_id"]
    second_home = api.state.add_location(account_id, address_line1="2 Other Street")
    ev = api.state.add_device(account_id, "ev", locations=[api.location_id])
    pv = api.state.add_device(account_id, "pv", locations=[second_home.id])
    first = record(api.location_id, device_id=ev.id, record_reference_id="shared", value=1000)
    await api.call("PUT", "/meters/interval", [first])
    moved = record(second_home.id, device_id=pv.id, record_reference_id="shared", value=300)
    await api.call("PUT", "/meters/interval", [moved])
    (stored,) = api.state.records(account_id=account_id)
    assert (stored["device_id"], stored["location_id"]) == (pv.id, second_home.id)
    assert stored["energy_wh"] == 300.0
    assert api.state.records(device_id=ev.id) == []
    # Without a device, on the first location again: still the same record.
    await api.call(
        "PUT", "/meters/interval", [record(api.location_id, record_reference_id="shared")]
    )
    assert len(api.state.records(account_id=account_id)) == 1

    # Cumulative readings share the same index: an explicit id replaces the interval record.
    base = int(datetime(2025, 8, 1, 10, 0, tzinfo=UTC).timestamp())
    cumulative = {
        "location_id": second_home.id,
        "device_id": pv.id,
        "units": "WH",
        "data": [
            {"time": base, "value": 0},
            {"time": base + 300, "value": 50, "record_reference_id": "shared"},
        ],
    }
    await api.call("PUT", "/meters/cumulative/epoch", cumulative)
    (stored,) = api.state.records(account_id=account_id)
    assert (stored["device_id"], stored["energy_wh"]) == (pv.id, 50.0)

    # Another account may use the same id.
    other = api.state.add_account()
    other_home = api.state.add_location(other.account_id)
    await api.login(other.account_id, other.api_key)
    await api.call("PUT", "/meters/interval", [record(other_home.id, record_reference_id="shared")])
    assert len(api.state.records(account_id=account_id)) == 1
    assert len(api.state.records(account_id=other.account_id)) == 1


async def test_cumulative_derived_ids_are_per_device(api: Api) -> None:
    """Readings without reference ids: resubmission replaces, two devices never collide."""
    account_id = api.demo["account_id"]
    devices = [
        api.state.add_device(account_id, name, locations=[api.location_id])
        for name in ("ev-1", "ev-2")
    ]
    base = int(datetime(2025, 8, 1, 10, 0, tzinfo=UTC).timestamp())
    for device in (*devices, devices[0]):
        body = {
            "location_id": api.location_id,
            "device_id": device.id,
            "units": "KWH",
            "data": [{"time": base, "value": 5}, {"time": base + 300, "value": 5.5}],
        }
        await api.call("PUT", "/meters/cumulative/epoch", body)
    for device in devices:
        (stored,) = api.state.records(device_id=device.id)
        assert stored["record_reference_id"] == f"cum_{device.id}_{base}_{base + 300}"
        assert stored["energy_wh"] == 500.0


@pytest.mark.parametrize("path", ["/meters/interval", "/meters/cumulative/epoch"])
async def test_non_persistent_is_ignored_on_meter_uploads(api: Api, path: str) -> None:
    """Flatpeak documents no non_persistent flag for meter uploads: the records are stored."""
    if path == "/meters/interval":
        body: Any = [record(api.location_id, record_reference_id="a"), record(api.location_id)]
    else:
        base = int(datetime(2025, 8, 1, 10, 0, tzinfo=UTC).timestamp())
        body = {
            "location_id": api.location_id,
            "units": "WH",
            "data": [{"time": base, "value": 0}, {"time": base + 300, "value": 9}],
        }
    for flag in ("true", "1"):
        await api.call("PUT", path, body, params={"non_persistent": flag})
    stored = api.state.records()
    assert len(stored) == (3 if path == "/meters/interval" else 1)  # "a" was replaced


async def test_cumulative_readings(api: Api) -> None:
    """Readings are differenced; the first is a baseline; a decrease is a failed record."""
    base = int(datetime(2025, 8, 1, 10, 0, tzinfo=UTC).timestamp())
    body = {
        "location_id": api.location_id,
        "units": "KWH",
        "data": [
            {"time": base, "value": 100.0},
            {"time": base + 1800, "value": 101.5, "record_reference_id": "c1"},
            {"time": base + 3600, "value": 90.0},
            {"time": base + 5400, "value": 90.25},
        ],
    }
    batch = await api.call("PUT", "/meters/cumulative/epoch", body)
    assert batch["records_submitted"] == 4
    assert batch["records_accepted"] == 2
    assert [f["record_num"] for f in batch["failed_records"]] == [2]
    assert "decreased" in batch["failed_records"][0]["error"]
    stored = api.state.records(location_id=api.location_id)
    assert [(r["record_reference_id"], r["energy_wh"]) for r in stored] == [
        ("c1", 1500.0),
        (f"cum_{api.location_id}_{base + 3600}_{base + 5400}", 250.0),
    ]
    assert stored[0]["start_time"] == "2025-08-01T10:00:00Z"
    assert stored[0]["end_time"] == "2025-08-01T10:30:00Z"
    # Resubmitting the same readings replaces instead of adding.
    await api.call("PUT", "/meters/cumulative/epoch", body)
    assert len(api.state.records(location_id=api.location_id)) == 2

    bad = await api.call("PUT", "/meters/cumulative/epoch", {**body, "units": "W"}, expect=400)
    assert "units" in bad["message"]


# --- costs --------------------------------------------------------------------------------


async def test_interval_costs_by_location_and_device(api: Api) -> None:
    """Per-record rows with references; the location report includes all its devices."""
    device = api.state.add_device(api.demo["account_id"], "ev", locations=[api.location_id])
    records = [
        # Friday 15:30-16:30 BST across the 16:00 peak: 10283.5 Wh at 0.245 then 0.35.
        record(
            api.location_id,
            device_id=device.id,
            units="W",
            value=20567,
            start_time="2025-08-01T15:30:00+01:00",
            end_time="2025-08-01T16:30:00+01:00",
            record_reference_id="peak",
            session_reference_id="s1",
        ),
        # House meter, no device: 02:00-03:00 BST off-peak, 2 kWh.
        record(
            api.location_id,
            units="KWH",
            value=2,
            start_time="2025-08-01T01:00:00Z",
            end_time="2025-08-01T02:00:00Z",
            record_reference_id="night",
        ),
        # An export record: not in the IMPORT report.
        record(api.location_id, tariff_direction="EXPORT", energy_flow_direction="OUTBOUND"),
    ]
    await api.call("PUT", "/meters/interval", records)
    window = {"start_time": "2025-08-01T00:00:00Z", "end_time": "2025-08-02T00:00:00Z"}

    report = await api.call(
        "POST", f"/costs/interval/{api.location_id}", window, params={"tariff_direction": "IMPORT"}
    )
    assert report["object"] == "energy_cost"
    assert report["id"].startswith("ecs_")
    assert report["object_id"] == api.location_id
    assert report["location_timezone"] == "Europe/London"
    assert report["currency_code"] == "GBP"
    assert report["energy_units"] == "WH"
    assert report["tariff_direction"] == "IMPORT"
    assert report["data"] == [
        {
            "start_time": "2025-08-01T01:00:00Z",
            "end_time": "2025-08-01T02:00:00Z",
            "energy": {"value": 2000},
            "cost": {"value": 0.14, "confidence": 1},
            "record_reference_id": "night",
        },
        {
            "start_time": "2025-08-01T14:30:00Z",
            "end_time": "2025-08-01T15:30:00Z",
            "energy": {"value": 20567},
            "cost": {"value": pytest.approx(6.1186825, abs=1e-6), "confidence": 1},
            "session_reference_id": "s1",
            "record_reference_id": "peak",
        },
    ]

    by_device = await api.call("POST", f"/costs/interval/{device.id}", window)
    assert [row["record_reference_id"] for row in by_device["data"]] == ["peak"]

    export = await api.call(
        "POST", f"/costs/interval/{api.location_id}", window, params={"tariff_direction": "EXPORT"}
    )
    assert [(r["energy"]["value"], r["cost"]["value"]) for r in export["data"]] == [(1000, 0.15)]

    daily = await api.call(
        "POST", f"/costs/interval/{api.location_id}", window, params={"aggregation": "DAY"}
    )
    # The UTC window covers the end of Friday (local) and the first hour of Saturday.
    assert [row["energy"]["value"] for row in daily["data"]] == [22567, 0]
    assert daily["data"][0]["cost"]["value"] == pytest.approx(0.14 + 6.1186825, abs=1e-6)
    assert daily["data"][0]["end_time"] == "2025-08-01T23:00:00Z"

    # Only the part of a record inside the window counts.
    half = await api.call(
        "POST",
        f"/costs/interval/{device.id}",
        {"start_time": "2025-08-01T15:00:00Z", "end_time": "2025-08-01T16:00:00Z"},
    )
    assert half["data"][0]["energy"]["value"] == 10284  # 10283.5 rounded half up
    assert half["data"][0]["cost"]["value"] == pytest.approx(10.2835 * 0.35, abs=1e-6)

    body = await api.call(
        "POST", f"/costs/interval/{api.location_id}", {"start_time": "x"}, expect=400
    )
    assert "start_time" in body["message"]
    body = await api.call(
        "POST",
        f"/costs/interval/{api.location_id}",
        window,
        params={"tariff_direction": "UP"},
        expect=400,
    )
    assert "tariff_direction" in body["message"]
    await api.call("POST", "/costs/interval/loc_" + "0" * 24, window, expect=404)


async def test_session_costs(api: Api) -> None:
    """All records of one session_reference_id, one row each; unknown session -> 404."""
    records = [
        record(
            api.location_id,
            session_reference_id="charge-1",
            record_reference_id=f"r{n}",
            start_time=f"2025-08-02T0{n}:00:00Z",
            end_time=f"2025-08-02T0{n + 1}:00:00Z",
            value=3000,
        )
        for n in range(3)
    ]
    records.append(record(api.location_id, session_reference_id="charge-2"))
    await api.call("PUT", "/meters/interval", records)
    report = await api.call(
        "POST", "/costs/session/charge-1", params={"tariff_direction": "IMPORT"}
    )
    assert report["object_id"] == "charge-1"
    # Saturday BST: 01:00-02:00 and 02:00-03:00 local off-peak, 03:00-04:00 off-peak too.
    assert [row["record_reference_id"] for row in report["data"]] == ["r0", "r1", "r2"]
    assert [row["session_reference_id"] for row in report["data"]] == ["charge-1"] * 3
    assert [row["cost"]["value"] for row in report["data"]] == pytest.approx([0.21, 0.21, 0.21])
    body = await api.call("POST", "/costs/session/nope", expect=404)
    assert_error(body, "resource_not_found")


async def test_report_lag(api: Api) -> None:
    """With a report lag, records are in cost reports only that long after they were stored
    (a replaced one from its replacement): left out (a session with none in: 404), or
    listed without an amount; aggregated reports leave them out either way."""
    response = await api.client.post("/_emulator/report_lag", json={"seconds": 600})
    assert response.status == 200
    first = record(api.location_id, session_reference_id="charge-1", record_reference_id="r0")
    second = {
        **first,
        "record_reference_id": "r1",
        "start_time": "2025-08-01T10:30:00Z",
        "end_time": "2025-08-01T11:00:00Z",
    }
    await api.call("PUT", "/meters/interval", [first])
    body = await api.call("POST", "/costs/session/charge-1", expect=404)
    assert_error(body, "resource_not_found")
    api.clock.advance(600)
    await api.call("PUT", "/meters/interval", [second])
    report = await api.call("POST", "/costs/session/charge-1")
    assert [row["record_reference_id"] for row in report["data"]] == ["r0"]
    window = {"start_time": "2025-08-01T00:00:00Z", "end_time": "2025-08-02T00:00:00Z"}
    report = await api.call("POST", f"/costs/interval/{api.location_id}", window)
    assert [row["record_reference_id"] for row in report["data"]] == ["r0"]

    response = await api.client.post(
        "/_emulator/report_lag", json={"seconds": 600, "unpriced": True}
    )
    assert response.status == 200
    await api.call("PUT", "/meters/interval", [{**first, "value": 2000}])  # replaced: lags
    report = await api.call("POST", "/costs/session/charge-1")
    assert [row["cost"]["value"] for row in report["data"]] == [None, None]
    assert [row["energy"]["value"] for row in report["data"]] == [2000, 1000]
    report = await api.call(
        "POST", f"/costs/interval/{api.location_id}", window, params={"aggregation": "DAY"}
    )
    assert sum(row["energy"]["value"] for row in report["data"]) == 0
    api.clock.advance(600)
    report = await api.call("POST", "/costs/session/charge-1")
    assert [row["cost"]["value"] for row in report["data"]] == pytest.approx([0.49, 0.245])
    response = await api.client.post("/_emulator/report_lag", json={"seconds": -1})
    assert response.status == 400


async def test_instant_cost(api: Api) -> None:
    """One record in, its cost out; stored unless non_persistent."""
    one = record(
        api.location_id,
        units="KW",
        value=7,
        start_time="2025-08-04T16:00:00+01:00",  # Monday peak
        end_time="2025-08-04T16:30:00+01:00",
        record_reference_id="inst",
    )
    result = await api.call("POST", "/costs/instant", one, params={"non_persistent": "true"})
    assert result["object"] == "meter_record"
    assert result["id"].startswith("mre_")
    assert result["currency_code"] == "GBP"
    assert result["data"]["energy"] == {"value": 3500}
    assert result["data"]["cost"] == {"value": pytest.approx(1.225), "confidence": 1}
    assert api.state.records() == []
    await api.call("POST", "/costs/instant", one)
    assert [r["record_reference_id"] for r in api.state.records()] == ["inst"]
    body = await api.call("POST", "/costs/instant", {**one, "units": "J"}, expect=400)
    assert "units" in body["message"]


async def test_no_tariff_connected(api: Api) -> None:
    """Price-dependent calls for a location without an IMPORT COMMODITY element -> 422."""
    location = api.state.add_location(api.demo["account_id"])
    window = {"start_time": "2025-08-01T00:00:00Z", "end_time": "2025-08-02T00:00:00Z"}
    for path in (f"/costs/interval/{location.id}", f"/prices/{location.id}"):
        assert_error(await api.call("POST", path, window, expect=422), "no_tariff_connected")
    body = await api.call("POST", "/costs/instant", record(location.id), expect=422)
    assert_error(body, "no_tariff_connected")


async def test_pending_connect_window(api: Api) -> None:
    """During a pending-connect window price calls answer 422 pending_connect, then work."""
    response = await api.client.post(
        "/_emulator/pending_connect", json={"location_id": api.location_id, "seconds": 60}
    )
    assert response.status == 200
    window = {"start_time": "2025-08-01T00:00:00Z", "end_time": "2025-08-02T00:00:00Z"}
    body = await api.call("POST", f"/prices/{api.location_id}", window, expect=422)
    assert_error(body, "pending_connect")
    body = await api.call("POST", f"/costs/interval/{api.location_id}", window, expect=422)
    assert_error(body, "pending_connect")
    api.clock.advance(60)
    await api.call("POST", f"/prices/{api.location_id}", window)


async def test_prices(api: Api) -> None:
    """One entry per constant-rate stretch; export is flat; > 90 days -> 400."""
    saturday = {"start_time": "2025-08-02T00:00:00+01:00", "end_time": "2025-08-03T00:00:00+01:00"}
    body = await api.call("POST", f"/prices/{api.location_id}", saturday)
    assert body["object"] == "price"
    assert body["currency_code"] == "GBP"
    assert body["location_timezone"] == "Europe/London"
    assert body["next_update"].endswith("Z")
    assert [(p["valid_from"], p["price"]["value"]) for p in body["data"]] == [
        ("2025-08-01T23:00:00Z", 0.245),
        ("2025-08-01T23:30:00Z", 0.07),
        ("2025-08-02T03:30:00Z", 0.245),
    ]
    assert body["data"][-1]["valid_to"] == "2025-08-02T23:00:00Z"
    assert {p["price"]["confidence"] for p in body["data"]} == {1}

    export = await api.call(
        "POST", f"/prices/{api.location_id}", {**saturday, "tariff_direction": "EXPORT"}
    )
    assert [p["price"]["value"] for p in export["data"]] == [0.15]
    local = await api.call(
        "POST", f"/prices/{api.location_id}", {**saturday, "tariff_direction": "LOCAL"}
    )
    assert [p["price"]["value"] for p in local["data"]] == [0.05]

    # Without start_time the window starts now (the injected clock).
    body = await api.call(
        "POST", f"/prices/{api.location_id}", {"end_time": "2025-08-01T13:00:00Z"}
    )
    assert body["data"][0]["valid_from"] == "2025-08-01T12:00:00Z"

    too_long = {"start_time": "2025-01-01T00:00:00Z", "end_time": "2025-04-02T00:00:00Z"}
    body = await api.call("POST", f"/prices/{api.location_id}", too_long, expect=400)
    assert_error(body, "window_too_long")


# --- fault injection, latency, request log ------------------------------------------------


async def test_fault_injection_503_twice_then_ok(api: Api) -> None:
    """The next two matching calls fail with 503, the third is served."""
    response = await api.client.post(
        "/_emulator/faults",
        json={"path": "/meters/interval", "method": "PUT", "status": 503, "count": 2},
    )
    assert response.status == 201
    batch = [record(api.location_id)]
    for _ in range(2):
        body = await api.call("PUT", "/meters/interval", batch, expect=503)
        assert_error(body, "service_unavailable", status_type="api_error")
    await api.call("GET", "/devices")  # other paths are unaffected
    await api.call("PUT", "/meters/interval", batch)
    assert len(api.state.records()) == 1


async def test_fault_injection_429_with_retry_after(api: Api) -> None:
    """429 answers with Retry-After and a rate_limit error object; prefixes match."""
    api.state.fail_next("/costs/*", 429, retry_after=30)
    window = {"start_time": "2025-08-01T00:00:00Z", "end_time": "2025-08-02T00:00:00Z"}
    response = await api.client.post(
        f"/costs/interval/{api.location_id}", json=window, headers=api.headers
    )
    assert response.status == 429
    assert response.headers["Retry-After"] == "30"
    assert_error(await response.json(), "rate_limit_exceeded", status_type="rate_limit")
    await api.call("POST", f"/costs/interval/{api.location_id}", window)


async def test_fault_with_custom_body(api: Api) -> None:
    """A fault can answer any JSON body."""
    await api.client.post(
        "/_emulator/faults", json={"path": "/devices", "status": 500, "body": {"message": "boom"}}
    )
    assert await api.call("GET", "/devices", expect=500) == {"message": "boom"}
    faults = await (await api.client.get("/_emulator/faults")).json()
    assert faults == {"data": []}


async def test_fault_with_success_body_text_and_headers(api: Api) -> None:
    """A fault can answer 200 with any JSON (an array too), a raw text and extra headers."""
    for fault in (
        {"path": "/meters/interval", "status": 200, "body": {}},
        {"path": "/devices", "status": 200, "body": ["not", "an", "object"]},
        {
            "path": "/locations",
            "status": 200,
            "text": "<html>maintenance</html>",
            "headers": {"Content-Type": "text/html; charset=bogus", "X-Test": "1"},
        },
    ):
        response = await api.client.post("/_emulator/faults", json=fault)
        assert response.status == 201, await response.text()
    assert await api.call("PUT", "/meters/interval", [record(api.location_id)]) == {}
    assert api.state.records() == []  # the fault answered instead of the endpoint
    assert await api.call("GET", "/devices") == ["not", "an", "object"]
    response = await api.client.get("/locations", headers=api.headers)
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/html; charset=bogus"
    assert response.headers["X-Test"] == "1"
    assert await response.read() == b"<html>maintenance</html>"
    for bad in ({"text": 5}, {"headers": {"X": 1}}, {"reflect_headers": "json"}):
        response = await api.client.post(
            "/_emulator/faults", json={"path": "/devices", "status": 500, **bad}
        )
        assert response.status == 400


async def test_fault_reflecting_headers(api: Api) -> None:
    """A careless server: the error repeats the request's headers and decoded credentials."""
    token = api.headers["Authorization"].removeprefix("Bearer ")
    api.state.fail_next("/devices", 400, reflect_headers="message")
    body = await api.call("GET", "/devices", expect=400)
    assert f"Authorization: Bearer {token}" in body["message"]
    assert f"token {token}" in body["message"]
    api.state.fail_next("/login", 403, reflect_headers="text")
    response = await api.client.get(
        "/login", headers=basic_auth(api.demo["account_id"], api.demo["api_key"])
    )
    assert response.status == 403
    text = await response.text()
    assert f"credentials {api.demo['account_id']}:{api.demo['api_key']}" in text
    assert "Authorization: Basic " in text
    response = await api.client.post(
        "/_emulator/faults",
        json={"path": "/devices", "status": 500, "reflect_headers": "message"},
    )
    assert (await response.json())["reflect_headers"] == "message"
    with pytest.raises(ValueError, match="reflect_headers"):
        api.state.fail_next("/devices", 500, reflect_headers="json")


async def test_fault_dropping_the_connection(api: Api) -> None:
    """A connection reset: no answer at all, nothing stored; with ``processed`` the records
    are stored and only the answer is lost."""
    batch = [record(api.location_id, record_reference_id="r1")]
    api.state.drop_next("/meters/interval", method="PUT")
    with pytest.raises(aiohttp.ClientConnectionError):
        await api.client.put("/meters/interval", json=batch, headers=api.headers)
    assert api.state.records() == []
    api.state.drop_next("/meters/interval", processed=True)
    with pytest.raises(aiohttp.ClientConnectionError):
        await api.client.put("/meters/interval", json=batch, headers=api.headers)
    assert len(api.state.records()) == 1
    await api.call("PUT", "/meters/interval", batch)  # sent again: replaced, not added
    assert len(api.state.records()) == 1
    assert api.state.faults == []


async def test_fault_hanging_until_the_client_gives_up(api: Api) -> None:
    """A hang waits on the state's ``sleep`` (real time by default) before the fault answers
    or disconnects: a client with a shorter timeout sees a timeout."""
    api.state.drop_next("/devices", hang=0.5)
    with pytest.raises(TimeoutError):
        await api.client.get(
            "/devices", headers=api.headers, timeout=aiohttp.ClientTimeout(total=0.05)
        )
    waited: list[float] = []

    async def moved(seconds: float) -> None:  # a harness with a frozen clock moves it here
        waited.append(seconds)

    api.state.sleep = moved
    api.state.fail_next("/devices", 503, hang=40)
    await api.call("GET", "/devices", expect=503)
    assert waited == [40]
    with pytest.raises(ValueError, match="hang"):
        api.state.drop_next("/devices", hang=-1)


async def test_fault_answer_replaced_after_processing(api: Api) -> None:
    """``processed``: the endpoint stores the records, then a malformed 200 answers."""
    api.state.fail_next("/meters/interval", 200, text='{"object": "meter_ba', processed=True)
    response = await api.client.put(
        "/meters/interval", json=[record(api.location_id)], headers=api.headers
    )
    assert response.status == 200
    assert await response.text() == '{"object": "meter_ba'
    assert len(api.state.records()) == 1


async def test_fault_control_disconnect_hang_processed(api: Api) -> None:
    """The control endpoint arms drops (no status needed) and hangs; bad values are 400."""
    response = await api.client.post(
        "/_emulator/faults",
        json={"path": "/devices", "disconnect": True, "hang": 1, "processed": True, "count": 2},
    )
    assert response.status == 201
    fault = await response.json()
    assert (fault["disconnect"], fault["hang"], fault["processed"], fault["count"]) == (
        True,
        1.0,
        True,
        2,
    )
    response = await api.client.post(
        "/_emulator/faults", json={"path": "/locations", "status": 502, "hang": 0.5}
    )
    assert (await response.json())["hang"] == 0.5
    for bad in (
        {"disconnect": "yes"},
        {"hang": -1},
        {"processed": 1},
        {"disconnect": True, "count": 0},
    ):
        response = await api.client.post("/_emulator/faults", json={"path": "/devices", **bad})
        assert response.status == 400, bad
    await api.client.delete("/_emulator/faults")


async def test_latency(api: Api) -> None:
    """Latency is added to API calls (not to /_emulator calls)."""
    await api.client.post("/_emulator/latency", json={"seconds": 0.2})
    started = time.monotonic()
    await api.call("GET", "/devices")
    assert time.monotonic() - started >= 0.2
    await api.client.post("/_emulator/latency", json={"seconds": 0})


async def test_request_log(api: Api) -> None:
    """Every API request is logged in order, /_emulator calls are not."""
    await api.call("GET", "/devices")
    await api.call("GET", "/devices/dev_" + "0" * 24, expect=404)
    response = await api.client.get("/_emulator/requests")
    logged = (await response.json())["data"]
    assert logged == [
        {"method": "GET", "path": "/login"},
        {"method": "GET", "path": "/devices"},
        {"method": "GET", "path": "/devices/dev_" + "0" * 24},
    ]
    assert api.state.request_log[-1] == ("GET", "/devices/dev_" + "0" * 24)


async def test_emulator_accounts_records_and_reset(api: Api) -> None:
    """Accounts can be created over HTTP; records inspected; reset drops everything."""
    response = await api.client.post(
        "/_emulator/accounts", json={"api_version": "2025-09-14.anode"}
    )
    assert response.status == 201
    account = await response.json()
    assert account["account_id"].startswith("acc_")
    assert account["api_key"].startswith("sk_test_")
    await api.login(account["account_id"], account["api_key"])

    await api.login()
    await api.call("PUT", "/meters/interval", [record(api.location_id, value=123.25)])
    response = await api.client.get("/_emulator/records", params={"location_id": api.location_id})
    (stored,) = (await response.json())["data"]
    assert stored["energy_wh"] == 123.25
    assert stored["location_id"] == api.location_id

    await api.client.post("/_emulator/reset")
    assert api.state.accounts == {}
    assert api.state.records() == []
    assert api.state.request_log == []
    await api.call("GET", "/devices", expect=403)


# --- Connect ------------------------------------------------------------------------------


async def test_connect_flow(api: Api) -> None:
    """Token -> hosted page -> choice -> 302 to callback with fp_cot -> exchange -> priced."""
    callback = "https://ha.example/auth/flatpeak/callback?flow_id=abc"
    token = await api.call("POST", "/connect/token", {"callback_url": callback})
    assert token["connect_token"].startswith("cot_")
    assert token["expires_in"] == 86400
    assert token["live_mode"] is False
    cot = token["connect_token"]

    early = await api.call(
        "GET", "/connect/tariff/token", params={"connect_token": cot}, expect=422
    )
    assert_error(early, "connect_not_completed")

    page = await api.client.get("/connect", params={"fp_cot": cot})
    assert page.status == 200
    html = await page.text()
    assert "Flat 24.5p" in html
    assert "Time of use (cheap nights)" in html
    assert cot in html

    response = await api.client.post(
        "/connect", data={"fp_cot": cot, "tariff": "flat"}, allow_redirects=False
    )
    assert response.status == 302
    location = urlsplit(response.headers["Location"])
    assert (
        f"{location.scheme}://{location.netloc}{location.path}"
        == callback.split("?", maxsplit=1)[0]
    )
    assert parse_qs(location.query) == {"flow_id": ["abc"], "fp_cot": [cot]}

    exchanged = await api.call("GET", "/connect/tariff/token", params={"connect_token": cot})
    assert exchanged["connect_token"] == cot
    assert exchanged["is_tariff_processed"] is True
    new_location = exchanged["location_id"]
    assert new_location != api.location_id

    loc = await api.call("GET", f"/locations/{new_location}")
    assert loc["tariff_status"]["commodity_import"] == "CONNECTED"
    assert loc["tariff_status"]["commodity_export"] == "CONNECTED"
    prices = await api.call("POST", f"/prices/{new_location}", {"end_time": "2025-08-01T18:00:00Z"})
    assert [p["price"]["value"] for p in prices["data"]] == [0.245]

    used = await api.client.get("/connect", params={"fp_cot": cot})
    assert used.status == 409
    assert (await api.client.get("/connect", params={"fp_cot": "cot_x"})).status == 404
    await api.call(
        "GET", "/connect/tariff/token", params={"connect_token": "cot_" + "0" * 24}, expect=404
    )


async def test_connect_to_existing_location_with_processing_delay(api: Api) -> None:
    """Connect for a known location; while processing the exchange says not processed."""
    location = api.state.add_location(api.demo["account_id"])
    await api.client.post("/_emulator/connect_delay", json={"seconds": 30})
    token = await api.call(
        "POST",
        "/connect/token",
        {"callback_url": "http://localhost/cb", "location_id": location.id},
    )
    cot = token["connect_token"]
    response = await api.client.post(
        "/connect", data={"fp_cot": cot, "tariff": "cheap_nights"}, allow_redirects=False
    )
    assert response.headers["Location"] == f"http://localhost/cb?fp_cot={cot}"
    exchanged = await api.call("GET", "/connect/tariff/token", params={"connect_token": cot})
    assert exchanged["location_id"] == location.id
    assert exchanged["is_tariff_processed"] is False
    window = {"end_time": "2025-08-01T13:00:00Z"}
    assert_error(
        await api.call("POST", f"/prices/{location.id}", window, expect=422), "pending_connect"
    )
    api.clock.advance(30)
    exchanged = await api.call("GET", "/connect/tariff/token", params={"connect_token": cot})
    assert exchanged["is_tariff_processed"] is True
    prices = await api.call("POST", f"/prices/{location.id}", window)
    assert [p["price"]["value"] for p in prices["data"]] == [0.27]

    body = await api.call("POST", "/connect/token", {"connect_url": "x"}, expect=400)
    assert "callback_url" in body["message"]


# --- the standalone process ---------------------------------------------------------------


async def test_python_m_tests_emulator_prints_its_url() -> None:
    """``python -m tests.emulator --port 0`` prints one JSON line; its credentials work."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.emulator",
        "--port",
        "0",
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), timeout=30)
        info = json.loads(line)
        assert set(info) == {"base_url", "account_id", "api_key", "location_id"}
        assert info["base_url"].startswith("http://127.0.0.1:")
        async with (
            aiohttp.ClientSession() as session,
            session.get(
                f"{info['base_url']}/login",
                headers=basic_auth(info["account_id"], info["api_key"]),
            ) as response,
        ):
            assert response.status == 200
            assert (await response.json())["bearer_token"]
    finally:
        process.kill()
        await process.wait()
