"""The portfolio's rows in the warehouse: each night's plan (its items and their map indexes), the
queries the portfolio report is built from, and the trend over the last nights.

No Airflow, no pandas: every function takes a psycopg 3 connection and returns plain rows
(``list[dict]``); the report turns them into tables.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sca.core.portfolio import Portfolio
from sca.pipeline.fetch import redact_url
from sca.store.db import transaction
from sca.store.warehouse import copy_rows

ITEM_UNIT = "item"  # the mapped scan unit's group id in a portfolio DAG


class PlanChangedError(ValueError):
    """A retried plan read a different portfolio than the night was planned with."""


def record_plan(conn: Any, dag_id: str, run_id: str, logical_date: datetime, portfolio: Portfolio) -> None:
    """Write the night's plan. A retried plan task (or a cleared one) may only write the same
    items in the same order: the items' scans are keyed by their map index, so a portfolio edited
    in between must be a new run, never a re-plan that would give an index to another item."""
    planned = [(index, item.id, item.input) for index, item in enumerate(portfolio.items)]
    with conn.cursor() as cur:
        cur.execute(
            "SELECT map_index, item_id, input FROM portfolio_items WHERE dag_id = %s AND run_id = %s "
            "ORDER BY map_index",
            (dag_id, run_id),
        )
        existing = [tuple(row) for row in cur.fetchall()]
    conn.commit()
    if existing and existing != [(i, item_id, redact_url(value)) for i, item_id, value in planned]:
        raise PlanChangedError(
            f"the portfolio {portfolio.source} changed since run {run_id} was planned "
            f"({len(existing)} items then, {len(planned)} now): trigger a new run instead of clearing this one"
        )
    with transaction(conn) as cur:
        cur.execute(
            "INSERT INTO portfolio_runs (dag_id, run_id, logical_date, name, source, items) "
            "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (dag_id, run_id) DO UPDATE SET "
            "logical_date = EXCLUDED.logical_date, name = EXCLUDED.name, source = EXCLUDED.source, "
            "items = EXCLUDED.items, planned_at = now()",
            (dag_id, run_id, logical_date, portfolio.name, portfolio.source, len(portfolio)),
        )
        cur.execute("DELETE FROM portfolio_items WHERE dag_id = %s AND run_id = %s", (dag_id, run_id))
        copy_rows(
            cur,
            "portfolio_items",
            ("dag_id", "run_id", "map_index", "item_id", "input", "owner", "tags", "tools", "pipelines"),
            (
                (
                    dag_id,
                    run_id,
                    index,
                    item.id,
                    redact_url(item.input),
                    item.owner,
                    list(item.tags),
                    list(item.tools),
                    list(item.pipelines),
                )
                for index, item in enumerate(portfolio.items)
            ),
        )


def record_report(conn: Any, dag_id: str, run_id: str, report_uri: str, summary: Mapping[str, Any]) -> None:
    with transaction(conn) as cur:
        cur.execute(
            "UPDATE portfolio_runs SET reported_at = now(), report_uri = %s, summary = %s "
            "WHERE dag_id = %s AND run_id = %s",
            (report_uri, json.dumps(summary), dag_id, run_id),
        )


def run_info(conn: Any, dag_id: str, run_id: str) -> dict[str, Any] | None:
    return _one(
        conn,
        "SELECT dag_id, run_id, logical_date, name, source, items, report_uri FROM portfolio_runs "
        "WHERE dag_id = %s AND run_id = %s",
        (dag_id, run_id),
    )


def previous_run(conn: Any, dag_id: str, run_id: str) -> str | None:
    """The last night before this one, of the same portfolio (its file or URL), that published a
    report: the one to compare with. A run of another portfolio file is another series."""
    row = _one(
        conn,
        "SELECT p.run_id FROM portfolio_runs p, portfolio_runs c "
        "WHERE c.dag_id = %s AND c.run_id = %s AND p.dag_id = c.dag_id AND p.run_id <> c.run_id "
        "AND p.source = c.source AND p.reported_at IS NOT NULL AND p.logical_date < c.logical_date "
        "ORDER BY p.logical_date DESC LIMIT 1",
        (dag_id, run_id),
    )
    return row["run_id"] if row else None


# -- the report's tables -------------------------------------------------------------------------
def _items_joined(join: str = "") -> str:
    """The night's items, each with its scan (if the unit recorded one), then ``join``."""
    return (
        "FROM portfolio_items i LEFT JOIN scans s ON s.dag_id = i.dag_id AND s.run_id = i.run_id "
        f"AND s.unit_id = '{ITEM_UNIT}' AND s.map_index = i.map_index {join} "
        "WHERE i.dag_id = %s AND i.run_id = %s"
    )


