"""sca_watchdog: stops remote work left running by DAG runs that have ended.

Every ``SCA_WATCHDOG_CRON`` (default every 10 minutes; ``none`` switches it off) it reads the
scans in flight from the ledger, asks Airflow whether the DAG run that owns each has ended, and
stops what is still running on ScanCode.io, FossID or PurlDB (see ``sca.tasks.watchdog``): the
case a trigger cannot cover (a task marked failed before a triggerer loaded its trigger, a
worker killed with the remote run going). Its return value lists what it did; ``dry_run`` only
lists. The waits themselves watch runs that are alive (stalled ScanCode.io runs, FossID scans
over budget, PurlDB matchings stuck queued).
"""

from __future__ import annotations

import os

from airflow.sdk import Param, dag, get_current_context, task
from airflow.timetables.trigger import CronTriggerTimetable

DAG_ID = "sca_watchdog"
CRON = os.environ.get("SCA_WATCHDOG_CRON", "*/10 * * * *").strip()


@dag(
    dag_id=DAG_ID,
    schedule=None if CRON.lower() in ("", "none", "off") else CronTriggerTimetable(CRON, timezone="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["sca", "watchdog"],
    default_args={"owner": "sca", "retries": 1},
    doc_md=__doc__,
    params={
        "grace_minutes": Param(
            2,
            type="number",
            minimum=0,
            title="Grace (minutes)",
            description="Ledger rows changed more recently than this are left for the next round.",
        ),
        "dry_run": Param(False, type="boolean", title="Dry run", description="List what would be stopped only."),
    },
)
def sca_watchdog() -> None:
    @task(multiple_outputs=False)
    def stop_orphaned_remote_work() -> list[dict]:
        import logging
        from datetime import timedelta

        from sca.fossid.hook import FossIDHook
        from sca.purldb.hook import PurlDBHook
        from sca.scancodeio.hook import ScanCodeIOHook
        from sca.store.db import hook_connection
        from sca.store.ledger import Ledger, scan_lock
        from sca.tasks.watchdog import sweep

        context = get_current_context()
        ti, params = context["ti"], context["params"]

        def run_state(dag_id: str, run_id: str) -> str | None:
            try:
                state = ti.get_dagrun_state(dag_id=dag_id, run_id=run_id)
            except Exception as exc:
                if "not found" in str(exc).lower() or "404" in str(exc):  # not a run Airflow knows: not judged
                    logging.getLogger("airflow.task").warning("DAG run %s / %s not judged: %s", dag_id, run_id, exc)
                    return None
                raise  # the Execution API failed: the task retries rather than skip work silently
            return str(getattr(state, "value", state))  # an Enum: "failed", not "DagRunState.FAILED"

        conn = hook_connection()
        lock_conn = hook_connection()  # the keys' advisory locks, on their own session
        try:
            actions = sweep(
                Ledger(conn),
                run_state,
                {
                    "scancodeio": lambda: ScanCodeIOHook().get_conn(),
                    "fossid": lambda: FossIDHook().get_conn(),
                    "purldb": lambda: PurlDBHook().get_conn(),
                },
                key_lock=lambda key: scan_lock(lock_conn, key),
                grace=timedelta(minutes=float(params["grace_minutes"])),
                dry_run=bool(params["dry_run"]),
            )
        finally:
            conn.close()
            lock_conn.close()
        return [a.as_dict() for a in actions]

    stop_orphaned_remote_work()


sca_watchdog()
