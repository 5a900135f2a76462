"""Every error and abort the flows can return has its text, in the flow it happens in.

The flow modules are read with ``ast``: what each flow class (with its base classes and the
module-level helpers it calls, transitively) can put into a form's ``errors`` or an abort's
``reason``, plus the reasons Home Assistant itself returns for calls the flows make. Each key
must have a string under that flow's ``error`` / ``abort`` in en.json, and every string there
must be one the code can return.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

INTEGRATION = Path(__file__).parent.parent / "custom_components" / "flatpeak"
FLOW_MODULES = (
    "flows/entry",
    "flows/options",
    "flows/credentials",
    "flows/subentries",
    "flows/connect",
    "flows/forms",
    "flows/tariff_connect",
    "flows/cheap_window",
    "repairs",
)
# Where each flow class's texts live in en.json.
SECTIONS: dict[str, tuple[str, ...]] = {
    "FlatpeakConfigFlow": ("config",),
    "FlatpeakOptionsFlow": ("options",),
    "HouseMeterSubentryFlow": ("config_subentries", "house_meter"),
    "EvChargerSubentryFlow": ("config_subentries", "ev_charger"),
}
# Reasons Home Assistant returns itself when a flow calls these.
IMPLICIT_ABORTS = {
    "async_set_unique_id": "already_in_progress",
    "_abort_if_unique_id_configured": "already_configured",
    "async_update_and_abort": "reconfigure_successful",
}
ERROR_PARAMETERS = {"refused", "not_found"}
COMMON_REFERENCE = "[%key:common::"


@dataclass
class Node:
    """A flow class (methods folded in) or a module-level function."""

    errors: set[str] = field(default_factory=set)
    aborts: set[str] = field(default_factory=set)
    steps: set[str] = field(default_factory=set)
    calls: set[str] = field(default_factory=set)
    bases: list[str] = field(default_factory=list)
    is_subentry_flow: bool = False


# Module-level string constants of the flow modules (``CONNECT_STEP = "connect"``).
CONSTANTS: dict[str, str] = {}


def _literals(node: ast.expr | None) -> Iterator[str]:
    """String constants an expression can evaluate to (``"a"``, ``"a" if x else "b"``, names
    of module-level string constants)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node.value
    elif isinstance(node, ast.Name) and node.id in CONSTANTS:
        yield CONSTANTS[node.id]
    elif isinstance(node, ast.IfExp):
        yield from _literals(node.body)
        yield from _literals(node.orelse)


