"""The emulator's schedule endpoints over real HTTP, checked against its own price list.

Every answer is compared with a brute-force reading of ``POST /prices`` for the same window:
each minute's time-weighted price from the listed periods, then the defining property of the
answer (the chosen minutes are the cheapest, equal prices the earliest; a limit takes every
minute at or beyond it), so the check does not repeat the emulator's algorithm.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
import random
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient
import pytest

from tests.emulator import DEMO, EmulatorState, create_app
from tests.emulator.demo import flat_schedule
from tests.emulator.engine import RateSegment
from tests.emulator.schedules import (
    cheapest_minutes,
    limit_minutes,
    merge_minutes,
    minute_prices,
    relative_values,
)
from tests.test_emulator_api import Api, Clock, assert_error

NOW = datetime(2025, 8, 1, 12, 0, tzinfo=UTC)  # a Friday, BST
MINUTE = timedelta(minutes=1)
DAY = {"start_time": "2025-08-01T12:00:00Z", "end_time": "2025-08-02T12:00:00Z"}


@pytest.fixture(autouse=True)
def _loopback(socket_enabled: None) -> None:
    """The HA test harness blocks sockets; these tests talk HTTP over loopback."""


@pytest.fixture
async def api(
    aiohttp_client: Callable[..., Awaitable[TestClient[web.Request, web.Application]]],
) -> Api:
    """The emulator with the demo account (UK time of use), its clock at NOW, logged in."""
    clock = Clock(NOW)
    state = EmulatorState(now=clock)
    demo = state.seed_demo()
    result = Api(await aiohttp_client(create_app(state)), state, clock, demo)
    await result.login()
    return result


def dynamic_schedule(seed: int = 7) -> list[dict[str, Any]]:
    """A market-like tariff: 48 half-hour prices per weekday, some negative, some repeated."""
    generator = random.Random(seed)
    days = []
    for day in ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"):
        hours = []
        for half in range(48):
            start = f"{half // 2:02d}:{30 * (half % 2):02d}:00"
            end = (
                "00:00:00"
                if half == 47
                else f"{(half + 1) // 2:02d}:{30 * ((half + 1) % 2):02d}:00"
            )
            # Prices on a 1p grid from -5p to 40p: ties are common, like a real day ahead.
            rate = generator.randint(-5, 40) / 100
            hours.append({"valid_from": start, "valid_to": end, "rate": [{"fixed": rate}]})
        days.append({"days": [day], "hours": hours})
    return [{"months": ["All"], "days_and_hours": days}]


def location_with(api: Api, schedule: list[dict[str, Any]], direction: str = "IMPORT") -> str:
    """A new GB location of the demo account with one tariff element."""
    location = api.state.add_location(api.demo["account_id"])
    api.state.add_tariff_element(location.id, direction, schedule)
    return location.id


TARIFFS: dict[str, Callable[[], list[dict[str, Any]]] | None] = {
    "fixed": lambda: flat_schedule(0.3),
    "time_of_use": None,  # the demo location's own
    "dynamic": dynamic_schedule,
}


async def tariff_location(api: Api, tariff: str) -> str:
    """The location priced by ``tariff``."""
    make = TARIFFS[tariff]
    return api.location_id if make is None else location_with(api, make())


def parse(value: str) -> datetime:
    """An RFC 3339 time of an answer."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def minute_list(
    api: Api, location_id: str, window: dict[str, str], direction: str = "IMPORT"
) -> list[tuple[datetime, float]]:
    """Brute force from ``POST /prices``: every whole minute of the window and its price."""
    answer = await api.call(
        "POST", f"/prices/{location_id}", {**window, "tariff_direction": direction}
    )
    periods = [
        (parse(p["valid_from"]), parse(p["valid_to"]), p["price"]["value"]) for p in answer["data"]
    ]
    start, end = parse(window["start_time"]), parse(window["end_time"])
    minutes = []
    moment = start
    while moment + MINUTE <= end:
        seconds = [
            (min(to, moment + MINUTE) - max(since, moment)).total_seconds() * value
            for since, to, value in periods
            if since < moment + MINUTE and to > moment
        ]
        minutes.append((moment, round(sum(seconds) / 60, 6)))
        moment += MINUTE
    return minutes


