"""The ``simulate_cost`` action: price an energy profile at Flatpeak without storing it.

Only ``POST /costs/instant?non_persistent=true`` is used: it is the documented simulation
path. A meter upload with some "don't store" flag would be stored as real data if Flatpeak
ignored the flag.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import datetime, timedelta
import math
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from homeassistant.components.recorder.statistics import get_metadata, statistics_during_period
from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse
from homeassistant.helpers import config_validation as cv, entity_registry as er
from homeassistant.helpers.recorder import get_instance
from homeassistant.util.unit_conversion import EnergyConverter

from ..client import (
    EnergyFlowDirection,
    EnergyUnits,
    FlatpeakError,
    InstantCost,
    MeterRecord,
    TariffDirection,
)
from ..compat import vol
from ..core.profile import MAX_INPUT_INTERVALS, Interval, ProfileError, checked, merged
from ..core.records import rows_from_statistics
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

SERVICE_SIMULATE_COST = "simulate_cost"
ATTR_INTERVALS = "intervals"
ATTR_ENTITY_ID = "entity_id"
ATTR_KWH = "kwh"

# Flatpeak publishes no rate limit; a few requests at a time keep a simulation polite.
MAX_IN_FLIGHT = 4
HOUR = timedelta(hours=1)

# An interval holds at most the energy this average power delivers over it: ten times a large
# home's supply (100 A on three phases, about 70 kW), more than a 350 kW rapid charger beside
# a house. No real profile comes near it; 1e308 kWh, or an hour's charging given in Wh, do not
# pass, and no sum of accepted intervals can overflow.
MAX_POWER_KW = 1000
# Meters and Home Assistant's statistics count in minutes at the finest.
MIN_INTERVAL = timedelta(minutes=1)
# A sensor's period, and a list's first start to last end: 10,000 hours, the most read.
MAX_SIMULATION_DAYS = MAX_INPUT_INTERVALS // 24

SIMULATE_COST_SCHEMA = vol.Schema(
    {
        vol.Required(ATTR_CONFIG_ENTRY): cv.string,
        # Read item by item in the action, after its length is checked.
        vol.Optional(ATTR_INTERVALS): list,
        vol.Optional(ATTR_ENTITY_ID): cv.entity_id,
        vol.Optional(ATTR_START): cv.datetime,
        vol.Optional(ATTR_END): cv.datetime,
        vol.Optional(ATTR_DIRECTION, default="import"): vol.In(list(DIRECTIONS)),
    }
)


def max_kwh(duration: timedelta) -> float:
    """The most energy an interval of ``duration`` may hold (:data:`MAX_POWER_KW` over it)."""
    return MAX_POWER_KW * duration.total_seconds() / 3600


def bounded(item: Interval, field: str, kwh_field: str) -> Interval:
    """``item``, or the refusal naming ``field`` (``kwh_field`` for its energy): not ending
    after it starts or shorter than :data:`MIN_INTERVAL`, an energy that is not finite,
    negative, or more than :func:`max_kwh` of its duration."""
    duration = item.end - item.start
    if duration <= timedelta(0):
        raise invalid("interval_end_before_start", field=field)
    if duration < MIN_INTERVAL:
        raise invalid("interval_too_short", field=field, seconds=int(MIN_INTERVAL.total_seconds()))
    if not math.isfinite(item.kwh):
        raise invalid("interval_kwh_not_a_number", field=kwh_field, value=item.kwh)
    if item.kwh < 0:
        raise invalid("interval_negative_kwh", field=kwh_field, value=item.kwh)
    if item.kwh > (limit := max_kwh(duration)):
        raise invalid(
            "interval_kwh_too_large",
            field=kwh_field,
            value=shown(item.kwh),
            duration=duration,
            limit=f"{limit:.6g}",
            power=MAX_POWER_KW,
        )
    return item


def _time(item: Mapping[str, Any], key: str, field: str) -> datetime:
    try:
        value = cv.datetime(item[key])
    except vol.Invalid as err:
        raise invalid("interval_not_a_time", field=field, value=shown(item[key])) from err
    return utc(value, field)


def _kwh(value: object, field: str) -> float:
    """A number of kWh (a number, or text of one); booleans and anything else are not."""
    if isinstance(value, int | float | str) and not isinstance(value, bool):
        try:
            return float(value)
        except (ValueError, OverflowError):  # not a number; an int too large for a float
            pass
    raise invalid("interval_kwh_not_a_number", field=field, value=shown(value))


def _listed(data: list[Any]) -> list[Interval]:
    """The user's intervals, each refused (naming it) as soon as it is read wrong."""
    if len(data) > MAX_INPUT_INTERVALS:
        raise invalid("profile_too_long", field=ATTR_INTERVALS, limit=MAX_INPUT_INTERVALS)
    intervals = []
    for index, item in enumerate(data):
        field = f"{ATTR_INTERVALS}[{index}]"
        if not isinstance(item, Mapping) or not {ATTR_START, ATTR_END, ATTR_KWH} <= item.keys():
            raise invalid("interval_incomplete", field=field)
        kwh_field = f"{field}.{ATTR_KWH}"
        interval = Interval(
            _time(item, ATTR_START, f"{field}.{ATTR_START}"),
            _time(item, ATTR_END, f"{field}.{ATTR_END}"),
            _kwh(item[ATTR_KWH], kwh_field),
        )
        intervals.append(bounded(interval, field, kwh_field))
    if intervals:
        span = max(i.end for i in intervals) - min(i.start for i in intervals)
        if span > timedelta(days=MAX_SIMULATION_DAYS):
            raise invalid("profile_span_too_long", field=ATTR_INTERVALS, days=MAX_SIMULATION_DAYS)
    return intervals


