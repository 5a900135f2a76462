"""One upload window: every stream's plan and its request body, built in a worker thread.

Plain data in, plain data out (no Home Assistant): the coordinator reads the statistics,
hands them here, and sends what comes back.

A window's records leave the worker thread as the encoded request body and one list per
field (:class:`Items`), not as an object per record: objects that live across a window's
plan and send are promoted to the oldest generation of the garbage collector, and enough
of them start a full collection, which holds the GIL, and so stops Home Assistant's event
loop, for as long as it scans every object of the process.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from ..client import EncodedRecords, EnergyUnits, RecordSeries, encode_records
from .records import (
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


@dataclass(slots=True)
class Items:
    """A window's interval records in request order, one list per field.

    Indexing makes an :class:`Item` on demand: only refused records and totals need them.
    """

    streams: list[Stream] = field(default_factory=list)
    starts: list[datetime] = field(default_factory=list)
    kwh: list[float] = field(default_factory=list)
    sessions: list[str | None] = field(default_factory=list)
    attempts: list[int] = field(default_factory=list)

    def append(self, item: Item) -> None:
        """Add a record at the end."""
        self.add(item.stream, item.start, item.kwh, item.session, item.attempts)

    def add(
        self, stream: Stream, start: datetime, kwh: float, session: str | None, attempts: int
    ) -> None:
        """Add a record at the end, field by field."""
        self.streams.append(stream)
        self.starts.append(start)
        self.kwh.append(kwh)
        self.sessions.append(session)
        self.attempts.append(attempts)

    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, index: int) -> Item:
        return Item(
            self.streams[index],
            self.starts[index],
            self.kwh[index],
            self.sessions[index],
            self.attempts[index],
        )

    def __iter__(self) -> Iterator[Item]:
        return (self[index] for index in range(len(self)))


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
    """A planned window: its end, each stream's plan, and the interval records to send.

    The plans of interval streams keep their state only (their periods are in ``body``).
    """

    end: datetime
    plans: dict[str, StreamPlan]
    items: Items
    body: EncodedRecords


def series_of(stream: Stream, location_id: str) -> RecordSeries:
    """The fields every interval record of a stream shares."""
    return RecordSeries(
        location_id,
        device_id=stream.device_id,
        units=EnergyUnits.KWH,
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
    """Plan every stream up to ``end`` and encode the interval records, within ``budget``.

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
    items = Items()
    for job in jobs:
        if job.stream.cumulative:
            continue
        key = job.stream.key
        for p in plans[key].send:
            items.add(job.stream, p.start, p.sent, session_for(job.sessions, p.start, p.end), 0)
        # Its periods are encoded below; the plan keeps only what the uploader commits.
        plans[key] = StreamPlan([], plans[key].corrected, plans[key].state)
    fresh = {(s.key, start) for s, start in zip(items.streams, items.starts, strict=True)}
    for q in queued:
        if (q.stream.key, q.start) not in fresh:
            items.append(q)
    series: dict[str, RecordSeries] = {}
    for stream in {s.key: s for s in items.streams}.values():
        series[stream.key] = series_of(stream, location_id)
    body = encode_records(
        [
            series[stream.key].encode(
                start,
                start + FIVE_MINUTES,
                kwh,
                record_reference_id(stream.device_id, stream.name, start),
                session,
            )
            for stream, start, kwh, session in zip(
                items.streams, items.starts, items.kwh, items.sessions, strict=True
            )
        ]
    )
    return Window(end, plans, items, body)
