"""The blueprints in blueprints/automation/flatpeak/: valid for Home Assistant's own blueprint
code, and automations made from them switch at the right moments in the real harness."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
import shutil
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.automation import DATA_COMPONENT as AUTOMATIONS
from homeassistant.components.automation.config import AUTOMATION_BLUEPRINT_SCHEMA
from homeassistant.components.blueprint import models
from homeassistant.const import STATE_OFF, STATE_ON
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util.yaml import load_yaml_dict
import pytest
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from tests.conftest import Emulator
from tests.test_cheap_window_entities import (
    MONDAY_3PM,
    emulator_answer,
    entity_ids,
    jump,
    london,
    setup,
    window_of,
    window_subentry,
)

ROOT = Path(__file__).parent.parent
FOLDER = ROOT / "blueprints" / "automation" / "flatpeak"
BLUEPRINTS = sorted(FOLDER.glob("*.yaml"))
SECOND = timedelta(seconds=1)
NAME = "charge_ev_before_deadline"


def test_there_are_the_two_blueprints() -> None:
    assert [path.name for path in BLUEPRINTS] == [
        "charge_ev_before_deadline.yaml",
        "run_switch_in_cheap_window.yaml",
    ]


@pytest.mark.parametrize("path", BLUEPRINTS, ids=lambda p: p.name)
def test_each_blueprint_is_valid_for_home_assistant(path: Path) -> None:
    """HA's own schema: metadata, inputs, a source_url pointing at this very file."""
    blueprint = models.Blueprint(
        load_yaml_dict(str(path)), expected_domain="automation", schema=AUTOMATION_BLUEPRINT_SCHEMA
    )
    metadata = blueprint.metadata
    assert metadata["source_url"].endswith(f"/blob/main/blueprints/automation/flatpeak/{path.name}")
    assert metadata["input"]


@pytest.fixture
async def blueprints(hass: HomeAssistant, tmp_path: Path) -> None:
    """The repository's blueprints in this HA's config folder, as an import puts them."""
    hass.config.config_dir = str(tmp_path)
    target = tmp_path / "blueprints" / "automation" / "flatpeak"
    target.mkdir(parents=True)
    for path in BLUEPRINTS:
        shutil.copy(path, target / path.name)
    # Always loaded in a running HA; the blueprints call its homeassistant.turn_on/off.
    assert await async_setup_component(hass, "homeassistant", {})


async def automation(hass: HomeAssistant, name: str, inputs: dict[str, Any]) -> None:
    """One automation made from a blueprint."""
    config = {
        "automation": [
            {
                "id": name,
                "alias": name,
                "use_blueprint": {"path": f"flatpeak/{name}.yaml", "input": inputs},
            }
        ]
    }
    assert await async_setup_component(hass, "automation", config)
    await hass.async_block_till_done()
    state = hass.states.get(f"automation.{name}")
    assert state is not None
    assert state.state == STATE_ON, state


async def jump_while_waiting(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, when: datetime, name: str
) -> None:
    """Jump while an automation sleeps in a delay: HA's block_till_done would wait for that
    run, and the frozen loop clock never ends it, so the loop is turned over until the
    automation's script waits in a delay again (or has finished)."""
    freezer.move_to(when)
    async_fire_time_changed(hass, when)
    entity = hass.data[AUTOMATIONS].get_entity(f"automation.{name}")
    assert entity is not None
    script = entity.action_script
    for turn in range(200_000):
        await asyncio.sleep(0)
        if turn > 200 and (not script.is_running or (script.last_action or "").startswith("delay")):
            return
    pytest.fail(f"automation.{name} did not settle after {when}")


def state(hass: HomeAssistant, entity_id: str) -> str:
    current = hass.states.get(entity_id)
    assert current is not None
    return current.state


async def switch(hass: HomeAssistant, name: str) -> str:
    """An input_boolean standing in for a switch."""
    assert await async_setup_component(hass, "input_boolean", {"input_boolean": {name: {}}})
    return f"input_boolean.{name}"