def chosen_minutes(answer: dict[str, Any]) -> list[datetime]:
    """Every minute the answer's slots cover, checking the slots' own shape on the way."""
    found: list[datetime] = []
    previous_end: datetime | None = None
    for slot in answer["data"]:
        start, end = parse(slot["start_time"]), parse(slot["end_time"])
        assert start < end
        # Merged: slots are in order and never touch.
        assert previous_end is None or start > previous_end, answer["data"]
        previous_end = end
        assert set(slot["price"]) == {"average", "confidence"}
        assert slot["price"]["confidence"] == 1
        moment = start
        while moment < end:
            found.append(moment)
            moment += MINUTE
        assert moment == end, "a slot is whole minutes"
    return found


def check_averages(answer: dict[str, Any], prices: dict[datetime, float]) -> None:
    """Each slot's average is the time-weighted mean of its minutes' prices."""
    for slot in answer["data"]:
        start, end = parse(slot["start_time"]), parse(slot["end_time"])
        minutes = [prices[start + k * MINUTE] for k in range(int((end - start) / MINUTE))]
        assert slot["price"]["average"] == pytest.approx(sum(minutes) / len(minutes), abs=2e-6)


def check_duration(
    answer: dict[str, Any], minutes: list[tuple[datetime, float]], duration: int, segment: str
) -> None:
    """Exactly ``duration`` minutes, none beaten by a minute left out (equal: earlier wins)."""
    prices = dict(minutes)
    chosen = chosen_minutes(answer)
    assert len(chosen) == duration
    assert set(chosen) <= set(prices)
    chosen_set = set(chosen)
    sign = 1 if segment == "LOW" else -1
    worst_in = max(((sign * prices[m], m) for m in chosen), default=None)
    best_out = min(((sign * p, m) for m, p in minutes if m not in chosen_set), default=None)
    if worst_in is not None and best_out is not None:
        assert worst_in < best_out, (worst_in, best_out)
    check_averages(answer, prices)


def limit_set(
    minutes: list[tuple[datetime, float]],
    segment: str,
    *,
    relative: float | None = None,
    absolute: float | None = None,
) -> list[datetime]:
    """Brute force: the minutes at or beyond the limit, the scale read from the price list."""
    prices = [p for _, p in minutes]
    low, high = min(prices), max(prices)

    def value(price: float) -> float:
        if absolute is not None:
            return price
        if high == low:
            return relative  # type: ignore[return-value]  # every minute is at both ends
        return round(0.01 + 0.99 * (price - low) / (high - low), 6)

    limit = absolute if absolute is not None else relative
    assert limit is not None
    if segment == "LOW":
        return [m for m, p in minutes if value(p) <= limit]
    return [m for m, p in minutes if value(p) >= limit]


async def duration_call(
    api: Api, location_id: str, window: dict[str, str], **fields: Any
) -> dict[str, Any]:
    body = {**window, **fields}
    answer: dict[str, Any] = await api.call("POST", f"/schedules/duration/{location_id}", body)
    return answer


async def limit_call(
    api: Api, location_id: str, window: dict[str, str], **fields: Any
) -> dict[str, Any]:
    body = {**window, **fields}
    answer: dict[str, Any] = await api.call("POST", f"/schedules/limit/{location_id}", body)
    return answer


# --- duration -----------------------------------------------------------------------------

WINDOWS = {
    "day": DAY,
    "evening_to_morning": {
        "start_time": "2025-08-01T18:00:00+01:00",
        "end_time": "2025-08-02T07:00:00+01:00",
    },
    "three_days": {"start_time": "2025-08-01T00:00:00Z", "end_time": "2025-08-04T00:00:00Z"},
    "spring_forward_night": {
        "start_time": "2025-03-29T18:00:00Z",
        "end_time": "2025-03-30T07:00:00+01:00",
    },
    "fall_back_night": {
        "start_time": "2025-10-25T18:00:00+01:00",
        "end_time": "2025-10-26T07:00:00Z",
    },
    "odd_seconds": {"start_time": "2025-08-01T00:29:30Z", "end_time": "2025-08-01T05:10:45Z"},
}


