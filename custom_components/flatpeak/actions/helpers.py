"""What every action shares: the entry it acts on, times, and Flatpeak errors as HA errors.

Everything here is checked before any request to Flatpeak, and each refusal is a translated
``ServiceValidationError`` whose placeholders name the field and the limit.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.core import ServiceCall
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.util import dt as dt_util

from ..client import CostRow, FlatpeakError, FlatpeakTariffError, TariffDirection
from ..const import DOMAIN
from ..tariff import tariff_problem

if TYPE_CHECKING:
    from .. import FlatpeakConfigEntry

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
# The times an action accepts, in UTC. No home's statistics, tariff or prices lie outside;
# and every step an action takes around a time (a day either side, a year's range) stays
# far inside the calendar, so no arithmetic on an accepted time can overflow.
EARLIEST_TIME = datetime(2000, 1, 1, tzinfo=UTC)
LATEST_TIME = datetime(2100, 1, 1, tzinfo=UTC)
# What the user typed, when an error repeats it, is cut to this many characters.
SHOWN_CHARS = 40


def loaded_entry(call: ServiceCall) -> FlatpeakConfigEntry:
    """The call's Flatpeak entry, which must exist and be loaded."""
    entry_id = call.data[ATTR_CONFIG_ENTRY]
    entry: FlatpeakConfigEntry | None = call.hass.config_entries.async_get_entry(entry_id)
    if entry is None or entry.domain != DOMAIN:
        raise invalid("entry_not_found", entry_id=shown(entry_id))
    return ensure_loaded(entry)


def ensure_loaded(entry: ConfigEntry) -> FlatpeakConfigEntry:
    """``entry`` if it is loaded, else the translated ``entry_not_loaded`` naming it."""
    if entry.state is not ConfigEntryState.LOADED:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="entry_not_loaded",
            translation_placeholders={"location": entry.title},
        )
    loaded: FlatpeakConfigEntry = entry
    return loaded


def aware(value: datetime) -> datetime:
    """Times without a zone are Home Assistant's local time."""
    return value if value.tzinfo else value.replace(tzinfo=dt_util.get_default_time_zone())


def utc(value: datetime, field: str) -> datetime:
    """``value`` in UTC, or ``time_out_of_range`` naming ``field`` if it is not from
    :data:`EARLIEST_TIME` to :data:`LATEST_TIME`."""
    try:
        moment: datetime | None = aware(value).astimezone(dt_util.UTC)
    except OverflowError:  # the first or last hours of the calendar, in another zone
        moment = None
    if moment is None or not EARLIEST_TIME <= moment <= LATEST_TIME:
        raise invalid(
            "time_out_of_range",
            field=field,
            time=value.isoformat(),
            earliest=EARLIEST_TIME.date().isoformat(),
            latest=LATEST_TIME.date().isoformat(),
        )
    return moment


def checked_range(
    start: datetime,
    end: datetime,
    max_days: int = MAX_REPORT_DAYS,
    too_long: str = "report_range_too_long",
) -> None:
    """``end`` after ``start`` and at most ``max_days`` later (else the ``too_long`` error)."""
    if end <= start:
        raise invalid("end_before_start", field=ATTR_END)
    if end - start > timedelta(days=max_days):
        raise invalid(too_long, field=ATTR_END, days=max_days)


def location_zone(entry: FlatpeakConfigEntry) -> ZoneInfo:
    """The location's time zone (Home Assistant's if Flatpeak's name is unknown here)."""
    if zone := dt_util.get_time_zone(entry.runtime_data.location.timezone):
        return zone
    default = dt_util.get_default_time_zone()
    return default if isinstance(default, ZoneInfo) else ZoneInfo("UTC")


def local_iso(moment: datetime, zone: ZoneInfo) -> str:
    """An ISO 8601 time in the location's zone."""
    return moment.astimezone(zone).isoformat()


def action_failed(
    entry: FlatpeakConfigEntry,
    err: FlatpeakError,
    direction: TariffDirection = TariffDirection.IMPORT,
) -> HomeAssistantError:
    """The HA error for a Flatpeak failure during an action.

    A tariff 422 says the location cannot be priced yet: it gets its own text. For import
    prices the entry's tariff gate hears of it, so the sensors wait their 15 minutes and the
    repair issue shows; export or local prices refused (no export tariff) say nothing about
    the import tariff the sensors use.
    """
    if isinstance(err, FlatpeakTariffError):
        code = tariff_problem(err)
        if direction is TariffDirection.IMPORT:
            entry.runtime_data.tariff_gate.failed(err, dt_util.utcnow())
            key = f"action_{code}"
        else:
            key = f"action_{direction.value.lower()}_{code}"
        return HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key=key,
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


def invalid(key: str, **values: Any) -> ServiceValidationError:
    """The translated refusal ``key`` of input the user can fix."""
    return ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key=key,
        translation_placeholders=placeholders(**values),
    )


def shown(value: object) -> str:
    """What the user gave, short enough to repeat in an error."""
    text = str(value)
    return text if len(text) <= SHOWN_CHARS else f"{text[: SHOWN_CHARS - 1]}…"


def refuse_unpriced(rows: Sequence[CostRow]) -> None:
    """Fail the action when Flatpeak did not say what a row cost: a total without it would
    be a wrong figure, not a smaller one."""
    if unpriced := sum(1 for row in rows if not row.priced):
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="report_incomplete",
            translation_placeholders={"count": str(unpriced), "rows": str(len(rows))},
        )
