"""FossIDHook: connection → FossID clients.

Connection (type ``fossid``; ``http`` works too): host + port (+ schema), the
Workbench username in ``login`` and the API key in ``password`` (masked by Airflow)."""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseHook

from sca.common.airflow_conn import ServiceEndpoint, endpoint_from_connection
from sca.common.retry import RetryPolicy
from sca.fossid.client import AsyncFossIDClient, FossIDClient


class FossIDHook(BaseHook):
    conn_name_attr = "fossid_conn_id"
    default_conn_name = "fossid_default"
    conn_type = "fossid"
    hook_name = "FossID Workbench"

    def __init__(self, fossid_conn_id: str = default_conn_name, retry_attempts: int = 5, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.fossid_conn_id = fossid_conn_id
        self.retry = RetryPolicy(attempts=retry_attempts)

    @staticmethod
    def _checked(ep: ServiceEndpoint, conn_id: str) -> tuple[str, str, str]:
        if not ep.login or not ep.secret:
            raise ValueError(f"connection {conn_id!r} needs the Workbench username (login) and API key (password)")
        return ep.base_url, ep.login, ep.secret

    def get_conn(self) -> FossIDClient:
        ep = endpoint_from_connection(self.get_connection(self.fossid_conn_id))
        timeout = float(ep.extra.get("timeout", 1800))
        return FossIDClient(*self._checked(ep, self.fossid_conn_id), timeout=timeout, retry=self.retry)

    async def aget_client(self) -> AsyncFossIDClient:
        ep = endpoint_from_connection(await self.aget_connection(self.fossid_conn_id))
        timeout = float(ep.extra.get("timeout", 60))
        return AsyncFossIDClient(*self._checked(ep, self.fossid_conn_id), timeout=timeout, retry=self.retry)

    def test_connection(self) -> tuple[bool, str]:
        try:
            version = self.get_conn().version()
            self.get_conn().list_projects()
        except Exception as exc:
            return False, str(exc)
        return True, f"FossID Workbench {version}"
