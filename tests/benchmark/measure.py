"""What a run of async work costs: wall and CPU time, event-loop lateness, GC, memory.

Used by tests/benchmark/uploads.py; plain Python, no Home Assistant. Run the work on the
loop whose lateness matters (the probe runs on the running loop).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
import contextlib
from dataclasses import dataclass, field
import gc
from pathlib import Path
import time
import tracemalloc
from typing import Any

PROBE_SECONDS = 0.005


@dataclass
class _Samples:
    """Event-loop wake-ups ``(asleep_from, woke_at)`` and full garbage collections."""

    wakes: list[tuple[float, float]] = field(default_factory=list)
    pauses: list[tuple[int, float, float]] = field(default_factory=list)  # generation, from, to
    _gc_started: float = 0.0

    def on_gc(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
        else:
            self.pauses.append((info["generation"], self._gc_started, time.perf_counter()))

    def loop(self) -> dict[str, float]:
        """Lateness p50/p99/max, and the max of wake-ups no full collection fell into."""
        late = sorted(woke - asleep - PROBE_SECONDS for asleep, woke in self.wakes) or [0.0]
        full = [(start, end) for generation, start, end in self.pauses if generation == 2]
        clear = [
            woke - asleep - PROBE_SECONDS
            for asleep, woke in self.wakes
            if not any(start < woke and end > asleep for start, end in full)
        ]

        def at(q: float) -> float:
            return _ms(late[min(len(late) - 1, round(q * (len(late) - 1)))])

        return {
            "p50": at(0.5),
            "p99": at(0.99),
            "max": at(1.0),
            "max_outside_full_gc": _ms(max(clear, default=0.0)),
        }

    def gc(self) -> dict[str, float]:
        """Collections, full ones, the longest pause and all pauses together."""
        lengths = [end - start for _, start, end in self.pauses]
        return {
            "collections": len(lengths),
            "full": sum(1 for generation, _, _ in self.pauses if generation == 2),
            "max": _ms(max(lengths, default=0.0)),
            "total": _ms(sum(lengths)),
        }


def _ms(seconds: float) -> float:
    return round(1000 * seconds, 2)


@dataclass
class Run:
    """What one measured run cost."""

    wall: float
    cpu: float
    samples: _Samples
    result: dict[str, Any]


@dataclass
class Runs:
    """Repeated runs of the same work: times of the fastest, loop and GC of all together."""

    runs: list[Run]

    @property
    def best(self) -> Run:
        """The fastest run (the machine is shared: slower runs met other work)."""
        return min(self.runs, key=lambda run: run.wall)

    @property
    def walls(self) -> str:
        """Every run's wall seconds."""
        return ", ".join(f"{run.wall:.2f}" for run in self.runs)

    @property
    def loop(self) -> dict[str, float]:
        """Event-loop lateness over every run, in ms."""
        return _Samples(
            [w for run in self.runs for w in run.samples.wakes],
            [p for run in self.runs for p in run.samples.pauses],
        ).loop()

    @property
    def gc(self) -> dict[str, float]:
        """Garbage collections per run (the most), and their longest pause over every run."""
        each = [run.samples.gc() for run in self.runs]
        busiest = max(each, key=lambda figures: figures["total"])
        return busiest | {"max": max(figures["max"] for figures in each)}


async def measure(work: Callable[[], Awaitable[dict[str, Any]]]) -> Run:
    """``work()`` timed (wall, process CPU), with a probe on the loop and the GC watched.

    The probe sleeps 5 ms at a time and records each wake-up: one is late by about as long
    as the loop was kept from running (by a callback, or by a thread holding the GIL, as
    the garbage collector does), so the largest lateness is the longest block, within 5 ms.
    """
    samples = _Samples()

    async def probe() -> None:
        while True:
            asleep = time.perf_counter()
            await asyncio.sleep(PROBE_SECONDS)
            samples.wakes.append((asleep, time.perf_counter()))

    task = asyncio.get_running_loop().create_task(probe())
    await asyncio.sleep(0)
    gc.callbacks.append(samples.on_gc)
    try:
        cpu, wall = time.process_time(), time.perf_counter()
        result = await work()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    finally:
        gc.callbacks.remove(samples.on_gc)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    return Run(wall, cpu, samples, result)


async def traced_peak_mb(work: Callable[[], Awaitable[Any]]) -> tuple[float, float]:
    """Peak growth of Python's allocations during ``work()`` (tracemalloc) in MB, and its
    wall seconds (tracing slows every allocation, so time a run without it)."""
    tracemalloc.start()
    try:
        baseline = tracemalloc.get_traced_memory()[0]
        wall = time.perf_counter()
        await work()
        wall = time.perf_counter() - wall
        return (tracemalloc.get_traced_memory()[1] - baseline) / 1e6, wall
    finally:
        tracemalloc.stop()


def reset_peak_rss() -> int | None:
    """Reset the peak RSS to the current one (Linux ``clear_refs``); the current RSS in kB."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return None
    return _status_kb("VmRSS")


def peak_rss_kb() -> int | None:
    """The peak RSS (kB) since :func:`reset_peak_rss`."""
    return _status_kb("VmHWM")


def _status_kb(name: str) -> int | None:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{name}:"):
            return int(line.split()[1])
    return None
