"""What a cheap window subentry asks Flatpeak for, read from its data."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import time, timedelta
import json
from typing import Any

from ..client import ScheduleSegment, TariffDirection
from ..const import (
    CONF_DIRECTION,
    CONF_DURATION,
    CONF_PRICE_LIMIT,
    CONF_RELATIVE_LIMIT,
    CONF_ROLLING_HOURS,
    CONF_SEARCH,
    CONF_SEGMENT,
    CONF_WINDOW,
    CONF_WINDOW_END,
    CONF_WINDOW_START,
    DIRECTION_EXPORT,
    SEARCH_ABSOLUTE,
    SEARCH_RELATIVE,
    SEGMENT_DEAREST,
    WINDOW_ROLLING,
)
from ..core.cheap_windows import Between, Rolling


@dataclass(frozen=True, slots=True)
class WindowSettings:
    """One cheap window: where to search, what for, at which end of the prices.

    Exactly one of ``duration`` (minutes), ``relative`` (0.01-1 of the window's price
    range) and ``absolute`` (a price per kWh) is set. ``fingerprint`` identifies the settings
    a plan was made for: a plan kept across a restart is kept only for the same settings.
    """

    span: Between | Rolling
    segment: ScheduleSegment
    direction: TariffDirection
    duration: int | None
    relative: float | None
    absolute: float | None
    fingerprint: str

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> WindowSettings:
        """Read a subentry's data (the flow has checked it)."""
        span: Between | Rolling
        if data[CONF_WINDOW] == WINDOW_ROLLING:
            span = Rolling(timedelta(hours=int(data[CONF_ROLLING_HOURS])))
        else:
            span = Between(
                time.fromisoformat(data[CONF_WINDOW_START]),
                time.fromisoformat(data[CONF_WINDOW_END]),
            )
        search = data[CONF_SEARCH]
        return cls(
            span=span,
            segment=(
                ScheduleSegment.HIGH
                if data[CONF_SEGMENT] == SEGMENT_DEAREST
                else ScheduleSegment.LOW
            ),
            direction=(
                TariffDirection.EXPORT
                if data[CONF_DIRECTION] == DIRECTION_EXPORT
                else TariffDirection.IMPORT
            ),
            duration=None if search != "duration" else int(data[CONF_DURATION]),
            relative=(
                float(data[CONF_RELATIVE_LIMIT]) / 100 if search == SEARCH_RELATIVE else None
            ),
            absolute=float(data[CONF_PRICE_LIMIT]) if search == SEARCH_ABSOLUTE else None,
            fingerprint=json.dumps(dict(data), sort_keys=True, default=str),
        )
