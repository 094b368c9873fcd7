"""The local stack: real ScanCode.io with token auth, loopback-only listeners, working tools."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]


def test_scancodeio_requires_the_token(scio_url_token: tuple[str, str]) -> None:
    url, token = scio_url_token
    no_token = requests.get(f"{url}/api/projects/", timeout=30)
    assert no_token.status_code == 401
    assert no_token.json() == {"detail": "Authentication credentials were not provided."}
    wrong = requests.get(f"{url}/api/projects/", headers={"Authorization": "Token " + "0" * 64}, timeout=30)
    assert wrong.status_code == 401
    ok = requests.get(f"{url}/api/projects/", headers={"Authorization": f"Token {token}"}, timeout=30)
    assert ok.status_code == 200 and "results" in ok.json()


def test_scancodeio_serves_the_pipelines_the_dags_use(scio) -> None:
    names = {p["name"] for p in scio.list_pipelines()}
    assert {"scan_single_package", "scan_codebase", "inspect_packages", "find_vulnerabilities"} <= names


def _stack_pids() -> set[int]:
    """PIDs of the stack: every recorded leader and all of its descendants."""
    run_dir = Path(os.environ.get("SCA_RUN_DIR", ROOT / ".run"))
    leaders = {int(p.read_text().split()[0]) for p in (run_dir / "pids").glob("*.pid")}
    assert leaders, "no stack PIDs recorded: is the stack up?"
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    ours = set(leaders)
    changed = True
    while changed:
        new = {pid for pid, ppid in parents.items() if ppid in ours} - ours
        changed = bool(new)
        ours |= new
    return ours


def test_no_stack_process_listens_beyond_loopback() -> None:
    ours = _stack_pids()
    out = subprocess.run(["ss", "-ltnupH"], capture_output=True, text=True, check=True).stdout
    listeners = []
    for line in out.splitlines():
        local = line.split()[4]
        pids = {
            int(p.split("=")[1])
            for p in line.split("users:", 1)[-1].replace(")", ",").split(",")
            if p.startswith("pid=")
        }
        if pids & ours:
            listeners.append(local)
    assert listeners, "found no listener of the stack at all"
    beyond = [a for a in listeners if not (a.startswith("127.") or a.startswith("[::1]"))]
    assert beyond == [], f"stack processes listen beyond loopback: {beyond}"


def test_scancode_toolkit_runs_in_the_project_venv() -> None:
    out = subprocess.run(["scancode", "--version"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "32.5.0" in out.stdout
