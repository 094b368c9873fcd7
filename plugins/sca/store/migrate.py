"""Apply the warehouse migrations (``migrations/NNNN_name.sql``) in order, each once.

    python -m sca.store.migrate [--dsn postgresql://user:pw@host:port/sca]

Without ``--dsn`` it uses ``AIRFLOW_CONN_SCA_RESULTS_DB`` (the stack exports it), else the
Airflow connection ``sca_results_db``. Idempotent: applied versions are recorded in
``schema_migrations`` and skipped; concurrent runs wait on an advisory lock. ``make up`` runs it;
in production run it once per release (e.g. in the airflow-init container).
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
LOCK_ID = 0x5CA_0001


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path


def available(folder: Path = MIGRATIONS_DIR) -> list[Migration]:
    found = []
    for path in sorted(folder.glob("*.sql")):
        match = re.fullmatch(r"(\d{4})_([a-z0-9_]+)\.sql", path.name)
        if not match:
            raise ValueError(f"migration file {path.name} is not named NNNN_name.sql")
        found.append(Migration(int(match.group(1)), match.group(2), path))
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise ValueError(f"two migrations share a version in {folder}")
    return found


def apply_migrations(conn: Any, folder: Path = MIGRATIONS_DIR) -> list[int]:
    """Apply what is missing, one transaction per migration; returns the versions applied now."""
    applied_now = []
    with conn.cursor() as cur:
        cur.execute("SELECT pg_advisory_lock(%s)", (LOCK_ID,))
    try:
        with conn.cursor() as cur:
            cur.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
            )
        conn.commit()
        for migration in available(folder):
            with conn.cursor() as cur:
                cur.execute("SELECT 1 FROM schema_migrations WHERE version = %s", (migration.version,))
                if cur.fetchone():
                    continue
                cur.execute(migration.path.read_text())
                cur.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)", (migration.version, migration.name)
                )
            conn.commit()
            applied_now.append(migration.version)
    except BaseException:
        conn.rollback()
        raise
    finally:
        with conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_unlock(%s)", (LOCK_ID,))
        conn.commit()
    return applied_now


def main(argv: list[str] | None = None) -> int:
    from sca.store.db import connect

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dsn", help="PostgreSQL URI of the sca database")
    args = parser.parse_args(argv)
    conn = connect(args.dsn)
    try:
        applied = apply_migrations(conn)
    finally:
        conn.close()
    print(f"warehouse migrations applied: {applied or 'none (up to date)'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
