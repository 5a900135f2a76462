"""The tariff health coordinator: which tariff prices the location, when it ends, and what
Flatpeak says of it.

``GET /locations/{id}/status`` is read at start-up, daily, after events and after a Connect
round trip; ``GET /events`` at start-up and hourly, from a cursor kept in the entry's Store
(the newest event handled), so a restart neither misses nor repeats one; a first read goes
back as far as Flatpeak lists (90 days). Events only raise problems; ``/status`` clears them,
each once the part is connected again:

* ``tariff.expiring`` (or a contract end within 10 days): until the end is further away or
  the tariff was replaced (with no end date given, only a new tariff clears it);
* ``tariff.expired``: until the part is connected with an end not passed (or a new tariff);
* ``tariff.fetch.failed``: until the part is connected again;
* ``tariff.connection.upgrade``: until the connection is DIRECT or the tariff was replaced;
* an export or solar sensor with no export tariff: until one is connected.

``location.update``, or a status that changed, refreshes prices (and with them the cheap
windows) and the recent cost hours at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
import logging
from typing import TYPE_CHECKING, Any

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr, issue_registry as ir
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.helpers.storage import Store
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from ..client import (
    FlatpeakClient,
    FlatpeakError,
    FlatpeakInvalidRequestError,
    LocationStatus,
)
from ..client.health import NOT_CONNECTED, PARTS
from ..const import (
    CONF_DEVICE_ID,
    CONF_GRID_EXPORT,
    CONF_SOLAR,
    DOMAIN,
    ISSUE_NO_IMPORT_TARIFF,
    SUBENTRY_HOUSE_METER,
)
from ..entity import MANUFACTURER

if TYPE_CHECKING:
    from homeassistant.config_entries import ConfigEntry

    from ..client import Event

_LOGGER = logging.getLogger(__name__)

STORE_VERSION = 1
EVENTS_EVERY = timedelta(hours=1)
STATUS_EVERY = timedelta(hours=24)
EXPIRING_WITHIN = timedelta(days=10)
# How far back costs are read again: after a location change (prices, say) the recent hours;
# after Connect set a tariff, the month the cost statistics re-import daily anyway.
RECOST_AFTER_CHANGE = timedelta(hours=48)
RECOST_AFTER_CONNECT = timedelta(days=30)
MAX_EVENT_PAGES = 20  # of 100: far more than 90 days of one location's events
SEEN_KEPT = 200  # event ids remembered, so a lost cursor does not repeat what was handled

IMPORT = "commodity_import"
EXPORT = "commodity_export"
GRID_FEES = "non_commodity_import"
# event type → problem kind (the repair's translation key is "tariff_" + kind)
KINDS = {
    "tariff.expiring": "expiring",
    "tariff.expired": "expired",
    "tariff.fetch.failed": "fetch_failed",
    "tariff.connection.upgrade": "upgrade",
}
CHANGES = frozenset({"location.update", "connect_session.complete"})
ISSUE_TARIFF = "tariff"
ISSUE_NO_EXPORT = "no_export_tariff"


@dataclass(frozen=True, slots=True)
class Problem:
    """What Flatpeak said is wrong with one part, and of which tariff."""

    kind: str
    tariff_id: str | None


def tariff_issue_id(entry_id: str, part: str) -> str:
    """The repair issue of one part's problem."""
    return f"{ISSUE_TARIFF}_{entry_id}_{part}"


def cleared(problem: Problem, status: LocationStatus, part: str, now: datetime) -> bool:
    """Whether ``/status`` shows the part right again (see the module)."""
    found = status.part(part)
    if found.status == NOT_CONNECTED:
        return True  # disconnected: the part's own "not connected" repair speaks for it
    replaced = found.connected and problem.tariff_id not in (None, found.tariff_id)
    if problem.kind == "expiring":
        if not found.connected:
            return False
        # Without an end date /status cannot tell it was renewed: only a new tariff does.
        end = found.contract_end
        return replaced or (end is not None and end > now + EXPIRING_WITHIN)
    if problem.kind == "expired":
        return found.connected and (
            replaced or found.contract_end is None or found.contract_end > now
        )
    if problem.kind == "upgrade":
        return found.connected and (replaced or found.connection_type == "DIRECT")
    return found.connected  # fetch_failed


def _store(hass: HomeAssistant, entry_id: str) -> Store[dict[str, Any]]:
    return Store(hass, STORE_VERSION, f"{DOMAIN}.{entry_id}.tariff")


async def async_remove_health(hass: HomeAssistant, entry_id: str) -> None:
    """The entry is gone: its event cursor and tariff repairs go too."""
    await _store(hass, entry_id).async_remove()
    for part in PARTS:
        ir.async_delete_issue(hass, DOMAIN, tariff_issue_id(entry_id, part))
    ir.async_delete_issue(hass, DOMAIN, f"{ISSUE_NO_EXPORT}_{entry_id}")