async def _from_statistics(
    hass: HomeAssistant, entity_id: str, start: datetime, end: datetime, zone: ZoneInfo
) -> list[Interval]:
    """The sensor's energy per hour (its hourly statistics' change) for hours starting in
    ``[start, end)``, ``start`` rounded down to the hour; an hour out of bounds is refused."""
    if hass.states.get(entity_id) is None and er.async_get(hass).async_get(entity_id) is None:
        raise invalid("entity_not_found", entity_id=shown(entity_id))
    recorder = get_instance(hass)
    metadata = await recorder.async_add_executor_job(
        lambda: get_metadata(hass, statistic_ids={entity_id})
    )
    if entity_id not in metadata:
        raise invalid("entity_no_statistics", entity_id=entity_id)
    unit = metadata[entity_id][1].get("unit_of_measurement")
    if unit not in EnergyConverter.VALID_UNITS or not metadata[entity_id][1].get("has_sum"):
        raise invalid("entity_not_energy", entity_id=entity_id, unit=unit)
    first = start.replace(minute=0, second=0, microsecond=0)
    rows = await recorder.async_add_executor_job(
        statistics_during_period,
        hass,
        first,
        end,
        {entity_id},
        "hour",
        {"energy": "kWh"},
        {"change"},
    )
    intervals = []
    for row in rows_from_statistics(rows.get(entity_id, [])):
        hour = f"{shown(entity_id)}, hour from {local_iso(row.start, zone)}"
        intervals.append(bounded(Interval(row.start, row.start + HOUR, row.kwh), hour, hour))
    if not intervals:
        raise invalid("entity_no_statistics_in_period", entity_id=entity_id)
    return intervals


async def _profile(call: ServiceCall, zone: ZoneInfo) -> list[Interval]:
    """The call's profile, from its list or its sensor (exactly one of them)."""
    listed = call.data.get(ATTR_INTERVALS)
    entity_id = call.data.get(ATTR_ENTITY_ID)
    if (listed is None) == (entity_id is None):
        raise invalid("profile_source")
    if listed is not None:
        if ATTR_START in call.data or ATTR_END in call.data:
            raise invalid("profile_source")
        return _listed(listed)
    if ATTR_START not in call.data or ATTR_END not in call.data:
        raise invalid("profile_source")
    start = utc(call.data[ATTR_START], ATTR_START)
    end = utc(call.data[ATTR_END], ATTR_END)
    checked_range(start, end, MAX_SIMULATION_DAYS, "simulation_range_too_long")
    return await _from_statistics(call.hass, str(entity_id), start, end, zone)


async def price_profile(
    entry: FlatpeakConfigEntry, intervals: list[Interval], direction: TariffDirection
) -> list[InstantCost]:
    """One non-persistent instant cost per interval, at most :data:`MAX_IN_FLIGHT` at a time,
    in the order given. The first Flatpeak error is raised once every request has ended."""
    client = entry.runtime_data.client
    location_id = entry.runtime_data.location.id
    flow = (
        EnergyFlowDirection.OUTBOUND
        if direction is TariffDirection.EXPORT
        else EnergyFlowDirection.INBOUND
    )
    gate = asyncio.Semaphore(MAX_IN_FLIGHT)

    async def price(item: Interval) -> InstantCost:
        record = MeterRecord(
            location_id=location_id,
            start_time=item.start,
            end_time=item.end,
            value=item.kwh,
            units=EnergyUnits.KWH,
            energy_flow_direction=flow,
            tariff_direction=direction,
        )
        async with gate:
            return await client.get_instant_cost(record, non_persistent=True)

    answers = await asyncio.gather(*(price(item) for item in intervals), return_exceptions=True)
    for answer in answers:
        if isinstance(answer, BaseException):
            raise answer
    return [answer for answer in answers if isinstance(answer, InstantCost)]


async def async_simulate_cost(call: ServiceCall) -> ServiceResponse:
    """What the profile would cost on the location's tariff; nothing is stored at Flatpeak.

    Refused before any request (naming the field and the limit): more than
    :data:`MAX_INPUT_INTERVALS` intervals, an interval that is not ``{start, end, kwh}``, a
    time outside the years actions accept, an interval shorter than :data:`MIN_INTERVAL`, an
    energy that is not a finite number, negative or more than :func:`max_kwh`, a profile
    longer than :data:`MAX_SIMULATION_DAYS`, and overlapping intervals.
    """
    entry = loaded_entry(call)
    zone = location_zone(entry)
    try:
        profile = merged(checked(await _profile(call, zone)))
    except ProfileError as err:
        at = "" if err.index is None else err.index
        field = ATTR_INTERVALS if err.index is None else f"{ATTR_INTERVALS}[{at}]"
        raise invalid(err.key, field=field, index=at, limit=MAX_INPUT_INTERVALS) from err
    direction = call.data[ATTR_DIRECTION]
    try:
        costs = await price_profile(entry, profile, DIRECTIONS[direction])
    except FlatpeakError as err:
        raise action_failed(entry, err, DIRECTIONS[direction]) from err
    refuse_unpriced([cost.row for cost in costs])
    currency = next((c.currency_code for c in costs if c.currency_code), None)
    return {
        "currency": currency or entry.runtime_data.location.currency_code,
        "timezone": str(zone),
        "direction": direction,
        "total_kwh": rounded(sum(item.kwh for item in profile)),
        "total_cost": rounded(sum(cost.row.cost for cost in costs)),
        "intervals": [
            {
                "start": local_iso(item.start, zone),
                "end": local_iso(item.end, zone),
                "kwh": rounded(item.kwh),
                "cost": cost.row.cost,
            }
            for item, cost in zip(profile, costs, strict=True)
        ],
    }
