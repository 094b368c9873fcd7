"""A 5,000-item portfolio on the real stack, at plan level, in lots of one item (the most map
indexes a portfolio can make): the plan task's XCom is accepted by the api-server (over Airflow's
default max_map_length of 1,024), and the scheduler expands the mapped lots to 5,000 map indexes
of each of their five tasks. The run is then marked failed, before the
items (generated names of files that do not exist) could do anything but fail at their fetch."""

from __future__ import annotations

import json
import time
from pathlib import Path

from sca.store import portfolio as ledger
from sca.store.db import connect

DAG_ID = "sca_portfolio"
COUNT = 5000
UNIT_TASKS = ("lot.fetch", "lot.scancodeio", "lot.purldb", "lot.fossid", "lot.report")


def count_tis(airflow_api, run_id: str, task_id: str) -> int:
    body = airflow_api.http.get_json(
        f"dags/{DAG_ID}/dagRuns/{run_id}/taskInstances", params={"task_id": task_id, "limit": 1}
    )
    return int(body["total_entries"])


def test_5000_items_in_lots_of_one_expand_into_5000_map_indexes(airflow_api, tmp_path: Path) -> None:
    items = [{"id": f"gen-{i:05d}", "input": f"generated-absent-{i:05d}.tgz"} for i in range(COUNT)]
    path = tmp_path / "portfolio-5000.json"
    path.write_text(json.dumps({"name": "generated-5000", "items": items}))
    airflow_api.wait_for_dag(DAG_ID)
    run_id = airflow_api.trigger(DAG_ID, {"portfolio": str(path), "lot_size": 1})["dag_run_id"]
    try:
        deadline = time.monotonic() + 600
        while True:
            counts = {task_id: count_tis(airflow_api, run_id, task_id) for task_id in UNIT_TASKS}
            if all(n == COUNT for n in counts.values()):
                break
            state = airflow_api.dag_run(DAG_ID, run_id)["state"]
            assert state in ("queued", "running"), f"the run ended {state} before expanding: {counts}"
            assert time.monotonic() < deadline, f"not expanded after 600 s: {counts}"
            time.sleep(3)
    finally:
        # marking 25,000 task instances takes the api-server a minute or two on two cores; the
        # scheduler updates some of them meanwhile, and Airflow 3.3 then answers 500
        # (StaleDataError in mark_tasks._set_dag_run_terminal_state, seen in CI): mark again
        http = airflow_api.http
        for _ in range(5):
            stopped = http.session.patch(
                http.url(f"dags/{DAG_ID}/dagRuns/{run_id}"), json={"state": "failed"}, timeout=900
            )
            if stopped.status_code != 500:
                break
            time.sleep(5)
        assert stopped.status_code == 200, stopped.text[:500]
    planned = airflow_api.xcom(DAG_ID, run_id, "plan")
    assert len(planned) == COUNT and planned[COUNT - 1]["items"] == [
        {
            "index": COUNT - 1,
            "item_id": "gen-04999",
            "input_value": "generated-absent-04999.tgz",
            "pipelines": ["scan_single_package"],
            "run_purldb": True,
            "run_fossid": True,
        }
    ]
    conn = connect()
    try:
        info = ledger.run_info(conn, DAG_ID, run_id)
        with conn.cursor() as cur:
            cur.execute(
                "SELECT count(*), min(map_index), max(map_index) FROM portfolio_items "
                "WHERE dag_id = %s AND run_id = %s",
                (DAG_ID, run_id),
            )
            assert cur.fetchone() == (COUNT, 0, COUNT - 1)
        conn.commit()
    finally:
        conn.close()
    assert info is not None and info["items"] == COUNT
    assert airflow_api.dag_run(DAG_ID, run_id)["state"] == "failed"
