"""Start a sandbox as a real process on a free 127.0.0.1 port for one test module; stop it by PID."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import requests

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def sandbox(module: str, ready_path: str, state_dir: Path, *args: str) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            module,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--state-dir",
            str(state_dir),
            *args,
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(url + ready_path, timeout=2)
                break
            except requests.ConnectionError:
                if process.poll() is not None or time.monotonic() > deadline:
                    output = process.stdout.read().decode() if process.stdout else ""
                    raise RuntimeError(f"{module} did not start: {output}") from None
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def configure(url: str, **values: object) -> dict:
    return requests.post(f"{url}/_sandbox/config", data=json.dumps(values), timeout=10).json()


def set_faults(url: str, **values: object) -> dict:
    return requests.post(f"{url}/_sandbox/faults", data=json.dumps(values), timeout=10).json()


def start_faultproxy(upstream: str, *args: str, log_file: IO[bytes]) -> tuple[subprocess.Popen[bytes], str]:
    """Start ``python -m sandboxes.faultproxy`` on a free port in front of ``upstream`` and wait
    until its control route answers; stdout is a pipe (it must stay empty), stderr goes to log_file."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "sandboxes.faultproxy", "--listen-port", str(port), "--upstream", upstream, *args],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=log_file,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            requests.get(url + "/_faultproxy/faults", timeout=2)
            return process, url
        except requests.ConnectionError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                log_file.seek(0)
                raise RuntimeError(f"the fault proxy did not start: {log_file.read().decode()}") from None
            time.sleep(0.1)


@contextmanager
def faultproxy(upstream: str, *args: str) -> Iterator[str]:
    """The fault proxy for the length of a block; stopped by PID (SIGTERM) after."""
    with tempfile.TemporaryFile() as log_file:
        process, url = start_faultproxy(upstream, *args, log_file=log_file)
        try:
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def set_proxy_faults(url: str, **values: object) -> dict:
    return requests.post(f"{url}/_faultproxy/faults", data=json.dumps(values), timeout=10).json()
