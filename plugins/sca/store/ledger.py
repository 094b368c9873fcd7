"""The scan ledger: one row per (service, scan key), in the ``sca`` database. No Airflow.

A tool unit calls ``begin`` before it creates anything, ``submitted`` once the remote object
exists (before any wait), ``finished`` when the results are in the artefact store, ``failed``
with the reason otherwise. A retried task, or a later run with the same bytes and settings,
finds the row and re-attaches to the remote object, or reuses the finished results while they
are fresh (``is_fresh``). Retention marks rows ``archived``/``deleted`` when it removes the remote
object; their results stay reusable from the store.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sca.core.keys import ScanKey
from sca.store.db import transaction

COLUMNS = (
    "service",
    "scan_key",
    "input_sha256",
    "settings",
    "remote_name",
    "remote_id",
    "remote_url",
    "server_version",
    "state",
    "attempts",
    "last_error",
    "result_uri",
    "last_dag_id",
    "last_run_id",
    "created_at",
    "updated_at",
    "finished_at",
    "generation",
)
REUSABLE_STATES = ("finished", "archived", "deleted")


@dataclass(frozen=True)
class LedgerEntry:
    service: str
    scan_key: str
    input_sha256: str
    settings: dict[str, Any]
    remote_name: str | None
    remote_id: str | None
    remote_url: str | None
    server_version: str | None
    state: str
    attempts: int
    last_error: str | None
    result_uri: str | None
    last_dag_id: str | None
    last_run_id: str | None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None
    generation: int

    @property
    def has_results(self) -> bool:
        return self.state in REUSABLE_STATES and bool(self.result_uri)


@contextmanager
def scan_lock(conn: Any, scan_key: str) -> Iterator[None]:
    """Hold PostgreSQL's advisory lock for one scan key: two tasks with the same bytes and
    settings (two DAG runs, two portfolio items) take turns, so the second finds what the first
    created instead of creating it again. Released on exit, or when the connection closes."""
    lock_id = int(hashlib.sha256(scan_key.encode()).hexdigest()[:15], 16)
    with conn.cursor() as cur:
        cur.execute("SELECT pg_advisory_lock(%s)", (lock_id,))
    conn.commit()
    try:
        yield
    finally:
        with conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_unlock(%s)", (lock_id,))
        conn.commit()


def is_fresh(entry: LedgerEntry, max_age: timedelta | None, now: datetime | None = None) -> bool:
    """Finished with results, and finished within ``max_age`` (None: no age limit)."""
    if not entry.has_results or entry.finished_at is None:
        return False
    if max_age is None:
        return True
    return (now or datetime.now(UTC)) - entry.finished_at <= max_age


class Ledger:
    def __init__(self, conn: Any) -> None:
        self.conn = conn

    def _row(self, cur: Any) -> LedgerEntry | None:
        row = cur.fetchone()
        return LedgerEntry(*row) if row else None

    def get(self, service: str, scan_key: str) -> LedgerEntry | None:
        with transaction(self.conn) as cur:
            cur.execute(
                f"SELECT {', '.join(COLUMNS)} FROM ledger WHERE service = %s AND scan_key = %s",  # noqa: S608
                (service, scan_key),
            )
            return self._row(cur)

    def begin(self, key: ScanKey, remote_name: str | None, dag_id: str, run_id: str) -> LedgerEntry:
        """Record the intent to scan (or one more attempt at it). Keeps remote ids already known."""
        with transaction(self.conn) as cur:
            cur.execute(
                f"""
                INSERT INTO ledger (service, scan_key, input_sha256, settings, remote_name, state, attempts,
                                    last_dag_id, last_run_id)
                VALUES (%s, %s, %s, %s, %s, 'submitting', 1, %s, %s)
                ON CONFLICT (service, scan_key) DO UPDATE SET
                    -- attempts count the tries within one DAG run; another run starts again at 1
                    attempts = CASE WHEN ledger.last_dag_id IS DISTINCT FROM EXCLUDED.last_dag_id
                                      OR ledger.last_run_id IS DISTINCT FROM EXCLUDED.last_run_id
                                    THEN 1 ELSE ledger.attempts + 1 END,
                    state = CASE WHEN ledger.state IN ('error', 'archived', 'deleted') THEN 'submitting'
                                 ELSE ledger.state END,
                    remote_id = CASE WHEN ledger.state = 'deleted' THEN NULL ELSE ledger.remote_id END,
                    last_error = NULL,
                    last_dag_id = EXCLUDED.last_dag_id,
                    last_run_id = EXCLUDED.last_run_id,
                    updated_at = now()
                RETURNING {", ".join(COLUMNS)}
                """,  # noqa: S608
                (
                    key.tool,
                    key.value,
                    key.input_sha256,
                    json.dumps(dict(key.settings), sort_keys=True),
                    remote_name,
                    dag_id,
                    run_id,
                ),
            )
            entry = self._row(cur)
        assert entry is not None
        return entry

    def submitted(
        self,
        service: str,
        scan_key: str,
        remote_id: str,
        remote_url: str | None = None,
        server_version: str | None = None,
    ) -> None:
        self._update(
            service,
            scan_key,
            "state = CASE WHEN state = 'finished' THEN state ELSE 'submitted' END, remote_id = %s, "
            "remote_url = COALESCE(%s, remote_url), server_version = COALESCE(%s, server_version)",
            (remote_id, remote_url, server_version),
        )

    def finished(self, service: str, scan_key: str, result_uri: str, server_version: str | None = None) -> None:
        self._update(
            service,
            scan_key,
            "state = 'finished', result_uri = %s, finished_at = now(), last_error = NULL, "
            "server_version = COALESCE(%s, server_version)",
            (result_uri, server_version),
        )

    def failed(self, service: str, scan_key: str, error: str) -> bool:
        """Mark a scan in flight failed (a row with results keeps them: a failed reuse or a failed
        delete of a stale object is not a failed scan). True when a row changed."""
        with transaction(self.conn) as cur:
            cur.execute(
                "UPDATE ledger SET state = 'error', last_error = %s, updated_at = now() "
                "WHERE service = %s AND scan_key = %s AND state IN ('submitting', 'submitted')",
                (error[:4000], service, scan_key),
            )
            return bool(cur.rowcount)

    def removed(self, service: str, scan_key: str, state: str, finished_at: datetime) -> bool:
        """Retention removed the remote object of this finished scan. Only the scan retention saw
        is marked: a row rescanned meanwhile (other ``finished_at``) is left alone."""
        if state not in ("archived", "deleted"):
            raise ValueError(f"removed state must be archived or deleted, not {state!r}")
        with transaction(self.conn) as cur:
            cur.execute(
                "UPDATE ledger SET state = %s, updated_at = now() "
                "WHERE service = %s AND scan_key = %s AND state = 'finished' AND finished_at = %s",
                (state, service, scan_key, finished_at),
            )
            return bool(cur.rowcount)

    def restart(self, service: str, scan_key: str) -> LedgerEntry:
        """Scan again under a new remote name (``-g<generation>``); call it only once the old
        remote object is gone, so no retry can re-attach to the stale one."""
        with transaction(self.conn) as cur:
            cur.execute(
                f"""
                UPDATE ledger SET generation = generation + 1, attempts = 0, state = 'submitting', remote_id = NULL,
                    remote_url = NULL, result_uri = NULL, finished_at = NULL, server_version = NULL,
                    remote_name = CASE WHEN remote_name IS NULL THEN NULL
                                       ELSE regexp_replace(remote_name, '-g[0-9]+$', '') || '-g' || (generation + 1)
                                  END,
                    updated_at = now()
                WHERE service = %s AND scan_key = %s
                RETURNING {", ".join(COLUMNS)}
                """,  # noqa: S608
                (service, scan_key),
            )
            entry = self._row(cur)
        if entry is None:
            raise LookupError(f"no ledger row for {service} {scan_key}")
        return entry

    def _update(self, service: str, scan_key: str, assignments: str, values: tuple[Any, ...]) -> None:
        with transaction(self.conn) as cur:
            cur.execute(
                f"UPDATE ledger SET {assignments}, updated_at = now() WHERE service = %s AND scan_key = %s",  # noqa: S608
                (*values, service, scan_key),
            )
            if cur.rowcount != 1:
                raise LookupError(f"no ledger row for {service} {scan_key}")

    def entries(self, service: str | None = None, states: tuple[str, ...] = REUSABLE_STATES) -> list[LedgerEntry]:
        where = "state = ANY(%s)" + (" AND service = %s" if service else "")
        values: tuple[Any, ...] = (list(states), service) if service else (list(states),)
        with transaction(self.conn) as cur:
            cur.execute(
                f"SELECT {', '.join(COLUMNS)} FROM ledger WHERE {where} ORDER BY finished_at",  # noqa: S608
                values,
            )
            return [LedgerEntry(*row) for row in cur.fetchall()]
