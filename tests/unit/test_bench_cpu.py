"""bench.cpu: the CPU a session's processes used over a window, from /proc, on real processes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bench.cpu import (
    airflow_sessions,
    component_processes,
    snapshot,
    snapshots,
    used_between,
    used_by_component,
    used_by_process,
)
from bench.p1_portfolio import Sizes, cpu_bound

# Says "ready" once started; on "go" from stdin, burns argv[1] seconds of CPU time, in a
# grandchild it forks and reaps when argv[2] is "fork" (the session's leader then holds that CPU
# as cutime), says "done" and waits for stdin to close.
BURNER = r"""
import os, sys, time
print("ready", flush=True)
sys.stdin.readline()
def burn(seconds):
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass
if sys.argv[2] == "fork":
    child = os.fork()
    if child == 0:
        burn(float(sys.argv[1]))
        os._exit(0)
    os.waitpid(child, 0)
else:
    burn(float(sys.argv[1]))
print("done", flush=True)
sys.stdin.read()
"""


def burner(seconds: float, how: str) -> subprocess.Popen[str]:
    """Started and ready: its interpreter's start-up is behind it, so a snapshot taken now sees
    only what it burns after "go"."""
    process = subprocess.Popen(
        [sys.executable, "-c", BURNER, str(seconds), how],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own session, as the stack starts each component
    )
    assert process.stdout is not None and process.stdout.readline() == "ready\n"
    return process


def finish(process: subprocess.Popen[str]) -> None:
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write("go\n")
    process.stdin.flush()
    assert process.stdout.readline() == "done\n"


@pytest.mark.parametrize("how", ["self", "fork"])
def test_the_cpu_a_session_used_in_the_window(how: str) -> None:
    idle = burner(0.0, "self")  # a second session, not asked about, burning nothing
    process = burner(0.6, how)
    try:
        before = snapshot([process.pid])
        finish(process)
        after = snapshot([process.pid])
        used = used_between(before, after)
        # 0.6 s burnt in the window (and the fork, a readline, a print); /proc counts in clock
        # ticks charged to whoever runs when the tick fires, so a tick or a few may go either way
        assert 0.55 <= used <= 1.0, used
        assert {pid for pid, _ in after} == {process.pid}, "only the session asked about"
    finally:
        for p in (process, idle):
            p.communicate("")


def test_a_process_that_ended_in_the_window_counts_once() -> None:
    """Its parent reaped it: the parent's cutime grew by the child's whole life, so what the child
    had used before the window is taken off."""
    before = {(10, 1): 5.0, (11, 2): 2.0}  # the leader, and a child that had used 2 s
    after = {(10, 1): 5.0 + 3.0}  # the child used 1 s more, then was reaped: cutime += 3 s
    assert used_between(before, after) == pytest.approx(1.0)


def test_a_reused_pid_is_another_process() -> None:
    """pid 10 ended (reaped by the leader, 1 s more than before the window) and a new process got
    its number: both are counted, neither twice."""
    before = {(1, 1): 2.0, (10, 50): 5.0}
    after = {(1, 1): 2.0 + 6.0, (10, 99): 0.5}
    assert used_between(before, after) == pytest.approx(1.0 + 0.5)


def test_airflow_sessions_are_the_recorded_live_leaders(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    pids.mkdir()
    live = burner(0.0, "self")
    try:
        (pids / "airflow-scheduler.pid").write_text(f"{live.pid}\n")
        (pids / "airflow-triggerer.pid").write_text("999999999\n")  # not running
        (pids / "redis.pid").write_text(f"{live.pid}\n")  # not an Airflow component
        assert airflow_sessions(tmp_path) == {"airflow-scheduler": live.pid}
        (pids / "airflow-scheduler.pid").unlink()
        with pytest.raises(RuntimeError, match="no running Airflow component recorded in .*pids"):
            airflow_sessions(tmp_path)
    finally:
        live.communicate("")


def test_used_by_component() -> None:
    first, second = burner(0.3, "self"), burner(0.0, "self")
    try:
        sessions = {"airflow-scheduler": first.pid, "airflow-triggerer": second.pid}
        before = snapshots(sessions)
        finish(first)
        finish(second)
        used = used_by_component(before, snapshots(sessions))
        assert set(used) == set(sessions)
        assert 0.25 <= used["airflow-scheduler"] <= 1.0, used
        assert used["airflow-triggerer"] < 0.25, used
    finally:
        first.communicate("")
        second.communicate("")


def test_cpu_bound_states_the_floor_for_a_thousand_items() -> None:
    size = Sizes(items=100, workers=5, scan_s=24.0, fossid_scan_s=18.0, fossid_queue_s=1.0, sequential_k=5, warmup_s=30)
    used = {"airflow-api-server": 60.0, "airflow-scheduler": 170.0, "airflow-triggerer": 20.0}
    assert cpu_bound(used, size, cores=2) == (
        "Airflow CPU 250 s (scheduler 170, api-server 60, triggerer 20; 2.50 s an item) on 2 cores: "
        "at most 48.0 items/min; "
        "1,000 items need ≥ 21 min of it vs Σ scan ÷ C 80 min at this C and S"
    )


def test_cpu_bound_splits_a_component_from_its_workers_and_tasks() -> None:
    size = Sizes(items=100, workers=5, scan_s=24.0, fossid_scan_s=18.0, fossid_queue_s=1.0, sequential_k=5, warmup_s=30)
    used = {"airflow-scheduler": 170.0, "airflow-triggerer": 20.0}
    itself = {"airflow-scheduler": 50.0, "airflow-triggerer": 19.6}  # the triggerer: all its own
    assert cpu_bound(used, size, cores=2, itself=itself).startswith(
        "Airflow CPU 190 s (scheduler 170 (itself 50, its workers and tasks 120), triggerer 20; 1.90 s an item)"
    )


def test_used_by_process_counts_only_those_processes() -> None:
    before = {(1, 1): 2.0, (7, 3): 1.0}
    after = {(1, 1): 2.5, (7, 3): 4.0, (8, 9): 1.0}
    assert used_by_process(before, after, {1}) == pytest.approx(0.5)
    assert used_by_process(before, after, {7, 8}) == pytest.approx(4.0)


def test_component_processes_reads_the_supervisors_child_files(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    pids.mkdir()
    (pids / "airflow-scheduler.child").write_text("4321\n")
    (pids / "airflow-triggerer.child").write_text("")  # being restarted
    (pids / "airflow-scheduler.pid").write_text("4320\n")
    assert component_processes(tmp_path) == {"airflow-scheduler": 4321}


def test_a_zombie_is_not_running_and_its_parent_is_known() -> None:
    import os
    import time

    from bench.cpu import parent_of, running

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        assert parent_of(child.pid) == os.getpid()
        deadline = time.monotonic() + 30
        while running(child.pid):  # exits at once; not reaped until wait(): a zombie meanwhile
            assert time.monotonic() < deadline, "the child never exited"
            time.sleep(0.05)
        assert Path(f"/proc/{child.pid}/stat").exists()  # still there, as a zombie
    finally:
        child.wait()
    assert not running(child.pid) and parent_of(child.pid) is None
