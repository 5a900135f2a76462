"""What every action shares: the entry it acts on, times, and Flatpeak errors as HA errors."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import ServiceCall
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.util import dt as dt_util

from .client import FlatpeakError, FlatpeakTariffError, TariffDirection
from .const import DOMAIN
from .tariff_gate import tariff_problem

if TYPE_CHECKING:
    from . import FlatpeakConfigEntry

ATTR_CONFIG_ENTRY = "config_entry_id"
ATTR_START = "start"
ATTR_END = "end"
ATTR_DIRECTION = "direction"

# What the user picks → what Flatpeak calls it.
DIRECTIONS: dict[str, TariffDirection] = {
    "import": TariffDirection.IMPORT,
    "export": TariffDirection.EXPORT,
    "local": TariffDirection.LOCAL,
}

# Flatpeak prices and reports at most 90 days per request.
MAX_REPORT_DAYS = 90


def loaded_entry(call: ServiceCall) -> FlatpeakConfigEntry:
    """The call's Flatpeak entry, which must exist and be loaded."""
    entry_id = call.data[ATTR_CONFIG_ENTRY]
    entry: FlatpeakConfigEntry | None = call.hass.config_entries.async_get_entry(entry_id)
    if entry is None or entry.domain != DOMAIN:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="entry_not_found",
            translation_placeholders={"entry_id": entry_id},
        )
    if entry.state is not ConfigEntryState.LOADED:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="entry_not_loaded",
            translation_placeholders={"location": entry.title},
        )
    return entry


def aware(value: datetime) -> datetime:
    """Times without a zone are Home Assistant's local time."""
    return value if value.tzinfo else value.replace(tzinfo=dt_util.get_default_time_zone())


def utc(value: datetime) -> datetime:
    """A time in UTC; one at the edge of the calendar (year 1, 9999) is the user's error.

    Callers may step a couple of days either side (the upload reads the day before its range),
    so those days must exist as well.
    """
    try:
        moment = aware(value).astimezone(dt_util.UTC)
        _ = (moment - timedelta(days=2), moment + timedelta(days=2))
    except OverflowError as err:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="time_out_of_range",
            translation_placeholders={"time": value.isoformat()},
        ) from err
    return moment


def checked_range(
    start: datetime,
    end: datetime,
    max_days: int = MAX_REPORT_DAYS,
    too_long: str = "report_range_too_long",
) -> None:
    """``end`` after ``start`` and at most ``max_days`` later (else the ``too_long`` error)."""
    if end <= start:
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="end_before_start")
    if end - start > timedelta(days=max_days):
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key=too_long,
            translation_placeholders={"days": str(max_days)},
        )


def location_zone(entry: FlatpeakConfigEntry) -> ZoneInfo:
    """The location's time zone (Home Assistant's if Flatpeak's name is unknown here)."""
    if zone := dt_util.get_time_zone(entry.runtime_data.location.timezone):
        return zone
    default = dt_util.get_default_time_zone()
    return default if isinstance(default, ZoneInfo) else ZoneInfo("UTC")


def local_iso(moment: datetime, zone: ZoneInfo) -> str:
    """An ISO 8601 time in the location's zone."""
    return moment.astimezone(zone).isoformat()


def action_failed(entry: FlatpeakConfigEntry, err: FlatpeakError) -> HomeAssistantError:
    """The HA error for a Flatpeak failure during an action.

    A tariff 422 says the location cannot be priced yet: it gets its own text, and the entry's
    tariff gate hears of it, so the sensors wait their 15 minutes and the repair issue shows.
    """
    if isinstance(err, FlatpeakTariffError):
        code = tariff_problem(err)
        entry.runtime_data.tariff_gate.failed(err, dt_util.utcnow())
        return HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key=f"action_{code}",
            translation_placeholders={"location": entry.title},
        )
    return HomeAssistantError(
        translation_domain=DOMAIN,
        translation_key="flatpeak_failed",
        translation_placeholders={"error": str(err)},
    )


def rounded(value: float, digits: int = 6) -> float:
    """Drop float noise from sums (money and kWh alike)."""
    return round(value, digits) + 0.0


def placeholders(**values: Any) -> dict[str, str]:
    """Translation placeholders are strings."""
    return {key: str(value) for key, value in values.items()}
