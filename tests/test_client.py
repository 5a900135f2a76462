"""The Flatpeak client against the emulator over real HTTP: every call, every error class."""

from __future__ import annotations

import base64
from collections.abc import AsyncGenerator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
import inspect
import logging
import math
import threading
import time
from typing import Any
import warnings

import aiohttp
import pytest

from custom_components.flatpeak.client import (
    API_VERSION,
    Aggregation,
    CumulativeReading,
    DeviceType,
    EnergyFlowDirection,
    EnergyUnits,
    FlatpeakAccountDisabledError,
    FlatpeakApiError,
    FlatpeakAuthenticationError,
    FlatpeakBatchMismatchError,
    FlatpeakClient,
    FlatpeakConnectionError,
    FlatpeakError,
    FlatpeakInvalidRequestError,
    FlatpeakNoPriceDataError,
    FlatpeakNoTariffConnectedError,
    FlatpeakNotFoundError,
    FlatpeakPendingConnectError,
    FlatpeakRateLimitError,
    FlatpeakResponseFormatError,
    FlatpeakTimeoutError,
    MeterRecord,
    RateLimit,
    TariffDirection,
    client as client_module,
)
from custom_components.flatpeak.client.answers import (
    MAX_CODE_CHARS,
    MAX_MESSAGE_CHARS,
    parse_retry_after,
)
from custom_components.flatpeak.client.models import Location, PostalAddress, TariffStatus
from tests.conftest import Emulator

T0 = datetime(2025, 6, 2, 0, 0, tzinfo=UTC)  # a Monday, BST


@pytest.fixture
async def session() -> AsyncGenerator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


class Clock:
    """Seconds that pass only when a test moves them (what the clients' rate limit reads)."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def client(emulator: Emulator, session: aiohttp.ClientSession, clock: Clock) -> FlatpeakClient:
    return FlatpeakClient(
        session,
        emulator.account_id,
        emulator.api_key,
        base_url=emulator.base_url,
        rate_limit=RateLimit(now=clock),
    )


def record(emulator: Emulator, minutes: int, kwh: float, **kw: object) -> MeterRecord:
    start = T0 + timedelta(minutes=minutes)
    return MeterRecord(
        location_id=emulator.location_id,
        start_time=start,
        end_time=start + timedelta(minutes=5),
        value=kwh,
        **kw,  # type: ignore[arg-type]
    )


async def test_login_caches_token_and_sends_version(
    emulator: Emulator, client: FlatpeakClient
) -> None:
    """One login serves many calls; every call carries the anode version header."""
    await client.list_locations()
    await client.get_location(emulator.location_id)
    assert emulator.requests("GET", "/login") == 1
    assert client.sends_version_header
    assert client.live_mode is False
    assert API_VERSION == "2025-09-14.anode"


async def test_bad_credentials(emulator: Emulator, session: aiohttp.ClientSession) -> None:
    """403 on login is an authentication error, without the key in the message."""
    client = FlatpeakClient(
        session, emulator.account_id, "sk_test_secret_wrong", base_url=emulator.base_url
    )
    with pytest.raises(FlatpeakAuthenticationError) as err:
        await client.list_locations()
    assert "sk_test_secret_wrong" not in str(err.value)
    assert "sk_test" not in repr(client)
    assert emulator.account_id not in repr(client)


async def test_disabled_account(emulator: Emulator, session: aiohttp.ClientSession) -> None:
    """422 account_disabled has its own error."""
    acct = emulator.state.add_account(disabled=True)
    client = FlatpeakClient(session, acct.account_id, acct.api_key, base_url=emulator.base_url)
    with pytest.raises(FlatpeakAccountDisabledError) as err:
        await client.login()
    assert err.value.code == "account_disabled"


async def test_token_renewed_after_expiry_and_on_403(
    emulator: Emulator, client: FlatpeakClient
) -> None:
    """A short token lifetime renews before expiry; a revoked token is renewed once on 403."""
    emulator.state.token_lifetime = 60  # renewal margin is half the lifetime: 30 s
    await client.get_location(emulator.location_id)
    assert emulator.requests("GET", "/login") == 1
    emulator.state.expire_tokens()
    await client.get_location(emulator.location_id)
    assert emulator.requests("GET", "/login") == 2
    assert emulator.requests("GET", f"/locations/{emulator.location_id}") == 3  # 403, then retry

    client._token_renew_at = 0  # the monotonic deadline has passed
    await client.get_location(emulator.location_id)
    assert emulator.requests("GET", "/login") == 3


async def test_persistent_403_gives_up_after_one_renewal(
    emulator: Emulator, client: FlatpeakClient
) -> None:
    emulator.state.fail_next(f"/locations/{emulator.location_id}", 403, count=5)
    with pytest.raises(FlatpeakAuthenticationError):
        await client.get_location(emulator.location_id)
    assert emulator.requests("GET", f"/locations/{emulator.location_id}") == 2
    assert emulator.requests("GET", "/login") == 2


async def test_version_fallback(
    emulator: Emulator, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    """An account on a newer default version refuses ours: retry without the header, remember it."""
    acct = emulator.state.add_account(api_version="2026-06-01")
    client = FlatpeakClient(session, acct.account_id, acct.api_key, base_url=emulator.base_url)
    with caplog.at_level(logging.DEBUG):
        await client.login()
        await client.list_locations()
    assert not client.sends_version_header
    assert emulator.requests("GET", "/login") == 2  # refused once, then without the header
    assert emulator.requests("GET", "/locations") == 1
    assert acct.api_key not in caplog.text


async def test_devices(emulator: Emulator, client: FlatpeakClient) -> None:
    """Create, get, find by reference id, update, delete."""
    device = await client.create_device(
        "ha-test-1", device_type=DeviceType.EV_CHARGER, location_ids=[emulator.location_id]
    )
    assert device.id.startswith("dev_")
    assert device.type == "EV_CHARGER"
    assert (await client.get_device(device.id)).reference_id == "ha-test-1"
    found = await client.find_device("ha-test-1")
    assert found is not None
    assert found.id == device.id
    assert await client.find_device("ha-none") is None
    updated = await client.update_device(device.id, reference_id="ha-test-2")
    assert updated.reference_id == "ha-test-2"
    await client.delete_device(device.id)
    with pytest.raises(FlatpeakNotFoundError):
        await client.get_device(device.id)
    with pytest.raises(ValueError, match="reference_id"):
        await client.create_device("")
    with pytest.raises(ValueError, match="id is required"):
        await client.get_device("")


async def test_locations_paginate(emulator: Emulator, client: FlatpeakClient) -> None:
    """list_locations follows has_more across pages."""
    for n in range(120):
        emulator.state.add_location(emulator.account_id, address_line1=f"{n} Page Street")
    locations = await client.list_locations()
    assert len(locations) == 121
    assert len({loc.id for loc in locations}) == 121
    assert emulator.requests("GET", "/locations") == 2
    demo = await client.get_location(emulator.location_id)
    assert demo.timezone == "Europe/London"
    assert demo.currency_code == "GBP"
    assert demo.tariff_status.import_connected


async def test_location_model_fallbacks() -> None:
    """Unknown tariff states read as ERROR; an empty address names the location by id."""
    loc = Location.from_dict({"id": "loc_x", "tariff_status": {"commodity_import": "WEIRD"}})
    assert loc.tariff_status.commodity_import.value == "ERROR"
    assert loc.name == "loc_x"
    assert PostalAddress.from_dict(None).one_line() == ""
    assert not TariffStatus.from_dict(None).import_connected


async def test_connect_tokens(
    emulator: Emulator, client: FlatpeakClient, session: aiohttp.ClientSession
) -> None:
    """Token → page URL on the emulator → unfinished exchange refused → finished exchange."""
    token = await client.create_connect_token(
        "https://ha.example.org/cb",
        location_id=emulator.location_id,
        tariff_direction=TariffDirection.IMPORT,
    )
    assert token.connect_token.startswith("cot_")
    url = client.connect_page_url(token.connect_token)
    assert url.startswith(f"{emulator.base_url}/connect?fp_cot=cot_")
    with pytest.raises(FlatpeakInvalidRequestError):
        await client.exchange_connect_token(token.connect_token)
    async with session.get(url) as page:
        assert page.status == 200
    with pytest.raises(FlatpeakNotFoundError):
        await client.exchange_connect_token("cot_000000000000000000000000")
    production = FlatpeakClient(session, "acc_x", "sk_x")
    assert production.connect_page_url("cot_1") == "https://connect.flatpeak.com/?fp_cot=cot_1"
    assert production.base_url == "https://api.flatpeak.com"


async def test_submit_and_cost(emulator: Emulator, client: FlatpeakClient) -> None:
    """Records stored exactly; cost by location, device, session, aggregated by day."""
    device = await client.create_device("ha-meter", location_ids=[emulator.location_id])
    records = [
        record(
            emulator,
            5 * i,
            0.1,
            device_id=device.id,
            record_reference_id=f"r{i}",
            session_reference_id="s1",
        )
        for i in range(12)
    ]
    batch = await client.submit_interval_records(records)
    assert batch.records_submitted == batch.records_accepted == 12
    assert batch.failed_records == []
    stored = emulator.state.records(device_id=device.id)
    assert sum(r["energy_wh"] for r in stored) == pytest.approx(1200.0)

    cost = await client.get_interval_cost(device.id, T0, T0 + timedelta(hours=1))
    assert len(cost.rows) == 12
    assert cost.total_energy_wh == pytest.approx(1200)
    assert cost.total_cost > 0
    assert cost.currency_code == "GBP"
    day = await client.get_interval_cost(
        emulator.location_id, T0, T0 + timedelta(days=1), aggregation=Aggregation.DAY
    )
    assert len(day.rows) >= 1
    assert day.total_cost == pytest.approx(cost.total_cost, abs=1e-4)
    session_cost = await client.get_session_cost("s1")
    assert session_cost.total_cost == pytest.approx(cost.total_cost, abs=1e-4)
    with pytest.raises(ValueError, match="after start"):
        await client.get_interval_cost(device.id, T0, T0)


async def test_long_answers_are_decoded_off_the_loop(
    emulator: Emulator, client: FlatpeakClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A long answer (two days of 5-minute cost rows) is decoded and made into its model in a
    worker thread, a short one on the loop; the report is the same either way."""
    device = await client.create_device("ha-meter", location_ids=[emulator.location_id])
    await client.submit_interval_records(
        [
            record(emulator, 5 * i, 0.1, device_id=device.id, record_reference_id=f"r{i}")
            for i in range(576)
        ]
    )
    threads: list[bool] = []
    real = client_module._decode_answer

    def spy(*args: Any, **kwargs: Any) -> Any:
        threads.append(threading.current_thread() is threading.main_thread())
        return real(*args, **kwargs)

    monkeypatch.setattr(client_module, "_decode_answer", spy)
    days = await client.get_interval_cost(device.id, T0, T0 + timedelta(days=2))
    assert threads == [False]
    assert len(days.rows) == 576
    monkeypatch.setattr(client_module, "_OFFLOAD_ANSWER_ABOVE", 10**9)
    again = await client.get_interval_cost(device.id, T0, T0 + timedelta(days=2))
    assert threads == [False, True]
    assert again.rows == days.rows
    assert again.currency_code == days.currency_code


