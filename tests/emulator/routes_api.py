"""The emulated Flatpeak REST API: login, devices, locations, tariffs, meters, costs, prices,
schedules."""

from __future__ import annotations

from datetime import timedelta
from typing import cast

from aiohttp import BasicAuth, web

from .common import (
    authenticate,
    check_version,
    get_enum,
    get_str,
    get_time,
    paginate,
    query_flag,
    read_json,
    read_object,
    state_of,
)
from .costs import energy_cost, instant_cost, prices
from .engine import Aggregation, ScheduleError
from .errors import ApiError, invalid, missing, not_found
from .meters import RecordError, parse_record, submit_cumulative, submit_interval
from .models import COUNTRIES, DEVICE_TYPES, DIRECTIONS, ELEMENT_TYPES, Device, Location
from .schedules import schedule
from .state import ConflictError

_TICK = timedelta(microseconds=1)

# --- login --------------------------------------------------------------------------------


async def login(request: web.Request) -> web.Response:
    """GET /login with HTTP Basic account_id:api_key -> bearer token."""
    state = state_of(request)
    try:
        credentials = BasicAuth.decode(request.headers.get("Authorization", ""))
    except ValueError:
        raise ApiError(401, "unauthorized", "Missing basic credentials", plain=True) from None
    account = state.check_credentials(credentials.login, credentials.password)
    if account is None:
        raise ApiError(403, "forbidden", "Bad credentials", plain=True)
    if account.disabled:
        raise ApiError(422, "account_disabled", "This account is disabled")
    check_version(request, account)
    session = state.issue_token(account)
    return web.json_response(
        {
            "bearer_token": session.token,
            "expires_in": int(state.token_lifetime),
            "live_mode": False,
        }
    )


# --- devices ------------------------------------------------------------------------------


def _device(request: web.Request, account_id: str) -> Device:
    device_id = request.match_info["id"]
    device = state_of(request).devices.get(device_id)
    if device is None or device.account_id != account_id:
        raise not_found("device", device_id)
    return device


def _location_ids(request: web.Request, account_id: str, value: object) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise invalid("locations", "must be a list of location ids")
    state = state_of(request)
    for location_id in value:
        location = state.locations.get(location_id)
        if location is None or location.account_id != account_id:
            raise not_found("location", location_id)
    return list(value)


async def device_create(request: web.Request) -> web.Response:
    """POST /devices."""
    account = authenticate(request)
    body = await read_object(request)
    reference_id = cast(str, get_str(body, "reference_id", required=True))
    device_type = get_enum(body, "type", DEVICE_TYPES, None)
    locations = _location_ids(request, account.account_id, body.get("locations", []))
    device = state_of(request).add_device(account.account_id, reference_id, device_type, locations)
    return web.json_response(device.to_json(), status=201)


async def device_list(request: web.Request) -> web.Response:
    """GET /devices (newest first, optional reference_id filter)."""
    account = authenticate(request)
    reference_id = request.query.get("reference_id")
    devices = sorted(
        (
            d
            for d in state_of(request).devices.values()
            if d.account_id == account.account_id and reference_id in (None, d.reference_id)
        ),
        key=lambda d: d.seq,
        reverse=True,
    )
    return web.json_response(
        paginate(request, devices, url="/devices", item_id=lambda d: d.id, to_json=Device.to_json)
    )


async def device_get(request: web.Request) -> web.Response:
    """GET /devices/{id}."""
    account = authenticate(request)
    return web.json_response(_device(request, account.account_id).to_json())


async def device_update(request: web.Request) -> web.Response:
    """PATCH /devices/{id}: reference_id, type, locations."""
    account = authenticate(request)
    device = _device(request, account.account_id)
    body = await read_object(request)
    reference_id = get_str(body, "reference_id")
    device_type = get_enum(body, "type", DEVICE_TYPES, None)
    if "locations" in body:
        device.locations = _location_ids(request, account.account_id, body["locations"])
    if reference_id is not None:
        device.reference_id = reference_id
    if device_type is not None:
        device.type = device_type
    return web.json_response(device.to_json())


async def device_delete(request: web.Request) -> web.Response:
    """DELETE /devices/{id} -> 202 (its meter records stay)."""
    account = authenticate(request)
    device = _device(request, account.account_id)
    del state_of(request).devices[device.id]
    return web.json_response({"message": "Accepted"}, status=202)


