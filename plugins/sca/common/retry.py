"""The one retry policy every client shares, on tenacity: which failures are retried, how long to
wait between attempts, and when to give up.

The sync transport, the async transport (triggers) and the input fetch all call
``RetryPolicy.call`` / ``RetryPolicy.acall`` with a function that makes one attempt and a
predicate that says whether the error it raised may be retried. Waits are jittered exponential
backoff, capped, and a server's ``Retry-After`` is honoured (bounded). Attempts and total time are
both bounded, so an outage ends in a clear error rather than a loop.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import tenacity

log = logging.getLogger(__name__)

RETRYABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
T = TypeVar("T")


def is_retryable_status(status: int) -> bool:
    return status in RETRYABLE_STATUSES or status >= 500


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter, capped; honours a server's Retry-After; bounded in
    attempts and in total seconds (the first limit reached ends the retries)."""

    attempts: int = 5
    initial_delay: float = 1.0
    max_delay: float = 30.0
    max_retry_after: float = 120.0
    max_total_seconds: float = 900.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after)
        ceiling = min(self.max_delay, self.initial_delay * (2 ** (attempt - 1)))
        return random.uniform(ceiling / 2, ceiling)

    def _wait(self, state: tenacity.RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        return self.delay(state.attempt_number, getattr(error, "retry_after", None))

    def _stop(self) -> tenacity.stop.stop_base:
        return tenacity.stop_after_attempt(self.attempts) | tenacity.stop_after_delay(self.max_total_seconds)

    def _settings(self, retry_if: Callable[[BaseException], bool]) -> dict[str, Any]:
        return {
            "stop": self._stop(),
            "wait": self._wait,
            "retry": tenacity.retry_if_exception(retry_if),
            "before_sleep": self._before_sleep,
            "reraise": True,
        }

    @staticmethod
    def _before_sleep(state: tenacity.RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        log.warning("%s (attempt %d), retrying in %.1f s", error, state.attempt_number, wait)

    def call(
        self,
        attempt: Callable[[], T],
        *,
        retry_if: Callable[[BaseException], bool],
        sleep: Callable[[float], None] = time.sleep,
    ) -> T:
        """Run ``attempt`` until it returns, or raise its last error once ``retry_if`` says no
        or the attempts or the total time are spent."""
        return tenacity.Retrying(sleep=sleep, **self._settings(retry_if))(attempt)

    async def acall(
        self,
        attempt: Callable[[], Awaitable[T]],
        *,
        retry_if: Callable[[BaseException], bool],
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> T:
        """``call`` for coroutines (triggers): the waits are ``asyncio.sleep``, never blocking."""
        return await tenacity.AsyncRetrying(sleep=sleep, **self._settings(retry_if))(attempt)


def act_once[R](
    policy: RetryPolicy,
    act: Callable[[], R],
    already_done: Callable[[], R | None],
    *,
    is_transient: Callable[[BaseException], bool],
    sleep: Callable[[float], None] = time.sleep,
    what: str = "the request",
) -> R:
    """Perform a request that changes the server (create, upload, start) at most once in effect.

    After a transient failure the server may have acted before the answer was lost, so before
    sending it again ``already_done`` looks for its effect (the object by its deterministic name,
    the upload in the project's inputs, the run's state); when found, that is the result. Only
    when it is not found is the request sent again, under the same bounded policy."""
    failed_before = False

    def attempt() -> R:
        nonlocal failed_before
        if failed_before:
            found = already_done()
            if found is not None:
                log.warning("%s had been done before its answer was lost: not sent again", what)
                return found
        try:
            return act()
        except BaseException as exc:
            if is_transient(exc):
                failed_before = True
            raise

    return policy.call(attempt, retry_if=is_transient, sleep=sleep)


def parse_retry_after(value: str | None) -> float | None:
    """The Retry-After header in seconds (the HTTP-date form is treated as absent)."""
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        return None