def item_rows(conn: Any, dag_id: str, run_id: str) -> list[dict[str, Any]]:
    """One row per item: its scan, verdict, which tools were reused, how many errored."""
    return _all(
        conn,
        "SELECT i.map_index, i.item_id, i.input, i.owner, i.tags, i.tools, s.scan_id, s.filename, "
        "s.input_sha256, s.verdict, s.report_uri, "
        "(SELECT string_agg(t.tool, ',' ORDER BY t.tool) FROM tool_runs t "
        " WHERE t.scan_id = s.scan_id AND t.reused) AS reused, "
        "(SELECT count(*) FROM tool_runs t WHERE t.scan_id = s.scan_id AND t.status = 'error') AS errors "
        f"{_items_joined()} ORDER BY i.map_index",
        (dag_id, run_id),
    )


def failure_rows(conn: Any, dag_id: str, run_id: str) -> list[dict[str, Any]]:
    """Every tool that errored on an item, every item judged ``incomplete`` for another reason (a
    result that could not be read), and every item left without a verdict."""
    return _all(
        conn,
        "SELECT i.map_index, i.item_id, t.tool AS stage, coalesce(t.reason, 'no reason recorded') AS reason "
        f"{_items_joined('JOIN tool_runs t ON t.scan_id = s.scan_id')} AND t.status = 'error' "
        "UNION ALL "
        "SELECT i.map_index, i.item_id, 'report' AS stage, CASE WHEN s.verdict IS NULL "
        "THEN 'no verdict: the report task of the item did not finish (see its log in Airflow)' "
        # the gate's message without its header line: "missing purldb: its result could not be read"
        "ELSE coalesce(nullif(regexp_replace(regexp_replace(s.verdict_message, '^[^\\n]*\\n\\s*', ''), "
        "'\\n\\s*', '; ', 'g'), ''), 'incomplete verdict') END AS reason "
        f"{_items_joined()} AND (s.verdict IS NULL OR s.verdict = 'incomplete') AND NOT EXISTS "
        "(SELECT 1 FROM tool_runs t WHERE t.scan_id = s.scan_id AND t.status = 'error') "
        "ORDER BY 1, 3",
        (dag_id, run_id, dag_id, run_id),
    )


def package_rows(conn: Any, dag_id: str, run_id: str) -> list[dict[str, Any]]:
    return _all(
        conn,
        "SELECT i.item_id, p.purl, p.name, p.version, p.declared_license_expression "
        f"{_items_joined('JOIN packages p ON p.scan_id = s.scan_id')} AND p.tool = 'scancodeio' "
        "ORDER BY i.map_index, p.purl",
        (dag_id, run_id),
    )


def license_rows(conn: Any, dag_id: str, run_id: str) -> list[dict[str, Any]]:
    return _all(
        conn,
        "SELECT i.item_id, l.license_expression, count(DISTINCT l.path) AS files "
        f"{_items_joined('JOIN license_detections l ON l.scan_id = s.scan_id')} AND l.tool = 'scancodeio' "
        "GROUP BY i.map_index, i.item_id, l.license_expression ORDER BY i.map_index, l.license_expression",
        (dag_id, run_id),
    )