@pytest.mark.parametrize("tariff", list(TARIFFS))
@pytest.mark.parametrize("window", list(WINDOWS))
@pytest.mark.parametrize("segment", ["LOW", "HIGH"])
@pytest.mark.parametrize("duration", [1, 45, 180, 601])
async def test_duration_matches_brute_force(
    api: Api, tariff: str, window: str, segment: str, duration: int
) -> None:
    """Cheapest/dearest minutes totalling the duration, for every tariff and window."""
    location_id = await tariff_location(api, tariff)
    minutes = await minute_list(api, location_id, WINDOWS[window])
    duration = min(duration, len(minutes))
    answer = await duration_call(
        api, location_id, WINDOWS[window], segment=segment, duration=duration
    )
    check_duration(answer, minutes, duration, segment)
    assert "duration" not in answer


@pytest.mark.parametrize("tariff", list(TARIFFS))
@pytest.mark.parametrize("window", list(WINDOWS))
@pytest.mark.parametrize("segment", ["LOW", "HIGH"])
@pytest.mark.parametrize(
    "limit",
    [{"relative": 0.01}, {"relative": 0.3}, {"relative": 1}, {"absolute": 0.1}, {"absolute": 0.3}],
    ids=["rel0.01", "rel0.3", "rel1", "abs0.1", "abs0.3"],
)
async def test_limit_matches_brute_force(
    api: Api, tariff: str, window: str, segment: str, limit: dict[str, float]
) -> None:
    """Every minute at or beyond the limit; ``duration`` counts them."""
    location_id = await tariff_location(api, tariff)
    minutes = await minute_list(api, location_id, WINDOWS[window])
    answer = await limit_call(api, location_id, WINDOWS[window], segment=segment, **limit)
    expected = limit_set(minutes, segment, **limit)
    assert chosen_minutes(answer) == expected
    assert answer["duration"] == len(expected)
    check_averages(answer, dict(minutes))


async def test_cheapest_three_hours_tonight(api: Api) -> None:
    """The demo tariff's off-peak 00:30-04:30: three hours from its start, in one slot."""
    answer = await duration_call(
        api, api.location_id, WINDOWS["evening_to_morning"], segment="LOW", duration=180
    )
    assert answer["data"] == [
        {
            "start_time": "2025-08-02T00:30:00+01:00",
            "end_time": "2025-08-02T03:30:00+01:00",
            "price": {"average": 0.07, "confidence": 1},
        }
    ]


async def test_dst_nights(api: Api) -> None:
    """Off-peak is 3 hours on the spring-forward night and 5 on the fall-back night."""
    spring = await duration_call(
        api, api.location_id, WINDOWS["spring_forward_night"], segment="LOW", duration=240
    )
    # 00:30 GMT -> 04:30 BST is 00:30Z -> 03:30Z; the other hour is the earliest standard one.
    assert [(s["start_time"], s["end_time"], s["price"]["average"]) for s in spring["data"]] == [
        ("2025-03-29T19:00:00+01:00", "2025-03-29T20:00:00+01:00", 0.245),
        ("2025-03-30T01:30:00+01:00", "2025-03-30T04:30:00+01:00", 0.07),
    ]
    fall = await duration_call(
        api, api.location_id, WINDOWS["fall_back_night"], segment="LOW", duration=300
    )
    # 00:30 BST -> 04:30 GMT is 23:30Z -> 04:30Z: five hours at 0.07.
    assert fall["data"] == [
        {
            "start_time": "2025-10-25T23:30:00Z",
            "end_time": "2025-10-26T04:30:00Z",
            "price": {"average": 0.07, "confidence": 1},
        }
    ]


