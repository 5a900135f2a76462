"""Async client of the Flatpeak API (https://api.flatpeak.com).

Knows HTTP and Flatpeak's JSON, nothing of Home Assistant. The caller injects the
``aiohttp.ClientSession``; the client owns only its token. One module over 400 lines: one
method per endpoint beside the transport they share (token, retries, payloads).
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
import functools
import itertools
import json
import logging
import math
import time
from typing import Any
from urllib.parse import quote

import aiohttp
from aiohttp.abc import AbstractStreamWriter
from aiohttp.payload import Payload
from yarl import URL

from .answers import RETRY_AFTER_MIN_SECONDS, parse_answer, redact
from .encoding import EncodedRecords, encode_meter_records
from .exceptions import (
    FlatpeakAuthenticationError,
    FlatpeakConnectionError,
    FlatpeakRateLimitError,
    FlatpeakResponseFormatError,
    FlatpeakTimeoutError,
    FlatpeakVersionNotSupportedError,
)
from .health import Event, LocationStatus
from .models import (
    Aggregation,
    ConnectResult,
    ConnectToken,
    CostRow,
    CumulativeReading,
    Device,
    DeviceType,
    EnergyCost,
    EnergyFlowDirection,
    EnergyUnits,
    FailedRecord,
    InstantCost,
    ListPage,
    Location,
    MeterBatch,
    MeterRecord,
    Prices,
    Schedule,
    ScheduleSegment,
    TariffDirection,
    TariffStatus,
    Token,
    format_time,
)
from .rate_limit import RateLimit

_LOGGER = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.flatpeak.com"
DEFAULT_CONNECT_URL = "https://connect.flatpeak.com"
API_VERSION = "2025-09-14.anode"
MAX_RECORDS_PER_CALL = 10_000
# Serialising this many records takes long enough to be worth a worker thread.
_OFFLOAD_JSON_ABOVE = 1_000
# Answers this long (a month of cost rows is ~200 kB hourly, ~2 MB at 5 minutes) are
# decoded and turned into models in a worker thread: on the loop that takes 10-100 ms.
_OFFLOAD_ANSWER_ABOVE = 64 * 1024
# Renew the token this long before Flatpeak says it expires (capped at half its lifetime).
_TOKEN_MARGIN_SECONDS = 120.0
# Log in at least daily, whatever lifetime Flatpeak states (a huge one must not overflow).
_MAX_TOKEN_LIFETIME_SECONDS = 86_400
_LIST_PAGE_SIZE = 100
# The longest window a schedule may search (API.md: 3 days).
MAX_SCHEDULE_WINDOW = timedelta(days=3)
_SCHEDULE_DIRECTIONS = (TariffDirection.IMPORT, TariffDirection.EXPORT)


class FlatpeakClient:
    """A Flatpeak API client for one account.

    Every method makes the requests its docstring states plus, when the cached token is
    missing or about to expire, one ``GET /login``. A 401/403 on a call triggers one fresh
    login and one retry before :class:`FlatpeakAuthenticationError` is raised.

    After a 429 on any call, no request at all (logins included) is sent until its
    ``Retry-After`` has passed (30 s when it has none): each call before then raises
    :class:`FlatpeakRateLimitError` at once, its ``retry_after`` the seconds left. Clients
    given the same ``rate_limit`` keep that wait together (one account, several clients).
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        account_id: str,
        api_key: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        connect_url: str | None = None,
        request_timeout: float = 30.0,
        rate_limit: RateLimit | None = None,
    ) -> None:
        """Create a client; nothing is sent until the first call."""
        if not account_id or not api_key:
            raise ValueError("account_id and api_key are required")
        self._session = session
        self._account_id = account_id
        self._api_key = api_key
        self._basic = base64.b64encode(f"{account_id}:{api_key}".encode()).decode()
        self._base_url = URL(base_url.rstrip("/"))
        self._connect_url = connect_url or (
            DEFAULT_CONNECT_URL
            if base_url.rstrip("/") == DEFAULT_BASE_URL
            else f"{base_url.rstrip('/')}/connect"
        )
        self._timeout = aiohttp.ClientTimeout(total=request_timeout)
        self._token: str | None = None
        self._token_renew_at = 0.0
        self._token_lock = asyncio.Lock()
        self._send_version = True
        self.rate_limit = rate_limit if rate_limit is not None else RateLimit()
        self.live_mode: bool | None = None
        self.request_count = 0

    def __repr__(self) -> str:
        """Never show credentials."""
        return f"FlatpeakClient(base_url={str(self._base_url)!r})"

    @property
    def base_url(self) -> str:
        """The API base URL in use."""
        return str(self._base_url)

    @property
    def sends_version_header(self) -> bool:
        """False once the account refused our ``Flatpeak-Version`` and we fell back."""
        return self._send_version

    # -- authentication ---------------------------------------------------------------

    async def login(self) -> Token:
        """Log in (``GET /login``, one request) and cache the token.

        Raises :class:`FlatpeakAuthenticationError` for bad credentials and
        :class:`FlatpeakAccountDisabledError` for a disabled account.
        """
        data = await self._send("GET", "/login", authorization=f"Basic {self._basic}")
        token = Token.from_dict(data)
        self._token = token.bearer_token
        lifetime = min(token.expires_in, _MAX_TOKEN_LIFETIME_SECONDS)
        margin = min(_TOKEN_MARGIN_SECONDS, lifetime / 2)
        self._token_renew_at = time.monotonic() + lifetime - margin
        self.live_mode = token.live_mode
        return token

    async def _bearer(self, *, renew: bool = False) -> str:
        async with self._token_lock:
            if renew or self._token is None or time.monotonic() >= self._token_renew_at:
                await self.login()
            assert self._token is not None
            return self._token

    # -- devices ----------------------------------------------------------------------

    async def create_device(
        self,
        reference_id: str,
        *,
        device_type: DeviceType | None = None,
        location_ids: Sequence[str] = (),
    ) -> Device:
        """Register a device (``POST /devices``, one request)."""
        if not reference_id:
            raise ValueError("reference_id is required")
        body: dict[str, Any] = {"reference_id": reference_id}
        if device_type is not None:
            body["type"] = device_type.value
        if location_ids:
            body["locations"] = list(location_ids)
        return Device.from_dict(await self._call("POST", "/devices", json_body=body))

    async def get_device(self, device_id: str) -> Device:
        """Fetch a device (``GET /devices/{id}``); unknown ids raise FlatpeakNotFoundError."""
        return Device.from_dict(await self._call("GET", f"/devices/{_seg(device_id)}"))

    async def find_device(self, reference_id: str) -> Device | None:
        """The device registered with ``reference_id``, or ``None`` (one request)."""
        data = await self._call("GET", "/devices", params={"reference_id": reference_id})
        for item in ListPage.from_dict(data, "device list").items:
            if item.get("reference_id") == reference_id:
                return Device.from_dict(item)
        return None

    async def update_device(self, device_id: str, **fields: Any) -> Device:
        """Change a device's fields (``PATCH /devices/{id}``, one request)."""
        data = await self._call("PATCH", f"/devices/{_seg(device_id)}", json_body=fields)
        return Device.from_dict(data)

    async def delete_device(self, device_id: str) -> None:
        """Delete a device (``DELETE /devices/{id}``, one request; answered 202)."""
        await self._call("DELETE", f"/devices/{_seg(device_id)}")

    # -- locations --------------------------------------------------------------------

    async def list_locations(self) -> list[Location]:
        """Every location of the account, newest first (one request per 100 locations).

        A page that says ``has_more`` but repeats a location already listed is an answer the
        client cannot use (:class:`FlatpeakResponseFormatError`), so paging always ends.
        """
        locations: list[Location] = []
        seen: set[str] = set()
        params: dict[str, str] = {"limit": str(_LIST_PAGE_SIZE)}
        while True:
            page = ListPage.from_dict(
                await self._call("GET", "/locations", params=params), "location list"
            )
            batch = [Location.from_dict(item) for item in page.items]
            if any(location.id in seen for location in batch):
                raise FlatpeakResponseFormatError("location list repeats a location")
            seen.update(location.id for location in batch)
            locations.extend(batch)
            if not page.has_more or not batch:
                return locations
            params["starting_after"] = batch[-1].id

    async def get_location(self, location_id: str) -> Location:
        """Fetch a location, with its tariff status (``GET /locations/{id}``, one request)."""
        return Location.from_dict(await self._call("GET", f"/locations/{_seg(location_id)}"))

    async def get_location_status(self, location_id: str) -> TariffStatus:
        """Which tariff parts a location has connected (``GET /locations/{id}``, one request)."""
        return (await self.get_location(location_id)).tariff_status

    async def get_status(self, location_id: str) -> LocationStatus:
        """Which tariff prices each part of a location: provider, name, structure, contract
        end (``GET /locations/{id}/status``, one request)."""
        data = await self._call("GET", f"/locations/{_seg(location_id)}/status")
        return LocationStatus.from_dict(data)

    async def list_events(
        self,
        *,
        object_id: str | None = None,
        ending_before: str | None = None,
        starting_after: str | None = None,
        limit: int = 100,
    ) -> tuple[list[Event], bool]:
        """One page of the account's events, newest first, and whether there are more
        (``GET /events``, one request): ``ending_before`` an event gives the ones after it in
        time (the page nearest to it), ``starting_after`` the ones before it."""
        params: dict[str, str] = {"limit": str(limit)}
        for key, value in (
            ("object_id", object_id),
            ("ending_before", ending_before),
            ("starting_after", starting_after),
        ):
            if value:
                params[key] = value
        page = ListPage.from_dict(await self._call("GET", "/events", params=params), "events")
        return [Event.from_dict(item) for item in page.items], page.has_more

    # -- connect ----------------------------------------------------------------------

    async def create_connect_token(
        self,
        callback_url: str,
        *,
        location_id: str | None = None,
        tariff_direction: TariffDirection | None = None,
        tariff_type: str | None = None,
        tariff_id: str | None = None,
        edit_tariff: bool = False,
    ) -> ConnectToken:
        """Start a Connect session (``POST /connect/token``, one request); for an existing
        location, ``tariff_direction`` and ``tariff_type`` (COMMODITY, NON_COMMODITY) name
        the part, ``tariff_id`` the tariff to replace, ``edit_tariff`` starts at choosing a
        provider rather than the summary."""
        body: dict[str, Any] = {"connect_url": self._connect_url, "callback_url": callback_url}
        if location_id:
            body["location_id"] = location_id
        if tariff_direction is not None:
            body["tariff_direction"] = tariff_direction.value
        if tariff_type is not None:
            body["tariff_type"] = tariff_type
        if tariff_id is not None:
            body["tariff_id"] = tariff_id
        if edit_tariff:
            body["actions"] = {"edit_tariff": True}
        return ConnectToken.from_dict(await self._call("POST", "/connect/token", json_body=body))

    def connect_page_url(self, connect_token: str) -> str:
        """The Connect page a person opens to choose their tariff."""
        return str(URL(self._connect_url).update_query(fp_cot=connect_token))

    async def exchange_connect_token(self, connect_token: str) -> ConnectResult:
        """What a finished Connect session produced (``GET /connect/tariff/token``, one request)."""
        data = await self._call(
            "GET", "/connect/tariff/token", params={"connect_token": connect_token}
        )
        return ConnectResult.from_dict(data)

    # -- meter records ----------------------------------------------------------------

    async def submit_interval_records(
        self, records: Sequence[MeterRecord] | EncodedRecords
    ) -> MeterBatch:
        """Submit interval records (``PUT /meters/interval``); they are always stored.

        Every record is validated first (``ValueError`` names the bad one) and nothing is sent
        if one is invalid. Makes ``ceil(len(records) / 10,000)`` requests (none for an empty
        list) and merges the answers: ``failed_records[].record_num`` indexes ``records``.
        Validation and JSON encoding of large submissions run in a worker thread.
        :class:`EncodedRecords` (at most 10,000, encoded by the caller, see
        :mod:`.encoding`) are sent as they are, in one request.

        Each answer must account for the records of its request (see
        :meth:`MeterBatch.from_dict`); otherwise :class:`FlatpeakBatchMismatchError` (or
        :class:`FlatpeakResponseFormatError`) is raised, both retryable
        :class:`FlatpeakApiError`. Requests already answered are not undone: send the whole
        submission again, the records' reference ids make that safe.
        """
        if isinstance(records, EncodedRecords):
            if records.count > MAX_RECORDS_PER_CALL:
                raise ValueError(f"at most {MAX_RECORDS_PER_CALL} records per request")
            bodies = [records] if records.count else []
        elif len(records) > _OFFLOAD_JSON_ABOVE:
            bodies = await asyncio.get_running_loop().run_in_executor(None, _encode_chunks, records)
        else:
            bodies = _encode_chunks(records)
        parts: list[tuple[int, MeterBatch]] = []
        for index, body in enumerate(bodies):
            data = await self._call("PUT", "/meters/interval", raw_body=body.body)
            parts.append((index * MAX_RECORDS_PER_CALL, self._batch(data, sent=body.count)))
        return MeterBatch.merge(parts)

    async def submit_cumulative_readings(
        self,
        location_id: str,
        readings: Sequence[CumulativeReading],
        *,
        device_id: str | None = None,
        units: EnergyUnits = EnergyUnits.KWH,
        energy_flow_direction: EnergyFlowDirection = EnergyFlowDirection.INBOUND,
        tariff_direction: TariffDirection = TariffDirection.IMPORT,
        session_reference_id: str | None = None,
    ) -> MeterBatch:
        """Submit register readings (``PUT /meters/cumulative/epoch``, one request).

        Readings must be in time order and never decrease (Flatpeak differences them);
        ``ValueError`` is raised before any request otherwise. The answer must account for
        the readings sent (:class:`FlatpeakBatchMismatchError` otherwise); ``record_num``
        indexes ``readings``.
        """
        if units not in (EnergyUnits.WH, EnergyUnits.KWH):
            raise ValueError(f"cumulative readings need WH or KWH, got {units}")
        for before, after in itertools.pairwise(readings):
            if after.time <= before.time:
                raise ValueError(f"readings out of time order at {format_time(after.time)}")
            if after.value < before.value:
                raise ValueError(
                    f"register decreases at {format_time(after.time)}: "
                    f"{before.value} -> {after.value}"
                )
        data: list[dict[str, Any]] = []
        for reading in readings:
            if not math.isfinite(reading.value):
                raise ValueError(f"reading at {format_time(reading.time)} is not a number")
            item: dict[str, Any] = {"time": int(reading.time.timestamp()), "value": reading.value}
            if reading.record_reference_id:
                item["record_reference_id"] = reading.record_reference_id
            data.append(item)
        body: dict[str, Any] = {
            "location_id": location_id,
            "energy_flow_direction": energy_flow_direction.value,
            "tariff_direction": tariff_direction.value,
            "units": units.value,
            "data": data,
        }
        if device_id:
            body["device_id"] = device_id
        if session_reference_id:
            body["session_reference_id"] = session_reference_id
        answer = await self._call("PUT", "/meters/cumulative/epoch", json_body=body)
        return self._batch(answer, sent=len(readings), cumulative=True)

    def _batch(self, data: Any, *, sent: int, cumulative: bool = False) -> MeterBatch:
        """A checked meter_batch whose failure texts are safe to log."""
        batch = MeterBatch.from_dict(data, sent=sent, cumulative=cumulative)
        if not batch.failed_records:
            return batch
        return MeterBatch(
            batch_ids=batch.batch_ids,
            records_submitted=batch.records_submitted,
            records_accepted=batch.records_accepted,
            records_processed=batch.records_processed,
            failed_records=[
                FailedRecord(
                    item.record_num, item.record_reference_id, redact(item.error, self._secrets())
                )
                for item in batch.failed_records
            ],
        )

    # -- costs and prices -------------------------------------------------------------

    async def get_interval_cost(
        self,
        object_id: str,
        start: datetime,
        end: datetime,
        *,
        tariff_direction: TariffDirection = TariffDirection.IMPORT,
        aggregation: Aggregation | None = None,
        each_row: Callable[[CostRow], None] | None = None,
    ) -> EnergyCost:
        """Cost of the records of a location or device in ``[start, end)`` (one request).

        With ``each_row``, every row is given to it where the answer is decoded (a worker
        thread for a long answer) and not kept: the report's ``rows`` is empty.
        """
        if end <= start:
            raise ValueError("end must be after start")
        params = {"tariff_direction": tariff_direction.value}
        if aggregation is not None:
            params["aggregation"] = aggregation.value
        cost: EnergyCost = await self._call(
            "POST",
            f"/costs/interval/{_seg(object_id)}",
            params=params,
            json_body={"start_time": format_time(start), "end_time": format_time(end)},
            decode=functools.partial(EnergyCost.from_dict, each_row=each_row),
        )
        return cost

    async def get_session_cost(
        self,
        session_reference_id: str,
        *,
        tariff_direction: TariffDirection = TariffDirection.IMPORT,
    ) -> EnergyCost:
        """Cost of every record submitted with ``session_reference_id`` (one request)."""
        cost: EnergyCost = await self._call(
            "POST",
            f"/costs/session/{_seg(session_reference_id)}",
            params={"tariff_direction": tariff_direction.value},
            decode=EnergyCost.from_dict,
        )
        return cost

    async def get_instant_cost(
        self, record: MeterRecord, *, non_persistent: bool = False
    ) -> InstantCost:
        """Price one record at once (``POST /costs/instant``, one request).

        With ``non_persistent`` the record is priced and not stored: the documented simulation
        path, and the only endpoint where this client sends that flag.
        """
        record.validate()
        params = {"non_persistent": "true"} if non_persistent else None
        data = await self._call("POST", "/costs/instant", params=params, json_body=record.to_dict())
        return InstantCost.from_dict(data)

    async def get_prices(
        self,
        location_id: str,
        end: datetime,
        *,
        start: datetime | None = None,
        tariff_direction: TariffDirection | None = None,
    ) -> Prices:
        """Prices of a location up to ``end`` (``POST /prices/{id}``, one request)."""
        body: dict[str, Any] = {"end_time": format_time(end)}
        if start is not None:
            body["start_time"] = format_time(start)
        if tariff_direction is not None:
            body["tariff_direction"] = tariff_direction.value
        prices: Prices = await self._call(
            "POST", f"/prices/{_seg(location_id)}", json_body=body, decode=Prices.from_dict
        )
        return prices

    # -- schedules --------------------------------------------------------------------

    async def find_duration_slots(
        self,
        location_id: str,
        start: datetime,
        end: datetime,
        *,
        duration_minutes: int,
        segment: ScheduleSegment = ScheduleSegment.LOW,
        tariff_direction: TariffDirection = TariffDirection.IMPORT,
    ) -> Schedule:
        """The cheapest (``LOW``) or dearest (``HIGH``) slots of ``[start, end)`` totalling
        ``duration_minutes`` (``POST /schedules/duration/{id}``, one request).

        Flatpeak may split them into several slots. ``ValueError`` before any request: a naive
        time, ``end`` not after ``start``, a window over 3 days, a duration that is not a whole
        number of minutes from 1 to the window's whole minutes, or a ``LOCAL`` direction.
        """
        body = _schedule_body(start, end, segment, tariff_direction)
        window_minutes = int((end - start).total_seconds() // 60)
        if (
            isinstance(duration_minutes, bool)
            or not isinstance(duration_minutes, int)
            or not 1 <= duration_minutes <= window_minutes
        ):
            raise ValueError(
                f"duration_minutes must be a whole number from 1 to {window_minutes}, "
                f"got {duration_minutes!r}"
            )
        body["duration"] = duration_minutes
        schedule: Schedule = await self._call(
            "POST",
            f"/schedules/duration/{_seg(location_id)}",
            json_body=body,
            decode=functools.partial(Schedule.from_dict, tariff_direction=tariff_direction),
        )
        return schedule

    async def find_limit_slots(
        self,
        location_id: str,
        start: datetime,
        end: datetime,
        *,
        segment: ScheduleSegment = ScheduleSegment.LOW,
        relative: float | None = None,
        absolute: float | None = None,
        tariff_direction: TariffDirection = TariffDirection.IMPORT,
    ) -> Schedule:
        """Every slot of ``[start, end)`` priced at or below (``LOW``) / at or above (``HIGH``)
        a limit (``POST /schedules/limit/{id}``, one request); ``total_minutes`` is set.

        Give exactly one limit: ``relative``, a share of the window's price range from 0.01
        (its lowest price) to 1 (its highest), or ``absolute``, a price per kWh in the
        location's currency (may be negative). ``ValueError`` before any request for anything
        else, and for the window checks of :meth:`find_duration_slots`.
        """
        body = _schedule_body(start, end, segment, tariff_direction)
        if (relative is None) == (absolute is None):
            raise ValueError("give exactly one of relative and absolute")
        if relative is not None:
            if not _is_number(relative) or not 0.01 <= relative <= 1:
                raise ValueError(f"relative must be from 0.01 to 1, got {relative!r}")
            body["relative"] = relative
        else:
            if not _is_number(absolute):
                raise ValueError(f"absolute must be a finite number, got {absolute!r}")
            body["absolute"] = absolute
        schedule: Schedule = await self._call(
            "POST",
            f"/schedules/limit/{_seg(location_id)}",
            json_body=body,
            decode=functools.partial(
                Schedule.from_dict, tariff_direction=tariff_direction, limit=True
            ),
        )
        return schedule

    # -- transport --------------------------------------------------------------------

    async def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        raw_body: bytes | None = None,
        decode: Callable[[Any], Any] | None = None,
    ) -> Any:
        """An authenticated call: one fresh login and retry after a 401/403.

        Returns the decoded JSON of a 2xx answer, of any type: the models check its shape.
        With ``decode``, returns ``decode(json)`` instead, made where the JSON is decoded.
        """
        body = (
            raw_body
            if raw_body is not None
            else (None if json_body is None else json.dumps(json_body).encode())
        )
        token = await self._bearer()
        try:
            return await self._send(
                method, path, params=params, body=body, token=token, decode=decode
            )
        except FlatpeakAuthenticationError:
            _LOGGER.debug("Flatpeak refused the token for %s %s; logging in again", method, path)
        token = await self._bearer(renew=True)
        return await self._send(method, path, params=params, body=body, token=token, decode=decode)

    async def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: bytes | None = None,
        token: str | None = None,
        authorization: str | None = None,
        decode: Callable[[Any], Any] | None = None,
    ) -> Any:
        """One HTTP exchange (two if the account refuses our API version).

        A long answer is decoded (and given to ``decode``) in the loop's default executor.
        Nothing is sent while the account waits out a 429.
        """
        while True:
            if (left := self.rate_limit.remaining()) > 0:
                raise FlatpeakRateLimitError(
                    429,
                    "rate_limited",
                    f"{method} {path} not sent: Flatpeak asked to wait {math.ceil(left)} s more",
                    left,
                )
            headers = {"Accept": "application/json"}
            if body is not None:
                headers["Content-Type"] = "application/json"
            if token is not None:
                headers["Authorization"] = f"Bearer {token}"
            elif authorization is not None:
                headers["Authorization"] = authorization
            if self._send_version:
                headers["Flatpeak-Version"] = API_VERSION
            try:
                self.request_count += 1
                async with self._session.request(
                    method,
                    self._base_url.with_path(self._base_url.path.rstrip("/") + path),
                    params=params,
                    data=_payload(body),
                    headers=headers,
                    timeout=self._timeout,
                ) as response:
                    status = response.status
                    # Flatpeak answers JSON, which is UTF-8: a wrong or unknown charset in
                    # the headers must not turn into a decoding exception.
                    text = (await response.read()).decode("utf-8", errors="replace")
                    retry_after = response.headers.get("Retry-After")
            except TimeoutError as err:
                raise FlatpeakTimeoutError(f"Timeout during {method} {path}") from err
            except aiohttp.ClientError as err:
                raise FlatpeakConnectionError(
                    f"Cannot reach Flatpeak for {method} {path}: {type(err).__name__}"
                ) from err
            answer = functools.partial(
                _decode_answer,
                status,
                text,
                retry_after=retry_after,
                what=f"{method} {path}",
                secrets=self._secrets(token),
                decode=decode,
            )
            try:
                if len(text) > _OFFLOAD_ANSWER_ABOVE:
                    return await asyncio.get_running_loop().run_in_executor(None, answer)
                return answer()
            except FlatpeakRateLimitError as err:
                wait = RETRY_AFTER_MIN_SECONDS if err.retry_after is None else err.retry_after
                self.rate_limit.wait(wait)
                raise
            except FlatpeakVersionNotSupportedError:
                if not self._send_version:
                    raise
                _LOGGER.info(
                    "Flatpeak account refuses API version %s; using the account default",
                    API_VERSION,
                )
                self._send_version = False

    def _secrets(self, token: str | None = None) -> tuple[str | None, ...]:
        """What must never appear in a message: the key, Basic credentials, the tokens."""
        return (
            f"{self._account_id}:{self._api_key}",
            self._basic,
            self._api_key,
            self._token,
            token,
        )


