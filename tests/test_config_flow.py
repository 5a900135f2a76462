"""The config flow against the emulator over HTTP: every step, error and abort."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
from homeassistant.config_entries import SOURCE_RECONFIGURE, SOURCE_USER, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.core_config import async_process_ha_core_config
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr
from homeassistant.setup import async_setup_component
import pytest

from custom_components.flatpeak.client import FlatpeakClient
from custom_components.flatpeak.compat import vol
from custom_components.flatpeak.config_flow import InvalidBaseUrl, normalize_base_url
from custom_components.flatpeak.const import (
    CONF_CHARGER_ENERGY,
    CONF_DEVICE_ID,
    CONF_GRID_EXPORT,
    CONF_GRID_IMPORT,
    CONF_LOCATION_ID,
    CONF_POWER_SENSOR,
    CONF_POWER_THRESHOLD,
    CONF_REFERENCE_ID,
    CONF_SESSION_ENTITY,
    CONF_SESSION_MODE,
    CONF_SESSION_STATES,
    CONF_SOLAR,
    CONF_SUBMISSION_MODE,
    DOMAIN,
    SUBENTRY_EV_CHARGER,
    SUBENTRY_HOUSE_METER,
)
from custom_components.flatpeak.devices import async_reference_id
from tests.conftest import Emulator
from tests.helpers import add_sensors, device_subentries, make_entry

HOUSE = {
    CONF_GRID_IMPORT: "sensor.grid_import",
    CONF_GRID_EXPORT: "sensor.grid_export",
    CONF_SOLAR: "sensor.solar",
    CONF_SUBMISSION_MODE: "interval",
}


def ha_device_for(hass: HomeAssistant, device_id: str) -> dr.DeviceEntry | None:
    """The HA device of a Flatpeak device (lookup that works on every supported HA)."""
    registry = dr.async_get(hass)
    for entry in hass.config_entries.async_entries(DOMAIN):
        for device in dr.async_entries_for_config_entry(registry, entry.entry_id):
            if (DOMAIN, device_id) in device.identifiers:
                return device
    return None


def sign_in(emulator: Emulator, **overrides: Any) -> dict[str, Any]:
    """The user step's input for the demo account."""
    data = {
        "account_id": emulator.account_id,
        "api_key": emulator.api_key,
        "advanced": {"base_url": emulator.base_url},
    }
    data.update(overrides)
    return data


async def start(hass: HomeAssistant) -> dict[str, Any]:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    return result


async def to_location(hass: HomeAssistant, emulator: Emulator) -> dict[str, Any]:
    result = await start(hass)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], sign_in(emulator))
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "location"
    return result


def _options(result: dict[str, Any], key: str) -> list[str]:
    schema: vol.Schema = result["data_schema"]
    for marker, selector in schema.schema.items():
        if marker == key:
            config = selector.config
            if "options" in config:
                return [o["value"] if isinstance(o, dict) else o for o in config["options"]]
            return list(config.get("include_entities", []))
    raise AssertionError(f"{key} not in form")


def _default(result: dict[str, Any], key: str) -> Any:
    for marker in result["data_schema"].schema:
        if marker == key:
            if marker.description and "suggested_value" in marker.description:
                return marker.description["suggested_value"]
            return marker.default() if callable(marker.default) else None
    raise AssertionError(f"{key} not in form")


async def test_full_flow_registers_house_meter(hass: HomeAssistant, emulator: Emulator) -> None:
    """Sign in, pick the location, map sensors: entry, subentry, Flatpeak device, HA device."""
    add_sensors(hass)
    result = await to_location(hass, emulator)
    assert _options(result, "location")[0] == emulator.location_id
    assert set(_options(result, "location")[-2:]) == {"connect", "manual"}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"location": emulator.location_id}
    )
    assert result["step_id"] == "house_meter"
    offered = _options(result, CONF_GRID_IMPORT)
    assert "sensor.grid_import" in offered
    assert "sensor.outdoor" not in offered
    assert "sensor.energy_price" not in offered  # energy, but no running-total state class

    result = await hass.config_entries.flow.async_configure(result["flow_id"], HOUSE)
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.CREATE_ENTRY
    entry = result["result"]
    assert entry.unique_id == emulator.location_id
    assert entry.data[CONF_LOCATION_ID] == emulator.location_id
    assert entry.data["base_url"] == emulator.base_url
    assert entry.title == (await _client(hass, emulator).get_location(emulator.location_id)).name
    assert entry.state is ConfigEntryState.LOADED

    (subentry,) = entry.subentries.values()
    assert subentry.subentry_type == SUBENTRY_HOUSE_METER
    assert subentry.data[CONF_GRID_IMPORT] == "sensor.grid_import"
    device = await _client(hass, emulator).get_device(subentry.data[CONF_DEVICE_ID])
    assert device.reference_id == subentry.data[CONF_REFERENCE_ID] == subentry.unique_id
    assert device.locations == [emulator.location_id]

    ha_device = ha_device_for(hass, device.id)
    assert ha_device is not None
    assert subentry.subentry_id in device_subentries(ha_device, entry.entry_id)


