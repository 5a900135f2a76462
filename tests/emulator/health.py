"""Tariff health: ``GET /locations/{id}/status``, ``GET /events`` and the control endpoint
that raises an event, with what each event changes at the location.

Emulator decisions where Flatpeak's docs are silent (API.md, "Endpoints for tariff-aware
features"): a NOT_CONNECTED part is ``{"status": "NOT_CONNECTED"}`` only; ``tariff.expired``
and ``tariff.fetch.failed`` turn the part's status to ERROR until Connect replaces its tariff;
``tariff.expiring`` moves its contract end 8 days ahead; ``tariff.connection.upgrade`` makes
its connection MANUAL; ``object_id`` matches ``data.id`` or ``data.location_id``; events older
than 90 days are not listed.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aiohttp import web

from .common import authenticate, paginate, read_object, state_of
from .engine import format_rfc3339
from .errors import invalid, not_found
from .models import Event, TariffElement

EVENT_TYPES = (
    "tariff.expiring",
    "tariff.expired",
    "tariff.fetch.failed",
    "tariff.connection.upgrade",
    "location.update",
    "connect_session.complete",
)
HISTORY = timedelta(days=90)
# status part → (direction, element type)
PARTS = {
    "commodity_import": ("IMPORT", "COMMODITY"),
    "commodity_export": ("EXPORT", "COMMODITY"),
    "non_commodity_import": ("IMPORT", "NON_COMMODITY"),
}
PROVIDER = {"id": "prv_demo0000000000000000000", "display_name": "Demo Energy"}


def _part(element: TariffElement | None) -> dict[str, Any]:
    if element is None:
        return {"status": "NOT_CONNECTED"}
    tariff: dict[str, Any] = {
        "id": element.id,
        "display_name": element.display_name or "",
        "structure_type": element.structure_type,
    }
    if element.contract_end_date:
        tariff["contract_end_date"] = element.contract_end_date
    body: dict[str, Any] = {
        "status": element.health,
        # Connect's own elements were linked directly (the emulator stores "CONNECT").
        "connection_type": "DIRECT" if element.connection_type == "CONNECT" else "MANUAL",
        "tariff": tariff,
    }
    if element.provider_id or element.connection_type == "CONNECT":
        body["provider"] = dict(PROVIDER)
    return body


def element_of(state: Any, location_id: str, part: str) -> TariffElement | None:
    """The newest element of one status part."""
    direction, kind = PARTS[part]
    found = [e for e in state.elements_for(location_id, direction) if e.type == kind]
    return max(found, key=lambda e: e.seq) if found else None


def status_json(state: Any, location_id: str) -> dict[str, Any]:
    """``GET /locations/{id}/status``'s body."""
    location = state.locations[location_id]
    parts = {part: _part(element_of(state, location_id, part)) for part in PARTS}
    return {
        "id": location_id,
        "object": "location_status",
        "live_mode": False,
        "time_created": format_rfc3339(location.time_created),
        "account_id": location.account_id,
        "tariff_status": {
            **parts,
            "non_commodity_export": {"status": "NOT_SUPPORTED"},
            "local": {"status": "NOT_SUPPORTED"},
        },
    }


def raise_event(state: Any, type: str, location_id: str, part: str = "commodity_import") -> Event:
    """Raise ``type`` for a location, changing what it says of the location first."""
    location = state.locations[location_id]
    element = element_of(state, location_id, part)
    if type.startswith("tariff.") and element is None:
        raise ValueError(f"the location has no {part} tariff")
    now = state.now()
    if element is not None:
        if type == "tariff.expiring":
            element.contract_end_date = format_rfc3339(now + timedelta(days=8))
        elif type == "tariff.expired":
            element.contract_end_date = format_rfc3339(now)
            element.health = "ERROR"
        elif type == "tariff.fetch.failed":
            element.health = "ERROR"
        elif type == "tariff.connection.upgrade":
            element.connection_type = "MANUAL"
    if type == "location.update":
        data: dict[str, Any] = state.location_json(location)
    else:
        data = {"live_mode": False, "location_id": location_id, "account_id": location.account_id}
        if type.startswith("tariff.") and element is not None:
            data["tariff_id"] = element.id
    return state.add_event(location.account_id, type, data)


async def location_status(request: web.Request) -> web.Response:
    """GET /locations/{id}/status."""
    account = authenticate(request)
    state = state_of(request)
    location = state.locations.get(request.match_info["id"])
    if location is None or location.account_id != account.account_id:
        raise not_found("location", request.match_info["id"])
    return web.json_response(status_json(state, location.id))


def _listed(state: Any, account_id: str, request: web.Request) -> list[Event]:
    oldest = state.now() - HISTORY
    event_type = request.query.get("event_type")
    if event_type is not None and event_type not in EVENT_TYPES:
        raise invalid("event_type", f"must be one of {', '.join(EVENT_TYPES)}")
    object_id = request.query.get("object_id")
    return sorted(
        (
            e
            for e in state.events
            if e.account_id == account_id
            and e.time_created >= oldest
            and event_type in (None, e.type)
            and object_id in (None, e.data.get("id"), e.data.get("location_id"))
        ),
        key=lambda e: e.seq,
        reverse=True,
    )


async def event_list(request: web.Request) -> web.Response:
    """GET /events (newest first; limit, starting_after, ending_before, event_type,
    object_id)."""
    account = authenticate(request)
    state = state_of(request)
    events = _listed(state, account.account_id, request)
    return web.json_response(
        paginate(request, events, url="/events", item_id=lambda e: e.id, to_json=Event.to_json)
    )


async def event_get(request: web.Request) -> web.Response:
    """GET /events/{id}."""
    account = authenticate(request)
    state = state_of(request)
    event_id = request.match_info["id"]
    for event in state.events:
        if event.id == event_id and event.account_id == account.account_id:
            return web.json_response(event.to_json())
    raise not_found("event", event_id)


async def event_raise(request: web.Request) -> web.Response:
    """POST /_emulator/events {"type", "location_id", "part"?}: raise one event."""
    state = state_of(request)
    body = await read_object(request)
    kind, location_id = body.get("type"), body.get("location_id")
    part = body.get("part", "commodity_import")
    if kind not in EVENT_TYPES or location_id not in state.locations or part not in PARTS:
        return web.json_response(
            {"error": f"type one of {EVENT_TYPES}, a known location_id, part one of {list(PARTS)}"},
            status=400,
        )
    try:
        event = raise_event(state, kind, location_id, part)
    except ValueError as err:
        return web.json_response({"error": str(err)}, status=400)
    return web.json_response(event.to_json(), status=201)


def add_routes(app: web.Application) -> None:
    """Register the tariff health routes."""
    router = app.router
    router.add_get("/locations/{id}/status", location_status, name="location_status")
    router.add_get("/events", event_list, name="event_list")
    router.add_get("/events/{id}", event_get, name="event_get")
    router.add_post("/_emulator/events", event_raise, name="emulator_event_raise")