# --- locations ----------------------------------------------------------------------------


def _location(request: web.Request, account_id: str, location_id: str) -> Location:
    location = state_of(request).locations.get(location_id)
    if location is None or location.account_id != account_id:
        raise not_found("location", location_id)
    return location


async def location_create(request: web.Request) -> web.Response:
    """POST /locations: timezone and currency follow postal_address.country_code."""
    account = authenticate(request)
    state = state_of(request)
    body = await read_object(request)
    address = body.get("postal_address")
    if address is None:
        raise missing("postal_address")
    if not isinstance(address, dict):
        raise invalid("postal_address", "must be an object")
    fields: dict[str, str | None] = {}
    for name in ("address_line1", "address_line2", "city", "state", "post_code"):
        value = address.get(name)
        if value is not None and not isinstance(value, str):
            raise invalid(f"postal_address.{name}", "must be a string")
        fields[name] = value
    country = get_str(address, "country_code")
    if country is None:
        raise missing("postal_address.country_code")
    if country.upper() not in COUNTRIES:
        raise invalid("postal_address.country_code", f"'{country}' is not a supported country")
    try:
        location = state.add_location(
            account.account_id,
            country,
            fields["address_line1"] or "",
            fields["city"] or "",
            fields["post_code"] or "",
            reference_id=get_str(body, "reference_id"),
            address_line2=fields["address_line2"],
            state=fields["state"],
            customer_id=get_str(body, "customer_id"),
        )
    except ConflictError as err:
        raise ApiError(409, "resource_already_exists", str(err)) from None
    return web.json_response(state.location_json(location), status=201)


async def location_list(request: web.Request) -> web.Response:
    """GET /locations (newest first, optional reference_id filter)."""
    account = authenticate(request)
    state = state_of(request)
    reference_id = request.query.get("reference_id")
    locations = sorted(
        (
            loc
            for loc in state.locations.values()
            if loc.account_id == account.account_id and reference_id in (None, loc.reference_id)
        ),
        key=lambda loc: loc.seq,
        reverse=True,
    )
    return web.json_response(
        paginate(
            request,
            locations,
            url="/locations",
            item_id=lambda loc: loc.id,
            to_json=state.location_json,
        )
    )


async def location_get(request: web.Request) -> web.Response:
    """GET /locations/{id}."""
    account = authenticate(request)
    location = _location(request, account.account_id, request.match_info["id"])
    return web.json_response(state_of(request).location_json(location))


# --- tariff elements ----------------------------------------------------------------------


async def tariff_create(request: web.Request) -> web.Response:
    """POST /tariffs/elements."""
    account = authenticate(request)
    state = state_of(request)
    body = await read_object(request)
    location_id = cast(str, get_str(body, "location_id", required=True))
    location = _location(request, account.account_id, location_id)
    if body.get("direction") is None:
        raise missing("direction")
    direction = cast(str, get_enum(body, "direction", DIRECTIONS, None))
    element_type = cast(str, get_enum(body, "type", ELEMENT_TYPES, "COMMODITY"))
    if body.get("schedule") is None:
        raise missing("schedule")
    try:
        element = state.add_tariff_element(
            location.id,
            direction,
            body["schedule"],
            element_type,
            display_name=get_str(body, "display_name"),
            provider_id=get_str(body, "provider_id"),
            contract_start_date=get_str(body, "contract_start_date"),
            contract_end_date=get_str(body, "contract_end_date"),
        )
    except ScheduleError as err:
        raise ApiError(400, "invalid_schedule", str(err)) from None
    return web.json_response(element.to_json(location.timezone), status=201)


async def tariff_list(request: web.Request) -> web.Response:
    """GET /tariffs/elements[?location_id=]."""
    account = authenticate(request)
    state = state_of(request)
    location_id = request.query.get("location_id")
    elements = sorted(
        (
            e
            for e in state.elements.values()
            if e.account_id == account.account_id and location_id in (None, e.location_id)
        ),
        key=lambda e: e.seq,
        reverse=True,
    )
    return web.json_response(
        paginate(
            request,
            elements,
            url="/tariffs/elements",
            item_id=lambda e: e.id,
            to_json=lambda e: e.to_json(state.locations[e.location_id].timezone),
        )
    )


