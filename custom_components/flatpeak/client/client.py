"""Async client of the Flatpeak API (https://api.flatpeak.com).

Knows HTTP and Flatpeak's JSON, nothing of Home Assistant. The caller injects the
``aiohttp.ClientSession``; the client owns only its token.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Mapping, Sequence
from datetime import datetime
from email.utils import parsedate_to_datetime
import itertools
import json
import logging
import math
import time
from typing import Any
from urllib.parse import quote

import aiohttp
from yarl import URL

from .exceptions import (
    CODE_ERRORS,
    FlatpeakApiError,
    FlatpeakAuthenticationError,
    FlatpeakConnectionError,
    FlatpeakInvalidRequestError,
    FlatpeakNotFoundError,
    FlatpeakRateLimitError,
    FlatpeakTimeoutError,
    FlatpeakUnavailableError,
    FlatpeakVersionNotSupportedError,
)
from .models import (
    Aggregation,
    ConnectResult,
    ConnectToken,
    CumulativeReading,
    Device,
    DeviceType,
    EnergyCost,
    EnergyFlowDirection,
    EnergyUnits,
    InstantCost,
    Location,
    MeterBatch,
    MeterRecord,
    Prices,
    TariffDirection,
    TariffStatus,
    Token,
    format_time,
)

_LOGGER = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.flatpeak.com"
DEFAULT_CONNECT_URL = "https://connect.flatpeak.com"
API_VERSION = "2025-09-14.anode"
MAX_RECORDS_PER_CALL = 10_000
# Serialising this many records takes long enough to be worth a worker thread.
_OFFLOAD_JSON_ABOVE = 1_000
# Renew the token this long before Flatpeak says it expires (capped at half its lifetime).
_TOKEN_MARGIN_SECONDS = 120.0
_LIST_PAGE_SIZE = 100


class FlatpeakClient:
    """A Flatpeak API client for one account.

    Every method makes the requests its docstring states plus, when the cached token is
    missing or about to expire, one ``GET /login``. A 401/403 on a call triggers one fresh
    login and one retry before :class:`FlatpeakAuthenticationError` is raised.
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
    ) -> None:
        """Create a client; nothing is sent until the first call."""
        if not account_id or not api_key:
            raise ValueError("account_id and api_key are required")
        self._session = session
        self._account_id = account_id
        self._api_key = api_key
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
        basic = base64.b64encode(f"{self._account_id}:{self._api_key}".encode()).decode()
        data = await self._send("GET", "/login", authorization=f"Basic {basic}")
        token = Token.from_dict(data)
        self._token = token.bearer_token
        margin = min(_TOKEN_MARGIN_SECONDS, token.expires_in / 2)
        self._token_renew_at = time.monotonic() + token.expires_in - margin
        self.live_mode = token.live_mode
        return token

    def invalidate_token(self) -> None:
        """Forget the cached token so the next call logs in again."""
        self._token = None

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
        for item in data.get("data") or []:
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
        """Every location of the account, newest first (one request per 100 locations)."""
        locations: list[Location] = []
        params: dict[str, str] = {"limit": str(_LIST_PAGE_SIZE)}
        while True:
            data = await self._call("GET", "/locations", params=params)
            page = [Location.from_dict(item) for item in data.get("data") or []]
            locations.extend(page)
            if not data.get("has_more") or not page:
                return locations
            params["starting_after"] = page[-1].id

    async def get_location(self, location_id: str) -> Location:
        """Fetch a location, with its tariff status (``GET /locations/{id}``, one request)."""
        return Location.from_dict(await self._call("GET", f"/locations/{_seg(location_id)}"))

    async def get_location_status(self, location_id: str) -> TariffStatus:
        """Which tariff parts a location has connected (``GET /locations/{id}``, one request)."""
        return (await self.get_location(location_id)).tariff_status

    # -- connect ----------------------------------------------------------------------

    async def create_connect_token(
        self,
        callback_url: str,
        *,
        location_id: str | None = None,
        tariff_direction: TariffDirection | None = None,
    ) -> ConnectToken:
        """Start a Connect session (``POST /connect/token``, one request)."""
        body: dict[str, Any] = {"connect_url": self._connect_url, "callback_url": callback_url}
        if location_id:
            body["location_id"] = location_id
        if tariff_direction is not None:
            body["tariff_direction"] = tariff_direction.value
        data = await self._call("POST", "/connect/token", json_body=body)
        return ConnectToken(str(data["connect_token"]), int(data.get("expires_in", 0)))

    def connect_page_url(self, connect_token: str) -> str:
        """The Connect page a person opens to choose their tariff."""
        return str(URL(self._connect_url).update_query(fp_cot=connect_token))

    async def exchange_connect_token(self, connect_token: str) -> ConnectResult:
        """What a finished Connect session produced (``GET /connect/tariff/token``, one request)."""
        data = await self._call(
            "GET", "/connect/tariff/token", params={"connect_token": connect_token}
        )
        return ConnectResult(str(data["location_id"]), bool(data.get("is_tariff_processed")))

    # -- meter records ----------------------------------------------------------------

    async def submit_interval_records(
        self, records: Sequence[MeterRecord], *, non_persistent: bool = False
    ) -> MeterBatch:
        """Submit interval records (``PUT /meters/interval``).

        Every record is validated first (``ValueError`` names the bad one) and nothing is sent
        if one is invalid. Makes ``ceil(len(records) / 10,000)`` requests (none for an empty
        list) and merges the answers: ``failed_records[].record_num`` indexes ``records``.
        Validation and JSON encoding of large submissions run in a worker thread.
        """
        if len(records) > _OFFLOAD_JSON_ABOVE:
            bodies = await asyncio.get_running_loop().run_in_executor(None, _encode_chunks, records)
        else:
            bodies = _encode_chunks(records)
        parts: list[tuple[int, dict[str, Any]]] = []
        params = {"non_persistent": "true"} if non_persistent else None
        for index, body in enumerate(bodies):
            batch = await self._call("PUT", "/meters/interval", params=params, raw_body=body)
            parts.append((index * MAX_RECORDS_PER_CALL, batch))
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
        ``ValueError`` is raised before any request otherwise.
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
        batch = await self._call("PUT", "/meters/cumulative/epoch", json_body=body)
        return MeterBatch.merge([(0, batch)])

    # -- costs and prices -------------------------------------------------------------

    async def get_interval_cost(
        self,
        object_id: str,
        start: datetime,
        end: datetime,
        *,
        tariff_direction: TariffDirection = TariffDirection.IMPORT,
        aggregation: Aggregation | None = None,
    ) -> EnergyCost:
        """Cost of the records of a location or device in ``[start, end)`` (one request)."""
        if end <= start:
            raise ValueError("end must be after start")
        params = {"tariff_direction": tariff_direction.value}
        if aggregation is not None:
            params["aggregation"] = aggregation.value
        data = await self._call(
            "POST",
            f"/costs/interval/{_seg(object_id)}",
            params=params,
            json_body={"start_time": format_time(start), "end_time": format_time(end)},
        )
        return EnergyCost.from_dict(data)

    async def get_session_cost(
        self,
        session_reference_id: str,
        *,
        tariff_direction: TariffDirection = TariffDirection.IMPORT,
    ) -> EnergyCost:
        """Cost of every record submitted with ``session_reference_id`` (one request)."""
        data = await self._call(
            "POST",
            f"/costs/session/{_seg(session_reference_id)}",
            params={"tariff_direction": tariff_direction.value},
        )
        return EnergyCost.from_dict(data)

    async def get_instant_cost(
        self, record: MeterRecord, *, non_persistent: bool = False
    ) -> InstantCost:
        """Price one record at once (``POST /costs/instant``, one request)."""
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
        data = await self._call("POST", f"/prices/{_seg(location_id)}", json_body=body)
        return Prices.from_dict(data)

    # -- transport --------------------------------------------------------------------

    async def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        raw_body: bytes | None = None,
    ) -> dict[str, Any]:
        """An authenticated call: one fresh login and retry after a 401/403."""
        body = (
            raw_body
            if raw_body is not None
            else (None if json_body is None else json.dumps(json_body).encode())
        )
        token = await self._bearer()
        try:
            return await self._send(method, path, params=params, body=body, token=token)
        except FlatpeakAuthenticationError:
            _LOGGER.debug("Flatpeak refused the token for %s %s; logging in again", method, path)
        token = await self._bearer(renew=True)
        return await self._send(method, path, params=params, body=body, token=token)

    async def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: bytes | None = None,
        token: str | None = None,
        authorization: str | None = None,
    ) -> dict[str, Any]:
        """One HTTP exchange (two if the account refuses our API version)."""
        while True:
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
                    data=body,
                    headers=headers,
                    timeout=self._timeout,
                ) as response:
                    status = response.status
                    text = await response.text()
                    retry_after = response.headers.get("Retry-After")
            except TimeoutError as err:
                raise FlatpeakTimeoutError(f"Timeout during {method} {path}") from err
            except aiohttp.ClientError as err:
                raise FlatpeakConnectionError(
                    f"Cannot reach Flatpeak for {method} {path}: {type(err).__name__}"
                ) from err
            try:
                return _raise_or_parse(status, text, retry_after, method, path)
            except FlatpeakVersionNotSupportedError:
                if not self._send_version:
                    raise
                _LOGGER.info(
                    "Flatpeak account refuses API version %s; using the account default",
                    API_VERSION,
                )
                self._send_version = False


