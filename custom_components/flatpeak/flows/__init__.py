"""The config flow's parts: sign-in, Flatpeak Connect, the device subentries, shared forms."""

from .connect import (
    CONF_CONNECT_TOKEN,
    CONNECT_STEP,
    async_forget_token,
    async_remember_token,
    callback_url,
    tokens_match,
)
from .credentials import CredentialsFlow
from .devices import async_reference_id, async_register_device
from .forms import (
    async_ask_flatpeak,
    check_credentials,
    check_house_meter,
    check_secret,
    credentials_schema,
    house_meter_schema,
)
from .subentries import EvChargerSubentryFlow, HouseMeterSubentryFlow

__all__ = [
    "CONF_CONNECT_TOKEN",
    "CONNECT_STEP",
    "CredentialsFlow",
    "EvChargerSubentryFlow",
    "HouseMeterSubentryFlow",
    "async_ask_flatpeak",
    "async_forget_token",
    "async_reference_id",
    "async_register_device",
    "async_remember_token",
    "callback_url",
    "check_credentials",
    "check_house_meter",
    "check_secret",
    "credentials_schema",
    "house_meter_schema",
    "tokens_match",
]
