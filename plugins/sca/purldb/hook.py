"""PurlDBHook: connection → PurlDB clients.

Connection (type ``purldb``; ``http`` works too): host + port (+ schema), the
API token (when the server requires one) in ``password`` or ``extra.token``."""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseHook

from sca.common.airflow_conn import endpoint_from_connection
from sca.common.retry import RetryPolicy
from sca.purldb.client import AsyncPurlDBClient, PurlDBClient


class PurlDBHook(BaseHook):
    conn_name_attr = "purldb_conn_id"
    default_conn_name = "purldb_default"
    conn_type = "purldb"
    hook_name = "PurlDB"

    def __init__(self, purldb_conn_id: str = default_conn_name, retry_attempts: int = 5, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.purldb_conn_id = purldb_conn_id
        self.retry = RetryPolicy(attempts=retry_attempts)

    def get_conn(self) -> PurlDBClient:
        ep = endpoint_from_connection(self.get_connection(self.purldb_conn_id))
        return PurlDBClient(ep.base_url, ep.secret, timeout=float(ep.extra.get("timeout", 120)), retry=self.retry)

    async def aget_client(self) -> AsyncPurlDBClient:
        ep = endpoint_from_connection(await self.aget_connection(self.purldb_conn_id))
        return AsyncPurlDBClient(ep.base_url, ep.secret, timeout=float(ep.extra.get("timeout", 60)), retry=self.retry)

    def test_connection(self) -> tuple[bool, str]:
        try:
            self.get_conn().validate("pkg:pypi/requests@2.32.3")
        except Exception as exc:
            return False, str(exc)
        return True, "PurlDB answered"
