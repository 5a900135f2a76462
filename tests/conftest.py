"""Shared fixtures: the Flatpeak emulator over real HTTP, the HA harness with a real recorder."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass
import logging
from typing import Any

from homeassistant.core import HomeAssistant
import pytest

import custom_components  # noqa: F401  # must win over the harness's testing_config package
from tests.emulator import EmulatorState, create_app

# The test harness logs every SQL statement at INFO; that buries real failures in CI output.
logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)


@pytest.fixture(autouse=True)
def _ha_harness(request: pytest.FixtureRequest) -> None:
    """HA tests get the real recorder (SQLite) and our integration; plain tests get neither."""
    if "hass" in request.fixturenames:
        request.getfixturevalue("recorder_mock")
        request.getfixturevalue("enable_custom_integrations")
        request.getfixturevalue("_settled")


@pytest.fixture
async def _settled(hass: HomeAssistant) -> AsyncGenerator[None]:
    """A home that counts in pounds like the emulator's demo location (the harness says EUR).

    An HA test ends only when its background work has: an upload still reading statistics
    while the recorder shuts down can crash the interpreter."""
    await hass.config.async_update(currency="GBP")
    yield
    await hass.async_block_till_done(wait_background_tasks=True)


@dataclass
class Emulator:
    """A running emulator: its state, its URL and the seeded demo account."""

    state: EmulatorState
    base_url: str
    account_id: str
    api_key: str
    location_id: str

    @property
    def credentials(self) -> dict[str, Any]:
        """Config entry data for the demo account."""
        return {
            "account_id": self.account_id,
            "api_key": self.api_key,
            "base_url": self.base_url,
        }

    def requests(self, method: str, path: str) -> int:
        """How many API requests of this kind the emulator served."""
        return sum(1 for m, p in self.state.request_log if m == method and p == path)


@pytest.fixture
async def emulator(socket_enabled: None, aiohttp_server: Any) -> AsyncGenerator[Emulator]:
    """The emulator on 127.0.0.1 with the demo account (UK time-of-use tariff) seeded."""
    state = EmulatorState()
    demo = state.seed_demo()
    server = await aiohttp_server(create_app(state))
    return Emulator(
        state=state,
        base_url=str(server.make_url("")).rstrip("/"),
        account_id=demo["account_id"],
        api_key=demo["api_key"],
        location_id=demo["location_id"],
    )