class TariffHealth(DataUpdateCoordinator[LocationStatus | None]):
    """One entry's tariff status, events and tariff repairs."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        client: FlatpeakClient,
        location_id: str,
        on_change: Callable[[timedelta], None],
    ) -> None:
        """``on_change(back)``: the location changed; refresh prices and the costs of the
        time ``back`` (a new tariff re-prices what was sent before)."""
        super().__init__(
            hass, _LOGGER, config_entry=entry, name=f"{DOMAIN} tariff", update_interval=None
        )
        self.client = client
        self.location_id = location_id
        self._on_change = on_change
        self._store = _store(hass, entry.entry_id)
        self._cursor: str | None = None
        self._seen: list[str] = []
        self.problems: dict[str, Problem] = {}
        self._status_at: datetime | None = None
        self.data = None

    # -- start, timers, persistence -------------------------------------------------

    async def async_first_status(self) -> None:
        """The stored cursor and problems, then ``/status`` before the entities are added
        (so the tariff sensors start with their figures, not unknown); a failure leaves it
        to the first refresh."""
        await self._async_load()
        try:
            await self._async_status()
        except FlatpeakError as err:
            _LOGGER.debug("Flatpeak's tariff status could not be read at start-up: %s", err)

    async def _async_load(self) -> None:
        stored = await self._store.async_load() or {}
        self._cursor = stored.get("cursor")
        self._seen = list(stored.get("seen", []))
        self.problems = {
            part: Problem(str(p["kind"]), p.get("tariff_id"))
            for part, p in stored.get("problems", {}).items()
            if isinstance(p, dict) and p.get("kind") in KINDS.values()
        }

    async def async_setup(self) -> None:
        """Events (and the status when due) once now, then hourly; the house meter's maker
        (its entities have just registered it as Flatpeak's)."""
        entry = self.config_entry
        assert entry is not None
        if self.data is not None:
            self._name_the_provider(self.data)
        entry.async_on_unload(
            async_track_time_interval(self.hass, self._tick, EVENTS_EVERY, cancel_on_shutdown=True)
        )
        entry.async_create_background_task(self.hass, self.async_refresh(), f"{DOMAIN} tariff")

    @callback
    def _tick(self, _now: datetime) -> None:
        entry = self.config_entry
        assert entry is not None
        entry.async_create_background_task(self.hass, self.async_refresh(), f"{DOMAIN} tariff")

    async def _async_save(self) -> None:
        await self._store.async_save(
            {
                "cursor": self._cursor,
                "seen": self._seen[-SEEN_KEPT:],
                "problems": {
                    part: {"kind": p.kind, "tariff_id": p.tariff_id}
                    for part, p in self.problems.items()
                },
            }
        )

    async def async_after_connect(self) -> None:
        """A Connect round trip ended: read the status now, then tell what changed."""
        await self._async_status()
        self._on_change(RECOST_AFTER_CONNECT)
        self.async_update_listeners()

    # -- one run: events, then status when due or told --------------------------------

    async def _async_update_data(self) -> LocationStatus | None:
        try:
            if self.data is None:  # which tariff an event names needs the status
                await self._async_status()
            events = await self._async_events()
        except FlatpeakError as err:
            raise UpdateFailed(f"Flatpeak's events could not be read: {err}") from err
        raised = False
        changed = False
        for event in events:
            if event.location_id != self.location_id:
                continue
            if (kind := KINDS.get(event.type)) is not None:
                part = (self.data.part_of(event.tariff_id) if self.data else None) or IMPORT
                self.problems[part] = Problem(kind, event.tariff_id)
                raised = True
            elif event.type in CHANGES:
                changed = True
        if events:
            await self._async_save()
        now = dt_util.utcnow()
        due = self._status_at is None or now - self._status_at >= STATUS_EVERY
        if raised or changed or due:
            before = self.data
            try:
                await self._async_status()
            except FlatpeakError as err:
                self._sync_issues()
                raise UpdateFailed(f"Flatpeak's tariff status could not be read: {err}") from err
            if changed or (before is not None and before != self.data):
                self._on_change(RECOST_AFTER_CHANGE)
        # (the repairs follow each status read; without one, nothing they show changed)
        return self.data

    async def _async_events(self) -> list[Event]:
        """The location's events after the cursor, oldest first (the cursor moves on)."""
        found: list[Event] = []
        if self._cursor is not None:
            try:
                cursor: str | None = self._cursor
                for _ in range(MAX_EVENT_PAGES):
                    page, more = await self.client.list_events(
                        object_id=self.location_id, ending_before=cursor
                    )
                    found = page + found  # each page is newest first, newer than the last
                    if not page or not more:
                        break
                    cursor = page[0].id
            except FlatpeakInvalidRequestError:
                # The cursor aged out of Flatpeak's history: read what it still lists.
                _LOGGER.info("Flatpeak no longer lists the last event read; reading them all")
                self._cursor = None
                found = []
        if self._cursor is None:
            after: str | None = None
            for _ in range(MAX_EVENT_PAGES):
                page, more = await self.client.list_events(
                    object_id=self.location_id, starting_after=after
                )
                found += page
                if not page or not more:
                    break
                after = page[-1].id
        new = [e for e in reversed(found) if e.id not in self._seen]  # oldest first
        if found:
            self._cursor = found[0].id
        self._seen = (self._seen + [e.id for e in new])[-SEEN_KEPT:]
        return new

    async def _async_status(self) -> None:
        """Read ``/status`` and clear the problems it shows fixed (and sync the repairs)."""
        status = await self.client.get_status(self.location_id)
        now = dt_util.utcnow()
        self._status_at = now
        self.data = status
        # A contract ending soon is a problem even without Flatpeak's event.
        for part in (IMPORT, EXPORT):
            found = status.part(part)
            end = found.contract_end
            if (
                found.connected
                and end is not None
                and now < end <= now + EXPIRING_WITHIN
                and part not in self.problems
            ):
                self.problems[part] = Problem("expiring", found.tariff_id)
        self._name_the_provider(status)
        fixed = [part for part, p in self.problems.items() if cleared(p, status, part, now)]
        for part in fixed:
            del self.problems[part]
        if fixed:
            await self._async_save()
        self._sync_issues()

    @callback
    def _name_the_provider(self, status: LocationStatus) -> None:
        """The house meter's maker is the import tariff's provider (Flatpeak without one)."""
        entry = self.config_entry
        assert entry is not None
        maker = status.commodity_import.provider or MANUFACTURER
        registry = dr.async_get(self.hass)
        ids = {
            (DOMAIN, str(sub.data.get(CONF_DEVICE_ID)))
            for sub in entry.subentries.values()
            if sub.subentry_type == SUBENTRY_HOUSE_METER
        }
        for device in dr.async_entries_for_config_entry(registry, entry.entry_id):
            if device.identifiers & ids and device.manufacturer != maker:
                registry.async_update_device(device.id, manufacturer=maker)

    # -- repairs ----------------------------------------------------------------------

    def export_missing(self) -> bool:
        """An export or solar sensor is mapped, but no export tariff prices it."""
        entry = self.config_entry
        assert entry is not None
        if self.data is None or self.data.commodity_export.connected:
            return False
        return any(
            sub.subentry_type == SUBENTRY_HOUSE_METER
            and (sub.data.get(CONF_GRID_EXPORT) or sub.data.get(CONF_SOLAR))
            for sub in entry.subentries.values()
        )

    @callback
    def _sync_issues(self) -> None:
        """One repair per part with a problem, and the missing export tariff's."""
        entry = self.config_entry
        assert entry is not None
        for part in PARTS:
            issue_id = tariff_issue_id(entry.entry_id, part)
            problem = self.problems.get(part)
            if problem is None:
                ir.async_delete_issue(self.hass, DOMAIN, issue_id)
                continue
            found = self.data.part(part) if self.data else None
            kind = problem.kind
            key = (
                "tariff_expiring"
                if kind == "expiring"
                else "tariff_expired"
                if kind == "expired"
                else "tariff_fetch_failed"
                if kind == "fetch_failed"
                else "tariff_upgrade"
            )
            ir.async_create_issue(
                self.hass,
                DOMAIN,
                issue_id,
                is_fixable=True,
                severity=ir.IssueSeverity.WARNING
                if problem.kind in ("expiring", "upgrade")
                else ir.IssueSeverity.ERROR,
                translation_key=key,
                translation_placeholders={
                    "location": entry.title,
                    "tariff": (found.tariff_name if found else None) or part_label(part),
                    "ends": found.contract_end.date().isoformat()
                    if found and found.contract_end
                    else "-",
                },
                data={"entry_id": entry.entry_id, "part": part, "kind": problem.kind},
            )
        if self.data is not None and self.data.commodity_import.connected:
            ir.async_delete_issue(self.hass, DOMAIN, f"{ISSUE_NO_IMPORT_TARIFF}_{entry.entry_id}")
        issue_id = f"{ISSUE_NO_EXPORT}_{entry.entry_id}"
        if self.export_missing():
            ir.async_create_issue(
                self.hass,
                DOMAIN,
                issue_id,
                is_fixable=True,
                severity=ir.IssueSeverity.WARNING,
                translation_key=ISSUE_NO_EXPORT,
                translation_placeholders={"location": entry.title},
                data={"entry_id": entry.entry_id, "part": EXPORT, "kind": "connect"},
            )
        elif self.data is not None:
            ir.async_delete_issue(self.hass, DOMAIN, issue_id)

    def diagnostics(self) -> dict[str, Any]:
        """What the tariff health knows, for the diagnostics download (no ids: the event
        cursor is only said to be there)."""
        status = self.data
        return {
            "has_event_cursor": self._cursor is not None,
            "status_read": self._status_at.isoformat() if self._status_at else None,
            "parts": {
                part: {
                    "status": found.status,
                    "connection_type": found.connection_type,
                    "structure_type": found.structure_type,
                    "contract_end": found.contract_end.isoformat() if found.contract_end else None,
                }
                for part in PARTS
                if status is not None and (found := status.part(part))
            },
            "problems": {part: p.kind for part, p in self.problems.items()},
            "export_tariff_missing": self.export_missing(),
        }


def part_label(part: str) -> str:
    """An English name of a part, where a tariff has none."""
    return {IMPORT: "import tariff", EXPORT: "export tariff", GRID_FEES: "grid fees"}[part]
