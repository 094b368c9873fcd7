"""sca_scan end to end on the local stack: REST trigger, real Airflow components, real
ScanCode.io, the FossID and PurlDB sandboxes. The runs are triggered together, then checked."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from sca.common.errors import PermanentServiceError
from tests.conftest import scio_settings

DAG_ID = "sca_scan"
RUNS = {
    "full": {"input": "{inputs}/six-1.16.0-py2.py3-none-any.whl"},
    "scancodeio_only": {"input": "six-1.16.0.tar.gz", "run_fossid": False, "run_purldb": False},
    "gate_failure": {"input": "acme-widget-1.0.tar.gz"},
    "bad_input": {"input": "../../etc/passwd", "run_fossid": False, "run_purldb": False},
}


@pytest.fixture(scope="module")
def runs(airflow_api, inputs_base_url) -> dict[str, dict[str, Any]]:
    airflow_api.wait_for_dag(DAG_ID)
    started = {}
    for name, conf in RUNS.items():
        conf = {k: (v.format(inputs=inputs_base_url) if isinstance(v, str) else v) for k, v in conf.items()}
        started[name] = airflow_api.trigger(DAG_ID, conf)["dag_run_id"]
    finished = {}
    for name, run_id in started.items():
        run = airflow_api.wait(DAG_ID, run_id, timeout=900)
        tis = {ti["task_id"]: ti for ti in airflow_api.task_instances(DAG_ID, run_id)}
        finished[name] = {"run": run, "run_id": run_id, "tis": tis}
    return finished


def states(result: dict[str, Any]) -> dict[str, str]:
    return {task_id: ti["state"] for task_id, ti in result["tis"].items()}


def test_rest_triggered_url_scan_succeeds_with_every_output(airflow_api, runs) -> None:
    result = runs["full"]
    assert result["run"]["state"] == "success", states(result)
    published = airflow_api.xcom(DAG_ID, result["run_id"], "publish")
    folder = Path(published["results_dir"])
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["input"]["kind"] == "url" and summary["input"]["sha256"]
    for rel in (
        "scancodeio/scancodeio-results.json",
        "scancodeio/scancodeio-sbom.spdx.json",
        "scancodeio/scancodeio-sbom.cdx.json",
        "scancodeio/scancodeio-results.xlsx",
        "scancodeio/scancodeio-attribution.html",
        "scancodeio/scancodeio-summary.json",
        "purldb/purldb-matches.json",
        "purldb/purldb-enrichment.json",
        "fossid/fossid-scans-xlsx.xlsx",
        "fossid/fossid-scans-spdx.rdf",
        "fossid/fossid-scans-cyclone_dx.json",
        "fossid/fossid-scans-html.html",
        "fossid/fossid-summary.json",
        "gate.json",
        "summary.md",
        "summary.html",
    ):
        assert (folder / rel).is_file() and (folder / rel).stat().st_size > 0, rel
    assert summary["verdict"]["status"] in ("pass", "warn")
    assert summary["tools"]["purldb"]["coverage"] == 1.0, "the wheel's files all come from six"
    assert "pkg:pypi/six@1.16.0" in summary["tools"]["scancodeio"]["declared_purls"]
    assert "# SCA report: six-1.16.0-py2.py3-none-any.whl" in (folder / "summary.md").read_text()
    listed = {f["path"] for f in summary["outputs"]}
    assert "input/six-1.16.0-py2.py3-none-any.whl" in listed
    secrets = [
        scio_settings()[1],
        *(json.loads(os.environ[f"AIRFLOW_CONN_{name}_DEFAULT"])["password"] for name in ("FOSSID", "PURLDB")),
    ]
    for task_id in result["tis"]:
        log = airflow_api.task_log(DAG_ID, result["run_id"], task_id)
        assert not [s for s in secrets if s in log], f"a secret is in the log of {task_id}"
    reports = "".join(p.read_text(errors="replace") for p in folder.rglob("*") if p.suffix in (".json", ".md", ".html"))
    assert not [s for s in secrets if s in reports]
    events = airflow_api.http.get_json(
        "assets/events", params={"source_dag_id": DAG_ID, "source_run_id": result["run_id"], "limit": 20}
    )["asset_events"]
    assert {e["uri"] for e in events} == {
        f"sca://{DAG_ID}/{kind}" for kind in ("summary", "scancodeio", "purldb", "fossid")
    }
    summary_event = next(e for e in events if e["uri"].endswith("/summary"))
    assert summary_event["extra"]["path"] == str(folder / "summary.json")


def test_switched_off_tools_are_skipped_not_failed(airflow_api, runs) -> None:
    result = runs["scancodeio_only"]
    assert result["run"]["state"] == "success", states(result)
    skipped = {t for t, s in states(result).items() if s == "skipped"}
    assert {t for t in result["tis"] if t.startswith(("fossid.", "purldb."))} == skipped
    published = airflow_api.xcom(DAG_ID, result["run_id"], "publish")
    summary = json.loads(Path(published["summary.json"]).read_text())
    assert summary["skipped"] == ["purldb", "fossid"]
    assert summary["tools"]["scancodeio"]["declared_license_expression"] == "mit"


def test_a_gate_failure_fails_the_run_naming_package_and_policy(airflow_api, runs) -> None:
    result = runs["gate_failure"]
    assert result["run"]["state"] == "failed"
    assert states(result)["publish"] == "success", "the report must be published even when the gate fails"
    assert states(result)["enforce_gate"] == "failed"
    log = airflow_api.task_log(DAG_ID, result["run_id"], "enforce_gate")
    assert "Gate FAIL for acme-widget-1.0.tar.gz" in log
    assert "license policy: gpl-2.0 is error" in log
    assert "GPL-2.0-only is not allowed" in log
    gate = airflow_api.xcom(DAG_ID, result["run_id"], "gate")
    assert any(f["source"] == "PurlDB" and "pkg:pypi/six@1.16.0" in f["policy"] for f in gate["findings"])


def test_a_bad_input_fails_fast_with_its_cause(airflow_api, runs) -> None:
    result = runs["bad_input"]
    assert result["run"]["state"] == "failed"
    fetch = result["tis"]["fetch_input"]
    assert fetch["state"] == "failed" and fetch["try_number"] == 1, "a bad path must not be retried"
    assert "outside the inputs folder" in airflow_api.task_log(DAG_ID, result["run_id"], "fetch_input")


@pytest.mark.parametrize(
    "conf, field",
    [
        ({"input": ""}, "input"),
        ({"input": "x.zip", "fail_level": "SEVERE"}, "fail_level"),
        ({"input": "x.zip", "scancodeio_pipelines": ["Not A Pipeline!"]}, "scancodeio_pipelines"),
        ({"input": "x.zip", "max_input_mb": 0}, "max_input_mb"),
    ],
)
def test_invalid_conf_is_refused_with_http_400(airflow_api, conf, field) -> None:
    with pytest.raises(PermanentServiceError) as info:
        airflow_api.trigger(DAG_ID, conf)
    assert info.value.status == 400
    assert field in str(info.value.detail)
