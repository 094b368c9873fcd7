"""The stack's Airflow REST API for the benchmarks that run DAGs (P1, P4)."""

from __future__ import annotations

import os
import time
from typing import Any

import requests


def airflow_api(wait_s: float = 180.0) -> Any:
    """An ``AirflowAPI`` logged in as the stack's admin; waits while the api-server refuses
    connections (a restart), up to ``wait_s``."""
    from sca.cli.airflow_api import AirflowAPI

    deadline = time.monotonic() + wait_s
    while True:
        try:
            return AirflowAPI(
                os.environ["AIRFLOW__API__BASE_URL"],
                os.environ.get("SCA_AIRFLOW_USER", "admin"),
                os.environ["SCA_AIRFLOW_PASSWORD"],
            )
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(5)
