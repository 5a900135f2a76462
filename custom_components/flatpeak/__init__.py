"""The Flatpeak integration: energy sensors in, Flatpeak costs out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed, ConfigEntryError, ConfigEntryNotReady
from homeassistant.helpers import config_validation as cv, device_registry as dr
from homeassistant.helpers.start import async_at_started
from homeassistant.helpers.typing import ConfigType
from homeassistant.util import dt as dt_util

from .actions import async_setup_actions
from .client import (
    FlatpeakAccountDisabledError,
    FlatpeakAuthenticationError,
    FlatpeakClient,
    FlatpeakError,
    FlatpeakNotFoundError,
    Location,
)
from .const import CONF_LOCATION_ID, DOMAIN, SUBENTRY_CHEAP_WINDOW
from .costs import CostCoordinator, async_remove_costs
from .entity import subentry_device_info
from .entry_client import make_client
from .health import TariffHealth, async_remove_health
from .issues import (
    async_check_tariff,
    async_clear_all,
    async_clear_tariff_problem,
    async_clear_window_problems,
)
from .prices import PriceCoordinator
from .sessions import (
    SessionBook,
    SessionCostCoordinator,
    async_load_installation,
    async_remove_sessions,
)
from .tariff import TariffGate
from .uploads import UploadCoordinator, async_remove_progress
from .windows import CheapWindowCoordinator, PlanStore, async_remove_plans

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)
PLATFORMS: list[Platform] = [Platform.BINARY_SENSOR, Platform.EVENT, Platform.SENSOR]


@dataclass(slots=True)
class FlatpeakRuntimeData:
    """What a loaded entry holds; ``location`` is the latest read (the upload cycle reads it
    again while no import tariff is connected)."""

    client: FlatpeakClient
    location: Location
    uploads: UploadCoordinator
    tariff_gate: TariffGate
    prices: PriceCoordinator
    costs: CostCoordinator
    sessions: SessionCostCoordinator
    plans: PlanStore
    windows: dict[str, CheapWindowCoordinator]  # by subentry id
    health: TariffHealth


type FlatpeakConfigEntry = ConfigEntry[FlatpeakRuntimeData]


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the actions once, for every entry."""
    async_setup_actions(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: FlatpeakConfigEntry) -> bool:
    """Sign in, read the location, and register one HA device per subentry."""
    client = make_client(hass, entry.data)
    try:
        location = await client.get_location(entry.data[CONF_LOCATION_ID])
    except FlatpeakAccountDisabledError as err:
        raise ConfigEntryError(
            translation_domain=DOMAIN, translation_key="account_disabled"
        ) from err
    except FlatpeakAuthenticationError as err:
        raise ConfigEntryAuthFailed(
            translation_domain=DOMAIN, translation_key="invalid_auth"
        ) from err
    except FlatpeakNotFoundError as err:
        raise ConfigEntryError(
            translation_domain=DOMAIN,
            translation_key="location_not_found",
            translation_placeholders={"location_id": entry.data[CONF_LOCATION_ID]},
        ) from err
    except FlatpeakError as err:
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key="cannot_connect",
            translation_placeholders={"error": str(err)},
        ) from err

    book = SessionBook(hass, entry.entry_id)
    uploads = UploadCoordinator(hass, entry, client, book)
    await async_load_installation(hass)
    # Sessions an older progress file held move to the book (written before progress is).
    await book.async_load(await uploads.async_load())
    tariff_gate = TariffGate(hass, entry)
    prices = PriceCoordinator(hass, entry, client, location, tariff_gate)
    costs = CostCoordinator(hass, entry, client, location, tariff_gate)
    sessions = SessionCostCoordinator(
        hass, entry, client, uploads, book=book, gate=tariff_gate, currency=costs.currency
    )
    plans, windows = await _async_cheap_windows(
        hass, entry, client=client, location=location, gate=tariff_gate, prices=prices
    )

    @callback
    def _location_changed(back: timedelta) -> None:
        """Flatpeak says the location changed: prices (and with them the cheap windows) and
        the cost hours of the time ``back`` now, not at their next schedule."""
        entry.async_create_background_task(
            hass, prices.async_refetch(), f"{DOMAIN} prices after a change"
        )
        entry.async_create_background_task(
            hass,
            costs.async_refresh_since(dt_util.utcnow() - back),
            f"{DOMAIN} costs after a change",
        )

    health = TariffHealth(hass, entry, client, location.id, _location_changed)
    entry.runtime_data = FlatpeakRuntimeData(
        client=client,
        location=location,
        uploads=uploads,
        tariff_gate=tariff_gate,
        prices=prices,
        costs=costs,
        sessions=sessions,
        plans=plans,
        windows=windows,
        health=health,
    )
    sessions.async_setup()
    await costs.async_setup(uploads)
    async_check_tariff(hass, entry, location)
    _async_register_devices(hass, entry)

    await health.async_first_status()
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    await health.async_setup()
    entry.async_create_background_task(hass, prices.async_refresh(), f"{DOMAIN} first prices")
    for window in windows.values():
        entry.async_create_background_task(
            hass, window.async_refresh(), f"{DOMAIN} first plan of {window.subentry.title}"
        )
    # Uploads run whether or not any entity listens. The first cycle (with the history
    # window) runs in the background once HA has started, when every sensor is there.
    entry.async_on_unload(uploads.async_add_listener(lambda: None))

    @callback
    def _first_upload(_hass: HomeAssistant) -> None:
        entry.async_create_background_task(hass, uploads.async_refresh(), f"{DOMAIN} first upload")

    entry.async_on_unload(async_at_started(hass, _first_upload))
    entry.async_on_unload(entry.add_update_listener(_async_reload))
    return True


