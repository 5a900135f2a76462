"""The one retry policy: how long every path that talks to Flatpeak waits after failures.

Uploads, prices, costs and session costs all back off the same way: exponentially from a
base, jittered, never above a cap, and never sooner than a 429's ``Retry-After``. Pure: no
Home Assistant, so the arithmetic is tested on its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
import math
import random

from ..client import FlatpeakRateLimitError
from ..client.answers import shorten

# Doubling stops here whatever the cap: 2**16 bases is past any cap in use, and failures in
# a row can go on for days without the arithmetic growing (it overflowed at 2**41 minutes).
MAX_EXPONENT = 16
# What a failure is remembered as, for a state or a message (HA states hold 255 characters).
MAX_ERROR_CHARS = 200


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """``base`` after the first failure, doubled per failure in a row, at most ``cap``,
    spread by ±``jitter`` (a fraction) so that many homes do not retry in step."""

    base: timedelta
    cap: timedelta
    jitter: float = 0.2

    def __post_init__(self) -> None:
        """Refuse a policy that could never wait, or whose jitter could reach zero."""
        if self.base <= timedelta(0) or self.cap < self.base:
            raise ValueError(f"need 0 < base <= cap, got {self.base} and {self.cap}")
        if not 0 <= self.jitter < 1:
            raise ValueError(f"jitter must be in [0, 1), got {self.jitter}")

    def delay(
        self,
        failures: int,
        retry_after: float | None = None,
        *,
        uniform: Callable[[float, float], float] = random.uniform,
    ) -> timedelta:
        """How long to wait after ``failures`` failures in a row (the first is 1).

        ``max(backoff, retry_after)``: the jittered backoff is never above ``cap``, and a
        server's ``Retry-After`` (seconds; unusable values ignored) is a floor, so repeated
        refusals escalate like any other failure even when each asks for little or nothing.
        """
        exponent = min(max(failures, 1) - 1, MAX_EXPONENT)
        backoff = min(self.base * (1 << exponent), self.cap)
        if self.jitter:
            # jitter, not crypto
            backoff = min(backoff * uniform(1 - self.jitter, 1 + self.jitter), self.cap)
        if retry_after is not None and math.isfinite(retry_after) and retry_after > 0:
            backoff = max(backoff, timedelta(seconds=retry_after))
        return backoff


def retry_after_of(err: BaseException) -> float | None:
    """The ``Retry-After`` of a 429 behind ``err`` (itself or what it was raised from)."""
    seen: set[int] = set()
    cause: BaseException | None = err
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, FlatpeakRateLimitError):
            return cause.retry_after
        seen.add(id(cause))
        cause = cause.__cause__
    return None


def error_text(err: BaseException | str) -> str:
    """A failure in a few words, short enough for a state: its message, else its kind."""
    if isinstance(err, BaseException):
        err = str(err) or type(err).__name__
    return shorten(err, MAX_ERROR_CHARS)


class Backoff:
    """One retry path's failures in a row, and when it may ask Flatpeak again."""

    def __init__(self, policy: RetryPolicy) -> None:
        """Start ready, with no failure."""
        self.policy = policy
        self.failures = 0
        self.retry_at: datetime | None = None
        self.error: str | None = None

    def ready(self, now: datetime) -> bool:
        """Whether the path may ask again at ``now``."""
        return self.retry_at is None or now >= self.retry_at

    def failed(self, now: datetime, err: BaseException) -> timedelta:
        """Count a failure at ``now`` and return the wait before the next attempt (a 429's
        ``Retry-After`` behind ``err`` is its floor)."""
        self.failures += 1
        self.error = error_text(err)
        delay = self.policy.delay(self.failures, retry_after_of(err))
        self.retry_at = now + delay
        return delay

    def succeeded(self) -> None:
        """The path works: the next failure starts from the base again."""
        self.failures = 0
        self.retry_at = None
        self.error = None