def _client(hass: HomeAssistant, emulator: Emulator) -> FlatpeakClient:
    from homeassistant.helpers.aiohttp_client import async_get_clientsession

    return FlatpeakClient(
        async_get_clientsession(hass),
        emulator.account_id,
        emulator.api_key,
        base_url=emulator.base_url,
    )


@pytest.mark.parametrize(
    ("change", "field", "error"),
    [
        ({"api_key": "sk_test_wrong"}, "base", "invalid_auth"),
        ({"advanced": {"base_url": "http://127.0.0.1:1"}}, "base", "cannot_connect"),
        ({"advanced": {"base_url": "http://flatpeak.example.com"}}, "base_url", "invalid_base_url"),
        ({"advanced": {"base_url": "ftp://127.0.0.1"}}, "base_url", "invalid_base_url"),
    ],
)
async def test_sign_in_errors_then_recover(
    hass: HomeAssistant, emulator: Emulator, change: dict[str, Any], field: str, error: str
) -> None:
    """Each bad input is a form error; the same form then accepts good input."""
    result = await start(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], sign_in(emulator, **change)
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {field: error}
    result = await hass.config_entries.flow.async_configure(result["flow_id"], sign_in(emulator))
    assert result["step_id"] == "location"


async def test_sign_in_disabled_account_and_unknown(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    """A disabled account and an unexpected 500 are told apart."""
    disabled = emulator.state.add_account(disabled=True)
    result = await start(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        sign_in(emulator, account_id=disabled.account_id, api_key=disabled.api_key),
    )
    assert result["errors"] == {"base": "account_disabled"}

    emulator.state.fail_next("/locations", 500, count=1)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], sign_in(emulator))
    assert result["errors"] == {"base": "unknown"}


def test_base_url_rules() -> None:
    """https anywhere; http only on loopback; trailing slashes dropped."""
    assert normalize_base_url("https://api.flatpeak.com/") == "https://api.flatpeak.com"
    assert normalize_base_url("http://localhost:8080") == "http://localhost:8080"
    assert normalize_base_url("http://[::1]:9") == "http://[::1]:9"
    for bad in ("http://10.0.0.2", "https://", "https://x.com/?a=1", "api.flatpeak.com"):
        with pytest.raises(InvalidBaseUrl):
            normalize_base_url(bad)


async def test_manual_location_id(hass: HomeAssistant, emulator: Emulator) -> None:
    """An unknown id is a form error; a known one goes on to the house meter."""
    add_sensors(hass)
    result = await to_location(hass, emulator)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"location": "manual"}
    )
    assert result["step_id"] == "location_id"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_LOCATION_ID: "loc_000000000000000000000000"}
    )
    assert result["errors"] == {"base": "location_not_found"}
    emulator.state.fail_next(f"/locations/{emulator.location_id}", 500, count=1)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_LOCATION_ID: emulator.location_id}
    )
    assert result["errors"] == {"base": "unknown"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_LOCATION_ID: f" {emulator.location_id} "}
    )
    assert result["step_id"] == "house_meter"


async def test_picked_location_unreachable(hass: HomeAssistant, emulator: Emulator) -> None:
    """Flatpeak going away between the steps is a form error on the location step."""
    result = await to_location(hass, emulator)
    emulator.state.fail_next(f"/locations/{emulator.location_id}", 503, count=2)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"location": emulator.location_id}
    )
    assert result["step_id"] == "location"
    assert result["errors"] == {"base": "cannot_connect"}
    assert emulator.location_id in _options(result, "location")  # the same list again


async def test_location_without_tariff_is_explained(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    """Choosing a location with no import tariff shows what that means, then goes on."""
    add_sensors(hass)
    bare = emulator.state.add_location(emulator.account_id, address_line1="2 Bare Road")
    result = await to_location(hass, emulator)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"location": bare.id}
    )
    assert result["step_id"] == "no_tariff"
    assert "2 Bare Road" in result["description_placeholders"]["location"]
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["step_id"] == "house_meter"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_GRID_IMPORT: "sensor.grid_import", CONF_SUBMISSION_MODE: "interval"},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    subentry = next(iter(result["result"].subentries.values()))
    assert CONF_GRID_EXPORT not in subentry.data