def _called_name(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def _parameters(tree: ast.Module) -> dict[str, list[str]]:
    """Positional parameter names of every function and method, by name."""
    found: dict[str, list[str]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            found[node.name] = [a.arg for a in node.args.posonlyargs + node.args.args]
    return found


def _scan(body: ast.AST, node: Node, parameters: dict[str, list[str]], name: str) -> None:
    for item in ast.walk(body):
        if isinstance(item, ast.Assign):
            for target in item.targets:
                if (
                    isinstance(target, ast.Subscript)
                    and isinstance(target.value, ast.Name)
                    and target.value.id == "errors"
                ):
                    node.errors.update(_literals(item.value))
        elif isinstance(item, ast.Return) and name.endswith("_error"):
            node.errors.update(_literals(item.value))
        elif isinstance(item, ast.Call):
            _scan_call(item, node, parameters)


def _scan_call(call: ast.Call, node: Node, parameters: dict[str, list[str]]) -> None:
    called = _called_name(call)
    if called is None:
        return
    node.calls.add(called)
    if called in IMPLICIT_ABORTS:
        node.aborts.add(IMPLICIT_ABORTS[called])
    if (
        called == "async_create_entry"
        and node.is_subentry_flow
        and any(k.arg == "unique_id" for k in call.keywords)
    ):
        node.aborts.add("already_configured")  # HA refuses a second subentry with that id
    named = {k.arg: k.value for k in call.keywords if k.arg}
    params = parameters.get(called, [])
    offset = 1 if params[:1] == ["self"] else 0
    for index, argument in enumerate(call.args):
        if index + offset < len(params):
            named.setdefault(params[index + offset], argument)
    for key, value in named.items():
        if key == "reason":
            node.aborts.update(_literals(value))
        elif key in ERROR_PARAMETERS:
            node.errors.update(_literals(value))
        elif key == "step_id" and called in {
            "async_show_form",
            "async_external_step",
            "async_show_progress",
        }:
            node.steps.update(_literals(value))
        elif key == "errors" and isinstance(value, ast.Dict):
            for entry in value.values:
                node.errors.update(_literals(entry))


def _nodes() -> dict[str, Node]:
    trees = {
        module: ast.parse((INTEGRATION / f"{module}.py").read_text()) for module in FLOW_MODULES
    }
    parameters: dict[str, list[str]] = {}
    for tree in trees.values():
        parameters |= _parameters(tree)
        for top in tree.body:
            if (
                isinstance(top, ast.Assign)
                and isinstance(top.value, ast.Constant)
                and isinstance(top.value.value, str)
            ):
                names = [t.id for t in top.targets if isinstance(t, ast.Name)]
                CONSTANTS.update(dict.fromkeys(names, top.value.value))
    nodes: dict[str, Node] = {}
    for tree in trees.values():
        for top in tree.body:
            if isinstance(top, ast.FunctionDef | ast.AsyncFunctionDef):
                nodes[top.name] = node = Node()
                _scan(top, node, parameters, top.name)
            elif isinstance(top, ast.ClassDef):
                bases = [b.id if isinstance(b, ast.Name) else ast.unparse(b) for b in top.bases]
                nodes[top.name] = node = Node(bases=bases)
                node.is_subentry_flow = any("Subentry" in b for b in bases)
                for method in top.body:
                    if isinstance(method, ast.FunctionDef | ast.AsyncFunctionDef):
                        _scan(method, node, parameters, method.name)
    return nodes


def _reachable(nodes: dict[str, Node], start: str) -> Node:
    """Everything a flow class can return: its own, its bases', and its helpers' keys."""
    total = Node()
    seen: set[str] = set()
    todo = [start]
    while todo:
        name = todo.pop()
        if name in seen or name not in nodes:
            continue
        seen.add(name)
        node = nodes[name]
        total.errors |= node.errors
        total.aborts |= node.aborts
        total.steps |= node.steps
        todo.extend(node.bases)  # a base class's steps are the subclass's steps
        # helpers only: naming another flow class (options flow, subentry types) is no call
        todo.extend(call for call in node.calls if call in nodes and not _is_class(call))
    return total


def _is_class(name: str) -> bool:
    return name[:1].isupper()


def _section(path: tuple[str, ...]) -> dict[str, Any]:
    strings: dict[str, Any] = json.loads((INTEGRATION / "translations" / "en.json").read_text())
    for key in path:
        strings = strings[key]
    return strings


def _has_text(section: dict[str, Any], kind: str, key: str) -> bool:
    text = section.get(kind, {}).get(key)
    return isinstance(text, str) and bool(text.strip())


def test_scanner_finds_what_the_flows_return() -> None:
    """The scan itself works: known keys of each flow are found."""
    nodes = _nodes()
    config = _reachable(nodes, "FlatpeakConfigFlow")
    assert {"invalid_auth", "unknown", "invalid_base_url", "blank", "already_configured"} <= (
        config.errors
    )
    assert {"already_in_progress", "reauth_successful", "connect_failed"} <= config.aborts
    assert {"user", "location", "house_meter", "reauth_confirm", "connect"} <= config.steps
    meter = _reachable(nodes, "HouseMeterSubentryFlow")
    assert {"unknown", "account_disabled", "sensor_in_use", "entry_not_loaded"} <= meter.errors
    assert {"entry_not_loaded", "reconfigure_successful", "already_configured"} <= meter.aborts
    charger = _reachable(nodes, "EvChargerSubentryFlow")
    assert {"unknown", "account_disabled", "no_session_states", "blank"} <= charger.errors
    assert "same_sensor" not in charger.errors  # only the house meter has several sensors


@pytest.mark.parametrize("flow", sorted(SECTIONS))
def test_every_error_and_abort_has_text(flow: str) -> None:
    """Each key a flow can return is under that flow's ``error`` / ``abort`` in en.json."""
    found = _reachable(_nodes(), flow)
    section = _section(SECTIONS[flow])
    missing = sorted(
        [f"error.{key}" for key in found.errors if not _has_text(section, "error", key)]
        + [f"abort.{key}" for key in found.aborts if not _has_text(section, "abort", key)]
        + [f"step.{key}" for key in found.steps if key not in section.get("step", {})]
    )
    assert missing == [], f"{'.'.join(SECTIONS[flow])} lacks {missing}"


@pytest.mark.parametrize("flow", sorted(SECTIONS))
def test_no_text_for_keys_nothing_returns(flow: str) -> None:
    """A stale string means a key was renamed in the code without its text."""
    found = _reachable(_nodes(), flow)
    section = _section(SECTIONS[flow])
    stale = sorted(
        [f"error.{key}" for key in section.get("error", {}) if key not in found.errors]
        + [f"abort.{key}" for key in section.get("abort", {}) if key not in found.aborts]
    )
    assert stale == [], f"{'.'.join(SECTIONS[flow])} has texts nothing returns: {stale}"


def test_texts_are_plain_and_resolved() -> None:
    """Custom integrations get no ``[%key:…%]`` resolution: flow texts are written out."""
    for path in (("config",), ("config_subentries",), ("options",), ("selector",)):
        text = json.dumps(_section(path))
        assert "[%key:" not in text, path
    flows = json.dumps([_section(("config",)), _section(("config_subentries",))])
    for jargon in ("two streams", "keep days", "The charger is changed", "is changed."):
        assert jargon not in flows
    assert "keep days" not in json.dumps(_section(("options",)))


def test_existing_house_meter_step_has_its_texts() -> None:
    """The 'Add house meter' step shown when there is one (its step id is not a literal)."""
    step = _section(("config_subentries", "house_meter", "step", "existing"))
    assert step["title"]
    assert set(step["data"]) == {"grid_import", "grid_export", "solar", "submission_mode"}


def test_upload_history_location_field_is_named() -> None:
    """The action's entry field reads 'Location', in services.yaml and in en.json."""
    services = yaml.safe_load((INTEGRATION / "services.yaml").read_text())
    entry_field = services["upload_history"]["fields"]["config_entry_id"]
    assert entry_field["name"] == "Location"
    assert "location" in entry_field["description"].lower()
    translated = _section(("services", "upload_history", "fields", "config_entry_id"))
    assert translated["name"] == "Location"
    assert "location" in translated["description"].lower()
