"""Shared fixtures. The suite runs against the local stack (`make test` starts it and exports
its settings through stack/env.sh); a test that needs a server fails — never skips — when the
server is not there, and says which command starts it."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

ROOT = Path(__file__).resolve().parents[1]
DEMO_DIR = ROOT / "include" / "demo"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that kill stack components run after every test that only uses the stack; the
    checks of what the whole suite left behind run last."""

    def rank(item: pytest.Item) -> int:
        if item.get_closest_marker("final"):
            return 2
        return 1 if item.get_closest_marker("disruptive") else 0

    items.sort(key=rank)


def require_env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: run the tests with `make test` (it sources stack/env.sh)")
    return value


def scio_settings() -> tuple[str, str]:
    """(base URL, token) of the stack's ScanCode.io, from the scancodeio_default connection."""
    import json

    conn = json.loads(require_env("AIRFLOW_CONN_SCANCODEIO_DEFAULT"))
    return f"{conn['schema']}://{conn['host']}:{conn['port']}", conn["password"]


@pytest.fixture(scope="session")
def scio_url_token() -> tuple[str, str]:
    url, token = scio_settings()
    try:
        requests.get(f"{url}/api/", timeout=10)
    except requests.ConnectionError:
        pytest.fail(f"ScanCode.io is not running at {url}: start the stack with `make up`")
    return url, token


@pytest.fixture(scope="session")
def scio(scio_url_token: tuple[str, str]):
    from sca.scancodeio.client import ScanCodeIOClient

    return ScanCodeIOClient(*scio_url_token)


@pytest.fixture
def unique() -> Callable[[str], str]:
    """Unique names, so tests can run again against the same long-lived server."""
    return lambda stem: f"test-{stem}-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
def inputs_base_url() -> str:
    return require_env("SCA_INPUTS_BASE_URL")


@pytest.fixture(scope="session")
def demo_dir() -> Path:
    return DEMO_DIR


def wait_for_run(
    client: Any, run_uuid: str, timeout: float = 300.0, until: Callable[[str], bool] | None = None
) -> dict[str, Any]:
    """Poll a ScanCode.io run until it is terminal (or ``until(status)``)."""
    from sca.scancodeio.status import RunStatus

    deadline = time.monotonic() + timeout
    while True:
        run = client.get_run(run_uuid)
        status = run["status"]
        if until(status) if until else RunStatus(status).is_terminal:
            return run
        if time.monotonic() > deadline:
            raise AssertionError(f"run {run_uuid} still {status} after {timeout} s")
        time.sleep(0.5)


class RecordingTaskInstance:
    """Stands in for the task instance in an operator's context: records XCom pushes."""

    def __init__(self) -> None:
        self.xcom: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcom[key] = value


@pytest.fixture
def context() -> dict[str, Any]:
    return {"ti": RecordingTaskInstance()}


def first_event(trigger: Any) -> dict[str, Any]:
    """Run a trigger the way the triggerer does and return its (single) event's payload."""

    async def run() -> dict[str, Any]:
        async for event in trigger.run():
            return dict(event.payload)
        raise AssertionError("the trigger ended without an event")

    return asyncio.run(run())
