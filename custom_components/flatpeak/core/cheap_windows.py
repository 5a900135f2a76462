"""Cheap windows: which window to search, what its slots say at a moment, which plan stands.

A cheap window asks Flatpeak for the cheapest (or dearest) slots of a search window, either
between two local times ("18:00 → 07:00") or over a rolling "next N hours". Flatpeak does the
search (``find_duration_slots`` / ``find_limit_slots``); this module is what Home Assistant
needs around its answers, as plain functions of aware datetimes, so they are tested without HA:

- :func:`window_for` (:func:`between_window`, :func:`rolling_window`): the search window at a
  moment, in the location's time zone, DST included;
- :func:`slot_state`, :func:`merge_slots`, :func:`average_price`: whether a slot runs now, the
  next start and end, the chosen slots' mean price; the binary sensor switches from these
  without a request;
- :func:`plan_to_use`, :func:`keeps_plan`, :func:`needs_refresh`: a window that has started
  keeps its slots until it ends, so a machine already running is never switched off because
  prices moved.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from ..client import MAX_SCHEDULE_WINDOW, Schedule, ScheduleSlot

MINUTE = timedelta(minutes=1)


# --- search windows -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SearchWindow:
    """``[start, end)``, aware, at most 3 days (the longest window Flatpeak searches)."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        """Refuse what Flatpeak would: naive times, an empty or over-long window."""
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("a search window needs aware datetimes")
        if self.end <= self.start:
            raise ValueError("a search window must end after it starts")
        if self.end - self.start > MAX_SCHEDULE_WINDOW:
            raise ValueError("a search window is at most 3 days")

    def has_started(self, moment: datetime) -> bool:
        """Whether ``moment`` is at or after the start."""
        return moment >= self.start

    def has_ended(self, moment: datetime) -> bool:
        """Whether ``moment`` is at or after the end."""
        return moment >= self.end

    @property
    def minutes(self) -> int:
        """Whole minutes in the window: the most a duration request may ask for."""
        return (self.end - self.start) // MINUTE

    def remaining(self, moment: datetime) -> SearchWindow | None:
        """The part still ahead at ``moment``, from the minute running then; ``None`` when not
        a whole minute is left.

        What to send when a running window is planned (a new subentry at 20:00 of an 18:00 →
        07:00 window): slots already past would be wasted, so the search starts now and the
        duration asked is at most the ``minutes`` left. Starting at the running minute keeps
        slot edges on whole minutes, where tariffs change.
        """
        start = max(self.start, floor_minute(moment))
        if self.end - start < MINUTE:
            return None
        return SearchWindow(start, self.end)


def floor_minute(moment: datetime) -> datetime:
    """``moment`` cut to its whole minute (whole minutes are the same in every zone offset
    that is a whole number of minutes, 30- and 45-minute zones included)."""
    return moment.astimezone(UTC).replace(second=0, microsecond=0)


def local_instant(day: date, clock: time, zone: tzinfo) -> datetime:
    """The instant (UTC) the local wall clock of ``zone`` shows ``clock`` on ``day``.

    A time the clock shows twice (the hour repeated when DST ends) is its first occurrence: a
    window begins, or ends, the first time the clock says so. A time the clock skips (the
    hour lost when DST begins) is the moment of the jump, the first instant whose wall time
    is past it: 01:30 on a night the clock goes 01:00 → 02:00 is 02:00, not 02:30 (which is
    what a plain conversion gives, an extra half-hour late).
    """
    if clock.tzinfo is not None:
        raise ValueError("the local time of a window has no time zone of its own")
    wall = datetime.combine(day, clock)
    first = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if first.astimezone(zone).replace(tzinfo=None) == wall:
        return first
    # In a gap: fold=0 converts with the offset before the jump, fold=1 with the one after;
    # the jump lies between the two readings. Find it to the second.
    second = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    low, high = int(min(first, second).timestamp()), int(max(first, second).timestamp())
    before = datetime.fromtimestamp(low, zone).utcoffset()
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, zone).utcoffset() == before:
            low = middle
        else:
            high = middle
    return datetime.fromtimestamp(high, UTC)


def between_window(moment: datetime, zone: tzinfo, start: time, end: time) -> SearchWindow:
    """The window from local ``start`` to local ``end`` running at ``moment``, else the next.

    ``end`` at or before ``start`` crosses midnight (18:00 → 07:00 ends the next morning;
    equal times make a whole local day, 23 or 25 hours on a DST day). A day on which the
    window is empty (01:00 → 02:00 in the hour DST skips) has none: the next day's is given.
    """
    today = moment.astimezone(zone).date()
    crosses = end <= start
    # Yesterday's window may still run (crossing midnight); tomorrow's may be the next one.
    for shift in (-1, 0, 1, 2):
        day = today + timedelta(days=shift)
        window_start = local_instant(day, start, zone)
        window_end = local_instant(day + timedelta(days=1 if crosses else 0), end, zone)
        if window_end > window_start and window_end > moment:
            return SearchWindow(window_start, window_end)
    raise AssertionError("one of four consecutive days has a window ending later")


def rolling_window(
    moment: datetime, length: timedelta, current: SearchWindow | None = None
) -> SearchWindow:
    """The window of a rolling "next ``length``": ``current`` while it runs, else one from now.

    A rolling window does not slide minute by minute: it is planned once and kept until it
    ends (the same rule as a window between two times, which has started as soon as it is
    planned), so a 3-hour run in the next 24 hours happens once per 24 hours, not again each
    time the window moves past it. ``current`` of another length (settings changed) is not
    continued.
    """
    if not timedelta(0) < length <= MAX_SCHEDULE_WINDOW:
        raise ValueError("a rolling window is longer than nothing and at most 3 days")
    if (
        current is not None
        and current.end - current.start == length
        and current.has_started(moment)
        and not current.has_ended(moment)
    ):
        return current
    start = floor_minute(moment)
    return SearchWindow(start, start + length)


@dataclass(frozen=True, slots=True)
class Between:
    """A subentry's window between two local times (``end <= start`` crosses midnight)."""

    start: time
    end: time


