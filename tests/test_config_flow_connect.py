"""Flatpeak Connect in the config flow: the progress step and its callback view."""

from __future__ import annotations

from collections.abc import AsyncGenerator
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
from homeassistant.core import HomeAssistant
from homeassistant.core_config import async_process_ha_core_config
from homeassistant.data_entry_flow import FlowResultType
import pytest

from custom_components.flatpeak.const import CONF_LOCATION_ID
from tests.conftest import Emulator
from tests.helpers import add_sensors
from tests.test_config_flow import (  # noqa: F401  # _uploads_settle: fixture
    HOUSE,
    _uploads_settle,
    flatpeak_client,
    poison_next_call,
    to_location,
)

CALLBACK = "/api/flatpeak/connect"


@pytest.fixture(autouse=True)
async def _flows_end(
    hass: HomeAssistant,
    _uploads_settle: None,  # noqa: F811 - ends before that one waits
) -> AsyncGenerator[None]:
    """Close the flows a test leaves waiting for Connect: their progress task is a background
    task that waits for the browser, which never comes back in a test that stops early."""
    yield
    for flow in hass.config_entries.flow.async_progress():
        hass.config_entries.flow.async_abort(flow["flow_id"])


def connect_page(result: dict[str, Any]) -> str:
    """The Connect page the progress step links to."""
    return str(result["description_placeholders"]["connect_url"])


def issued_token(result: dict[str, Any]) -> str:
    """The Connect token in the page the progress step links to."""
    return parse_qs(urlsplit(connect_page(result)).query)["fp_cot"][0]


async def set_url(hass: HomeAssistant) -> None:
    """Give HA an address, so Connect has somewhere to send the browser back."""
    await async_process_ha_core_config(hass, {"external_url": "https://ha.example.org"})


async def to_connect(hass: HomeAssistant, emulator: Emulator) -> tuple[dict[str, Any], str]:
    """A flow waiting at the Connect step, and the token it was issued."""
    result = await to_location(hass, emulator)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"location": "connect"}
    )
    assert result["type"] is FlowResultType.SHOW_PROGRESS
    assert result["step_id"] == "connect"
    assert result["progress_action"] == "connect"
    return result, issued_token(result)


def step_of(hass: HomeAssistant, flow_id: str) -> str | None:
    """Where a flow in progress is."""
    return hass.config_entries.flow.async_get(flow_id).get("step_id")


async def come_back(hass: HomeAssistant, client: Any, flow_id: str, token: str) -> None:
    """The browser returns from Connect with the token, and HA moves the flow on."""
    response = await client.get(f"{CALLBACK}?flow_id={flow_id}&fp_cot={token}")
    assert response.status == 200
    await hass.async_block_till_done()


async def test_connect_progress_step_end_to_end(
    hass: HomeAssistant, emulator: Emulator, hass_client_no_auth: Any
) -> None:
    """Connect page → choice → redirect to HA → token exchanged → new location used."""
    add_sensors(hass)
    await set_url(hass)
    result = await to_location(hass, emulator)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"location": "connect"}
    )
    assert result["type"] is FlowResultType.SHOW_PROGRESS
    page_url = connect_page(result)
    assert page_url.startswith(f"{emulator.base_url}/connect")
    token = issued_token(result)
    # the frontend asks again while the browser is away: same page, same token
    again = await hass.config_entries.flow.async_configure(result["flow_id"])
    assert again["type"] is FlowResultType.SHOW_PROGRESS
    assert connect_page(again) == page_url

    async with aiohttp.ClientSession() as browser:
        async with browser.get(page_url) as page:
            html = await page.text()
        tariff = re.search(r'name="tariff"[^>]*value="([^"]+)"', html) or re.search(
            r'value="([^"]+)"[^>]*name="tariff"', html
        )
        assert tariff is not None
        async with browser.post(
            f"{emulator.base_url}/connect",
            data={"fp_cot": token, "tariff": tariff.group(1)},
            allow_redirects=False,
        ) as chosen:
            assert chosen.status == 302
            callback = urlsplit(chosen.headers["Location"])
    assert callback.netloc == "ha.example.org"
    assert callback.path == "/api/flatpeak/connect"

    client = await hass_client_no_auth()
    response = await client.get(f"{callback.path}?{callback.query}")
    assert response.status == 200
    assert "you can close this window" in await response.text()
    await hass.async_block_till_done()
    assert hass.config_entries.flow.async_get(result["flow_id"])["step_id"] == "connect_finish"

    # the browser loads the callback again: a page, and the flow is not pushed twice
    response = await client.get(f"{callback.path}?{callback.query}")
    assert response.status == 409
    assert response.content_type == "text/html"

    result = await hass.config_entries.flow.async_configure(result["flow_id"])
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "house_meter"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], HOUSE)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    new_location = result["result"].data[CONF_LOCATION_ID]
    assert new_location != emulator.location_id
    location = await flatpeak_client(hass, emulator).get_location(new_location)
    assert location.tariff_status.import_connected


