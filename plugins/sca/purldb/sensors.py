"""PurlDBMatchingSensor: wait for one PurlDB matching run (see sca.common.run_sensor)."""

from __future__ import annotations

from typing import Any

from sca.common.run_sensor import PipelineRunSensor
from sca.purldb.client import SERVICE, PurlDBClient
from sca.purldb.hook import PurlDBHook
from sca.purldb.triggers import PurlDBMatchingTrigger


class PurlDBMatchingSensor(PipelineRunSensor):
    service = SERVICE
    trigger_class = PurlDBMatchingTrigger

    def __init__(self, *, run_uuid: str, purldb_conn_id: str = PurlDBHook.default_conn_name, **kwargs: Any) -> None:
        kwargs.setdefault("timeout", 2 * 3600)
        super().__init__(run_uuid=run_uuid, conn_id=purldb_conn_id, **kwargs)

    def client(self) -> PurlDBClient:
        return PurlDBHook(self.conn_id).get_conn()
