"""Connections to the ``sca`` database (ledger + warehouse).

Inside Airflow the connection is ``sca_results_db``, opened through the postgres provider's
hook; outside (migrations from a shell, tests) a DSN works, by default the URI in
``AIRFLOW_CONN_SCA_RESULTS_DB``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

RESULTS_CONN_ID = "sca_results_db"
DSN_ENV = "AIRFLOW_CONN_SCA_RESULTS_DB"


def env_dsn() -> str | None:
    """The ``AIRFLOW_CONN_SCA_RESULTS_DB`` URI, when it is one (not the JSON form)."""
    dsn = os.environ.get(DSN_ENV)
    return dsn if dsn and dsn.startswith(("postgresql://", "postgres://")) else None


def dsn_from_connection(conn: Any) -> str:
    """A libpq conninfo string from an Airflow connection's fields."""
    from psycopg.conninfo import make_conninfo

    return make_conninfo(host=conn.host, port=conn.port, user=conn.login, password=conn.password, dbname=conn.schema)


def connect(dsn: str | None = None) -> Any:
    """A psycopg 3 connection: ``dsn``, else the env URI, else the Airflow connection's hook."""
    import psycopg

    dsn = dsn or env_dsn()
    if dsn:
        return psycopg.connect(dsn)
    from airflow.providers.postgres.hooks.postgres import PostgresHook

    return PostgresHook(postgres_conn_id=RESULTS_CONN_ID).get_conn()


def hook_connection() -> Any:
    """The connection as Airflow tasks open it: the postgres provider's hook on ``sca_results_db``
    (psycopg 3, the driver the provider picks when it is installed)."""
    from airflow.providers.postgres.hooks.postgres import PostgresHook

    return PostgresHook(postgres_conn_id=RESULTS_CONN_ID).get_conn()


@contextmanager
def transaction(conn: Any) -> Iterator[Any]:
    """A cursor whose work is committed on success and rolled back on any error."""
    try:
        with conn.cursor() as cur:
            yield cur
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
