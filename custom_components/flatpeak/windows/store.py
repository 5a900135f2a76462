"""The plans of an entry's cheap windows, kept across restarts and reloads.

A window that has started keeps its slots until it ends (a machine already running must not
be switched off because prices moved). Adding a device, changing an option or restarting
Home Assistant reloads the entry; the plans are read back, each with the settings it was
made for, so only a change of the window's own settings drops its plan.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store

from ..client import Schedule, ScheduleSlot, TariffDirection
from ..const import DOMAIN
from ..core.cheap_windows import Plan, SearchWindow

STORE_VERSION = 1
SAVE_DELAY = 1.0


def _store(hass: HomeAssistant, entry_id: str) -> Store[dict[str, Any]]:
    return Store(hass, STORE_VERSION, f"{DOMAIN}.{entry_id}.cheap_windows")


async def async_remove_plans(hass: HomeAssistant, entry_id: str) -> None:
    """Forget an entry's plans (the entry is being removed)."""
    await _store(hass, entry_id).async_remove()


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _read_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value is not None else None


def plan_to_dict(plan: Plan) -> dict[str, Any]:
    """A plan as JSON."""
    schedule = plan.schedule
    return {
        "window": [plan.window.start.isoformat(), plan.window.end.isoformat()],
        "id": schedule.id,
        "currency_code": schedule.currency_code,
        "timezone": schedule.timezone,
        "tariff_direction": schedule.tariff_direction.value,
        "next_update": _time(schedule.next_update),
        "total_minutes": schedule.total_minutes,
        "slots": [
            [slot.start.isoformat(), slot.end.isoformat(), slot.average_price, slot.confidence]
            for slot in schedule.slots
        ],
    }


def plan_from_dict(data: dict[str, Any]) -> Plan:
    """A plan written by :func:`plan_to_dict`."""
    start, end = data["window"]
    return Plan(
        window=SearchWindow(datetime.fromisoformat(start), datetime.fromisoformat(end)),
        schedule=Schedule(
            id=data["id"],
            currency_code=data["currency_code"],
            timezone=data["timezone"],
            tariff_direction=TariffDirection(data["tariff_direction"]),
            next_update=_read_time(data["next_update"]),
            total_minutes=data["total_minutes"],
            slots=tuple(
                ScheduleSlot(
                    start=datetime.fromisoformat(slot_start),
                    end=datetime.fromisoformat(slot_end),
                    average_price=float(price),
                    confidence=float(confidence),
                )
                for slot_start, slot_end, price, confidence in data["slots"]
            ),
        ),
    )


class PlanStore:
    """One file per entry: ``{subentry id: {"settings": fingerprint, "plan": …}}``."""

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        """Empty until :meth:`async_load`."""
        self._store = _store(hass, entry_id)
        self._plans: dict[str, dict[str, Any]] = {}

    async def async_load(self, subentry_ids: set[str]) -> None:
        """Read the file; plans of windows no longer there are dropped. A file that cannot be
        read costs only a fresh plan, so it is not an error."""
        data = await self._store.async_load() or {}
        self._plans = {key: value for key, value in data.items() if key in subentry_ids}

    def plan(self, subentry_id: str, fingerprint: str) -> Plan | None:
        """The plan kept for a window with these settings, or ``None``."""
        kept = self._plans.get(subentry_id)
        if kept is None or kept.get("settings") != fingerprint:
            return None
        try:
            return plan_from_dict(kept["plan"])
        except (KeyError, TypeError, ValueError):
            return None

    def save(self, subentry_id: str, fingerprint: str, plan: Plan | None) -> None:
        """Keep (or drop) a window's plan; written shortly after (several come together)."""
        if plan is None:
            self._plans.pop(subentry_id, None)
        else:
            self._plans[subentry_id] = {"settings": fingerprint, "plan": plan_to_dict(plan)}
        self._store.async_delay_save(lambda: dict(self._plans), SAVE_DELAY)

    async def async_unload(self) -> None:
        """Write what is pending now (the entry unloads, HA may be stopping)."""
        await self._store.async_save(dict(self._plans))
