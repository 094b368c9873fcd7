"""Components SIGKILLed mid-run, on the local stack: the triggerer, the scheduler, a task's own
process, and ScanCode.io's RQ worker. After `make up` restarts what is missing, the run completes
and every service holds exactly one remote object for the package (counted through the APIs).
A scheduler that crashes (exits with an error) is started again by stack/supervise.sh alone.

Each test scans its own freshly generated package, so nothing is reused from the ledger and the
kill lands on real remote work. These tests stop and start stack components: they run one at a
time, after the tests that only read the stack.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import tarfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import psycopg2
import pytest
import requests

from bench.cpu import parent_of, running
from sca.fossid.client import FossIDClient
from tests.conftest import ROOT, require_env, scio_settings

DAG_ID = "sca_scan"
FOSSID_PROJECT = "sca-kill-tests"
pytestmark = pytest.mark.disruptive


def make_package(tag: str, files: int = 30) -> str:
    """A source package nobody has scanned: Python files with a license header."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for i in range(files):
            body = (
                f"# SPDX-License-Identifier: MIT\n# module {i} of {tag}\n\n"
                + "\n".join(f"def f{i}_{j}(x):\n    return x * {j}  # {os.urandom(8).hex()}\n" for j in range(60))
            ).encode()
            info = tarfile.TarInfo(f"{tag}/src/m{i}.py")
            info.size = len(body)
            archive.addfile(info, io.BytesIO(body))
    name = f"{tag}.tar.gz"
    (Path(require_env("SCA_INPUTS_DIR")) / name).write_bytes(buffer.getvalue())
    return name


