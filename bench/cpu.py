"""CPU time used by the processes of some sessions over a window, read from /proc (Linux).

The stack starts each Airflow component as the leader of its own session (stack/up.sh), and every
process it forks stays in that session: the scheduler, its LocalExecutor workers and the task
processes they fork, the triggerer, the api-server, the dag-processor. A snapshot holds, for each
live process of the sessions, its own CPU time plus that of the children it has reaped
(utime + stime + cutime + cstime). The CPU used between two snapshots is the growth of each
process alive at the end (a process born in the window counts whole), minus what a process that
ended in the window had used before it: its parent's cutime took over its whole life. Not
counted: a process of the sessions reaped by a process outside them after its leader died.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

Snapshot = dict[tuple[int, int], float]  # (pid, start time in ticks) -> CPU seconds

TICKS = os.sysconf("SC_CLK_TCK")


def stat_fields(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (field 3, the state, comes first)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # gone meanwhile
        return None
    return text.rsplit(")", 1)[1].split()


def running(pid: int) -> bool:
    """The process exists and has not exited: a zombie (exited, not yet reaped) is not running."""
    fields = stat_fields(pid)
    return fields is not None and fields[0] != "Z"


def parent_of(pid: int) -> int | None:
    fields = stat_fields(pid)
    return None if fields is None else int(fields[1])  # field 4


def snapshot(sessions: Iterable[int]) -> Snapshot:
    wanted = set(sessions)
    taken: Snapshot = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = stat_fields(int(entry.name))
        if fields is None or int(fields[3]) not in wanted:  # field 6, the session id
            continue
        utime, stime, cutime, cstime = (int(v) for v in fields[11:15])  # fields 14-17
        taken[(int(entry.name), int(fields[19]))] = (utime + stime + cutime + cstime) / TICKS  # field 22
    return taken


def used_between(before: Snapshot, after: Snapshot) -> float:
    grown = sum(seconds - before.get(key, 0.0) for key, seconds in after.items())
    ended = sum(seconds for key, seconds in before.items() if key not in after)
    return grown - ended


def stack_run_dir() -> Path:
    """The stack's run folder (stack/lib.sh: SCA_RUN_DIR, default .run in the checkout)."""
    return Path(os.environ.get("SCA_RUN_DIR") or Path(__file__).resolve().parents[1] / ".run")


def airflow_sessions(run_dir: Path) -> dict[str, int]:
    """The session ids of the stack's running Airflow components, by component (airflow-scheduler,
    …): their .pid files name the session leaders."""
    leaders = {}
    for pid_file in sorted((run_dir / "pids").glob("airflow-*.pid")):
        pid = int(pid_file.read_text().split()[0])
        if running(pid):
            leaders[pid_file.stem] = pid
    if not leaders:
        raise RuntimeError(f"no running Airflow component recorded in {run_dir / 'pids'}: is the stack up?")
    return leaders


def snapshots(sessions: dict[str, int]) -> dict[str, Snapshot]:
    return {name: snapshot([leader]) for name, leader in sessions.items()}


def used_by_component(before: dict[str, Snapshot], after: dict[str, Snapshot]) -> dict[str, float]:
    return {name: used_between(before[name], after.get(name, {})) for name in before}


def component_processes(run_dir: Path) -> dict[str, int]:
    """Each supervised component's own process (stack/supervise.sh names it in NAME.child)."""
    found = {}
    for child_file in (run_dir / "pids").glob("airflow-*.child"):
        try:
            found[child_file.stem] = int(child_file.read_text().split()[0])
        except (OSError, ValueError, IndexError):  # being restarted
            continue
    return found


def used_by_process(before: Snapshot, after: Snapshot, pids: set[int]) -> float:
    """The part of used_between that the processes ``pids`` used themselves (with the children
    they reaped)."""
    return used_between(
        {key: v for key, v in before.items() if key[0] in pids}, {key: v for key, v in after.items() if key[0] in pids}
    )
