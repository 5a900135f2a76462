"""Actions that read Flatpeak's figures: ``get_cost_report`` and ``get_prices``."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
import math
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from homeassistant.core import ServiceCall, ServiceResponse
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv, device_registry as dr
from homeassistant.util import dt as dt_util

from ..client import Aggregation, FlatpeakError
from ..compat import vol
from ..const import CONF_DEVICE_ID, DEVICE_SUBENTRIES, DOMAIN, SUBENTRY_HOUSE_METER
from .helpers import (
    ATTR_CONFIG_ENTRY,
    ATTR_DIRECTION,
    ATTR_END,
    ATTR_START,
    DIRECTIONS,
    action_failed,
    checked_range,
    invalid,
    loaded_entry,
    local_iso,
    location_zone,
    refuse_unpriced,
    rounded,
    shown,
    utc,
)

if TYPE_CHECKING:
    from .. import FlatpeakConfigEntry

SERVICE_GET_COST_REPORT = "get_cost_report"
SERVICE_GET_PRICES = "get_prices"
ATTR_DEVICE = "device_id"
ATTR_AGGREGATION = "aggregation"
ATTR_PERIOD = "period"

AGGREGATIONS = {"day": Aggregation.DAY, "month": Aggregation.MONTH}
PERIODS = ("today", "tomorrow")

GET_COST_REPORT_SCHEMA = vol.Schema(
    {
        vol.Required(ATTR_CONFIG_ENTRY): cv.string,
        vol.Optional(ATTR_DEVICE): cv.string,
        vol.Required(ATTR_START): cv.datetime,
        vol.Required(ATTR_END): cv.datetime,
        vol.Optional(ATTR_DIRECTION, default="import"): vol.In(list(DIRECTIONS)),
        vol.Optional(ATTR_AGGREGATION): vol.In(list(AGGREGATIONS)),
    }
)

GET_PRICES_SCHEMA = vol.Schema(
    {
        vol.Required(ATTR_CONFIG_ENTRY): cv.string,
        vol.Optional(ATTR_PERIOD): vol.In(PERIODS),
        vol.Optional(ATTR_START): cv.datetime,
        vol.Optional(ATTR_END): cv.datetime,
        vol.Optional(ATTR_DIRECTION, default=["import"]): vol.All(
            cv.ensure_list, vol.Length(min=1), [vol.In(list(DIRECTIONS))]
        ),
    }
)


def flatpeak_device(call: ServiceCall, entry: FlatpeakConfigEntry) -> str:
    """The Flatpeak id to report on: the chosen device, else the house meter, else the location.

    The location's own report would add up every device (a charger's energy twice, once in
    grid import), so the house meter is the default.
    """
    ids = {
        sub.data[CONF_DEVICE_ID]: sub
        for sub in entry.subentries.values()
        if sub.subentry_type in DEVICE_SUBENTRIES
    }
    if (device_id := call.data.get(ATTR_DEVICE)) is None:
        for flatpeak_id, subentry in ids.items():
            if subentry.subentry_type == SUBENTRY_HOUSE_METER:
                return str(flatpeak_id)
        return entry.runtime_data.location.id
    # The entry's devices as the registry lists them, on every supported line: a device's
    # own ``config_entries`` is deprecated (HA warns, and it goes in 2027.10).
    registry = dr.async_get(call.hass)
    devices = dr.async_entries_for_config_entry(registry, entry.entry_id)
    if (device := next((d for d in devices if d.id == device_id), None)) is not None:
        for domain, identifier in device.identifiers:
            if domain == DOMAIN and identifier in ids:
                return str(identifier)
    raise invalid("device_not_in_entry", device_id=shown(device_id), location=entry.title)


async def async_get_cost_report(call: ServiceCall) -> ServiceResponse:
    """Flatpeak's cost report of one device (or the location) for ``[start, end)``: one
    request, made only for a device of the entry and times within the years actions accept,
    at most :data:`MAX_REPORT_DAYS` apart."""
    entry = loaded_entry(call)
    object_id = flatpeak_device(call, entry)
    start, end = utc(call.data[ATTR_START], ATTR_START), utc(call.data[ATTR_END], ATTR_END)
    checked_range(start, end)
    direction = call.data[ATTR_DIRECTION]
    aggregation = call.data.get(ATTR_AGGREGATION)
    try:
        report = await entry.runtime_data.client.get_interval_cost(
            object_id,
            start,
            end,
            tariff_direction=DIRECTIONS[direction],
            aggregation=AGGREGATIONS[aggregation] if aggregation else None,
        )
    except FlatpeakError as err:
        raise action_failed(entry, err) from err
    rows = report.per_record().rows
    refuse_unpriced(rows)
    location = entry.runtime_data.location
    zone = (report.timezone and dt_util.get_time_zone(report.timezone)) or location_zone(entry)
    return {
        "currency": report.currency_code or location.currency_code,
        "timezone": str(zone),
        "direction": direction,
        "rows": [
            {
                "start": local_iso(row.start_time, zone),
                "end": local_iso(row.end_time, zone),
                "kwh": rounded(row.energy_wh / 1000),
                "cost": row.cost,
            }
            for row in rows
        ],
        "total_kwh": rounded(math.fsum(row.energy_wh for row in rows) / 1000),
        "total_cost": rounded(math.fsum(row.cost for row in rows)),
    }


def price_window(call: ServiceCall, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """``today``/``tomorrow`` as local days of the location, or ``start``/``end`` (times
    within the years actions accept, at most :data:`MAX_REPORT_DAYS` apart)."""
    period = call.data.get(ATTR_PERIOD)
    has_range = ATTR_START in call.data and ATTR_END in call.data
    partial = (ATTR_START in call.data) != (ATTR_END in call.data)
    if partial or (period is None) == (not has_range):
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="period_or_range")
    if period is not None:
        day = dt_util.now(zone).date() + timedelta(days=PERIODS.index(period))
        return _local_midnight(day, zone), _local_midnight(day + timedelta(days=1), zone)
    start, end = utc(call.data[ATTR_START], ATTR_START), utc(call.data[ATTR_END], ATTR_END)
    checked_range(start, end)
    return start, end


def _local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), zone).astimezone(dt_util.UTC)


async def async_get_prices(call: ServiceCall) -> ServiceResponse:
    """The price periods of ``[start, end)`` per direction (one request per direction, made
    only once the window is checked as :func:`price_window` says)."""
    entry = loaded_entry(call)
    zone = location_zone(entry)
    start, end = price_window(call, zone)
    location = entry.runtime_data.location
    response: dict[str, Any] = {
        "currency": location.currency_code,
        "timezone": str(zone),
        "start": local_iso(start, zone),
        "end": local_iso(end, zone),
    }
    for direction in dict.fromkeys(call.data[ATTR_DIRECTION]):
        try:
            prices = await entry.runtime_data.client.get_prices(
                location.id, end, start=start, tariff_direction=DIRECTIONS[direction]
            )
        except FlatpeakError as err:
            raise action_failed(entry, err, DIRECTIONS[direction]) from err
        response["currency"] = prices.currency_code or location.currency_code
        response[direction] = [
            {
                "start": local_iso(max(slot.valid_from, start), zone),
                "end": local_iso(min(slot.valid_to, end), zone),
                "price": slot.price,
            }
            for slot in prices.slots
            if slot.valid_to > start and slot.valid_from < end
        ]
    return response