async def test_resubmission_replaces(emulator: Emulator, client: FlatpeakClient) -> None:
    """A retried record with the same reference id replaces, never adds."""
    await client.submit_interval_records([record(emulator, 0, 0.5, record_reference_id="same")])
    await client.submit_interval_records([record(emulator, 0, 0.7, record_reference_id="same")])
    stored = [
        r
        for r in emulator.state.records(location_id=emulator.location_id)
        if r["record_reference_id"] == "same"
    ]
    assert len(stored) == 1
    assert stored[0]["energy_wh"] == pytest.approx(700.0)


async def test_chunking_25000_records_makes_three_calls(
    emulator: Emulator, client: FlatpeakClient
) -> None:
    """25,000 records go in 3 calls of at most 10,000; failed record numbers index the lot."""
    records = [record(emulator, i, 0.001, record_reference_id=f"c{i}") for i in range(25_000)]
    bad = 20_005
    records[bad] = MeterRecord(
        location_id="loc_000000000000000000000000",
        start_time=T0,
        end_time=T0 + timedelta(minutes=5),
        value=1,
        record_reference_id="bad",
    )
    batch = await client.submit_interval_records(records)
    assert emulator.requests("PUT", "/meters/interval") == 3
    assert batch.records_submitted == 25_000
    assert batch.records_accepted == 24_999
    assert len(batch.batch_ids) == 3
    (failed,) = batch.failed_records
    assert failed.record_num == bad
    assert failed.record_reference_id == "bad"
    assert await client.submit_interval_records([]) is not None
    assert emulator.requests("PUT", "/meters/interval") == 3


async def test_record_validation_before_network(emulator: Emulator, client: FlatpeakClient) -> None:
    """Invalid records raise ValueError naming the field; nothing is sent."""
    bad = [
        record(emulator, 0, -1.0),
        record(emulator, 0, float("nan")),
        record(emulator, 0, 1.0, confidence=2.0),
        MeterRecord(location_id="", start_time=T0, end_time=T0, value=1),
        MeterRecord(location_id="loc", start_time=T0.replace(tzinfo=None), end_time=T0, value=1),
        MeterRecord(location_id="loc", start_time=T0, end_time=T0 - timedelta(seconds=1), value=1),
    ]
    for item in bad:
        with pytest.raises(ValueError):  # noqa: PT011
            await client.submit_interval_records([item])
    assert emulator.requests("PUT", "/meters/interval") == 0


