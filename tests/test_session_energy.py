"""What Flatpeak confirmed of each charging session, and when a session report accounts for it
(plain data, no Home Assistant)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from custom_components.flatpeak.client import CostRow, EnergyCost
from custom_components.flatpeak.core.session_energy import (
    CURRENCY,
    ENERGY,
    NO_REPORT,
    UNPRICED,
    SessionEnergy,
    accounts_for,
    has_no_energy,
    read_report,
    tally_confirmed,
)

T0 = datetime(2025, 6, 2, 10, 0, tzinfo=UTC)
FIVE = timedelta(minutes=5)
CHARGER = "dev_1:ev_charger"


def at(n: int) -> datetime:
    """The start of the n-th period."""
    return T0 + n * FIVE


def report(*energies_wh: float, currency: str = "GBP", priced: bool = True) -> EnergyCost:
    """A session report with one row per energy, 0.1 per kWh."""
    rows = [
        CostRow(at(n), at(n + 1), wh, wh / 10000, 1.0, priced=priced)
        for n, wh in enumerate(energies_wh)
    ]
    return EnergyCost("ecs_1", "s1", "IMPORT", "Europe/London", currency, rows)


def test_a_period_confirmed_again_replaces_its_value_and_leaves_its_old_session() -> None:
    """Re-sent periods replace (never add); a period now sent for another session or none
    leaves the one it was in; unwanted (final) sessions get no tally."""
    tallies: dict[str, SessionEnergy] = {}
    tally_confirmed(
        tallies,
        [(CHARGER, at(0), 2.0, "a"), (CHARGER, at(1), 2.0, "a"), (CHARGER, at(2), 1.0, None)],
        wanted=lambda _sid: True,
    )
    assert tallies["a"].kwh == pytest.approx(4.0)
    # a correction of period 1, then period 1 again for session b, period 0 with no session
    tally_confirmed(tallies, [(CHARGER, at(1), 1.5, "a")], wanted=lambda _sid: True)
    assert tallies["a"].kwh == pytest.approx(3.5)
    tally_confirmed(
        tallies,
        [(CHARGER, at(1), 1.5, "b"), (CHARGER, at(0), 2.0, None)],
        wanted=lambda _sid: True,
    )
    assert tallies["a"].periods == {}
    assert tallies["b"].periods == {int(at(1).timestamp()): 1.5}
    # another charger's same period is its own record
    tally_confirmed(tallies, [("dev_2:ev_charger", at(1), 3.0, "c")], wanted=lambda _sid: True)
    assert (tallies["b"].kwh, tallies["c"].kwh) == (1.5, 3.0)
    # a final session gets nothing, but the period still leaves b
    tally_confirmed(tallies, [(CHARGER, at(1), 1.5, "z")], wanted=lambda sid: sid != "z")
    assert "z" not in tallies
    assert tallies["b"].periods == {}
    # a tally kept by an older version names no stream until its first record
    tallies["old"] = SessionEnergy("", known=False)
    tally_confirmed(tallies, [(CHARGER, at(5), 0.5, "old")], wanted=lambda _sid: True)
    assert (tallies["old"].stream, tallies["old"].kwh) == (CHARGER, 0.5)
    assert SessionEnergy.from_dict(tallies["old"].as_dict()) == tallies["old"]


def test_accounts_for_within_rounding() -> None:
    """Half a Wh per record (whole Wh per row) either way; a lower-bound tally needs at least
    its energy and some."""
    tally = SessionEnergy(CHARGER, {0: 1.0004, 300: 1.0004})
    assert accounts_for(tally, 2000)
    assert accounts_for(tally, 2001)
    assert not accounts_for(tally, 1990)
    assert not accounts_for(tally, 4000.8)  # every record counted twice
    assert accounts_for(None, 0)
    assert not accounts_for(None, 10)
    partial = SessionEnergy(CHARGER, {0: 1.0}, known=False)
    assert accounts_for(partial, 5000)
    assert not accounts_for(partial, 500)
    assert not accounts_for(SessionEnergy("", known=False), 0)
    assert has_no_energy(None)
    assert has_no_energy(SessionEnergy(CHARGER, {0: 0.0}))
    assert not has_no_energy(SessionEnergy(CHARGER, {0: 0.0}, known=False))
    assert not has_no_energy(tally)


def test_read_report() -> None:
    """A report is complete only in the currency, with every row priced and the energy
    confirmed; no report is 0 only for a session without energy."""
    tally = SessionEnergy(CHARGER, {0: 2.0, 300: 2.0})
    complete = read_report(report(2000, 2000), tally, "GBP")
    assert (complete.cost, complete.energy_kwh, complete.pending) == (
        pytest.approx(0.4),
        pytest.approx(4.0),
        None,
    )
    partial = read_report(report(2000), tally, "gbp")
    assert (partial.cost, partial.pending) == (pytest.approx(0.2), ENERGY)
    assert read_report(None, tally, "GBP").pending == NO_REPORT
    assert read_report(report(), tally, "GBP").cost is None
    assert read_report(report(2000, 2000, priced=False), tally, "GBP").pending == UNPRICED
    other = read_report(report(2000, 2000, currency="EUR"), tally, "GBP")
    assert (other.cost, other.currency, other.pending) == (None, "EUR", CURRENCY)
    nothing = read_report(None, None, "GBP")
    assert (nothing.cost, nothing.energy_kwh, nothing.pending) == (0.0, 0.0, None)