def _decode_answer(
    status: int,
    text: str,
    *,
    retry_after: str | None,
    what: str,
    secrets: tuple[str | None, ...],
    decode: Callable[[Any], Any] | None,
) -> Any:
    """:func:`parse_answer`, then ``decode`` of a 2xx answer's JSON (thread-safe: pure)."""
    data = parse_answer(status, text, retry_after=retry_after, what=what, secrets=secrets)
    return data if decode is None else decode(data)


class JsonBody(Payload):
    """A request body that every attempt sends whole.

    aiohttp (3.11, on HA 2025.4) retries an idempotent request once when a kept-alive
    connection is reset, with the same payload: a ``BytesIOPayload`` is spent by then, so the
    retry failed with "I/O operation on closed file" or sent an empty body. Raw ``bytes``
    would be resent, but aiohttp warns about large ones; writing bytes already in memory is
    one buffer copy, which is all ``BytesPayload`` does too.
    """

    _value: bytes
    _autoclose = True  # bytes in memory, nothing to close (aiohttp 3.12+; 3.11 ignores it)

    def __init__(self, body: bytes) -> None:
        super().__init__(body, content_type="application/json")
        self._size = len(body)

    def decode(self, encoding: str = "utf-8", errors: str = "strict") -> str:
        return self._value.decode(encoding, errors)

    async def write(self, writer: AbstractStreamWriter) -> None:
        await writer.write(self._value)

    async def write_with_length(
        self, writer: AbstractStreamWriter, content_length: int | None
    ) -> None:
        """aiohttp 3.12 and later write through this."""
        await writer.write(self._value if content_length is None else self._value[:content_length])


