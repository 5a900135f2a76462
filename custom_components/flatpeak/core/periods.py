"""The periods people budget in, as spans of UTC time: today, yesterday, this week and this
billing period, each starting at a local midnight of the location (Flatpeak's days).

A local midnight is made as a wall time in the zone and only then turned into UTC, so a day
is 23 or 25 hours across DST and a zone whose clocks jump at midnight starts the day when
its clocks do. A billing period starts on a day of the month; in a month too short for that
day, on its last day (day 31 is the last day of every month).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo

PERIOD_DAY = "day"
PERIOD_YESTERDAY = "yesterday"
PERIOD_WEEK = "week"
PERIOD_BILLING = "billing"
PERIODS = (PERIOD_DAY, PERIOD_YESTERDAY, PERIOD_WEEK, PERIOD_BILLING)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True, slots=True)
class Calendar:
    """Where the location's periods start: its zone, the first day of the week (0 = Monday)
    and the day of the month a billing period starts on (1-31)."""

    zone: tzinfo
    first_weekday: int = 0
    billing_day: int = 1

    def midnight(self, day: date) -> datetime:
        """The UTC instant the local ``day`` starts."""
        return datetime(day.year, day.month, day.day, tzinfo=self.zone).astimezone(UTC)

    def today(self, now: datetime) -> date:
        """The location's date at ``now``."""
        return now.astimezone(self.zone).date()

    def span(self, now: datetime, period: str) -> tuple[datetime, datetime | None]:
        """``(start, end)`` of the ``period`` ``now`` is in; ``end`` None for one still
        running (today, this week, this billing period), else its end (yesterday's)."""
        today = self.today(now)
        if period == PERIOD_YESTERDAY:
            return self.midnight(today - timedelta(days=1)), self.midnight(today)
        if period == PERIOD_WEEK:
            return self.midnight(
                today - timedelta(days=(today.weekday() - self.first_weekday) % 7)
            ), None
        if period == PERIOD_BILLING:
            return self.midnight(billing_start(today, self.billing_day)), None
        return self.midnight(today), None

    def boundaries(self, now: datetime) -> frozenset[datetime]:
        """Every start and end of the periods ``now`` is in."""
        found: set[datetime] = set()
        for period in PERIODS:
            start, end = self.span(now, period)
            found.add(start)
            if end is not None:
                found.add(end)
        return frozenset(found)

    def next_midnight(self, now: datetime) -> datetime:
        """The UTC instant the next local day starts (when the periods may move on)."""
        return self.midnight(self.today(now) + timedelta(days=1))


def _day_in(year: int, month: int, day: int) -> date:
    """``day`` of the month, or its last day when the month is shorter."""
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def billing_start(today: date, billing_day: int) -> date:
    """The first day of the billing period ``today`` is in."""
    this_month = _day_in(today.year, today.month, billing_day)
    if today >= this_month:
        return this_month
    year, month = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
    return _day_in(year, month, billing_day)


# Where the week does not start on Monday (CLDR's week data); everywhere else it does.
_SUNDAY_REGIONS = (
    "AG AS BD BR BS BT BW BZ CA CN CO DM DO ET GT GU HK HN ID IL IN JM JP KE KH KR LA MH MM "
    "MO MT MX MZ NI NP PA PE PH PK PR PT PY SA SG SV TH TT TW UM US VE VI WS YE ZA ZW"
)
_SATURDAY_REGIONS = "AE AF BH DJ DZ EG IQ IR JO KW LY OM QA SD SY"
_SUNDAY_FIRST = frozenset(_SUNDAY_REGIONS.split())
_SATURDAY_FIRST = frozenset(_SATURDAY_REGIONS.split())
# The region a bare language stands for where that is not Monday-first (CLDR's likely
# subtags); "en" alone is American English.
_LANGUAGE_REGION = {
    "ar": "EG",
    "en": "US",
    "fa": "IR",
    "he": "IL",
    "hi": "IN",
    "id": "ID",
    "ja": "JP",
    "ko": "KR",
    "pt": "BR",
    "th": "TH",
    "zh": "CN",
}


def default_first_weekday(language: str | None, country: str | None) -> int:
    """The usual first day of the week (0 = Monday) of a home: the region of Home
    Assistant's language when it names one ("en-GB"), else its country, else the region
    the language stands for."""
    parts = (language or "").replace("_", "-").split("-")
    region = next((p.upper() for p in parts[1:] if len(p) == 2 and p.isalpha()), None)
    region = region or (country or "").upper() or _LANGUAGE_REGION.get(parts[0].lower())
    if region in _SUNDAY_FIRST:
        return 6
    if region in _SATURDAY_FIRST:
        return 5
    return 0
