"""core/cheap_windows.py: search windows (DST, half-hour zones), slots at a moment, plans kept."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from custom_components.flatpeak.client import Schedule, ScheduleSlot, TariffDirection
from custom_components.flatpeak.core.cheap_windows import (
    Between,
    Plan,
    Rolling,
    SearchWindow,
    average_price,
    between_window,
    floor_minute,
    keeps_plan,
    local_instant,
    merge_slots,
    needs_refresh,
    plan_to_use,
    rolling_window,
    slot_state,
    window_for,
)

LONDON = ZoneInfo("Europe/London")
KOLKATA = ZoneInfo("Asia/Kolkata")  # +05:30, no DST
ADELAIDE = ZoneInfo("Australia/Adelaide")  # +09:30 / +10:30
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")  # +10:30 / +11:00: a 30-minute DST shift
EVENING, MORNING = time(18, 0), time(7, 0)


def utc(*args: int) -> datetime:
    """A UTC time from year, month, day[, hour, minute, second]."""
    return datetime(args[0], args[1], args[2]).replace(tzinfo=UTC) + _clock(args[3:])


def local(zone: ZoneInfo, *args: int, fold: int = 0) -> datetime:
    """A wall time of ``zone`` (``fold=1``: the second of a repeated hour)."""
    wall = datetime(args[0], args[1], args[2]) + _clock(args[3:])
    return wall.replace(tzinfo=zone, fold=fold)


def _clock(parts: tuple[int, ...]) -> timedelta:
    return timedelta(**dict(zip(("hours", "minutes", "seconds"), parts, strict=False)))


# --- local instants -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "day", "clock", "expected"),
    [
        # Ordinary days.
        (LONDON, (2025, 8, 1), time(18, 0), utc(2025, 8, 1, 17, 0)),
        (LONDON, (2025, 12, 1), time(18, 0), utc(2025, 12, 1, 18, 0)),
        (KOLKATA, (2025, 8, 1), time(18, 0), utc(2025, 8, 1, 12, 30)),
        # London skips 01:00-02:00 on 30 March 2025: the jump, 01:00Z (02:00 BST).
        (LONDON, (2025, 3, 30), time(1, 0), utc(2025, 3, 30, 1, 0)),
        (LONDON, (2025, 3, 30), time(1, 30), utc(2025, 3, 30, 1, 0)),
        (LONDON, (2025, 3, 30), time(2, 0), utc(2025, 3, 30, 1, 0)),
        (LONDON, (2025, 3, 30), time(0, 59), utc(2025, 3, 30, 0, 59)),
        # London repeats 01:00-02:00 on 26 October 2025: the first time, still BST.
        (LONDON, (2025, 10, 26), time(1, 30), utc(2025, 10, 26, 0, 30)),
        (LONDON, (2025, 10, 26), time(2, 0), utc(2025, 10, 26, 2, 0)),
        # Adelaide skips 02:00-03:00 on 5 October 2025 (02:00 ACST = 16:30Z the day before).
        (ADELAIDE, (2025, 10, 5), time(2, 30), utc(2025, 10, 4, 16, 30)),
        (ADELAIDE, (2025, 10, 5), time(3, 0), utc(2025, 10, 4, 16, 30)),
        # Adelaide repeats 02:00-03:00 on 6 April 2025: first at +10:30.
        (ADELAIDE, (2025, 4, 6), time(2, 30), utc(2025, 4, 5, 16, 0)),
        # Lord Howe moves only 30 minutes: 02:00-02:30 skipped on 5 October 2025.
        (LORD_HOWE, (2025, 10, 5), time(2, 15), utc(2025, 10, 4, 15, 30)),
        (LORD_HOWE, (2025, 10, 5), time(2, 30), utc(2025, 10, 4, 15, 30)),
        (LORD_HOWE, (2025, 4, 6), time(1, 45), utc(2025, 4, 5, 14, 45)),
    ],
)
def test_local_instant(
    zone: ZoneInfo, day: tuple[int, int, int], clock: time, expected: datetime
) -> None:
    """The first time the wall clock shows it; a skipped time is the jump itself."""
    assert local_instant(date(*day), clock, zone) == expected


def test_local_instant_refuses_an_aware_clock() -> None:
    with pytest.raises(ValueError, match="time zone"):
        local_instant(date(2025, 8, 1), time(18, 0, tzinfo=UTC), LONDON)


# --- windows between two local times --------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "start", "end"),
    [
        # Running: the evening part, the morning part, exactly at its start.
        (local(LONDON, 2025, 8, 1, 20, 0), utc(2025, 8, 1, 17, 0), utc(2025, 8, 2, 6, 0)),
        (local(LONDON, 2025, 8, 2, 5, 0), utc(2025, 8, 1, 17, 0), utc(2025, 8, 2, 6, 0)),
        (local(LONDON, 2025, 8, 1, 18, 0), utc(2025, 8, 1, 17, 0), utc(2025, 8, 2, 6, 0)),
        # Not running: the next one (its end is not part of it).
        (local(LONDON, 2025, 8, 2, 7, 0), utc(2025, 8, 2, 17, 0), utc(2025, 8, 3, 6, 0)),
        (local(LONDON, 2025, 8, 2, 12, 0), utc(2025, 8, 2, 17, 0), utc(2025, 8, 3, 6, 0)),
        # Any zone for the moment: 23:30Z is 00:30 BST.
        (utc(2025, 8, 1, 23, 30), utc(2025, 8, 1, 17, 0), utc(2025, 8, 2, 6, 0)),
        # DST begins in the night: 13 local hours are 12 real ones.
        (local(LONDON, 2025, 3, 29, 19, 0), utc(2025, 3, 29, 18, 0), utc(2025, 3, 30, 6, 0)),
        # DST ends in the night: 14 real hours.
        (local(LONDON, 2025, 10, 25, 19, 0), utc(2025, 10, 25, 17, 0), utc(2025, 10, 26, 7, 0)),
        # In the repeated hour, the second time round.
        (
            local(LONDON, 2025, 10, 26, 1, 30, fold=1),
            utc(2025, 10, 25, 17, 0),
            utc(2025, 10, 26, 7, 0),
        ),
        # Half-hour zones.
        (local(KOLKATA, 2025, 8, 1, 23, 0), utc(2025, 8, 1, 12, 30), utc(2025, 8, 2, 1, 30)),
        (local(ADELAIDE, 2025, 10, 4, 20, 0), utc(2025, 10, 4, 8, 30), utc(2025, 10, 4, 20, 30)),
        (local(ADELAIDE, 2025, 4, 5, 20, 0), utc(2025, 4, 5, 7, 30), utc(2025, 4, 5, 21, 30)),
    ],
)
def test_between_window_crossing_midnight(moment: datetime, start: datetime, end: datetime) -> None:
    """18:00 → 07:00: the window running at the moment, else the next one."""
    zone = moment.tzinfo if moment.tzinfo is not UTC else LONDON
    assert isinstance(zone, ZoneInfo)
    window = between_window(moment, zone, EVENING, MORNING)
    assert window == SearchWindow(start, end)


def test_between_window_the_same_day() -> None:
    """09:00 → 17:00 after 17:00 is tomorrow's; at 08:59 today's."""
    evening = between_window(local(LONDON, 2025, 8, 1, 17, 0), LONDON, time(9), time(17))
    assert evening == SearchWindow(utc(2025, 8, 2, 8, 0), utc(2025, 8, 2, 16, 0))
    morning = between_window(local(LONDON, 2025, 8, 1, 8, 59), LONDON, time(9), time(17))
    assert morning == SearchWindow(utc(2025, 8, 1, 8, 0), utc(2025, 8, 1, 16, 0))


@pytest.mark.parametrize(
    ("moment", "hours"),
    [
        (local(LONDON, 2025, 8, 1, 12), 24),
        (local(LONDON, 2025, 3, 30, 12), 23),
        (local(LONDON, 2025, 10, 26, 12), 25),
        (local(LORD_HOWE, 2025, 10, 5, 12), 23.5),
        (local(KOLKATA, 2025, 10, 5, 12), 24),
    ],
)
def test_equal_times_are_a_local_day(moment: datetime, hours: float) -> None:
    """00:00 → 00:00 is the local day, as long as the clock makes it."""
    assert isinstance(moment.tzinfo, ZoneInfo)
    window = between_window(moment, moment.tzinfo, time(0), time(0))
    assert window.end - window.start == timedelta(hours=hours)
    assert window.start.astimezone(moment.tzinfo).time() == time(0)


def test_a_window_inside_the_skipped_hour_moves_to_the_next_day() -> None:
    """01:00 → 02:00 does not exist on 30 March in London: 31 March's is the next one."""
    window = between_window(local(LONDON, 2025, 3, 30, 0, 30), LONDON, time(1), time(2))
    assert window == SearchWindow(utc(2025, 3, 31, 0, 0), utc(2025, 3, 31, 1, 0))
    # Partly skipped: 01:30 → 03:00 starts at the jump.
    window = between_window(local(LONDON, 2025, 3, 30, 0, 30), LONDON, time(1, 30), time(3))
    assert window == SearchWindow(utc(2025, 3, 30, 1, 0), utc(2025, 3, 30, 2, 0))


