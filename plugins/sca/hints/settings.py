"""Where services send run-end webhooks, from the Airflow connection ``sca_webhooks``.

The connection (type ``http``): ``host`` the base URL the services can reach the Airflow API
server's receiver at, e.g. ``http://airflow-apiserver:8080/sca-hooks`` (without a scheme,
``schema``/``host``/``port`` build it and ``/sca-hooks`` is appended); ``password`` the secret
that signs each callback URL. No connection: no webhooks, the waits poll as before.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from sca.common.airflow_conn import endpoint_from_connection

WEBHOOKS_CONN_ID = "sca_webhooks"
URL_PREFIX = "/sca-hooks"


@dataclass(frozen=True)
class WebhookSettings:
    base_url: str
    secret: str

    def __repr__(self) -> str:  # the secret never reaches a log line
        return f"WebhookSettings(base_url={self.base_url!r}, secret=<hidden>)"


def settings_from_connection(conn: Any) -> WebhookSettings:
    given_url = "://" in (conn.host or "")
    endpoint = endpoint_from_connection(conn)  # names the connection when it has no host
    if not endpoint.secret:
        raise ValueError(f"connection {conn.conn_id!r} has no password (the secret that signs callback URLs)")
    base = endpoint.base_url if given_url else endpoint.base_url + URL_PREFIX
    return WebhookSettings(base_url=base, secret=str(endpoint.secret))


def settings_from_json(raw: str, conn_id: str = WEBHOOKS_CONN_ID) -> WebhookSettings:
    """From the JSON form of an ``AIRFLOW_CONN_*`` variable (scripts and tests outside Airflow)."""
    fields = json.loads(raw)
    known = ("host", "schema", "port", "login", "password")
    conn = SimpleNamespace(conn_id=conn_id, extra_dejson=fields.get("extra") or {}, **{k: fields.get(k) for k in known})
    return settings_from_connection(conn)


def task_settings(conn_id: str = WEBHOOKS_CONN_ID) -> WebhookSettings | None:
    """In a task: the settings, or None when the connection does not exist or is unusable."""
    from airflow.sdk import Connection
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        return settings_from_connection(Connection.get(conn_id))
    except AirflowNotFoundException:
        return None
    except ValueError as exc:  # webhooks are optional: a broken connection means polling only
        logging.getLogger(__name__).warning("run-end webhooks off: %s", exc)
        return None
