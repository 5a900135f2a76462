"""The client's schedule calls against the emulator over real HTTP on loopback."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import UTC, datetime, timedelta
import json
import math
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from custom_components.flatpeak.client import (
    MAX_SCHEDULE_WINDOW,
    FlatpeakClient,
    FlatpeakInvalidRequestError,
    FlatpeakNoPriceDataError,
    FlatpeakNoTariffConnectedError,
    FlatpeakNotFoundError,
    FlatpeakPendingConnectError,
    FlatpeakResponseFormatError,
    FlatpeakTariffError,
    Schedule,
    ScheduleSegment,
    ScheduleSlot,
    TariffDirection,
)
from tests.conftest import Emulator
from tests.emulator.demo import flat_schedule

LONDON = ZoneInfo("Europe/London")
EVENING = datetime(2025, 8, 1, 18, 0, tzinfo=LONDON)  # a Friday
MORNING = datetime(2025, 8, 2, 7, 0, tzinfo=LONDON)
T0 = datetime(2025, 8, 1, 12, 0, tzinfo=UTC)
T1 = T0 + timedelta(days=1)


@pytest.fixture
async def sent() -> list[dict[str, Any]]:
    """The JSON bodies the client sent, in order."""
    return []


@pytest.fixture
async def session(sent: list[dict[str, Any]]) -> AsyncGenerator[aiohttp.ClientSession]:
    """A session that records every request body it writes."""

    async def on_chunk(
        _session: aiohttp.ClientSession,
        _context: SimpleNamespace,
        params: aiohttp.TraceRequestChunkSentParams,
    ) -> None:
        sent.append(json.loads(params.chunk))

    trace = aiohttp.TraceConfig()
    trace.on_request_chunk_sent.append(on_chunk)
    async with aiohttp.ClientSession(trace_configs=[trace]) as session:
        yield session


@pytest.fixture
async def client(emulator: Emulator, session: aiohttp.ClientSession) -> FlatpeakClient:
    """A client of the demo account, logged in."""
    client = FlatpeakClient(
        session, emulator.account_id, emulator.api_key, base_url=emulator.base_url
    )
    await client.login()
    return client


async def test_cheapest_three_hours_tonight(
    emulator: Emulator, client: FlatpeakClient, sent: list[dict[str, Any]]
) -> None:
    """One request; the demo's off-peak slot, typed; the direction always sent."""
    before = client.request_count
    schedule = await client.find_duration_slots(
        emulator.location_id, EVENING, MORNING, duration_minutes=180
    )
    assert client.request_count == before + 1
    assert sent[-1] == {
        "start_time": "2025-08-01T17:00:00Z",
        "end_time": "2025-08-02T06:00:00Z",
        "segment": "LOW",
        "tariff_direction": "IMPORT",
        "duration": 180,
    }
    assert schedule.slots == (
        ScheduleSlot(
            start=datetime(2025, 8, 1, 23, 30, tzinfo=UTC),
            end=datetime(2025, 8, 2, 2, 30, tzinfo=UTC),
            average_price=0.07,
            confidence=1.0,
        ),
    )
    assert schedule.id is not None
    assert schedule.id.startswith("std_")
    assert (schedule.currency_code, schedule.timezone) == ("GBP", "Europe/London")
    assert schedule.tariff_direction is TariffDirection.IMPORT
    assert schedule.total_minutes is None
    assert schedule.next_update is not None
    assert schedule.next_update.tzinfo is not None


async def test_dearest_export_and_split_slots(
    emulator: Emulator, client: FlatpeakClient, sent: list[dict[str, Any]]
) -> None:
    """HIGH on EXPORT; a duration longer than the peak is split into several slots."""
    schedule = await client.find_duration_slots(
        emulator.location_id,
        T0,
        T1,
        duration_minutes=200,
        segment=ScheduleSegment.HIGH,
    )
    # 16:00-19:00 BST peak, then the earliest 20 minutes at the standard price.
    assert [(s.start, s.end, s.average_price) for s in schedule.slots] == [
        (T0, T0 + timedelta(minutes=20), 0.245),
        (T0 + timedelta(hours=3), T0 + timedelta(hours=6), 0.35),
    ]
    export = await client.find_duration_slots(
        emulator.location_id,
        T0,
        T1,
        duration_minutes=60,
        segment=ScheduleSegment.HIGH,
        tariff_direction=TariffDirection.EXPORT,
    )
    assert sent[-1]["tariff_direction"] == "EXPORT"
    assert sent[-1]["segment"] == "HIGH"
    assert export.tariff_direction is TariffDirection.EXPORT
    assert [s.average_price for s in export.slots] == [0.15]


