"""The cheap window subentry flow: what to look for, where, at which end of the prices.

A cheap window is no Flatpeak device: nothing is registered at Flatpeak, so the flow only
checks and stores its settings. Two steps: the kind of search first, then the fields that
kind needs (a duration or a limit; two times or a number of hours).
"""

from __future__ import annotations

from datetime import time
import math
from typing import TYPE_CHECKING, Any, TypeGuard

from homeassistant.config_entries import (
    SOURCE_RECONFIGURE,
    ConfigEntryState,
    ConfigSubentry,
    ConfigSubentryFlow,
    SubentryFlowResult,
)
from homeassistant.helpers.selector import (
    DurationSelector,
    DurationSelectorConfig,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectSelector,
    SelectSelectorConfig,
    TimeSelector,
)

from ..compat import vol
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
    DEFAULT_CHEAP_WINDOW,
    DIRECTION_EXPORT,
    DIRECTION_IMPORT,
    MAX_ROLLING_HOURS,
    SEARCH_ABSOLUTE,
    SEARCH_DURATION,
    SEARCH_RELATIVE,
    SEGMENT_CHEAPEST,
    SEGMENT_DEAREST,
    WINDOW_BETWEEN,
    WINDOW_ROLLING,
)
from .forms import check_text

if TYPE_CHECKING:
    from .. import FlatpeakConfigEntry

CONF_NAME = "name"
DEFAULT_NAME = "Cheapest 3 hours"
DEFAULT_ROLLING_HOURS = 24
DEFAULT_RELATIVE_LIMIT = 20
MINUTES_PER_DAY = 24 * 60
# The choices of the first step, stored as they are (the form lists them as well).
CHOICES = {
    CONF_SEARCH: [SEARCH_DURATION, SEARCH_RELATIVE, SEARCH_ABSOLUTE],
    CONF_WINDOW: [WINDOW_BETWEEN, WINDOW_ROLLING],
    CONF_SEGMENT: [SEGMENT_CHEAPEST, SEGMENT_DEAREST],
    CONF_DIRECTION: [DIRECTION_IMPORT, DIRECTION_EXPORT],
}


def window_minutes(data: dict[str, Any]) -> int:
    """The window's length in minutes as the clock reads it (a DST night may be an hour
    shorter or longer; the window then gives what it has). Equal times are a whole day."""
    if data[CONF_WINDOW] == WINDOW_ROLLING:
        return int(data[CONF_ROLLING_HOURS]) * 60
    start = time.fromisoformat(data[CONF_WINDOW_START])
    end = time.fromisoformat(data[CONF_WINDOW_END])
    minutes = (end.hour * 60 + end.minute - start.hour * 60 - start.minute) % MINUTES_PER_DAY
    return minutes or MINUTES_PER_DAY


