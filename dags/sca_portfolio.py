"""sca_portfolio: the nightly scan of the whole portfolio.

    plan ─► lot[0..⌈N/k⌉-1] (k items each, mapped: fetch ─► scancodeio ─► purldb ─┐
                                                       └─────► fossid ───┴─► report)
         ─► fossid_project_report ─► publish (portfolio report, merged SBOM, Asset)

``plan`` reads and checks the portfolio file (``include/portfolio.yaml``, or the path or URL in the
``portfolio`` param) before any scan starts, and records the night in the warehouse. The items go
through the stages ``lot_size`` (k) at a time: one map index of the ``lot`` group per lot, one
task instance per lot and stage, whose log names each item's outcome (every task execution costs
the scheduler about a CPU-second, so a night of 1,000 items cannot be one per item and stage). An
item that fails never stops the others; its lot's task shows failed and ``publish`` (``all_done``)
lists the item with its reason. An item whose bytes and settings are unchanged since its last
successful scan reuses it from the ledger. Per-service pools (scancodeio, purldb, fossid) bound
the submitting lots; every wait is deferred, once per lot.

The nightly portfolio is ``SCA_PORTFOLIO`` (default ``include/portfolio.yaml``), the schedule a
cron in ``SCA_PORTFOLIO_CRON`` (default ``0 2 * * *``; ``none`` switches it off) in the timezone
``SCA_PORTFOLIO_TIMEZONE`` (default UTC); trigger it from the UI or REST too.
"""

from __future__ import annotations

import os
from typing import Any

from airflow.sdk import Asset, Param, dag, task, task_group
from airflow.timetables.trigger import CronTriggerTimetable

from sca.notify.callbacks import notify_portfolio_failure, notify_portfolio_success
from sca.tasks.dag_defaults import CONNECTION_ARGS, FOSSID_SCAN_OPTIONS, SCAN_DEFAULT_ARGS, connection_params
from sca.tasks.fossid_project_report import FossIDProjectReportOperator
from sca.tasks.lot_unit import add_lot_tasks
from sca.tasks.portfolio import (
    DEFAULT_LOT_SIZE,
    FOSSID_REPORT_TASK,
    ITEM_GROUP,
    PLAN_TASK,
    SERVER_FACTS,
    plan,
    portfolio_folder,
    publish,
)

DAG_ID = "sca_portfolio"
FACTS = "{{{{ ti.xcom_pull(task_ids='" + PLAN_TASK + "', key='" + SERVER_FACTS + "')['{name}'] }}}}"
REPORT = Asset(uri=f"sca://{DAG_ID}/report", name=f"{DAG_ID}_report")
LOT_SIZE = int(os.environ.get("SCA_PORTFOLIO_LOT_SIZE", "").strip() or DEFAULT_LOT_SIZE)
CRON = os.environ.get("SCA_PORTFOLIO_CRON", "0 2 * * *").strip()
TIMEZONE = os.environ.get("SCA_PORTFOLIO_TIMEZONE", "UTC").strip() or "UTC"
# The nightly run's portfolio (the param's default): a path, never read here, only in ``plan``.
PORTFOLIO = os.environ.get("SCA_PORTFOLIO", "include/portfolio.yaml").strip() or "include/portfolio.yaml"