async def async_unload_entry(hass: HomeAssistant, entry: FlatpeakConfigEntry) -> bool:
    """Release everything the entry holds."""
    unloaded = await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
    await entry.runtime_data.sessions.book.async_unload()
    await entry.runtime_data.plans.async_unload()
    await entry.runtime_data.uploads.async_unload()
    return unloaded


async def async_remove_entry(hass: HomeAssistant, entry: FlatpeakConfigEntry) -> None:
    """The entry is gone: its progress and repair issues go too (Flatpeak keeps its data)."""
    async_clear_all(hass, entry)
    async_clear_tariff_problem(hass, entry)
    await async_remove_progress(hass, entry.entry_id)
    await async_remove_sessions(hass, entry.entry_id)
    await async_remove_costs(hass, entry)
    await async_remove_plans(hass, entry.entry_id)
    await async_remove_health(hass, entry.entry_id)


async def _async_reload(hass: HomeAssistant, entry: FlatpeakConfigEntry) -> None:
    """Options, credentials or subentries changed."""
    await hass.config_entries.async_reload(entry.entry_id)


async def _async_cheap_windows(
    hass: HomeAssistant,
    entry: FlatpeakConfigEntry,
    *,
    client: FlatpeakClient,
    location: Location,
    gate: TariffGate,
    prices: PriceCoordinator,
) -> tuple[PlanStore, dict[str, CheapWindowCoordinator]]:
    """One coordinator per cheap window, with the plans kept from before; each re-plans when
    the location's prices in its direction change."""
    subentries = [
        sub for sub in entry.subentries.values() if sub.subentry_type == SUBENTRY_CHEAP_WINDOW
    ]
    ids = {sub.subentry_id for sub in subentries}
    async_clear_window_problems(hass, entry, keep=ids)
    store = PlanStore(hass, entry.entry_id)
    await store.async_load(ids)
    windows = {
        sub.subentry_id: CheapWindowCoordinator(
            hass, entry, sub, client=client, location=location, gate=gate, store=store
        )
        for sub in subentries
    }
    if windows:

        @callback
        def _prices_updated() -> None:
            for window in windows.values():
                window.prices_updated(prices.schedule(window.direction))

        entry.async_on_unload(prices.async_add_listener(_prices_updated))
    return store, windows


def _async_register_devices(hass: HomeAssistant, entry: FlatpeakConfigEntry) -> None:
    """One HA device per subentry, so its entities have a home and removal cleans up.

    Devices registered before are updated: their name (after the entry's title) and, for
    devices once registered as services, their type. Entity ids stay as they are.
    """
    registry = dr.async_get(hass)
    for subentry in entry.subentries.values():
        registry.async_get_or_create(
            config_entry_id=entry.entry_id,
            config_subentry_id=subentry.subentry_id,
            **subentry_device_info(hass, entry, subentry),
        )