# --- rolling windows ----------------------------------------------------------------------


def test_rolling_window() -> None:
    """From the running minute; kept while it runs; a new one once it ends."""
    now = utc(2025, 8, 1, 10, 3, 27) + timedelta(microseconds=5)
    day = timedelta(hours=24)
    window = rolling_window(now, day)
    assert window == SearchWindow(utc(2025, 8, 1, 10, 3), utc(2025, 8, 2, 10, 3))
    assert rolling_window(now + timedelta(hours=23), day, window) == window
    assert rolling_window(window.end, day, window) == SearchWindow(window.end, window.end + day)
    # Another length (the settings changed) starts afresh.
    assert rolling_window(now + timedelta(hours=1), timedelta(hours=6), window).start == utc(
        2025, 8, 1, 11, 3
    )
    assert rolling_window(now, timedelta(days=3)).end == utc(2025, 8, 4, 10, 3)
    for length in (timedelta(0), timedelta(hours=-1), timedelta(days=3, seconds=1)):
        with pytest.raises(ValueError, match="rolling"):
            rolling_window(now, length)


def test_rolling_window_in_a_half_hour_zone() -> None:
    """Whole minutes are the same in UTC and at +05:30."""
    now = local(KOLKATA, 2025, 8, 1, 10, 3, 59)
    window = rolling_window(now, timedelta(hours=3))
    assert window.start.astimezone(KOLKATA) == local(KOLKATA, 2025, 8, 1, 10, 3)


