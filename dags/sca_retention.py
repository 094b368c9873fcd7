"""sca_retention: archive ScanCode.io projects and delete FossID scans whose results are in the
warehouse, older than ``keep_days`` or beyond the ``keep_last`` newest scans of their package.

Runs daily; ``dry_run`` lists what it would remove (the task log and its XCom) and touches
nothing. Results stay reusable: they are in the artefact store, and the ledger says so.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Param, dag, get_current_context, task

DAG_ID = "sca_retention"


@dag(
    dag_id=DAG_ID,
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["sca", "retention"],
    default_args={"owner": "sca", "retries": 2},
    doc_md=__doc__,
    params={
        "keep_days": Param(
            30,
            type=["number", "null"],
            minimum=0,
            title="Keep days",
            description="Remove remote scans that finished more than this many days ago (null: no age limit).",
        ),
        "keep_last": Param(
            3,
            type=["integer", "null"],
            minimum=0,
            title="Keep last",
            description="Keep this many newest scans per package and service (null: no count limit).",
        ),
        "dry_run": Param(False, type="boolean", title="Dry run", description="List what would be removed only."),
        "packages": Param(
            [],
            type="array",
            items={"type": "string"},
            title="Only these packages",
            description="Input file names to limit retention to (empty: all).",
        ),
    },
)
def sca_retention() -> None:
    @task(pool="scancodeio", multiple_outputs=False)
    def remove_remote_scans() -> dict:
        from sca.fossid.hook import FossIDHook
        from sca.scancodeio.hook import ScanCodeIOHook
        from sca.store.db import hook_connection
        from sca.tasks.retention import run_retention

        params = get_current_context()["params"]
        conn = hook_connection()
        try:
            return run_retention(
                conn,
                {"scancodeio": ScanCodeIOHook().get_conn(), "fossid": FossIDHook().get_conn()},
                keep_days=params["keep_days"],
                keep_last=params["keep_last"],
                dry_run=bool(params["dry_run"]),
                packages=list(params["packages"] or []) or None,
            )
        finally:
            conn.close()

    remove_remote_scans()


sca_retention()
