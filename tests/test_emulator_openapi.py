"""Emulator responses validated against the public OpenAPI spec (version 2024-08-24).

Only objects whose 2024 schemas still match the anode shapes are checked: login, device,
location, their list envelopes, meter_batch, the Connect token, tariff elements and 202
bodies. Energy-cost rows are not: the 2024 schema requires ``tariff`` where anode has ``cost``.
"""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
import copy
import json
from pathlib import Path
import re
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient
from jsonschema import Draft4Validator, FormatChecker, ValidationError
import pytest
from referencing import Registry
from referencing.jsonschema import DRAFT4

from tests.emulator import EmulatorState, create_app


def basic_auth(login: str, password: str) -> dict[str, str]:
    """An HTTP Basic Authorization header (aiohttp's BasicAuth is deprecated in newer releases)."""
    token = base64.b64encode(f"{login}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


# Flatpeak's own OpenAPI file (Apache-2.0), copied from shared/flatpeak so a clone is complete.
SPEC_PATH = Path(__file__).parent / "data" / "openapi-2024-08-24.json"
SPEC_URI = "urn:flatpeak:openapi-2024-08-24"
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")

pytestmark = pytest.mark.skipif(not SPEC_PATH.exists(), reason="OpenAPI spec not available")


def _nullable_to_json_schema(node: Any) -> None:
    """OpenAPI 3.0 ``nullable: true`` means JSON Schema ``type: [T, "null"]``."""
    if isinstance(node, dict):
        if node.get("nullable") is True and isinstance(node.get("type"), str):
            node["type"] = [node["type"], "null"]
        for value in node.values():
            _nullable_to_json_schema(value)
    elif isinstance(node, list):
        for value in node:
            _nullable_to_json_schema(value)


def _load_spec() -> dict[str, Any]:
    spec: dict[str, Any] = copy.deepcopy(json.loads(SPEC_PATH.read_text()))
    _nullable_to_json_schema(spec)
    # API.md documents a new device as "last_seen": null; the 2024 schema forgot nullable.
    spec["components"]["schemas"]["Device"]["properties"]["last_seen"]["type"] = ["string", "null"]
    return spec


def _is_rfc3339(value: object) -> bool:
    return not isinstance(value, str) or bool(RFC3339.match(value))


# jsonschema has no date-time checker without extra packages: check RFC 3339 ourselves.
FORMATS = FormatChecker()
FORMATS.checks("date-time")(_is_rfc3339)


@pytest.fixture(scope="module")
def validate() -> Callable[[str, Any], None]:
    """validate(pointer, instance): check an instance against a schema of the spec by pointer."""
    registry: Registry[Any] = Registry().with_resource(
        SPEC_URI, DRAFT4.create_resource(_load_spec())
    )

    def check(pointer: str, instance: Any) -> None:
        schema = {"$ref": f"{SPEC_URI}#{pointer}"}
        Draft4Validator(schema, registry=registry, format_checker=FORMATS).validate(instance)

    return check


def schema(name: str) -> str:
    """Pointer to components.schemas.<name>."""
    return f"/components/schemas/{name}"


def response(name: str) -> str:
    """Pointer to the JSON schema of components.responses.<name>."""
    return f"/components/responses/{name}/content/application~1json/schema"


@pytest.fixture
async def responses(
    socket_enabled: None,
    aiohttp_client: Callable[..., Awaitable[TestClient[web.Request, web.Application]]],
) -> dict[str, Any]:
    """Real responses from one emulator session, by kind."""
    state = EmulatorState()
    demo = state.seed_demo()
    client = await aiohttp_client(create_app(state))
    got: dict[str, Any] = {}

    async def call(kind: str, method: str, path: str, body: Any = None, **kwargs: Any) -> Any:
        reply = await client.request(method, path, json=body, **kwargs)
        assert reply.status < 300, await reply.text()
        got[kind] = await reply.json()
        return got[kind]

    login = await call(
        "login",
        "GET",
        "/login",
        headers=basic_auth(demo["account_id"], demo["api_key"]),
    )
    headers = {"Authorization": f"Bearer {login['bearer_token']}"}
    location = await call(
        "location",
        "POST",
        "/locations",
        {"reference_id": "home", "postal_address": {"country_code": "DE", "city": "Berlin"}},
        headers=headers,
    )
    await call(
        "device",
        "POST",
        "/devices",
        {"reference_id": "house", "type": "HOUSE", "locations": [location["id"]]},
        headers=headers,
    )
    await call("device_list", "GET", "/devices", headers=headers)
    await call("location_list", "GET", "/locations", headers=headers)
    await call(
        "tariff_element",
        "POST",
        "/tariffs/elements",
        {
            "location_id": location["id"],
            "direction": "IMPORT",
            "type": "COMMODITY",
            "contract_start_date": "2025-01-01T00:00:00Z",
            "contract_end_date": "2026-01-01T00:00:00Z",
            "schedule": [
                {
                    "months": ["All"],
                    "days_and_hours": [
                        {
                            "days": ["All"],
                            "hours": [
                                {
                                    "valid_from": "00:00:00",
                                    "valid_to": "00:00:00",
                                    "rate": [{"fixed": 0.3, "to_kwh": None}],
                                }
                            ],
                        }
                    ],
                }
            ],
        },
        headers=headers,
    )
    await call(
        "meter_batch",
        "PUT",
        "/meters/interval",
        [
            {
                "location_id": location["id"],
                "units": "WH",
                "value": 10,
                "start_time": "2025-08-01T10:00:00Z",
                "end_time": "2025-08-01T10:30:00Z",
            },
            {"location_id": location["id"], "units": "WH", "record_reference_id": "bad"},
        ],
        headers=headers,
    )
    await call(
        "connect_token",
        "POST",
        "/connect/token",
        {"callback_url": "https://example.com/cb"},
        headers=headers,
    )
    await call("accepted", "DELETE", f"/devices/{got['device']['id']}", headers=headers)
    return got


@pytest.mark.parametrize(
    ("kind", "pointer"),
    [
        ("login", schema("AuthToken")),
        ("device", schema("Device")),
        ("device_list", response("DeviceList")),
        ("location", schema("LocationNew")),
        ("location_list", response("LocationNewList")),
        ("tariff_element", schema("TariffElementNew")),
        ("meter_batch", response("MeterRecords")),
        ("connect_token", response("ConnectInitTariff")),
        ("accepted", response("202")),
    ],
)
def test_response_matches_openapi_schema(
    responses: dict[str, Any], validate: Callable[[str, Any], None], kind: str, pointer: str
) -> None:
    """Each response validates against its 2024-08-24 schema."""
    validate(pointer, responses[kind])


def test_lists_and_batches_are_not_empty(responses: dict[str, Any]) -> None:
    """The validated lists carry items and the batch a failed record, so items are checked."""
    assert responses["device_list"]["data"]
    assert len(responses["location_list"]["data"]) == 2
    assert responses["meter_batch"]["failed_records"][0]["record_reference_id"] == "bad"


def test_validator_rejects_wrong_shapes(validate: Callable[[str, Any], None]) -> None:
    """The schemas really are applied: missing fields, bad items and date-time formats fail."""
    validate(schema("Device"), _device_fields())
    with pytest.raises(ValidationError):
        validate(schema("Device"), {"object": "device", "live_mode": False})
    with pytest.raises(ValidationError):
        validate(response("MeterRecords"), {"failed_records": [{"error": "no record_num"}]})
    with pytest.raises(ValidationError):
        validate(schema("Device"), _device_fields() | {"last_seen": "yesterday"})


def _device_fields() -> dict[str, Any]:
    return {
        "id": "dev_000000000000000000000000",
        "object": "device",
        "live_mode": False,
        "reference_id": "x",
        "time_created": "2025-01-01T00:00:00Z",
        "account_id": "acc_000000000000000000000000",
    }
