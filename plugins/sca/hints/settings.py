"""Where services send run-end webhooks, from the Airflow connection ``sca_webhooks``.

The connection (type ``http``): ``host`` the base URL the services can reach the Airflow API
server's receiver at, e.g. ``http://airflow-apiserver:8080/sca-hooks`` (without a scheme,
``schema``/``host``/``port`` build it and ``/sca-hooks`` is appended); ``password`` the secret
that signs each callback URL. No connection: no webhooks, the waits poll as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

WEBHOOKS_CONN_ID = "sca_webhooks"
URL_PREFIX = "/sca-hooks"


@dataclass(frozen=True)
class WebhookSettings:
    base_url: str
    secret: str

    def __repr__(self) -> str:  # the secret never reaches a log line
        return f"WebhookSettings(base_url={self.base_url!r}, secret=<hidden>)"


def settings_from_connection(conn: Any) -> WebhookSettings:
    host = (conn.host or "").rstrip("/")
    if not host:
        raise ValueError(f"connection {conn.conn_id!r} has no host (the receiver's base URL)")
    if "://" not in host:
        host = f"{conn.schema or 'http'}://{host}{f':{conn.port}' if conn.port else ''}{URL_PREFIX}"
    if not conn.password:
        raise ValueError(f"connection {conn.conn_id!r} has no password (the secret that signs callback URLs)")
    return WebhookSettings(base_url=host, secret=str(conn.password))


def task_settings(conn_id: str = WEBHOOKS_CONN_ID) -> WebhookSettings | None:
    """In a task: the settings, or None when the connection does not exist."""
    from airflow.sdk import Connection
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        conn = Connection.get(conn_id)
    except AirflowNotFoundException:
        return None
    return settings_from_connection(conn)
