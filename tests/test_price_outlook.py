"""The price sensors' ``outlook``: the known price periods ahead, from the cached schedule."""

from __future__ import annotations

from datetime import datetime, timedelta
import itertools
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.recorder.history import get_significant_states
from homeassistant.core import HomeAssistant
from homeassistant.helpers.recorder import get_instance
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)

from custom_components.flatpeak.client import Prices, PriceSlot
from custom_components.flatpeak.prices.coordinator import OutlookPeriod, outlook
from tests.conftest import Emulator
from tests.test_emulator_schedules import dynamic_schedule
from tests.test_prices import (
    LONDON,
    MONDAY_3PM,
    jump,
    london,
    price_entities,
    price_requests,
    setup_entry,
    walk,
)

HALF_HOUR = timedelta(minutes=30)
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def shown(hass: HomeAssistant, entity_id: str) -> list[tuple[datetime, datetime, float]]:
    """The outlook as (start, end, price); every time whole seconds."""
    state = hass.states.get(entity_id)
    assert state is not None
    periods: list[tuple[datetime, datetime, float]] = []
    for item in state.attributes["outlook"]:
        assert set(item) == {"start", "end", "price"}
        assert "." not in item["start"]
        assert "." not in item["end"]
        periods.append(
            (
                datetime.fromisoformat(item["start"]),
                datetime.fromisoformat(item["end"]),
                item["price"],
            )
        )
    return periods


def joined(
    periods: list[tuple[datetime, datetime, float]],
) -> list[tuple[datetime, datetime, float]]:
    """Adjacent periods of one price as one."""
    out: list[tuple[datetime, datetime, float]] = []
    for start, end, price in periods:
        if out and out[-1][1] == start and out[-1][2] == price:
            out[-1] = (out[-1][0], end, price)
        else:
            out.append((start, end, price))
    return out


# -- the function, without Flatpeak ---------------------------------------------------------


def test_outlook_joins_equal_prices_keeps_gaps_and_stays_bounded() -> None:
    t = [MONDAY_3PM + timedelta(hours=h) for h in range(60)]

    def slots(*spans: tuple[int, int, float]) -> Prices:
        return Prices("GBP", None, None, [PriceSlot(t[a], t[b], p, 1.0) for a, b, p in spans])

    # In any order; the past left out; 0.2 from 1 to 3 in two slots is one period; a gap
    # stays a gap (no price is invented for it).
    schedule = slots((3, 4, 0.3), (0, 1, 0.1), (1, 2, 0.2), (2, 3, 0.2), (5, 6, 0.3))
    assert outlook(schedule, t[1] + timedelta(minutes=20)) == [
        OutlookPeriod(t[1], t[3], 0.2),
        OutlookPeriod(t[3], t[4], 0.3),
        OutlookPeriod(t[5], t[6], 0.3),
    ]
    # Between slots: from the next one to begin.
    assert outlook(schedule, t[4]) == [OutlookPeriod(t[5], t[6], 0.3)]
    assert outlook(schedule, t[6]) == []
    # 48 hours ahead at most: a slot that begins after that is not shown.
    far = slots((0, 47, 0.1), (47, 49, 0.2), (49, 59, 0.3))
    assert outlook(far, t[1]) == [OutlookPeriod(t[0], t[47], 0.1), OutlookPeriod(t[47], t[49], 0.2)]
    # Quarter-hours of alternating prices for three days: at most 192 periods, in order.
    start = MONDAY_3PM
    quarters = [
        PriceSlot(
            start + i * timedelta(minutes=15), start + (i + 1) * timedelta(minutes=15), i % 2, 1.0
        )
        for i in range(288)
    ]
    many = outlook(Prices("GBP", None, None, quarters), start)
    assert len(many) == 192
    assert many[0].start == start
    assert all(a.end == b.start for a, b in itertools.pairwise(many))


# -- the sensors ----------------------------------------------------------------------------