def test_window_for_settings() -> None:
    now = local(LONDON, 2025, 8, 1, 20, 0)
    assert window_for(Between(EVENING, MORNING), now, LONDON) == between_window(
        now, LONDON, EVENING, MORNING
    )
    rolling = window_for(Rolling(timedelta(hours=8)), now, LONDON)
    assert rolling == SearchWindow(utc(2025, 8, 1, 19), utc(2025, 8, 2, 3))
    later = now + timedelta(hours=2)
    assert window_for(Rolling(timedelta(hours=8)), later, LONDON, rolling) == rolling


def test_search_window_checks_and_remaining() -> None:
    start, end = utc(2025, 8, 1, 17), utc(2025, 8, 2, 6)
    with pytest.raises(ValueError, match="aware"):
        SearchWindow(datetime(2025, 8, 1), end)
    with pytest.raises(ValueError, match="end after"):
        SearchWindow(end, end)
    with pytest.raises(ValueError, match="3 days"):
        SearchWindow(start, start + timedelta(days=3, minutes=1))
    window = SearchWindow(start, end)
    assert window.minutes == 13 * 60
    assert window.remaining(start - timedelta(hours=1)) == window
    rest = window.remaining(utc(2025, 8, 1, 20, 0, 30))
    assert rest == SearchWindow(utc(2025, 8, 1, 20), end)
    assert rest is not None
    assert rest.minutes == 10 * 60
    # The running minute counts; an end off the minute leaves less than one: nothing to ask.
    assert window.remaining(end - timedelta(seconds=30)) == SearchWindow(
        end - timedelta(minutes=1), end
    )
    ragged = SearchWindow(start, end + timedelta(seconds=30))
    assert ragged.remaining(end + timedelta(seconds=10)) is None
    assert window.remaining(end) is None
    assert window.has_started(start)
    assert not window.has_started(start - timedelta(microseconds=1))
    assert window.has_ended(end)
    assert floor_minute(local(KOLKATA, 2025, 8, 1, 0, 0, 59)) == utc(2025, 7, 31, 18, 30)


