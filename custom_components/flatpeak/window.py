"""One upload window: every stream's plan and records, built in a worker thread.

Plain data in, plain data out (no Home Assistant): the coordinator reads the statistics,
hands them here, and sends what comes back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from .client import EnergyUnits, MeterRecord
from .planner import (
    FIVE_MINUTES,
    StatRow,
    StreamPlan,
    StreamState,
    cumulative_readings,
    plan_stream,
    record_reference_id,
)
from .sessions import Session, session_for
from .streams import Stream


@dataclass(frozen=True, slots=True)
class Item:
    """One interval record of a window and where it came from."""

    stream: Stream
    start: datetime
    kwh: float
    session: str | None
    attempts: int = 0


@dataclass(frozen=True, slots=True)
class PlanJob:
    """What the worker thread needs to plan one stream."""

    stream: Stream
    state: StreamState
    five: list[StatRow]
    hourly: list[StatRow]
    sessions: list[Session]


@dataclass(frozen=True, slots=True)
class Window:
    """A planned window: its end, each stream's plan, and the interval records to send."""

    end: datetime
    plans: dict[str, StreamPlan]
    items: list[Item]
    records: list[MeterRecord]


def make_record(stream: Stream, location_id: str, item: Item) -> MeterRecord:
    """The interval record of one stream's period."""
    return MeterRecord(
        location_id=location_id,
        device_id=stream.device_id,
        start_time=item.start,
        end_time=item.start + FIVE_MINUTES,
        value=item.kwh,
        units=EnergyUnits.KWH,
        record_reference_id=record_reference_id(stream.device_id, stream.name, item.start),
        session_reference_id=item.session,
        energy_flow_direction=stream.flow,
        tariff_direction=stream.tariff,
        confidence=stream.confidence,
    )


def _size(jobs: Sequence[PlanJob], plans: dict[str, StreamPlan]) -> int:
    """Records of the interval request plus readings of each cumulative request."""
    size = 0
    for job in jobs:
        plan = plans[job.stream.key]
        if job.stream.cumulative:
            size += len(cumulative_readings(job.state, plan)[0])
        else:
            size += len(plan.send)
    return size


def build_window(
    jobs: Sequence[PlanJob],
    end: datetime,
    *,
    settled: datetime,
    location_id: str,
    queued: Sequence[Item],
    budget: int,
) -> Window:
    """Plan every stream up to ``end`` and build the interval records, within ``budget``.

    Corrections of earlier periods come on top of the new ones, so a window with a decrease
    can exceed its estimate; it is then planned again a little shorter (down to one period:
    corrections alone never pass 289 per stream). ``queued`` records
    (refused before) go along unless the window sends their period anew.
    """
    start = min(job.state.cursor for job in jobs)
    while True:
        plans = {
            job.stream.key: plan_stream(job.state, job.five, job.hourly, end, settled=settled)
            for job in jobs
        }
        excess = _size(jobs, plans) + len(queued) - budget
        if excess <= 0 or end <= start + FIVE_MINUTES:
            break
        end = max(start + FIVE_MINUTES, end - FIVE_MINUTES * -(-excess // len(jobs)))
    items = [
        Item(job.stream, p.start, p.sent, session_for(job.sessions, p.start, p.end))
        for job in jobs
        if not job.stream.cumulative
        for p in plans[job.stream.key].send
    ]
    fresh = {(i.stream.key, i.start) for i in items}
    items += [q for q in queued if (q.stream.key, q.start) not in fresh]
    records = [make_record(i.stream, location_id, i) for i in items]
    return Window(end, plans, items, records)
