"""PurlDBMatchingTrigger: the shared pipeline-run trigger over the PurlDB connection."""

from __future__ import annotations

from sca.common.errors import PermanentServiceError
from sca.common.pipeline_run import RunStatus
from sca.common.run_trigger import PipelineRunTrigger, RunReader
from sca.purldb.client import AsyncPurlDBClient
from sca.purldb.hook import PurlDBHook


class PurlDBMatchingTrigger(PipelineRunTrigger):
    classpath = "sca.purldb.triggers.PurlDBMatchingTrigger"
    service = "PurlDB"

    async def client(self) -> RunReader:
        return await PurlDBHook(self.conn_id).aget_client()

    async def stop_remote(self) -> None:
        """A running matching run is stopped, one not started yet is deleted with its queued job
        (scanpipe's RunViewSet actions, which PurlDB's runs route serves: matchcode/api.py:337)."""
        client: AsyncPurlDBClient = await PurlDBHook(self.conn_id).aget_client()
        status = RunStatus((await client.get_run(self.run_uuid))["status"])
        try:
            if status is RunStatus.RUNNING:
                await client.stop_run(self.run_uuid)
                self.log.info("Stopped PurlDB matching run %s", self.run_uuid)
            elif status in (RunStatus.NOT_STARTED, RunStatus.QUEUED):
                await client.delete_run(self.run_uuid)
                self.log.info("Deleted PurlDB matching run %s before it started", self.run_uuid)
            else:
                self.log.info("PurlDB matching run %s has ended (%s): nothing to stop", self.run_uuid, status.value)
        except PermanentServiceError as exc:  # it moved on between the read and the call
            self.log.info("PurlDB matching run %s: %s", self.run_uuid, exc)