async def test_units_and_directions(emulator: Emulator, client: FlatpeakClient) -> None:
    """W for 30 minutes is energy; export and local records keep their directions."""
    start = T0 + timedelta(hours=3)
    await client.submit_interval_records(
        [
            MeterRecord(
                location_id=emulator.location_id,
                start_time=start,
                end_time=start + timedelta(minutes=30),
                value=20567,
                units=EnergyUnits.W,
                record_reference_id="w",
            ),
            MeterRecord(
                location_id=emulator.location_id,
                start_time=start,
                end_time=start + timedelta(minutes=30),
                value=2,
                energy_flow_direction=EnergyFlowDirection.OUTBOUND,
                tariff_direction=TariffDirection.EXPORT,
                record_reference_id="x",
            ),
            MeterRecord(
                location_id=emulator.location_id,
                start_time=start,
                end_time=start + timedelta(minutes=30),
                value=1,
                tariff_direction=TariffDirection.LOCAL,
                confidence=1,
                record_reference_id="l",
            ),
        ]
    )
    stored = {
        r["record_reference_id"]: r
        for r in emulator.state.records(location_id=emulator.location_id)
    }
    assert stored["w"]["energy_wh"] == pytest.approx(10283.5)
    assert stored["x"]["energy_flow_direction"] == "OUTBOUND"
    assert stored["x"]["tariff_direction"] == "EXPORT"
    assert stored["l"]["tariff_direction"] == "LOCAL"
    export = await client.get_interval_cost(
        emulator.location_id,
        start,
        start + timedelta(hours=1),
        tariff_direction=TariffDirection.EXPORT,
    )
    assert export.total_cost == pytest.approx(2 * 0.15)


async def test_cumulative(emulator: Emulator, client: FlatpeakClient) -> None:
    """Register readings are differenced; a decreasing register is refused before sending."""
    readings = [CumulativeReading(T0 + timedelta(minutes=5 * i), 100 + 0.25 * i) for i in range(5)]
    batch = await client.submit_cumulative_readings(emulator.location_id, readings)
    assert batch.failed_records == []
    total = sum(r["energy_wh"] for r in emulator.state.records(location_id=emulator.location_id))
    assert total == pytest.approx(1000.0)
    with pytest.raises(ValueError, match="decreases"):
        await client.submit_cumulative_readings(
            emulator.location_id, [readings[1], CumulativeReading(T0 + timedelta(hours=1), 1)]
        )
    with pytest.raises(ValueError, match="time order"):
        await client.submit_cumulative_readings(emulator.location_id, [readings[1], readings[0]])
    with pytest.raises(ValueError, match="WH or KWH"):
        await client.submit_cumulative_readings(emulator.location_id, readings, units=EnergyUnits.W)
    assert emulator.requests("PUT", "/meters/cumulative/epoch") == 1


async def test_instant_cost_non_persistent(emulator: Emulator, client: FlatpeakClient) -> None:
    """non_persistent prices without storing; meter uploads have no such flag at all."""
    before = len(emulator.state.records())
    instant = await client.get_instant_cost(record(emulator, 0, 1.0), non_persistent=True)
    assert instant.row.cost > 0
    assert instant.currency_code == "GBP"
    assert len(emulator.state.records()) == before
    assert "non_persistent" not in inspect.signature(client.submit_interval_records).parameters
    with pytest.raises(TypeError):
        await client.submit_interval_records(
            [record(emulator, 0, 1.0)],
            non_persistent=True,  # type: ignore[call-arg]
        )
    await client.submit_interval_records([record(emulator, 0, 1.0)])
    assert len(emulator.state.records()) == before + 1


async def test_prices(emulator: Emulator, client: FlatpeakClient) -> None:
    """Prices come in constant-rate slots; slot_at picks the one valid at a time."""
    prices = await client.get_prices(
        emulator.location_id,
        T0 + timedelta(days=1),
        start=T0,
        tariff_direction=TariffDirection.IMPORT,
    )
    assert prices.currency_code == "GBP"
    assert len(prices.slots) > 1
    slot = prices.slot_at(T0 + timedelta(hours=2))
    assert slot is not None
    assert slot.valid_from <= T0 + timedelta(hours=2) < slot.valid_to
    assert prices.slot_at(T0 - timedelta(days=5)) is None


async def test_tariff_states(emulator: Emulator, client: FlatpeakClient) -> None:
    """no_tariff_connected, pending_connect and no_price_data are their own errors."""
    bare = emulator.state.add_location(emulator.account_id)
    status = await client.get_location_status(bare.id)
    assert not status.import_connected
    assert (await client.get_location_status(emulator.location_id)).import_connected
    emulator.state.fail_next(
        f"/prices/{emulator.location_id}",
        422,
        body={
            "object": "error",
            "type": "invalid_request",
            "code": "no_price_data",
            "message": "No prices for the requested period",
        },
    )
    with pytest.raises(FlatpeakNoPriceDataError) as no_data:
        await client.get_prices(emulator.location_id, T0 + timedelta(hours=1), start=T0)
    assert no_data.value.message == "No prices for the requested period"
    with pytest.raises(FlatpeakNoTariffConnectedError):
        await client.get_interval_cost(bare.id, T0, T0 + timedelta(hours=1))
    emulator.state.set_pending_connect(emulator.location_id, 600)
    with pytest.raises(FlatpeakPendingConnectError) as err:
        await client.get_prices(emulator.location_id, T0 + timedelta(hours=1), start=T0)
    assert err.value.code == "pending_connect"


async def test_rate_limit_and_server_errors(
    emulator: Emulator, client: FlatpeakClient, clock: Clock
) -> None:
    """429 carries Retry-After; 5xx is an API error; 404 is not found."""
    emulator.state.fail_next("/locations", 429, count=1, retry_after=30)
    with pytest.raises(FlatpeakRateLimitError) as err:
        await client.list_locations()
    assert err.value.retry_after == 30
    clock.now += 30
    emulator.state.fail_next("/locations", 503, count=1)
    with pytest.raises(FlatpeakApiError) as api_err:
        await client.list_locations()
    assert api_err.value.status == 503
    with pytest.raises(FlatpeakNotFoundError):
        await client.get_location("loc_000000000000000000000000")
    emulator.state.fail_next("/devices", 400, count=1)
    with pytest.raises(FlatpeakInvalidRequestError) as bad:
        await client.create_device("ha-refused")
    assert bad.value.status == 400


