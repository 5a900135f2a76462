"""Repair issues a user can act on (named issues.py: repairs.py is HA's fix-flow platform)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir

from .const import (
    CONF_APPLIANCE_ENERGY,
    CONF_CHARGER_ENERGY,
    CONF_GRID_EXPORT,
    CONF_GRID_IMPORT,
    CONF_SOLAR,
    DOMAIN,
    FLATPEAK_DASHBOARD_URL,
    ISSUE_CHEAP_WINDOW,
    ISSUE_NO_IMPORT_TARIFF,
    ISSUE_RECORDS_REJECTED,
    ISSUE_SENSOR_PROBLEM,
    ISSUE_TARIFF_PROBLEM,
    TARIFF_NO_TARIFF_CONNECTED,
)
from .sensor_choices import sensor_problem

if TYPE_CHECKING:
    from homeassistant.config_entries import ConfigEntry, ConfigSubentry

    from .client import Location

SENSOR_KEYS = (
    CONF_GRID_IMPORT,
    CONF_GRID_EXPORT,
    CONF_SOLAR,
    CONF_CHARGER_ENERGY,
    CONF_APPLIANCE_ENERGY,
)


@callback
def async_check_tariff(hass: HomeAssistant, entry: ConfigEntry, location: Location) -> None:
    """Raise or clear the 'no import tariff connected' issue of an entry."""
    issue_id = f"{ISSUE_NO_IMPORT_TARIFF}_{entry.entry_id}"
    if location.tariff_status.import_connected:
        ir.async_delete_issue(hass, DOMAIN, issue_id)
        return
    ir.async_create_issue(
        hass,
        DOMAIN,
        issue_id,
        is_fixable=True,  # Flatpeak Connect for this location (repairs.py)
        severity=ir.IssueSeverity.WARNING,
        translation_key=ISSUE_NO_IMPORT_TARIFF,
        translation_placeholders={
            "location": location.name,
            "dashboard_url": FLATPEAK_DASHBOARD_URL,
        },
        data={"entry_id": entry.entry_id, "part": "commodity_import", "kind": "connect"},
    )


def sensor_issue_id(entry_id: str, subentry_id: str, key: str) -> str:
    """The repair issue of one mapped sensor; scoped by entry so cleanup never strays."""
    return f"{ISSUE_SENSOR_PROBLEM}_{entry_id}_{subentry_id}_{key}"


@callback
def async_check_sensors(hass: HomeAssistant, entry: ConfigEntry) -> dict[str, str]:
    """Raise or clear one issue per mapped sensor that is missing or no longer energy.

    Returns the broken sensors (entity id → problem) so callers can skip them.
    """
    broken: dict[str, str] = {}
    wanted: set[str] = set()
    for subentry in entry.subentries.values():
        for key in SENSOR_KEYS:
            if not (entity_id := subentry.data.get(key)):
                continue
            issue_id = sensor_issue_id(entry.entry_id, subentry.subentry_id, key)
            if (problem := sensor_problem(hass, entity_id)) is None:
                continue
            broken[entity_id] = problem
            wanted.add(issue_id)
            ir.async_create_issue(
                hass,
                DOMAIN,
                issue_id,
                is_fixable=False,
                severity=ir.IssueSeverity.ERROR,
                translation_key=f"sensor_{problem}",
                translation_placeholders={
                    "entity_id": entity_id,
                    "device": subentry.title,
                    "location": entry.title,
                },
            )
    async_clear_sensor_issues(hass, entry, keep=wanted)
    return broken


@callback
def async_clear_sensor_issues(
    hass: HomeAssistant, entry: ConfigEntry, keep: set[str] | None = None
) -> None:
    """Delete this entry's sensor issues except ``keep``, also those of removed subentries."""
    prefix = f"{ISSUE_SENSOR_PROBLEM}_{entry.entry_id}_"
    for domain, issue_id in list(ir.async_get(hass).issues):
        if domain == DOMAIN and issue_id.startswith(prefix) and issue_id not in (keep or set()):
            ir.async_delete_issue(hass, DOMAIN, issue_id)