def duration_minutes(value: Any) -> int | None:
    """A duration selector's value (``{"hours": 3, "minutes": 0, …}``) in whole minutes;
    ``None`` when it is not a whole number of minutes."""
    if not isinstance(value, dict):
        return None
    try:
        seconds = (
            float(value.get("days", 0)) * 86400
            + float(value.get("hours", 0)) * 3600
            + float(value.get("minutes", 0)) * 60
            + float(value.get("seconds", 0))
        )
    except (TypeError, ValueError):
        return None
    if not math.isfinite(seconds) or seconds % 60:
        return None
    return int(seconds // 60)


def _clock(value: Any) -> str | None:
    """A time selector's value as ``HH:MM:SS`` (whole minutes: tariffs change on them)."""
    try:
        clock = time.fromisoformat(str(value))
    except ValueError:
        return None
    if clock.second or clock.microsecond or clock.tzinfo:
        return None
    return clock.isoformat()


class CheapWindowSubentryFlow(ConfigSubentryFlow):
    """Add or change a cheap window of a location."""

    def __init__(self) -> None:
        """Nothing chosen yet."""
        self._choice: dict[str, Any] = {}

    def _subentry(self) -> ConfigSubentry | None:
        if self.source == SOURCE_RECONFIGURE:
            return self._get_reconfigure_subentry()
        return None

    def _current(self) -> dict[str, Any]:
        """The window's settings (reconfigure), else the defaults."""
        subentry = self._subentry()
        if subentry is None:
            return {**DEFAULT_CHEAP_WINDOW, CONF_NAME: DEFAULT_NAME}
        return {**DEFAULT_CHEAP_WINDOW, **subentry.data, CONF_NAME: subentry.title}

    def _currency(self) -> str:
        """The location's currency, for the price limit's unit."""
        entry: FlatpeakConfigEntry = self._get_entry()
        if entry.state is ConfigEntryState.LOADED:
            return entry.runtime_data.location.currency_code or self.hass.config.currency
        return self.hass.config.currency

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Name, what to look for, where, cheapest or dearest, import or export."""
        return await self._async_step_choice(user_input)

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """The same two steps, filled in with the window's settings."""
        return await self._async_step_choice(user_input)

    async def _async_step_choice(self, user_input: dict[str, Any] | None) -> SubentryFlowResult:
        errors: dict[str, str] = {}
        if user_input is not None:
            name = check_text(user_input.get(CONF_NAME), CONF_NAME, errors)
            for key, options in CHOICES.items():
                if user_input.get(key) not in options:
                    errors[key] = "invalid_choice"
            if not errors:
                self._choice = {key: user_input[key] for key in CHOICES} | {CONF_NAME: name}
                return await self.async_step_details()
        current = user_input or self._current()
        schema = vol.Schema(
            {
                vol.Required(CONF_NAME, default=current.get(CONF_NAME, DEFAULT_NAME)): str,
                vol.Required(CONF_SEARCH, default=current.get(CONF_SEARCH)): SelectSelector(
                    SelectSelectorConfig(
                        options=[SEARCH_DURATION, SEARCH_RELATIVE, SEARCH_ABSOLUTE],
                        translation_key="search",
                    )
                ),
                vol.Required(CONF_WINDOW, default=current.get(CONF_WINDOW)): SelectSelector(
                    SelectSelectorConfig(
                        options=[WINDOW_BETWEEN, WINDOW_ROLLING], translation_key="window"
                    )
                ),
                vol.Required(CONF_SEGMENT, default=current.get(CONF_SEGMENT)): SelectSelector(
                    SelectSelectorConfig(
                        options=[SEGMENT_CHEAPEST, SEGMENT_DEAREST], translation_key="segment"
                    )
                ),
                # "direction" is the actions' selector too (its local option is not offered).
                vol.Required(CONF_DIRECTION, default=current.get(CONF_DIRECTION)): SelectSelector(
                    SelectSelectorConfig(
                        options=[DIRECTION_IMPORT, DIRECTION_EXPORT], translation_key="direction"
                    )
                ),
            }
        )
        return self.async_show_form(
            step_id="user" if self._subentry() is None else "reconfigure",
            data_schema=schema,
            errors=errors,
            description_placeholders={"location": self._get_entry().title},
        )

    async def async_step_details(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """The duration or the limit, and the times or the hours."""
        errors: dict[str, str] = {}
        if user_input is not None:
            data = self._check_details(user_input, errors)
            if data is not None:
                return self._finish(data)
        return self.async_show_form(
            step_id="details",
            data_schema=self._details_schema(user_input),
            errors=errors,
            description_placeholders={
                "location": self._get_entry().title,
                "name": self._choice[CONF_NAME],
            },
        )

    def _check_details(
        self, user_input: dict[str, Any], errors: dict[str, str]
    ) -> dict[str, Any] | None:
        """The subentry's data, or ``None`` with the form's errors."""
        choice = self._choice
        data: dict[str, Any] = {key: choice[key] for key in CHOICES}
        if choice[CONF_WINDOW] == WINDOW_ROLLING:
            hours = user_input.get(CONF_ROLLING_HOURS)
            if not _number(hours) or hours != int(hours) or not 1 <= hours <= MAX_ROLLING_HOURS:
                errors[CONF_ROLLING_HOURS] = "invalid_hours"
            else:
                data[CONF_ROLLING_HOURS] = int(hours)
        else:
            for key in (CONF_WINDOW_START, CONF_WINDOW_END):
                if (clock := _clock(user_input.get(key))) is None:
                    errors[key] = "invalid_time"
                else:
                    data[key] = clock
        search = choice[CONF_SEARCH]
        if search == SEARCH_DURATION:
            minutes = duration_minutes(user_input.get(CONF_DURATION))
            if minutes is None or minutes < 1:
                errors[CONF_DURATION] = "invalid_duration"
            else:
                data[CONF_DURATION] = minutes
        elif search == SEARCH_RELATIVE:
            share = user_input.get(CONF_RELATIVE_LIMIT)
            if not _number(share) or not 1 <= share <= 100:
                errors[CONF_RELATIVE_LIMIT] = "invalid_relative_limit"
            else:
                data[CONF_RELATIVE_LIMIT] = float(share)
        else:
            price = user_input.get(CONF_PRICE_LIMIT)
            if not _number(price):
                errors[CONF_PRICE_LIMIT] = "invalid_price_limit"
            else:
                data[CONF_PRICE_LIMIT] = float(price)
        if not errors and CONF_DURATION in data and data[CONF_DURATION] > window_minutes(data):
            errors[CONF_DURATION] = "duration_too_long"
        return None if errors else data

    def _details_schema(self, user_input: dict[str, Any] | None) -> vol.Schema:
        choice, current = self._choice, {**self._current(), **(user_input or {})}
        schema: dict[Any, Any] = {}
        search = choice[CONF_SEARCH]
        if search == SEARCH_DURATION:
            minutes = current.get(CONF_DURATION, DEFAULT_CHEAP_WINDOW[CONF_DURATION])
            if isinstance(minutes, dict):  # the form sent back with an error
                shown = minutes
            else:
                shown = {"hours": int(minutes) // 60, "minutes": int(minutes) % 60, "seconds": 0}
            schema[vol.Required(CONF_DURATION, default=shown)] = DurationSelector(
                DurationSelectorConfig(enable_day=False)
            )
        elif search == SEARCH_RELATIVE:
            schema[
                vol.Required(
                    CONF_RELATIVE_LIMIT,
                    default=current.get(CONF_RELATIVE_LIMIT, DEFAULT_RELATIVE_LIMIT),
                )
            ] = NumberSelector(
                NumberSelectorConfig(
                    min=1, max=100, step=1, mode=NumberSelectorMode.BOX, unit_of_measurement="%"
                )
            )
        else:
            schema[vol.Required(CONF_PRICE_LIMIT, **_default(current.get(CONF_PRICE_LIMIT)))] = (
                NumberSelector(
                    NumberSelectorConfig(
                        step="any",
                        mode=NumberSelectorMode.BOX,
                        unit_of_measurement=f"{self._currency()}/kWh",
                    )
                )
            )
        if choice[CONF_WINDOW] == WINDOW_ROLLING:
            schema[
                vol.Required(
                    CONF_ROLLING_HOURS,
                    default=current.get(CONF_ROLLING_HOURS, DEFAULT_ROLLING_HOURS),
                )
            ] = NumberSelector(
                NumberSelectorConfig(
                    min=1,
                    max=MAX_ROLLING_HOURS,
                    step=1,
                    mode=NumberSelectorMode.BOX,
                    unit_of_measurement="h",
                )
            )
        else:
            for key in (CONF_WINDOW_START, CONF_WINDOW_END):
                schema[vol.Required(key, default=current.get(key, DEFAULT_CHEAP_WINDOW[key]))] = (
                    TimeSelector()
                )
        return vol.Schema(schema)

    def _finish(self, data: dict[str, Any]) -> SubentryFlowResult:
        title = self._choice[CONF_NAME]
        if (subentry := self._subentry()) is not None:
            return self.async_update_and_abort(self._get_entry(), subentry, title=title, data=data)
        return self.async_create_entry(title=title, data=data)


def _number(value: Any) -> TypeGuard[float]:
    """A finite int or float (a form may send anything; True is no number here)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _default(value: Any) -> dict[str, Any]:
    """``default=`` only when there is a value (0 is one: a price limit may be 0)."""
    return {} if value is None else {"default": value}
