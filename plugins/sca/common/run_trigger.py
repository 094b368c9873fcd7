"""PipelineRunTrigger: polls one ScanCode.io-style run (``/api/runs/{uuid}/``) from the triggerer.

Subclasses name their classpath, service and how to get an async client with ``get_run``.
Serializes only primitives; yields exactly one JSON-native event
``{"status": <run status>|"timeout"|"error", "run_uuid", "message", "polls", "execution_time"}``.
New lines of the run's step log are written to the task log as they appear; the poll interval
backs off for long runs; an absolute ``deadline`` (epoch seconds) bounds the wait.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any, ClassVar, Protocol

from airflow.triggers.base import BaseTrigger, TriggerEvent

from sca.common.errors import ServiceError
from sca.common.pipeline_run import RunStatus, run_failure_message
from sca.common.polling import PollSchedule


class RunReader(Protocol):
    async def get_run(self, run_uuid: str) -> dict[str, Any]: ...


class PipelineRunTrigger(BaseTrigger):
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
    ) -> None:
        super().__init__()
        self.run_uuid = run_uuid
        self.conn_id = conn_id
        self.deadline = deadline
        self.poll_interval = poll_interval
        self.max_poll_interval = max_poll_interval
        self.first_poll_delay = first_poll_delay
        self.log_lines_seen = log_lines_seen

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
            },
        )

    def _event(self, status: str, message: str, polls: int, run: dict[str, Any] | None = None) -> TriggerEvent:
        return TriggerEvent(
            {
                "status": status,
                "run_uuid": self.run_uuid,
                "message": message,
                "polls": polls,
                "execution_time": (run or {}).get("execution_time"),
            }
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        schedule = PollSchedule(self.poll_interval, self.max_poll_interval)
        polls = 0
        try:
            if self.first_poll_delay:
                await asyncio.sleep(self.first_poll_delay)
            client = await self.client()
            while True:
                run = await client.get_run(self.run_uuid)
                polls += 1
                status = RunStatus(run["status"])
                lines = (run.get("log") or "").splitlines()
                for line in lines[self.log_lines_seen :]:
                    self.log.info("%s run %s: %s", self.service, self.run_uuid, line)
                self.log_lines_seen = max(self.log_lines_seen, len(lines))
                if status.is_terminal:
                    message = "" if status is RunStatus.SUCCESS else run_failure_message(run, self.service)
                    yield self._event(status.value, message, polls, run)
                    return
                if self.deadline is not None and time.time() >= self.deadline:
                    yield self._event(
                        "timeout",
                        f"{self.service} run {self.run_uuid} still {status.value} at the deadline after {polls} polls",
                        polls,
                        run,
                    )
                    return
                self.log.info("%s run %s is %s (poll %d)", self.service, self.run_uuid, status.value, polls)
                await asyncio.sleep(schedule.interval(polls - 1))
        except ServiceError as exc:
            yield self._event("error", str(exc), polls)
