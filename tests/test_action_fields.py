"""The actions' location and device fields are labelled in every language.

In the action editor the frontend shows each field's translated name as its heading and the
description under it, then the selector without a label of its own, on 2025.4 and 2026.x
alike: the config entry picker then shows the frontend's own word, "Integration" (with "*"
when required). So each location field is named "Location" and its description says the
location is picked from the integration's entries, in Home Assistant's words for them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

INTEGRATION = Path(__file__).parent.parent / "custom_components" / "flatpeak"
SERVICES: dict[str, Any] = yaml.safe_load((INTEGRATION / "services.yaml").read_text("utf-8"))
LANGUAGES = ("en", "de", "nl", "fr", "es", "it")
LOCATION = {
    "en": "Location",
    "de": "Standort",
    "nl": "Locatie",
    "fr": "Site",
    "es": "Ubicación",
    "it": "Posizione",
}
# The frontend's name for config entries (ui.panel.config.integrations.integration_page.entries).
INTEGRATION_ENTRIES = {
    "en": "integration entries",
    "de": "integrationseinträge",
    "nl": "integratie-items",
    "fr": "entrées de l'intégration",
    "es": "entradas de integración",
    "it": "voci di integrazione",
}


def texts(language: str) -> dict[str, Any]:
    services: dict[str, Any] = json.loads(
        (INTEGRATION / "translations" / f"{language}.json").read_text("utf-8")
    )["services"]
    return services


def fields_with(selector: str) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (service, name, field)
        for service, spec in SERVICES.items()
        for name, field in (spec.get("fields") or {}).items()
        if selector in (field.get("selector") or {})
    ]


def test_which_actions_ask_for_a_location_and_which_for_a_device() -> None:
    assert {service for service, _, _ in fields_with("config_entry")} == {
        "upload_history",
        "get_cost_report",
        "get_prices",
        "simulate_cost",
        "find_cheapest_window",
    }
    assert {service for service, _, _ in fields_with("device")} == {
        "get_cost_report",
        "start_charging_session",
        "end_charging_session",
    }


@pytest.mark.parametrize("language", LANGUAGES)
def test_location_fields_read_location_and_say_where_to_pick_it(language: str) -> None:
    for service, name, field in fields_with("config_entry"):
        assert name == "config_entry_id"
        assert field["selector"]["config_entry"] == {"integration": "flatpeak"}
        shown = texts(language)[service]["fields"][name]
        assert shown["name"] == LOCATION[language], (service, language)
        assert INTEGRATION_ENTRIES[language] in shown["description"].lower(), (service, language)


@pytest.mark.parametrize("selector", ["config_entry", "device"])
def test_services_yaml_names_and_describes_the_fields_as_en_json_does(selector: str) -> None:
    """The texts HA falls back to when a translation cannot be loaded."""
    english = texts("en")
    for service, name, field in fields_with(selector):
        assert field.get("name") == english[service]["fields"][name]["name"], service
        assert field.get("description") == english[service]["fields"][name]["description"]


@pytest.mark.parametrize("language", LANGUAGES)
def test_device_fields_are_labelled(language: str) -> None:
    for service, name, _ in fields_with("device"):
        shown = texts(language)[service]["fields"][name]
        assert shown["name"].strip(), (service, language)
        assert shown["name"] != name
        assert shown["description"].strip(), (service, language)
