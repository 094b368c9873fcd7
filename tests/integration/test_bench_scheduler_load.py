"""``python -m bench.scheduler_load`` at a tiny size on the stack, so the diagnostic cannot rot: it
triggers ``sca_portfolio`` against P1's sandboxes, measures, fails the run and cleans up. Pinned:
the run's task instances (plan, 5 per item, the FossID project report, publish), that rounds
were seen, and that nothing is left behind: the run failed, its scans in flight closed in the
ledger (so the watchdog has nothing to chase), the connections and inputs gone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import require_env

ROOT = Path(__file__).resolve().parents[2]


def test_scheduler_load_measures_a_small_run_and_cleans_up(tmp_path: Path) -> None:
    require_env("AIRFLOW_CONN_SCA_RESULTS_DB")
    out = tmp_path / "scheduler-load.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench.scheduler_load", "--items", "3", "--window", "20", "--out", str(out)],
        cwd=ROOT,
        env={**os.environ},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (load,) = json.loads(out.read_text())["loads"]
    assert load["items"] == 3
    assert load["task_instances"] == 1 + 5 * 3 + 2
    assert load["rounds"] >= 1
    assert load["started_per_min"] > 0
    md = out.with_suffix(".md").read_text()
    assert "| 3 | 18 | " in md

    from bench.airflow_rest import airflow_api
    from bench.p1_portfolio import CONN_IDS

    api = airflow_api()
    runs = api.http.get_json("dags/sca_portfolio/dagRuns", params={"order_by": "-start_date", "limit": 1})
    (run,) = runs["dag_runs"]
    assert run["state"] == "failed"
    from sca.store.db import connect
    from sca.store.ledger import Ledger

    conn = connect()
    try:
        in_flight = [
            e for e in Ledger(conn).entries(states=("submitting", "submitted")) if e.last_run_id == run["dag_run_id"]
        ]
        closed = [e for e in Ledger(conn).entries(states=("error",)) if e.last_run_id == run["dag_run_id"]]
    finally:
        conn.close()
    assert in_flight == []
    assert closed, "the run submitted nothing in its window: nothing was measured"
    # closed by the benchmark, or by a killed task's own clean-up: each says why
    assert all(e.last_error for e in closed)
    conns = {c["connection_id"] for c in api.http.get_json("connections", params={"limit": 1000})["connections"]}
    assert not conns & set(CONN_IDS.values())
    inputs = Path(os.environ["SCA_INPUTS_DIR"])
    assert not list(inputs.glob("bench-sched-*"))