@callback
def async_clear_all(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """Remove every issue of an entry (on removal)."""
    ir.async_delete_issue(hass, DOMAIN, f"{ISSUE_NO_IMPORT_TARIFF}_{entry.entry_id}")
    ir.async_delete_issue(hass, DOMAIN, f"{ISSUE_RECORDS_REJECTED}_{entry.entry_id}")
    async_clear_sensor_issues(hass, entry)
    async_clear_window_problems(hass, entry)


def tariff_problem_issue_id(entry_id: str) -> str:
    """The one issue of an entry about prices or costs Flatpeak cannot compute."""
    return f"{ISSUE_TARIFF_PROBLEM}_{entry_id}"


@callback
def async_raise_tariff_problem(hass: HomeAssistant, entry: ConfigEntry, code: str) -> None:
    """Raise the entry's tariff issue, or switch its text to ``code`` (a Flatpeak 422 code).

    A missing tariff that the location's status already reported is not reported twice.
    """
    if code == TARIFF_NO_TARIFF_CONNECTED and ir.async_get(hass).async_get_issue(
        DOMAIN, f"{ISSUE_NO_IMPORT_TARIFF}_{entry.entry_id}"
    ):
        async_clear_tariff_problem(hass, entry)
        return
    ir.async_create_issue(
        hass,
        DOMAIN,
        tariff_problem_issue_id(entry.entry_id),
        is_fixable=False,
        severity=ir.IssueSeverity.WARNING,
        translation_key=f"{ISSUE_TARIFF_PROBLEM}_{code}",
        translation_placeholders={
            "location": entry.title,
            "dashboard_url": FLATPEAK_DASHBOARD_URL,
        },
        learn_more_url=FLATPEAK_DASHBOARD_URL,
    )


@callback
def async_clear_tariff_problem(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """Delete the entry's tariff issue (nothing happens when there is none)."""
    ir.async_delete_issue(hass, DOMAIN, tariff_problem_issue_id(entry.entry_id))


def window_problem_issue_id(entry_id: str, subentry_id: str) -> str:
    """The issue of one cheap window Flatpeak cannot plan (export prices it lacks)."""
    return f"{ISSUE_CHEAP_WINDOW}_{entry_id}_{subentry_id}"


@callback
def async_raise_window_problem(
    hass: HomeAssistant, entry: ConfigEntry, subentry: ConfigSubentry, code: str
) -> None:
    """Raise a cheap window's issue, or switch its text to ``code`` (a Flatpeak 422 code)."""
    ir.async_create_issue(
        hass,
        DOMAIN,
        window_problem_issue_id(entry.entry_id, subentry.subentry_id),
        is_fixable=False,
        severity=ir.IssueSeverity.WARNING,
        translation_key=f"{ISSUE_CHEAP_WINDOW}_{code}",
        translation_placeholders={
            "window": subentry.title,
            "location": entry.title,
            "dashboard_url": FLATPEAK_DASHBOARD_URL,
        },
        learn_more_url=FLATPEAK_DASHBOARD_URL,
    )


@callback
def async_clear_window_problem(
    hass: HomeAssistant, entry: ConfigEntry, subentry: ConfigSubentry
) -> None:
    """Delete a cheap window's issue (nothing happens when there is none)."""
    ir.async_delete_issue(
        hass, DOMAIN, window_problem_issue_id(entry.entry_id, subentry.subentry_id)
    )


@callback
def async_clear_window_problems(
    hass: HomeAssistant, entry: ConfigEntry, keep: set[str] | None = None
) -> None:
    """Delete the entry's cheap window issues but those of ``keep`` (subentry ids)."""
    prefix = f"{ISSUE_CHEAP_WINDOW}_{entry.entry_id}_"
    kept = {window_problem_issue_id(entry.entry_id, sub) for sub in keep or set()}
    for domain, issue_id in list(ir.async_get(hass).issues):
        if domain == DOMAIN and issue_id.startswith(prefix) and issue_id not in kept:
            ir.async_delete_issue(hass, DOMAIN, issue_id)