def _element_id(request: web.Request, account_id: str) -> str:
    element_id = request.match_info["id"]
    element = state_of(request).elements.get(element_id)
    if element is None or element.account_id != account_id:
        raise not_found("tariff element", element_id)
    return element_id


async def tariff_get(request: web.Request) -> web.Response:
    """GET /tariffs/elements/{id}."""
    account = authenticate(request)
    state = state_of(request)
    element = state.elements[_element_id(request, account.account_id)]
    return web.json_response(element.to_json(state.locations[element.location_id].timezone))


async def tariff_delete(request: web.Request) -> web.Response:
    """DELETE /tariffs/elements/{id} -> 202 (lets a test disconnect a tariff)."""
    account = authenticate(request)
    del state_of(request).elements[_element_id(request, account.account_id)]
    return web.json_response({"message": "Accepted"}, status=202)


# --- meters -------------------------------------------------------------------------------


async def meters_interval(request: web.Request) -> web.Response:
    """PUT /meters/interval."""
    account = authenticate(request)
    # A non_persistent query parameter is ignored: it is not documented for this endpoint.
    batch = submit_interval(state_of(request), account.account_id, await read_json(request))
    return web.json_response(batch)


async def meters_cumulative(request: web.Request) -> web.Response:
    """PUT /meters/cumulative/epoch."""
    account = authenticate(request)
    # As for intervals, a non_persistent query parameter is ignored.
    batch = submit_cumulative(state_of(request), account.account_id, await read_json(request))
    return web.json_response(batch)


async def meters_batch(request: web.Request) -> web.Response:
    """GET /meters/batch?batch_id=."""
    account = authenticate(request)
    batch_id = request.query.get("batch_id")
    if not batch_id:
        raise missing("batch_id")
    batch = state_of(request).batches.get(batch_id)
    if batch is None or batch["account_id"] != account.account_id:
        raise not_found("meter batch", batch_id)
    return web.json_response(batch)


# --- costs and prices ---------------------------------------------------------------------


def _report_query(request: web.Request) -> tuple[str, Aggregation | None]:
    direction = cast(str, get_enum(request.query, "tariff_direction", DIRECTIONS, "IMPORT"))
    aggregation = get_enum(request.query, "aggregation", ("DAY", "MONTH"), None)
    return direction, cast(Aggregation | None, aggregation)


async def costs_interval(request: web.Request) -> web.Response:
    """POST /costs/interval/{loc_or_dev_id}."""
    account = authenticate(request)
    state = state_of(request)
    object_id = request.match_info["id"]
    direction, aggregation = _report_query(request)
    body = await read_object(request)
    start = get_time(body, "start_time")
    end = get_time(body, "end_time")
    assert start is not None  # required=True
    assert end is not None
    if end <= start:
        raise invalid("end_time", "must be after start_time")
    if object_id.startswith("dev_"):
        device = _device(request, account.account_id)
        records = state.record_objects(account.account_id, device_id=device.id)
        location_ids = [*device.locations, *(r.location_id for r in reversed(records))]
        known = [loc for loc in location_ids if loc in state.locations]
        if not known:
            raise ApiError(
                422, "no_location", f"Device '{device.id}' has no location to price it at"
            )
        location = state.locations[known[0]]
    else:
        location = _location(request, account.account_id, object_id)
        records = state.record_objects(account.account_id, location_id=location.id)
    return web.json_response(
        energy_cost(
            state,
            account_id=account.account_id,
            object_id=object_id,
            location=location,
            records=records,
            direction=direction,
            start=start,
            end=end,
            aggregation=aggregation,
        )
    )


async def costs_session(request: web.Request) -> web.Response:
    """POST /costs/session/{session_reference_id}: every record of that session."""
    account = authenticate(request)
    state = state_of(request)
    session_id = request.match_info["id"]
    direction, aggregation = _report_query(request)
    body = await read_object(request, required=False)
    records = [
        r for r in state.record_objects(account.account_id) if r.session_reference_id == session_id
    ]
    # A session none of whose records is in cost reports yet is unknown to them.
    if not any(state.is_costed(r) for r in records) and not (records and state.report_lag_unpriced):
        raise not_found("session", session_id)
    start = get_time(body, "start_time", required=False) or min(r.start for r in records)
    # Default window: the whole session; the extra microsecond keeps an instant record
    # (start == end) at the very end inside the half-open window.
    latest = max(*(r.end for r in records), max(r.start for r in records) + _TICK)
    end = get_time(body, "end_time", required=False) or latest
    if end <= start:
        raise invalid("end_time", "must be after start_time")
    return web.json_response(
        energy_cost(
            state,
            account_id=account.account_id,
            object_id=session_id,
            location=state.locations[records[0].location_id],
            records=records,
            direction=direction,
            start=start,
            end=end,
            aggregation=aggregation,
        )
    )


