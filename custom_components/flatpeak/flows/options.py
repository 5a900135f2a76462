"""Options: how often energy is uploaded, and how far back a new device starts."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import ConfigFlowResult, OptionsFlow
from homeassistant.helpers.selector import NumberSelector, NumberSelectorConfig, NumberSelectorMode

from ..compat import vol
from ..const import (
    CONF_HISTORY_DAYS,
    CONF_UPLOAD_INTERVAL,
    DEFAULT_HISTORY_DAYS,
    DEFAULT_UPLOAD_INTERVAL_MIN,
    MAX_HISTORY_DAYS,
    MAX_UPLOAD_INTERVAL_MIN,
    MIN_UPLOAD_INTERVAL_MIN,
)


class FlatpeakOptionsFlow(OptionsFlow):
    """Tunables of one location: upload interval and history window."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """One form for all options."""
        if user_input is not None:
            return self.async_create_entry(
                data={key: int(value) for key, value in user_input.items()}
            )
        options = self.config_entry.options

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
                }
            ),
            description_placeholders={"location": self.config_entry.title},
        )