async def test_limit_slots(
    emulator: Emulator, client: FlatpeakClient, sent: list[dict[str, Any]]
) -> None:
    """Relative and absolute limits, inclusive; total_minutes is the answer's duration."""
    schedule = await client.find_limit_slots(emulator.location_id, T0, T1, absolute=0.07)
    assert sent[-1] == {
        "start_time": "2025-08-01T12:00:00Z",
        "end_time": "2025-08-02T12:00:00Z",
        "segment": "LOW",
        "tariff_direction": "IMPORT",
        "absolute": 0.07,
    }
    assert schedule.total_minutes == 240
    assert schedule.id is not None
    assert schedule.id.startswith("spl_")
    assert [(s.start, s.end) for s in schedule.slots] == [
        (datetime(2025, 8, 1, 23, 30, tzinfo=UTC), datetime(2025, 8, 2, 3, 30, tzinfo=UTC))
    ]
    high = await client.find_limit_slots(
        emulator.location_id, T0, T1, segment=ScheduleSegment.HIGH, relative=1
    )
    assert sent[-1]["relative"] == 1
    assert "absolute" not in sent[-1]
    assert high.total_minutes == 180
    assert {s.average_price for s in high.slots} == {0.35}
    none = await client.find_limit_slots(emulator.location_id, T0, T1, absolute=-1)
    assert (none.slots, none.total_minutes) == ((), 0)


async def test_longest_window(emulator: Emulator, client: FlatpeakClient) -> None:
    """Exactly 3 days is allowed, every minute of it."""
    schedule = await client.find_duration_slots(
        emulator.location_id, T0, T0 + MAX_SCHEDULE_WINDOW, duration_minutes=3 * 24 * 60
    )
    assert schedule.slots[0].start == T0
    assert schedule.slots[-1].end == T0 + MAX_SCHEDULE_WINDOW


NAIVE = datetime(2025, 8, 1, 12, 0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"start": NAIVE}, "no timezone"),
        ({"end": T0}, "after start"),
        ({"end": T0 - timedelta(minutes=1)}, "after start"),
        ({"end": T0 + MAX_SCHEDULE_WINDOW + timedelta(seconds=1)}, "3 days"),
        ({"duration_minutes": 0}, "duration_minutes"),
        ({"duration_minutes": 24 * 60 + 1}, "duration_minutes"),
        ({"duration_minutes": 1.5}, "duration_minutes"),
        ({"duration_minutes": 60.0}, "duration_minutes"),
        ({"duration_minutes": True}, "duration_minutes"),
        ({"tariff_direction": TariffDirection.LOCAL}, "IMPORT or EXPORT"),
        ({"tariff_direction": "SIDEWAYS"}, "SIDEWAYS"),
        ({"segment": "MIDDLE"}, "MIDDLE"),
    ],
)
async def test_duration_checked_before_any_request(
    emulator: Emulator, client: FlatpeakClient, kwargs: dict[str, Any], message: str
) -> None:
    before = client.request_count
    arguments: dict[str, Any] = {"start": T0, "end": T1, "duration_minutes": 60} | kwargs
    with pytest.raises(ValueError, match=message):
        await client.find_duration_slots(
            emulator.location_id,
            arguments.pop("start"),
            arguments.pop("end"),
            **arguments,
        )
    assert client.request_count == before


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "exactly one"),
        ({"relative": 0.5, "absolute": 0.1}, "exactly one"),
        ({"relative": 0}, "relative"),
        ({"relative": 1.01}, "relative"),
        ({"relative": math.nan}, "relative"),
        ({"relative": True}, "relative"),
        ({"absolute": math.inf}, "absolute"),
        ({"absolute": "0.1"}, "absolute"),
        ({"absolute": 0.1, "tariff_direction": TariffDirection.LOCAL}, "IMPORT or EXPORT"),
        ({"absolute": 0.1, "end": T0 + timedelta(days=4)}, "3 days"),
    ],
)
async def test_limit_checked_before_any_request(
    emulator: Emulator, client: FlatpeakClient, kwargs: dict[str, Any], message: str
) -> None:
    before = client.request_count
    arguments: dict[str, Any] = {"start": T0, "end": T1} | kwargs
    with pytest.raises(ValueError, match=message):
        await client.find_limit_slots(
            emulator.location_id, arguments.pop("start"), arguments.pop("end"), **arguments
        )
    assert client.request_count == before


