"""Device subentry flows: the house meter, appliances and EV chargers of a location entry.

Each subentry is one Flatpeak device. One energy sensor feeds one device only: every picker
leaves out the sensors the entry's other devices read, and a form refuses them if sent anyway.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import (
    SOURCE_RECONFIGURE,
    ConfigEntryState,
    ConfigSubentry,
    ConfigSubentryFlow,
    SubentryFlowResult,
)
from homeassistant.helpers.selector import (
    EntitySelector,
    EntitySelectorConfig,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectSelector,
    SelectSelectorConfig,
)

from ..client import DeviceType, FlatpeakClient
from ..compat import vol
from ..const import (
    CONF_DEVICE_ID,
    CONF_GRID_IMPORT,
    CONF_LOCATION_ID,
    CONF_POWER_SENSOR,
    CONF_POWER_THRESHOLD,
    CONF_REFERENCE_ID,
    CONF_SESSION_ENTITY,
    CONF_SESSION_MODE,
    CONF_SESSION_STATES,
    CONF_SUBMISSION_MODE,
    DEFAULT_POWER_THRESHOLD_W,
    DEFAULT_SESSION_STATES,
    SESSION_MODE_POWER,
    SESSION_MODE_STATE,
    SUBENTRY_APPLIANCE,
    SUBENTRY_EV_CHARGER,
    SUBENTRY_HOUSE_METER,
)
from ..core.streams import APPLIANCES
from ..entity import entry_label
from ..sensor_choices import async_dashboard_defaults, power_sensors
from .devices import async_reference_id, async_register_device
from .forms import (
    async_ask_flatpeak,
    check_energy_sensor,
    check_house_meter,
    check_text,
    default,
    energy_choices,
    energy_field,
    house_meter_schema,
    not_session_entities,
    sensors_in_use,
    submission_mode_field,
)

if TYPE_CHECKING:
    from .. import FlatpeakConfigEntry

CONF_NAME = "name"
SESSION_ENTITY_DOMAINS = ["binary_sensor", "switch", "sensor", "input_boolean", "select"]


class _DeviceSubentryFlow(ConfigSubentryFlow):
    """Shared parts of the device subentry flows; every form names its location (a person
    may have several)."""

    def _client(self) -> FlatpeakClient | None:
        entry: FlatpeakConfigEntry = self._get_entry()
        if entry.state is not ConfigEntryState.LOADED:
            return None
        return entry.runtime_data.client

    def _abort_if_not_loaded(self) -> SubentryFlowResult | None:
        """Adding a device registers it at Flatpeak, which needs the loaded entry."""
        if self._client() is None:
            return self.async_abort(reason="entry_not_loaded")
        return None

    async def _async_register(
        self, kind: str, key: str, device_type: DeviceType, errors: dict[str, str]
    ) -> tuple[str, str] | None:
        """``(reference_id, device_id)`` of the device at Flatpeak, or errors."""
        location_id = self._get_entry().data[CONF_LOCATION_ID]
        reference_id = await async_reference_id(self.hass, location_id, kind, key)
        client = self._client()
        if client is None:  # unloaded while the form was open
            errors["base"] = "entry_not_loaded"
            return None
        device_id = await async_ask_flatpeak(
            lambda: async_register_device(client, reference_id, device_type, location_id),
            errors,
            "registering the device",
            refused="device_registration_failed",
        )
        return None if device_id is None else (reference_id, device_id)


class HouseMeterSubentryFlow(_DeviceSubentryFlow):
    """The house meter: added by the main flow, re-added here only if it was deleted."""

    def _existing_meter(self) -> ConfigSubentry | None:
        return next(
            (
                sub
                for sub in self._get_entry().subentries.values()
                if sub.subentry_type == SUBENTRY_HOUSE_METER
            ),
            None,
        )

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Map the house meter's sensors and register its device."""
        if self._existing_meter() is not None:
            return await self.async_step_existing()
        if (not_loaded := self._abort_if_not_loaded()) is not None:
            return not_loaded
        in_use = sensors_in_use(self._get_entry())
        errors: dict[str, str] = {}
        if user_input is not None:
            sensors = check_house_meter(self.hass, user_input, errors, in_use)
            if not errors and (
                registered := await self._async_register(
                    SUBENTRY_HOUSE_METER, "main", DeviceType.OTHER, errors
                )
            ):
                if self._existing_meter() is not None:  # added by another flow meanwhile
                    return await self.async_step_existing()
                reference_id, device_id = registered
                return self.async_create_entry(
                    title="House meter",
                    unique_id=reference_id,
                    data={**sensors, CONF_DEVICE_ID: device_id, CONF_REFERENCE_ID: reference_id},
                )
        defaults = user_input or await async_dashboard_defaults(self.hass)
        return self._form("user", defaults, in_use, None, errors)

    async def async_step_existing(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """ "Add house meter" while there is one (one per location): change that one instead."""
        meter = self._existing_meter()
        if meter is None:  # deleted while this form was open
            return await self.async_step_user()
        return await self._async_change(meter, "existing", user_input)

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Change the sensors; the Flatpeak device stays the same."""
        return await self._async_change(self._get_reconfigure_subentry(), "reconfigure", user_input)

    async def _async_change(
        self, meter: ConfigSubentry, step_id: str, user_input: dict[str, Any] | None
    ) -> SubentryFlowResult:
        in_use = sensors_in_use(self._get_entry(), meter.subentry_id)
        errors: dict[str, str] = {}
        if user_input is not None:
            sensors = check_house_meter(self.hass, user_input, errors, in_use, meter.data)
            if not errors:
                keep = {k: meter.data[k] for k in (CONF_DEVICE_ID, CONF_REFERENCE_ID)}
                return self.async_update_and_abort(
                    self._get_entry(), meter, data={**sensors, **keep}
                )
        return self._form(step_id, user_input or meter.data, in_use, meter.data, errors)

    def _form(
        self,
        step_id: str,
        defaults: Mapping[str, Any],
        in_use: set[str],
        current: Mapping[str, Any] | None,
        errors: dict[str, str],
    ) -> SubentryFlowResult:
        if not energy_choices(self.hass, (current or {}).get(CONF_GRID_IMPORT), in_use):
            errors["base"] = "no_energy_sensors"
        return self.async_show_form(
            step_id=step_id,
            data_schema=house_meter_schema(self.hass, defaults, in_use, current),
            errors=errors,
            description_placeholders={"location": self._get_entry().title},
        )


class ApplianceSubentryFlow(_DeviceSubentryFlow):
    """An appliance: a name and its energy sensor. An EV charger is one that also says how
    a charging session is recognised (:class:`EvChargerSubentryFlow`): one flow for both."""

    KIND = SUBENTRY_APPLIANCE
    DEVICE_TYPE = DeviceType.OTHER
    DEFAULT_NAME = "Appliance"

    def __init__(self) -> None:
        """Nothing chosen yet."""
        self._data: dict[str, Any] = {}

    @property
    def _energy_key(self) -> str:
        return APPLIANCES[self.KIND].energy_key

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Name and energy sensor (and a charger's session detection mode)."""
        if (not_loaded := self._abort_if_not_loaded()) is not None:
            return not_loaded
        return await self._async_step_device(user_input)

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Change the name or the sensor; the Flatpeak device stays the same."""
        return await self._async_step_device(user_input)

    def _subentry(self) -> ConfigSubentry | None:
        """The device being reconfigured, if any."""
        if self.source == SOURCE_RECONFIGURE:
            return self._get_reconfigure_subentry()
        return None

    def _extra_fields(self, defaults: Mapping[str, Any]) -> dict[Any, Any]:
        """More fields of the first form (a charger's session mode)."""
        return {}

    async def _async_next(self) -> SubentryFlowResult | None:
        """The step after the first form; None: save what it gave."""
        return None

    async def _async_step_device(self, user_input: dict[str, Any] | None) -> SubentryFlowResult:
        subentry = self._subentry()
        key = self._energy_key
        current: Mapping[str, Any] = (
            {**subentry.data, CONF_NAME: subentry.title} if subentry is not None else {}
        )
        in_use = sensors_in_use(
            self._get_entry(), subentry.subentry_id if subentry is not None else None
        )
        errors: dict[str, str] = {}
        if user_input is not None:
            name = check_text(user_input.get(CONF_NAME), CONF_NAME, errors)
            check_energy_sensor(
                self.hass,
                key,
                str(user_input.get(key) or ""),
                errors,
                in_use=in_use,
                current=current.get(key),
            )
            if not errors:
                self._data = {**user_input, CONF_NAME: name}
                if (following := await self._async_next()) is not None:
                    return following
                if result := await self._async_finish({}, errors):
                    return result
        defaults = user_input or current
        choices = energy_choices(self.hass, current.get(key), in_use)
        if not choices:
            errors["base"] = "no_energy_sensors"
        # With a single free energy sensor, that one is the device's: fill it in.
        suggested = defaults.get(key) or (choices[0] if len(choices) == 1 else None)
        schema = vol.Schema(
            {
                vol.Required(CONF_NAME, default=defaults.get(CONF_NAME, self.DEFAULT_NAME)): str,
                **energy_field(vol.Required, key, choices, suggested),
                **self._extra_fields(defaults),
                **submission_mode_field(defaults),
            }
        )
        return self.async_show_form(
            step_id="user" if subentry is None else "reconfigure",
            data_schema=schema,
            errors=errors,
            description_placeholders={
                "location": self._get_entry().title,
                "label": entry_label(self.hass, self._get_entry()),
            },
        )

    def _current(self) -> Mapping[str, Any]:
        subentry = self._subentry()
        return subentry.data if subentry is not None else {}

    def _saved(self, extra: dict[str, Any]) -> dict[str, Any]:
        """The subentry data of what was chosen (``extra``: a later step's answers)."""
        return {
            self._energy_key: self._data[self._energy_key],
            CONF_SUBMISSION_MODE: self._data[CONF_SUBMISSION_MODE],
            **extra,
        }

    async def _async_finish(
        self, extra: dict[str, Any], errors: dict[str, str]
    ) -> SubentryFlowResult | None:
        """Save a reconfigured device, or register a new one; ``None`` with errors."""
        data = self._saved(extra)
        title = self._data[CONF_NAME]
        if (subentry := self._subentry()) is not None:
            if self._sensor_taken():
                return await self._async_step_device(self._data)
            keep = {k: subentry.data[k] for k in (CONF_DEVICE_ID, CONF_REFERENCE_ID)}
            return self.async_update_and_abort(
                self._get_entry(), subentry, title=title, data={**data, **keep}
            )
        registered = await self._async_register(
            self.KIND, data[self._energy_key], self.DEVICE_TYPE, errors
        )
        if registered is None:
            return None
        if self._sensor_taken():  # by a device added while this one was registered
            return await self._async_step_device(self._data)
        reference_id, device_id = registered
        return self.async_create_entry(
            title=title,
            unique_id=reference_id,
            data={**data, CONF_DEVICE_ID: device_id, CONF_REFERENCE_ID: reference_id},
        )

    def _sensor_taken(self) -> bool:
        """True when another device of the entry now reads the chosen energy sensor."""
        subentry = self._subentry()
        in_use = sensors_in_use(
            self._get_entry(), subentry.subentry_id if subentry is not None else None
        )
        return self._data[self._energy_key] in in_use


class EvChargerSubentryFlow(ApplianceSubentryFlow):
    """An EV charger: an appliance whose charging sessions are recognised too."""

    KIND = SUBENTRY_EV_CHARGER
    DEVICE_TYPE = DeviceType.EV_CHARGER
    DEFAULT_NAME = "EV charger"

    def _extra_fields(self, defaults: Mapping[str, Any]) -> dict[Any, Any]:
        return {
            vol.Required(
                CONF_SESSION_MODE, default=defaults.get(CONF_SESSION_MODE, SESSION_MODE_STATE)
            ): SelectSelector(
                SelectSelectorConfig(
                    options=[SESSION_MODE_STATE, SESSION_MODE_POWER],
                    translation_key=CONF_SESSION_MODE,
                )
            ),
        }

    async def _async_next(self) -> SubentryFlowResult | None:
        if self._data[CONF_SESSION_MODE] == SESSION_MODE_POWER:
            return await self.async_step_session_power()
        return await self.async_step_session_state()

    def _saved(self, extra: dict[str, Any]) -> dict[str, Any]:
        return {
            **super()._saved(extra),
            CONF_SESSION_MODE: self._data[CONF_SESSION_MODE],
        }

    async def async_step_session_state(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """A session is open while an entity is in one of the given states."""
        errors: dict[str, str] = {}
        if user_input is not None:
            states = [s.strip() for s in user_input[CONF_SESSION_STATES] if s.strip()]
            if not states:
                errors["base"] = "no_session_states"
            elif result := await self._async_finish(
                {CONF_SESSION_ENTITY: user_input[CONF_SESSION_ENTITY], CONF_SESSION_STATES: states},
                errors,
            ):
                return result
        current = user_input or self._current()
        return self.async_show_form(
            step_id="session_state",
            data_schema=vol.Schema(
                {
                    vol.Required(
                        CONF_SESSION_ENTITY, **default(current.get(CONF_SESSION_ENTITY))
                    ): EntitySelector(
                        EntitySelectorConfig(
                            domain=SESSION_ENTITY_DOMAINS,
                            exclude_entities=not_session_entities(
                                self.hass, current.get(CONF_SESSION_ENTITY)
                            ),
                        )
                    ),
                    vol.Required(
                        CONF_SESSION_STATES,
                        default=current.get(CONF_SESSION_STATES, DEFAULT_SESSION_STATES),
                    ): SelectSelector(
                        SelectSelectorConfig(
                            options=list(DEFAULT_SESSION_STATES), multiple=True, custom_value=True
                        )
                    ),
                }
            ),
            errors=errors,
            description_placeholders={"location": self._get_entry().title},
        )

    async def async_step_session_power(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """A session is open while the charger draws more than a threshold."""
        errors: dict[str, str] = {}
        if user_input is not None and (
            result := await self._async_finish(
                {
                    CONF_POWER_SENSOR: user_input[CONF_POWER_SENSOR],
                    CONF_POWER_THRESHOLD: float(user_input[CONF_POWER_THRESHOLD]),
                },
                errors,
            )
        ):
            return result
        current = user_input or self._current()
        return self.async_show_form(
            step_id="session_power",
            data_schema=vol.Schema(
                {
                    vol.Required(
                        CONF_POWER_SENSOR, **default(current.get(CONF_POWER_SENSOR))
                    ): EntitySelector(
                        EntitySelectorConfig(include_entities=power_sensors(self.hass))
                    ),
                    vol.Required(
                        CONF_POWER_THRESHOLD,
                        default=current.get(CONF_POWER_THRESHOLD, DEFAULT_POWER_THRESHOLD_W),
                    ): NumberSelector(
                        NumberSelectorConfig(
                            min=1,
                            max=50000,
                            step=1,
                            mode=NumberSelectorMode.BOX,
                            unit_of_measurement="W",
                        )
                    ),
                }
            ),
            errors=errors,
            description_placeholders={"location": self._get_entry().title},
        )
