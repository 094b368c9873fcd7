"""stack/supervise.sh: a crashed component starts again; a stopped or killed one stays down.

Real processes, no stack: the supervised command is a small Python script whose behaviour each
test sets, and which records every start and every SIGTERM it receives in files.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

SUPERVISE = Path(__file__).resolve().parents[2] / "stack" / "supervise.sh"

# Exits with the status named for its start (argv[2], e.g. "1,1,0": crash, crash, clean exit);
# past the list it sleeps until signalled. Each start appends a line to starts; each SIGTERM to
# terms, then it exits 0 after 0.3 s (as the Airflow scheduler finishes its running tasks).
CHILD = r"""
import signal, sys, time
from pathlib import Path
folder = Path(sys.argv[1])
plan = [int(s) for s in sys.argv[2].split(",") if s]
starts = folder / "starts"
with starts.open("a") as f:
    f.write("start\n")
n = len(starts.read_text().splitlines())
def on_term(signum, frame):
    with (folder / "terms").open("a") as f:
        f.write("term\n")
    time.sleep(0.3)
    sys.exit(0)
signal.signal(signal.SIGTERM, on_term)
if n <= len(plan):
    sys.exit(plan[n - 1])
while True:
    time.sleep(0.1)
"""


class Supervised:
    def __init__(self, folder: Path, plan: str) -> None:
        self.folder = folder
        self.child_file = folder / "worker.child"  # names the component "worker" in the log
        script = folder / "child.py"
        script.write_text(CHILD)
        self.log = (folder / "supervise.log").open("w")
        self.process = subprocess.Popen(
            ["bash", str(SUPERVISE), str(self.child_file), sys.executable, str(script), str(folder), plan],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # as stack/up.sh starts it: its own session and process group
            env={**os.environ, "SCA_SUPERVISE_FIRST_DELAY": "1"},
        )

    def starts(self) -> int:
        path = self.folder / "starts"
        return len(path.read_text().splitlines()) if path.exists() else 0

    def terms(self) -> int:
        path = self.folder / "terms"
        return len(path.read_text().splitlines()) if path.exists() else 0

    def output(self) -> str:
        self.log.flush()
        return (self.folder / "supervise.log").read_text()

    def wait_for_starts(self, count: int, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while self.starts() < count or not self.child_file.exists():
            assert time.monotonic() < deadline, f"{self.starts()} starts after {timeout} s:\n{self.output()}"
            time.sleep(0.05)
        time.sleep(0.3)  # the child installs its SIGTERM handler

    def child_pid(self) -> int:
        return int(self.child_file.read_text())


@pytest.fixture
def supervised(tmp_path: Path) -> Iterator[list[Supervised]]:
    made: list[Supervised] = []
    yield made
    for s in made:
        if s.process.poll() is None:
            os.killpg(s.process.pid, signal.SIGKILL)
            s.process.wait(10)
        s.log.close()


def start(supervised: list[Supervised], folder: Path, plan: str) -> Supervised:
    s = Supervised(folder, plan)
    supervised.append(s)
    return s


def test_a_crashed_command_starts_again_with_a_growing_delay(tmp_path: Path, supervised) -> None:
    s = start(supervised, tmp_path, "1,3,0")
    assert s.process.wait(30) == 0, s.output()
    assert s.starts() == 3
    out = s.output()
    # "after N s": bash's whole-second clock, 0 or 1 for a command that exits at once
    assert re.search(r"worker crashed with status 1 after [01] s; starting it again in 1 s\n", out), out
    assert re.search(r"worker crashed with status 3 after [01] s; starting it again in 2 s\n", out), out
    assert "worker exited with status 0 (0 or killed by a signal: meant); not restarting" in out
    assert not s.child_file.exists(), "the child's PID file goes with it"


def test_a_command_killed_by_a_signal_stays_down(tmp_path: Path, supervised) -> None:
    s = start(supervised, tmp_path, "")
    s.wait_for_starts(1)
    os.kill(s.child_pid(), signal.SIGKILL)
    assert s.process.wait(10) == 128 + signal.SIGKILL
    assert s.starts() == 1
    assert "worker exited with status 137 (0 or killed by a signal: meant); not restarting" in s.output()


def test_a_stop_of_the_group_reaches_the_command_once_and_waits_for_it(tmp_path: Path, supervised) -> None:
    s = start(supervised, tmp_path, "1")
    s.wait_for_starts(2)  # crashed once, running again
    child = s.child_pid()
    os.killpg(s.process.pid, signal.SIGTERM)  # what stop_group (make down) sends
    assert s.process.wait(10) == 0, s.output()
    assert s.terms() == 1, "one SIGTERM: a second would cut the scheduler's graceful stop short"
    assert s.starts() == 2
    assert "after a stop signal; not restarting" in s.output()
    with pytest.raises(ProcessLookupError):
        os.kill(child, 0)


def test_a_stop_while_waiting_to_restart_does_not_restart(tmp_path: Path, supervised) -> None:
    s = start(supervised, tmp_path, "1")
    deadline = time.monotonic() + 10
    while "starting it again in 1 s" not in s.output():
        assert time.monotonic() < deadline, s.output()
        time.sleep(0.05)
    os.killpg(s.process.pid, signal.SIGTERM)
    assert s.process.wait(10) == 1, s.output()
    time.sleep(1.5)
    assert s.starts() == 1
    assert "stop signal while waiting to restart" in s.output()