def _raise_or_parse(
    status: int, text: str, retry_after: str | None, method: str, path: str
) -> dict[str, Any]:
    try:
        data = json.loads(text) if text else {}
    except ValueError:
        data = None
    if 200 <= status < 300:
        if not isinstance(data, dict):
            raise FlatpeakApiError(status, None, f"{method} {path} answered with non-JSON")
        return data
    body = data if isinstance(data, dict) else {}
    code = body.get("code")
    message = str(body.get("message") or text[:200] or f"HTTP {status}")
    if status in (401, 403):
        raise FlatpeakAuthenticationError(f"{status}: {message}")
    if status == 429:
        raise FlatpeakRateLimitError(status, code, message, _parse_retry_after(retry_after))
    if status == 404:
        raise FlatpeakNotFoundError(status, code, message)
    if 400 <= status < 500:
        raise CODE_ERRORS.get(str(code), FlatpeakInvalidRequestError)(status, code, message)
    if status in (502, 503, 504):
        raise FlatpeakUnavailableError(status, code, message)
    raise FlatpeakApiError(status, code, message)


def _parse_retry_after(value: str | None) -> float | None:
    """``Retry-After`` as seconds: either delta-seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def _seg(value: str) -> str:
    """One safely quoted path segment."""
    if not value:
        raise ValueError("an id is required")
    return quote(value, safe="")


def _encode_chunks(records: Sequence[MeterRecord]) -> list[bytes]:
    """Validate every record, then one JSON body per call of at most 10,000 records."""
    for record in records:
        record.validate()
    return [
        json.dumps(
            [record.to_dict() for record in records[offset : offset + MAX_RECORDS_PER_CALL]]
        ).encode()
        for offset in range(0, len(records), MAX_RECORDS_PER_CALL)
    ]
