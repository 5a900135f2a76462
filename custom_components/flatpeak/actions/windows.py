"""``find_cheapest_window``: Flatpeak's cheapest (or dearest) slots of a window, once.

Nothing is stored and no entity changes: a script asks, e.g. "the cheapest 4 hours before
07:00", and gets the slots. Everything is checked before the one request to Flatpeak.
"""

from __future__ import annotations

from datetime import timedelta
import math
from typing import Any

from homeassistant.core import ServiceCall, ServiceResponse
from homeassistant.helpers import config_validation as cv
from homeassistant.util import dt as dt_util

from ..client import MAX_SCHEDULE_WINDOW, FlatpeakError, Schedule, ScheduleSegment
from ..compat import vol
from ..core.cheap_windows import average_price, floor_minute
from .helpers import (
    ATTR_CONFIG_ENTRY,
    ATTR_DIRECTION,
    ATTR_END,
    ATTR_START,
    DIRECTIONS,
    action_failed,
    invalid,
    loaded_entry,
    local_iso,
    location_zone,
    utc,
)

SERVICE_FIND_CHEAPEST_WINDOW = "find_cheapest_window"
ATTR_DURATION = "duration"
ATTR_RELATIVE_LIMIT = "relative_limit"
ATTR_PRICE_LIMIT = "price_limit"
ATTR_MODE = "mode"
SEARCHES = (ATTR_DURATION, ATTR_RELATIVE_LIMIT, ATTR_PRICE_LIMIT)
MODES = {"cheapest": ScheduleSegment.LOW, "dearest": ScheduleSegment.HIGH}
# Export and import only: Flatpeak searches no local (solar) prices.
WINDOW_DIRECTIONS = ("import", "export")
DEFAULT_LENGTH = timedelta(hours=24)
# A start this far in the past is taken as now (a script's "now" is a moment old when it
# arrives); earlier, the past cannot be planned.
PAST_GRACE = timedelta(minutes=5)

FIND_CHEAPEST_WINDOW_SCHEMA = vol.Schema(
    {
        vol.Required(ATTR_CONFIG_ENTRY): cv.string,
        vol.Optional(ATTR_DURATION): cv.positive_time_period,
        vol.Optional(ATTR_RELATIVE_LIMIT): vol.Coerce(float),
        vol.Optional(ATTR_PRICE_LIMIT): vol.Coerce(float),
        vol.Optional(ATTR_START): cv.datetime,
        vol.Optional(ATTR_END): cv.datetime,
        vol.Optional(ATTR_MODE, default="cheapest"): vol.In(list(MODES)),
        vol.Optional(ATTR_DIRECTION, default="import"): vol.In(list(WINDOW_DIRECTIONS)),
    }
)


async def async_find_cheapest_window(call: ServiceCall) -> ServiceResponse:
    """The slots of ``[start, end)`` (default now → 24 hours later) that add up to
    ``duration``, or that are within ``relative_limit`` % of the window's price range, or at or
    below ``price_limit`` (above, for dearest)."""
    entry = loaded_entry(call)
    given = [field for field in SEARCHES if call.data.get(field) is not None]
    if len(given) != 1:
        raise invalid("one_search", fields=", ".join(SEARCHES))
    search = given[0]
    now = floor_minute(dt_util.utcnow())
    start = utc(call.data[ATTR_START], ATTR_START) if ATTR_START in call.data else now
    if start < now - PAST_GRACE:
        raise invalid("start_in_the_past", field=ATTR_START)
    start = max(start, now)
    end = utc(call.data[ATTR_END], ATTR_END) if ATTR_END in call.data else start + DEFAULT_LENGTH
    if end <= start:
        raise invalid("end_before_start", field=ATTR_END)
    if end - start > MAX_SCHEDULE_WINDOW:
        raise invalid("window_too_long", field=ATTR_END, days=MAX_SCHEDULE_WINDOW.days)
    window_minutes = int((end - start).total_seconds() // 60)
    kwargs: dict[str, Any] = {}
    if search == ATTR_DURATION:
        duration: timedelta = call.data[ATTR_DURATION]
        if duration.total_seconds() % 60 or duration < timedelta(minutes=1):
            raise invalid("duration_whole_minutes", field=ATTR_DURATION)
        minutes = int(duration.total_seconds() // 60)
        if minutes > window_minutes:
            raise invalid("duration_too_long", field=ATTR_DURATION, minutes=window_minutes)
        kwargs["duration_minutes"] = minutes
    elif search == ATTR_RELATIVE_LIMIT:
        share = call.data[ATTR_RELATIVE_LIMIT]
        if not math.isfinite(share) or not 1 <= share <= 100:
            raise invalid("relative_limit_range", field=ATTR_RELATIVE_LIMIT)
        kwargs["relative"] = share / 100
    else:
        price = call.data[ATTR_PRICE_LIMIT]
        if not math.isfinite(price):
            raise invalid("price_limit_number", field=ATTR_PRICE_LIMIT)
        kwargs["absolute"] = price
    direction = DIRECTIONS[call.data[ATTR_DIRECTION]]
    segment = MODES[call.data[ATTR_MODE]]
    client, location = entry.runtime_data.client, entry.runtime_data.location
    try:
        schedule: Schedule
        if search == ATTR_DURATION:
            schedule = await client.find_duration_slots(
                location.id, start, end, segment=segment, tariff_direction=direction, **kwargs
            )
        else:
            schedule = await client.find_limit_slots(
                location.id, start, end, segment=segment, tariff_direction=direction, **kwargs
            )
    except FlatpeakError as err:
        raise action_failed(entry, err, direction) from err
    zone = location_zone(entry)
    slots = schedule.slots
    minutes = sum(int((s.end - s.start).total_seconds() // 60) for s in slots)
    return {
        "start": local_iso(start, zone),
        "end": local_iso(end, zone),
        "mode": call.data[ATTR_MODE],
        "direction": call.data[ATTR_DIRECTION],
        "currency": schedule.currency_code or location.currency_code,
        "slots": [
            {
                "start": local_iso(slot.start, zone),
                "end": local_iso(slot.end, zone),
                "average_price": slot.average_price,
                "confidence": slot.confidence,
            }
            for slot in slots
        ],
        "average_price": average_price(slots),
        "total_minutes": minutes,
        "next_update": local_iso(schedule.next_update, zone) if schedule.next_update else None,
    }
