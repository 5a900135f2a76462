"""An account's rate limit as Flatpeak last stated it: no request before it has passed."""

from __future__ import annotations

from collections.abc import Callable
import math
import time


class RateLimit:
    """When the next request of an account may be sent, after Flatpeak answered 429.

    A rate limit is the account's, not one endpoint's: after a 429 on any call, every client
    holding this object refuses every call locally until the wait has passed (see
    :class:`~.client.FlatpeakClient`). Share one object between the clients of one account.

    ``now`` gives seconds (default :func:`time.monotonic`); a caller with a clock of its own
    (or a simulated one) passes it. A clock set back never makes a wait longer than asked.
    """

    def __init__(self, now: Callable[[], float] = time.monotonic) -> None:
        """Start with no wait."""
        self._now = now
        self._until: float | None = None
        self._asked = 0.0

    def remaining(self) -> float:
        """Seconds left before a request may be sent; 0 when it may be sent now."""
        if self._until is None:
            return 0.0
        now = self._now()
        left = self._until - now
        if left <= 0:
            self._until = None
            return 0.0
        if left > self._asked:  # the clock was set back: no longer than asked from now
            self._until = now + self._asked
            return self._asked
        return left

    def wait(self, seconds: float) -> None:
        """Flatpeak asked for ``seconds`` of quiet from now; a longer wait already known wins.

        Zero, negative and non-finite values are ignored: the client bounds what a server
        asks for before it gets here.
        """
        if not math.isfinite(seconds) or seconds <= 0:
            return
        now = self._now()
        if self._until is None or now + seconds > self._until:
            self._until = now + seconds
            self._asked = seconds
