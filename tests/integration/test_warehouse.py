"""Ledger and warehouse on the stack's PostgreSQL (the sca database): migrations, the ledger's
lifecycle and lock, COPY loads that replace instead of duplicating."""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta

import pytest

from sca.core.gate import Finding, Verdict
from sca.core.keys import ScanKey, scancodeio_settings
from sca.core.results import ArtefactRef, FossIDResult, InputRef, ToolRun, ToolStatus
from sca.store import warehouse
from sca.store.db import connect
from sca.store.ledger import Ledger, is_fresh, scan_lock
from sca.store.migrate import apply_migrations
from tests.conftest import require_env

RESULTS = {
    "packages": [
        {
            "purl": "pkg:pypi/acme-widget@1.0",
            "type": "pypi",
            "name": "acme-widget",
            "version": "1.0",
            "declared_license_expression": "mit",
        },
        {
            "purl": "pkg:generic/legacy-parser",
            "type": "generic",
            "name": "legacy-parser",
            "declared_license_expression": "gpl-2.0",
        },
    ],
    "files": [
        {
            "path": "acme/__init__.py",
            "type": "file",
            "size": 10,
            "sha1": "a" * 40,
            "detected_license_expression": "mit",
            "license_detections": [{"license_expression": "mit"}],
        },
        {
            "path": "acme/contrib/legacy_parser.c",
            "type": "file",
            "size": 99,
            "sha1": "b" * 40,
            "detected_license_expression": "gpl-2.0",
            "compliance_alert": "error",
            "license_detections": [{"license_expression": "gpl-2.0"}, {"license_expression": "gpl-2.0-plus"}],
        },
        {"path": "acme", "type": "directory"},
    ],
    "dependencies": [
        {
            "purl": "pkg:pypi/six",
            "extracted_requirement": "six>=1.16",
            "scope": "install",
            "is_runtime": True,
            "is_optional": False,
            "is_pinned": False,
            "datafile_path": "acme/setup.cfg",
        }
    ],
}
MATCHES = {
    "packages": [{"package_uid": "six-uid", "purl": "pkg:pypi/six@1.16.0", "declared_license_expression": "mit"}],
    "files": [{"path": "acme/_vendor/six.py", "type": "file", "for_packages": ["six-uid"]}],
}


@pytest.fixture
def conn():
    connection = connect(require_env("AIRFLOW_CONN_SCA_RESULTS_DB"))
    yield connection
    connection.close()


@pytest.fixture
def scan_id(conn):
    sid = f"test-{uuid.uuid4()}"
    warehouse.record_scan(conn, sid, "test_dag", f"run-{sid}", "scan", -1, "acme-widget-1.0.tar.gz")
    yield sid
    with conn.cursor() as cur:  # the detail rows go with it (ON DELETE CASCADE)
        cur.execute("DELETE FROM scans WHERE scan_id = %s RETURNING input_sha256", (sid,))
        digest = cur.fetchone()[0]
        cur.execute("DELETE FROM inputs WHERE sha256 = %s", (digest,))
    conn.commit()


def test_migrations_are_applied_once(conn) -> None:
    assert apply_migrations(conn) == [], "make up applied them; a second run has nothing to do"
    with conn.cursor() as cur:
        cur.execute("SELECT version, name FROM schema_migrations ORDER BY version")
        assert cur.fetchall() == [(1, "ledger_and_warehouse"), (2, "generations_and_mapped_units"), (3, "portfolio")]


