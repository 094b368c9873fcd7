"""FossIDStatusTrigger: polls ``check_status`` for one scan operation or process (async only).

Yields one JSON-native event ``{"status": FINISHED|FAILED|CANCELLED|timeout|over_budget|error,
"scan_code", "status_type", "process_id", "message", "percentage", "polls"}``; logs progress as it
goes. ``over_budget``: the operation has been RUNNING for ``run_budget`` seconds (a hung scanner);
the operator decides what to do (a scan is cancelled and run again once).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from sca.common.errors import ServiceError
from sca.common.polling import PollSchedule, until_deadline
from sca.common.trigger_kill import StopRemoteOnKill
from sca.fossid.hook import FossIDHook
from sca.fossid.status import FossIDStatus


class FossIDStatusTrigger(StopRemoteOnKill, BaseTrigger):
    def __init__(
        self,
        scan_code: str | None,
        status_type: str = "SCAN",
        process_id: str | None = None,
        entity: str = "scans",
        fossid_conn_id: str = FossIDHook.default_conn_name,
        deadline: float | None = None,
        poll_interval: float = 5.0,
        max_poll_interval: float = 60.0,
        first_poll_delay: float = 0.0,
        unknown_status_budget: float = 120.0,
        run_budget: float | None = None,
    ) -> None:
        super().__init__()
        self.scan_code = scan_code
        self.status_type = status_type
        self.process_id = process_id
        self.entity = entity
        self.fossid_conn_id = fossid_conn_id
        self.deadline = deadline
        self.poll_interval = poll_interval
        self.max_poll_interval = max_poll_interval
        self.first_poll_delay = first_poll_delay
        self.unknown_status_budget = unknown_status_budget
        self.run_budget = run_budget

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            "sca.fossid.triggers.FossIDStatusTrigger",
            {
                "scan_code": self.scan_code,
                "status_type": self.status_type,
                "process_id": self.process_id,
                "entity": self.entity,
                "fossid_conn_id": self.fossid_conn_id,
                "deadline": self.deadline,
                "poll_interval": self.poll_interval,
                "max_poll_interval": self.max_poll_interval,
                "first_poll_delay": self.first_poll_delay,
                "unknown_status_budget": self.unknown_status_budget,
                "run_budget": self.run_budget,
            },
        )

    async def stop_remote(self) -> None:
        """A scan is stopped with ``scans/cancel_run``; Workbench has no call to stop an archive
        extraction, a dependency analysis or a report generation, which are left to finish."""
        if self.status_type != "SCAN" or not self.scan_code:
            self.log.info("FossID has no call to stop %s of %s: left to finish", self.status_type, self.scan_code)
            return
        client = await FossIDHook(self.fossid_conn_id).aget_client()
        await client.cancel_run(self.scan_code)
        self.log.info("Cancelled FossID scan %s", self.scan_code)

    def _event(self, status: str, message: str, percentage: int | None, polls: int) -> TriggerEvent:
        self.fired = True
        return TriggerEvent(
            {
                "status": status,
                "scan_code": self.scan_code,
                "status_type": self.status_type,
                "process_id": self.process_id,
                "message": message,
                "percentage": percentage,
                "polls": polls,
            }
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        schedule = PollSchedule(self.poll_interval, self.max_poll_interval)
        polls = 0
        what = f"FossID {self.status_type} of {self.scan_code or self.entity}" + (
            f" (process {self.process_id})" if self.process_id else ""
        )
        unknown_since: float | None = None
        running_since: float | None = None
        waiting_since = time.monotonic()
        try:
            if self.first_poll_delay:
                await asyncio.sleep(self.first_poll_delay)
            client = await FossIDHook(self.fossid_conn_id).aget_client()
            while True:
                status = await client.check_status(self.scan_code, self.status_type, self.process_id, self.entity)
                polls += 1
                self.log.info("%s: %s %s%%", what, status.word or status.status.value, status.percentage)
                if status.is_terminal:
                    yield self._event(status.status.value, status.comment, status.percentage, polls)
                    return
                now = time.monotonic()
                if status.status is FossIDStatus.UNKNOWN:
                    unknown_since = unknown_since if unknown_since is not None else now
                    if now - unknown_since >= self.unknown_status_budget:
                        message = (
                            f"{what} reports the status {status.word!r}, which this client does not know; "
                            f"still so after {now - unknown_since:.0f} s ({polls} polls)"
                        )
                        yield self._event("error", message, status.percentage, polls)
                        return
                else:
                    unknown_since = None
                # the budget counts running time this trigger saw (a triggerer restart starts it
                # again: it can only be later, never early)
                running_since = (running_since or now) if status.status is FossIDStatus.RUNNING else None
                if self.run_budget and running_since is not None and now - running_since >= self.run_budget:
                    message = (
                        f"{what} has been RUNNING for {now - running_since:.0f} s, over its budget of "
                        f"{self.run_budget:.0f} s (at {status.percentage}%)"
                    )
                    yield self._event("over_budget", message, status.percentage, polls)
                    return
                if self.deadline is not None and time.time() >= self.deadline:
                    yield self._event(
                        "timeout", f"{what} still {status.status.value} at the deadline", status.percentage, polls
                    )
                    return
                await asyncio.sleep(
                    until_deadline(schedule.interval(polls - 1, time.monotonic() - waiting_since), self.deadline)
                )
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a trigger never dies with a traceback: the task gets the cause
            detail = str(exc) if isinstance(exc, ServiceError) else f"{what}: {type(exc).__name__}: {exc}"
            yield self._event("error", detail, None, polls)
