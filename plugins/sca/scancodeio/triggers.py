"""ScanCodeIORunTrigger: the shared pipeline-run trigger over the ScanCode.io connection."""

from __future__ import annotations

from sca.common.errors import PermanentServiceError
from sca.common.run_trigger import PipelineRunTrigger, RunReader
from sca.scancodeio.hook import ScanCodeIOHook


class ScanCodeIORunTrigger(PipelineRunTrigger):
    classpath = "sca.scancodeio.triggers.ScanCodeIORunTrigger"
    service = "ScanCode.io"

    async def client(self) -> RunReader:
        return await ScanCodeIOHook(self.conn_id).aget_client()

    async def stop_remote(self) -> None:
        """``stop_pipeline``: a running run ends ``stopped`` (the worker kills its job); a run that
        is not running answers 400 "Pipeline is not running." and is left as it is."""
        client = await ScanCodeIOHook(self.conn_id).aget_client()
        try:
            answer = await client.stop_pipeline(self.run_uuid)
        except PermanentServiceError as exc:
            self.log.info("ScanCode.io run %s was not stopped: %s", self.run_uuid, exc.detail)
            return
        self.log.info("Stopped ScanCode.io run %s: %s", self.run_uuid, answer.get("status"))