# --- slots --------------------------------------------------------------------------------


def slot(start: datetime, minutes: int, price: float, confidence: float = 1.0) -> ScheduleSlot:
    return ScheduleSlot(start, start + timedelta(minutes=minutes), price, confidence)


T = utc(2025, 10, 25, 23, 30)  # 00:30 BST on the night DST ends


def test_merge_slots() -> None:
    """Touching and overlapping slots become one (time-weighted price, lowest confidence);
    a gap keeps them apart; the input order does not matter."""
    a = slot(T, 60, 0.1)
    b = slot(T + timedelta(hours=1), 30, 0.4, 0.8)
    c = slot(T + timedelta(hours=2), 60, 0.2)
    merged = merge_slots([c, b, a])
    assert merged == (
        ScheduleSlot(T, T + timedelta(minutes=90), pytest.approx(0.2), 0.8),  # type: ignore[arg-type]
        c,
    )
    overlapping = merge_slots([slot(T, 60, 0.1), slot(T + timedelta(minutes=30), 60, 0.1)])
    assert [(s.start, s.end) for s in overlapping] == [(T, T + timedelta(minutes=90))]
    assert merge_slots([]) == ()


def test_average_price_is_time_weighted() -> None:
    assert average_price([slot(T, 60, 0.1), slot(T + timedelta(hours=3), 180, 0.3)]) == (
        pytest.approx(0.25)
    )
    assert average_price([]) is None


def test_slot_state_through_a_night() -> None:
    """On exactly while a slot runs; Next start/end and the next switch from the slots."""
    slots = [
        slot(T, 60, 0.07),
        slot(T + timedelta(hours=1), 60, 0.08),  # split by Flatpeak at a price change
        slot(T + timedelta(hours=4), 30, 0.07),
    ]
    first_end, last = T + timedelta(hours=2), T + timedelta(hours=4)
    before = slot_state(slots, T - timedelta(minutes=1))
    assert (before.active, before.next_start, before.next_end) == (False, T, first_end)
    assert before.next_change == T
    at_start = slot_state(slots, T)
    assert at_start.active
    assert (at_start.next_start, at_start.next_end, at_start.next_change) == (
        last,
        first_end,
        first_end,
    )
    # Across Flatpeak's split the slot runs on: one slot, one end.
    inside = slot_state(slots, T + timedelta(minutes=90))
    assert inside.current is not None
    assert (inside.current.start, inside.current.end) == (T, first_end)
    assert inside.current.average_price == pytest.approx(0.075)
    at_end = slot_state(slots, first_end)
    assert not at_end.active
    assert (at_end.next_start, at_end.next_end) == (last, last + timedelta(minutes=30))
    after = slot_state(slots, last + timedelta(minutes=30))
    assert (after.active, after.next_start, after.next_end, after.next_change) == (
        False,
        None,
        None,
        None,
    )
    assert not slot_state([], T).active