async def test_duplicate_location_aborts(hass: HomeAssistant, emulator: Emulator) -> None:
    """The location id is the unique id: the same location cannot be added twice."""
    await make_entry(hass, emulator)
    result = await to_location(hass, emulator)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"location": emulator.location_id}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_house_meter_errors(hass: HomeAssistant, emulator: Emulator) -> None:
    """No energy sensors at all; the same sensor twice; a refused device registration."""
    result = await to_location(hass, emulator)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"location": emulator.location_id}
    )
    assert result["errors"] == {"base": "no_energy_sensors"}
    add_sensors(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**HOUSE, CONF_SOLAR: "sensor.grid_import"}
    )
    assert result["errors"] == {CONF_SOLAR: "same_sensor"}
    for status, error in ((400, "device_registration_failed"), (503, "cannot_connect")):
        emulator.state.fail_next("/devices", status, count=1)
        result = await hass.config_entries.flow.async_configure(result["flow_id"], HOUSE)
        assert result["errors"] == {"base": error}
    emulator.state.expire_tokens()
    emulator.state.fail_next("/devices", 403, count=2)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], HOUSE)
    assert result["errors"] == {"base": "invalid_auth"}
    result = await hass.config_entries.flow.async_configure(result["flow_id"], HOUSE)
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_energy_dashboard_defaults(hass: HomeAssistant, emulator: Emulator) -> None:
    """The sensors already on the Energy dashboard are the house meter's defaults."""
    from homeassistant.components.energy.data import async_get_manager

    add_sensors(hass)
    assert await async_setup_component(hass, "energy", {})
    manager = await async_get_manager(hass)
    solar = {
        "type": "solar",
        "stat_energy_from": "sensor.solar",
        "config_entry_solar_forecast": None,
    }
    unified = {
        "type": "grid",
        "stat_energy_from": "sensor.grid_import",
        "stat_energy_to": "sensor.grid_export",
        "stat_cost": None,
        "entity_energy_price": None,
        "number_energy_price": None,
        "stat_compensation": None,
        "entity_energy_price_export": None,
        "number_energy_price_export": None,
        "cost_adjustment_day": 0.0,
    }
    legacy = {
        "type": "grid",
        "flow_from": [
            {
                "stat_energy_from": "sensor.grid_import",
                "stat_cost": None,
                "entity_energy_price": None,
                "number_energy_price": None,
            }
        ],
        "flow_to": [
            {
                "stat_energy_to": "sensor.grid_export",
                "stat_compensation": None,
                "entity_energy_price": None,
                "number_energy_price": None,
            }
        ],
        "cost_adjustment_day": 0.0,
    }
    try:  # the running HA decides which grid format it accepts
        await manager.async_update({"energy_sources": [unified, solar]})
    except vol.Invalid:
        await manager.async_update({"energy_sources": [legacy, solar]})

    result = await to_location(hass, emulator)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"location": emulator.location_id}
    )
    assert _default(result, CONF_GRID_IMPORT) == "sensor.grid_import"
    assert _default(result, CONF_GRID_EXPORT) == "sensor.grid_export"
    assert _default(result, CONF_SOLAR) == "sensor.solar"


async def test_existing_device_is_reused(hass: HomeAssistant, emulator: Emulator) -> None:
    """A re-install finds the device by reference id instead of creating a second one."""
    add_sensors(hass)
    reference = await async_reference_id(hass, emulator.location_id, SUBENTRY_HOUSE_METER, "main")
    existing = await _client(hass, emulator).create_device(reference)
    before = len(emulator.state.request_log)
    result = await to_location(hass, emulator)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"location": emulator.location_id}
    )
    result = await hass.config_entries.flow.async_configure(result["flow_id"], HOUSE)
    subentry = next(iter(result["result"].subentries.values()))
    assert subentry.data[CONF_DEVICE_ID] == existing.id
    assert ("POST", "/devices") not in emulator.state.request_log[before:]


# -- Flatpeak Connect ------------------------------------------------------------------


async def _set_url(hass: HomeAssistant) -> None:
    await async_process_ha_core_config(hass, {"external_url": "https://ha.example.org"})


