"""PurlDBMatchingTrigger: the shared pipeline-run trigger over the PurlDB connection."""

from __future__ import annotations

from sca.common.run_trigger import PipelineRunTrigger, RunReader
from sca.purldb.hook import PurlDBHook


class PurlDBMatchingTrigger(PipelineRunTrigger):
    classpath = "sca.purldb.triggers.PurlDBMatchingTrigger"
    service = "PurlDB"

    async def client(self) -> RunReader:
        return await PurlDBHook(self.conn_id).aget_client()

    async def stop_remote(self) -> None:
        # PurlDB's matching API (matchcode/api.py) has no action to stop a matching run: it
        # finishes on the server, and the ledger lets a later run reuse it.
        self.log.info("PurlDB has no API to stop matching run %s: it is left to finish", self.run_uuid)
