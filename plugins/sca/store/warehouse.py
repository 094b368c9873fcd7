"""The results warehouse (``sca`` database): inputs, scans, tool runs and the detail tables.
No Airflow: every function takes a psycopg 3 connection.

Detail rows are bulk-loaded with ``COPY`` per (scan, tool), inside one transaction that first
deletes that (scan, tool)'s rows: loading the same scan twice replaces, never duplicates.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import IO, Any

from sca.core.gate import Finding, Verdict
from sca.core.results import FossIDResult, InputRef, ToolRun, ToolStatus
from sca.store import json_stream
from sca.store.db import transaction

DETAIL_TABLES = ("packages", "resources", "license_detections", "dependencies", "findings", "purldb_matches")
PACKAGE_COLUMNS = (
    "purl",
    "type",
    "namespace",
    "name",
    "version",
    "declared_license_expression",
    "other_license_expression",
    "copyright",
    "homepage_url",
    "download_url",
)
RESOURCE_COLUMNS = (
    "path",
    "type",
    "size",
    "sha1",
    "sha256",
    "programming_language",
    "detected_license_expression",
    "compliance_alert",
)
DEPENDENCY_COLUMNS = (
    "purl",
    "extracted_requirement",
    "scope",
    "is_runtime",
    "is_optional",
    "is_pinned",
    "datafile_path",
)
SOURCE_TOOLS = {"ScanCode.io": "scancodeio", "FossID": "fossid", "PurlDB": "purldb"}


def copy_rows(cur: Any, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """``COPY … FROM STDIN``, row by row as the rows are produced (psycopg 3's copy protocol)."""
    count = 0
    with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def replace_rows(
    cur: Any, table: str, scan_id: str, tool: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> int:
    if table not in DETAIL_TABLES:
        raise ValueError(f"{table} is not a detail table")
    cur.execute(f"DELETE FROM {table} WHERE scan_id = %s AND tool = %s", (scan_id, tool))  # noqa: S608
    return copy_rows(cur, table, ("scan_id", "tool", *columns), ((scan_id, tool, *row) for row in rows))


# -- scans and tool runs ---------------------------------------------------------------------------
def scan_exists(conn: Any, scan_id: str) -> bool:
    with transaction(conn) as cur:
        cur.execute("SELECT 1 FROM scans WHERE scan_id = %s", (scan_id,))
        return cur.fetchone() is not None


def record_scan(conn: Any, scan_id: str, dag_id: str, run_id: str, unit_id: str, map_index: int, source: str) -> None:
    with transaction(conn) as cur:
        cur.execute(
            """
            INSERT INTO scans (scan_id, dag_id, run_id, unit_id, map_index, input_source)
            VALUES (%s, %s, %s, %s, %s, %s)
            ON CONFLICT (scan_id) DO UPDATE SET input_source = EXCLUDED.input_source
            """,
            (scan_id, dag_id, run_id, unit_id, map_index, source),
        )


def record_input(conn: Any, scan_id: str, fetched: InputRef) -> None:
    ref = fetched.artefact
    with transaction(conn) as cur:
        cur.execute(
            """
            INSERT INTO inputs (sha256, size, media_type, uri, first_filename) VALUES (%s, %s, %s, %s, %s)
            ON CONFLICT (sha256) DO NOTHING
            """,
            (ref.sha256, ref.size, ref.media_type, ref.uri, fetched.filename),
        )
        cur.execute(
            "UPDATE scans SET input_sha256 = %s, input_kind = %s, filename = %s WHERE scan_id = %s",
            (ref.sha256, fetched.kind, fetched.filename, scan_id),
        )


def record_tool_run(conn: Any, scan_id: str, run: ToolRun) -> None:
    with transaction(conn) as cur:
        cur.execute(
            """
            INSERT INTO tool_runs (scan_id, tool, status, reason, scan_key, remote_id, remote_name, remote_url,
                                   result_uri, reused, reused_from, duration_s, attempts)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
            ON CONFLICT (scan_id, tool) DO UPDATE SET
                status = EXCLUDED.status, reason = EXCLUDED.reason, scan_key = EXCLUDED.scan_key,
                remote_id = EXCLUDED.remote_id, remote_name = EXCLUDED.remote_name,
                remote_url = EXCLUDED.remote_url, result_uri = EXCLUDED.result_uri, reused = EXCLUDED.reused,
                reused_from = EXCLUDED.reused_from, duration_s = EXCLUDED.duration_s,
                attempts = EXCLUDED.attempts, updated_at = now()
            """,
            (
                scan_id,
                run.tool,
                run.status.value,
                run.reason,
                run.scan_key,
                run.remote_id,
                run.remote_name,
                run.remote_url,
                run.result_uri,
                run.reused,
                run.reused_from,
                run.duration_s,
                run.attempts,
            ),
        )


def tool_runs(conn: Any, scan_id: str) -> dict[str, ToolRun]:
    with transaction(conn) as cur:
        cur.execute(
            """
            SELECT tool, status, scan_key, reason, remote_id, remote_name, remote_url, result_uri, reused,
                   to_char(reused_from AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), duration_s, attempts
            FROM tool_runs WHERE scan_id = %s
            """,
            (scan_id,),
        )
        rows = cur.fetchall()
    return {row[0]: ToolRun(row[0], ToolStatus(row[1]), *row[2:]) for row in rows}


def set_verdict(conn: Any, scan_id: str, verdict: Verdict, report_uri: str | None) -> None:
    with transaction(conn) as cur:
        cur.execute(
            """
            UPDATE scans SET verdict = %s, fail_level = %s, gate_action = %s, verdict_message = %s,
                             report_uri = %s, finished_at = now()
            WHERE scan_id = %s
            """,
            (verdict.status, verdict.fail_level, verdict.action, verdict.message(), report_uri, scan_id),
        )
        for tool in {*SOURCE_TOOLS.values()}:
            replace_rows(
                cur,
                "findings",
                scan_id,
                tool,
                ("severity", "policy", "subject"),
                (
                    (f.severity, f.policy, f.subject)
                    for f in verdict.findings
                    if SOURCE_TOOLS.get(f.source, f.source) == tool
                ),
            )


# -- detail loads ------------------------------------------------------------------------------------
def _package_row(p: Mapping[str, Any]) -> tuple[Any, ...]:
    return tuple(p.get(c) for c in PACKAGE_COLUMNS)


def _resource_row(f: Mapping[str, Any]) -> tuple[Any, ...]:
    return tuple(f.get(c) for c in RESOURCE_COLUMNS)


def _dependency_row(d: Mapping[str, Any]) -> tuple[Any, ...]:
    return tuple(d.get(c) for c in DEPENDENCY_COLUMNS)


def _license_rows(files: Iterable[Mapping[str, Any]]) -> Iterator[tuple[Any, ...]]:
    for f in files:
        detections = f.get("license_detections") or []
        expressions = [d.get("license_expression") for d in detections if d.get("license_expression")]
        if not expressions and f.get("detected_license_expression"):
            expressions = [f["detected_license_expression"]]
        for expression in expressions:
            yield (f.get("path"), expression)


# The elements of one top-level array of ScanCode.io's results ("packages", "files",
# "dependencies"), fresh on each call; absent or null is empty.
ResultsArray = Callable[[str], Iterable[Mapping[str, Any]]]


def _load_scancodeio_arrays(conn: Any, scan_id: str, array: ResultsArray) -> dict[str, int]:
    """The rows of both ScanCode.io loads: ``array`` is asked for ``files`` twice (resources,
    then license detections), each array is read as its rows are copied."""
    tool = "scancodeio"
    with transaction(conn) as cur:
        return {
            "packages": replace_rows(
                cur, "packages", scan_id, tool, PACKAGE_COLUMNS, map(_package_row, array("packages"))
            ),
            "resources": replace_rows(
                cur, "resources", scan_id, tool, RESOURCE_COLUMNS, map(_resource_row, array("files"))
            ),
            "license_detections": replace_rows(
                cur, "license_detections", scan_id, tool, ("path", "license_expression"), _license_rows(array("files"))
            ),
            "dependencies": replace_rows(
                cur, "dependencies", scan_id, tool, DEPENDENCY_COLUMNS, map(_dependency_row, array("dependencies"))
            ),
        }


def load_scancodeio(conn: Any, scan_id: str, results: Mapping[str, Any]) -> dict[str, int]:
    """ScanCode.io's results JSON (the ``json`` output), decoded → packages, resources, licenses,
    dependencies."""
    return _load_scancodeio_arrays(conn, scan_id, lambda name: results.get(name) or [])


def load_scancodeio_file(
    conn: Any, scan_id: str, open_results: Callable[[], AbstractContextManager[IO[bytes]]]
) -> dict[str, int]:
    """The same rows as ``load_scancodeio``, from the results file that ``open_results`` opens
    (e.g. ``partial(store.open, uri)``), never decoded whole: one streamed pass per array
    (packages, files twice, dependencies), each element decoded and dropped as its row is copied.
    A malformed file raises ``JsonStreamError`` and the transaction leaves the tables as they were."""

    def streamed(name: str) -> Iterator[Any]:
        with open_results() as handle:
            yield from json_stream.iter_array(handle, name)

    return _load_scancodeio_arrays(conn, scan_id, streamed)


def load_purldb(conn: Any, scan_id: str, matching_results: Mapping[str, Any]) -> dict[str, int]:
    """PurlDB's matching results → the matched packages and one row per matched file."""
    packages = {p["package_uid"]: p for p in matching_results.get("packages") or [] if p.get("package_uid")}

    def matches() -> Iterator[tuple[Any, ...]]:
        for f in matching_results.get("files") or []:
            if f.get("type") != "file":
                continue
            for uid in f.get("for_packages") or []:
                package = packages.get(uid, {})
                yield (
                    package.get("purl") or uid,
                    package.get("declared_license_expression"),
                    package.get("download_url"),
                    f["path"],
                )

    with transaction(conn) as cur:
        return {
            "packages": replace_rows(
                cur, "packages", scan_id, "purldb", PACKAGE_COLUMNS, map(_package_row, packages.values())
            ),
            "purldb_matches": replace_rows(
                cur,
                "purldb_matches",
                scan_id,
                "purldb",
                ("purl", "declared_license_expression", "download_url", "path"),
                matches(),
            ),
        }


def load_fossid(conn: Any, scan_id: str, result: FossIDResult) -> dict[str, int]:
    """FossID's identified licenses (scan-wide, so no path) and dependencies."""
    with transaction(conn) as cur:
        return {
            "license_detections": replace_rows(
                cur,
                "license_detections",
                scan_id,
                "fossid",
                ("path", "license_expression"),
                ((None, identifier) for identifier in result.identified_licenses),
            ),
            "dependencies": replace_rows(
                cur,
                "dependencies",
                scan_id,
                "fossid",
                ("purl", "extracted_requirement", "scope", "datafile_path"),
                (
                    (None, f"{d.get('name')} {d.get('version') or ''}".strip(), d.get("type"), d.get("file_path"))
                    for d in result.dependencies
                ),
            ),
        }


def row_counts(conn: Any, scan_id: str | None = None) -> dict[str, int]:
    counts = {}
    with transaction(conn) as cur:
        for table in ("scans", "tool_runs", *DETAIL_TABLES):
            where = " WHERE scan_id = %s" if scan_id else ""
            cur.execute(f"SELECT count(*) FROM {table}{where}", (scan_id,) if scan_id else ())  # noqa: S608
            counts[table] = int(cur.fetchone()[0])
    return counts


# The query a compliance engineer asks first (README "Querying the warehouse"): every scanned
# package with a GPL-family license, across all scans, and where it was found (a file path, a
# declared package's purl, or nothing for FossID's scan-wide identifications).
GPL_LICENSES_SQL = """
SELECT * FROM (
    SELECT s.filename AS scanned_package, d.tool, d.license_expression AS license, d.path AS found_in,
           s.dag_id, s.run_id, s.scan_id
    FROM license_detections d JOIN scans s USING (scan_id)
    WHERE d.license_expression ~* 'gpl'
    UNION ALL
    SELECT s.filename, p.tool, p.declared_license_expression, p.purl, s.dag_id, s.run_id, s.scan_id
    FROM packages p JOIN scans s USING (scan_id)
    WHERE p.declared_license_expression ~* 'gpl'
) AS gpl
WHERE true
"""


def findings_for(conn: Any, scan_id: str) -> list[Finding]:
    with transaction(conn) as cur:
        cur.execute("SELECT tool, severity, policy, subject FROM findings WHERE scan_id = %s", (scan_id,))
        return [Finding(tool, severity, policy, subject or "") for tool, severity, policy, subject in cur.fetchall()]
