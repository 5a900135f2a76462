"""What Flatpeak confirmed of each charging session: its energy, period by period.

A session's cost is final only when Flatpeak's session report accounts for this energy. A
record sent again with the same reference id replaces the stored one at Flatpeak, also when
it now names another session or none: so a period confirmed again replaces its earlier value
here, and leaves the session it belonged to before. Plain data, no Home Assistant.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..client import EnergyCost

# Why a session report does not account for the session (yet).
NO_REPORT = "no_report"  # 404, or no rows
UNPRICED = "unpriced"  # a row without an amount
ENERGY = "energy"  # its energy is not what Flatpeak confirmed
CURRENCY = "currency"  # in another currency than the location's
MALFORMED = "malformed"  # an answer that cannot be read

# A record Flatpeak confirmed: (stream key, period start, kWh, session id or None).
type ChargerRecord = tuple[str, datetime, float, str | None]

# Flatpeak reports energy in whole Wh per row: each row may be off by half a Wh.
WH_PER_ROW_ROUNDING = 0.5


@dataclass(slots=True)
class SessionEnergy:
    """The confirmed energy of one session's periods (kWh by unix start) of one stream.

    ``known`` is False for a session with records confirmed before this tally was kept (an
    older version): its periods are then only a lower bound of what Flatpeak holds.
    """

    stream: str
    periods: dict[int, float] = field(default_factory=dict)
    known: bool = True

    @property
    def kwh(self) -> float:
        """The session's confirmed energy."""
        return sum(self.periods.values())

    def as_dict(self) -> dict[str, Any]:
        """For the Store: ``periods`` as [unix start, kWh] pairs."""
        return {
            "stream": self.stream,
            "periods": [[start, kwh] for start, kwh in sorted(self.periods.items())],
            "known": self.known,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SessionEnergy:
        """From the Store."""
        return cls(
            stream=str(data["stream"]),
            periods={int(start): float(kwh) for start, kwh in data["periods"]},
            known=bool(data.get("known", True)),
        )


def tally_confirmed(
    tallies: dict[str, SessionEnergy],
    confirmed: Iterable[ChargerRecord],
    *,
    wanted: Callable[[str], bool],
) -> None:
    """Add records Flatpeak confirmed — (stream key, period start, kWh, session id) — to
    ``tallies``: each period's latest value, under the session it was last confirmed with.

    Sessions ``wanted`` rejects (final ones) get no tally; a period they had is still
    removed from any other session it was in.
    """
    owners = {
        (tally.stream, start): session_id
        for session_id, tally in tallies.items()
        for start in tally.periods
    }
    for stream, when, kwh, session_id in confirmed:
        start = int(when.timestamp())
        before = owners.pop((stream, start), None)
        if before is not None and before != session_id:
            del tallies[before].periods[start]
        if session_id is None or not wanted(session_id):
            continue
        tally = tallies.setdefault(session_id, SessionEnergy(stream))
        tally.stream = tally.stream or stream  # one kept by an older version names none
        tally.periods[start] = kwh
        owners[(stream, start)] = session_id


def has_no_energy(tally: SessionEnergy | None) -> bool:
    """Flatpeak confirmed nothing but zeros for the session (and the tally is complete)."""
    return tally is None or (tally.known and all(kwh == 0 for kwh in tally.periods.values()))


def accounts_for(tally: SessionEnergy | None, report_wh: float) -> bool:
    """Whether a session report's energy is what Flatpeak confirmed for the session.

    Within the rounding of whole Wh per row; for a tally that is only a lower bound, the
    report must hold at least as much (and something).
    """
    if tally is None:
        return abs(report_wh) <= WH_PER_ROW_ROUNDING
    confirmed_wh = tally.kwh * 1000
    tolerance = WH_PER_ROW_ROUNDING * (len(tally.periods) + 1)
    if not tally.known:
        return report_wh > 0 and report_wh >= confirmed_wh - tolerance
    return abs(report_wh - confirmed_wh) <= tolerance


@dataclass(frozen=True, slots=True)
class SessionReport:
    """A session report read against what Flatpeak confirmed of the session.

    ``cost``/``energy_kwh`` are None when the report gives no figure to show (none, some
    rows unpriced, another currency); ``pending`` says why it does not account for the
    session, None when it does.
    """

    cost: float | None
    energy_kwh: float | None
    currency: str
    pending: str | None


def read_report(
    report: EnergyCost | None, tally: SessionEnergy | None, currency: str
) -> SessionReport:
    """What a session report (None: 404) says, for a location that counts in ``currency``.

    No report is a cost of 0 only for a session with no confirmed energy; a report is
    complete when it is in ``currency``, every row is priced and its energy is the tally's.
    """
    if report is not None:
        report = report.per_record()
    if report is None or not report.rows:
        if has_no_energy(tally):
            return SessionReport(0.0, 0.0, currency, None)
        return SessionReport(None, None, currency, NO_REPORT)
    if report.currency_code and report.currency_code.upper() != currency.upper():
        return SessionReport(None, None, report.currency_code, CURRENCY)
    if not report.priced:
        return SessionReport(None, None, currency, UNPRICED)
    energy_wh = report.total_energy_wh
    return SessionReport(
        report.total_cost,
        energy_wh / 1000,
        currency,
        None if accounts_for(tally, energy_wh) else ENERGY,
    )


def read_span_report(
    report: EnergyCost,
    start: datetime,
    end: datetime,
    confirmed: Iterable[tuple[int, int]],
    currency: str,
) -> SessionReport:
    """A session of a charger that sends register readings (which carry no session id): its
    device's report over the session's time, prorated at its ends as Flatpeak prorates.

    Complete when it is in ``currency``, every row touching the session is priced, and every
    hour of the session in which Flatpeak confirmed energy (``confirmed``: ranges of Unix
    seconds) has a row. A session with neither rows nor confirmed energy costs 0.
    """
    first, last = start.timestamp(), end.timestamp()
    needed = {
        hour
        for low, high in confirmed
        if low < last and high > first
        for hour in range(int(max(low, first) // 3600), int((min(high, last) - 1e-9) // 3600) + 1)
    }
    if report.currency_code and report.currency_code.upper() != currency.upper():
        return SessionReport(None, None, report.currency_code, CURRENCY)
    cost = energy = 0.0
    touched: set[int] = set()
    for row in report.per_record().rows:
        low, high = row.start_time.timestamp(), row.end_time.timestamp()
        overlap = min(high, last) - max(low, first)
        if overlap <= 0 and not (high == low and first <= low < last):
            continue
        if not row.priced:
            return SessionReport(None, None, currency, UNPRICED)
        share = 1.0 if high <= low else min(1.0, overlap / (high - low))
        cost += row.cost * share
        energy += row.energy_wh * share
        touched.update(
            range(int(max(low, first) // 3600), int((max(min(high, last), low) - 1e-9) // 3600) + 1)
        )
    if not needed <= touched:
        return SessionReport(None, None, currency, NO_REPORT)
    # Energy Flatpeak reports beyond what this release saw confirmed is the session's too.
    return SessionReport(cost, energy / 1000, currency, None)