def _payload(body: bytes | None) -> JsonBody | None:
    return None if body is None else JsonBody(body)


def _schedule_body(
    start: datetime,
    end: datetime,
    segment: ScheduleSegment,
    tariff_direction: TariffDirection,
) -> dict[str, Any]:
    """The fields both schedule calls send; ``ValueError`` names what Flatpeak would refuse.

    ``tariff_direction`` is always sent: Flatpeak does not document its default.
    """
    body = {
        "start_time": format_time(start),
        "end_time": format_time(end),
        "segment": ScheduleSegment(segment).value,
        "tariff_direction": TariffDirection(tariff_direction).value,
    }
    if end <= start:
        raise ValueError("end must be after start")
    if end - start > MAX_SCHEDULE_WINDOW:
        raise ValueError("a schedule window is at most 3 days")
    if tariff_direction not in _SCHEDULE_DIRECTIONS:
        raise ValueError(f"schedules price IMPORT or EXPORT, not {tariff_direction}")
    return body


def _is_number(value: object) -> bool:
    """A finite int or float (not a bool)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _seg(value: str) -> str:
    """One safely quoted path segment."""
    if not value:
        raise ValueError("an id is required")
    return quote(value, safe="")


def _encode_chunks(records: Sequence[MeterRecord]) -> list[EncodedRecords]:
    """One JSON body per call of at most 10,000 records; ``ValueError`` names a bad one."""
    return [
        encode_meter_records(list(records[offset : offset + MAX_RECORDS_PER_CALL]))
        for offset in range(0, len(records), MAX_RECORDS_PER_CALL)
    ]
