"""P6: warehouse load rate of the bulk path vs row-by-row inserts, for resource rows.

The bulk path is the real one: ``warehouse.load_scancodeio`` (``COPY … FROM STDIN`` after the
(scan, tool) delete, in one transaction) on a ScanCode.io-shaped results dict of N files. The
baseline inserts the same rows with one ``INSERT`` each (psycopg 3, one transaction). Both run
against the stack's PostgreSQL in a throwaway schema (``bench/pg.py``).
The bulk figure is the median of three loads, each a fresh scan id.
"""

from __future__ import annotations

import hashlib
import statistics
import time
from typing import Any

from bench.harness import Row
from bench.pg import connect_in, throwaway_schema, wait_for_database

TARGET_ROWS_PER_S = 100_000
LANGUAGES = ("Python", "C", "JavaScript", None)


def files(n: int) -> list[dict[str, Any]]:
    rows = []
    for i in range(n):
        digest = hashlib.sha256(str(i).encode()).hexdigest()
        rows.append(
            {
                "path": f"pkg-{i // 1000:03d}/src/module_{i:06d}.py",
                "type": "file",
                "size": 1000 + i % 5000,
                "sha1": digest[:40],
                "sha256": digest,
                "programming_language": LANGUAGES[i % len(LANGUAGES)],
                "detected_license_expression": None,
                "compliance_alert": None,
            }
        )
    return rows


def bulk_load(schema: str, results: dict[str, Any], scan_id: str) -> float:
    from sca.store import warehouse

    conn = connect_in(schema)
    try:
        began = time.perf_counter()
        loaded = warehouse.load_scancodeio(conn, scan_id, results)
        seconds = time.perf_counter() - began
    finally:
        conn.close()
    if loaded["resources"] != len(results["files"]):
        raise RuntimeError(f"loaded {loaded['resources']} resource rows of {len(results['files'])}")
    return seconds


def row_by_row(schema: str, rows: list[dict[str, Any]], scan_id: str) -> float:
    from sca.store.warehouse import RESOURCE_COLUMNS

    columns = ("scan_id", "tool", *RESOURCE_COLUMNS)
    sql = f"INSERT INTO resources ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})"  # noqa: S608
    conn = connect_in(schema)
    try:
        began = time.perf_counter()
        with conn.cursor() as cur:
            for row in rows:
                cur.execute(sql, (scan_id, "scancodeio", *(row.get(c) for c in RESOURCE_COLUMNS)))
        conn.commit()
        return time.perf_counter() - began
    finally:
        conn.close()


def run(smoke: bool) -> list[Row]:
    n = 10_000 if smoke else 100_000
    wait_for_database(60 if smoke else 180)
    results = {"files": files(n), "packages": [], "dependencies": []}
    with throwaway_schema("bench_p6") as schema:
        bulk = [bulk_load(schema, results, f"bench-p6-bulk-{k}") for k in range(3)]
        slow = row_by_row(schema, results["files"], "bench-p6-rows")
    bulk_s = statistics.median(bulk)
    rate, slow_rate = n / bulk_s, n / slow
    return [
        Row(
            "P6",
            f"warehouse load rate, {n:,} resource rows, bulk path (warehouse.load_scancodeio, COPY)",
            round(rate),
            "rows/s",
            round(slow_rate),
            "row-by-row INSERTs, same rows",
            f"≥ {TARGET_ROWS_PER_S:,} rows/s",
            rate >= TARGET_ROWS_PER_S,
            times=f"bulk {bulk_s:.2f} s (median of 3), row-by-row {slow:.2f} s",
        )
    ]
