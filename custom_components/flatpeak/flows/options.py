"""Options: Settings (how often energy is uploaded, how far back a new device starts, where
the periods the cost sensors total start) and Change tariff (Flatpeak Connect for the
location's import tariff, export tariff or grid fees)."""

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
from ..health import IMPORT, part_label
from .connect import FlowLookup
from .tariff_connect import TariffConnectSteps

CONF_PART = "part"


class FlatpeakOptionsFlow(TariffConnectSteps, OptionsFlow):
    """Tunables of one location, or a change of its tariff."""

    part = IMPORT

    @property
    def entry_id(self) -> str:  # type: ignore[override]
        """The entry whose options these are."""
        return self.config_entry.entry_id

    def _manager(self) -> FlowLookup:
        return self.hass.config_entries.options

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Settings or Change tariff."""
        return self.async_show_menu(
            step_id="init",
            menu_options=["settings", "change_tariff"],
            description_placeholders={"location": self.config_entry.title},
        )

    async def async_step_change_tariff(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Which part of the tariff, then Flatpeak Connect for it."""
        if user_input is not None:
            self.part = user_input[CONF_PART]
            result: ConfigFlowResult = await self.async_step_connect()
            return result
        return self.async_show_form(
            step_id="change_tariff",
            data_schema=vol.Schema(
                {
                    vol.Required(CONF_PART, default=IMPORT): SelectSelector(
                        SelectSelectorConfig(
                            options=[
                                "commodity_import",
                                "commodity_export",
                                "non_commodity_import",
                            ],
                            translation_key=CONF_PART,
                        )
                    )
                }
            ),
            description_placeholders={"location": self.config_entry.title},
        )

    async def _async_connected(self) -> ConfigFlowResult:
        """The options stay as they were (no reload); say what Flatpeak now has."""
        status = self.config_entry.runtime_data.health.data
        found = status.part(self.part) if status else None
        if found is None or not found.connected:
            return self.async_abort(reason="tariff_not_connected")
        return self.async_abort(
            reason="tariff_changed",
            description_placeholders={"tariff": found.tariff_name or part_label(self.part)},
        )

    async def async_step_settings(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """One form for the settings."""
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
            step_id="settings",
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
