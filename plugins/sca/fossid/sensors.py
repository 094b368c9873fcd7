"""FossIDStatusSensor: wait for a scan operation or report/delete process; deferrable by default."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseSensorOperator, Context

from sca.common.deferrable import DEFAULT_DEFERRABLE
from sca.common.errors import RunFailedError
from sca.common.fail_fast import FailFastOnPermanentErrors
from sca.common.pipeline_run import raise_for_wait_problem
from sca.common.polling import FIRST_POLL_DELAY
from sca.fossid.client import SERVICE
from sca.fossid.hook import FossIDHook
from sca.fossid.status import FossIDStatus
from sca.fossid.triggers import FossIDStatusTrigger


class FossIDStatusSensor(FailFastOnPermanentErrors, BaseSensorOperator):
    template_fields: Sequence[str] = ("scan_code", "process_id", "fossid_conn_id")

    def __init__(
        self,
        *,
        scan_code: str | None,
        status_type: str = "SCAN",
        process_id: str | None = None,
        fossid_conn_id: str = FossIDHook.default_conn_name,
        deferrable: bool = DEFAULT_DEFERRABLE,
        first_poll_delay: float = FIRST_POLL_DELAY,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("timeout", 8 * 3600)
        super().__init__(**kwargs)
        self.scan_code = scan_code
        self.status_type = status_type
        self.process_id = process_id
        self.fossid_conn_id = fossid_conn_id
        self.deferrable = deferrable
        self.first_poll_delay = first_poll_delay

    def poke(self, context: Context) -> bool:
        status = (
            FossIDHook(self.fossid_conn_id).get_conn().check_status(self.scan_code, self.status_type, self.process_id)
        )
        self.log.info(
            "FossID %s of %s: %s %s%%", self.status_type, self.scan_code, status.status.value, status.percentage
        )
        if status.status in (FossIDStatus.FAILED, FossIDStatus.CANCELLED):
            raise RunFailedError(
                f"FossID {self.status_type} of {self.scan_code} {status.status.value}: {status.comment}",
                service=SERVICE,
            )
        return status.status is FossIDStatus.FINISHED

    def execute(self, context: Context) -> Any:
        if not self.deferrable or self.poke(context):
            return super().execute(context) if not self.deferrable else {"status": "FINISHED"}
        self.defer(
            trigger=FossIDStatusTrigger(
                scan_code=self.scan_code,
                status_type=self.status_type,
                process_id=self.process_id,
                fossid_conn_id=self.fossid_conn_id,
                deadline=time.time() + float(self.timeout),
                poll_interval=float(self.poke_interval),
                first_poll_delay=self.first_poll_delay,
            ),
            method_name="execute_complete",
        )

    def execute_complete(self, context: Context, event: dict[str, Any]) -> dict[str, Any]:
        raise_for_wait_problem(event, SERVICE)
        if event["status"] != FossIDStatus.FINISHED:
            raise RunFailedError(
                f"FossID {self.status_type} of {self.scan_code} {event['status']}: {event['message']}", service=SERVICE
            )
        return event
