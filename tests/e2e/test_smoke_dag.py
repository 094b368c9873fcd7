"""The smoke DAG on the running stack: REST trigger, deferral in the real triggerer, outputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sca.common.errors import PermanentServiceError
from tests.conftest import scio_settings

DAG_ID = "sca_scancodeio_smoke"


def test_rest_triggered_scan_defers_in_the_triggerer_and_saves_outputs(airflow_api) -> None:
    airflow_api.wait_for_dag(DAG_ID)
    run = airflow_api.trigger(DAG_ID, {"archive": "acme-widget-1.0.tar.gz", "pipeline": "scan_codebase"})
    final = airflow_api.wait(DAG_ID, run["dag_run_id"], timeout=600)
    states = {ti["task_id"]: ti["state"] for ti in airflow_api.task_instances(DAG_ID, run["dag_run_id"])}
    assert final["state"] == "success", states

    wait_log = airflow_api.task_log(DAG_ID, run["dag_run_id"], "run_pipelines")
    assert "Step [" in wait_log, "the trigger's progress lines are missing from the task log"
    assert "succeeded after" in wait_log, "execute_complete did not run after the deferral"

    report = airflow_api.xcom(DAG_ID, run["dag_run_id"], "report")
    for fmt in ("json", "spdx", "cyclonedx", "xlsx", "attribution"):
        path = Path(report["outputs"][fmt]["path"])
        assert path.is_file() and path.stat().st_size > 0, fmt
    assert (Path(report["results_dir"]) / "scancodeio-summary.json").is_file()
    assert report["compliance_alerts"]["resources"]["error"], "the GPL file was not flagged"

    _, token = scio_settings()
    for task_id in states:
        assert token not in airflow_api.task_log(DAG_ID, run["dag_run_id"], task_id), task_id
    assert token not in json.dumps(report)


def test_invalid_conf_is_refused_with_the_schema_message(airflow_api) -> None:
    with pytest.raises(PermanentServiceError) as info:
        airflow_api.trigger(DAG_ID, {"archive": ""})
    assert info.value.status == 400
    assert "archive" in str(info.value.detail)
