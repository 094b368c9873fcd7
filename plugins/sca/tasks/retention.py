"""Retention: remove remote scans whose results are safe in the warehouse and the store.

ScanCode.io projects are archived with their inputs and codebase removed (the project, its
results and its UI page stay); FossID scans are deleted. The ledger row becomes ``archived`` /
``deleted``, and a later scan of the same bytes still reuses the stored results. ``dry_run``
lists what would go and touches nothing. PurlDB matching projects are PurlDB's to expire.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from sca.common.errors import NotFoundError
from sca.core.retention import Removal, RetentionCandidate, package_name, plan_removals
from sca.store.db import transaction
from sca.store.ledger import Ledger, scan_lock

log = logging.getLogger(__name__)
SERVICES = ("scancodeio", "fossid")

CANDIDATES_SQL = """
SELECT l.service, l.scan_key, l.remote_id, l.remote_name,
       COALESCE(i.first_filename, l.input_sha256) AS package, l.finished_at
FROM ledger l
LEFT JOIN inputs i ON i.sha256 = l.input_sha256
WHERE l.service = ANY(%s) AND l.state = 'finished' AND l.finished_at IS NOT NULL
  AND EXISTS (SELECT 1 FROM tool_runs t JOIN scans s USING (scan_id)
              WHERE t.scan_key = l.scan_key AND t.status = 'success' AND s.verdict IS NOT NULL)
"""


def candidates(conn: Any, packages: list[str] | None = None) -> list[RetentionCandidate]:
    """Finished remote scans whose results a scan has loaded into the warehouse, each under its
    package's name (``six-1.16.0.tar.gz`` and ``six-1.17.0.tar.gz`` are both ``six``), so
    ``keep_last`` keeps the newest scans of a package across its versions."""
    with transaction(conn) as cur:
        cur.execute(CANDIDATES_SQL, (list(SERVICES),))
        rows = cur.fetchall()
    found = []
    for service, scan_key, remote_id, remote_name, filename, finished_at in rows:
        if packages and filename not in packages:
            continue
        found.append(RetentionCandidate(service, scan_key, remote_id, remote_name, package_name(filename), finished_at))
    return found


def remove(removal: Removal, clients: dict[str, Any]) -> str:
    """Remove one remote object; returns the ledger state it leaves (archived/deleted)."""
    c = removal.candidate
    try:
        if c.service == "scancodeio":
            clients["scancodeio"].archive(str(c.remote_id), remove_input=True, remove_codebase=True)
            return "archived"
        clients["fossid"].delete_scan(str(c.remote_name))
        return "deleted"
    except NotFoundError:
        log.info("%s %s is already gone", c.service, c.remote_name)
        return "deleted"


def run_retention(
    conn: Any,
    clients: dict[str, Any],
    *,
    keep_days: float | None,
    keep_last: int | None,
    dry_run: bool,
    packages: list[str] | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    plan = plan_removals(
        candidates(conn, packages), keep_days=keep_days, keep_last=keep_last, now=now or datetime.now(UTC)
    )
    done = []
    for removal in plan:
        if dry_run:
            log.info("would remove %s", removal.line())
            continue
        c = removal.candidate
        with scan_lock(conn, c.scan_key):  # no scan of this key is deciding or submitting meanwhile
            current = Ledger(conn).get(c.service, c.scan_key)
            if current is None or current.state != "finished" or current.finished_at != c.finished_at:
                log.info("skipped %s: scanned again meanwhile", removal.line())
                continue
            state = remove(removal, clients)
            Ledger(conn).removed(c.service, c.scan_key, state, c.finished_at)
        log.info("%s %s", state, removal.line())
        done.append(removal)
    return {
        "dry_run": dry_run,
        "planned": [
            {
                "service": r.candidate.service,
                "remote_name": r.candidate.remote_name,
                "package": r.candidate.package,
                "reason": r.reason,
            }
            for r in plan
        ],
        "removed": len(done),
    }