async def test_tariff_states_and_errors(emulator: Emulator, client: FlatpeakClient) -> None:
    """The 422s map to the FlatpeakTariffError subclasses, as for prices; 404; a 400."""
    import_only = emulator.state.add_location(emulator.account_id)
    emulator.state.add_tariff_element(import_only.id, "IMPORT", flat_schedule(0.2))
    await client.find_limit_slots(import_only.id, T0, T1, relative=0.5)
    with pytest.raises(FlatpeakNoTariffConnectedError) as no_export:
        await client.find_limit_slots(
            import_only.id, T0, T1, relative=0.5, tariff_direction=TariffDirection.EXPORT
        )
    assert isinstance(no_export.value, FlatpeakTariffError)
    assert no_export.value.code == "no_tariff_connected"

    emulator.state.set_pending_connect(emulator.location_id, 600)
    with pytest.raises(FlatpeakPendingConnectError):
        await client.find_duration_slots(emulator.location_id, T0, T1, duration_minutes=60)
    emulator.state.pending_connect.clear()

    emulator.state.fail_next(
        f"/schedules/duration/{emulator.location_id}",
        422,
        body={"object": "error", "code": "no_price_data", "message": "No prices yet"},
    )
    with pytest.raises(FlatpeakNoPriceDataError) as no_data:
        await client.find_duration_slots(emulator.location_id, T0, T1, duration_minutes=60)
    assert no_data.value.message == "No prices yet"

    with pytest.raises(FlatpeakNotFoundError):
        await client.find_duration_slots(
            "loc_000000000000000000000000", T0, T1, duration_minutes=60
        )
    emulator.state.fail_next(
        f"/schedules/limit/{emulator.location_id}",
        400,
        body={"object": "error", "code": "period_too_long", "message": "At most 3 days"},
    )
    with pytest.raises(FlatpeakInvalidRequestError) as too_long:
        await client.find_limit_slots(emulator.location_id, T0, T1, relative=0.5)
    assert too_long.value.code == "period_too_long"


SLOT = {
    "start_time": "2025-08-01T12:00:00Z",
    "end_time": "2025-08-01T13:00:00Z",
    "price": {"average": 0.1, "confidence": 1},
}
LATER = {**SLOT, "start_time": "2025-08-01T14:00:00Z", "end_time": "2025-08-01T15:00:00Z"}
GOOD = {"tariff_direction": "IMPORT", "currency_code": "GBP", "data": [SLOT], "duration": 60}

