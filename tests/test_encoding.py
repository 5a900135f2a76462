"""Interval records encoded record by record: the same JSON as json.dumps, no object each."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
import json

import aiohttp
import pytest

from custom_components.flatpeak.client import (
    MAX_RECORDS_PER_CALL,
    EncodedRecords,
    EnergyFlowDirection,
    EnergyUnits,
    FlatpeakClient,
    MeterRecord,
    RecordSeries,
    TariffDirection,
    encode_records,
)
from custom_components.flatpeak.client.encoding import encode_meter_records
from custom_components.flatpeak.core.records import HOUR, StatRow, StreamState, record_reference_id
from custom_components.flatpeak.core.streams import Stream
from custom_components.flatpeak.core.window import Item, PlanJob, build_window
from tests.conftest import Emulator

T = datetime(2025, 6, 2, 10, 0, tzinfo=UTC)
FIVE = timedelta(minutes=5)


def _records() -> list[MeterRecord]:
    """Every optional field set and unset, ids that need escaping, ints and floats."""
    return [
        MeterRecord(
            location_id='loc_"é\\',
            start_time=T + FIVE * i,
            end_time=T + FIVE * (i + 1),
            value=[0, 0.1, 1.5e-7, 12345.678901234][i % 4],
            units=EnergyUnits.KWH,
            device_id=None if i % 5 == 0 else "dev_\u2603\n",
            record_reference_id=None if i % 3 == 0 else f"ha-dev-grid_import-{i}",
            session_reference_id="session \t1" if i % 4 == 0 else None,
            energy_flow_direction=EnergyFlowDirection.OUTBOUND,
            tariff_direction=TariffDirection.EXPORT,
            confidence=[None, 1.0, 0.5, 1][i % 4],
        )
        for i in range(60)
    ]


def test_encoded_body_is_what_json_dumps_writes() -> None:
    """Byte for byte, so Flatpeak gets exactly what it got before."""
    records = _records()
    encoded = encode_meter_records(records)
    assert encoded.count == len(records)
    assert encoded.body == json.dumps([r.to_dict() for r in records]).encode()


def test_a_series_writes_each_record_of_a_stream() -> None:
    series = RecordSeries(
        "loc",
        device_id="dev",
        energy_flow_direction=EnergyFlowDirection.INBOUND,
        tariff_direction=TariffDirection.IMPORT,
        confidence=1.0,
    )
    encoded = encode_records([series.encode(T, T + FIVE, 0.25, "ref", None)])
    record = MeterRecord("loc", T, T + FIVE, 0.25, device_id="dev", record_reference_id="ref")
    assert json.loads(encoded.body) == [{**record.to_dict(), "confidence": 1.0}]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"value": -0.1}, "value must be"),
        ({"value": float("nan")}, "value must be"),
        ({"end": T - FIVE}, "before start_time"),
        ({"start": T.replace(tzinfo=None)}, "timezone-aware"),
    ],
)
def test_a_bad_record_is_named(change: dict[str, object], message: str) -> None:
    """The checks of MeterRecord.validate, record by record."""
    fields: dict[str, object] = {"start": T, "end": T + FIVE, "value": 0.1} | change
    with pytest.raises(ValueError, match=message):
        RecordSeries("loc").encode(**fields)  # type: ignore[arg-type]


def test_a_bad_series_is_named() -> None:
    with pytest.raises(ValueError, match="location_id"):
        RecordSeries("")
    with pytest.raises(ValueError, match="confidence"):
        RecordSeries("loc", confidence=1.5)


async def test_encoded_records_are_one_request(emulator: Emulator) -> None:
    """Sent as they are: one PUT, answered for every record; none is no request; more than
    one request's worth is refused before anything is sent."""
    async with aiohttp.ClientSession() as session:
        client = FlatpeakClient(
            session, emulator.account_id, emulator.api_key, base_url=emulator.base_url
        )
        series = RecordSeries(emulator.location_id)
        objects = [series.encode(T + FIVE * i, T + FIVE * (i + 1), 0.1, f"r{i}") for i in range(3)]
        batch = await client.submit_interval_records(encode_records(objects))
        assert batch.records_accepted == 3
        assert emulator.requests("PUT", "/meters/interval") == 1
        await client.submit_interval_records(encode_records([]))
        with pytest.raises(ValueError, match="at most"):
            await client.submit_interval_records(EncodedRecords(b"[]", MAX_RECORDS_PER_CALL + 1))
        assert emulator.requests("PUT", "/meters/interval") == 1
    assert len(emulator.state.records(location_id=emulator.location_id)) == 3


def test_a_window_is_its_body_and_one_list_per_field() -> None:
    """The worker thread hands back the encoded request and the records' fields by index
    (an Item only when asked for one); interval plans keep their state, not their periods."""
    stream = Stream(
        name="grid_import",
        subentry_id="sub",
        device_id="dev",
        entity_id="sensor.grid_import",
        flow=EnergyFlowDirection.INBOUND,
        tariff=TariffDirection.IMPORT,
        confidence=1.0,
        cumulative=False,
        sessions=False,
    )
    rows = [StatRow(T + FIVE * i, 0.1 * i) for i in range(12)]
    queued = Item(stream, T - FIVE, 0.5, None, attempts=1)
    window = build_window(
        [PlanJob(stream, StreamState(cursor=T), rows, [], [])],
        T + HOUR,
        settled=T,
        location_id="loc",
        queued=[queued],
        budget=MAX_RECORDS_PER_CALL,
    )
    assert window.body.count == len(window.items) == 13
    assert window.plans[stream.key].send == []
    assert window.plans[stream.key].state.cursor == T + HOUR
    assert window.items[12] == queued
    sent = json.loads(window.body.body)
    for index, item in enumerate(window.items):
        assert sent[index]["start_time"] == item.start.isoformat().replace("+00:00", "Z")
        assert sent[index]["value"] == item.kwh
        assert sent[index]["record_reference_id"] == record_reference_id(
            "dev", "grid_import", item.start
        )
