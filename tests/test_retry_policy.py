"""The one retry policy, on its own: exponent capped, jitter within bounds, Retry-After a floor."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
import math
import random

import pytest

from custom_components.flatpeak.client import FlatpeakApiError, FlatpeakRateLimitError
from custom_components.flatpeak.core.retry import (
    MAX_ERROR_CHARS,
    Backoff,
    RetryPolicy,
    error_text,
    retry_after_of,
)

MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
POLICY = RetryPolicy(base=MINUTE, cap=HOUR)
FIXED = RetryPolicy(base=MINUTE, cap=HOUR, jitter=0)
NOW = datetime(2025, 6, 2, 10, 0, tzinfo=UTC)


def test_doubles_from_the_base_up_to_the_cap() -> None:
    delays = [FIXED.delay(n) for n in range(1, 10)]
    assert delays == [MINUTE * m for m in (1, 2, 4, 8, 16, 32)] + [HOUR] * 3
    assert FIXED.delay(0) == FIXED.delay(-3) == MINUTE  # no failure counts as the first


@pytest.mark.parametrize("failures", [41, 42, 64, 1_000, 10**6, 10**18])
def test_days_of_failures_never_overflow(failures: int) -> None:
    """The old formula overflowed at 42 failures in a row (2**41 minutes)."""
    assert FIXED.delay(failures) == HOUR
    assert POLICY.delay(failures) <= HOUR
    slow = RetryPolicy(base=timedelta(days=1), cap=timedelta(days=365), jitter=0.5)
    assert slow.delay(failures) <= timedelta(days=365)


def test_jitter_stays_within_its_bounds_and_under_the_cap() -> None:
    rng = random.Random(4)
    for failures in range(1, 12):
        nominal = min(MINUTE * 2 ** (failures - 1), HOUR)
        for _ in range(200):
            delay = POLICY.delay(failures, uniform=rng.uniform)
            assert nominal * 0.8 <= delay <= min(nominal * 1.2, HOUR)
    assert POLICY.delay(1, uniform=lambda low, high: low) == MINUTE * 0.8
    assert POLICY.delay(1, uniform=lambda low, high: high) == MINUTE * 1.2
    assert POLICY.delay(7, uniform=lambda low, high: high) == HOUR  # capped after jitter


def test_retry_after_is_a_floor_not_a_replacement() -> None:
    assert FIXED.delay(1, 1800) == timedelta(seconds=1800)  # more than the backoff: wins
    assert FIXED.delay(5, 30) == 16 * MINUTE  # less: the backoff of the failures in a row
    # Refusals asking for nothing, or for nonsense, still escalate like other failures.
    for retry_after in (0, -5, math.nan, math.inf, None):
        assert [FIXED.delay(n, retry_after) for n in (1, 2, 3)] == [MINUTE, 2 * MINUTE, 4 * MINUTE]
    # A floor longer than the cap is honoured (the client bounds Retry-After to an hour).
    assert FIXED.delay(20, 7200) == timedelta(hours=2)


@pytest.mark.parametrize(
    ("base", "cap", "jitter"),
    [(timedelta(0), HOUR, 0.2), (HOUR, MINUTE, 0.2), (MINUTE, HOUR, 1.0), (MINUTE, HOUR, -0.1)],
)
def test_a_policy_that_cannot_wait_is_refused(
    base: timedelta, cap: timedelta, jitter: float
) -> None:
    with pytest.raises(ValueError, match=r"base|jitter"):
        RetryPolicy(base=base, cap=cap, jitter=jitter)


def test_backoff_counts_failures_and_honours_the_429_behind_an_error() -> None:
    backoff = Backoff(FIXED)
    assert backoff.ready(NOW)
    wrapped = RuntimeError("refresh failed")
    wrapped.__cause__ = FlatpeakRateLimitError(429, "rate_limit_exceeded", "slow down", 1800)
    assert retry_after_of(wrapped) == 1800
    assert backoff.failed(NOW, wrapped) == timedelta(seconds=1800)
    assert backoff.failures == 1
    assert backoff.error == "refresh failed"
    assert not backoff.ready(NOW + timedelta(seconds=1799))
    assert backoff.ready(NOW + timedelta(seconds=1800))
    assert backoff.failed(NOW, FlatpeakApiError(503, None, "down")) == 2 * MINUTE
    backoff.succeeded()
    assert (backoff.failures, backoff.retry_at, backoff.error) == (0, None, None)
    assert backoff.failed(NOW, KeyError()) == MINUTE
    assert backoff.error == "KeyError"


def test_error_text_fits_a_state() -> None:
    text = error_text(FlatpeakApiError(503, "service_unavailable", "word " * 10_000))
    assert len(text) <= MAX_ERROR_CHARS
    assert text.startswith("503 service_unavailable: word word")
    assert text.endswith("word…")
    assert error_text("x" * 1000) == "x" * (MAX_ERROR_CHARS - 1) + "…"
    assert error_text("  short\n text ") == "short text"
