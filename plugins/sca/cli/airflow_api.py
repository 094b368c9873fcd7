"""A small client for Airflow 3's REST API v2: get a JWT, trigger a DAG run, wait, read results.

Used by ``make run`` and the end-to-end tests; it is what the README shows with curl.
"""

from __future__ import annotations

import time
from typing import Any

import requests

from sca.common.errors import PermanentServiceError
from sca.common.transport import HttpTransport

TERMINAL_RUN_STATES = frozenset({"success", "failed"})


class AirflowAPI:
    def __init__(self, base_url: str, username: str, password: str) -> None:
        self.base_url = base_url.rstrip("/")
        token = requests.post(
            f"{self.base_url}/auth/token", json={"username": username, "password": password}, timeout=30
        )
        if token.status_code >= 400:
            raise PermanentServiceError(
                f"Airflow POST {self.base_url}/auth/token -> HTTP {token.status_code}: {token.text[:200]}",
                service="Airflow",
                status=token.status_code,
            )
        self.http = HttpTransport(
            f"{self.base_url}/api/v2/",
            service="Airflow",
            headers={"Authorization": f"Bearer {token.json()['access_token']}"},
        )

    def trigger(
        self, dag_id: str, conf: dict[str, Any], run_id: str | None = None, logical_date: str | None = None
    ) -> dict[str, Any]:
        """A manual run; ``logical_date`` (ISO 8601) makes it stand for that night."""
        body: dict[str, Any] = {"logical_date": logical_date, "conf": conf}
        if run_id:
            body["dag_run_id"] = run_id
        return dict(self.http.post_json(f"dags/{dag_id}/dagRuns", body))

    def dag_run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        return dict(self.http.get_json(f"dags/{dag_id}/dagRuns/{run_id}"))

    def wait(self, dag_id: str, run_id: str, timeout: float = 900.0, interval: float = 2.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            run = self.dag_run(dag_id, run_id)
            if run["state"] in TERMINAL_RUN_STATES:
                return run
            if time.monotonic() > deadline:
                raise TimeoutError(f"DAG run {dag_id}/{run_id} still {run['state']} after {timeout} s")
            time.sleep(interval)

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        body = self.http.get_json(f"dags/{dag_id}/dagRuns/{run_id}/taskInstances", params={"limit": 100})
        return list(body["task_instances"])

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str = "return_value", map_index: int = -1) -> Any:
        body = self.http.get_json(
            f"dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/{key}", params={"map_index": map_index}
        )
        return body["value"]

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int = 1) -> str:
        """The task's log lines, with the exception details Airflow keeps beside them."""
        body = self.http.get_json(f"dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/logs/{try_number}")
        lines = []
        for item in body.get("content", []):
            if isinstance(item, dict):
                lines.append(str(item.get("event", "")))
                if item.get("error_detail"):
                    lines.append(str(item["error_detail"]))
        return "\n".join(lines)

    def wait_for_dag(self, dag_id: str, timeout: float = 120.0) -> None:
        """Wait until the dag-processor has parsed the DAG (a fresh stack has not yet)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.http.get_json(f"dags/{dag_id}")
                return
            except PermanentServiceError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(2)