async def test_a_429_quiets_every_call_of_the_account(
    emulator: Emulator, client: FlatpeakClient, session: aiohttp.ClientSession, clock: Clock
) -> None:
    """A rate limit is the account's: after a 429 on a cost report, no request of any kind
    (login included) leaves this client or another sharing its rate limit until the
    Retry-After has passed; each refused call says how long is left."""
    other = FlatpeakClient(
        session,
        emulator.account_id,
        emulator.api_key,
        base_url=emulator.base_url,
        rate_limit=client.rate_limit,
    )
    emulator.state.fail_next("/costs/*", 429, retry_after=1800)
    with pytest.raises(FlatpeakRateLimitError):
        await client.get_interval_cost(emulator.location_id, T0, T0 + timedelta(hours=1))
    sent = len(emulator.state.request_log)
    clock.now += 600
    calls: list[Callable[[], Awaitable[Any]]] = [
        client.list_locations,
        lambda: client.get_prices(emulator.location_id, T0 + timedelta(hours=1)),
        lambda: client.submit_interval_records([record(emulator, 0, 1.0)]),
        other.login,
        lambda: other.get_session_cost("s-1"),
    ]
    for call in calls:
        with pytest.raises(FlatpeakRateLimitError) as err:
            await call()
        assert err.value.retry_after == pytest.approx(1200)
        assert "not sent" in str(err.value)
    assert len(emulator.state.request_log) == sent
    clock.now += 1199
    with pytest.raises(FlatpeakRateLimitError):
        await other.list_locations()
    assert len(emulator.state.request_log) == sent
    clock.now += 1
    await other.list_locations()
    await client.list_locations()
    assert len(emulator.state.request_log) == sent + 3  # other logs in; client had a token


async def test_a_429_without_retry_after_quiets_for_30_seconds(
    emulator: Emulator, client: FlatpeakClient, clock: Clock
) -> None:
    emulator.state.fail_next("/locations", 429)
    with pytest.raises(FlatpeakRateLimitError) as err:
        await client.list_locations()
    assert err.value.retry_after is None
    sent = len(emulator.state.request_log)
    clock.now += 29
    with pytest.raises(FlatpeakRateLimitError):
        await client.list_locations()
    clock.now += 1
    await client.list_locations()
    assert len(emulator.state.request_log) == sent + 1


def test_rate_limit_keeps_the_longest_wait() -> None:
    clock = Clock()
    limit = RateLimit(now=clock)
    assert limit.remaining() == 0
    limit.wait(100)
    limit.wait(30)  # a shorter wait asked later does not shorten the first
    for bad in (0, -5, math.inf, math.nan):
        limit.wait(bad)
    clock.now = 40
    assert limit.remaining() == 60
    clock.now = 100
    assert limit.remaining() == 0
    limit.wait(10)
    assert limit.remaining() == 10
    clock.now = -86_400  # the clock set back a day: still no more than what was asked
    assert limit.remaining() == 10
    clock.now += 10
    assert limit.remaining() == 0


async def test_a_huge_error_body_gives_a_short_message(
    emulator: Emulator, client: FlatpeakClient
) -> None:
    """A 10 MB error page: the error says status and the first words, in under 200
    characters, ending at a word."""
    emulator.state.fail_next("/meters/interval", 503, text="Service unavailable, " * 500_000)
    with pytest.raises(FlatpeakApiError) as err:
        await client.submit_interval_records([record(emulator, 0, 1.0)])
    text = str(err.value)
    assert len(text) < 200
    assert text.startswith("503 error: Service unavailable, Service unavailable")
    assert text.endswith("unavailable…")


async def test_connection_errors(emulator: Emulator, session: aiohttp.ClientSession) -> None:
    """Refused connections and timeouts are connection errors."""
    client = FlatpeakClient(
        session, emulator.account_id, emulator.api_key, base_url="http://127.0.0.1:1"
    )
    with pytest.raises(FlatpeakConnectionError):
        await client.login()
    emulator.state.latency = 0.5
    slow = FlatpeakClient(
        session,
        emulator.account_id,
        emulator.api_key,
        base_url=emulator.base_url,
        request_timeout=0.1,
    )
    with pytest.raises(FlatpeakTimeoutError):
        await slow.login()


def test_retry_after_parsing() -> None:
    """Retry-After as seconds or an HTTP date, always within [30 s, 1 h]; absent is None."""
    future = format_datetime(datetime.now(UTC) + timedelta(minutes=10), usegmt=True)
    far = format_datetime(datetime.now(UTC) + timedelta(days=30), usegmt=True)
    cases: dict[str | None, float | None] = {
        None: None,
        "": None,
        "  ": None,
        "120": 120.0,
        "90.5": 90.5,
        "0": 30.0,
        "1": 30.0,
        "-5": 30.0,
        "nan": 30.0,
        "NaN": 30.0,
        "inf": 3600.0,
        "-inf": 30.0,
        "1e999": 3600.0,
        "86400": 3600.0,
        "soon": 30.0,
        "12 seconds": 30.0,
        "Wed, 21 Oct 2015 07:28:00 GMT": 30.0,  # a date in the past
        "Mon, 99 Foo 2015 07:28:00 GMT": 30.0,
        far: 3600.0,
    }
    for value, expected in cases.items():
        assert parse_retry_after(value) == expected, value
    in_ten_minutes = parse_retry_after(future)
    assert in_ten_minutes is not None
    assert 590 <= in_ten_minutes <= 600


@pytest.mark.parametrize(
    ("header", "expected"), [("0", 30.0), ("inf", 3600.0), ("-1", 30.0), ("later", 30.0)]
)
async def test_rate_limit_retry_after_is_clamped(
    emulator: Emulator, client: FlatpeakClient, header: str, expected: float
) -> None:
    """A 429 whose Retry-After would make the caller hammer Flatpeak, or wait forever."""
    emulator.state.fail_next("/meters/interval", 429, headers={"Retry-After": header})
    with pytest.raises(FlatpeakRateLimitError) as err:
        await client.submit_interval_records([record(emulator, 0, 1.0)])
    assert err.value.retry_after == expected
    timedelta(seconds=err.value.retry_after)  # usable as a delay (inf used to overflow)


def test_client_requires_credentials() -> None:
    with pytest.raises(ValueError, match="required"):
        FlatpeakClient(None, "", "")  # type: ignore[arg-type]


# --- answers the client cannot use -----------------------------------------------------------

BATCH_OK = {"id": "bat_1", "object": "meter_batch", "records_accepted": 3, "failed_records": []}


