"""Forms never raise and never store junk: input checks and unexpected errors, every step."""

from __future__ import annotations

from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest

from custom_components.flatpeak.const import CONF_LOCATION_ID, DOMAIN
from custom_components.flatpeak.entry_client import InvalidBaseUrl, normalize_base_url
from tests.conftest import Emulator
from tests.helpers import add_sensors, make_entry
from tests.test_config_flow import (  # noqa: F401  # _uploads_settle: fixture
    HOUSE,
    _uploads_settle,
    poison_next_call,
    sign_in,
    start,
    to_location,
)

BAD_BASE_URLS = [
    "https://user:pass@api.flatpeak.com",
    "https://api.flatpeak.com@169.254.169.254",
    "https://@api.flatpeak.com",
    "https://api.flatpeak.com:99999",
    "https://api.flatpeak.com:abc",
    "https://api.flatpeak.com:0",
    "https://api.flatpeak.com:",
    "https://api.flat peak.com",
    "https://api.flatpeak.com/v1\tx",
    "https://api.flatpeak.com/\nx",
    "https://api.flatpeak.com\x00",
    "https://api.flatpeak.com\u200b",
    "https://api.flatpeak.com\\@evil.example",
    "https://[::1",
    "https://api.flatpeak.com/?",
    "https://api.flatpeak.com/#top",
    "http://10.0.0.2",
    "https://",
    "api.flatpeak.com",
]


def test_base_url_rules() -> None:
    """https anywhere; http only on loopback; no user info, odd ports or hidden characters."""
    assert normalize_base_url(" https://api.flatpeak.com/ ") == "https://api.flatpeak.com"
    assert normalize_base_url("https://sandbox.example.com:8443/v1/") == (
        "https://sandbox.example.com:8443/v1"
    )
    assert normalize_base_url("http://localhost:8080") == "http://localhost:8080"
    assert normalize_base_url("http://127.0.0.2:9") == "http://127.0.0.2:9"
    assert normalize_base_url("http://[::1]:9") == "http://[::1]:9"
    for bad in BAD_BASE_URLS:
        with pytest.raises(InvalidBaseUrl):
            normalize_base_url(bad)


@pytest.mark.parametrize("base_url", BAD_BASE_URLS)
async def test_bad_base_url_is_a_form_error(
    hass: HomeAssistant, emulator: Emulator, base_url: str
) -> None:
    """Shown as the form's own error (visible with Advanced collapsed); nothing is sent."""
    result = await start(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], sign_in(emulator, advanced={"base_url": base_url})
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "invalid_base_url"}
    assert emulator.state.request_log == []


@pytest.mark.parametrize(
    ("change", "errors"),
    [
        ({"account_id": ""}, {"account_id": "blank"}),
        ({"account_id": "   "}, {"account_id": "blank"}),
        ({"api_key": " \t "}, {"api_key": "blank"}),
        ({"account_id": " ", "api_key": ""}, {"account_id": "blank", "api_key": "blank"}),
        ({"api_key": "sk_test_" + "a" * 300}, {"api_key": "too_long"}),
        ({"account_id": "acc_" + "0" * 300}, {"account_id": "too_long"}),
        ({"api_key": "sk_test_ab cd"}, {"api_key": "invalid_characters"}),
        ({"account_id": "acc_\u200b123"}, {"account_id": "invalid_characters"}),
        ({"api_key": "sk_test_\x7f"}, {"api_key": "invalid_characters"}),
    ],
)
async def test_credentials_are_checked_before_sending(
    hass: HomeAssistant, emulator: Emulator, change: dict[str, Any], errors: dict[str, str]
) -> None:
    """Blank, over-long or odd credentials are field errors, and Flatpeak is not asked."""
    result = await start(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], sign_in(emulator, **change)
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == errors
    assert emulator.state.request_log == []
    result = await hass.config_entries.flow.async_configure(result["flow_id"], sign_in(emulator))
    assert result["step_id"] == "location"


async def test_credentials_are_stored_trimmed(hass: HomeAssistant, emulator: Emulator) -> None:
    """Blanks around what was pasted are not stored."""
    add_sensors(hass)
    result = await start(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        sign_in(
            emulator,
            account_id=f"  {emulator.account_id} ",
            api_key=f"{emulator.api_key}\n",
            advanced={"base_url": f" {emulator.base_url}/ "},
        ),
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"location": emulator.location_id}
    )
    result = await hass.config_entries.flow.async_configure(result["flow_id"], HOUSE)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["result"].data == {
        "account_id": emulator.account_id,
        "api_key": emulator.api_key,
        "base_url": emulator.base_url,
        CONF_LOCATION_ID: emulator.location_id,
    }


