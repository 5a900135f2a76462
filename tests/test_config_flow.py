"""The config flow against the emulator over HTTP: every step, error and abort."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

from homeassistant.config_entries import SOURCE_USER, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.setup import async_setup_component
import pytest

from custom_components.flatpeak.client import FlatpeakClient
from custom_components.flatpeak.compat import vol
from custom_components.flatpeak.const import (
    CONF_DEVICE_ID,
    CONF_GRID_EXPORT,
    CONF_GRID_IMPORT,
    CONF_LOCATION_ID,
    CONF_REFERENCE_ID,
    CONF_SOLAR,
    CONF_SUBMISSION_MODE,
    DOMAIN,
    SUBENTRY_HOUSE_METER,
)
from custom_components.flatpeak.entry_client import InvalidBaseUrl, normalize_base_url
from custom_components.flatpeak.flows.devices import async_reference_id
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


@pytest.fixture(autouse=True)
async def _uploads_settle(request: pytest.FixtureRequest) -> AsyncGenerator[None]:
    """Let an entry's first upload (a background task) end before the recorder stops.

    A test that ends while that upload reads statistics in the recorder's thread can crash
    the interpreter when the recorder closes its database under it.
    """
    hass: HomeAssistant | None = (
        request.getfixturevalue("hass") if "hass" in request.fixturenames else None
    )
    yield
    if hass is not None:
        await hass.async_block_till_done(wait_background_tasks=True)


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


def offered(result: dict[str, Any], key: str) -> list[str]:
    """The values a form's select or entity picker offers."""
    schema: vol.Schema = result["data_schema"]
    for marker, selector in schema.schema.items():
        if marker == key:
            config = selector.config
            if "options" in config:
                return [o["value"] if isinstance(o, dict) else o for o in config["options"]]
            return list(config.get("include_entities", []))
    raise AssertionError(f"{key} not in form")


def form_default(result: dict[str, Any], key: str) -> Any:
    """A form field's default or suggested value."""
    for marker in result["data_schema"].schema:
        if marker == key:
            if marker.description and "suggested_value" in marker.description:
                return marker.description["suggested_value"]
            return marker.default() if callable(marker.default) else None
    raise AssertionError(f"{key} not in form")


def flatpeak_client(hass: HomeAssistant, emulator: Emulator) -> FlatpeakClient:
    """A client of the demo account, to look at what the flows did at Flatpeak."""
    return FlatpeakClient(
        async_get_clientsession(hass),
        emulator.account_id,
        emulator.api_key,
        base_url=emulator.base_url,
    )


def poison_next_call(monkeypatch: pytest.MonkeyPatch) -> None:
    """The next request to Flatpeak fails with an error that is no Flatpeak error, as a bug
    would: the flows must turn it into a form error, not an error 500."""
    real = FlatpeakClient._send
    calls = 0

    async def once(self: FlatpeakClient, *args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("an unexpected bug")
        return await real(self, *args, **kwargs)

    monkeypatch.setattr(FlatpeakClient, "_send", once)


async def subentry_flow(
    hass: HomeAssistant,
    entry: Any,
    kind: str,
    source: str = SOURCE_USER,
    subentry_id: str | None = None,
) -> dict[str, Any]:
    """Start a subentry flow (add, or reconfigure ``subentry_id``)."""
    context: dict[str, Any] = {"source": source}
    if subentry_id:
        context["subentry_id"] = subentry_id
    return await hass.config_entries.subentries.async_init((entry.entry_id, kind), context=context)


async def test_full_flow_registers_house_meter(hass: HomeAssistant, emulator: Emulator) -> None:
    """Sign in, pick the location, map sensors: entry, subentry, Flatpeak device, HA device."""
    add_sensors(hass)
    result = await to_location(hass, emulator)
    assert offered(result, "location")[0] == emulator.location_id
    assert set(offered(result, "location")[-2:]) == {"connect", "manual"}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"location": emulator.location_id}
    )
    assert result["step_id"] == "house_meter"
    choices = offered(result, CONF_GRID_IMPORT)
    assert "sensor.grid_import" in choices
    assert "sensor.outdoor" not in choices
    assert "sensor.energy_price" not in choices  # energy, but no running-total state class

    result = await hass.config_entries.flow.async_configure(result["flow_id"], HOUSE)
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.CREATE_ENTRY
    entry = result["result"]
    assert entry.unique_id == emulator.location_id
    assert entry.data[CONF_LOCATION_ID] == emulator.location_id
    assert entry.data["base_url"] == emulator.base_url
    assert (
        entry.title
        == (await flatpeak_client(hass, emulator).get_location(emulator.location_id)).name
    )
    assert entry.state is ConfigEntryState.LOADED

    (subentry,) = entry.subentries.values()
    assert subentry.subentry_type == SUBENTRY_HOUSE_METER
    assert subentry.data[CONF_GRID_IMPORT] == "sensor.grid_import"
    device = await flatpeak_client(hass, emulator).get_device(subentry.data[CONF_DEVICE_ID])
    assert device.reference_id == subentry.data[CONF_REFERENCE_ID] == subentry.unique_id
    assert device.locations == [emulator.location_id]

    ha_device = ha_device_for(hass, device.id)
    assert ha_device is not None
    assert subentry.subentry_id in device_subentries(ha_device, entry.entry_id)


