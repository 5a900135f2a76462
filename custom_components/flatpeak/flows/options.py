"""Options: how often energy is uploaded, how far back a new device starts, and where the
periods the cost sensors total start (billing day, first day of the week)."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import ConfigFlowResult, OptionsFlow
from homeassistant.helpers.selector import (
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
)

from ..compat import vol
from ..const import (
    CONF_BILLING_DAY,
    CONF_FIRST_WEEKDAY,
    CONF_HISTORY_DAYS,
    CONF_UPLOAD_INTERVAL,
    DEFAULT_BILLING_DAY,
    DEFAULT_HISTORY_DAYS,
    DEFAULT_UPLOAD_INTERVAL_MIN,
    MAX_HISTORY_DAYS,
    MAX_UPLOAD_INTERVAL_MIN,
    MIN_UPLOAD_INTERVAL_MIN,
)
from ..core.periods import WEEKDAYS, default_first_weekday


class FlatpeakOptionsFlow(OptionsFlow):
    """Tunables of one location: upload interval, history window and budget periods."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """One form for all options."""
        if user_input is not None:
            data: dict[str, Any] = {
                key: int(value) for key, value in user_input.items() if key != CONF_FIRST_WEEKDAY
            }
            if user_input.get(CONF_FIRST_WEEKDAY) in WEEKDAYS:
                data[CONF_FIRST_WEEKDAY] = user_input[CONF_FIRST_WEEKDAY]
            return self.async_create_entry(data=data)
        options = self.config_entry.options
        usual = WEEKDAYS[default_first_weekday(self.hass.config.language, self.hass.config.country)]

        def box(lo: int, hi: int, unit: str) -> NumberSelector:
            return NumberSelector(
                NumberSelectorConfig(
                    min=lo, max=hi, step=1, mode=NumberSelectorMode.BOX, unit_of_measurement=unit
                )
            )

        return self.async_show_form(
            step_id="init",
            data_schema=vol.Schema(
                {
                    vol.Required(
                        CONF_UPLOAD_INTERVAL,
                        default=options.get(CONF_UPLOAD_INTERVAL, DEFAULT_UPLOAD_INTERVAL_MIN),
                    ): box(MIN_UPLOAD_INTERVAL_MIN, MAX_UPLOAD_INTERVAL_MIN, "min"),
                    vol.Required(
                        CONF_HISTORY_DAYS,
                        default=options.get(CONF_HISTORY_DAYS, DEFAULT_HISTORY_DAYS),
                    ): box(0, MAX_HISTORY_DAYS, "d"),
                    vol.Required(
                        CONF_BILLING_DAY,
                        default=options.get(CONF_BILLING_DAY, DEFAULT_BILLING_DAY),
                    ): NumberSelector(
                        NumberSelectorConfig(min=1, max=31, step=1, mode=NumberSelectorMode.BOX)
                    ),
                    vol.Required(
                        CONF_FIRST_WEEKDAY, default=options.get(CONF_FIRST_WEEKDAY, usual)
                    ): SelectSelector(
                        SelectSelectorConfig(
                            # WEEKDAYS, written out: each is a label in the translations
                            options=["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                            translation_key=CONF_FIRST_WEEKDAY,
                            mode=SelectSelectorMode.DROPDOWN,
                        )
                    ),
                }
            ),
            description_placeholders={"location": self.config_entry.title},
        )
