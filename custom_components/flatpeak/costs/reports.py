"""Flatpeak's cost report of one statistic, read and checked against what was sent.

A report is folded into 5-minute slots as it is decoded, then each hour is checked: rows
with a cost, at least as many as the periods Flatpeak confirmed with energy, none missing
where a cost was written before. An hour that fails keeps what was written (see
``core.cost_hours.settle``). Also what the periods cost before the window (a billing
period reaches back a month), with the part-hour a local midnight off the UTC hour cuts.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime, timedelta
import functools
import logging
import math

from homeassistant.core import HomeAssistant

from ..client import FlatpeakClient
from ..core.cost_hours import (
    CostHours,
    ReportFold,
    Settled,
    expected_rows,
    floor_hour,
    known_hours,
    settle,
)
from ..core.records import HOUR
from .statistics import CostStatistic, async_baseline, async_hours

_LOGGER = logging.getLogger(__name__)

MAX_REPORT_SPAN = timedelta(days=31)


class CostReports:
    """Reads an entry's cost reports; remembers which statistics Flatpeak priced in another
    currency, and the periods' part-hours while they are known."""

    def __init__(
        self,
        hass: HomeAssistant,
        client: FlatpeakClient,
        currency: str,
        confirmed: Callable[[str], list[tuple[int, int]]],
    ) -> None:
        """``confirmed``: a stream's ranges (Unix seconds) Flatpeak confirmed with energy."""
        self.hass = hass
        self.client = client
        self.currency = currency
        self._confirmed = confirmed
        # by statistic id: the currency Flatpeak priced it in, when not ours
        self.wrong_currency: dict[str, str] = {}
        # by (statistic id, period boundary off the UTC hour): the cost of its part-hour,
        # while the boundary is one of the periods' (a midnight in Asia/Kolkata, ...)
        self._partial: dict[tuple[str, datetime], float] = {}

    async def async_settled(
        self,
        statistic: CostStatistic,
        start: datetime,
        end: datetime,
        written: CostHours | None,
    ) -> Settled | None:
        """The report of ``[start, end)`` checked against what was sent and written
        before (``written``: the hours last given to the recorder, if this process has);
        None when Flatpeak answered in another currency."""
        fold = ReportFold(start, end)
        currencies = await self._async_fetch(statistic, fold)
        wrong = sorted(c for c in currencies if c and c.upper() != self.currency.upper())
        if wrong:
            if statistic.statistic_id not in self.wrong_currency:
                _LOGGER.warning(
                    "Flatpeak priced %s in %s, not %s: its cost statistic is left as it was",
                    statistic.name,
                    ", ".join(wrong),
                    self.currency,
                )
            self.wrong_currency[statistic.statistic_id] = wrong[0]
            return None
        self.wrong_currency.pop(statistic.statistic_id, None)
        folded = await self.hass.async_add_executor_job(fold.folded)
        count = len(folded.rows)
        expected = expected_rows(
            self._confirmed(statistic.stream), start, count, presence=statistic.cumulative
        )
        # What the recorder has where this process has not written it since it started.
        gaps = [(start, end)] if written is None else [(start, written.start), (written.end, end)]
        recorded = [
            row
            for left, right in gaps
            if left < right
            for row in await async_hours(self.hass, statistic.statistic_id, left, right)
        ]
        known, known_slots = known_hours(start, count, recorded, written)
        baseline = await async_baseline(self.hass, statistic.statistic_id, start)
        settled = await self.hass.async_add_executor_job(
            functools.partial(
                settle, folded, baseline, expected=expected, known=known, known_slots=known_slots
            )
        )
        if not settled.complete:
            _LOGGER.debug(
                "Flatpeak's report for %s does not account for %s hours of what was sent; "
                "keeping them as they were and asking again",
                statistic.name,
                settled.unaccounted,
            )
        return settled

    async def _async_fetch(self, statistic: CostStatistic, fold: ReportFold) -> set[str]:
        """The device's report of the fold's window, one request per 31 days, each row
        taken by ``fold`` as the answer is decoded (a worker thread for a long answer; a
        month at 5 minutes is ~9,000 rows) and its JSON dropped at once: a year re-imported
        after ``upload_history`` never holds more than one report's JSON. The currencies
        the answers named."""
        currencies: set[str] = set()
        left = fold.start
        while left < fold.end:
            right = min(fold.end, left + MAX_REPORT_SPAN)
            report = await self.client.get_interval_cost(
                statistic.device_id,
                left,
                right,
                tariff_direction=statistic.direction,
                each_row=fold.add,
            )
            currencies.add(report.currency_code)
            left = right
        return currencies

    def remember_partial(
        self, statistic_id: str, hours: CostHours, boundaries: Collection[datetime]
    ) -> None:
        """The cost of each period boundary's part-hour the window has; boundaries no
        longer the periods' are forgotten."""
        for key in [key for key in self._partial if key[0] == statistic_id]:
            if key[1] not in boundaries:
                del self._partial[key]
        for bound in boundaries:
            first = floor_hour(bound)
            if first != bound and hours.start <= first and first + HOUR <= hours.end:
                self._partial[statistic_id, bound] = hours.total_since(bound, first + HOUR)

    async def async_costs_before(
        self, statistic: CostStatistic, boundaries: Collection[datetime], start: datetime
    ) -> dict[datetime, float]:
        """What each ``[boundary, start)`` before the window cost: the hours written (one
        recorder read for all), and the part of an hour a local midnight off the UTC hour
        cuts. A part-hour not known from a window is asked for once (one hour's report)."""
        wholes = {
            bound: floor_hour(bound) if floor_hour(bound) == bound else floor_hour(bound) + HOUR
            for bound in boundaries
        }
        rows = await async_hours(self.hass, statistic.statistic_id, min(wholes.values()), start)
        result: dict[datetime, float] = {}
        for bound, whole in wholes.items():
            total = math.fsum(row.state for row in rows if row.start >= whole)
            if whole != bound:
                part = await self._async_part_hour(statistic, bound)
                if part is None:  # another currency: no figure (the sensor keeps its last)
                    continue
                total += part
            result[bound] = total
        return result

    async def _async_part_hour(self, statistic: CostStatistic, bound: datetime) -> float | None:
        """The cost from ``bound`` to the end of its UTC hour."""
        key = (statistic.statistic_id, bound)
        if (remembered := self._partial.get(key)) is not None:
            return remembered
        first = floor_hour(bound)
        settled = await self.async_settled(statistic, first, first + HOUR, None)
        if settled is None:
            return None
        part = settled.hours.total_since(bound)
        if settled.complete:
            self._partial[key] = part
        return part