@pytest.mark.parametrize(
    ("change", "field", "error"),
    [
        ({"api_key": "sk_test_wrong"}, "base", "invalid_auth"),
        ({"advanced": {"base_url": "http://127.0.0.1:1"}}, "base", "cannot_connect"),
        # a form-level error: HA 2025.4 shows none inside the collapsed Advanced section
        ({"advanced": {"base_url": "http://flatpeak.example.com"}}, "base", "invalid_base_url"),
        ({"advanced": {"base_url": "ftp://127.0.0.1"}}, "base", "invalid_base_url"),
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
    assert emulator.location_id in offered(result, "location")  # the same list again


async def test_a_rate_limit_is_a_clear_form_error_without_a_traceback(
    hass: HomeAssistant, emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    """A 429 on the location step says to wait (not "unknown"), logs no traceback, and the
    account's wait holds: trying again at once sends nothing to Flatpeak."""
    result = await to_location(hass, emulator)
    emulator.state.fail_next(f"/locations/{emulator.location_id}", 429, retry_after=600)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"location": emulator.location_id}
    )
    assert result["step_id"] == "location"
    assert result["errors"] == {"base": "rate_limited"}
    served = len(emulator.state.request_log)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"location": emulator.location_id}
    )
    assert result["errors"] == {"base": "rate_limited"}
    assert len(emulator.state.request_log) == served
    assert "Traceback" not in caplog.text


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


async def test_location_already_set_up(hass: HomeAssistant, emulator: Emulator) -> None:
    """A location already set up is marked, not pre-selected, and refused at once in the list."""
    add_sensors(hass)
    await make_entry(hass, emulator)
    other = emulator.state.add_location(emulator.account_id, address_line1="2 Other Road")
    result = await to_location(hass, emulator)
    assert form_default(result, "location") == other.id
    labels = {
        option["value"]: option["label"]
        for option in result["data_schema"].schema["location"].config["options"]
    }
    assert "already set up" in labels[emulator.location_id]
    assert "already set up" not in labels[other.id]

    before = emulator.requests("GET", f"/locations/{emulator.location_id}")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"location": emulator.location_id}
    )
    assert result["type"] is FlowResultType.FORM  # not the end of the flow
    assert result["step_id"] == "location"
    assert result["errors"] == {"base": "already_configured"}
    assert emulator.requests("GET", f"/locations/{emulator.location_id}") == before

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"location": "manual"}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_LOCATION_ID: emulator.location_id}
    )
    assert result["step_id"] == "location_id"
    assert result["errors"] == {"base": "already_configured"}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_LOCATION_ID: other.id}
    )
    assert result["step_id"] in {"no_tariff", "house_meter"}  # no new sign-in needed