async def test_connect_external_step_end_to_end(
    hass: HomeAssistant, emulator: Emulator, hass_client_no_auth: Any
) -> None:
    """Connect page → choice → redirect to HA → token exchanged → new location used."""
    add_sensors(hass)
    await _set_url(hass)
    result = await to_location(hass, emulator)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"location": "connect"}
    )
    assert result["type"] is FlowResultType.EXTERNAL_STEP
    page_url = result["url"]
    assert page_url.startswith(f"{emulator.base_url}/connect")
    token = parse_qs(urlsplit(page_url).query)["fp_cot"][0]

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
    await hass.async_block_till_done()

    result = await hass.config_entries.flow.async_configure(result["flow_id"])
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "house_meter"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], HOUSE)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    new_location = result["result"].data[CONF_LOCATION_ID]
    assert new_location != emulator.location_id
    location = await _client(hass, emulator).get_location(new_location)
    assert location.tariff_status.import_connected


async def test_connect_callback_rejects_strangers(
    hass: HomeAssistant, emulator: Emulator, hass_client_no_auth: Any
) -> None:
    """Unknown flows, missing tokens and a token from another session go nowhere."""
    await _set_url(hass)
    result = await to_location(hass, emulator)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"location": "connect"}
    )
    client = await hass_client_no_auth()
    assert (await client.get("/api/flatpeak/connect?flow_id=nope&fp_cot=cot_x")).status == 400
    assert (await client.get(f"/api/flatpeak/connect?flow_id={result['flow_id']}")).status == 400
    response = await client.get(
        f"/api/flatpeak/connect?flow_id={result['flow_id']}&fp_cot=cot_000000000000000000000000"
    )
    assert response.status == 200
    result = await hass.config_entries.flow.async_configure(result["flow_id"])
    assert result["type"] is FlowResultType.ABORT  # a token from another session
    assert result["reason"] == "connect_failed"


async def test_connect_aborts(hass: HomeAssistant, emulator: Emulator) -> None:
    """No HA URL, Connect refused, and an unfinished Connect session each abort clearly."""
    result = await to_location(hass, emulator)
    hass.config.api = None  # no internal, external or local URL known
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"location": "connect"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "no_url_available"

    await _set_url(hass)
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
    token = parse_qs(urlsplit(result["url"]).query)["fp_cot"][0]
    # the browser came back without the customer finishing Connect
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"connect_token": token}
    )
    assert result["type"] is FlowResultType.EXTERNAL_STEP_DONE
    result = await hass.config_entries.flow.async_configure(result["flow_id"])
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "connect_failed"


# -- reauth, reconfigure, options ------------------------------------------------------


async def test_reauth(hass: HomeAssistant, emulator: Emulator) -> None:
    """A bad key starts reauth; a wrong key is a form error; a new key reloads the entry."""
    add_sensors(hass)
    entry = await make_entry(hass, emulator, api_key="sk_test_revoked")
    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_ERROR
    (flow,) = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert flow["context"]["source"] == "reauth"
    assert flow["step_id"] == "reauth_confirm"

    result = await hass.config_entries.flow.async_configure(
        flow["flow_id"], {"account_id": emulator.account_id, "api_key": "sk_test_still_wrong"}
    )
    assert result["errors"] == {"base": "invalid_auth"}
    result = await hass.config_entries.flow.async_configure(
        flow["flow_id"], {"account_id": emulator.account_id, "api_key": emulator.api_key}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done()
    assert entry.data["api_key"] == emulator.api_key
    assert entry.state is ConfigEntryState.LOADED


async def test_reauth_other_account_aborts(hass: HomeAssistant, emulator: Emulator) -> None:
    """Reauth cannot switch the entry to another account."""
    entry = await make_entry(hass, emulator)
    result = await entry.start_reauth_flow(hass)
    other = emulator.state.add_account()
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"account_id": other.account_id, "api_key": other.api_key}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_account"


async def test_reconfigure(hass: HomeAssistant, emulator: Emulator) -> None:
    """Credentials and base URL change; the location must still be reachable with them."""
    add_sensors(hass)
    entry = await make_entry(hass, emulator)
    assert await hass.config_entries.async_setup(entry.entry_id)
    result = await entry.start_reconfigure_flow(hass)
    assert result["step_id"] == "reconfigure"

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], sign_in(emulator, advanced={"base_url": "http://192.0.2.1"})
    )
    assert result["errors"] == {"base_url": "invalid_base_url"}
    other = emulator.state.add_account()
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], sign_in(emulator, account_id=other.account_id, api_key=other.api_key)
    )
    assert result["errors"] == {"base": "location_not_in_account"}
    emulator.state.fail_next(f"/locations/{emulator.location_id}", 500, count=1)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], sign_in(emulator))
    assert result["errors"] == {"base": "cannot_connect"}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], sign_in(emulator, advanced={"base_url": emulator.base_url + "/"})
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert entry.data["base_url"] == emulator.base_url
    assert entry.state is ConfigEntryState.LOADED


