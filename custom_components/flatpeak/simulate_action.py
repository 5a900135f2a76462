"""The ``simulate_cost`` action: price an energy profile at Flatpeak without storing it.

Only ``POST /costs/instant?non_persistent=true`` is used: it is the documented simulation
path. A meter upload with some "don't store" flag would be stored as real data if Flatpeak
ignored the flag.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from homeassistant.components.recorder.statistics import get_metadata, statistics_during_period
from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv, entity_registry as er
from homeassistant.helpers.recorder import get_instance
from homeassistant.util.unit_conversion import EnergyConverter

from .action_helpers import (
    ATTR_CONFIG_ENTRY,
    ATTR_DIRECTION,
    ATTR_END,
    ATTR_START,
    DIRECTIONS,
    action_failed,
    checked_range,
    loaded_entry,
    local_iso,
    location_zone,
    rounded,
    utc,
)
from .client import (
    EnergyFlowDirection,
    EnergyUnits,
    FlatpeakError,
    InstantCost,
    MeterRecord,
    TariffDirection,
)
from .compat import vol
from .const import DOMAIN
from .planner import rows_from_statistics
from .profile import MAX_INPUT_INTERVALS, Interval, ProfileError, checked, merged

if TYPE_CHECKING:
    from . import FlatpeakConfigEntry

SERVICE_SIMULATE_COST = "simulate_cost"
ATTR_INTERVALS = "intervals"
ATTR_ENTITY_ID = "entity_id"
ATTR_KWH = "kwh"

# Flatpeak publishes no rate limit; a few requests at a time keep a simulation polite.
MAX_IN_FLIGHT = 4
HOUR = timedelta(hours=1)

SIMULATE_COST_SCHEMA = vol.Schema(
    {
        vol.Required(ATTR_CONFIG_ENTRY): cv.string,
        vol.Optional(ATTR_INTERVALS): [
            vol.Schema(
                {
                    vol.Required(ATTR_START): cv.datetime,
                    vol.Required(ATTR_END): cv.datetime,
                    vol.Required(ATTR_KWH): vol.Coerce(float),
                }
            )
        ],
        vol.Optional(ATTR_ENTITY_ID): cv.entity_id,
        vol.Optional(ATTR_START): cv.datetime,
        vol.Optional(ATTR_END): cv.datetime,
        vol.Optional(ATTR_DIRECTION, default="import"): vol.In(list(DIRECTIONS)),
    }
)


def _invalid(key: str, **placeholders: str) -> ServiceValidationError:
    return ServiceValidationError(
        translation_domain=DOMAIN, translation_key=key, translation_placeholders=placeholders
    )


def _listed(data: list[dict[str, Any]]) -> list[Interval]:
    if len(data) > MAX_INPUT_INTERVALS:
        raise ProfileError("profile_too_long")
    return [Interval(utc(item[ATTR_START]), utc(item[ATTR_END]), item[ATTR_KWH]) for item in data]


async def _from_statistics(
    hass: HomeAssistant, entity_id: str, start: datetime, end: datetime
) -> list[Interval]:
    """The sensor's energy per hour (its hourly statistics' change) for hours starting in
    ``[start, end)``, ``start`` rounded down to the hour."""
    if hass.states.get(entity_id) is None and er.async_get(hass).async_get(entity_id) is None:
        raise _invalid("entity_not_found", entity_id=entity_id)
    recorder = get_instance(hass)
    metadata = await recorder.async_add_executor_job(
        lambda: get_metadata(hass, statistic_ids={entity_id})
    )
    if entity_id not in metadata:
        raise _invalid("entity_no_statistics", entity_id=entity_id)
    unit = metadata[entity_id][1].get("unit_of_measurement")
    if unit not in EnergyConverter.VALID_UNITS or not metadata[entity_id][1].get("has_sum"):
        raise _invalid("entity_not_energy", entity_id=entity_id, unit=str(unit))
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
    intervals = [
        Interval(row.start, row.start + HOUR, row.kwh)
        for row in rows_from_statistics(rows.get(entity_id, []))
    ]
    if not intervals:
        raise _invalid("entity_no_statistics_in_period", entity_id=entity_id)
    return intervals


async def _profile(call: ServiceCall) -> list[Interval]:
    """The call's profile, from its list or its sensor (exactly one of them)."""
    listed = call.data.get(ATTR_INTERVALS)
    entity_id = call.data.get(ATTR_ENTITY_ID)
    if (listed is None) == (entity_id is None):
        raise _invalid("profile_source")
    if listed is not None:
        if ATTR_START in call.data or ATTR_END in call.data:
            raise _invalid("profile_source")
        return _listed(listed)
    if ATTR_START not in call.data or ATTR_END not in call.data:
        raise _invalid("profile_source")
    start, end = utc(call.data[ATTR_START]), utc(call.data[ATTR_END])
    checked_range(start, end, MAX_INPUT_INTERVALS // 24, "simulation_range_too_long")
    return await _from_statistics(call.hass, str(entity_id), start, end)


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
    """What the profile would cost on the location's tariff; nothing is stored at Flatpeak."""
    entry = loaded_entry(call)
    try:
        profile = merged(checked(await _profile(call)))
    except ProfileError as err:
        raise _invalid(
            err.key,
            index=str(err.index if err.index is not None else ""),
            limit=str(MAX_INPUT_INTERVALS),
        ) from err
    direction = call.data[ATTR_DIRECTION]
    try:
        costs = await price_profile(entry, profile, DIRECTIONS[direction])
    except FlatpeakError as err:
        raise action_failed(entry, err) from err
    zone = location_zone(entry)
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
