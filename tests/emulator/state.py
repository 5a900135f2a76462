"""All in-memory state of the Flatpeak emulator, with Python helpers for tests."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
import itertools
import secrets
from typing import Any
from zoneinfo import ZoneInfo

from .demo import CONNECT_EXPORT_RATE, CONNECT_PRESETS, DEMO, flat_schedule
from .engine import format_rfc3339, parse_schedule
from .models import (
    COUNTRIES,
    DIRECTIONS,
    ELEMENT_TYPES,
    Account,
    BearerSession,
    ConnectToken,
    Device,
    Event,
    Fault,
    Location,
    MeterRecord,
    TariffElement,
    new_api_key,
    new_id,
)

DEFAULT_TOKEN_LIFETIME = 3600
CONNECT_TOKEN_LIFETIME = 86_400


class ConflictError(ValueError):
    """A unique value (account id, location reference_id) is already taken."""


class EmulatorState:
    """Everything the emulator knows; ``now`` is injectable so tests can move the clock."""

    def __init__(
        self,
        now: Callable[[], datetime] | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        self.now: Callable[[], datetime] = now or (lambda: datetime.now(UTC))
        # How a hanging fault waits: a harness with a frozen clock passes one that moves it.
        self.sleep: Callable[[float], Awaitable[None]] = sleep or asyncio.sleep
        self._seq = itertools.count(1)
        self.accounts: dict[str, Account] = {}
        self.devices: dict[str, Device] = {}
        self.locations: dict[str, Location] = {}
        self.elements: dict[str, TariffElement] = {}
        self.meter_records: dict[str, MeterRecord] = {}
        # (account_id, record_reference_id) -> record id: a resubmission replaces, account-wide
        self._record_index: dict[tuple[str, str], str] = {}
        self.batches: dict[str, dict[str, Any]] = {}
        self.connect_tokens: dict[str, ConnectToken] = {}
        self.events: list[Event] = []
        self.sessions: dict[str, BearerSession] = {}
        self.faults: list[Fault] = []
        self.pending_connect: dict[str, datetime] = {}
        self.request_log: list[tuple[str, str]] = []
        # (predicate, error, remaining): valid records Flatpeak refuses anyway, per record.
        self.record_refusals: list[list[Any]] = []
        self.latency = 0.0
        self.token_lifetime: float = DEFAULT_TOKEN_LIFETIME
        # Seconds after a Connect completes during which rates are "not ready yet".
        self.connect_processing_seconds = 0.0
        # Seconds after a record is stored before cost reports include it; with
        # ``report_lag_unpriced`` its own row is listed meanwhile, without an amount.
        self.report_lag = 0.0
        self.report_lag_unpriced = False

    # --- housekeeping -------------------------------------------------------------------

    def reset(self) -> None:
        """Drop all data and settings (the clock stays); containers are cleared in place."""
        for container in (
            self.accounts,
            self.devices,
            self.locations,
            self.elements,
            self.meter_records,
            self._record_index,
            self.batches,
            self.connect_tokens,
            self.events,
            self.sessions,
            self.faults,
            self.record_refusals,
            self.pending_connect,
            self.request_log,
        ):
            container.clear()
        self.latency = 0.0
        self.token_lifetime = DEFAULT_TOKEN_LIFETIME
        self.connect_processing_seconds = 0.0
        self.report_lag = 0.0
        self.report_lag_unpriced = False

    def next_seq(self) -> int:
        """A creation sequence number (lists are newest first even within one second)."""
        return next(self._seq)

    # --- accounts and tokens ----------------------------------------------------------------

    def add_account(
        self,
        account_id: str | None = None,
        api_key: str | None = None,
        *,
        api_version: str | None = None,
        disabled: bool = False,
    ) -> Account:
        """Create an account (random ``acc_…`` / ``sk_test_…`` when not given)."""
        account_id = account_id or new_id("acc")
        if account_id in self.accounts:
            raise ConflictError(f"account {account_id} already exists")
        account = Account(account_id, api_key or new_api_key(), api_version, disabled)
        self.accounts[account_id] = account
        return account

    def check_credentials(self, account_id: str, api_key: str) -> Account | None:
        """The account if the key is right."""
        account = self.accounts.get(account_id)
        if account is None or not secrets.compare_digest(account.api_key, api_key):
            return None
        return account

    def issue_token(self, account: Account) -> BearerSession:
        """A new bearer token valid for ``token_lifetime`` seconds."""
        token = secrets.token_urlsafe(32)
        expires = self.now() + timedelta(seconds=self.token_lifetime)
        session = BearerSession(token, account.account_id, expires)
        self.sessions[token] = session
        return session

    def session_for(self, token: str) -> BearerSession | None:
        """The session of a bearer token, or None if unknown or expired."""
        session = self.sessions.get(token)
        if session is None or session.expires_at <= self.now():
            return None
        return session

    def expire_tokens(self) -> None:
        """Invalidate every issued bearer token now."""
        self.sessions.clear()

    # --- locations and tariffs --------------------------------------------------------------

    def add_location(  # noqa: PLR0917 - positional signature is part of the test API
        self,
        account_id: str,
        country_code: str = "GB",
        address_line1: str = "1 Test Street",
        city: str = "London",
        post_code: str = "N1 1AA",
        reference_id: str | None = None,
        *,
        address_line2: str | None = None,
        state: str | None = None,
        customer_id: str | None = None,
    ) -> Location:
        """Create a location; timezone and currency follow the country."""
        if account_id not in self.accounts:
            raise KeyError(f"unknown account {account_id}")
        country = country_code.upper()
        if country not in COUNTRIES:
            raise ValueError(f"unsupported country_code {country_code!r}")
        if reference_id is not None and any(
            loc.account_id == account_id and loc.reference_id == reference_id
            for loc in self.locations.values()
        ):
            raise ConflictError(f"A location with reference_id '{reference_id}' already exists")
        timezone, currency = COUNTRIES[country]
        address = {
            "address_line1": address_line1,
            "address_line2": address_line2,
            "city": city,
            "state": state,
            "post_code": post_code,
            "country_code": country,
        }
        location = Location(
            id=new_id("loc"),
            account_id=account_id,
            postal_address={k: v for k, v in address.items() if v is not None},
            timezone=timezone,
            currency_code=currency,
            time_created=self.now(),
            seq=self.next_seq(),
            reference_id=reference_id,
            customer_id=customer_id,
        )
        self.locations[location.id] = location
        return location

    def zone(self, location_id: str) -> ZoneInfo:
        """The location's timezone."""
        return ZoneInfo(self.locations[location_id].timezone)

    def add_tariff_element(
        self,
        location_id: str,
        direction: str = "IMPORT",
        schedule: Sequence[Any] | None = None,
        type: str = "COMMODITY",  # the API's field name
        *,
        connection_type: str = "MANUAL",
        display_name: str | None = None,
        provider_id: str | None = None,
        contract_start_date: str | None = None,
        contract_end_date: str | None = None,
    ) -> TariffElement:
        """Attach a tariff element (same body as POST /tariffs/elements); raises ValueError."""
        location = self.locations.get(location_id)
        if location is None:
            raise KeyError(f"unknown location {location_id}")
        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {', '.join(DIRECTIONS)}")
        if type not in ELEMENT_TYPES:
            raise ValueError(f"type must be one of {', '.join(ELEMENT_TYPES)}")
        raw = list(schedule) if schedule is not None else []
        element = TariffElement(
            id=new_id("trf"),
            account_id=location.account_id,
            location_id=location_id,
            direction=direction,
            type=type,
            schedule=raw,
            parsed=parse_schedule(raw),
            time_created=self.now(),
            seq=self.next_seq(),
            connection_type=connection_type,
            display_name=display_name,
            provider_id=provider_id,
            contract_start_date=contract_start_date,
            contract_end_date=contract_end_date,
        )
        self.elements[element.id] = element
        return element

    def elements_for(self, location_id: str, direction: str | None = None) -> list[TariffElement]:
        """The location's tariff elements, optionally of one direction."""
        return [
            e
            for e in self.elements.values()
            if e.location_id == location_id and direction in (None, e.direction)
        ]

    def has_import_tariff(self, location_id: str) -> bool:
        """Whether prices can be given: an IMPORT COMMODITY element is attached."""
        return self.has_tariff(location_id, "IMPORT")

    def has_tariff(self, location_id: str, direction: str) -> bool:
        """Whether a COMMODITY element of ``direction`` is attached (schedules need one)."""
        return any(e.type == "COMMODITY" for e in self.elements_for(location_id, direction))

    def tariff_status(self, location_id: str) -> dict[str, str]:
        """CONNECTED / NOT_CONNECTED per kind of element, derived from what is attached."""
        elements = self.elements_for(location_id)

        def status(direction: str, kind: str | None) -> str:
            found = any(e.direction == direction and kind in (None, e.type) for e in elements)
            return "CONNECTED" if found else "NOT_CONNECTED"

        return {
            "commodity_import": status("IMPORT", "COMMODITY"),
            "commodity_export": status("EXPORT", "COMMODITY"),
            "non_commodity_import": status("IMPORT", "NON_COMMODITY"),
            "non_commodity_export": status("EXPORT", "NON_COMMODITY"),
            "local": status("LOCAL", None),
        }

    def location_json(self, location: Location) -> dict[str, Any]:
        """API representation of a location (tariff status is derived live)."""
        body: dict[str, Any] = {
            "id": location.id,
            "object": "location",
            "live_mode": False,
            "reference_id": location.reference_id,
            "timezone": location.timezone,
            "currency_code": location.currency_code,
            "postal_address": dict(location.postal_address),
            "tariff_status": self.tariff_status(location.id),
            "tariff_elements": [e.id for e in self.elements_for(location.id)],
            "time_created": format_rfc3339(location.time_created),
            "account_id": location.account_id,
        }
        if location.customer_id is not None:
            body["customer_id"] = location.customer_id
        return body

    def set_pending_connect(self, location_id: str, seconds: float) -> None:
        """Price-dependent calls for the location answer 422 pending_connect for a while."""
        self.pending_connect[location_id] = self.now() + timedelta(seconds=seconds)

    def set_report_lag(self, seconds: float, *, unpriced: bool = False) -> None:
        """Records stored less than ``seconds`` ago are not in cost reports yet."""
        self.report_lag = seconds
        self.report_lag_unpriced = unpriced

    def is_costed(self, record: MeterRecord) -> bool:
        """Whether cost reports include the record already (see :meth:`set_report_lag`)."""
        if self.report_lag <= 0:  # (also when a test's clock went back)
            return True
        return record.time_created <= self.now() - timedelta(seconds=self.report_lag)

    def is_pending(self, location_id: str) -> bool:
        """Whether the location is inside a pending-connect window."""
        until = self.pending_connect.get(location_id)
        return until is not None and self.now() < until

    # --- devices ------------------------------------------------------------------------

    def add_device(
        self,
        account_id: str,
        reference_id: str,
        type: str | None = None,  # the API's field name
        locations: Iterable[str] = (),
    ) -> Device:
        """Create a device (reference ids need not be unique, as in the real API)."""
        device = Device(
            id=new_id("dev"),
            account_id=account_id,
            reference_id=reference_id,
            time_created=self.now(),
            seq=self.next_seq(),
            type=type,
            locations=list(locations),
        )
        self.devices[device.id] = device
        return device

    # --- meter records ------------------------------------------------------------------

    def store_record(self, record: MeterRecord) -> MeterRecord:
        """Store a record; one whose record_reference_id the account already used replaces it.

        The strictest reading of API.md: reference ids are scoped to the whole account, so a
        record of another device or location with the same id is replaced too (it moves to the
        new device/location). An uploader whose ids are not unique account-wide loses data here.
        """
        if record.record_reference_id is not None:
            key = (record.account_id, record.record_reference_id)
            previous = self._record_index.get(key)
            if previous is not None and previous in self.meter_records:
                # Keep the original id and position: the record is corrected, not added.
                record.id = previous
            self._record_index[key] = record.id
        self.meter_records[record.id] = record
        return record

    def record_objects(
        self,
        account_id: str | None = None,
        device_id: str | None = None,
        location_id: str | None = None,
    ) -> list[MeterRecord]:
        """Stored records, filtered."""
        return [
            r
            for r in self.meter_records.values()
            if account_id in (None, r.account_id)
            and device_id in (None, r.device_id)
            and location_id in (None, r.location_id)
        ]

    def records(
        self,
        account_id: str | None = None,
        device_id: str | None = None,
        location_id: str | None = None,
    ) -> list[dict[str, Any]]:
        """Stored records as dicts with all fields and exact float ``energy_wh``."""
        return [r.to_json() for r in self.record_objects(account_id, device_id, location_id)]

    # --- fault injection ----------------------------------------------------------------

    def fail_next(
        self,
        path: str,
        status: int,
        count: int = 1,
        method: str | None = None,
        retry_after: float | None = None,
        *,
        body: Any = None,
        text: str | None = None,
        headers: dict[str, str] | None = None,
        reflect_headers: str | None = None,
        after: int = 0,
        hang: float = 0.0,
        processed: bool = False,
    ) -> Fault:
        """Make the next ``count`` API calls matching path (``/x/*`` = prefix) answer ``status``.

        The answer is an error object, unless ``body`` (any JSON value, also for a 2xx), ``text``
        (a raw body, e.g. not JSON) or ``reflect_headers`` ("message": an error object whose
        message repeats the request's headers and Basic credentials; "text": the same as plain
        text) is given. ``headers`` are added to the answer (they may replace Content-Type).
        ``after`` matching calls are answered normally before the fault applies. ``hang``:
        seconds (on ``sleep``) before the answer; ``processed``: the endpoint runs first and
        its effects stay (e.g. records stored, then a malformed answer).
        """
        if reflect_headers not in (None, "message", "text"):
            raise ValueError("reflect_headers must be 'message' or 'text'")
        if not hang >= 0:
            raise ValueError("hang must not be negative")
        fault = Fault(
            path,
            status,
            count,
            method.upper() if method else None,
            retry_after,
            body,
            text=text,
            headers=dict(headers or {}),
            reflect_headers=reflect_headers,
            after=after,
            hang=hang,
            processed=processed,
        )
        self.faults.append(fault)
        return fault

    def drop_next(
        self,
        path: str,
        count: int = 1,
        method: str | None = None,
        *,
        hang: float = 0.0,
        processed: bool = False,
        after: int = 0,
    ) -> Fault:
        """Make the next ``count`` matching API calls get no answer: the connection is closed.

        At once it is a connection reset; after ``hang`` seconds (on ``sleep``) longer than the
        client waits, a timeout. ``processed``: the endpoint runs first and its effects stay
        (Flatpeak stored the records, the answer was lost on the way).
        """
        if not hang >= 0:
            raise ValueError("hang must not be negative")
        fault = Fault(
            path,
            0,
            count,
            method.upper() if method else None,
            after=after,
            disconnect=True,
            hang=hang,
            processed=processed,
        )
        self.faults.append(fault)
        return fault

    def refuse_records(
        self, error: str, count: int = 1, where: Callable[[MeterRecord], bool] | None = None
    ) -> None:
        """Make the next ``count`` valid interval records (matching ``where``) fail."""
        self.record_refusals.append([where or (lambda _record: True), error, count])

    def take_record_refusal(self, record: MeterRecord) -> str | None:
        """The error to refuse this record with, consuming one use, or None."""
        for refusal in self.record_refusals:
            where, error, remaining = refusal
            if remaining > 0 and where(record):
                refusal[2] = remaining - 1
                return str(error)
        return None

    def take_fault(self, method: str, path: str) -> Fault | None:
        """Consume one use of the first fault matching this call, if any."""
        for fault in self.faults:
            if fault.remaining > 0 and fault.matches(method, path):
                if fault.after > 0:
                    fault.after -= 1
                    return None
                fault.remaining -= 1
                if fault.remaining == 0:
                    self.faults.remove(fault)
                return fault
        return None

    # --- Connect ------------------------------------------------------------------------

    def create_connect_token(
        self,
        account_id: str,
        callback_url: str,
        *,
        connect_url: str | None = None,
        location_id: str | None = None,
        tariff_direction: str = "IMPORT",
    ) -> ConnectToken:
        """Start a Connect session."""
        now = self.now()
        token = ConnectToken(
            token=new_id("cot"),
            account_id=account_id,
            callback_url=callback_url,
            time_created=now,
            expires_at=now + timedelta(seconds=CONNECT_TOKEN_LIFETIME),
            connect_url=connect_url,
            location_id=location_id,
            tariff_direction=tariff_direction,
        )
        self.connect_tokens[token.token] = token
        return token

    def complete_connect(self, token: ConnectToken, preset_key: str | None) -> Location:
        """Attach the chosen tariff like Connect does.

        A new location gets the chosen import tariff and a flat export one. For an existing
        location the session's direction and type name the one part it sets (import, export
        or grid fees); a disconnect session removes that part. The part's elements are
        replaced: re-running Connect switches tariff rather than stacking a second one.
        Each completion tells ``connect_session.complete`` and ``location.update``.
        """
        new_location = token.location_id is None or token.location_id not in self.locations
        if new_location:
            token.location_id = self.add_location(token.account_id).id
        location_id = token.location_id
        assert location_id is not None
        parts = (
            [("IMPORT", "COMMODITY"), ("EXPORT", "COMMODITY")]
            if new_location
            else [(token.tariff_direction, token.tariff_type)]
        )
        for element in list(self.elements.values()):
            if element.location_id == location_id and (element.direction, element.type) in parts:
                del self.elements[element.id]
        if token.disconnect_tariff and not new_location:
            token.complete_action = "DISCONNECT"
        else:
            token.complete_action = "SAVE"
            for direction, kind in parts:
                self._attach_connected(location_id, direction, kind, preset_key)
        token.completed_at = self.now()
        token.tariff_choice = preset_key
        if self.connect_processing_seconds > 0:
            self.set_pending_connect(location_id, self.connect_processing_seconds)
        location = self.locations[location_id]
        data = {"live_mode": False, "location_id": location_id, "account_id": token.account_id}
        self.add_event(token.account_id, "connect_session.complete", data)
        self.add_event(token.account_id, "location.update", self.location_json(location))
        return location

    def _attach_connected(
        self, location_id: str, direction: str, kind: str, preset_key: str | None
    ) -> None:
        """The element a Connect session attaches for one part."""
        if direction == "EXPORT":
            schedule, name, structure = (
                flat_schedule(CONNECT_EXPORT_RATE),
                "Flat export",
                "FIXED",
            )
        elif kind == "NON_COMMODITY":
            schedule, name, structure = flat_schedule(0.05), "Grid fees", "FIXED"
        else:
            preset = CONNECT_PRESETS[preset_key or next(iter(CONNECT_PRESETS))]
            schedule, name = preset.schedule, preset.name
            structure = "FIXED" if preset.key == "flat" else "TIME_OF_DAY"
        element = self.add_tariff_element(
            location_id,
            direction,
            schedule,
            kind,
            connection_type="CONNECT",
            display_name=name,
        )
        element.structure_type = structure

    def add_event(self, account_id: str, type: str, data: dict[str, Any]) -> Event:
        """Record an event of the account (``GET /events`` lists it)."""
        event = Event(
            id=new_id("evt"),
            account_id=account_id,
            type=type,
            data=data,
            time_created=self.now(),
            seq=self.next_seq(),
        )
        self.events.append(event)
        return event

    # --- demo ---------------------------------------------------------------------------

    def seed_demo(self) -> dict[str, str]:
        """A demo account with a GB location: TOU import, flat export and a LOCAL price."""
        if DEMO.account_id in self.accounts:
            account = self.add_account()  # a second demo account on this state
        else:
            account = self.add_account(DEMO.account_id, DEMO.api_key)
        location = self.add_location(
            account.account_id,
            DEMO.country_code,
            "1 Demo Street",
            "London",
            "N1 1AA",
            reference_id=DEMO.location_reference_id,
        )
        provider = "prv_demo0000000000000000000"
        self.add_tariff_element(
            location.id,
            "IMPORT",
            DEMO.import_schedule,
            display_name="Demo time of use",
            provider_id=provider,
            contract_end_date=format_rfc3339(self.now() + timedelta(days=180)),
        )
        export = self.add_tariff_element(
            location.id,
            "EXPORT",
            DEMO.export_schedule,
            display_name="Demo flat export",
            provider_id=provider,
        )
        export.structure_type = "FIXED"
        self.add_tariff_element(
            location.id, "LOCAL", DEMO.local_schedule, display_name="Demo local generation"
        )
        return {
            "account_id": account.account_id,
            "api_key": account.api_key,
            "location_id": location.id,
        }
