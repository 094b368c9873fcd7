"""Airflow connection → (base URL, credentials), shared by the hooks. Imports Airflow."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, repr=False)
class ServiceEndpoint:
    base_url: str
    login: str | None
    secret: str | None  # a token or API key: never logged, never in XCom
    extra: dict[str, Any]

    def __repr__(self) -> str:
        return f"ServiceEndpoint(base_url={self.base_url!r}, login={self.login!r}, secret=***)"


def endpoint_from_connection(conn: Any) -> ServiceEndpoint:
    """HTTP-style connection: ``host`` may carry the scheme; else ``schema`` (default http)."""
    host = (conn.host or "").rstrip("/")
    if not host:
        raise ValueError(f"connection {conn.conn_id!r} has no host")
    if "://" not in host:
        scheme = conn.schema or "http"
        host = f"{scheme}://{host}"
    if conn.port:
        host = f"{host}:{conn.port}"
    extra = conn.extra_dejson or {}
    secret = conn.password or extra.get("token") or extra.get("api_key") or None
    return ServiceEndpoint(base_url=host, login=conn.login or None, secret=secret, extra=dict(extra))
