"""Exceptions raised by the Flatpeak client.

Every error the client raises is a :class:`FlatpeakError`. Messages carry Flatpeak's own
``code`` and ``message`` (shortened, with anything that looks like a credential, a token or an
``Authorization`` header replaced by ``[redacted]``), never credentials or tokens.

What a caller should do with them:

- retry later (with backoff): :class:`FlatpeakConnectionError` (incl. timeouts) and
  :class:`FlatpeakApiError` (5xx, :class:`FlatpeakUnavailableError`, and answers the client
  cannot use: :class:`FlatpeakResponseFormatError`, :class:`FlatpeakBatchMismatchError`);
- wait ``retry_after``: :class:`FlatpeakRateLimitError`;
- ask for new credentials: :class:`FlatpeakAuthenticationError`;
- do not resend unchanged: :class:`FlatpeakInvalidRequestError` and its subclasses.
"""

from __future__ import annotations


class FlatpeakError(Exception):
    """Base class of every error raised by the client."""


class FlatpeakConnectionError(FlatpeakError):
    """Flatpeak could not be reached (DNS, refused, reset) or answered garbage."""


class FlatpeakTimeoutError(FlatpeakConnectionError):
    """A request took longer than the client's timeout."""


class FlatpeakAuthenticationError(FlatpeakError):
    """The account id / API key were rejected, or a fresh token was refused."""


class FlatpeakResponseError(FlatpeakError):
    """Flatpeak answered with an error object (or an older ``{"message": ...}`` body)."""

    def __init__(self, status: int, code: str | None, message: str) -> None:
        """Keep Flatpeak's status, ``code`` and ``message``."""
        self.status = status
        self.code = code
        self.message = message
        super().__init__(f"{status} {code or 'error'}: {message}")


class FlatpeakRateLimitError(FlatpeakResponseError):
    """HTTP 429; ``retry_after`` is the server's ``Retry-After`` in seconds when given."""

    def __init__(
        self, status: int, code: str | None, message: str, retry_after: float | None
    ) -> None:
        """Keep the wait the server asked for."""
        super().__init__(status, code, message)
        self.retry_after = retry_after


class FlatpeakApiError(FlatpeakResponseError):
    """A 5xx or otherwise unexpected answer: worth retrying later."""


class FlatpeakUnavailableError(FlatpeakApiError):
    """502/503/504: Flatpeak is down or overloaded for now."""


class FlatpeakResponseFormatError(FlatpeakApiError):
    """A success answer the client cannot read: not JSON, not the documented shape, or a field
    missing or of the wrong type. Worth retrying: nothing says the request was applied."""

    def __init__(self, message: str, *, status: int = 200) -> None:
        """``message`` says what was wrong (never the body itself)."""
        super().__init__(status, None, message)


class FlatpeakBatchMismatchError(FlatpeakResponseFormatError):
    """A ``meter_batch`` answer that does not account for the records sent in that request
    (another count, failed record numbers out of range, accepted + failed not adding up).

    The records may or may not be stored: send them again (their reference ids make that
    safe). ``sent`` is the number of records or readings in the request.
    """

    def __init__(self, message: str, *, sent: int, status: int = 200) -> None:
        """Keep how many records the request carried."""
        super().__init__(message, status=status)
        self.sent = sent


class FlatpeakInvalidRequestError(FlatpeakResponseError):
    """A 4xx answer: the request itself was refused and retrying it unchanged will not help."""


class FlatpeakNotFoundError(FlatpeakInvalidRequestError):
    """HTTP 404: an unknown location, device, session or token."""


class FlatpeakTooManyRecordsError(FlatpeakInvalidRequestError):
    """More than 10,000 records in one call (the client splits, so this means a bug)."""


class FlatpeakAccountDisabledError(FlatpeakInvalidRequestError):
    """422 ``account_disabled``: the account exists but may not use the API."""


class FlatpeakTariffError(FlatpeakInvalidRequestError):
    """A 422 price/tariff state: prices cannot be computed for the location yet."""


class FlatpeakNoTariffConnectedError(FlatpeakTariffError):
    """422 ``no_tariff_connected``: the location has no import tariff."""


class FlatpeakPendingConnectError(FlatpeakTariffError):
    """422 ``pending_connect``: a tariff was chosen and its rates are still being prepared."""


class FlatpeakNoPriceDataError(FlatpeakTariffError):
    """422 ``no_price_data``: no rates for the asked period."""


class FlatpeakVersionNotSupportedError(FlatpeakInvalidRequestError):
    """422 ``api_version_not_supported``; the client falls back on its own first."""


CODE_ERRORS: dict[str, type[FlatpeakInvalidRequestError]] = {
    "account_disabled": FlatpeakAccountDisabledError,
    "no_tariff_connected": FlatpeakNoTariffConnectedError,
    "pending_connect": FlatpeakPendingConnectError,
    "no_price_data": FlatpeakNoPriceDataError,
    "api_version_not_supported": FlatpeakVersionNotSupportedError,
    "too_many_records": FlatpeakTooManyRecordsError,
}