async def test_every_location_set_up_preselects_connect(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    """With every location set up, the pre-selected choice is to make a new one."""
    await make_entry(hass, emulator)
    result = await to_location(hass, emulator)
    assert form_default(result, "location") == "connect"


async def test_location_in_another_flow(hass: HomeAssistant, emulator: Emulator) -> None:
    """Two windows setting up the same location: the second is told so."""
    add_sensors(hass)
    first = await to_location(hass, emulator)
    first = await hass.config_entries.flow.async_configure(
        first["flow_id"], {"location": emulator.location_id}
    )
    assert first["step_id"] == "house_meter"
    second = await to_location(hass, emulator)
    second = await hass.config_entries.flow.async_configure(
        second["flow_id"], {"location": emulator.location_id}
    )
    assert second["type"] is FlowResultType.ABORT
    assert second["reason"] == "already_in_progress"


async def test_location_set_up_meanwhile(hass: HomeAssistant, emulator: Emulator) -> None:
    """The location got set up in another window while this one was at the house meter."""
    add_sensors(hass)
    result = await to_location(hass, emulator)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"location": emulator.location_id}
    )
    assert result["step_id"] == "house_meter"
    await make_entry(hass, emulator)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], HOUSE)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert len(hass.config_entries.async_entries(DOMAIN)) == 1


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
    assert form_default(result, CONF_GRID_IMPORT) == "sensor.grid_import"
    assert form_default(result, CONF_GRID_EXPORT) == "sensor.grid_export"
    assert form_default(result, CONF_SOLAR) == "sensor.solar"


async def test_existing_device_is_reused(hass: HomeAssistant, emulator: Emulator) -> None:
    """A re-install finds the device by reference id instead of creating a second one."""
    add_sensors(hass)
    reference = await async_reference_id(hass, emulator.location_id, SUBENTRY_HOUSE_METER, "main")
    existing = await flatpeak_client(hass, emulator).create_device(reference)
    before = len(emulator.state.request_log)
    result = await to_location(hass, emulator)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"location": emulator.location_id}
    )
    result = await hass.config_entries.flow.async_configure(result["flow_id"], HOUSE)
    subentry = next(iter(result["result"].subentries.values()))
    assert subentry.data[CONF_DEVICE_ID] == existing.id
    assert ("POST", "/devices") not in emulator.state.request_log[before:]


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
        flow["flow_id"],
        {"account_id": emulator.account_id},  # key left empty: the stored one
    )
    assert result["errors"] == {"base": "invalid_auth"}
    assert entry.data["api_key"] == "sk_test_revoked"
    result = await hass.config_entries.flow.async_configure(
        flow["flow_id"], {"account_id": emulator.account_id, "api_key": emulator.api_key}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done()
    assert entry.data["api_key"] == emulator.api_key
    assert entry.state is ConfigEntryState.LOADED


async def test_reauth_with_the_stored_key(hass: HomeAssistant, emulator: Emulator) -> None:
    """The API key field may stay empty: the stored key is tried again (re-enabled key)."""
    add_sensors(hass)
    entry = await make_entry(hass, emulator)
    result = await entry.start_reauth_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"account_id": emulator.account_id}
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
    assert result["errors"] == {"base": "invalid_base_url"}
    other = emulator.state.add_account()
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], sign_in(emulator, account_id=other.account_id, api_key=other.api_key)
    )
    assert result["errors"] == {"base": "location_not_in_account"}
    emulator.state.fail_next(f"/locations/{emulator.location_id}", 503, count=1)
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


async def test_reconfigure_url_only_keeps_the_key(hass: HomeAssistant, emulator: Emulator) -> None:
    """Changing only the base URL needs no API key: an empty key field keeps the stored one."""
    add_sensors(hass)
    entry = await make_entry(hass, emulator, base_url=emulator.base_url + "/old")
    result = await entry.start_reconfigure_flow(hass)
    key_marker = next(m for m in result["data_schema"].schema if m == "api_key")
    assert not key_marker.__class__.__name__.startswith("Required")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {"account_id": emulator.account_id, "advanced": {"base_url": emulator.base_url}},
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert entry.data["api_key"] == emulator.api_key
    assert entry.data["base_url"] == emulator.base_url
    assert entry.state is ConfigEntryState.LOADED


async def test_options(hass: HomeAssistant, emulator: Emulator) -> None:
    """Upload interval, history window and cost refresh; the entry reloads with them."""
    add_sensors(hass)
    entry = await make_entry(hass, emulator)
    assert await hass.config_entries.async_setup(entry.entry_id)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.MENU
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "settings"}
    )
    assert result["step_id"] == "settings"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {"upload_interval": 5, "history_days": 30, "billing_day": 15, "first_weekday": "sun"},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.options == {
        "upload_interval": 5,
        "history_days": 30,
        "billing_day": 15,
        "first_weekday": "sun",
    }
    assert entry.state is ConfigEntryState.LOADED
