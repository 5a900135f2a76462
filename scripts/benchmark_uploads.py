"""Benchmark: what a history backfill costs (planning, encoding, submission to the emulator).

Prints figures; asserts nothing. Run with ``scripts/benchmark [days]``.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
import sys
import time

import aiohttp
from aiohttp import web

from custom_components.flatpeak.client import FlatpeakClient
from custom_components.flatpeak.client.client import _encode_chunks
from custom_components.flatpeak.coordinator import _plan_jobs, _PlanJob
from custom_components.flatpeak.intervals import StatRow
from custom_components.flatpeak.streams import Stream
from tests.emulator import EmulatorState, create_app


def _streams(device_id: str) -> list[Stream]:
    from custom_components.flatpeak.client import EnergyFlowDirection, TariffDirection

    return [
        Stream(name, "sub", device_id, f"sensor.{name}", flow, tariff, conf, False, False)
        for name, flow, tariff, conf in (
            ("grid_import", EnergyFlowDirection.INBOUND, TariffDirection.IMPORT, None),
            ("grid_export", EnergyFlowDirection.OUTBOUND, TariffDirection.EXPORT, None),
            ("solar", EnergyFlowDirection.INBOUND, TariffDirection.LOCAL, 1.0),
        )
    ]


async def main(days: int) -> None:
    state = EmulatorState()
    demo = state.seed_demo()
    runner = web.AppRunner(create_app(state), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    async with aiohttp.ClientSession() as session:
        client = FlatpeakClient(
            session, demo["account_id"], demo["api_key"], base_url=f"http://127.0.0.1:{port}"
        )
        device = await client.create_device("bench")
        start = datetime(2025, 1, 1, tzinfo=UTC)
        end = start + timedelta(days=days)
        periods = days * 288
        five = [StatRow(start + timedelta(minutes=5 * i), 0.01) for i in range(periods)]
        hourly = [StatRow(start + timedelta(hours=h), 0.12) for h in range(days * 24)]
        jobs = [
            _PlanJob(stream, five, hourly, start, end, 0.0, []) for stream in _streams(device.id)
        ]

        t0 = time.perf_counter()
        planned = _plan_jobs(jobs, demo["location_id"])
        records = [p.record for pending, _ in planned for p in pending]
        t1 = time.perf_counter()
        bodies = _encode_chunks(records)
        t2 = time.perf_counter()
        before = len(state.request_log)
        batch = await client.submit_interval_records(records)
        t3 = time.perf_counter()

    await runner.cleanup()
    print(f"backfill of {days} days x 3 streams: {len(records)} records")
    print(f"  plan + build records: {1000 * (t1 - t0):8.1f} ms (worker thread in HA)")
    size = sum(map(len, bodies)) / 1e6
    requests = len(state.request_log) - before
    print(f"  validate + encode:    {1000 * (t2 - t1):8.1f} ms (worker thread), {size:.1f} MB")
    print(f"  submit to emulator:   {1000 * (t3 - t2):8.1f} ms incl. encoding, {requests} requests")
    print(f"  accepted: {batch.records_accepted}, failed: {len(batch.failed_records)}")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 10))
