"""Ledger and warehouse on the stack's PostgreSQL (the sca database): migrations, the ledger's
lifecycle and lock, COPY loads that replace instead of duplicating."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from sca.core.gate import Finding, Verdict
from sca.core.keys import ScanKey, scancodeio_settings
from sca.core.results import ArtefactRef, FossIDResult, InputRef, ToolRun, ToolStatus
from sca.store import warehouse
from sca.store.db import connect
from sca.store.json_stream import JsonStreamError
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


def recorded_scan(conn) -> Iterator[str]:
    sid = f"test-{uuid.uuid4()}"
    warehouse.record_scan(conn, sid, "test_dag", f"run-{sid}", "scan", -1, "acme-widget-1.0.tar.gz")
    yield sid
    with conn.cursor() as cur:  # the detail rows go with it (ON DELETE CASCADE)
        cur.execute("DELETE FROM scans WHERE scan_id = %s RETURNING input_sha256", (sid,))
        digest = cur.fetchone()[0]
        cur.execute("DELETE FROM inputs WHERE sha256 = %s", (digest,))
    conn.commit()


@pytest.fixture
def scan_id(conn):
    yield from recorded_scan(conn)


@pytest.fixture
def other_scan_id(conn):
    yield from recorded_scan(conn)


def test_migrations_are_applied_once(conn) -> None:
    assert apply_migrations(conn) == [], "make up applied them; a second run has nothing to do"
    with conn.cursor() as cur:
        cur.execute("SELECT version, name FROM schema_migrations ORDER BY version")
        assert cur.fetchall() == [
            (1, "ledger_and_warehouse"),
            (2, "generations_and_mapped_units"),
            (3, "portfolio"),
            (4, "run_end_hints"),
        ]


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


# Several packages, files and dependencies, with what the row builders must treat alike on both
# paths: absent and null fields, a file whose license comes from detected_license_expression only,
# a detection without an expression, strings with brackets, quotes, backslashes and non-ASCII.
MANY_RESULTS = {
    "headers": [{"tool_name": "scanpipe", "tool_version": "38.2.0", "notice": 'a "notice" ] }'}],
    "packages": [
        *RESULTS["packages"],
        {
            "purl": "pkg:npm/%40scope/left-pad@1.3.0",
            "type": "npm",
            "namespace": "@scope",
            "name": "left-pad",
            "version": "1.3.0",
            "declared_license_expression": "wtfpl",
            "other_license_expression": None,
            "copyright": 'Copyright (c) "Ünïcode" [authors] {and} \\ others',
            "homepage_url": "https://example.org/left-pad",
            "download_url": "https://registry.example.org/left-pad-1.3.0.tgz",
        },
    ],
    "dependencies": [
        *RESULTS["dependencies"],
        {"purl": "pkg:npm/left-pad", "extracted_requirement": "^1.3.0", "scope": "dependencies", "is_runtime": True},
        {"purl": None, "extracted_requirement": "pytest", "scope": "test", "is_optional": True, "is_pinned": None},
    ],
    "files": [
        *RESULTS["files"],
        {"path": "acme/LICENSE", "type": "file", "size": 1077, "detected_license_expression": "mit"},
        {
            "path": 'acme/données/[x]"y".txt',
            "type": "file",
            "size": 3,
            "sha256": "c" * 64,
            "programming_language": None,
            "license_detections": [{"license_expression": ""}, {"license_expression": "bsd-new"}],
        },
        {"path": "acme/empty.txt", "type": "file", "size": 0, "license_detections": [], "compliance_alert": ""},
    ],
    "relations": [],
}
DETAIL_COLUMNS = {
    "packages": warehouse.PACKAGE_COLUMNS,
    "resources": warehouse.RESOURCE_COLUMNS,
    "license_detections": ("path", "license_expression"),
    "dependencies": warehouse.DEPENDENCY_COLUMNS,
}


def detail_rows(conn, scan_id: str) -> dict[str, list[tuple]]:
    rows = {}
    with conn.cursor() as cur:
        for table, columns in DETAIL_COLUMNS.items():
            listed = ", ".join(("tool", *columns))
            cur.execute(f"SELECT {listed} FROM {table} WHERE scan_id = %s ORDER BY {listed}", (scan_id,))  # noqa: S608
            rows[table] = cur.fetchall()
    conn.commit()
    return rows


def test_the_streamed_file_load_makes_the_rows_the_dict_load_makes(
    conn, scan_id, other_scan_id, tmp_path: Path
) -> None:
    results = tmp_path / "results.json"
    results.write_text(json.dumps(MANY_RESULTS, indent=2, ensure_ascii=False), encoding="utf-8")
    from_file = warehouse.load_scancodeio_file(conn, scan_id, lambda: results.open("rb"))
    from_dict = warehouse.load_scancodeio(conn, other_scan_id, MANY_RESULTS)
    assert from_file == from_dict == {"packages": 3, "resources": 6, "license_detections": 5, "dependencies": 3}
    streamed, decoded = detail_rows(conn, scan_id), detail_rows(conn, other_scan_id)
    assert streamed == decoded
    assert {table: len(rows) for table, rows in streamed.items()} == from_file
    assert sorted(streamed["license_detections"]) == [
        ("scancodeio", "acme/LICENSE", "mit"),
        ("scancodeio", "acme/__init__.py", "mit"),
        ("scancodeio", "acme/contrib/legacy_parser.c", "gpl-2.0"),
        ("scancodeio", "acme/contrib/legacy_parser.c", "gpl-2.0-plus"),
        ("scancodeio", 'acme/données/[x]"y".txt', "bsd-new"),
    ]
    assert ("scancodeio", *MANY_RESULTS["packages"][2].values()) in streamed["packages"]


def test_a_malformed_results_file_loads_nothing_and_keeps_the_rows_loaded_before(conn, scan_id, tmp_path: Path) -> None:
    warehouse.load_scancodeio(conn, scan_id, RESULTS)
    before = detail_rows(conn, scan_id)
    results = tmp_path / "results.json"
    text = json.dumps(MANY_RESULTS)
    results.write_text(text[: text.index('"dependencies"') + 40])  # cut inside the dependencies
    with pytest.raises(JsonStreamError, match="not closed"):
        warehouse.load_scancodeio_file(conn, scan_id, lambda: results.open("rb"))
    assert detail_rows(conn, scan_id) == before
    assert warehouse.row_counts(conn, scan_id)["packages"] == 2


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