def finding_rows(conn: Any, dag_id: str, run_id: str) -> list[dict[str, Any]]:
    return _all(
        conn,
        "SELECT i.item_id, f.tool, f.severity, f.policy, f.subject "
        f"{_items_joined('JOIN findings f ON f.scan_id = s.scan_id')} "
        "ORDER BY i.map_index, f.tool, f.severity, f.policy, f.subject",
        (dag_id, run_id),
    )


def trend_rows(conn: Any, dag_id: str, run_id: str, nights: int = 14) -> list[dict[str, Any]]:
    """The last ``nights`` planned nights of this portfolio up to this one (oldest first), with
    their counts."""
    return _all(
        conn,
        "WITH nights AS ("
        "  SELECT p.run_id, p.logical_date FROM portfolio_runs p, portfolio_runs c"
        "  WHERE c.dag_id = %s AND c.run_id = %s AND p.dag_id = c.dag_id AND p.source = c.source"
        "  AND p.logical_date <= c.logical_date ORDER BY p.logical_date DESC LIMIT %s),"
        " item_scans AS ("
        "  SELECT n.run_id, n.logical_date, i.item_id, s.scan_id, s.verdict,"
        "   (s.verdict IS NULL OR s.verdict = 'incomplete' OR EXISTS (SELECT 1 FROM tool_runs t"
        "    WHERE t.scan_id = s.scan_id"
        "    AND t.status = 'error')) AS failed"
        "  FROM nights n JOIN portfolio_items i ON i.dag_id = %s AND i.run_id = n.run_id"
        f"  LEFT JOIN scans s ON s.dag_id = i.dag_id AND s.run_id = i.run_id AND s.unit_id = '{ITEM_UNIT}'"
        "   AND s.map_index = i.map_index)"
        " SELECT x.run_id, x.logical_date, count(*) AS items, count(*) FILTER (WHERE x.failed) AS failed_items,"
        "  (SELECT count(*) FROM packages p JOIN item_scans y ON y.scan_id = p.scan_id"
        "   WHERE y.run_id = x.run_id AND p.tool = 'scancodeio') AS packages,"
        "  (SELECT count(*) FROM findings f JOIN item_scans y ON y.scan_id = f.scan_id"
        "   WHERE y.run_id = x.run_id) AS findings,"
        "  (SELECT count(*) FROM findings f JOIN item_scans y ON y.scan_id = f.scan_id"
        "   WHERE y.run_id = x.run_id AND f.severity = 'error') AS error,"
        "  (SELECT count(*) FROM findings f JOIN item_scans y ON y.scan_id = f.scan_id"
        "   WHERE y.run_id = x.run_id AND f.severity = 'warning') AS warning,"
        "  (SELECT count(*) FROM findings f JOIN item_scans y ON y.scan_id = f.scan_id"
        "   WHERE y.run_id = x.run_id AND f.severity = 'missing') AS missing,"
        "  count(*) FILTER (WHERE x.verdict = 'pass') AS pass,"
        "  count(*) FILTER (WHERE x.verdict = 'warn') AS warn,"
        "  count(*) FILTER (WHERE x.verdict = 'fail') AS fail,"
        "  count(*) FILTER (WHERE x.verdict = 'incomplete') AS incomplete"
        " FROM item_scans x GROUP BY x.run_id, x.logical_date ORDER BY x.logical_date",
        (dag_id, run_id, nights, dag_id),
    )


def _all(conn: Any, sql: str, params: Sequence[Any]) -> list[dict[str, Any]]:
    with conn.cursor() as cur:
        cur.execute(sql, params)
        names = [d.name for d in cur.description]
        rows = [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    conn.commit()
    return rows


def _one(conn: Any, sql: str, params: Sequence[Any]) -> dict[str, Any] | None:
    rows = _all(conn, sql, params)
    return rows[0] if rows else None
