"""PurlDBMatchingTrigger: the shared pipeline-run trigger over the PurlDB connection."""

from __future__ import annotations

from sca.common.run_trigger import PipelineRunTrigger, RunReader
from sca.purldb.hook import PurlDBHook


class PurlDBMatchingTrigger(PipelineRunTrigger):
    classpath = "sca.purldb.triggers.PurlDBMatchingTrigger"
    service = "PurlDB"

    async def client(self) -> RunReader:
        return await PurlDBHook(self.conn_id).aget_client()