@dataclass(frozen=True, slots=True)
class Rolling:
    """A subentry's rolling window: the next ``length``."""

    length: timedelta


def window_for(
    settings: Between | Rolling,
    moment: datetime,
    zone: tzinfo,
    current: SearchWindow | None = None,
) -> SearchWindow:
    """The search window of a subentry's settings at ``moment`` in the location's ``zone``.

    ``current`` is the window of the plan in hand (only a rolling window needs it to know
    whether it still runs).
    """
    if isinstance(settings, Between):
        return between_window(moment, zone, settings.start, settings.end)
    return rolling_window(moment, settings.length, current)


# --- slots at a moment --------------------------------------------------------------------


def _seconds(slot: ScheduleSlot) -> float:
    return (slot.end - slot.start).total_seconds()


def merge_slots(slots: Iterable[ScheduleSlot]) -> tuple[ScheduleSlot, ...]:
    """Slots in time order, those that touch (or overlap) made one.

    Flatpeak may split a run at a price change; for the binary sensor and "Next end" it is
    one run. A merged slot's price is the time-weighted mean of its parts and its confidence
    the lowest of theirs (it is as sure as its least sure part).
    """
    merged: list[ScheduleSlot] = []
    for slot in sorted(slots, key=lambda s: (s.start, s.end)):
        if merged and slot.start <= merged[-1].end:
            last = merged[-1]
            weight_last, weight_slot = _seconds(last), _seconds(slot)
            merged[-1] = ScheduleSlot(
                start=last.start,
                end=max(last.end, slot.end),
                average_price=(last.average_price * weight_last + slot.average_price * weight_slot)
                / (weight_last + weight_slot),
                confidence=min(last.confidence, slot.confidence),
            )
        else:
            merged.append(slot)
    return tuple(merged)


def average_price(slots: Iterable[ScheduleSlot]) -> float | None:
    """The chosen slots' mean price per kWh, weighted by each slot's length; ``None`` for none.

    Weighted because a constant load pays each slot's price for as long as the slot lasts.
    """
    total = seconds = 0.0
    for slot in slots:
        total += slot.average_price * _seconds(slot)
        seconds += _seconds(slot)
    return total / seconds if seconds else None


@dataclass(frozen=True, slots=True)
class SlotState:
    """What the slots say at one moment (merged slots; ``[start, end)``)."""

    current: ScheduleSlot | None  # the slot running now
    upcoming: ScheduleSlot | None  # the first slot starting after now

    @property
    def active(self) -> bool:
        """Whether a slot runs now: the binary sensor's state."""
        return self.current is not None

    @property
    def next_start(self) -> datetime | None:
        """When the next slot starts (not the running one, which started already)."""
        return self.upcoming.start if self.upcoming else None

    @property
    def next_end(self) -> datetime | None:
        """When the running slot ends, else when the next one will."""
        if self.current is not None:
            return self.current.end
        return self.upcoming.end if self.upcoming else None

    @property
    def next_change(self) -> datetime | None:
        """When ``active`` next flips: the moment to schedule the binary sensor's update."""
        return self.current.end if self.current is not None else self.next_start


def slot_state(slots: Iterable[ScheduleSlot], moment: datetime) -> SlotState:
    """The running and the next slot at ``moment``, after :func:`merge_slots`."""
    current = upcoming = None
    for slot in merge_slots(slots):
        if slot.start <= moment < slot.end:
            current = slot
        elif slot.start > moment:
            upcoming = slot
            break
    return SlotState(current, upcoming)


# --- which plan stands --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Plan:
    """Flatpeak's answer for one search window (the window, not the request, is the key: a
    running window is asked for from now, see :meth:`SearchWindow.remaining`)."""

    window: SearchWindow
    schedule: Schedule


def keeps_plan(cached: Plan | None, window: SearchWindow, moment: datetime) -> bool:
    """Whether ``cached`` stands for ``window`` at ``moment`` whatever a fresh answer says.

    It does while its window runs: the slots may be under way (a dishwasher mid-cycle, a car
    charging) and moving them would stop what already started, because prices moved or a
    fresh search ranks the minutes differently. Before the window starts nothing has run on
    its slots, so a better plan is taken; once it ends, the next window gets its own. The
    caller drops ``cached`` when the user changes the subentry.
    """
    return (
        cached is not None
        and cached.window == window
        and window.has_started(moment)
        and not window.has_ended(moment)
    )


def plan_to_use(cached: Plan | None, fresh: Plan, moment: datetime) -> Plan:
    """The plan to follow at ``moment``: ``cached`` if it is kept (see :func:`keeps_plan`)
    for the fresh answer's window, else ``fresh``."""
    return cached if cached is not None and keeps_plan(cached, fresh.window, moment) else fresh


def needs_refresh(cached: Plan | None, window: SearchWindow, moment: datetime) -> bool:
    """Whether to ask Flatpeak again for ``window`` at ``moment`` (besides a price change).

    Yes when there is no plan for this window (a new window opened, or none was fetched), or
    when its ``next_update`` has passed and the plan is not kept anyway. A kept plan needs
    no request until its window ends, which bounds the requests per window. A
    ``location.update`` (prices changed) is worth a request only when the plan is not kept.
    """
    if cached is None or cached.window != window:
        return True
    if keeps_plan(cached, window, moment):
        return False
    next_update = cached.schedule.next_update
    return next_update is not None and moment >= next_update
