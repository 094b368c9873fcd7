"""The same stack on CeleryExecutor: `SCA_EXECUTOR=celery make up` restarts the Airflow components
with a Redis broker and two named Celery workers; six sca_scan runs then all succeed and both
workers ran their tasks (told apart by the task instances' host names). The stack goes back to
LocalExecutor at the end, with its workers stopped."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from bench.cpu import running
from tests.conftest import ROOT, require_env

pytestmark = pytest.mark.disruptive  # restarts every Airflow component, twice

DAG_ID = "sca_scan"
WHEEL = "six-1.16.0-py2.py3-none-any.whl"
WORKERS = {"worker-1", "worker-2"}
CONFS: list[dict[str, Any]] = [
    {"input": WHEEL},
    {"input": "{inputs}/" + WHEEL, "run_fossid": False},
    {"input": "pkg:pypi/six@1.16.0", "run_purldb": False},
    {"input": "six-1.16.0.tar.gz", "run_fossid": False, "run_purldb": False},
    {"input": WHEEL, "scancodeio_pipelines": ["scan_codebase"], "run_fossid": False, "run_purldb": False},
    {"input": "six-1.16.0.tar.gz", "run_purldb": False},
]


def run_dir() -> Path:
    return Path(os.environ.get("SCA_RUN_DIR", str(ROOT / ".run")))


def switch_executor(executor: str) -> None:
    env = {**os.environ, "SCA_EXECUTOR": executor}
    done = subprocess.run(
        ["bash", "stack/up.sh"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, f"SCA_EXECUTOR={executor} stack/up.sh failed:\n{done.stderr[-4000:]}"


def live_workers() -> set[str]:
    names = set()
    for pid_file in (run_dir() / "pids").glob("airflow-celery-worker-*.pid"):
        if running(int(pid_file.read_text())):  # a zombie worker is not live
            names.add(pid_file.stem.removeprefix("airflow-celery-"))
    return names


@pytest.fixture(scope="module")
def celery_runs(airflow_api, inputs_base_url) -> dict[str, Any]:
    """Switches to Celery, runs the six scans, switches back to LocalExecutor; the checks read
    what was recorded on the way."""
    require_env("AIRFLOW__API__BASE_URL")
    recorded: dict[str, Any] = {}
    switch_executor("celery")
    try:
        recorded["executor_on_celery"] = (run_dir() / "executor").read_text().strip()
        recorded["workers_on_celery"] = live_workers()
        airflow_api.wait_for_dag(DAG_ID)
        started = []
        for conf in CONFS:
            conf = {k: (v.format(inputs=inputs_base_url) if isinstance(v, str) else v) for k, v in conf.items()}
            started.append(airflow_api.trigger(DAG_ID, conf)["dag_run_id"])
        recorded["runs"] = []
        for run_id in started:
            run = airflow_api.wait(DAG_ID, run_id, timeout=900)
            recorded["runs"].append({"run_id": run_id, "run": run, "tis": airflow_api.task_instances(DAG_ID, run_id)})
    finally:
        switch_executor("local")
    recorded["executor_after"] = (run_dir() / "executor").read_text().strip()
    recorded["workers_after"] = live_workers()
    recorded["worker_pid_files_after"] = sorted(p.name for p in (run_dir() / "pids").glob("airflow-celery-*.pid"))
    return recorded


def test_the_switch_starts_two_named_workers(celery_runs) -> None:
    assert celery_runs["executor_on_celery"] == "celery"
    assert celery_runs["workers_on_celery"] == WORKERS


def test_six_scans_succeed_on_celery(celery_runs) -> None:
    runs = celery_runs["runs"]
    assert len(runs) == 6
    assert {r["run_id"]: r["run"]["state"] for r in runs if r["run"]["state"] != "success"} == {}


def test_both_named_workers_ran_tasks(celery_runs) -> None:
    hostnames = [ti["hostname"] for r in celery_runs["runs"] for ti in r["tis"] if ti["state"] == "success"]
    # fetch, scancodeio, report and enforce_gate in each run, plus purldb in two and fossid in
    # three (the tools a run switches off end skipped)
    assert len(hostnames) == 6 * 4 + 2 + 3
    # sca.common.hostname: "<machine>/<worker name>" on a worker the stack started; every task
    # that ran, ran on one of the two Celery workers (none in a LocalExecutor process)
    assert all("/" in name for name in hostnames), sorted(set(hostnames))
    assert {name.rsplit("/", 1)[1] for name in hostnames} == WORKERS, sorted(set(hostnames))


def test_the_stack_is_back_on_local_executor_without_workers(celery_runs) -> None:
    assert celery_runs["executor_after"] == "local"
    assert celery_runs["workers_after"] == set()
    assert celery_runs["worker_pid_files_after"] == []