async def costs_instant(request: web.Request) -> web.Response:
    """POST /costs/instant: price one record at once (and store it unless non_persistent)."""
    account = authenticate(request)
    state = state_of(request)
    body = await read_object(request)
    try:
        record = parse_record(state, account.account_id, body, None)
    except RecordError as err:
        raise err.to_api_error(body.get(err.field) if err.field else None) from None
    result = instant_cost(state, record)
    if not (query_flag(request, "non_persistent") or body.get("non_persistent") is True):
        state.store_record(record)
        result["id"] = record.id
    return web.json_response(result)


async def price_list(request: web.Request) -> web.Response:
    """POST /prices/{location_id}."""
    account = authenticate(request)
    state = state_of(request)
    location = _location(request, account.account_id, request.match_info["id"])
    body = await read_object(request, required=False)
    start = get_time(body, "start_time", required=False) or state.now()
    end = get_time(body, "end_time")
    assert end is not None  # required=True
    direction = get_enum(body, "tariff_direction", DIRECTIONS, None)
    direction = direction or get_enum(request.query, "tariff_direction", DIRECTIONS, "IMPORT")
    return web.json_response(prices(state, location, cast(str, direction), start, end))


async def schedule_duration(request: web.Request) -> web.Response:
    """POST /schedules/duration/{location_id}: slots totalling ``duration`` minutes."""
    account = authenticate(request)
    location = _location(request, account.account_id, request.match_info["id"])
    body = await read_object(request)
    answer = schedule(state_of(request), location, account.account_id, body, kind="duration")
    return web.json_response(answer)


async def schedule_limit(request: web.Request) -> web.Response:
    """POST /schedules/limit/{location_id}: every minute at or beyond a price limit."""
    account = authenticate(request)
    location = _location(request, account.account_id, request.match_info["id"])
    body = await read_object(request)
    answer = schedule(state_of(request), location, account.account_id, body, kind="limit")
    return web.json_response(answer)


def add_routes(app: web.Application) -> None:
    """Register the API routes; route names become the error ``context`` (api.<name>)."""
    router = app.router
    router.add_get("/login", login, name="login")
    router.add_post("/devices", device_create, name="device_create")
    router.add_get("/devices", device_list, name="device_list")
    router.add_get("/devices/{id}", device_get, name="device_get")
    router.add_patch("/devices/{id}", device_update, name="device_update")
    router.add_delete("/devices/{id}", device_delete, name="device_delete")
    router.add_post("/locations", location_create, name="location_create")
    router.add_get("/locations", location_list, name="location_list")
    router.add_get("/locations/{id}", location_get, name="location_get")
    router.add_post("/tariffs/elements", tariff_create, name="tariff_element_create")
    router.add_get("/tariffs/elements", tariff_list, name="tariff_element_list")
    router.add_get("/tariffs/elements/{id}", tariff_get, name="tariff_element_get")
    router.add_delete("/tariffs/elements/{id}", tariff_delete, name="tariff_element_delete")
    router.add_put("/meters/interval", meters_interval, name="meter_interval")
    router.add_put("/meters/cumulative/epoch", meters_cumulative, name="meter_cumulative")
    router.add_get("/meters/batch", meters_batch, name="meter_batch")
    router.add_post("/costs/interval/{id}", costs_interval, name="cost_interval")
    router.add_post("/costs/session/{id}", costs_session, name="cost_session")
    router.add_post("/costs/instant", costs_instant, name="cost_instant")
    router.add_post("/prices/{id}", price_list, name="price")
    router.add_post("/schedules/duration/{id}", schedule_duration, name="schedule_duration")
    router.add_post("/schedules/limit/{id}", schedule_limit, name="schedule_limit")