async def test_ties_go_to_the_earliest_minutes(api: Api) -> None:
    """A fixed tariff: the first minutes of the window, whatever the segment."""
    location_id = location_with(api, flat_schedule(0.3))
    for segment in ("LOW", "HIGH"):
        answer = await duration_call(api, location_id, DAY, segment=segment, duration=90)
        assert answer["data"] == [
            {
                "start_time": "2025-08-01T12:00:00Z",
                "end_time": "2025-08-01T13:30:00Z",
                "price": {"average": 0.3, "confidence": 1},
            }
        ]
    # Demo Saturday: 4 h off-peak, then 30 minutes of standard price: the earliest ones.
    saturday = {"start_time": "2025-08-02T00:00:00+01:00", "end_time": "2025-08-03T00:00:00+01:00"}
    answer = await duration_call(api, api.location_id, saturday, segment="LOW", duration=270)
    assert [(s["start_time"], s["end_time"]) for s in answer["data"]] == [
        ("2025-08-02T00:00:00+01:00", "2025-08-02T04:30:00+01:00")
    ]
    assert answer["data"][0]["price"]["average"] == round((30 * 0.245 + 240 * 0.07) / 270, 6)


async def test_a_minute_across_a_rate_change_is_time_weighted(api: Api) -> None:
    """Steps count from start_time: the minute 23:29:30-23:30:30 Z is half standard, half
    off-peak (the off-peak starts at 00:30 BST)."""
    window = {"start_time": "2025-08-01T23:29:30Z", "end_time": "2025-08-01T23:31:30Z"}
    answer = await limit_call(api, api.location_id, window, segment="LOW", absolute=1)
    assert answer["data"] == [
        {
            "start_time": "2025-08-01T23:29:30Z",
            "end_time": "2025-08-01T23:31:30Z",
            "price": {"average": round((0.1575 + 0.07) / 2, 6), "confidence": 1},
        }
    ]
    high = await duration_call(api, api.location_id, window, segment="HIGH", duration=1)
    assert high["data"][0]["price"]["average"] == 0.1575
    assert high["data"][0]["end_time"] == "2025-08-01T23:30:30Z"
    # A remainder shorter than a minute is not searched.
    short = {"start_time": "2025-08-01T12:00:00Z", "end_time": "2025-08-01T12:02:59Z"}
    answer = await limit_call(api, api.location_id, short, segment="LOW", relative=1)
    assert answer["data"][-1]["end_time"] == "2025-08-01T12:02:00Z"
    assert answer["duration"] == 2


# --- limits -------------------------------------------------------------------------------


async def test_limits_are_inclusive(api: Api) -> None:
    """A minute exactly at the limit is chosen, on both scales and both segments."""
    # Demo Friday: min 0.07, max 0.35, standard 0.245 sits at 0.01 + 0.99 * 0.625.
    standard = 0.01 + 0.99 * 0.625
    low = await limit_call(api, api.location_id, DAY, segment="LOW", relative=standard)
    assert {s["price"]["average"] for s in low["data"]} >= {0.245}
    assert all(s["price"]["average"] < 0.35 for s in low["data"])
    assert low["duration"] == 24 * 60 - 180
    high = await limit_call(api, api.location_id, DAY, segment="HIGH", relative=standard)
    assert high["duration"] == 24 * 60 - 240
    absolute = await limit_call(api, api.location_id, DAY, segment="LOW", absolute=0.07)
    assert absolute["duration"] == 240
    absolute = await limit_call(api, api.location_id, DAY, segment="HIGH", absolute=0.35)
    assert absolute["duration"] == 180
    none = await limit_call(api, api.location_id, DAY, segment="LOW", absolute=0.069)
    assert (none["data"], none["duration"]) == ([], 0)


async def test_absolute_overrides_relative(api: Api) -> None:
    """With both, the absolute price decides."""
    both = await limit_call(api, api.location_id, DAY, segment="LOW", relative=1, absolute=0.07)
    assert both["duration"] == 240
    assert both["request"] == {**DAY, "segment": "LOW", "relative": 1, "absolute": 0.07}