MALFORMED: list[tuple[str, object]] = [
    ("not an object", [SLOT]),
    ("data missing", {"currency_code": "GBP", "duration": 0}),
    ("data null", {**GOOD, "data": None}),
    ("data object", {**GOOD, "data": SLOT}),
    ("slot not object", {**GOOD, "data": ["12:00"]}),
    ("price missing", {**GOOD, "data": [{**SLOT, "price": None}]}),
    ("price a number", {**GOOD, "data": [{**SLOT, "price": 0.1}]}),
    ("no average or value", {**GOOD, "data": [{**SLOT, "price": {"confidence": 1}}]}),
    ("average text", {**GOOD, "data": [{**SLOT, "price": {"average": "low"}}]}),
    ("average infinite", {**GOOD, "data": [{**SLOT, "price": {"average": 1e999}}]}),
    ("average bool", {**GOOD, "data": [{**SLOT, "price": {"average": True}}]}),
    ("value text", {**GOOD, "data": [{**SLOT, "price": {"value": "0.1"}}]}),
    (
        "confidence text",
        {**GOOD, "data": [{**SLOT, "price": {"average": 0.1, "confidence": "high"}}]},
    ),
    ("start missing", {**GOOD, "data": [{**SLOT, "start_time": None}]}),
    ("naive time", {**GOOD, "data": [{**SLOT, "end_time": "2025-08-01T13:00:00"}]}),
    ("time garbage", {**GOOD, "data": [{**SLOT, "start_time": "noon"}]}),
    ("ends before it starts", {**GOOD, "data": [{**SLOT, "end_time": "2025-08-01T11:00:00Z"}]}),
    ("zero length", {**GOOD, "data": [{**SLOT, "end_time": SLOT["start_time"]}]}),
    (
        "overlapping slots",
        {**GOOD, "data": [SLOT, {**LATER, "start_time": "2025-08-01T12:59:00Z"}]},
    ),
    ("other direction", {**GOOD, "tariff_direction": "EXPORT"}),
    ("direction number", {**GOOD, "tariff_direction": 1}),
    ("currency number", {**GOOD, "currency_code": 826}),
    ("timezone list", {**GOOD, "location_timezone": ["Europe/London"]}),
    ("id number", {**GOOD, "id": 5}),
]
LIMIT_MALFORMED: list[tuple[str, object]] = [
    ("duration missing", {k: v for k, v in GOOD.items() if k != "duration"}),
    ("duration null", {**GOOD, "duration": None}),
    ("duration negative", {**GOOD, "duration": -1}),
    ("duration text", {**GOOD, "duration": "60"}),
    ("duration fraction", {**GOOD, "duration": 1.5}),
    ("duration bool", {**GOOD, "duration": True}),
]


@pytest.mark.parametrize(
    ("kind", "body"),
    [
        pytest.param(kind, body, id=f"{kind}-{name}")
        for kind in ("duration", "limit")
        for name, body in MALFORMED
    ]
    + [pytest.param("limit", body, id=f"limit-{name}") for name, body in LIMIT_MALFORMED],
)
async def test_malformed_answers(
    emulator: Emulator, client: FlatpeakClient, kind: str, body: object
) -> None:
    """An answer the client cannot use is a retryable FlatpeakResponseFormatError."""
    emulator.state.fail_next(f"/schedules/{kind}/{emulator.location_id}", 200, body=body)
    call = (
        client.find_duration_slots(emulator.location_id, T0, T1, duration_minutes=60)
        if kind == "duration"
        else client.find_limit_slots(emulator.location_id, T0, T1, relative=0.5)
    )
    with pytest.raises(FlatpeakResponseFormatError):
        await call


async def test_lenient_where_documented(emulator: Emulator, client: FlatpeakClient) -> None:
    """``price.value`` when there is no ``average``; slots put in order; informational fields
    absent or unreadable get their defaults; a duration answer's ``duration`` is not read."""
    path = f"/schedules/duration/{emulator.location_id}"
    value_slot = {**LATER, "price": {"value": 0.2}}
    emulator.state.fail_next(
        path,
        200,
        body={
            "data": [value_slot, {**SLOT, "price": {"average": None, "value": 0.1}}],
            "next_update": "soon",
            "duration": "whatever",
        },
    )
    schedule = await client.find_duration_slots(emulator.location_id, T0, T1, duration_minutes=60)
    assert schedule == Schedule(
        id=None,
        currency_code="",
        timezone=None,
        tariff_direction=TariffDirection.IMPORT,
        next_update=None,
        slots=(
            ScheduleSlot(T0, T0 + timedelta(hours=1), 0.1, 1.0),
            ScheduleSlot(T0 + timedelta(hours=2), T0 + timedelta(hours=3), 0.2, 1.0),
        ),
    )
    # Touching slots are not overlapping; an offset time is read as the instant it names.
    touching = {**LATER, "start_time": "2025-08-01T14:00:00+01:00"}
    emulator.state.fail_next(path, 200, body={"data": [SLOT, touching]})
    schedule = await client.find_duration_slots(emulator.location_id, T0, T1, duration_minutes=60)
    assert schedule.slots[1].start == schedule.slots[0].end
