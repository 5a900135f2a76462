"""Upload errors: a count of failed cycles in a row, replacing the text sensor Last upload error."""

from __future__ import annotations

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er

from custom_components.flatpeak.const import DOMAIN
from tests.conftest import Emulator
from tests.helpers import house_meter_subentry, make_entry, new_device
from tests.uploads_helpers import Meter, uploads


async def test_upload_errors_replaces_last_upload_error_and_counts_failed_cycles(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """An installation from before keeps no Last upload error (registry entry and state
    gone); Upload errors counts the cycles in a row that failed, shows the latest error and
    is 0 again after a cycle that works."""
    meter = Meter(hass, freezer)
    await meter.period({"sensor.grid_import": 100.0, "sensor.grid_export": 50.0, "sensor.solar": 1})
    device_id = await new_device(hass, emulator, "house")
    entry = await make_entry(
        hass, emulator, subentries=[house_meter_subentry(device_id)], options={"history_days": 1}
    )
    registry = er.async_get(hass)
    subentry_id = next(iter(entry.subentries))
    old = registry.async_get_or_create(
        "sensor",
        DOMAIN,
        f"{device_id}_last_upload_error",
        config_entry=entry,
        config_subentry_id=subentry_id,
        suggested_object_id="house_meter_last_upload_error",
        entity_category=EntityCategory.DIAGNOSTIC,
    )
    # What HA's start writes for a registered entity until its integration is set up.
    old.write_unavailable_state(hass)

    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert registry.async_get(old.entity_id) is None
    assert hass.states.get(old.entity_id) is None
    errors_id = registry.async_get_entity_id("sensor", DOMAIN, f"{device_id}_upload_errors")
    assert errors_id == "sensor.1_test_street_upload_errors"
    errors = registry.async_get(errors_id)
    assert errors is not None
    assert errors.entity_category is EntityCategory.DIAGNOSTIC
    assert errors.capabilities == {"state_class": "measurement"}
    assert errors.config_subentry_id == subentry_id

    def shown() -> tuple[str, str | None]:
        state = hass.states.get(errors_id)
        assert state is not None
        return state.state, state.attributes.get("error")

    assert shown() == ("0", None)
    emulator.state.fail_next("/meters/interval", 503, count=10_000)
    for n in range(1, 4):
        await meter.period({"sensor.grid_import": 100.0 + n})  # retries run on their own
        await uploads(entry).async_refresh()
        count, error = shown()
        assert int(count) == uploads(entry).diagnostics()["consecutive_failures"] >= n
        assert error is not None
        assert error.startswith("503")
    emulator.state.faults.clear()
    await meter.period({"sensor.grid_import": 105.0})
    await uploads(entry).async_refresh()
    assert shown() == ("0", None)

    # A reload neither brings the old sensor back nor carries a count over.
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert registry.async_get(old.entity_id) is None
    assert shown() == ("0", None)
