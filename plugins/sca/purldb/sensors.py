"""PurlDBMatchingSensor: wait for a PurlDB matching run; deferrable by default."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseSensorOperator, Context

from sca.common.fail_fast import FailFastOnPermanentErrors
from sca.common.pipeline_run import RunStatus, raise_for_event, raise_for_run
from sca.common.polling import FIRST_POLL_DELAY
from sca.purldb.client import SERVICE
from sca.purldb.hook import PurlDBHook
from sca.purldb.triggers import PurlDBMatchingTrigger


class PurlDBMatchingSensor(FailFastOnPermanentErrors, BaseSensorOperator):
    template_fields: Sequence[str] = ("run_uuid",)

    def __init__(
        self,
        *,
        run_uuid: str,
        purldb_conn_id: str = PurlDBHook.default_conn_name,
        deferrable: bool = True,
        first_poll_delay: float = FIRST_POLL_DELAY,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("timeout", 2 * 3600)
        super().__init__(**kwargs)
        self.run_uuid = run_uuid
        self.purldb_conn_id = purldb_conn_id
        self.deferrable = deferrable
        self.first_poll_delay = first_poll_delay

    def poke(self, context: Context) -> bool:
        run = PurlDBHook(self.purldb_conn_id).get_conn().get_run(self.run_uuid)
        return raise_for_run(run, SERVICE) is RunStatus.SUCCESS

    def execute(self, context: Context) -> Any:
        if not self.deferrable:
            return super().execute(context)
        if self.poke(context):
            return {"status": RunStatus.SUCCESS.value, "run_uuid": self.run_uuid}
        self.defer(
            trigger=PurlDBMatchingTrigger(
                run_uuid=self.run_uuid,
                conn_id=self.purldb_conn_id,
                deadline=time.time() + float(self.timeout),
                poll_interval=float(self.poke_interval),
                first_poll_delay=self.first_poll_delay,
            ),
            method_name="execute_complete",
        )

    def execute_complete(self, context: Context, event: dict[str, Any]) -> dict[str, Any]:
        raise_for_event(event, SERVICE)
        return event