def test_binary_state_minute_by_minute_on_the_fall_back_night() -> None:
    """Walking the 14-hour 18:00 → 07:00 window: on for exactly the slots' minutes, and the
    state changes only at the moments next_change announced."""
    window = between_window(local(LONDON, 2025, 10, 25, 18), LONDON, EVENING, MORNING)
    slots = [slot(utc(2025, 10, 26, 0, 30), 90, 0.07), slot(utc(2025, 10, 26, 3), 30, 0.07)]
    moment, on_minutes, switches = window.start, 0, []
    state = slot_state(slots, moment)
    while moment < window.end:
        now = slot_state(slots, moment)
        if now.active != state.active:
            switches.append(moment)
            assert moment == state.next_change
        on_minutes += now.active
        state = now
        moment += timedelta(minutes=1)
    assert on_minutes == 120
    # 01:30 BST on, 01:00 GMT (the second 01:00) off, 03:00 GMT on, 03:30 GMT off.
    assert switches == [
        utc(2025, 10, 26, 0, 30),
        utc(2025, 10, 26, 2, 0),
        utc(2025, 10, 26, 3, 0),
        utc(2025, 10, 26, 3, 30),
    ]


# --- plans --------------------------------------------------------------------------------

WINDOW = SearchWindow(utc(2025, 8, 1, 17), utc(2025, 8, 2, 6))
NEXT = SearchWindow(utc(2025, 8, 2, 17), utc(2025, 8, 3, 6))


def plan(window: SearchWindow, start: datetime, next_update: datetime | None = None) -> Plan:
    return Plan(
        window,
        Schedule(
            id=None,
            currency_code="GBP",
            timezone="Europe/London",
            tariff_direction=TariffDirection.IMPORT,
            next_update=next_update,
            slots=(slot(start, 180, 0.07),),
        ),
    )


def test_a_started_window_keeps_its_slots() -> None:
    """Before the start a fresh answer wins; from the start to the end the cached one stays;
    then the next window's answer is used."""
    cached = plan(WINDOW, utc(2025, 8, 1, 23, 30))
    fresh = plan(WINDOW, utc(2025, 8, 2, 1, 0))
    assert plan_to_use(None, fresh, WINDOW.start) is fresh
    assert plan_to_use(cached, fresh, WINDOW.start - timedelta(seconds=1)) is fresh
    assert plan_to_use(cached, fresh, WINDOW.start) is cached
    assert plan_to_use(cached, fresh, WINDOW.end - timedelta(seconds=1)) is cached
    assert plan_to_use(cached, fresh, WINDOW.end) is fresh
    following = plan(NEXT, utc(2025, 8, 2, 23, 30))
    assert plan_to_use(cached, following, WINDOW.start + timedelta(hours=1)) is following
    assert keeps_plan(cached, WINDOW, WINDOW.start)
    assert not keeps_plan(cached, NEXT, NEXT.start)
    assert not keeps_plan(None, WINDOW, WINDOW.start)


def test_a_running_window_planned_late_is_asked_from_now_and_kept() -> None:
    """A new subentry at 20:00: the request starts now, the plan is the window's and stays."""
    now = utc(2025, 8, 1, 19, 0, 12)
    request = WINDOW.remaining(now)
    assert request == SearchWindow(utc(2025, 8, 1, 19), WINDOW.end)
    first = plan(WINDOW, utc(2025, 8, 1, 23, 30))
    assert plan_to_use(None, first, now) is first
    assert plan_to_use(first, plan(WINDOW, utc(2025, 8, 2, 1)), now) is first


def test_needs_refresh() -> None:
    """A request for a new window, and after next_update only while the plan is not kept."""
    update = WINDOW.start - timedelta(hours=2)
    cached = plan(WINDOW, utc(2025, 8, 1, 23, 30), next_update=update)
    early = WINDOW.start - timedelta(hours=5)
    assert needs_refresh(None, WINDOW, early)
    assert needs_refresh(cached, NEXT, early)
    assert not needs_refresh(cached, WINDOW, early)
    assert needs_refresh(cached, WINDOW, update)
    # Kept: no request until the window ends, next_update or not.
    assert not needs_refresh(cached, WINDOW, WINDOW.start)
    assert not needs_refresh(cached, WINDOW, WINDOW.end - timedelta(seconds=1))
    unknown = plan(WINDOW, utc(2025, 8, 1, 23, 30))
    assert not needs_refresh(unknown, WINDOW, early)
