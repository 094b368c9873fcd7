"""ScanCodeIORunSensor: wait for one ScanCode.io run (see sca.common.run_sensor)."""

from __future__ import annotations

from typing import Any

from sca.common.run_sensor import PipelineRunSensor
from sca.scancodeio.client import SERVICE, ScanCodeIOClient
from sca.scancodeio.hook import ScanCodeIOHook
from sca.scancodeio.triggers import ScanCodeIORunTrigger


class ScanCodeIORunSensor(PipelineRunSensor):
    service = SERVICE
    trigger_class = ScanCodeIORunTrigger

    def __init__(
        self, *, run_uuid: str, scancodeio_conn_id: str = ScanCodeIOHook.default_conn_name, **kwargs: Any
    ) -> None:
        super().__init__(run_uuid=run_uuid, conn_id=scancodeio_conn_id, **kwargs)

    def client(self) -> ScanCodeIOClient:
        return ScanCodeIOHook(self.conn_id).get_conn()