async def test_callback_checks_the_issued_token(
    hass: HomeAssistant, emulator: Emulator, hass_client_no_auth: Any
) -> None:
    """Only the token this flow was issued resumes it; anything else gets a page."""
    await set_url(hass)
    result, token = await to_connect(hass, emulator)
    flow_id = result["flow_id"]
    client = await hass_client_no_auth()

    for query, status in (
        (f"flow_id={flow_id}", 400),  # no token
        (f"flow_id={flow_id}&fp_cot=cot_000000000000000000000000", 400),  # another session's
        (f"flow_id={flow_id}&fp_cot={token}x", 400),
        (f"flow_id=nope&fp_cot={token}", 404),  # no such flow
        (f"fp_cot={token}", 404),
    ):
        response = await client.get(f"{CALLBACK}?{query}")
        assert response.status == status, query
        assert response.content_type == "text/html"
        assert step_of(hass, flow_id) == "connect", query  # still waiting for Connect

    response = await client.get(f"{CALLBACK}?flow_id={flow_id}&fp_cot={token}")
    assert response.status == 200
    assert step_of(hass, flow_id) == "connect_finish"


async def test_callback_for_a_flow_not_at_connect(
    hass: HomeAssistant, emulator: Emulator, hass_client_no_auth: Any
) -> None:
    """A flow at another step is left alone (no form fed a Connect token, no error 500)."""
    await set_url(hass)
    _, token = await to_connect(hass, emulator)  # registers the view
    elsewhere = await to_location(hass, emulator)
    client = await hass_client_no_auth()
    response = await client.get(f"{CALLBACK}?flow_id={elsewhere['flow_id']}&fp_cot={token}")
    assert response.status == 400
    assert response.content_type == "text/html"
    assert step_of(hass, elsewhere["flow_id"]) == "location"


async def test_only_the_callback_finishes_connect(hass: HomeAssistant, emulator: Emulator) -> None:
    """Handed to the flow directly, no token (not even its own) finishes Connect: only the
    browser coming back through the callback view does."""
    await set_url(hass)
    result, token = await to_connect(hass, emulator)
    for sent in ({"connect_token": "cot_000000000000000000000000"}, {"connect_token": token}):
        result = await hass.config_entries.flow.async_configure(result["flow_id"], sent)
        assert result["type"] is FlowResultType.SHOW_PROGRESS
        assert result["step_id"] == "connect"
        assert issued_token(result) == token


async def test_forgotten_with_the_flow(
    hass: HomeAssistant, emulator: Emulator, hass_client_no_auth: Any
) -> None:
    """Once the flow is closed, its callback link answers a page and nothing else."""
    await set_url(hass)
    result, token = await to_connect(hass, emulator)
    hass.config_entries.flow.async_abort(result["flow_id"])
    client = await hass_client_no_auth()
    response = await client.get(f"{CALLBACK}?flow_id={result['flow_id']}&fp_cot={token}")
    assert response.status == 404
    assert "This Flatpeak Connect session has ended" in await response.text()


async def test_connect_unexpected_errors(
    hass: HomeAssistant,
    emulator: Emulator,
    monkeypatch: pytest.MonkeyPatch,
    hass_client_no_auth: Any,
) -> None:
    """A non-Flatpeak error while starting or finishing Connect aborts cleanly."""
    await set_url(hass)
    result = await to_location(hass, emulator)
    poison_next_call(monkeypatch)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"location": "connect"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "connect_failed"

    result, token = await to_connect(hass, emulator)
    await come_back(hass, await hass_client_no_auth(), result["flow_id"], token)
    poison_next_call(monkeypatch)
    result = await hass.config_entries.flow.async_configure(result["flow_id"])
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "connect_failed"


async def test_connect_aborts(
    hass: HomeAssistant, emulator: Emulator, hass_client_no_auth: Any
) -> None:
    """No HA URL, Connect refused, and an unfinished Connect session each abort clearly."""
    result = await to_location(hass, emulator)
    hass.config.api = None  # no internal, external or local URL known
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"location": "connect"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "no_url_available"

    await set_url(hass)
    result = await to_location(hass, emulator)
    emulator.state.fail_next("/connect/token", 400, count=1)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"location": "connect"}
    )
    assert result["reason"] == "connect_failed"

    result = await to_location(hass, emulator)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"location": "connect"}
    )
    # the browser came back without the customer finishing Connect
    await come_back(hass, await hass_client_no_auth(), result["flow_id"], issued_token(result))
    assert step_of(hass, result["flow_id"]) == "connect_finish"
    result = await hass.config_entries.flow.async_configure(result["flow_id"])
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "connect_failed"
