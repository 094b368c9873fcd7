"""Poll intervals that back off for long runs: quick at first, then every ``max_interval``, then a
share of the time already waited (a run that has taken an hour is not expected to end within the
next minute, so it is asked every few minutes, not every 30 s)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class PollSchedule:
    initial_interval: float = 5.0
    max_interval: float = 60.0
    factor: float = 1.5
    # Past ``max_interval / share_of_elapsed`` of waiting, the interval is this share of the time
    # waited so far (at most ``max_elapsed_interval``): the end is noticed within 10 % of the
    # run's length, and an hour-long run costs ~40 polls instead of ~120 (bench P2).
    share_of_elapsed: float = 0.1
    max_elapsed_interval: float = 600.0

    def interval(self, poll_number: int, elapsed: float = 0.0) -> float:
        """Seconds to sleep after poll ``poll_number`` (0-based), ``elapsed`` seconds into the wait."""
        backoff = min(self.max_interval, self.initial_interval * (self.factor**poll_number))
        return max(backoff, min(self.max_elapsed_interval, self.share_of_elapsed * max(0.0, elapsed)))


# A wait that a run-end webhook can end (sca.hints) polls only to catch what sends no webhook
# (stopped and stale runs, a delivery lost): every minute for the first four, then every quarter
# of the time waited, at most every 15 min. An hour-long scan costs ~16 of these (bench P2).
HINTED_SAFETY_SCHEDULE = PollSchedule(
    initial_interval=60.0, max_interval=60.0, factor=1.0, share_of_elapsed=0.25, max_elapsed_interval=900.0
)


def until_deadline(seconds: float, deadline: float | None) -> float:
    """``seconds``, cut so that a sleep ends by ``deadline`` (epoch seconds) when there is one."""
    if deadline is None:
        return seconds
    return max(1.0, min(seconds, deadline - time.time()))


# Waits shorter than this are done in the worker instead of deferring; and a trigger's first
# poll comes no sooner than this. Together they keep Airflow 3.3.2's deferral race away (a
# trigger that fires before the scheduler has processed the task's defer-exit gets the task
# marked FAILED: apache/airflow#67287, #71580); measured: 0 failures in 2 x 200 runs with 10 s.
SYNC_GRACE_SECONDS = 10.0
FIRST_POLL_DELAY = 10.0


# Work still waiting for a server worker this long after it was started (the server is busy), or
# whose progress says it will not end within the grace, frees its worker slot at once.
QUEUE_GRACE_SECONDS = 3.0


def wait_briefly(
    is_done: Callable[[], bool],
    grace_seconds: float,
    interval: float = 1.0,
    *,
    behind: Callable[[], bool] | None = None,
    queue_grace: float = QUEUE_GRACE_SECONDS,
) -> bool:
    """Poll ``is_done`` in the worker for up to ``grace_seconds``; True once it says done.

    ``behind`` (asked after each ``is_done``, about the same answer) says the work cannot end
    within the grace: still in the server's queue, or its own progress says so. After
    ``queue_grace`` seconds of that the wait gives up early (False) and frees the worker slot."""
    started = time.monotonic()
    deadline = started + grace_seconds
    queued_since: float | None = None
    while True:
        if is_done():
            return True
        now = time.monotonic()
        if behind is not None and behind():
            queued_since = now if queued_since is None else queued_since
            if now - queued_since >= queue_grace:
                return False
        else:
            queued_since = None
        if now + interval > deadline:
            return False
        time.sleep(interval)


def ends_after(percentage: int | None, elapsed: float, within: float) -> bool:
    """Work ``percentage`` % done after ``elapsed`` seconds, at that pace, ends after ``within``
    seconds from its start (unknown progress: False; nothing done yet after a second: True)."""
    if percentage is None:
        return False
    if percentage <= 0:
        return elapsed >= 1.0
    return elapsed * 100.0 / percentage > within