async def test_options(hass: HomeAssistant, emulator: Emulator) -> None:
    """Upload interval, history window and cost refresh; the entry reloads with them."""
    add_sensors(hass)
    entry = await make_entry(hass, emulator)
    assert await hass.config_entries.async_setup(entry.entry_id)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["step_id"] == "init"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"upload_interval": 5, "history_days": 30}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.options == {"upload_interval": 5, "history_days": 30}
    assert entry.state is ConfigEntryState.LOADED


# -- subentries ------------------------------------------------------------------------


async def _subentry_flow(
    hass: HomeAssistant,
    entry: Any,
    kind: str,
    source: str = SOURCE_USER,
    subentry_id: str | None = None,
) -> dict[str, Any]:
    context: dict[str, Any] = {"source": source}
    if subentry_id:
        context["subentry_id"] = subentry_id
    return await hass.config_entries.subentries.async_init((entry.entry_id, kind), context=context)


async def test_add_ev_charger_by_state(hass: HomeAssistant, emulator: Emulator) -> None:
    """An EV charger subentry registers an EV_CHARGER device and gets its own HA device."""
    add_sensors(hass)
    entry = await make_entry(hass, emulator)
    assert await hass.config_entries.async_setup(entry.entry_id)
    result = await _subentry_flow(hass, entry, SUBENTRY_EV_CHARGER)
    assert result["step_id"] == "user"
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {
            "name": "Driveway",
            CONF_CHARGER_ENERGY: "sensor.charger_energy",
            CONF_SESSION_MODE: "state",
            CONF_SUBMISSION_MODE: "interval",
        },
    )
    assert result["step_id"] == "session_state"
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {CONF_SESSION_ENTITY: "binary_sensor.charging", CONF_SESSION_STATES: [" "]},
    )
    assert result["errors"] == {"base": "no_session_states"}
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {CONF_SESSION_ENTITY: "binary_sensor.charging", CONF_SESSION_STATES: ["on"]},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    charger = next(s for s in entry.subentries.values() if s.subentry_type == SUBENTRY_EV_CHARGER)
    assert charger.title == "Driveway"
    assert charger.data[CONF_SESSION_STATES] == ["on"]
    device = await _client(hass, emulator).get_device(charger.data[CONF_DEVICE_ID])
    assert device.type == "EV_CHARGER"
    assert ha_device_for(hass, device.id) is not None

    # the same energy sensor cannot feed a second charger
    result = await _subentry_flow(hass, entry, SUBENTRY_EV_CHARGER)
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {
            "name": "Again",
            CONF_CHARGER_ENERGY: "sensor.charger_energy",
            CONF_SESSION_MODE: "state",
            CONF_SUBMISSION_MODE: "interval",
        },
    )
    assert result["errors"] == {CONF_CHARGER_ENERGY: "charger_exists"}


async def test_ev_charger_by_power_and_reconfigure(hass: HomeAssistant, emulator: Emulator) -> None:
    """Power-threshold detection; reconfigure keeps the device and changes detection."""
    add_sensors(hass)
    entry = await make_entry(hass, emulator)
    assert await hass.config_entries.async_setup(entry.entry_id)
    result = await _subentry_flow(hass, entry, SUBENTRY_EV_CHARGER)
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {
            "name": "Garage",
            CONF_CHARGER_ENERGY: "sensor.charger_energy",
            CONF_SESSION_MODE: "power",
            CONF_SUBMISSION_MODE: "interval",
        },
    )
    assert result["step_id"] == "session_power"
    assert _options(result, CONF_POWER_SENSOR) == ["sensor.charger_power"]
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_POWER_SENSOR: "sensor.charger_power", CONF_POWER_THRESHOLD: 500}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    charger = next(s for s in entry.subentries.values() if s.subentry_type == SUBENTRY_EV_CHARGER)
    device_id = charger.data[CONF_DEVICE_ID]
    assert charger.data[CONF_POWER_THRESHOLD] == 500.0

    result = await _subentry_flow(
        hass, entry, SUBENTRY_EV_CHARGER, SOURCE_RECONFIGURE, charger.subentry_id
    )
    assert result["step_id"] == "reconfigure"
    assert _default(result, CONF_CHARGER_ENERGY) == "sensor.charger_energy"
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {
            "name": "Garage",
            CONF_CHARGER_ENERGY: "sensor.charger_energy",
            CONF_SESSION_MODE: "state",
            CONF_SUBMISSION_MODE: "cumulative",
        },
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {CONF_SESSION_ENTITY: "binary_sensor.charging", CONF_SESSION_STATES: ["on", "charging"]},
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    charger = entry.subentries[charger.subentry_id]
    assert charger.data[CONF_DEVICE_ID] == device_id
    assert charger.data[CONF_SUBMISSION_MODE] == "cumulative"
    assert charger.data[CONF_SESSION_ENTITY] == "binary_sensor.charging"


