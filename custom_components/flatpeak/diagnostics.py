"""Diagnostics with secrets and the address removed."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from homeassistant.components.diagnostics import async_redact_data

from .const import CONF_ACCOUNT_ID, CONF_API_KEY

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant

    from . import FlatpeakConfigEntry

TO_REDACT = {
    CONF_API_KEY,
    CONF_ACCOUNT_ID,
    "bearer_token",
    "token",
    "postal_address",
    "address_line1",
    "address_line2",
    "post_code",
    "title",
}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: FlatpeakConfigEntry
) -> dict[str, Any]:
    """The entry, its subentries and what the loaded entry knows."""
    data: dict[str, Any] = {
        "entry": {
            "title": entry.title,
            "data": dict(entry.data),
            "options": dict(entry.options),
        },
        "subentries": [
            {"type": sub.subentry_type, "title": sub.title, "data": dict(sub.data)}
            for sub in entry.subentries.values()
        ],
    }
    runtime = getattr(entry, "runtime_data", None)
    if runtime is not None:
        location = runtime.location
        data["location"] = {
            "id": location.id,
            "timezone": location.timezone,
            "currency_code": location.currency_code,
            "country_code": location.postal_address.country_code,
            "tariff_status": asdict(location.tariff_status),
        }
        data["client"] = {
            "base_url": runtime.client.base_url,
            "sends_version_header": runtime.client.sends_version_header,
            "live_mode": runtime.client.live_mode,
            "requests_made": runtime.client.request_count,
        }
        data["uploads"] = runtime.uploads.diagnostics()
        data["costs"] = runtime.costs.diagnostics()
        data["sessions"] = runtime.sessions.diagnostics()
        data["cheap_windows"] = {
            window.subentry.title: window.diagnostics() for window in runtime.windows.values()
        }
        data["tariff"] = runtime.health.diagnostics()
    return async_redact_data(data, TO_REDACT)