async def test_a_flat_window_is_both_lowest_and_highest(api: Api) -> None:
    """With one price the relative scale has no width: every minute qualifies."""
    location_id = location_with(api, flat_schedule(0.3))
    for segment, relative in (("LOW", 0.01), ("HIGH", 1)):
        answer = await limit_call(api, location_id, DAY, segment=segment, relative=relative)
        assert answer["duration"] == 24 * 60
        assert len(answer["data"]) == 1


async def test_export_schedules(api: Api) -> None:
    """EXPORT prices the export tariff; dearest export minutes of a dynamic export tariff."""
    location_id = location_with(api, flat_schedule(0.2))
    api.state.add_tariff_element(location_id, "EXPORT", dynamic_schedule(3))
    minutes = await minute_list(api, location_id, DAY, "EXPORT")
    answer = await duration_call(
        api, location_id, DAY, segment="HIGH", duration=120, tariff_direction="EXPORT"
    )
    assert answer["tariff_direction"] == "EXPORT"
    check_duration(answer, minutes, 120, "HIGH")
    demo = await limit_call(
        api, api.location_id, DAY, segment="HIGH", relative=0.5, tariff_direction="EXPORT"
    )
    assert demo["duration"] == 24 * 60
    assert {s["price"]["average"] for s in demo["data"]} == {DEMO.export_rate}


# --- the answer ---------------------------------------------------------------------------


async def test_answer_shape(api: Api) -> None:
    """The documented fields; ids std_/spl_; the body echoed; next_update at local midnight."""
    body = {**DAY, "segment": "LOW", "duration": 60}
    answer = await api.call("POST", f"/schedules/duration/{api.location_id}", body)
    assert set(answer) == {
        "id",
        "object",
        "live_mode",
        "location_id",
        "location_timezone",
        "currency_code",
        "tariff_direction",
        "next_update",
        "request",
        "data",
        "time_created",
        "account_id",
    }
    assert answer["id"].startswith("std_")
    assert len(answer["id"]) == 28
    assert answer["object"] == "schedule_duration"
    assert answer["live_mode"] is False
    assert answer["location_id"] == api.location_id
    assert answer["location_timezone"] == "Europe/London"
    assert answer["currency_code"] == "GBP"
    assert answer["tariff_direction"] == "IMPORT"  # the default
    assert answer["request"] == body
    assert answer["next_update"] == "2025-08-01T23:00:00Z"  # midnight BST after NOW
    assert answer["time_created"] == "2025-08-01T12:00:00Z"
    assert answer["account_id"] == api.demo["account_id"]
    limit = await api.call(
        "POST", f"/schedules/limit/{api.location_id}", {**DAY, "segment": "LOW", "relative": 0.1}
    )
    assert set(limit) == set(answer) | {"duration"}
    assert limit["id"].startswith("spl_")
    assert limit["object"] == "schedule_limit"
    # Prices answer the same next_update: one price list behind both.
    prices = await api.call("POST", f"/prices/{api.location_id}", DAY)
    assert prices["next_update"] == answer["next_update"]
    api.clock.moment = datetime(2025, 12, 1, 0, 30, tzinfo=UTC)  # GMT
    await api.login()
    later = await api.call("POST", f"/schedules/duration/{api.location_id}", body)
    assert later["next_update"] == "2025-12-02T00:00:00Z"


