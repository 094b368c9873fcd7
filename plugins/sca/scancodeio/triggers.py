"""ScanCodeIORunTrigger: the shared pipeline-run trigger over the ScanCode.io connection."""

from __future__ import annotations

from sca.common.run_trigger import PipelineRunTrigger, RunReader
from sca.scancodeio.hook import ScanCodeIOHook


class ScanCodeIORunTrigger(PipelineRunTrigger):
    classpath = "sca.scancodeio.triggers.ScanCodeIORunTrigger"
    service = "ScanCode.io"

    async def client(self) -> RunReader:
        return await ScanCodeIOHook(self.conn_id).aget_client()
