"""PipelineRunSensor: waits for one ScanCode.io-style run (ScanCode.io runs, PurlDB matching runs).

Deferrable by default: it checks once and defers to the service's run trigger only when the run is
not terminal; a failed/stopped/stale run raises ``RunFailedError`` with the run's output tail.
Subclasses say which service, which trigger, and how to get a sync client with ``get_run``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta
from typing import Any, ClassVar, Protocol

from airflow.sdk import BaseSensorOperator, Context

from sca.common.deferrable import DEFAULT_DEFERRABLE
from sca.common.fail_fast import FailFastOnPermanentErrors
from sca.common.pipeline_run import RunStatus, raise_for_event, raise_for_run
from sca.common.polling import FIRST_POLL_DELAY
from sca.common.run_trigger import PipelineRunTrigger


class SyncRunReader(Protocol):
    def get_run(self, run_uuid: str) -> dict[str, Any]: ...


class PipelineRunSensor(FailFastOnPermanentErrors, BaseSensorOperator):
    service: ClassVar[str]
    trigger_class: ClassVar[type[PipelineRunTrigger]]
    template_fields: Sequence[str] = ("run_uuid", "conn_id")

    def __init__(
        self,
        *,
        run_uuid: str,
        conn_id: str,
        deferrable: bool = DEFAULT_DEFERRABLE,
        max_poll_interval: float = 60.0,
        first_poll_delay: float = FIRST_POLL_DELAY,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("timeout", timedelta(hours=6).total_seconds())
        super().__init__(**kwargs)
        self.run_uuid = run_uuid
        self.conn_id = conn_id
        self.deferrable = deferrable
        self.max_poll_interval = max_poll_interval
        self.first_poll_delay = first_poll_delay

    def client(self) -> SyncRunReader:
        raise NotImplementedError

    def poke(self, context: Context) -> bool:
        return raise_for_run(self.client().get_run(self.run_uuid), self.service) is RunStatus.SUCCESS

    def execute(self, context: Context) -> Any:
        if not self.deferrable:
            return super().execute(context)
        if self.poke(context):
            return {"status": RunStatus.SUCCESS.value, "run_uuid": self.run_uuid}
        self.defer(
            trigger=self.trigger_class(
                run_uuid=self.run_uuid,
                conn_id=self.conn_id,
                deadline=time.time() + float(self.timeout),
                poll_interval=float(self.poke_interval),
                max_poll_interval=self.max_poll_interval,
                first_poll_delay=self.first_poll_delay,
            ),
            method_name="execute_complete",
        )

    def execute_complete(self, context: Context, event: dict[str, Any]) -> dict[str, Any]:
        raise_for_event(event, self.service)
        return event