@pytest.mark.parametrize(
    ("start", "end", "slot_start", "next_update"),
    [
        (
            "2025-08-01T12:00:00Z",
            "2025-08-02T12:00:00+01:00",
            "2025-08-02T00:30:00+01:00",
            "2025-08-02T00:00:00+01:00",
        ),
        (
            "2025-08-01T13:00:00+01:00",
            "2025-08-02T11:00:00Z",
            "2025-08-01T23:30:00Z",
            "2025-08-01T23:00:00Z",
        ),
        (
            "2025-08-01T12:00:00Z",
            "2025-08-02T06:30:00-05:30",
            "2025-08-01T18:00:00-05:30",
            "2025-08-01T17:30:00-05:30",
        ),
    ],
)
async def test_end_time_offset_wins(
    api: Api, start: str, end: str, slot_start: str, next_update: str
) -> None:
    """Offsets differ: the answer's times are written in end_time's offset."""
    window = {"start_time": start, "end_time": end}
    answer = await duration_call(api, api.location_id, window, segment="LOW", duration=60)
    assert answer["data"][0]["start_time"] == slot_start
    assert answer["next_update"] == next_update
    assert answer["time_created"].endswith("Z")


# --- errors -------------------------------------------------------------------------------


def _bad(**fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {**DAY, "segment": "LOW", "duration": 60, "relative": 0.5}
    for key, value in fields.items():
        if value is _ABSENT:
            body.pop(key, None)
        else:
            body[key] = value
    return body


_ABSENT = object()


@pytest.mark.parametrize("kind", ["duration", "limit"])
@pytest.mark.parametrize(
    ("body", "code"),
    [
        (_bad(end_time="2025-08-04T12:01:00Z"), "period_too_long"),
        (
            _bad(start_time="2025-08-01T13:00:00+01:00", end_time="2025-08-04T12:00:01Z"),
            "period_too_long",
        ),
        (_bad(direction="IMPORT"), "parameter_invalid"),
        (_bad(direction=None), "parameter_invalid"),
        (_bad(start_time=_ABSENT), "parameter_missing"),
        (_bad(end_time=_ABSENT), "parameter_missing"),
        (_bad(start_time="2025-08-01T12:00:00"), "parameter_invalid"),
        (_bad(end_time="tomorrow"), "parameter_invalid"),
        (_bad(end_time="2025-08-01T12:00:00Z"), "parameter_invalid"),
        (_bad(end_time="2025-08-01T11:00:00Z"), "parameter_invalid"),
        (_bad(segment=_ABSENT), "parameter_missing"),
        (_bad(segment=""), "parameter_missing"),
        (_bad(segment="low"), "parameter_invalid"),
        (_bad(segment="MEDIUM"), "parameter_invalid"),
        (_bad(tariff_direction="LOCAL"), "parameter_invalid"),
        (_bad(tariff_direction="import"), "parameter_invalid"),
        (_bad(device_id=5), "parameter_invalid"),
    ],
)
async def test_common_400s(api: Api, kind: str, body: dict[str, Any], code: str) -> None:
    """Both endpoints refuse the same bad windows and fields."""
    answer = await api.call("POST", f"/schedules/{kind}/{api.location_id}", body, expect=400)
    assert_error(answer, code)
    assert answer["context"] == f"api.schedule_{kind}"


async def test_three_days_exactly_is_allowed(api: Api) -> None:
    window = {"start_time": "2025-08-01T12:00:00Z", "end_time": "2025-08-04T12:00:00Z"}
    answer = await duration_call(api, api.location_id, window, segment="LOW", duration=3 * 1440)
    assert len(chosen_minutes(answer)) == 3 * 1440


@pytest.mark.parametrize(
    "duration", [_ABSENT, None, 0, -5, 1.5, 60.0, "60", True, [60], 24 * 60 + 1]
)
async def test_duration_invalid(api: Api, duration: object) -> None:
    """A JSON integer of minutes from 1 to the window's whole minutes, nothing else."""
    body = _bad(duration=duration, relative=_ABSENT)
    answer = await api.call("POST", f"/schedules/duration/{api.location_id}", body, expect=400)
    assert_error(answer, "duration_invalid")


async def test_duration_up_to_the_whole_minutes_of_the_window(api: Api) -> None:
    window = {"start_time": "2025-08-01T12:00:00Z", "end_time": "2025-08-01T12:10:59Z"}
    await duration_call(api, api.location_id, window, segment="LOW", duration=10)
    answer = await api.call(
        "POST",
        f"/schedules/duration/{api.location_id}",
        {**window, "segment": "LOW", "duration": 11},
        expect=400,
    )
    assert_error(answer, "duration_invalid")


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"relative": _ABSENT}, "limit_missing"),
        ({"relative": None, "absolute": None}, "limit_missing"),
        ({"relative": 0}, "parameter_invalid"),
        ({"relative": 0.009}, "parameter_invalid"),
        ({"relative": 1.01}, "parameter_invalid"),
        ({"relative": "0.5"}, "parameter_invalid"),
        ({"relative": True}, "parameter_invalid"),
        ({"relative": _ABSENT, "absolute": "0.1"}, "parameter_invalid"),
        ({"relative": _ABSENT, "absolute": False}, "parameter_invalid"),
    ],
)
async def test_limit_400s(api: Api, fields: dict[str, Any], code: str) -> None:
    body = _bad(duration=_ABSENT, **fields)
    answer = await api.call("POST", f"/schedules/limit/{api.location_id}", body, expect=400)
    assert_error(answer, code)