async def test_blank_location_id(hass: HomeAssistant, emulator: Emulator) -> None:
    """A blank location id is a field error and no request; an over-long one too."""
    result = await to_location(hass, emulator)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"location": "manual"}
    )
    before = len(emulator.state.request_log)
    for value, error in (("", "blank"), ("  \t", "blank"), ("loc_" + "0" * 300, "too_long")):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_LOCATION_ID: value}
        )
        assert result["step_id"] == "location_id"
        assert result["errors"] == {CONF_LOCATION_ID: error}
    assert len(emulator.state.request_log) == before


# -- a non-Flatpeak error in every step that asks Flatpeak ------------------------------


async def test_sign_in_unexpected_errors(
    hass: HomeAssistant, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug-like error that is no Flatpeak error, or an unreadable answer: ``unknown``."""
    result = await start(hass)
    poison_next_call(monkeypatch)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], sign_in(emulator))
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "unknown"}
    emulator.state.fail_next("/login", 200, body={"unexpected": True})
    result = await hass.config_entries.flow.async_configure(result["flow_id"], sign_in(emulator))
    assert result["errors"] == {"base": "unknown"}
    emulator.state.fail_next("/locations", 200, body={"data": [{"no_id": 1}]})
    result = await hass.config_entries.flow.async_configure(result["flow_id"], sign_in(emulator))
    assert result["errors"] == {"base": "unknown"}
    result = await hass.config_entries.flow.async_configure(result["flow_id"], sign_in(emulator))
    assert result["step_id"] == "location"


@pytest.mark.parametrize("how", ["location", "location_id"])
async def test_location_unexpected_error(
    hass: HomeAssistant, emulator: Emulator, how: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Picking or typing a location when the client fails oddly: the same form, ``unknown``."""
    result = await to_location(hass, emulator)
    if how == "location_id":
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"location": "manual"}
        )
    poison_next_call(monkeypatch)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {how: emulator.location_id}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == how
    assert result["errors"] == {"base": "unknown"}


async def test_house_meter_unexpected_error(
    hass: HomeAssistant, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Registering the house meter when the client fails oddly: the same form, ``unknown``."""
    add_sensors(hass)
    result = await to_location(hass, emulator)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"location": emulator.location_id}
    )
    poison_next_call(monkeypatch)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], HOUSE)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "house_meter"
    assert result["errors"] == {"base": "unknown"}
    assert hass.config_entries.async_entries(DOMAIN) == []


async def test_reauth_and_reconfigure_check_input(
    hass: HomeAssistant, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Blank account ids, odd keys, bad URLs and odd failures are form errors; nothing saved."""
    entry = await make_entry(hass, emulator)
    stored = dict(entry.data)

    result = await entry.start_reauth_flow(hass)
    for user_input, errors in (
        ({"account_id": " "}, {"account_id": "blank"}),
        ({"account_id": emulator.account_id, "api_key": "x" * 257}, {"api_key": "too_long"}),
    ):
        result = await hass.config_entries.flow.async_configure(result["flow_id"], user_input)
        assert result["errors"] == errors
    poison_next_call(monkeypatch)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"account_id": emulator.account_id, "api_key": emulator.api_key}
    )
    assert result["step_id"] == "reauth_confirm"
    assert result["errors"] == {"base": "unknown"}
    hass.config_entries.flow.async_abort(result["flow_id"])

    result = await entry.start_reconfigure_flow(hass)
    for user_input, errors in (
        (sign_in(emulator, account_id=""), {"account_id": "blank"}),
        (
            sign_in(emulator, advanced={"base_url": "https://a@b.example"}),
            {"base": "invalid_base_url"},
        ),
        (sign_in(emulator, api_key="sk test"), {"api_key": "invalid_characters"}),
    ):
        result = await hass.config_entries.flow.async_configure(result["flow_id"], user_input)
        assert result["step_id"] == "reconfigure"
        assert result["errors"] == errors
    poison_next_call(monkeypatch)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], sign_in(emulator))
    assert result["errors"] == {"base": "unknown"}
    assert dict(entry.data) == stored


async def test_reconfigure_without_a_stored_key(hass: HomeAssistant, emulator: Emulator) -> None:
    """An entry that lost its key must be given one: a field error, never the client's crash."""
    entry = await make_entry(hass, emulator, api_key="")
    no_key = {"account_id": emulator.account_id, "advanced": {"base_url": emulator.base_url}}
    before = len(emulator.state.request_log)
    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], no_key)
    assert result["errors"] == {"api_key": "blank"}
    hass.config_entries.flow.async_abort(result["flow_id"])
    result = await entry.start_reauth_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"account_id": emulator.account_id}
    )
    assert result["errors"] == {"api_key": "blank"}
    assert len(emulator.state.request_log) == before
