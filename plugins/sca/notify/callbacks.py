"""What the DAGs attach: a ``notify`` task after the report (a FAIL or INCOMPLETE verdict may end
in a successful run, so the verdict is told from a task that reads it) and an
``on_failure_callback`` for a failed run that the task has not already told about.

sca_scan: ``notify_scan_verdict`` reads the unit's ``report`` XCom and its ``summary.json``;
sca_portfolio: ``notify_portfolio_verdict`` reads the night's rows in the warehouse and
``publish``'s XCom. Each returns what it did as its XCom, which the failure callback reads
(the dag-processor runs DAG callbacks) so a run is told about once.
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

NOTIFY_TASK = "notify"
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


def notify_verdict(build: SummaryBuilder) -> dict[str, Any]:
    """The ``notify`` task: tell the run's verdict when it is a configured event. Never raises."""
    from airflow.sdk import get_current_context

    context = get_current_context()
    ti = context["ti"]
    settings = load_settings(ti.dag_id)
    if settings is None or not has_channel(settings):
        log.info("Notifications are not configured for %s: nothing sent", ti.dag_id)
        return dict(NOTHING_DONE)
    try:
        summary = build(ti.dag_id, ti.run_id, settings)
        return notify(summary, settings, context)
    except Exception as exc:  # noqa: BLE001 - a notification must not fail a run
        log.warning("No notification for %s/%s: %s", ti.dag_id, ti.run_id, type(exc).__name__)
        return dict(NOTHING_DONE)


def notify_scan_verdict() -> dict[str, Any]:
    return notify_verdict(build_scan_summary)


def notify_portfolio_verdict() -> dict[str, Any]:
    return notify_verdict(build_portfolio_summary)


def failed_tasks(dag_id: str, run_id: str) -> list[str]:
    """The run's failed tasks (a mapped one as ``task_id_<map index>``), the first few named."""
    from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance

    states = RuntimeTaskInstance.get_task_states(dag_id=dag_id, run_ids=[run_id]).get(run_id) or {}
    failed = sorted(task for task, state in states.items() if state == "failed")
    if len(failed) > SHOWN_FAILED_TASKS:
        return [*failed[:SHOWN_FAILED_TASKS], f"and {len(failed) - SHOWN_FAILED_TASKS} more"]
    return failed


def on_run_failure(context: Mapping[str, Any], build: SummaryBuilder) -> None:
    """The DAG's ``on_failure_callback``: tell a failed run, unless the ``notify`` task already
    told this run's verdict (a FAIL that the gate turns into a failed run). Never raises."""
    dag_id, run_id = context["dag"].dag_id, str(context["run_id"])
    settings = load_settings(dag_id)
    if settings is None or not has_channel(settings):
        return
    try:
        told = pull(dag_id, run_id, NOTIFY_TASK) or {}
        if told.get("event"):
            log.info("Run %s/%s failed; its %s verdict was already notified", dag_id, run_id, told["event"])
            return
        try:
            tasks = failed_tasks(dag_id, run_id)
        except Exception as exc:  # noqa: BLE001 - the message then names no task
            log.warning("Cannot list the failed tasks of %s/%s: %s", dag_id, run_id, type(exc).__name__)
            tasks = []
        reason = str(context.get("reason") or "") or None
        try:
            summary = build(dag_id, run_id, settings, run_failed=True, reason=reason, failed_tasks=tasks)
        except Exception as exc:  # noqa: BLE001 - still tell the failure, without the verdict
            log.warning("No verdict for the failed run %s/%s: %s", dag_id, run_id, type(exc).__name__)
            summary = {
                "dag_id": dag_id,
                "run_id": run_id,
                "verdict": None,
                "run_failed": True,
                "reason": reason,
                "failed_tasks": tasks,
                "run_url": run_url(dag_id, run_id),
            }
        notify(summary, settings, context)
    except Exception as exc:  # noqa: BLE001 - a callback's error would only be logged by Airflow, with less care
        log.warning("No notification for the failed run %s/%s: %s", dag_id, run_id, type(exc).__name__)


def notify_scan_failure(context: Mapping[str, Any]) -> None:
    on_run_failure(context, build_scan_summary)


def notify_portfolio_failure(context: Mapping[str, Any]) -> None:
    on_run_failure(context, build_portfolio_summary)