@pytest.mark.usefixtures("blueprints")
async def test_run_a_switch_during_a_cheap_window(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """With the integration's own cheap window: on at the off-peak's start, off at its end."""
    entry = await setup(hass, emulator, freezer, window_subentry())
    window = entity_ids(hass, window_of(entry))["active"]
    dishwasher = await switch(hass, "dishwasher")
    await automation(
        hass, "run_switch_in_cheap_window", {"window": window, "switches": [dishwasher]}
    )
    slot_start, slot_end = london(2025, 6, 3, 0, 30), london(2025, 6, 3, 3, 30)
    await jump(hass, freezer, slot_start - SECOND)
    assert state(hass, dishwasher) == STATE_OFF
    await jump(hass, freezer, slot_start)
    assert state(hass, window) == STATE_ON
    assert state(hass, dishwasher) == STATE_ON
    await jump(hass, freezer, slot_end - SECOND)
    assert state(hass, dishwasher) == STATE_ON
    await jump(hass, freezer, slot_end)
    assert state(hass, dishwasher) == STATE_OFF


@pytest.mark.usefixtures("blueprints")
async def test_a_window_that_goes_unavailable_leaves_the_switch(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory
) -> None:
    """Only a slot's end turns the switch off, not a window that cannot be read."""
    await setup(hass, emulator, freezer)
    hass.states.async_set("binary_sensor.stand_in", STATE_ON)
    heater = await switch(hass, "heater")
    await automation(
        hass,
        "run_switch_in_cheap_window",
        {"window": "binary_sensor.stand_in", "switches": [heater]},
    )
    hass.states.async_set("binary_sensor.stand_in", STATE_OFF)
    hass.states.async_set("binary_sensor.stand_in", STATE_ON)
    await hass.async_block_till_done()
    assert state(hass, heater) == STATE_ON
    hass.states.async_set("binary_sensor.stand_in", "unavailable")
    await hass.async_block_till_done()
    assert state(hass, heater) == STATE_ON
    hass.states.async_set("binary_sensor.stand_in", STATE_OFF)
    await hass.async_block_till_done()
    assert state(hass, heater) == STATE_ON  # unavailable -> off is no slot ending
    hass.states.async_set("binary_sensor.stand_in", STATE_ON)
    hass.states.async_set("binary_sensor.stand_in", STATE_OFF)
    await hass.async_block_till_done()
    assert state(hass, heater) == STATE_OFF


@pytest.mark.usefixtures("blueprints")
@pytest.mark.parametrize("plugged", [False, True])
async def test_charge_the_ev_in_the_cheapest_hours_before_the_deadline(
    hass: HomeAssistant, emulator: Emulator, freezer: FrozenDateTimeFactory, plugged: bool
) -> None:
    """Planned at 18:00 for 07:00 tomorrow (crossing midnight): the charger is on exactly
    during the emulator's cheapest 4 hours of that window, with the real action."""
    await hass.config.async_update(time_zone="Europe/London")
    entry = await setup(hass, emulator, freezer)
    charger = await switch(hass, "charger")
    inputs: dict[str, Any] = {
        "location": entry.entry_id,
        "charger": charger,
        "charging_time": {"hours": 4, "minutes": 0, "seconds": 0},
        "deadline": "07:00:00",
        "plan_at": "18:00:00",
    }
    if plugged:
        hass.states.async_set("binary_sensor.car_plugged_in", STATE_OFF)
        inputs["plugged_in"] = ["binary_sensor.car_plugged_in"]
    await automation(hass, "charge_ev_before_deadline", inputs)
    emulator.state.request_log.clear()
    planned = london(2025, 6, 2, 18, 0)
    await jump_while_waiting(hass, freezer, planned, NAME)
    requests = sum(1 for _, p in emulator.state.request_log if p.startswith("/schedules/"))
    if plugged:
        # Not plugged in at 18:00: no plan; plugging in at 19:00 plans from then.
        assert requests == 0
        planned = london(2025, 6, 2, 19, 0)
        await jump_while_waiting(hass, freezer, planned, NAME)
        hass.states.async_set("binary_sensor.car_plugged_in", STATE_ON)
        await jump_while_waiting(hass, freezer, planned, NAME)
        requests = sum(1 for _, p in emulator.state.request_log if p.startswith("/schedules/"))
    assert requests == 1
    expected = await emulator_answer(
        hass, emulator, planned, london(2025, 6, 3, 7, 0), duration=240
    )
    assert sum((s.end - s.start for s in expected.slots), timedelta()) == timedelta(hours=4)
    for slot in expected.slots:
        await jump_while_waiting(hass, freezer, slot.start - SECOND, NAME)
        assert state(hass, charger) == STATE_OFF, slot
        await jump_while_waiting(hass, freezer, slot.start, NAME)
        assert state(hass, charger) == STATE_ON, slot
        await jump_while_waiting(hass, freezer, slot.end - SECOND, NAME)
        assert state(hass, charger) == STATE_ON, slot
        await jump_while_waiting(hass, freezer, slot.end, NAME)
        assert state(hass, charger) == STATE_OFF, slot
    # Its daily time trigger would outlive the test.
    await hass.services.async_call(
        "automation", "turn_off", {"entity_id": f"automation.{NAME}"}, blocking=True
    )


def test_monday_is_the_day_the_tests_start() -> None:
    """The fixtures above start on Monday 2 June 2025, 15:00 in London."""
    assert datetime(2025, 6, 2, 14, 0, tzinfo=UTC) == MONDAY_3PM
