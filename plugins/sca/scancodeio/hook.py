"""ScanCodeIOHook: an Airflow connection turned into the sync and async ScanCode.io clients.

Connection (type ``scancodeio``; ``http`` works too): host + port (+ schema http/https), the API
key in the password field (or ``extra.token``). ``extra.timeout`` sets the request timeout in
seconds; ``extra.ui_url`` is where people open project pages when it is not the API's address
(a proxy in front of the API).
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseHook

from sca.common.airflow_conn import ServiceEndpoint, endpoint_from_connection
from sca.common.retry import RetryPolicy
from sca.scancodeio.client import AsyncScanCodeIOClient, ScanCodeIOClient
from sca.scancodeio.naming import project_slug


class ScanCodeIOHook(BaseHook):
    conn_name_attr = "scancodeio_conn_id"
    default_conn_name = "scancodeio_default"
    conn_type = "scancodeio"
    hook_name = "ScanCode.io"

    def __init__(
        self,
        scancodeio_conn_id: str = default_conn_name,
        retry_attempts: int = 5,
        retry_delay: float = 1.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.scancodeio_conn_id = scancodeio_conn_id
        self.retry = RetryPolicy(attempts=retry_attempts, initial_delay=retry_delay)

    def endpoint(self) -> ServiceEndpoint:
        return endpoint_from_connection(self.get_connection(self.scancodeio_conn_id))

    async def aendpoint(self) -> ServiceEndpoint:
        return endpoint_from_connection(await self.aget_connection(self.scancodeio_conn_id))

    def get_conn(self) -> ScanCodeIOClient:
        ep = self.endpoint()
        return ScanCodeIOClient(ep.base_url, ep.secret, timeout=float(ep.extra.get("timeout", 300)), retry=self.retry)

    async def aget_client(self) -> AsyncScanCodeIOClient:
        ep = await self.aendpoint()
        timeout = float(ep.extra.get("timeout", 60))
        return AsyncScanCodeIOClient(ep.base_url, ep.secret, timeout=timeout, retry=self.retry)

    def project_ui_url(self, project: dict[str, Any]) -> str:
        """The project's page in the ScanCode.io UI (``/project/<slug>/``)."""
        slug = project.get("slug") or project_slug(project["name"], project["uuid"])
        ep = self.endpoint()
        base = str(ep.extra.get("ui_url") or ep.base_url).rstrip("/")
        return f"{base}/project/{slug}/"

    def test_connection(self) -> tuple[bool, str]:
        try:
            pipelines = self.get_conn().list_pipelines()
        except Exception as exc:  # the UI shows the message
            return False, str(exc)
        return True, f"ScanCode.io answered with {len(pipelines)} pipelines"
