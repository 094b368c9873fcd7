"""Airflow connection → (base URL, credentials), shared by the hooks. Imports Airflow."""

from __future__ import annotations

from collections.abc import Mapping
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


def require_connections(conn_ids: Mapping[str, str]) -> None:
    """Every ``{param: conn id}`` names a defined Airflow connection, or the task fails at once
    (no retry: a mistyped connection id does not appear by waiting), naming the param."""
    from airflow.sdk import Connection
    from airflow.sdk.exceptions import AirflowFailException, AirflowNotFoundException

    missing = []
    for param, conn_id in conn_ids.items():
        try:
            Connection.get(str(conn_id))
        except AirflowNotFoundException:
            missing.append(f"{param}={conn_id!r}")
    if missing:
        raise AirflowFailException(
            f"no Airflow connection named {', '.join(missing)}: create it (UI Admin > Connections, "
            "an AIRFLOW_CONN_ variable or a secrets backend) or give the run another connection id "
            "(not retried: retrying cannot fix this)"
        )