def test_loading_a_scan_twice_leaves_the_row_counts_unchanged(conn, scan_id) -> None:
    digest = hashlib.sha256(scan_id.encode()).hexdigest()
    fetched = InputRef(
        ArtefactRef(f"file:///x/{digest}", digest, 5, "application/gzip", "acme.tar.gz"),
        "acme.tar.gz",
        "path",
        "acme.tar.gz",
    )
    warehouse.record_input(conn, scan_id, fetched)
    fossid = FossIDResult(
        "s",
        "p",
        "25.1",
        1,
        [],
        [],
        ["GPL-2.0-only", "MIT"],
        [{"name": "six", "version": "1.16.0", "type": "pypi", "file_path": "setup.cfg"}],
    )
    verdict = Verdict(
        "acme",
        "fail",
        "ERROR",
        "fail",
        [Finding("ScanCode.io", "error", "license policy", "a.c"), Finding("FossID", "error", "deny GPL", "a.c")],
    )
    first = {}
    for attempt in range(2):
        loaded = {
            "scancodeio": warehouse.load_scancodeio(conn, scan_id, RESULTS),
            "purldb": warehouse.load_purldb(conn, scan_id, MATCHES),
            "fossid": warehouse.load_fossid(conn, scan_id, fossid),
        }
        warehouse.record_tool_run(conn, scan_id, ToolRun("fossid", ToolStatus.SUCCESS, scan_key="k"))
        warehouse.set_verdict(conn, scan_id, verdict, "file:///r/summary.json")
        counts = warehouse.row_counts(conn, scan_id)
        if attempt == 0:
            first = counts
            assert loaded["scancodeio"] == {"packages": 2, "resources": 3, "license_detections": 3, "dependencies": 1}
            assert loaded["purldb"] == {"packages": 1, "purldb_matches": 1}
            assert loaded["fossid"] == {"license_detections": 2, "dependencies": 1}
    assert (
        counts
        == first
        == {
            "scans": 1,
            "tool_runs": 1,
            "packages": 3,
            "resources": 3,
            "license_detections": 5,
            "dependencies": 2,
            "findings": 2,
            "purldb_matches": 1,
        }
    )
    assert {f.source for f in warehouse.findings_for(conn, scan_id)} == {"scancodeio", "fossid"}
    with conn.cursor() as cur:
        cur.execute(warehouse.GPL_LICENSES_SQL + " AND scan_id = %s", (scan_id,))
        rows = cur.fetchall()
    assert sorted((r[1], r[2], r[3]) for r in rows) == [
        ("fossid", "GPL-2.0-only", None),
        ("scancodeio", "gpl-2.0", "acme/contrib/legacy_parser.c"),
        ("scancodeio", "gpl-2.0", "pkg:generic/legacy-parser"),
        ("scancodeio", "gpl-2.0-plus", "acme/contrib/legacy_parser.c"),
    ]


def test_the_ledger_lifecycle(conn) -> None:
    ledger = Ledger(conn)
    key = ScanKey("scancodeio", hashlib.sha256(uuid.uuid4().bytes).hexdigest(), scancodeio_settings(["x"], None))
    name = key.remote_name("a.zip")
    assert ledger.get("scancodeio", key.value) is None
    first = ledger.begin(key, name, "dag", "run-1")
    assert (first.state, first.attempts, first.remote_id, first.generation) == ("submitting", 1, None, 1)
    ledger.submitted("scancodeio", key.value, "uuid-1", "http://127.0.0.1/p")
    again = ledger.begin(key, "another-name.zip", "dag", "run-1")
    assert (again.state, again.attempts, again.remote_id, again.remote_name) == ("submitted", 2, "uuid-1", name)
    assert ledger.begin(key, None, "dag", "run-2").attempts == 1, "another DAG run counts its own tries"
    assert ledger.failed("scancodeio", key.value, "RunFailedError: boom")
    assert ledger.get("scancodeio", key.value).last_error == "RunFailedError: boom"
    assert ledger.begin(key, None, "dag", "run-3").remote_id == "uuid-1", "a retry re-attaches"
    ledger.finished("scancodeio", key.value, "file:///store/result.json", "38.2.0")
    done = ledger.get("scancodeio", key.value)
    assert (done.state, done.result_uri, done.server_version) == ("finished", "file:///store/result.json", "38.2.0")
    assert is_fresh(done, None) and is_fresh(done, timedelta(days=1)) and not is_fresh(done, timedelta(0))
    assert not ledger.failed("scancodeio", key.value, "a failed reuse"), "finished results are kept"
    assert ledger.get("scancodeio", key.value).state == "finished"
    assert not ledger.removed("scancodeio", key.value, "archived", done.finished_at - timedelta(seconds=1))
    assert ledger.removed("scancodeio", key.value, "archived", done.finished_at)
    assert is_fresh(ledger.get("scancodeio", key.value), None), "archived remote, results still reusable"
    restarted = ledger.restart("scancodeio", key.value)
    assert (
        restarted.generation,
        restarted.remote_name,
        restarted.remote_id,
        restarted.result_uri,
        restarted.attempts,
    ) == (2, f"{name}-g2", None, None, 0), "a new generation counts its own attempts"
    assert ledger.restart("scancodeio", key.value).remote_name == f"{name}-g3"
    with pytest.raises(LookupError):
        ledger.finished("scancodeio", key.value + "x", "file:///nowhere")


def test_one_task_at_a_time_holds_a_scan_key(conn) -> None:
    other = connect(require_env("AIRFLOW_CONN_SCA_RESULTS_DB"))
    key = f"test:{uuid.uuid4()}"
    lock_id = int(hashlib.sha256(key.encode()).hexdigest()[:15], 16)
    try:
        with scan_lock(conn, key):
            with other.cursor() as cur:
                cur.execute("SELECT pg_try_advisory_lock(%s)", (lock_id,))
                assert cur.fetchone()[0] is False
            other.rollback()
        with other.cursor() as cur:
            cur.execute("SELECT pg_try_advisory_lock(%s)", (lock_id,))
            assert cur.fetchone()[0] is True
            cur.execute("SELECT pg_advisory_unlock(%s)", (lock_id,))
    finally:
        other.close()
