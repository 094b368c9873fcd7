"""A failing tool gives an INCOMPLETE verdict and still a report; retention removes remote scans
whose results are in the warehouse, dry run first. Runs after test_sca_scan.py (the FossID
failure switch is global to the stack's sandbox, so nothing else may scan meanwhile)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import requests

from sca.common.files import sha256_of
from sca.core.keys import ScanKey, scancodeio_settings
from sca.core.results import ToolRun
from sca.store.artefacts import ArtefactStore
from sca.store.db import connect
from sca.store.ledger import Ledger
from tests.conftest import require_env
from tests.e2e.test_sca_scan import fossid_client, scio_client
from tests.sandbox_process import configure

DAG_ID = "sca_scan"
OOM = "Scan failed: out of memory while scanning"
DEFAULT_FAIL_COMMENT = "Scan failed: scanner process exited with code 137"
DEFAULT_SCAN_SECONDS = 4.0


def fossid_url() -> str:
    conn = json.loads(require_env("AIRFLOW_CONN_FOSSID_DEFAULT"))
    return f"http://{conn['host']}:{conn['port']}"


def run_and_wait(airflow_api, dag_id: str, conf: dict[str, Any]) -> dict[str, Any]:
    airflow_api.wait_for_dag(dag_id)
    run_id = airflow_api.trigger(dag_id, conf)["dag_run_id"]
    run = airflow_api.wait(dag_id, run_id, timeout=900)
    tis = {ti["task_id"]: ti for ti in airflow_api.task_instances(dag_id, run_id)}
    return {"run": run, "run_id": run_id, "tis": tis}


def test_a_failing_fossid_scan_gives_an_incomplete_verdict_and_a_report_naming_why(airflow_api) -> None:
    configure(fossid_url(), fail_scans=True, fail_comment=OOM)
    try:
        result = run_and_wait(
            airflow_api,
            DAG_ID,
            {
                "input": "six-1.16.0.tar.gz",  # clean for ScanCode.io: no finding outranks the gap
                "run_purldb": False,
                # another sensitivity than test_sca_scan.py's runs: a scan of its own, not a reused one
                "fossid_scan_options": {"sensitivity": 7, "auto_identification_detect_declaration": True},
            },
        )
    finally:
        configure(fossid_url(), fail_scans=False, fail_comment=DEFAULT_FAIL_COMMENT)
    tis = result["tis"]
    assert result["run"]["state"] == "failed"
    assert (tis["scan.fossid"]["state"], tis["scan.fossid"]["try_number"]) == ("failed", 1), "not retried"
    assert tis["scan.report"]["state"] == "success" and tis["enforce_gate"]["state"] == "failed"
    report = airflow_api.xcom(DAG_ID, result["run_id"], "scan.report")
    assert (report["verdict"], report["missing"], report["fails_run"]) == ("incomplete", ["fossid"], True)
    markdown = b"".join(ArtefactStore().chunks(report["reports"]["summary.md"])).decode()
    assert "**Verdict: INCOMPLETE**" in markdown
    assert "## Missing results\n\n- FossID: RunFailedError: FossID SCAN of scan " in markdown
    assert f"ended FAILED: {OOM}" in markdown
    assert OOM in airflow_api.task_log(DAG_ID, result["run_id"], "enforce_gate")


@pytest.fixture(scope="module")
def fresh_sdist_scan(airflow_api) -> dict[str, Any]:
    """The six sdist scanned (or reused), then scanned again now with reuse windows of 0: the
    second run finds finished scans that are stale, and retention has something to remove."""
    sdist = {"input": "six-1.16.0.tar.gz", "run_purldb": False, "gate_action": "warn"}
    assert run_and_wait(airflow_api, DAG_ID, sdist)["run"]["state"] == "success"
    configure(fossid_url(), scan_seconds=25)  # long enough that the FossID task defers
    try:
        result = run_and_wait(
            airflow_api,
            DAG_ID,
            {
                "input": "six-1.16.0.tar.gz",
                "run_purldb": False,
                "scancodeio_max_age_days": 0,
                "fossid_max_age_days": 0,
                "gate_action": "warn",
            },
        )
    finally:
        configure(fossid_url(), scan_seconds=DEFAULT_SCAN_SECONDS)
    assert result["run"]["state"] == "success", {t: ti["state"] for t, ti in result["tis"].items()}
    tools = {
        t: ToolRun.from_dict(airflow_api.xcom(DAG_ID, result["run_id"], f"scan.{t}")) for t in ("scancodeio", "fossid")
    }
    return {**result, "tools": tools}


def test_stale_scans_are_scanned_again_and_waits_are_deferred(airflow_api, fresh_sdist_scan) -> None:
    tools = fresh_sdist_scan["tools"]
    assert not tools["scancodeio"].reused and not tools["fossid"].reused
    fossid_log = airflow_api.task_log(DAG_ID, fresh_sdist_scan["run_id"], "scan.fossid")
    assert "Deleting the stale FossID scan six-1.16.0-" in fossid_log
    scio_log = airflow_api.task_log(DAG_ID, fresh_sdist_scan["run_id"], "scan.scancodeio")
    assert "Deleting the outdated project six-1.16.0-" in scio_log
    for task_id, log, before, after in (
        ("scan.fossid", fossid_log, "Started FossID SCAN", "Stored FossID html report"),
        ("scan.scancodeio", scio_log, "Started scan_single_package run", "Stored json output"),
    ):
        # the worker's lines, in order: submit, defer, (resumed) store; the trigger's own log is
        # appended by the API, and its last lines may not be flushed yet, so only its start counts
        assert log.index(before) < log.index("Pausing task as DEFERRED") < log.index(after), task_id
        assert re.search(rf"trigger {DAG_ID}/\S+/{task_id}/-1/1 \(ID \d+\) starting", log), task_id
    assert {fresh_sdist_scan["tis"][t]["try_number"] for t in ("scan.fossid", "scan.scancodeio")} == {1}


def test_retention_dry_run_lists_then_a_real_run_removes(airflow_api, fresh_sdist_scan) -> None:
    project_name = str(fresh_sdist_scan["tools"]["scancodeio"].remote_name)
    scan_code = str(fresh_sdist_scan["tools"]["fossid"].remote_name)
    scio, fossid = scio_client(), fossid_client()
    assert scio.find_project(project_name)["is_archived"] is False
    assert fossid.get_scan(scan_code) is not None
    conf = {"keep_days": 0, "keep_last": None, "packages": ["six-1.16.0.tar.gz"]}

    dry = run_and_wait(airflow_api, "sca_retention", {**conf, "dry_run": True})
    assert dry["run"]["state"] == "success"
    planned = airflow_api.xcom("sca_retention", dry["run_id"], "remove_remote_scans")
    assert planned["removed"] == 0
    assert sorted((p["service"], p["remote_name"]) for p in planned["planned"]) == [
        ("fossid", scan_code),
        ("scancodeio", project_name),
    ]
    assert scio.find_project(project_name)["is_archived"] is False, "a dry run touches nothing"
    assert fossid.get_scan(scan_code) is not None

    real = run_and_wait(airflow_api, "sca_retention", {**conf, "dry_run": False})
    assert real["run"]["state"] == "success"
    assert airflow_api.xcom("sca_retention", real["run_id"], "remove_remote_scans")["removed"] == 2
    archived = scio.find_project(project_name)
    assert archived["is_archived"] is True
    assert fossid.get_scan(scan_code) is None
    assert [s for s in fossid.get_all_scans("sca-scans") if s.get("code") == scan_code] == []


def test_a_failed_scancodeio_run_is_reset_and_run_again_within_its_budget(airflow_api, demo_dir) -> None:
    """find_vulnerabilities fails here (no VulnerableCode is configured). A failed run is reset and
    run again twice within the try (a failure can be a killed worker's), then the task fails
    without Airflow retries; the next DAG run of the same key starts a new budget and does not
    re-find the old failure as its answer."""
    wheel = "six-1.16.0-py2.py3-none-any.whl"
    conf = {"input": wheel, "scancodeio_pipelines": ["find_vulnerabilities"], "run_fossid": False, "run_purldb": False}
    key = ScanKey("scancodeio", sha256_of(demo_dir / wheel), scancodeio_settings(["find_vulnerabilities"], None))
    first = run_and_wait(airflow_api, DAG_ID, conf)
    scio_ti = first["tis"]["scan.scancodeio"]
    assert (scio_ti["state"], scio_ti["try_number"]) == ("failed", 1), "the recoveries happen within the try"
    log = airflow_api.task_log(DAG_ID, first["run_id"], "scan.scancodeio")
    assert "ended failure: recovering (1 of 2)" in log and "ended failure: recovering (2 of 2)" in log
    assert "not recovered again (2 recoveries in this try" in log
    report = airflow_api.xcom(DAG_ID, first["run_id"], "scan.report")
    assert (report["verdict"], report["missing"]) == ("incomplete", ["scancodeio"])
    conn = connect(require_env("AIRFLOW_CONN_SCA_RESULTS_DB"))
    try:
        entry = Ledger(conn).get("scancodeio", key.value)
    finally:
        conn.close()
    assert entry is not None and entry.state == "error" and entry.remote_id
    (failed_run,) = scio_client().get_project(entry.remote_id)["runs"]
    assert failed_run["status"] == "failure"

    second = run_and_wait(airflow_api, DAG_ID, conf)
    log = airflow_api.task_log(DAG_ID, second["run_id"], "scan.scancodeio")
    assert f"find_vulnerabilities run {failed_run['uuid']} ended failure: recovering (1 of 2)" in log
    (rerun,) = scio_client().get_project(entry.remote_id)["runs"]
    assert rerun["uuid"] != failed_run["uuid"] and rerun["status"] == "failure"


def test_a_ledger_entry_whose_result_left_the_store_is_scanned_again(airflow_api) -> None:
    """The ledger says finished, but the artefact store lost the result (a wiped disk, a new
    bucket): reusing it would give a report with nothing in it, so the scan runs again."""
    conf = {"input": "six-1.16.0.tar.gz", "run_fossid": False, "run_purldb": False}
    first = run_and_wait(airflow_api, DAG_ID, conf)
    assert first["run"]["state"] == "success"
    lost = ToolRun.from_dict(airflow_api.xcom(DAG_ID, first["run_id"], "scan.scancodeio"))
    assert ArtefactStore().delete(str(lost.result_uri))
    second = run_and_wait(airflow_api, DAG_ID, conf)
    assert second["run"]["state"] == "success"
    again = ToolRun.from_dict(airflow_api.xcom(DAG_ID, second["run_id"], "scan.scancodeio"))
    assert not again.reused and again.remote_name != lost.remote_name
    log = airflow_api.task_log(DAG_ID, second["run_id"], "scan.scancodeio")
    assert f"its result {lost.result_uri} is no longer in the artefact store; scanning again" in log
    assert ArtefactStore().exists(str(again.result_uri))


def test_purldb_matching_costs_one_submission_and_no_request_per_matched_package(airflow_api) -> None:
    """The matched packages' data (license, download URL) comes with the matching results: the
    scan unit makes no request per matched package (counted by the sandbox)."""
    conn = json.loads(require_env("AIRFLOW_CONN_PURLDB_DEFAULT"))
    purldb = f"http://{conn['host']}:{conn['port']}"
    requests.post(f"{purldb}/_sandbox/requests", timeout=10)
    result = run_and_wait(
        airflow_api,
        DAG_ID,
        {"input": "acme-widget-1.0.tar.gz", "run_fossid": False, "scancodeio_max_age_days": 0, "gate_action": "warn"},
    )
    assert result["run"]["state"] == "success"
    counts = requests.get(f"{purldb}/_sandbox/requests", timeout=10).json()
    matched = ToolRun.from_dict(airflow_api.xcom(DAG_ID, result["run_id"], "scan.purldb"))
    summary = ArtefactStore().read_json(str(matched.result_uri))
    assert [p["purl"] for p in summary["packages"]] == ["pkg:pypi/six@1.16.0"]
    assert counts["POST /api/matching/"] == 1
    assert sum(n for route, n in counts.items() if route.endswith("/results/")) == 1
    assert [route for route in counts if "/api/packages" in route or "/api/resources" in route] == []
