from __future__ import annotations

import os

import pytest

from tests.conftest import require_env


@pytest.fixture(scope="session")
def airflow_api():
    from sca.cli.airflow_api import AirflowAPI

    try:
        return AirflowAPI(
            require_env("AIRFLOW__API__BASE_URL"),
            os.environ.get("SCA_AIRFLOW_USER", "admin"),
            require_env("SCA_AIRFLOW_PASSWORD"),
        )
    except Exception as exc:  # noqa: BLE001 - the message says how to fix it
        pytest.fail(f"Airflow API not reachable ({exc}): start the stack with `make up`")
