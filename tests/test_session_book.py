"""The session book on its own: its Store, adopting what an older progress file held, what it
keeps, and that nothing is written after its last write."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from custom_components.flatpeak.core.sessions import Session, SessionCost
from custom_components.flatpeak.sessions.book import KEEP, SessionBook

T0 = datetime(2025, 6, 1, 18, tzinfo=UTC)
KEY = "flatpeak.entry1.sessions"


def session(n: int, *, hours: int = 1) -> Session:
    return Session(f"s{n}", T0 + timedelta(days=n), T0 + timedelta(days=n, hours=hours))


async def test_adopts_the_sessions_of_an_older_progress_file_and_writes_them_at_once(
    hass: HomeAssistant, hass_storage: dict[str, Any]
) -> None:
    """Without a book, the sessions, costs and tallies a 2.2 progress file held become the
    book's and are on disk before load returns (the progress file then drops them)."""
    legacy = {
        "sessions": {"sub": [session(0).as_dict(), session(1).as_dict()]},
        "session_costs": {"s0": SessionCost(1.5, 3.0, "GBP", checked=True, final=True).as_dict()},
        "session_energy": {"s1": {"stream": "dev:ev_charger", "periods": [[0, 0.5]]}},
    }
    book = SessionBook(hass, "entry1")
    await book.async_load(legacy)

    assert [s.id for s in book.sessions("sub")] == ["s0", "s1"]
    cost = book.cost("s0")
    assert cost is not None
    assert (cost.cost, cost.final) == (1.5, True)
    tally = book.energy("s1")
    assert tally is not None
    assert tally.kwh == 0.5
    assert [s["id"] for s in hass_storage[KEY]["data"]["sessions"]["sub"]] == ["s0", "s1"]

    # A book already written wins over a progress file that still holds sessions.
    again = SessionBook(hass, "entry1")
    await again.async_load({"sessions": {"sub": []}, "session_costs": {}, "session_energy": {}})
    assert [s.id for s in again.sessions("sub")] == ["s0", "s1"]


async def test_keeps_the_newest_sessions_with_their_costs_and_tallies(hass: HomeAssistant) -> None:
    """Past :data:`KEEP` sessions a charger's oldest is dropped with its cost and tally."""
    book = SessionBook(hass, "entry1")
    await book.async_load(None)
    book.async_open("sub", session(0))
    book.set_cost("s0", SessionCost(2.0, 4.0, "GBP"))
    book.record_confirmed([("dev:ev_charger", T0 + timedelta(minutes=5), 0.25, "s0")])
    assert book.energy("s0") is not None
    for n in range(1, KEEP + 1):
        book.async_open("sub", session(n))
    assert len(book.sessions("sub")) == KEEP
    assert book.sessions("sub")[0].id == "s1"
    assert book.cost("s0") is None
    assert book.energy("s0") is None


async def test_confirmed_energy_is_kept_only_while_a_session_is_not_final(
    hass: HomeAssistant,
) -> None:
    """A period confirmed again replaces its energy; a final session keeps no tally, and a
    period of a session the book does not know is not counted."""
    book = SessionBook(hass, "entry1")
    await book.async_load(None)
    book.async_open("sub", Session("s0", T0))
    period = T0 + timedelta(minutes=5)
    book.record_confirmed([("dev:ev_charger", period, 0.25, "s0")])
    book.record_confirmed([("dev:ev_charger", period, 0.5, "s0")])
    book.record_confirmed([("dev:ev_charger", period + timedelta(minutes=5), 1.0, "other")])
    tally = book.energy("s0")
    assert tally is not None
    assert tally.kwh == 0.5
    assert book.energy("other") is None

    closed = book.async_close("sub", T0 - timedelta(hours=1))  # never before its start
    assert closed is not None
    assert closed.end == T0
    book.set_cost("s0", SessionCost(0.1, 0.5, "GBP", checked=True, final=True))
    assert book.energy("s0") is None
    book.record_confirmed([("dev:ev_charger", period, 0.75, "s0")])
    assert book.energy("s0") is None


async def test_nothing_is_written_after_the_last_write(
    hass: HomeAssistant, hass_storage: dict[str, Any]
) -> None:
    """After unload, a session change is neither saved now nor later."""
    book = SessionBook(hass, "entry1")
    await book.async_load(None)
    book.async_open("sub", Session("s0", T0))
    await book.async_unload()
    written = hass_storage[KEY]["data"]
    assert [s["end"] for s in written["sessions"]["sub"]] == [None]

    book.async_close("sub", T0 + timedelta(hours=1))
    await book.async_save()
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(minutes=1))  # past any delay
    await hass.async_block_till_done()
    assert hass_storage[KEY]["data"] == written
