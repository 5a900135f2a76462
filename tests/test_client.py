"""The Flatpeak client against the emulator over real HTTP: every call, every error class."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import UTC, datetime, timedelta
import logging

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
    FlatpeakClient,
    FlatpeakConnectionError,
    FlatpeakInvalidRequestError,
    FlatpeakNoPriceDataError,
    FlatpeakNoTariffConnectedError,
    FlatpeakNotFoundError,
    FlatpeakPendingConnectError,
    FlatpeakRateLimitError,
    FlatpeakTimeoutError,
    MeterRecord,
    TariffDirection,
)
from custom_components.flatpeak.client.models import Location, PostalAddress, TariffStatus
from tests.conftest import Emulator

T0 = datetime(2025, 6, 2, 0, 0, tzinfo=UTC)  # a Monday, BST


@pytest.fixture
async def session() -> AsyncGenerator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def client(emulator: Emulator, session: aiohttp.ClientSession) -> FlatpeakClient:
    return FlatpeakClient(
        session, emulator.account_id, emulator.api_key, base_url=emulator.base_url
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
    """non_persistent prices without storing."""
    before = len(emulator.state.records())
    instant = await client.get_instant_cost(record(emulator, 0, 1.0), non_persistent=True)
    assert instant.row.cost > 0
    assert instant.currency_code == "GBP"
    assert len(emulator.state.records()) == before
    batch = await client.submit_interval_records([record(emulator, 0, 1.0)], non_persistent=True)
    assert batch.records_submitted == 1
    assert len(emulator.state.records()) == before


async def test_prices(emulator: Emulator, client: FlatpeakClient) -> None:
    """Prices come in constant-rate slots; price_at picks the right one."""
    prices = await client.get_prices(
        emulator.location_id,
        T0 + timedelta(days=1),
        start=T0,
        tariff_direction=TariffDirection.IMPORT,
    )
    assert prices.currency_code == "GBP"
    assert len(prices.slots) > 1
    assert prices.price_at(T0 + timedelta(hours=2)) is not None
    assert prices.price_at(T0 - timedelta(days=5)) is None


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


async def test_rate_limit_and_server_errors(emulator: Emulator, client: FlatpeakClient) -> None:
    """429 carries Retry-After; 5xx is an API error; 404 is not found."""
    emulator.state.fail_next("/locations", 429, count=1, retry_after=30)
    with pytest.raises(FlatpeakRateLimitError) as err:
        await client.list_locations()
    assert err.value.retry_after == 30
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
    """Retry-After as seconds or an HTTP date; garbage is ignored."""
    from custom_components.flatpeak.client.client import _parse_retry_after

    assert _parse_retry_after("12") == 12
    assert _parse_retry_after(None) is None
    assert _parse_retry_after("soon") is None
    assert _parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0


def test_client_requires_credentials() -> None:
    with pytest.raises(ValueError, match="required"):
        FlatpeakClient(None, "", "")  # type: ignore[arg-type]
