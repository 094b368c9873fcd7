"""Servers a benchmark starts for itself: a real process on a free 127.0.0.1 port, stopped by its
PID when the block ends (terminate, then kill)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@contextmanager
def server(module: str, args: Sequence[str], ready_path: str, timeout: float = 60.0) -> Iterator[str]:
    """``python -m module --host 127.0.0.1 --port N *args``; yields its base URL once
    ``ready_path`` answers."""
    port = free_port()
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            [sys.executable, "-m", module, "--host", HOST, "--port", str(port), *args],
            cwd=ROOT,
            env={**os.environ},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f"http://{HOST}:{port}"
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    requests.get(url + ready_path, timeout=2)
                    break
                except requests.ConnectionError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        log.seek(0)
                        raise RuntimeError(f"{module} did not start: {log.read().decode()[-2000:]}") from None
                    time.sleep(0.1)
            yield url
        finally:
            stop(process)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.kill(process.pid, 15)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, 9)
            process.wait()
