"""What the DAGs attach: ``on_success_callback`` and ``on_failure_callback``. Exactly one of them
runs per run (in the dag-processor, Airflow 3's place for DAG callbacks), when every task is
done, so the verdict is final and a run is told at most once: a FAIL or INCOMPLETE verdict
ends in a successful run under gate action ``warn`` (always in the portfolio), in a failed one
under ``fail``; a run that failed before its verdict is told as failed.

sca_scan: the unit's ``report`` XCom and its ``summary.json``; sca_portfolio: the night's rows
in the warehouse and ``publish``'s XCom. No task is added to the DAGs.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

from sca.notify.notifiers import has_channel, load_settings, notify
from sca.notify.settings import NotifySettings, public_link
from sca.notify.summaries import portfolio_summary, scan_summary

log = logging.getLogger(__name__)

SCAN_REPORT_TASK = "scan.report"
PUBLISH_TASK = "publish"
SHOWN_FAILED_TASKS = 10
NOTHING_DONE: dict[str, Any] = {"event": None, "sent": [], "not_sent": []}


def run_url(dag_id: str, run_id: str) -> str | None:
    """The run's page in the Airflow UI (``[api] base_url``)."""
    from airflow.configuration import conf

    base = conf.get("api", "base_url", fallback="") or ""
    return f"{base.rstrip('/')}/dags/{dag_id}/runs/{quote(run_id, safe='')}" if base else None


def report_link(uri: str | None, settings: NotifySettings) -> str | None:
    return public_link(uri, os.environ.get("SCA_ARTEFACT_ROOT"), settings.report_base_url)


def pull(dag_id: str, run_id: str, task_id: str) -> Any:
    """A task's return value in a run (from a task or a DAG callback alike)."""
    from airflow.sdk.execution_time.xcom import XCom

    return XCom.get_one(key="return_value", dag_id=dag_id, task_id=task_id, run_id=run_id, map_index=-1)


def read_scan_report(report: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The scan's ``summary.json`` from the artefact store, or ``None`` (logged)."""
    uri = ((report or {}).get("reports") or {}).get("summary.json")
    if not uri:
        return None
    from sca.store.artefacts import ArtefactStore

    try:
        return dict(ArtefactStore().read_json(uri))
    except Exception as exc:  # noqa: BLE001 - the message then says less, it is still sent
        log.warning("Cannot read the scan report %s: %s", uri, type(exc).__name__)
        return None


def build_scan_summary(
    dag_id: str, run_id: str, settings: NotifySettings, run_failed: bool = False, **failure: Any
) -> dict[str, Any]:
    report = pull(dag_id, run_id, SCAN_REPORT_TASK)
    uris = (report or {}).get("reports") or {}
    return scan_summary(
        dag_id=dag_id,
        run_id=run_id,
        report=report,
        scan_report=read_scan_report(report),
        report_link=report_link(uris.get("summary.html"), settings),
        run_url=run_url(dag_id, run_id),
        run_failed=run_failed,
        **failure,
    )


def build_portfolio_summary(
    dag_id: str, run_id: str, settings: NotifySettings, run_failed: bool = False, **failure: Any
) -> dict[str, Any]:
    from sca.store import portfolio as ledger
    from sca.store.db import hook_connection

    published = pull(dag_id, run_id, PUBLISH_TASK) or {}
    conn = hook_connection()
    try:
        info = ledger.run_info(conn, dag_id, run_id) or {}
        items = ledger.item_rows(conn, dag_id, run_id)
        findings = ledger.finding_rows(conn, dag_id, run_id)
        failures = ledger.failure_rows(conn, dag_id, run_id)
    finally:
        conn.close()
    return portfolio_summary(
        dag_id=dag_id,
        run_id=run_id,
        name=f"{info['name']} ({info['source']})" if info else None,
        items=items,
        findings=findings,
        failures=failures,
        fail_level=night_fail_level(dag_id, run_id),
        report_link=report_link(published.get("report") or info.get("report_uri"), settings),
        run_url=run_url(dag_id, run_id),
        run_failed=run_failed,
        **failure,
    )


def night_fail_level(dag_id: str, run_id: str) -> str:
    """The fail level the night's items were judged at (the warehouse keeps it per scan)."""
    from sca.store.db import hook_connection

    conn = hook_connection()
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT fail_level FROM scans WHERE dag_id = %s AND run_id = %s AND fail_level IS NOT NULL LIMIT 1",
                (dag_id, run_id),
            )
            row = cur.fetchone()
    finally:
        conn.close()
    return str(row[0]) if row else "ERROR"


SummaryBuilder = Callable[..., dict[str, Any]]


def failed_tasks(dag_id: str, run_id: str) -> list[str]:
    """The run's failed tasks (a mapped one as ``task_id_<map index>``), the first few named."""
    from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance

    states = RuntimeTaskInstance.get_task_states(dag_id=dag_id, run_ids=[run_id]).get(run_id) or {}
    failed = sorted(task for task, state in states.items() if state == "failed")
    if len(failed) > SHOWN_FAILED_TASKS:
        return [*failed[:SHOWN_FAILED_TASKS], f"and {len(failed) - SHOWN_FAILED_TASKS} more"]
    return failed


def on_run_end(context: Mapping[str, Any], build: SummaryBuilder, run_failed: bool) -> dict[str, Any]:
    """Tell how a run ended when it is a configured event: its verdict (FAIL, INCOMPLETE) whether
    the run failed or not, or its failure. One callback runs per run, so a run is told once.
    Never raises: what was done is logged and returned."""
    dag_id, run_id = context["dag"].dag_id, str(context["run_id"])
    settings = load_settings(dag_id)
    if settings is None or not has_channel(settings):
        log.info("Notifications are not configured for %s: nothing sent", dag_id)
        return dict(NOTHING_DONE)
    failure: dict[str, Any] = {}
    try:
        if run_failed:
            failure["reason"] = str(context.get("reason") or "") or None
            try:
                failure["failed_tasks"] = failed_tasks(dag_id, run_id)
            except Exception as exc:  # noqa: BLE001 - the message then names no task
                log.warning("Cannot list the failed tasks of %s/%s: %s", dag_id, run_id, type(exc).__name__)
        try:
            summary = build(dag_id, run_id, settings, run_failed=run_failed, **failure)
        except Exception as exc:  # noqa: BLE001 - a failed run is still told, without its verdict
            log.warning("No verdict for %s/%s: %s", dag_id, run_id, type(exc).__name__)
            summary = {"dag_id": dag_id, "run_id": run_id, "verdict": None, "run_failed": run_failed, **failure}
            summary["run_url"] = run_url(dag_id, run_id)
        return notify(summary, settings, context)
    except Exception as exc:  # noqa: BLE001 - a notification must never fail or hold up anything
        log.warning("No notification for %s/%s: %s", dag_id, run_id, type(exc).__name__)
        return dict(NOTHING_DONE)


def notify_scan_success(context: Mapping[str, Any]) -> None:
    on_run_end(context, build_scan_summary, run_failed=False)


def notify_scan_failure(context: Mapping[str, Any]) -> None:
    on_run_end(context, build_scan_summary, run_failed=True)


def notify_portfolio_success(context: Mapping[str, Any]) -> None:
    on_run_end(context, build_portfolio_summary, run_failed=False)


def notify_portfolio_failure(context: Mapping[str, Any]) -> None:
    on_run_end(context, build_portfolio_summary, run_failed=True)