@pytest.mark.parametrize(
    ("answer", "mismatch"),
    [
        ({}, False),
        ({**BATCH_OK, "records_submitted": "3"}, False),
        ({**BATCH_OK, "records_submitted": None}, False),
        ({**BATCH_OK, "records_submitted": True}, False),
        ({**BATCH_OK, "records_submitted": 2}, True),
        ({**BATCH_OK, "records_submitted": 4, "records_accepted": 4}, True),
        ({**BATCH_OK, "records_submitted": 3, "records_accepted": "3"}, False),
        ({**BATCH_OK, "records_submitted": 3, "failed_records": {}}, False),
        ({**BATCH_OK, "records_submitted": 3, "failed_records": "none"}, False),
        ({**BATCH_OK, "records_submitted": 3, "records_accepted": 2}, True),
        ({**BATCH_OK, "records_submitted": 3, "records_accepted": 1, "failed_records": []}, True),
        (
            {
                **BATCH_OK,
                "records_submitted": 3,
                "records_accepted": 2,
                "failed_records": [{"record_num": 3, "error": "x"}],
            },
            True,
        ),
        (
            {
                **BATCH_OK,
                "records_submitted": 3,
                "records_accepted": 2,
                "failed_records": [{"record_num": "1", "error": "x"}],
            },
            False,
        ),
        (
            {
                **BATCH_OK,
                "records_submitted": 3,
                "records_accepted": 2,
                "failed_records": [{"record_num": -1, "error": "x"}],
            },
            False,
        ),
        (
            {
                **BATCH_OK,
                "records_submitted": 3,
                "records_accepted": 2,
                "failed_records": [{"record_num": 1.5, "error": "x"}],
            },
            False,
        ),
        (
            {
                **BATCH_OK,
                "records_submitted": 3,
                "records_accepted": 1,
                "failed_records": [{"record_num": 1}, {"record_num": 1}],
            },
            True,
        ),
        (
            {
                **BATCH_OK,
                "records_submitted": 3,
                "records_accepted": 3,
                "failed_records": [{"record_num": 0, "error": "x"}],
            },
            True,
        ),
        ({**BATCH_OK, "records_submitted": 3, "object": "error"}, False),
        ({**BATCH_OK, "records_submitted": 3, "failed_records": [7]}, False),
    ],
)
async def test_interval_answer_must_account_for_the_records(
    emulator: Emulator, client: FlatpeakClient, answer: dict[str, object], mismatch: bool
) -> None:
    """A 200 that does not prove the 3 records arrived is a retryable error, not a success."""
    emulator.state.fail_next("/meters/interval", 200, body=answer)
    records = [record(emulator, 5 * i, 0.1, record_reference_id=f"m{i}") for i in range(3)]
    with pytest.raises(FlatpeakResponseFormatError) as err:
        await client.submit_interval_records(records)
    assert isinstance(err.value, FlatpeakApiError)
    assert not isinstance(err.value, FlatpeakInvalidRequestError)
    assert isinstance(err.value, FlatpeakBatchMismatchError) is mismatch
    if mismatch:
        assert isinstance(err.value, FlatpeakBatchMismatchError)
        assert err.value.sent == 3
    # The same records then go through, and an exact answer is accepted.
    batch = await client.submit_interval_records(records)
    assert (batch.records_submitted, batch.records_accepted) == (3, 3)


async def test_interval_answers_are_checked_per_request(
    emulator: Emulator, client: FlatpeakClient
) -> None:
    """10,001 records are two requests: an answer counting all of them is not the first's."""
    records = [record(emulator, i, 0.001, record_reference_id=f"p{i}") for i in range(10_001)]
    emulator.state.fail_next(
        "/meters/interval",
        200,
        body={**BATCH_OK, "records_submitted": 10_001, "records_accepted": 10_001},
    )
    with pytest.raises(FlatpeakBatchMismatchError) as err:
        await client.submit_interval_records(records)
    assert err.value.sent == 10_000
    assert emulator.requests("PUT", "/meters/interval") == 1
    batch = await client.submit_interval_records(records)
    assert batch.records_submitted == batch.records_accepted == 10_001
    assert len(batch.batch_ids) == 2


async def test_refused_records_are_reported_within_the_submission(
    emulator: Emulator, client: FlatpeakClient
) -> None:
    """An answer listing a refused record is consistent: accepted + failed == sent."""
    emulator.state.refuse_records("no tariff for this period", where=lambda r: r.value == 200)
    records = [record(emulator, 5 * i, 0.1 * (i + 1), units=EnergyUnits.KWH) for i in range(3)]
    records[1] = record(emulator, 5, 200, units=EnergyUnits.WH, record_reference_id="refused")
    batch = await client.submit_interval_records(records)
    assert batch.records_accepted == 2
    assert [(f.record_num, f.record_reference_id) for f in batch.failed_records] == [(1, "refused")]
    assert batch.failed_records[0].error == "no tariff for this period"


@pytest.mark.parametrize(
    ("answer", "mismatch"),
    [
        ({}, False),
        (
            {**BATCH_OK, "records_submitted": 4, "records_accepted": 4},
            True,
        ),  # intervals, not readings
        ({**BATCH_OK, "records_submitted": 5, "records_accepted": 6}, True),
        (
            {
                **BATCH_OK,
                "records_submitted": 5,
                "records_accepted": 5,
                "failed_records": [{"record_num": 2, "error": "x"}],
            },
            True,
        ),
        (
            {
                **BATCH_OK,
                "records_submitted": 5,
                "records_accepted": 3,
                "failed_records": [{"record_num": 5, "error": "x"}],
            },
            True,
        ),
        ({**BATCH_OK, "records_submitted": 5, "records_accepted": None}, False),
        ({**BATCH_OK, "records_submitted": 5, "failed_records": 0}, False),
    ],
)
async def test_cumulative_answer_must_account_for_the_readings(
    emulator: Emulator, client: FlatpeakClient, answer: dict[str, object], mismatch: bool
) -> None:
    """records_submitted counts readings; the first reading is only a baseline."""
    readings = [CumulativeReading(T0 + timedelta(minutes=5 * i), 10 + i) for i in range(5)]
    emulator.state.fail_next("/meters/cumulative/epoch", 200, body=answer)
    with pytest.raises(FlatpeakResponseFormatError) as err:
        await client.submit_cumulative_readings(emulator.location_id, readings)
    assert isinstance(err.value, FlatpeakBatchMismatchError) is mismatch
    assert not isinstance(err.value, FlatpeakInvalidRequestError)
    batch = await client.submit_cumulative_readings(emulator.location_id, readings)
    assert (batch.records_submitted, batch.records_accepted) == (5, 4)