async def test_ev_charger_registration_failure(hass: HomeAssistant, emulator: Emulator) -> None:
    """Flatpeak refusing the device aborts the subentry flow with its reason."""
    add_sensors(hass)
    entry = await make_entry(hass, emulator)
    assert await hass.config_entries.async_setup(entry.entry_id)
    result = await _subentry_flow(hass, entry, SUBENTRY_EV_CHARGER)
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {
            "name": "Garage",
            CONF_CHARGER_ENERGY: "sensor.charger_energy",
            CONF_SESSION_MODE: "power",
            CONF_SUBMISSION_MODE: "interval",
        },
    )
    emulator.state.fail_next("/devices", 503, count=2)
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_POWER_SENSOR: "sensor.charger_power", CONF_POWER_THRESHOLD: 500}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "cannot_connect"


async def test_subentry_needs_loaded_entry(hass: HomeAssistant, emulator: Emulator) -> None:
    """Devices cannot be registered while the entry is not loaded."""
    add_sensors(hass)
    entry = await make_entry(hass, emulator, subentries=[])
    result = await _subentry_flow(hass, entry, SUBENTRY_HOUSE_METER)
    result = await hass.config_entries.subentries.async_configure(result["flow_id"], HOUSE)
    assert result["errors"] == {"base": "entry_not_loaded"}


async def test_house_meter_subentry_remove_and_re_add(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    """Removing the house meter leaves the Flatpeak device; re-adding finds it again."""
    add_sensors(hass)
    entry = await make_entry(hass, emulator, subentries=[])
    assert await hass.config_entries.async_setup(entry.entry_id)
    result = await _subentry_flow(hass, entry, SUBENTRY_HOUSE_METER)
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {**HOUSE, CONF_GRID_EXPORT: "sensor.grid_import"}
    )
    assert result["errors"] == {CONF_GRID_EXPORT: "same_sensor"}
    result = await hass.config_entries.subentries.async_configure(result["flow_id"], HOUSE)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    (meter,) = entry.subentries.values()
    device_id = meter.data[CONF_DEVICE_ID]

    result = await _subentry_flow(hass, entry, SUBENTRY_HOUSE_METER)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "house_meter_exists"

    hass.states.async_remove("sensor.solar")  # gone, but still mapped: still shown as chosen
    result = await _subentry_flow(
        hass, entry, SUBENTRY_HOUSE_METER, SOURCE_RECONFIGURE, meter.subentry_id
    )
    assert "sensor.solar" in _options(result, CONF_SOLAR)
    assert "sensor.solar" not in _options(result, CONF_GRID_IMPORT)
    add_sensors(hass)  # and back
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {**HOUSE, CONF_SOLAR: "sensor.grid_export"}
    )
    assert result["errors"] == {CONF_SOLAR: "same_sensor"}
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {CONF_GRID_IMPORT: "sensor.grid_import", CONF_SUBMISSION_MODE: "interval"},
    )
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert CONF_SOLAR not in entry.subentries[meter.subentry_id].data
    assert entry.subentries[meter.subentry_id].data[CONF_DEVICE_ID] == device_id

    assert hass.config_entries.async_remove_subentry(entry, meter.subentry_id)
    await hass.async_block_till_done()
    assert ha_device_for(hass, device_id) is None
    assert (await _client(hass, emulator).get_device(device_id)).id == device_id

    result = await _subentry_flow(hass, entry, SUBENTRY_HOUSE_METER)
    result = await hass.config_entries.subentries.async_configure(result["flow_id"], HOUSE)
    await hass.async_block_till_done()
    (meter,) = entry.subentries.values()
    assert meter.data[CONF_DEVICE_ID] == device_id