@dag(
    dag_id=DAG_ID,
    # No start_date: the first night is the next cron time after the DAG is deployed (a start
    # date in the past would start a whole-portfolio scan at once, on the first parse).
    schedule=None
    if CRON.lower() in ("", "none", "off")
    else CronTriggerTimetable(CRON, timezone=TIMEZONE, run_immediately=False),
    catchup=False,
    max_active_runs=1,
    max_active_tasks=16,
    render_template_as_native_obj=True,
    tags=["sca", "portfolio", "nightly"],
    default_args=SCAN_DEFAULT_ARGS,
    # notifications (README "Notifications"): the night's verdict when FAIL or INCOMPLETE, or the failure
    on_success_callback=notify_portfolio_success,
    on_failure_callback=notify_portfolio_failure,
    doc_md=__doc__,
    params={
        "portfolio": Param(
            PORTFOLIO,
            type="string",
            minLength=1,
            title="Portfolio",
            description="The portfolio file: a path (relative to the Airflow project) or an http(s) URL.",
        ),
        "scancodeio_pipelines": Param(
            ["scan_single_package"],
            type="array",
            minItems=1,
            items={"type": "string", "pattern": r"^[a-z_]+(:[A-Za-z_]+(,[A-Za-z_]+)*)?$"},
            title="Default ScanCode.io pipelines",
            description="For items that name none (the portfolio's defaults come first).",
        ),
        "fossid_project": Param(
            "sca-portfolio", type="string", minLength=1, maxLength=100, title="FossID project code"
        ),
        "fossid_scan_options": Param(
            dict(FOSSID_SCAN_OPTIONS),
            type="object",
            title="FossID scan options",
            description="As in sca_scan (the same options and project let both DAGs share FossID scans).",
        ),
        "fossid_project_reports": Param(
            ["xlsx", "spdx"],
            type="array",
            items={"type": "string", "enum": ["xlsx", "spdx", "spdx_lite", "cyclone_dx"]},
            title="FossID project report types",
            description="Project-scope reports of the portfolio's FossID project, kept with the portfolio report.",
        ),
        "fail_level": Param(
            "ERROR", type="string", enum=["ERROR", "WARNING", "MISSING"], title="Compliance fail level"
        ),
        "scancodeio_max_age_days": Param(
            None, type=["number", "null"], minimum=0, title="ScanCode.io reuse window (days)"
        ),
        "fossid_max_age_days": Param(30, type=["number", "null"], minimum=0, title="FossID reuse window (days)"),
        "max_input_mb": Param(512, type="integer", minimum=1, maximum=10240, title="Input size limit (MiB)"),
        "stall_minutes": Param(30, type="number", minimum=0.5, title="Stalled run budget (minutes)"),
        "lot_size": Param(
            LOT_SIZE,
            type="integer",
            minimum=1,
            maximum=100,
            title="Items per lot",
            description="Items each task instance takes through a stage: fewer task instances for the "
            "scheduler; an item waits for its lot's slowest before its next stage.",
        ),
        **connection_params(),
    },
)
def sca_portfolio() -> None:
    planned = task(task_id=PLAN_TASK, retries=3)(plan)(
        "{{ params.portfolio }}",
        "{{ params.scancodeio_pipelines }}",
        **CONNECTION_ARGS,
        lot_size="{{ params.lot_size }}",
    )

    @task_group(group_id=ITEM_GROUP)
    def lot(items: Any) -> None:
        add_lot_tasks(
            ITEM_GROUP,
            items=items,
            scancodeio_formats=["json", "cyclonedx"],
            fossid_project="{{ params.fossid_project }}",
            fossid_scan_options="{{ params.fossid_scan_options }}",
            fossid_max_age_days="{{ params.fossid_max_age_days }}",
            scancodeio_max_age_days="{{ params.scancodeio_max_age_days }}",
            fail_level="{{ params.fail_level }}",
            gate_action="warn",
            max_input_mb="{{ params.max_input_mb }}",
            stall_minutes="{{ params.stall_minutes }}",
            # checked and read once by plan: a reused item makes no remote call
            scancodeio_server_version=FACTS.format(name="scancodeio_version"),
            fossid_server_version=FACTS.format(name="fossid_version"),
            **CONNECTION_ARGS,
        )

    items = lot.expand_kwargs(planned)
    fossid_report = FossIDProjectReportOperator(
        task_id=FOSSID_REPORT_TASK,
        trigger_rule="all_done",
        project_code="{{ params.fossid_project }}",
        report_types="{{ params.fossid_project_reports }}",
        folder=portfolio_folder(DAG_ID, "{{ run_id }}"),
        plan_task_id=PLAN_TASK,
        pool="fossid",
        fossid_conn_id=CONNECTION_ARGS["fossid_conn_id"],
    )
    published = task(task_id="publish", trigger_rule="all_done", outlets=[REPORT])(publish)()
    items >> fossid_report >> published


sca_portfolio()