def _calls(
    emulator: Emulator,
) -> dict[str, tuple[str, Callable[[FlatpeakClient], Awaitable[object]]]]:
    """Every parsing client method: the path its answer comes from, and a call."""
    loc = emulator.location_id
    end = T0 + timedelta(hours=1)
    readings = [CumulativeReading(T0, 1), CumulativeReading(end, 2)]
    return {
        "login": ("/login", lambda c: c.login()),
        "list_locations": ("/locations", lambda c: c.list_locations()),
        "get_location": (f"/locations/{loc}", lambda c: c.get_location(loc)),
        "get_location_status": (f"/locations/{loc}", lambda c: c.get_location_status(loc)),
        "get_status": (f"/locations/{loc}/status", lambda c: c.get_status(loc)),
        "list_events": ("/events", lambda c: c.list_events()),
        "create_device": ("/devices", lambda c: c.create_device("ha-x", location_ids=[loc])),
        "get_device": ("/devices/dev_x", lambda c: c.get_device("dev_x")),
        "find_device": ("/devices", lambda c: c.find_device("ha-x")),
        "update_device": ("/devices/dev_x", lambda c: c.update_device("dev_x", reference_id="y")),
        "create_connect_token": (
            "/connect/token",
            lambda c: c.create_connect_token("https://x/cb"),
        ),
        "exchange_connect_token": (
            "/connect/tariff/token",
            lambda c: c.exchange_connect_token("cot_x"),
        ),
        "submit_interval_records": (
            "/meters/interval",
            lambda c: c.submit_interval_records([record(emulator, 0, 1.0)]),
        ),
        "submit_cumulative_readings": (
            "/meters/cumulative/epoch",
            lambda c: c.submit_cumulative_readings(loc, readings),
        ),
        "get_interval_cost": (
            f"/costs/interval/{loc}",
            lambda c: c.get_interval_cost(loc, T0, end),
        ),
        "get_session_cost": ("/costs/session/s1", lambda c: c.get_session_cost("s1")),
        "get_instant_cost": (
            "/costs/instant",
            lambda c: c.get_instant_cost(record(emulator, 0, 1.0)),
        ),
        "get_prices": (f"/prices/{loc}", lambda c: c.get_prices(loc, end)),
        "find_duration_slots": (
            f"/schedules/duration/{loc}",
            lambda c: c.find_duration_slots(loc, T0, end, duration_minutes=30),
        ),
        "find_limit_slots": (
            f"/schedules/limit/{loc}",
            lambda c: c.find_limit_slots(loc, T0, end, relative=0.5),
        ),
    }


# Answers no endpoint may take for a success: (description, fault kwargs).
GENERIC_ANSWERS: list[tuple[str, dict[str, object]]] = [
    ("empty object", {"body": {}}),
    ("array", {"body": [{"id": "x"}]}),
    ("empty array", {"body": []}),
    ("string", {"body": "ok"}),
    ("number", {"body": 42}),
    ("true", {"body": True}),
    ("null", {"text": "null"}),
    ("empty body", {"text": ""}),
    ("html", {"text": "<html><body>Service temporarily unavailable</body></html>"}),
    ("truncated json", {"text": '{"id": "x", "data": ['}),
    ("NaN", {"text": "NaN"}),
    ("deep nesting", {"text": "[" * 100_000 + "]" * 100_000}),
    (
        "bad charset",
        {
            "text": '{"bearer_token": "caf\u00e9"',
            "headers": {"Content-Type": "application/json; charset=bogus"},
        },
    ),
    ("error object", {"body": {"object": "error", "code": "internal", "message": "boom"}}),
]

LOCATION = {"id": "loc_1", "timezone": "Europe/London", "tariff_status": {}}
DEVICE = {"id": "dev_1", "reference_id": "ha-x"}
ROW = {"start_time": "2025-06-02T00:00:00Z", "end_time": "2025-06-02T00:05:00Z"}
SLOT = {
    "valid_from": "2025-06-02T00:00:00Z",
    "valid_to": "2025-06-02T01:00:00Z",
    "price": {"value": 0.2},
}
# Answers shaped almost right for one method: (method, description, JSON body).
SPECIFIC_ANSWERS: list[tuple[str, str, object]] = [
    ("login", "no bearer_token", {"expires_in": 3600}),
    ("login", "bearer_token null", {"bearer_token": None, "expires_in": 3600}),
    ("login", "bearer_token number", {"bearer_token": 5, "expires_in": 3600}),
    ("login", "expires_in abc", {"bearer_token": "t", "expires_in": "abc"}),
    ("login", "expires_in numeric string", {"bearer_token": "t", "expires_in": "3600"}),
    ("login", "expires_in negative", {"bearer_token": "t", "expires_in": -5}),
    ("login", "expires_in zero", {"bearer_token": "t", "expires_in": 0}),
    ("login", "expires_in null", {"bearer_token": "t", "expires_in": None}),
    ("login", "expires_in missing", {"bearer_token": "t"}),
    ("login", "expires_in fraction", {"bearer_token": "t", "expires_in": 0.5}),
    ("login", "expires_in bool", {"bearer_token": "t", "expires_in": True}),
    ("login", "live_mode string", {"bearer_token": "t", "expires_in": 60, "live_mode": "no"}),
    ("list_locations", "data object", {"object": "list", "data": {}}),
    ("list_locations", "data missing", {"object": "list", "has_more": False}),
    ("list_locations", "data null", {"object": "list", "data": None}),
    ("list_locations", "item not object", {"object": "list", "data": ["loc_1"]}),
    ("list_locations", "item without id", {"object": "list", "data": [{"timezone": "UTC"}]}),
    ("list_locations", "id number", {"object": "list", "data": [{**LOCATION, "id": 7}]}),
    (
        "list_locations",
        "tariff_status string",
        {"data": [{**LOCATION, "tariff_status": "CONNECTED"}]},
    ),
    ("list_locations", "tariff_status list", {"data": [{**LOCATION, "tariff_status": []}]}),
    ("list_locations", "timezone number", {"data": [{**LOCATION, "timezone": 1}]}),
    ("list_locations", "postal_address string", {"data": [{**LOCATION, "postal_address": "x"}]}),
    (
        "list_locations",
        "address line number",
        {"data": [{**LOCATION, "postal_address": {"city": 1}}]},
    ),
    ("list_locations", "has_more string", {"data": [LOCATION], "has_more": "false"}),
    ("list_locations", "endless pages", {"data": [LOCATION], "has_more": True}),
    ("get_location", "without id", {"timezone": "UTC"}),
    ("get_location", "tariff_status wrong type", {**LOCATION, "tariff_status": 1}),
    ("get_location", "timezone wrong type", {**LOCATION, "timezone": ["Europe/London"]}),
    ("get_location_status", "tariff_status wrong type", {**LOCATION, "tariff_status": "x"}),
    ("get_status", "tariff_status string", {"id": "loc_1", "tariff_status": "CONNECTED"}),
    ("get_status", "tariff_status missing", {"id": "loc_1", "object": "location_status"}),
    ("list_events", "event without id", {"data": [{"type": "location.update"}]}),
    ("list_events", "event type number", {"data": [{"id": "evt_1", "type": 5}]}),
    ("list_events", "data missing", {"object": "list", "has_more": False}),
    ("create_device", "without id", {"reference_id": "ha-x"}),
    ("create_device", "locations string", {**DEVICE, "locations": "loc_1"}),
    ("create_device", "locations of numbers", {**DEVICE, "locations": [1]}),
    ("get_device", "id empty", {**DEVICE, "id": ""}),
    ("get_device", "type number", {**DEVICE, "type": 3}),
    ("update_device", "reference_id object", {**DEVICE, "reference_id": {}}),
    ("find_device", "data object", {"object": "list", "data": {"id": "dev_1"}}),
    ("find_device", "matching item without id", {"data": [{"reference_id": "ha-x"}]}),
    ("find_device", "item not object", {"data": ["dev_1"]}),
    ("create_connect_token", "no token", {"expires_in": 86400}),
    ("create_connect_token", "expires_in text", {"connect_token": "cot_1", "expires_in": "1d"}),
    ("exchange_connect_token", "no location", {"is_tariff_processed": True}),
    (
        "exchange_connect_token",
        "processed as string",
        {"location_id": "loc_1", "is_tariff_processed": "false"},
    ),
    ("submit_interval_records", "counts as strings", {"records_submitted": "1"}),
    ("submit_cumulative_readings", "counts missing", {"object": "meter_batch"}),
    ("get_interval_cost", "data missing", {"currency_code": "GBP"}),
    ("get_interval_cost", "data object", {"data": {}}),
    ("get_interval_cost", "row without times", {"data": [{"energy": {"value": 1}}]}),
    ("get_interval_cost", "naive time", {"data": [{**ROW, "start_time": "2025-06-02T00:00:00"}]}),
    ("get_interval_cost", "time garbage", {"data": [{**ROW, "end_time": "yesterday"}]}),
    ("get_interval_cost", "energy string", {"data": [{**ROW, "energy": {"value": "1 Wh"}}]}),
    ("get_interval_cost", "energy not object", {"data": [{**ROW, "energy": 5}]}),
    ("get_interval_cost", "cost not object", {"data": [{**ROW, "cost": 0.5}]}),
    ("get_interval_cost", "currency number", {"currency_code": 826, "data": []}),
    ("get_session_cost", "row not object", {"data": [1]}),
    # (an amount that is not a number makes the row unpriced, not the answer unreadable)
    (
        "get_session_cost",
        "cost confidence text",
        {"data": [{**ROW, "cost": {"value": 1.0, "confidence": "high"}}]},
    ),
    ("get_instant_cost", "data missing", {"id": "mre_1"}),
    ("get_instant_cost", "data list", {"data": [ROW]}),
    ("get_prices", "data missing", {"currency_code": "GBP"}),
    ("get_prices", "slot without price", {"data": [{**SLOT, "price": None}]}),
    ("get_prices", "price value text", {"data": [{**SLOT, "price": {"value": "cheap"}}]}),
    ("get_prices", "price infinite", {"data": [{**SLOT, "price": {"value": 1e999}}]}),
    ("get_prices", "slot without valid_to", {"data": [{**SLOT, "valid_to": None}]}),
]