def tariff_price(schedule: list[dict[str, Any]], when: datetime) -> float:
    """The price of ``dynamic_schedule`` at a moment, read from the tariff as written: the
    London weekday's half-hour."""
    local = when.astimezone(LONDON)
    day = next(d for d in schedule[0]["days_and_hours"] if d["days"] == [WEEKDAYS[local.weekday()]])
    rate: float = day["hours"][local.hour * 2 + local.minute // 30]["rate"][0]["fixed"]
    return rate


async def test_outlook_is_the_tariffs_periods_ahead_and_not_recorded(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """A half-hourly market tariff: the import price's outlook is the tariff's own prices
    from the current period to as far as the schedule reaches, equal neighbours joined;
    it moves on at each boundary with no request, and the recorder keeps none of it."""
    schedule = dynamic_schedule(seed=21)
    location = emulator.state.add_location(emulator.account_id, address_line1="3 Market Row")
    emulator.state.add_tariff_element(location.id, "IMPORT", schedule)
    start = MONDAY_3PM + timedelta(minutes=10)
    entry = await setup_entry(hass, emulator, freezer, location_id=location.id, start=start)
    import_price, _ = price_entities(hass, entry)
    requests = price_requests(emulator, location.id)

    def expected(now: datetime) -> list[tuple[datetime, datetime, float]]:
        # Fetched at 15:10: from 24 h before 15:00 to 48 h after it.
        fetched = MONDAY_3PM
        halves = [fetched - timedelta(hours=24) + i * HALF_HOUR for i in range(144)]
        periods = joined([(h, h + HALF_HOUR, tariff_price(schedule, h)) for h in halves])
        return [p for p in periods if p[1] > now]

    periods = shown(hass, import_price)
    assert periods == expected(start)
    assert periods[0][0] <= start < periods[0][1]
    assert periods[-1][1] == MONDAY_3PM + timedelta(hours=48)
    assert all(a[1] == b[0] and a[2] != b[2] for a, b in itertools.pairwise(periods))
    state = hass.states.get(import_price)
    assert state is not None
    assert float(state.state) == periods[0][2]

    # An hour later, minute by minute: the outlook starts at the period valid then.
    later = start + timedelta(hours=1)
    await walk(hass, freezer, start, later)
    assert shown(hass, import_price) == expected(later)
    assert price_requests(emulator, location.id) == requests

    await async_wait_recording_done(hass)
    history = await get_instance(hass).async_add_executor_job(
        get_significant_states, hass, start - timedelta(minutes=1), None, [import_price]
    )
    assert history[import_price]
    for recorded in history[import_price]:
        assert "outlook" not in recorded.attributes  # type: ignore[union-attr]
        assert "unit_of_measurement" in recorded.attributes  # type: ignore[union-attr]


async def test_time_of_use_outlook_crosses_midnight_as_one_period(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """The demo's time-of-use tariff: its day rate from 19:00 to 00:30 is one period though
    Flatpeak's day ends at midnight; the flat export rate is one period to the schedule's end."""
    entry = await setup_entry(hass, emulator, freezer)
    import_price, export_price = price_entities(hass, entry)
    assert shown(hass, import_price)[:5] == [
        (london(2025, 6, 2, 4, 30), london(2025, 6, 2, 16, 0), 0.245),
        (london(2025, 6, 2, 16, 0), london(2025, 6, 2, 19, 0), 0.35),
        (london(2025, 6, 2, 19, 0), london(2025, 6, 3, 0, 30), 0.245),
        (london(2025, 6, 3, 0, 30), london(2025, 6, 3, 4, 30), 0.07),
        (london(2025, 6, 3, 4, 30), london(2025, 6, 3, 16, 0), 0.245),
    ]
    assert [price for _, _, price in shown(hass, export_price)] == [0.15]
    assert shown(hass, export_price)[0][1] == MONDAY_3PM + timedelta(hours=48)

    # At 16:00 the peak is first.
    await jump(hass, freezer, london(2025, 6, 2, 16, 0))
    assert shown(hass, import_price)[0] == (
        london(2025, 6, 2, 16, 0),
        london(2025, 6, 2, 19, 0),
        0.35,
    )
    assert dt_util.utcnow() == london(2025, 6, 2, 16, 0)
