"""``python -m bench.scheduler_load`` at a tiny size on the stack, so the diagnostic cannot rot: it
triggers ``sca_portfolio`` against P1's sandboxes, measures, ends the run and cleans up. Pinned:
the run's task instances (plan, 5 per lot, the FossID project report, publish; 3 items in lots of 2), that rounds
were seen, and that nothing is left behind: the run failed with none of its tasks still going,
its scans in flight closed in the ledger (so the watchdog has nothing to chase), the connections
and inputs gone. If it overruns, it gets a SIGTERM (its clean-up runs), never a SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.conftest import require_env

ROOT = Path(__file__).resolve().parents[2]
REASON = "bench.scheduler_load failed this run on purpose; its sandboxes are stopped"


def run_bench(out: Path, budget_s: float) -> tuple[int, str]:
    args = ["--items", "3", "--lot-size", "2", "--window", "25", "--plan-timeout", "240", "--out", str(out)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.scheduler_load", *args],
        cwd=ROOT,
        env={**os.environ},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        output, _ = proc.communicate(timeout=budget_s)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGTERM)  # the benchmark ends its run and stops its sandboxes
        output, _ = proc.communicate(timeout=240)
    return proc.returncode, output


def test_scheduler_load_measures_a_small_run_and_cleans_up(tmp_path: Path) -> None:
    require_env("AIRFLOW_CONN_SCA_RESULTS_DB")
    out = tmp_path / "scheduler-load.json"
    code, output = run_bench(out, budget_s=480)
    assert code == 0, output[-6000:]
    (load,) = json.loads(out.read_text())["loads"]
    assert load["items"] == 3
    assert load["task_instances"] == 1 + 5 * 2 + 2
    assert load["rounds"] >= 1
    assert load["started_per_min"] > 0
    assert "| 3 | 13 | " in out.with_suffix(".md").read_text()

    from bench.airflow_rest import airflow_api
    from bench.p1_portfolio import CONN_IDS
    from bench.scheduler_load import GOING_STATES
    from sca.store.db import connect
    from sca.store.ledger import Ledger
    from sca.tasks.watchdog import IN_FLIGHT

    api = airflow_api()
    run_id = load["run_id"]
    assert api.dag_run("sca_portfolio", run_id)["state"] == "failed"
    going = api.http.get_json(
        f"dags/sca_portfolio/dagRuns/{run_id}/taskInstances",
        params={"state": list(GOING_STATES), "limit": 1},
    )
    assert going["total_entries"] == 0
    conn = connect()
    try:
        states = (*IN_FLIGHT, "error", "finished")
        rows = [e for e in Ledger(conn).entries(states=states) if e.last_run_id == run_id]
    finally:
        conn.close()
    assert rows, "the run submitted nothing in its 25 s window: nothing was measured"
    assert [e for e in rows if e.state in IN_FLIGHT] == []
    # closed by the benchmark, or earlier by a killed task's own clean-up: each says why
    assert all(e.last_error for e in rows if e.state == "error")
    conns = {c["connection_id"] for c in api.http.get_json("connections", params={"limit": 1000})["connections"]}
    assert not conns & set(CONN_IDS.values())
    assert not list(Path(os.environ["SCA_INPUTS_DIR"]).glob("bench-sched-*"))