CALL_NAMES = [
    "login",
    "list_locations",
    "get_location",
    "get_location_status",
    "get_status",
    "list_events",
    "create_device",
    "get_device",
    "find_device",
    "update_device",
    "create_connect_token",
    "exchange_connect_token",
    "submit_interval_records",
    "submit_cumulative_readings",
    "get_interval_cost",
    "get_session_cost",
    "get_instant_cost",
    "get_prices",
    "find_duration_slots",
    "find_limit_slots",
]


@pytest.mark.parametrize(
    ("method", "fault"),
    [
        pytest.param(method, fault, id=f"{method}-{name}")
        for method in CALL_NAMES
        for name, fault in GENERIC_ANSWERS
    ]
    + [
        pytest.param(method, {"body": body}, id=f"{method}-{name}")
        for method, name, body in SPECIFIC_ANSWERS
    ],
)
async def test_unreadable_answers_raise_flatpeak_errors(
    emulator: Emulator, client: FlatpeakClient, method: str, fault: dict[str, Any]
) -> None:
    """Every 2xx answer the client cannot read is a retryable FlatpeakResponseFormatError."""
    path, call = _calls(emulator)[method]
    if method != "login":
        await client.login()
    emulator.state.fail_next(path, 200, count=1 if method != "list_locations" else 3, **fault)
    with pytest.raises(FlatpeakError) as err:
        await call(client)
    assert isinstance(err.value, FlatpeakResponseFormatError), repr(err.value)
    assert not isinstance(err.value, FlatpeakInvalidRequestError)


def test_every_parsing_method_is_covered() -> None:
    """The table above names every public coroutine of the client that reads an answer."""
    coroutines = {
        name
        for name, member in inspect.getmembers(FlatpeakClient, inspect.iscoroutinefunction)
        if not name.startswith("_")
    }
    assert coroutines - {"delete_device"} == set(CALL_NAMES)


async def test_lenient_where_documented(emulator: Emulator, client: FlatpeakClient) -> None:
    """Optional fields: defaults for absent ones, unknown tariff states and bad informational
    times do not fail the answer."""
    emulator.state.fail_next(
        f"/locations/{emulator.location_id}",
        200,
        body={"id": "loc_1", "tariff_status": {"commodity_import": 5, "local": "NEW_STATE"}},
    )
    location = await client.get_location(emulator.location_id)
    assert location.timezone == "UTC"
    assert location.tariff_status.commodity_import.value == "ERROR"
    assert location.tariff_status.local.value == "ERROR"
    assert location.tariff_status.commodity_export.value == "NOT_CONNECTED"
    emulator.state.fail_next(
        "/devices/dev_1", 200, body={**DEVICE, "last_seen": "never", "time_created": 5}
    )
    device = await client.get_device("dev_1")
    assert (device.last_seen, device.time_created, device.locations) == (None, None, [])
    emulator.state.fail_next(
        "/login", 200, body={"bearer_token": "t", "expires_in": 3600.0, "live_mode": None}
    )
    token = await client.login()
    assert (token.expires_in, token.live_mode) == (3600, False)
    emulator.state.fail_next("/login", 200, body={"bearer_token": "t", "expires_in": 10**400})
    assert (await client.login()).expires_in == 10**400  # renewed daily all the same
    assert client._token_renew_at - time.monotonic() <= 86_400


# --- secrets in error messages ---------------------------------------------------------------


@pytest.mark.parametrize("reflect", ["message", "text"])
@pytest.mark.parametrize("status", [400, 403, 422, 429, 500, 503])
async def test_reflected_headers_are_redacted(
    emulator: Emulator,
    client: FlatpeakClient,
    caplog: pytest.LogCaptureFixture,
    reflect: str,
    status: int,
) -> None:
    """A server echoing Authorization, the token or the decoded key: none reach the message."""
    await client.login()
    token = client._token
    assert token is not None
    basic = base64.b64encode(f"{emulator.account_id}:{emulator.api_key}".encode()).decode()
    emulator.state.fail_next("/devices", status, count=2, reflect_headers=reflect)
    with caplog.at_level(logging.DEBUG), pytest.raises(FlatpeakError) as err:
        await client.find_device("ha-x")
    client.rate_limit = RateLimit()  # a 429 above must not keep the login below from going
    emulator.state.fail_next("/login", status, reflect_headers=reflect)
    with pytest.raises(FlatpeakError) as login_err:
        await client.login()
    for error in (err.value, login_err.value):
        text = f"{error} {error!r} {getattr(error, 'message', '')} {getattr(error, 'code', '')}"
        for secret in (token, basic, emulator.api_key, "sk_test_"):
            assert secret not in text
        assert "[redacted]" in text
        assert len(str(error)) <= 320
    assert "Rejected request with headers" in str(err.value)  # the rest stays readable
    assert token not in caplog.text