def wait_until(what: str, check: Callable[[], Any], timeout: float = 300.0, interval: float = 1.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def run_dir() -> Path:
    return Path(os.environ.get("SCA_RUN_DIR", ROOT / ".run"))


def kill_session(component: str) -> int:
    """SIGKILL every process in the session of a stack component (it leads its own session)."""
    leader = int((run_dir() / "pids" / f"{component}.pid").read_text())
    out = subprocess.run(["ps", "-eo", "pid=,sid="], capture_output=True, text=True, check=True).stdout
    pids = [int(p) for p, s in (line.split() for line in out.splitlines()) if int(s) == leader]
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    return len(pids)


STACK_PROCESS_MARKS = (
    "airflow ",
    "LocalExecutor",
    "scanpipe",
    "gunicorn",
    "rq:",
    "sandboxes.",
    "http.server",
    "redis-server",
)


def stack_processes() -> list[str]:
    """Processes of the stack still alive (zombies awaiting their reaper do not count)."""
    ours = {os.getpid(), os.getppid()}
    out = subprocess.run(["ps", "-eo", "pid=,stat=,args="], capture_output=True, text=True, check=True).stdout
    found = []
    for line in out.splitlines():
        pid, stat, args = line.strip().split(None, 2)
        if int(pid) in ours or stat.startswith("Z") or "pytest" in args:
            continue
        if any(mark in args for mark in STACK_PROCESS_MARKS):
            found.append(f"{pid} {args[:120]}")
    return found


def scheduler_pid() -> int:
    """The scheduler's own process (stack/supervise.sh leads its session and names it in .child)."""
    return int((run_dir() / "pids" / "airflow-scheduler.child").read_text())


def make_up() -> None:
    subprocess.run(["make", "up"], cwd=ROOT, check=True, capture_output=True, timeout=600)


def ti(airflow_api, run_id: str, task_id: str) -> dict[str, Any]:
    return next(t for t in airflow_api.task_instances(DAG_ID, run_id) if t["task_id"] == task_id)


def scio_projects(stem: str) -> list[str]:
    url, token = scio_settings()
    page = requests.get(
        f"{url}/api/projects/", params={"name__contains": stem}, headers={"Authorization": f"Token {token}"}, timeout=30
    ).json()
    return sorted(p["name"] for p in page["results"])


def fossid() -> FossIDClient:
    conn = json.loads(require_env("AIRFLOW_CONN_FOSSID_DEFAULT"))
    return FossIDClient(f"http://{conn['host']}:{conn['port']}", conn["login"], conn["password"])


def fossid_scans(stem: str) -> list[str]:
    return sorted(s["code"] for s in fossid().get_all_scans(FOSSID_PROJECT) if stem in str(s.get("code")))


def purldb_matchings() -> int:
    conn = json.loads(require_env("AIRFLOW_CONN_PURLDB_DEFAULT"))
    counts = requests.get(f"http://{conn['host']}:{conn['port']}/_sandbox/requests", timeout=30).json()
    return int(counts.get("POST /api/matching/", 0))


def start_scan(airflow_api, tag: str, files: int = 30, **conf: Any) -> str:
    airflow_api.wait_for_dag(DAG_ID)
    body = {"input": make_package(tag, files), "gate_action": "warn", "fossid_project": FOSSID_PROJECT, **conf}
    return str(airflow_api.trigger(DAG_ID, body)["dag_run_id"])


def finish_and_count(airflow_api, run_id: str, tag: str, matchings_before: int) -> dict[str, Any]:
    run = airflow_api.wait(DAG_ID, run_id, timeout=900)
    states = {t["task_id"]: t["state"] for t in airflow_api.task_instances(DAG_ID, run_id)}
    return {
        "run": run["state"],
        "tasks": states,
        "scancodeio projects": len(scio_projects(tag)),
        "fossid scans": len(fossid_scans(tag)),
        "purldb matchings": purldb_matchings() - matchings_before,
    }


EXPECTED = {
    "run": "success",
    "tasks": {
        "scan.fetch": "success",
        "scan.scancodeio": "success",
        "scan.purldb": "success",
        "scan.fossid": "success",
        "scan.report": "success",
        "enforce_gate": "success",
    },
    "scancodeio projects": 1,
    "fossid scans": 1,
    "purldb matchings": 1,
}


@pytest.fixture
def tag() -> str:
    return f"kill-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def slow_fossid_scans() -> Any:
    """FossID scans that take 45 s, so the FossID task is surely deferred when a component dies."""
    conn = json.loads(require_env("AIRFLOW_CONN_FOSSID_DEFAULT"))
    url = f"http://{conn['host']}:{conn['port']}/_sandbox/config"
    before = requests.get(url, timeout=30).json()["timings"]["scan_seconds"]
    requests.post(url, json={"scan_seconds": 45}, timeout=30).raise_for_status()
    yield
    requests.post(url, json={"scan_seconds": before}, timeout=30).raise_for_status()


@pytest.fixture(autouse=True)
def stack_back_up_afterwards():
    yield
    make_up()


def test_the_triggerer_killed_while_a_scan_is_deferred(airflow_api, tag: str, slow_fossid_scans: None) -> None:
    matchings = purldb_matchings()
    run_id = start_scan(airflow_api, tag)
    wait_until("the FossID task deferred", lambda: ti(airflow_api, run_id, "scan.fossid")["state"] == "deferred")
    assert kill_session("airflow-triggerer") >= 1
    time.sleep(5)
    make_up()
    assert finish_and_count(airflow_api, run_id, tag, matchings) == EXPECTED


def test_the_scheduler_killed_mid_run(airflow_api, tag: str, slow_fossid_scans: None) -> None:
    """SIGKILL of the scheduler alone (its LocalExecutor workers are orphaned; `make up` kills
    them and starts a new scheduler); the run completes."""
    matchings = purldb_matchings()
    run_id = start_scan(airflow_api, tag)
    wait_until("the FossID task deferred", lambda: ti(airflow_api, run_id, "scan.fossid")["state"] == "deferred")
    scheduler = scheduler_pid()
    os.kill(scheduler, signal.SIGKILL)  # the scheduler alone: its LocalExecutor workers outlive it
    time.sleep(5)
    make_up()
    assert finish_and_count(airflow_api, run_id, tag, matchings) == EXPECTED


@contextmanager
def scheduler_queries_refused() -> Iterator[None]:
    """PostgreSQL refuses the airflow role's reads of slot_pool (REVOKE) until the block ends: the
    scheduler reads it with FOR UPDATE on every loop that has a free executor slot, gets a database
    error that is not an OperationalError (those it retries) and exits with status 1, the way it did
    on a deadlock in a CI run. Cutting its sessions instead (pg_terminate_backend) crashed it only
    when the cut fell inside a statement outside its retry wrappers: a flaky test. No other component
    reads slot_pool, and the grant comes back before the new scheduler starts."""
    dsn = require_env("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN").replace("postgresql+psycopg2://", "postgresql://")
    # as the airflow role, which owns the table: an owner may revoke its own privileges and grant them again
    with closing(psycopg2.connect(dsn)) as conn:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("REVOKE SELECT, UPDATE ON slot_pool FROM CURRENT_USER")
        try:
            yield
        finally:
            with conn.cursor() as cur:
                cur.execute("GRANT SELECT, UPDATE ON slot_pool TO CURRENT_USER")


def test_the_scheduler_crashing_mid_run_is_started_again(airflow_api, tag: str, slow_fossid_scans: None) -> None:
    """A query of the scheduler fails and it exits with status 1 (as it did on a PostgreSQL deadlock
    in a CI run): stack/supervise.sh starts it again, without `make up`, and
    the run completes."""
    matchings = purldb_matchings()
    run_id = start_scan(airflow_api, tag)
    wait_until("the FossID task deferred", lambda: ti(airflow_api, run_id, "scan.fossid")["state"] == "deferred")
    supervisor = int((run_dir() / "pids" / "airflow-scheduler.pid").read_text())
    log_file = run_dir() / "logs" / "airflow-scheduler.log"
    log_offset = log_file.stat().st_size
    crashed = scheduler_pid()
    with scheduler_queries_refused():
        wait_until("the scheduler to exit", lambda: not running(crashed), timeout=120, interval=0.1)
    restarted = wait_until(
        "a new scheduler process",
        lambda: (pid := scheduler_pid_if_any()) not in (None, crashed) and running(pid) and pid,
        timeout=30,
        interval=0.2,
    )
    assert running(supervisor), "the same supervisor runs the new scheduler"
    assert parent_of(restarted) == supervisor
    with log_file.open("rb") as log:
        log.seek(log_offset)
        assert b"supervise: airflow-scheduler crashed with status 1" in log.read()
    assert finish_and_count(airflow_api, run_id, tag, matchings) == EXPECTED


def scheduler_pid_if_any() -> int | None:
    try:
        return scheduler_pid()
    except (FileNotFoundError, ValueError):  # between the crash and the restart
        return None


def test_a_task_process_killed_after_it_submitted(airflow_api, tag: str) -> None:
    """The ScanCode.io task's own process dies right after it created its project: the scheduler
    fails it when its heartbeat stops, and the retry re-attaches to the same project."""
    matchings = purldb_matchings()
    run_id = start_scan(airflow_api, tag)
    wait_until("the ScanCode.io project", lambda: scio_projects(tag), interval=0.3)
    task = ti(airflow_api, run_id, "scan.scancodeio")
    assert task["state"] == "running", "the task defers only after a 10 s wait in the worker"
    title = f"airflow worker -- {task['id']}"  # the process the LocalExecutor forked for this try
    out = subprocess.run(["ps", "-eo", "pid=,args="], capture_output=True, text=True, check=True).stdout
    killed = [int(pid) for pid, args in (line.strip().split(None, 1) for line in out.splitlines()) if args == title]
    assert len(killed) == 1, f"processes titled {title!r}: {killed}"
    os.kill(killed[0], signal.SIGKILL)
    result = finish_and_count(airflow_api, run_id, tag, matchings)
    assert result == EXPECTED
    assert ti(airflow_api, run_id, "scan.scancodeio")["try_number"] == 2, "the killed try was retried"


def test_the_scancodeio_worker_killed_mid_pipeline(airflow_api, tag: str) -> None:
    """The RQ worker and its work-horse die mid-run and come back at once: ScanCode.io keeps the run
    `running` (its job is still marked started), so our wait sees no progress for stall_minutes,
    stops the run, resets the project and runs the pipeline again."""
    matchings = purldb_matchings()
    run_id = start_scan(airflow_api, tag, stall_minutes=1)
    url, token = scio_settings()

    def running_run() -> bool:
        names = scio_projects(tag)
        if not names:
            return False
        project = requests.get(
            f"{url}/api/projects/", params={"name": names[0]}, headers={"Authorization": f"Token {token}"}, timeout=30
        ).json()["results"][0]
        detail = requests.get(project["url"], headers={"Authorization": f"Token {token}"}, timeout=30).json()
        return any(r["status"] == "running" for r in detail["runs"])

    wait_until("a running ScanCode.io run", running_run, interval=0.5)
    assert kill_session("scio-worker") >= 2  # the worker and its work-horse
    make_up()
    result = finish_and_count(airflow_api, run_id, tag, matchings)
    assert result == EXPECTED
    tries = ti(airflow_api, run_id, "scan.scancodeio")["try_number"]
    assert "recovering (1 of 2)" in airflow_api.task_log(DAG_ID, run_id, "scan.scancodeio", tries)


def test_make_down_after_a_killed_scheduler_leaves_no_process() -> None:
    scheduler = scheduler_pid()
    workers = [p for p in stack_processes() if "LocalExecutor" in p]
    assert len(workers) == 8, workers  # [core] parallelism
    supervisor = int((run_dir() / "pids" / "airflow-scheduler.pid").read_text())
    os.kill(scheduler, signal.SIGKILL)
    time.sleep(2)
    assert len([p for p in stack_processes() if "LocalExecutor" in p]) == 8, "the workers outlive it"
    assert not running(supervisor), "a scheduler killed by a signal is not restarted: its supervisor exits"
    subprocess.run(["make", "down"], cwd=ROOT, check=True, capture_output=True, timeout=300)
    assert stack_processes() == [], "make down must leave no process of the stack"


def mark_failed(airflow_api, run_id: str, task_id: str) -> None:
    """What a user does in the UI: mark the task instance failed."""
    airflow_api.http.request(
        "PATCH", f"dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/{task_id}", json={"new_state": "failed"}
    )


def test_deferred_tasks_marked_failed_stop_their_remote_work(airflow_api, tag: str, slow_fossid_scans: None) -> None:
    """Marked failed while deferred, the tasks' triggers stop what they wait for: the FossID scan
    is cancelled (Workbench reports it FAILED, "The process was cancelled") and the ScanCode.io
    run ends `stopped`."""
    run_id = start_scan(airflow_api, tag, files=3000, run_purldb=False)  # a ScanCode.io run of minutes
    wait_until(
        "both tools deferred",
        lambda: {ti(airflow_api, run_id, t)["state"] for t in ("scan.fossid", "scan.scancodeio")} == {"deferred"},
        interval=0.5,
    )
    time.sleep(15)  # the triggers are running (their first poll is after 10 s): a user's pace
    mark_failed(airflow_api, run_id, "scan.fossid")
    mark_failed(airflow_api, run_id, "scan.scancodeio")
    (code,) = fossid_scans(tag)
    cancelled = wait_until(
        "the FossID scan cancelled",
        lambda: (status := fossid().check_status(code, "SCAN")).status.value == "FAILED" and status,
        timeout=60,
    )
    assert "cancelled" in cancelled.comment.lower()
    url, token = scio_settings()
    (name,) = scio_projects(tag)
    headers = {"Authorization": f"Token {token}"}
    project = requests.get(f"{url}/api/projects/", params={"name": name}, headers=headers, timeout=30).json()
    detail_url = project["results"][0]["url"]
    statuses = wait_until(
        "the ScanCode.io run stopped",
        lambda: (
            [r["status"] for r in requests.get(detail_url, headers=headers, timeout=30).json()["runs"]]
            if all(
                r["status"] != "running" for r in requests.get(detail_url, headers=headers, timeout=30).json()["runs"]
            )
            else None
        ),
        timeout=60,
    )
    assert statuses == ["stopped"]


@pytest.fixture
def one_hung_fossid_scan() -> Any:
    """The next FossID scan hangs RUNNING until it is cancelled: only a stop can end it."""
    conn = json.loads(require_env("AIRFLOW_CONN_FOSSID_DEFAULT"))
    url = f"http://{conn['host']}:{conn['port']}/_sandbox/config"
    requests.post(url, json={"hang_next_scans": 1}, timeout=30).raise_for_status()
    yield
    requests.post(url, json={"hang_next_scans": 0}, timeout=30).raise_for_status()


def scio_run_statuses(name: str) -> list[str]:
    url, token = scio_settings()
    headers = {"Authorization": f"Token {token}"}
    page = requests.get(f"{url}/api/projects/", params={"name": name}, headers=headers, timeout=30).json()
    detail = requests.get(page["results"][0]["url"], headers=headers, timeout=30).json()
    return [r["status"] for r in detail["runs"]]


def test_remote_work_left_by_a_run_that_ended_is_stopped_by_the_watchdog(
    airflow_api, tag: str, one_hung_fossid_scan: None
) -> None:
    """The triggerer is down when the DAG run is marked failed and while the watchdog runs, so no
    trigger's ``on_kill`` can stop anything (as when a task is marked failed before a triggerer
    has loaded its trigger):
    the FossID scan and the ScanCode.io run go on. The watchdog finds both through the ledger and
    stops them, and leaves the ledger rows saying so."""
    run_id = start_scan(airflow_api, tag, files=5000, run_purldb=False)  # a ScanCode.io run of minutes
    wait_until(
        "both tools deferred",
        lambda: {ti(airflow_api, run_id, t)["state"] for t in ("scan.fossid", "scan.scancodeio")} == {"deferred"},
        interval=0.5,
    )
    wait_until("the ScanCode.io run running", lambda: scio_run_statuses(scio_projects(tag)[0]) == ["running"])
    assert kill_session("airflow-triggerer") >= 1
    airflow_api.http.request("PATCH", f"dags/{DAG_ID}/dagRuns/{run_id}", json={"state": "failed"})
    assert airflow_api.wait(DAG_ID, run_id, timeout=120)["state"] == "failed"
    # The triggerer stays down until the end (the fixture's make up): a restarted one may still
    # load the old triggers and stop the work from their on_kill, which is not what is tested here.
    (code,) = fossid_scans(tag)
    (name,) = scio_projects(tag)
    time.sleep(10)
    assert fossid().check_status(code, "SCAN").status.value == "RUNNING", "nothing stopped the scan"
    assert scio_run_statuses(name) == ["running"], "nothing stopped the run"

    airflow_api.wait_for_dag("sca_watchdog")
    watch = airflow_api.trigger("sca_watchdog", {"grace_minutes": 0})["dag_run_id"]
    assert airflow_api.wait("sca_watchdog", watch, timeout=300)["state"] == "success"
    actions = [a for a in airflow_api.xcom("sca_watchdog", watch, "stop_orphaned_remote_work") if a["run_id"] == run_id]
    by_service = {a["service"]: a for a in actions}
    assert sorted(by_service) == ["fossid", "scancodeio"]
    assert by_service["fossid"]["done"] == [f"cancelled scan {code}"]
    assert by_service["fossid"]["run_state"] == "failed" and by_service["fossid"]["remote"] == code
    (stopped,) = by_service["scancodeio"]["done"]
    assert stopped.startswith("stopped run ") and stopped.endswith("(scan_single_package)")
    status = fossid().check_status(code, "SCAN")
    assert (status.status.value, status.comment) == ("FAILED", "The process was cancelled")
    assert wait_until("the ScanCode.io run stopped", lambda: scio_run_statuses(name) == ["stopped"], timeout=60)

    from sca.store.db import connect
    from sca.store.ledger import Ledger

    with connect() as conn:
        rows = [e for e in Ledger(conn).entries(states=("error",)) if e.last_run_id == run_id]
    assert sorted(e.service for e in rows) == ["fossid", "scancodeio"]
    for entry in rows:
        assert f"the DAG run {DAG_ID} / {run_id} ended failed with this scan in flight" in str(entry.last_error)
