"""The portfolio's warehouse rows on the stack's PostgreSQL: a re-plan may not move items to other
map indexes; failures are every errored tool, every incomplete verdict and every item without
one; the comparison and the trend stay within one portfolio file; no input URL keeps its token."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from sca.core.gate import MissingTool, Verdict
from sca.core.portfolio import parse_portfolio
from sca.core.results import ToolRun, ToolStatus
from sca.store import portfolio as ledger
from sca.store import warehouse
from sca.store.db import connect
from sca.tasks.unit_base import scan_id_for
from tests.conftest import require_env

DAG = "test_portfolio_store"
NIGHT = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)


@pytest.fixture
def conn():
    connection = connect(require_env("AIRFLOW_CONN_SCA_RESULTS_DB"))
    yield connection
    with connection.cursor() as cur:
        cur.execute("DELETE FROM scans WHERE dag_id = %s", (DAG,))
        cur.execute("DELETE FROM portfolio_runs WHERE dag_id = %s", (DAG,))
    connection.commit()
    connection.close()


def portfolio(source: str, *inputs: str):
    items = [{"id": f"item-{i}", "input": value} for i, value in enumerate(inputs)]
    return parse_portfolio({"items": items}, source)


def unit_scan(conn, run_id: str, index: int, verdict: str | None, runs: list[ToolRun]) -> str:
    scan_id = scan_id_for(DAG, run_id, ledger.ITEM_UNIT, index)
    warehouse.record_scan(conn, scan_id, DAG, run_id, ledger.ITEM_UNIT, index, "x")
    for run in runs:
        warehouse.record_tool_run(conn, scan_id, run)
    if verdict:
        missing = [MissingTool("purldb", "its result could not be read")] if verdict == "incomplete" else []
        warehouse.set_verdict(conn, scan_id, Verdict("p.whl", verdict, "ERROR", "warn", missing=missing), None)
    return scan_id


def test_a_replan_must_keep_every_item_at_its_map_index(conn) -> None:
    run = f"run-{uuid.uuid4()}"
    ledger.record_plan(conn, DAG, run, NIGHT, portfolio("p.yaml", "a.whl", "b.whl"))
    ledger.record_plan(conn, DAG, run, NIGHT, portfolio("p.yaml", "a.whl", "b.whl"))  # a retry: same plan
    with pytest.raises(ledger.PlanChangedError, match="changed since run .* was planned .2 items then, 3 now."):
        ledger.record_plan(conn, DAG, run, NIGHT, portfolio("p.yaml", "new.whl", "a.whl", "b.whl"))
    assert [(r["map_index"], r["item_id"]) for r in ledger.item_rows(conn, DAG, run)] == [(0, "item-0"), (1, "item-1")]


def test_failures_are_errored_tools_incomplete_verdicts_and_missing_verdicts(conn) -> None:
    run = f"run-{uuid.uuid4()}"
    ledger.record_plan(conn, DAG, run, NIGHT, portfolio("p.yaml", "ok.whl", "bad.whl", "lost.whl", "odd.whl", "x.whl"))
    unit_scan(conn, run, 0, "pass", [ToolRun("scancodeio", ToolStatus.SUCCESS)])
    unit_scan(conn, run, 1, "incomplete", [ToolRun("fossid", ToolStatus.ERROR, reason="RunFailedError: scan failed")])
    unit_scan(conn, run, 2, None, [ToolRun("fetch", ToolStatus.SUCCESS)])
    unit_scan(conn, run, 3, "incomplete", [ToolRun("scancodeio", ToolStatus.SUCCESS)])
    # item 4: its fetch never recorded a scan row at all
    rows = [(r["item_id"], r["stage"], r["reason"]) for r in ledger.failure_rows(conn, DAG, run)]
    assert rows == [
        ("item-1", "fossid", "RunFailedError: scan failed"),
        ("item-2", "report", "no verdict: the report task of the item did not finish (see its log in Airflow)"),
        ("item-3", "report", "missing purldb: its result could not be read"),
        ("item-4", "report", "no verdict: the report task of the item did not finish (see its log in Airflow)"),
    ]
    trend = ledger.trend_rows(conn, DAG, run)
    assert [(t["items"], t["failed_items"], t["pass"], t["incomplete"]) for t in trend] == [(5, 4, 1, 2)]


def test_a_night_compares_with_the_previous_night_of_the_same_portfolio(conn) -> None:
    runs = [f"run-{i}-{uuid.uuid4()}" for i in range(3)]
    ledger.record_plan(conn, DAG, runs[0], NIGHT, portfolio("nightly.yaml", "a.whl"))
    ledger.record_plan(conn, DAG, runs[1], NIGHT + timedelta(hours=3), portfolio("adhoc.yaml", "z.whl"))
    ledger.record_plan(conn, DAG, runs[2], NIGHT + timedelta(days=1), portfolio("nightly.yaml", "a.whl"))
    for run in runs[:2]:
        ledger.record_report(conn, DAG, run, "file:///r.html", {"items": 1})
    assert ledger.previous_run(conn, DAG, runs[2]) == runs[0]
    assert [t["run_id"] for t in ledger.trend_rows(conn, DAG, runs[2])] == [runs[0], runs[2]]
    assert ledger.previous_run(conn, DAG, runs[0]) is None


def test_an_input_url_is_stored_without_its_credentials(conn) -> None:
    run = f"run-{uuid.uuid4()}"
    secret = "https://bot:s3cret@files.example.invalid/pkg.tgz?X-Amz-Signature=abc123"
    ledger.record_plan(conn, DAG, run, NIGHT, portfolio("p.yaml", secret))
    stored = ledger.item_rows(conn, DAG, run)[0]["input"]
    assert stored == "https://files.example.invalid/pkg.tgz?…"
    ledger.record_plan(conn, DAG, run, NIGHT, portfolio("p.yaml", secret))  # a retry still matches