async def test_negative_absolute_limits(api: Api) -> None:
    """Prices (and limits) may be negative on a dynamic tariff."""
    location_id = location_with(api, dynamic_schedule())
    minutes = await minute_list(api, location_id, DAY)
    answer = await limit_call(api, location_id, DAY, segment="LOW", absolute=-0.02)
    assert chosen_minutes(answer) == limit_set(minutes, "LOW", absolute=-0.02)
    assert answer["duration"] > 0


@pytest.mark.parametrize("kind", ["duration", "limit"])
async def test_tariff_422s(api: Api, kind: str) -> None:
    """no_tariff_connected per direction, pending_connect, and no_price_data by fault."""
    path = f"/schedules/{kind}/{{}}"
    body = _bad()
    import_only = location_with(api, flat_schedule(0.2))
    await api.call("POST", path.format(import_only), body)
    answer = await api.call(
        "POST", path.format(import_only), {**body, "tariff_direction": "EXPORT"}, expect=422
    )
    assert_error(answer, "no_tariff_connected")
    export_only = location_with(api, flat_schedule(0.1), "EXPORT")
    assert_error(
        await api.call("POST", path.format(export_only), body, expect=422), "no_tariff_connected"
    )
    await api.call("POST", path.format(export_only), {**body, "tariff_direction": "EXPORT"})
    # A NON_COMMODITY element alone is no tariff to schedule by.
    fees = api.state.add_location(api.demo["account_id"])
    api.state.add_tariff_element(fees.id, "IMPORT", flat_schedule(0.05), "NON_COMMODITY")
    assert_error(
        await api.call("POST", path.format(fees.id), body, expect=422), "no_tariff_connected"
    )

    api.state.set_pending_connect(api.location_id, 60)
    answer = await api.call("POST", path.format(api.location_id), body, expect=422)
    assert_error(answer, "pending_connect")
    api.clock.advance(60)
    await api.call("POST", path.format(api.location_id), body)

    error = {
        "object": "error",
        "live_mode": False,
        "context": f"api.schedule_{kind}",
        "type": "invalid_request",
        "code": "no_price_data",
        "message": "No prices for the requested period",
        "time_created": "2025-08-01T12:01:00Z",
    }
    api.state.fail_next(path.format(api.location_id), 422, body=error)
    answer = await api.call("POST", path.format(api.location_id), body, expect=422)
    assert_error(answer, "no_price_data")
    await api.call("POST", path.format(api.location_id), body)


@pytest.mark.parametrize("kind", ["duration", "limit"])
async def test_validation_comes_before_tariff_state(api: Api, kind: str) -> None:
    """A bad body is a 400 even where no tariff is connected (as for /prices)."""
    bare = api.state.add_location(api.demo["account_id"])
    answer = await api.call("POST", f"/schedules/{kind}/{bare.id}", _bad(segment="X"), expect=400)
    assert_error(answer, "parameter_invalid")


