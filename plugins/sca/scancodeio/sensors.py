"""ScanCodeIORunSensor: wait for one run; deferrable by default (defers only if not terminal)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from airflow.sdk import BaseSensorOperator, Context

from sca.common.fail_fast import FailFastOnPermanentErrors
from sca.common.pipeline_run import raise_for_event, raise_for_run
from sca.common.polling import FIRST_POLL_DELAY
from sca.scancodeio.client import SERVICE
from sca.scancodeio.hook import ScanCodeIOHook
from sca.scancodeio.status import RunStatus
from sca.scancodeio.triggers import ScanCodeIORunTrigger


class ScanCodeIORunSensor(FailFastOnPermanentErrors, BaseSensorOperator):
    template_fields: Sequence[str] = ("run_uuid",)

    def __init__(
        self,
        *,
        run_uuid: str,
        scancodeio_conn_id: str = ScanCodeIOHook.default_conn_name,
        deferrable: bool = True,
        max_poll_interval: float = 60.0,
        first_poll_delay: float = FIRST_POLL_DELAY,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("timeout", timedelta(hours=6).total_seconds())
        super().__init__(**kwargs)
        self.run_uuid = run_uuid
        self.scancodeio_conn_id = scancodeio_conn_id
        self.deferrable = deferrable
        self.max_poll_interval = max_poll_interval
        self.first_poll_delay = first_poll_delay

    def poke(self, context: Context) -> bool:
        run = ScanCodeIOHook(self.scancodeio_conn_id).get_conn().get_run(self.run_uuid)
        return raise_for_run(run) is RunStatus.SUCCESS

    def execute(self, context: Context) -> Any:
        if not self.deferrable:
            return super().execute(context)
        if self.poke(context):
            return {"status": RunStatus.SUCCESS.value, "run_uuid": self.run_uuid}
        self.defer(
            trigger=ScanCodeIORunTrigger(
                run_uuid=self.run_uuid,
                conn_id=self.scancodeio_conn_id,
                deadline=time.time() + float(self.timeout),
                poll_interval=float(self.poke_interval),
                max_poll_interval=self.max_poll_interval,
                first_poll_delay=self.first_poll_delay,
            ),
            method_name="execute_complete",
        )

    def execute_complete(self, context: Context, event: dict[str, Any]) -> dict[str, Any]:
        raise_for_event(event, SERVICE)
        return event
