"""PipelineRunTrigger: polls one ScanCode.io-style run (``/api/runs/{uuid}/``) from the triggerer.

Subclasses name their classpath, service and how to get an async client with ``get_run``.
Serializes only primitives; yields exactly one JSON-native event
``{"status": <run status>|"timeout"|"stalled"|"stuck_queued"|"error", "run_uuid", "message", "polls",
"execution_time", "hints"}``. New lines of the run's step log are written to the task log as they appear;
the poll interval backs off for long runs; an absolute ``deadline`` (epoch seconds) bounds the
wait. Any exception becomes an ``error`` event that names it (a trigger never crashes); a status
word not in ``RunStatus`` is an error once it has lasted ``unknown_status_budget`` seconds; a run
still ``running`` whose log and step have not changed for ``stall_budget`` seconds (a worker
killed with its job) ends the wait as ``stalled``, and a run still ``not_started`` or ``queued``
``queue_budget`` seconds after ``queued_since`` (epoch; its job lost) as ``stuck_queued``, for the
operator to recover.

With ``hint_service`` set (the run's project is subscribed to our webhook receiver, ``sca.hints``)
the waits between polls end early when the service reports the run ended, and the polls
themselves follow the sparse ``HINTED_SAFETY_SCHEDULE``; a hint the run's status does not bear out
turns hints off for the rest of the wait (back to the normal schedule).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any, ClassVar, Protocol

from airflow.triggers.base import BaseTrigger, TriggerEvent

from sca.common.errors import ServiceError
from sca.common.pipeline_run import RunStatus, run_failure_message
from sca.common.polling import HINTED_SAFETY_SCHEDULE, PollSchedule, until_deadline
from sca.common.trigger_kill import StopRemoteOnKill


def _ended_unheard(run: dict[str, Any], since: float, seconds: float) -> bool:
    """The run ended (success or failure, the endings that send a webhook) after ``since`` (epoch;
    while the trigger was listening) and over ``seconds`` ago: its webhook should have come."""
    if run.get("status") not in (RunStatus.SUCCESS.value, RunStatus.FAILURE.value) or not run.get("task_end_date"):
        return False
    try:
        ended = datetime.fromisoformat(str(run["task_end_date"])).timestamp()
    except ValueError:
        return False
    return ended >= since and time.time() - ended > seconds


class RunReader(Protocol):
    async def get_run(self, run_uuid: str) -> dict[str, Any]: ...


class PipelineRunTrigger(StopRemoteOnKill, BaseTrigger):
    classpath: ClassVar[str]
    service: ClassVar[str]

    def __init__(
        self,
        run_uuid: str,
        conn_id: str,
        deadline: float | None = None,
        poll_interval: float = 5.0,
        max_poll_interval: float = 60.0,
        first_poll_delay: float = 0.0,
        log_lines_seen: int = 0,
        unknown_status_budget: float = 120.0,
        stall_budget: float | None = None,
        queue_budget: float | None = None,
        queued_since: float | None = None,
        poll_share_of_elapsed: float = PollSchedule.share_of_elapsed,
        hint_service: str | None = None,
    ) -> None:
        super().__init__()
        self.run_uuid = run_uuid
        self.conn_id = conn_id
        self.deadline = deadline
        self.poll_interval = poll_interval
        self.max_poll_interval = max_poll_interval
        self.first_poll_delay = first_poll_delay
        self.log_lines_seen = log_lines_seen
        self.unknown_status_budget = unknown_status_budget
        self.stall_budget = stall_budget
        self.queue_budget = queue_budget
        self.queued_since = queued_since
        self.poll_share_of_elapsed = poll_share_of_elapsed
        self.hint_service = hint_service
        self.hints_seen = 0

    async def client(self) -> RunReader:
        raise NotImplementedError

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            self.classpath,
            {
                "run_uuid": self.run_uuid,
                "conn_id": self.conn_id,
                "deadline": self.deadline,
                "poll_interval": self.poll_interval,
                "max_poll_interval": self.max_poll_interval,
                "first_poll_delay": self.first_poll_delay,
                "log_lines_seen": self.log_lines_seen,
                "unknown_status_budget": self.unknown_status_budget,
                "stall_budget": self.stall_budget,
                "queue_budget": self.queue_budget,
                "queued_since": self.queued_since,
                "poll_share_of_elapsed": self.poll_share_of_elapsed,
                "hint_service": self.hint_service,
            },
        )

    async def stop_remote(self) -> None:
        """The service's way to stop the run; the base has none (see subclasses)."""
        self.log.info("%s has no API to stop run %s: it is left to finish", self.service, self.run_uuid)

    def _event(self, status: str, message: str, polls: int, run: dict[str, Any] | None = None) -> TriggerEvent:
        self.fired = True
        return TriggerEvent(
            {
                "status": status,
                "run_uuid": self.run_uuid,
                "message": message,
                "polls": polls,
                "execution_time": (run or {}).get("execution_time"),
                "hints": self.hints_seen,
            }
        )

    def _schedule(self) -> PollSchedule:
        if self.hint_service:
            return HINTED_SAFETY_SCHEDULE
        return PollSchedule(self.poll_interval, self.max_poll_interval, share_of_elapsed=self.poll_share_of_elapsed)

    async def _pause(self, seconds: float) -> bool:
        """Sleep ``seconds``; with hints on, wake early when the run's end is reported (True)."""
        if not self.hint_service:
            await asyncio.sleep(seconds)
            return False
        from sca.hints.watcher import wait_for_hint

        woken = await wait_for_hint(self.hint_service, self.run_uuid, seconds)
        self.hints_seen += int(woken)
        return woken

    def _hint_not_borne_out(self, status: str) -> None:
        self.log.warning(
            "%s reported run %s ended, but the run is %s: webhook hints are off for the rest of this wait",
            self.service,
            self.run_uuid,
            status,
        )
        self.hint_service = None

    async def run(self) -> AsyncIterator[TriggerEvent]:
        schedule = self._schedule()
        woken = False
        polls = 0
        what = f"{self.service} run {self.run_uuid}"
        unknown_since: float | None = None
        progress: tuple[Any, ...] | None = None
        progress_since = waiting_since = time.monotonic()
        started_at = time.time()
        try:
            if self.first_poll_delay:
                await asyncio.sleep(self.first_poll_delay)
            client = await self.client()
            while True:
                run = await client.get_run(self.run_uuid)
                polls += 1
                now = time.monotonic()
                lines = (run.get("log") or "").splitlines()
                for line in lines[self.log_lines_seen :]:
                    self.log.info("%s: %s", what, line)
                self.log_lines_seen = max(self.log_lines_seen, len(lines))
                word = run.get("status")
                try:
                    status = RunStatus(str(word))
                except ValueError:
                    unknown_since = unknown_since if unknown_since is not None else now
                    if now - unknown_since >= self.unknown_status_budget:
                        yield self._event(
                            "error",
                            f"{what} reports the status {word!r}, which is none of "
                            f"{', '.join(s.value for s in RunStatus)}; still so after "
                            f"{now - unknown_since:.0f} s ({polls} polls)",
                            polls,
                            run,
                        )
                        return
                    self.log.warning("%s reports an unknown status %r (poll %d)", what, word, polls)
                    await asyncio.sleep(
                        until_deadline(schedule.interval(polls - 1, time.monotonic() - waiting_since), self.deadline)
                    )
                    continue
                unknown_since = None
                if status.is_terminal:
                    if self.hint_service and not woken and _ended_unheard(run, started_at, 15.0):
                        self.log.warning(
                            "%s ended %s with no webhook seen: is the sca_webhooks base URL reachable from %s?",
                            what,
                            status.value,
                            self.service,
                        )
                    message = "" if status is RunStatus.SUCCESS else run_failure_message(run, self.service)
                    yield self._event(status.value, message, polls, run)
                    return
                if self.deadline is not None and time.time() >= self.deadline:
                    message = f"{what} still {status.value} at the deadline after {polls} polls"
                    yield self._event("timeout", message, polls, run)
                    return
                waiting = status in (RunStatus.NOT_STARTED, RunStatus.QUEUED)
                since = self.queued_since if self.queued_since is not None else started_at
                if waiting and self.queue_budget and time.time() - since >= self.queue_budget:
                    yield self._event(
                        "stuck_queued",
                        f"{what} is still {status.value} {time.time() - since:.0f} s after it was submitted, "
                        f"over its queue budget of {self.queue_budget:.0f} s; its job is probably lost",
                        polls,
                        run,
                    )
                    return
                # ScanCode.io's run API has no current step: its log (a line per step start and end,
                # "Progress: N%" lines in the long steps) is the only sign of progress.
                seen = (status, len(lines), run.get("task_start_date"))
                if seen != progress:
                    progress, progress_since = seen, now
                elif status is RunStatus.RUNNING and self.stall_budget and now - progress_since >= self.stall_budget:
                    yield self._event(
                        "stalled",
                        f"{what} has been running with no new log line for {now - progress_since:.0f} s "
                        f"(last: {lines[-1] if lines else 'none'}); its worker is probably gone",
                        polls,
                        run,
                    )
                    return
                if woken:  # a hint said the run ended; its status says not
                    self._hint_not_borne_out(status.value)
                    schedule = self._schedule()
                self.log.info("%s is %s (poll %d)", what, status.value, polls)
                woken = await self._pause(
                    until_deadline(schedule.interval(polls - 1, time.monotonic() - waiting_since), self.deadline)
                )
                if woken:
                    self.log.info("%s reported the end of run %s: polling now", self.service, self.run_uuid)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a trigger never dies with a traceback: the task gets the cause
            detail = str(exc) if isinstance(exc, ServiceError) else f"{what}: {type(exc).__name__}: {exc}"
            yield self._event("error", detail, polls)
