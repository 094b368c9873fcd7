"""A throwaway schema in the stack's results database (``AIRFLOW_CONN_SCA_RESULTS_DB``) with copies of
the warehouse's detail tables, so a benchmark runs the real load code without touching the
stack's data: connections made here have ``search_path`` set to that schema alone (a table it does
not hold is an error, never the real one), and the schema is dropped afterwards."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

TABLES = ("packages", "resources", "license_detections", "dependencies", "purldb_matches", "findings")


def dsn() -> str:
    from sca.store.db import DSN_ENV, env_dsn

    value = env_dsn()
    if value is None:
        raise RuntimeError(f"{DSN_ENV} is not a PostgreSQL URI: source stack/env.sh with the stack up (make up)")
    return value


def wait_for_database(timeout: float) -> None:
    import psycopg

    deadline = time.monotonic() + timeout
    while True:
        try:
            psycopg.connect(dsn(), connect_timeout=5).close()
            return
        except psycopg.OperationalError as exc:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the results database is not reachable ({exc}); is the stack up?") from None
            time.sleep(2)


def connect_in(schema: str) -> Any:
    import psycopg

    conn = psycopg.connect(dsn())
    with conn.cursor() as cur:
        cur.execute(f'SET search_path TO "{schema}"')
    conn.commit()
    return conn


@contextmanager
def throwaway_schema(prefix: str) -> Iterator[str]:
    import psycopg

    schema = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(dsn(), autocommit=True) as admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
        try:
            for table in TABLES:  # LIKE copies columns, defaults and indexes; no foreign keys
                admin.execute(
                    f'CREATE TABLE "{schema}".{table} (LIKE public.{table} INCLUDING DEFAULTS INCLUDING INDEXES)'
                )
            yield schema
        finally:
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