@pytest.mark.parametrize("kind", ["duration", "limit"])
async def test_unknown_location_auth_and_body(api: Api, kind: str) -> None:
    """404 for a location of no account or another one; auth as every route; JSON bodies."""
    path = f"/schedules/{kind}"
    answer = await api.call("POST", f"{path}/loc_000000000000000000000000", _bad(), expect=404)
    assert_error(answer, "resource_not_found")
    other = api.state.add_account()
    foreign = api.state.add_location(other.account_id)
    api.state.add_tariff_element(foreign.id, "IMPORT", flat_schedule(0.2))
    answer = await api.call("POST", f"{path}/{foreign.id}", _bad(), expect=404)
    assert_error(answer, "resource_not_found")

    response = await api.client.post(f"{path}/{api.location_id}", json=_bad())
    assert response.status == 401
    assert await response.json() == {"message": "Missing bearer token"}
    response = await api.client.post(
        f"{path}/{api.location_id}", json=_bad(), headers={"Authorization": "Bearer nope"}
    )
    assert response.status == 403
    api.state.accounts[api.demo["account_id"]].disabled = True
    assert_error(
        await api.call("POST", f"{path}/{api.location_id}", _bad(), expect=422),
        "account_disabled",
    )
    api.state.accounts[api.demo["account_id"]].disabled = False

    for raw, code in (("", "invalid_json"), ("[1]", "invalid_body"), ("{", "invalid_json")):
        response = await api.client.post(
            f"{path}/{api.location_id}",
            data=raw,
            headers={**api.headers, "Content-Type": "application/json"},
        )
        assert response.status == 400
        assert_error(await response.json(), code)
    response = await api.client.get(f"{path}/{api.location_id}", headers=api.headers)
    assert response.status == 405


@pytest.mark.parametrize("kind", ["duration", "limit"])
async def test_faults_apply(api: Api, kind: str) -> None:
    """The generic fault hooks answer in place of the schedule endpoints too."""
    path = f"/schedules/{kind}/{api.location_id}"
    api.state.fail_next("/schedules/*", 503, count=1)
    assert_error(
        await api.call("POST", path, _bad(), expect=503),
        "service_unavailable",
        status_type="api_error",
    )
    api.state.fail_next(path, 200, body={"data": "nope"})
    assert await api.call("POST", path, _bad()) == {"data": "nope"}
    assert ("POST", path) in api.state.request_log
    await api.call("POST", path, _bad())


# --- the search on its own ----------------------------------------------------------------


def test_search_functions() -> None:
    """The pure steps: minute prices, cheapest minutes, limits and merging."""
    start = datetime(2025, 1, 1, tzinfo=UTC)
    segments = [
        RateSegment(start, start + timedelta(seconds=90), 0.2),
        RateSegment(start + timedelta(seconds=90), start + 5 * MINUTE, 0.1),
    ]
    prices = minute_prices(segments, start, 5)
    assert prices == [0.2, pytest.approx(0.15), 0.1, 0.1, 0.1]
    assert cheapest_minutes(prices, 2, "LOW") == [2, 3]
    assert cheapest_minutes(prices, 2, "HIGH") == [0, 1]
    assert cheapest_minutes([0.1] * 4, 2, "HIGH") == [0, 1]
    assert relative_values(prices) == [1.0, 0.505, 0.01, 0.01, 0.01]
    assert limit_minutes(prices, "LOW", relative=0.505) == [1, 2, 3, 4]
    assert limit_minutes(prices, "HIGH", relative=0.505) == [0, 1]
    assert limit_minutes(prices, "LOW", relative=1, absolute=0.1) == [2, 3, 4]
    assert limit_minutes([], "LOW", relative=1) == []
    slots = merge_minutes([0, 2, 3], prices, start)
    assert [(s.start, s.end) for s in slots] == [
        (start, start + MINUTE),
        (start + 2 * MINUTE, start + 4 * MINUTE),
    ]
    assert slots[1].average == pytest.approx(0.1)