async def test_redaction_of_generic_credentials(emulator: Emulator, client: FlatpeakClient) -> None:
    """Authorization fragments and keys that are not ours are removed too; texts are capped."""
    messages = {
        "Authorization: Bearer abc.def-123": "Authorization: [redacted]",
        "proxy-authorization=Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==": "proxy-authorization=[redacted]",
        '{"authorization": "Token zz9"}': '{"authorization": "[redacted]"}',
        "sent Bearer eyJhbGciOi.J9x_y and Basic QWxhZGRpbjpvcGVu1== here": (
            "sent Bearer [redacted] and Basic [redacted] here"
        ),
        "key sk_live_0123456789abcdef refused": "key sk_live_[redacted] refused",
        "Missing basic credentials": "Missing basic credentials",
        "Bad\ncredentials\t!": "Bad credentials !",
    }
    for message, expected in messages.items():
        emulator.state.fail_next("/devices", 400, body={"message": message, "code": "x"})
        with pytest.raises(FlatpeakInvalidRequestError) as err:
            await client.find_device("ha-x")
        assert err.value.message == expected
    emulator.state.fail_next(
        "/devices", 400, body={"message": "x" * 10_000, "code": "Bearer abcdef123456" + "y" * 100}
    )
    with pytest.raises(FlatpeakInvalidRequestError) as err:
        await client.find_device("ha-x")
    assert len(err.value.message) == MAX_MESSAGE_CHARS
    assert err.value.message.endswith("…")
    assert err.value.code is not None
    assert "abcdef123456" not in err.value.code
    assert len(err.value.code) <= MAX_CODE_CHARS
    emulator.state.fail_next("/devices", 500, body={"message": {"nested": True}, "code": 5})
    with pytest.raises(FlatpeakApiError) as api_err:
        await client.find_device("ha-x")
    assert api_err.value.code is None
    assert "nested" in api_err.value.message


async def test_refused_record_texts_are_redacted(
    emulator: Emulator, client: FlatpeakClient
) -> None:
    """Failure reasons of refused records are logged by the uploader: the same redaction."""
    await client.login()
    token = client._token
    assert token is not None
    emulator.state.refuse_records(f"refused for Bearer {token} by {emulator.api_key}")
    batch = await client.submit_interval_records([record(emulator, 0, 1.0)])
    (failed,) = batch.failed_records
    assert token not in failed.error
    assert emulator.api_key not in failed.error


# --- request bodies ---------------------------------------------------------------------------


async def test_large_submission_sends_a_payload_not_raw_bytes(
    emulator: Emulator, client: FlatpeakClient
) -> None:
    """10,000 records (a few MB of JSON) go without aiohttp's "raw bytes lock the loop" warning."""
    records = [record(emulator, 5 * i, 0.01, record_reference_id=f"w{i}") for i in range(10_000)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        batch = await client.submit_interval_records(records)
    assert batch.records_accepted == 10_000
    assert [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)] == []
    # A retried request (after a refused token) sends its body again, whole.
    emulator.state.expire_tokens()
    batch = await client.submit_interval_records(records[:2])
    assert batch.records_accepted == 2
    assert len(emulator.state.records()) == 10_000


async def test_a_reset_connection_resends_the_whole_body_or_fails_cleanly(
    emulator: Emulator, client: FlatpeakClient
) -> None:
    """aiohttp retries a PUT once when a kept-alive connection is reset, with the same
    payload. Found by the soak: on aiohttp 3.11 a read-once payload made that retry fail with
    "I/O operation on closed file" or send an empty body (400 invalid_json). Each attempt must
    send the whole body, or the call must fail as a connection error (retried next cycle)."""
    device = await client.create_device("ha-meter", location_ids=[emulator.location_id])
    records = [
        record(emulator, 5 * i, 0.25, device_id=device.id, record_reference_id=f"reset{i}")
        for i in range(3)
    ]
    for round_ in range(3):  # the connection is kept alive from the call before
        emulator.state.drop_next("/meters/interval", processed=round_ == 1)
        try:
            batch = await client.submit_interval_records(records)
        except FlatpeakConnectionError:
            batch = await client.submit_interval_records(records)  # the next cycle
        assert batch.records_accepted == 3
    stored = emulator.state.records(device_id=device.id)
    assert sorted(r["energy_wh"] for r in stored) == pytest.approx([250.0] * 3)


@pytest.mark.parametrize("token", ["tok\r\nX-Injected: 1", "two words", "t\u00f6k", "tok\x00"])
async def test_login_refuses_a_token_that_cannot_be_sent(
    emulator: Emulator, client: FlatpeakClient, token: str
) -> None:
    """A token that cannot go in a header is a format error and is not kept: the next call
    logs in again and works."""
    emulator.state.fail_next("/login", 200, body={"bearer_token": token, "expires_in": 3600})
    with pytest.raises(FlatpeakResponseFormatError):
        await client.get_location(emulator.location_id)
    location = await client.get_location(emulator.location_id)
    assert location.id == emulator.location_id


async def test_status_is_read_leniently(emulator: Emulator, client: FlatpeakClient) -> None:
    """``/status`` as loosely as Flatpeak's examples write it: a status with a trailing
    space, an unknown status (ERROR), a part that is not an object (ERROR), a missing part
    (NOT_CONNECTED), optional fields of the wrong type left out."""
    emulator.state.fail_next(
        f"/locations/{emulator.location_id}/status",
        200,
        body={
            "id": emulator.location_id,
            "tariff_status": {
                "commodity_import": {
                    "status": "CONNECTED ",
                    "connection_type": "direct",
                    "provider": {"display_name": 7},
                    "tariff": {
                        "id": "trf_1",
                        "display_name": " Go ",
                        "structure_type": "time_of_day",
                        "contract_end_date": "soon",
                    },
                },
                "commodity_export": {"status": "PAUSED"},
                "non_commodity_import": "CONNECTED",
            },
        },
    )
    status = await client.get_status(emulator.location_id)
    imported = status.commodity_import
    assert imported.connected
    assert (imported.connection_type, imported.provider, imported.tariff_name) == (
        "DIRECT",
        None,
        "Go",
    )
    assert (imported.structure_type, imported.contract_end) == ("TIME_OF_DAY", None)
    assert status.commodity_export.status == "ERROR"
    assert status.non_commodity_import.status == "ERROR"
    assert status.part_of("trf_1") == "commodity_import"
    assert status.part_of("trf_nope") is None
