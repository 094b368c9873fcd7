"""FossID client and operators over HTTP against the FossID sandbox (a real process per module)."""

from __future__ import annotations

import json
import time
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest
import requests
from airflow.sdk.exceptions import TaskDeferred
from openpyxl import load_workbook

from sca.common.errors import RunFailedError
from sca.fossid.client import FossIDAuthenticationError, FossIDClient, FossIDError, FossIDNotFoundError
from sca.fossid.operators import (
    FossIDCollectResultsOperator,
    FossIDCreateScanOperator,
    FossIDDependencyAnalysisOperator,
    FossIDEnsureProjectOperator,
    FossIDExtractArchivesOperator,
    FossIDReportsOperator,
    FossIDRunScanOperator,
    FossIDUploadOperator,
)
from sca.fossid.sensors import FossIDStatusSensor
from sca.fossid.status import FossIDStatus
from sca.fossid.triggers import FossIDStatusTrigger
from tests.conftest import first_event
from tests.sandbox_process import configure, sandbox

USER, KEY = "sca-bot", "test-key-0001"
ACME = "acme-widget-1.0.tar.gz"
FAST = {"poll_interval": 0.3, "first_poll_delay": 0, "deferrable": False}


@pytest.fixture(scope="module")
def fossid_url(tmp_path_factory):
    with sandbox(
        "sandboxes.fossid",
        "/index.php?form=login",
        tmp_path_factory.mktemp("fossid"),
        "--user",
        f"{USER}:{KEY}",
        "--scan-seconds",
        "1.5",
        "--queue-seconds",
        "0.3",
    ) as url:
        configure(url, extract_seconds=0.3, dependency_seconds=0.5, report_seconds=0.5)
        yield url


@pytest.fixture(scope="module")
def conn_env(fossid_url):
    host, port = fossid_url.removeprefix("http://").split(":")
    value = json.dumps(
        {"conn_type": "http", "schema": "http", "host": host, "port": int(port), "login": USER, "password": KEY}
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AIRFLOW_CONN_FOSSID_TEST", value)
        yield "fossid_test"


@pytest.fixture
def client(fossid_url) -> FossIDClient:
    return FossIDClient(fossid_url, USER, KEY)


def test_full_sequence_through_the_operators(client, conn_env, unique, demo_dir, context, tmp_path) -> None:
    project, scan = unique("proj"), unique("scan")
    common = {"fossid_conn_id": conn_env}
    assert FossIDEnsureProjectOperator(task_id="p", project_code=project, **common).execute(context)["created"]
    created = FossIDCreateScanOperator(task_id="s", project_code=project, scan_code=scan, **common).execute(context)
    assert created["created"] is True
    upload = FossIDUploadOperator(
        task_id="u", scan_code=scan, file_path=str(demo_dir / ACME), chunk_threshold=4096, chunk_size=4096, **common
    ).execute(context)
    assert upload["requests"] == -(-upload["bytes"] // 4096), "the upload was not sent in chunks"
    FossIDExtractArchivesOperator(task_id="x", scan_code=scan, **FAST, **common).execute(context)
    ran = FossIDRunScanOperator(
        task_id="r", scan_code=scan, scan_options={"sensitivity": 10}, **FAST, **common
    ).execute(context)
    assert ran["status"] == "FINISHED" and "files scanned" in ran["comment"]
    da = FossIDDependencyAnalysisOperator(task_id="d", scan_code=scan, **FAST, **common).execute(context)
    assert da["dependencies"] >= 2
    reports = FossIDReportsOperator(
        task_id="rep",
        scan_code=scan,
        output_dir=str(tmp_path),
        deferrable=False,
        poll_interval=0.3,
        report_types=["xlsx", "spdx", "spdx_lite", "cyclone_dx", "html"],
        **common,
    ).execute(context)
    assert set(reports) == {"xlsx", "spdx", "spdx_lite", "cyclone_dx", "html"}
    rows = list(load_workbook(reports["xlsx"]["path"]).active.iter_rows(values_only=True))
    assert any(row[1] and row[1].endswith("contrib/legacy_parser.c") for row in rows[1:])
    assert load_workbook(reports["spdx_lite"]["path"]).active["A1"].value == "PackageName"
    rdf = ET.parse(reports["spdx"]["path"]).getroot()
    assert rdf.find("{http://spdx.org/rdf/terms#}SpdxDocument") is not None
    bom = json.loads(Path(reports["cyclone_dx"]["path"]).read_text())
    assert bom["bomFormat"] == "CycloneDX" and bom["components"]
    assert "<table>" in Path(reports["html"]["path"]).read_text()
    summary = FossIDCollectResultsOperator(
        task_id="c", scan_code=scan, project_code=project, output_dir=str(tmp_path), **common
    ).execute(context)
    assert summary["policy_warnings_total"] == 1
    assert summary["policy_warnings"][0]["license_identifier"] == "GPL-2.0-only"
    assert any(p.endswith("_vendor/six.py") for p in summary["pending_files"])
    assert {"Apache-2.0", "GPL-2.0-only"} <= set(summary["identified_licenses"])
    assert Path(summary["summary_path"]).is_file()


def test_project_report_and_policy_info(client, unique, demo_dir, tmp_path) -> None:
    project, scan = unique("proj"), unique("scan")
    client.create_project(project, project)
    client.create_scan(project, scan)
    client.upload(scan, demo_dir / ACME)
    client.extract_archives(scan)
    client.run_scan(scan, auto_identification_detect_declaration=True)
    while not client.check_status(scan).is_terminal:
        time.sleep(0.3)
    process = client.generate_project_report(project, "xlsx")
    while not client.project_check_status(process).is_terminal:
        time.sleep(0.3)
    path = client.download_report("projects", process, tmp_path / "project.xlsx")
    assert zipfile.is_zipfile(path)
    info = client.project_policy_warnings(project, "license")
    assert info["policy_warnings_total"] == 1
    assert [s["code"] for s in client.get_all_scans(project)] == [scan]


def test_bad_and_expired_keys_are_clear(fossid_url) -> None:
    with pytest.raises(FossIDAuthenticationError, match="API key is incorrect") as bad:
        FossIDClient(fossid_url, USER, "wrong-key").list_projects()
    assert "wrong-key" not in str(bad.value)
    with pytest.raises(FossIDAuthenticationError, match="expired"):
        FossIDClient(fossid_url, "expired-bot", "fossid-expired-key").get_scan("x")
    with pytest.raises(FossIDAuthenticationError):
        FossIDClient(fossid_url, "expired-bot", "fossid-expired-key").upload("x", Path(__file__))


def test_api_key_expiry_is_reported(client) -> None:
    key = client.call("users", "get_api_key")
    assert key["api_key_expiry_date"] and key["api_key"] == KEY


def test_a_failed_scan_fails_the_task_with_its_comment(client, conn_env, unique, demo_dir, context, fossid_url):
    project, scan = unique("proj"), unique("scan")
    client.create_project(project, project)
    client.create_scan(project, scan)
    client.upload(scan, demo_dir / ACME)
    configure(fossid_url, fail_scans=True, fail_comment="Scan failed: out of memory while scanning")
    try:
        op = FossIDRunScanOperator(task_id="r", scan_code=scan, fossid_conn_id=conn_env, **FAST)
        with pytest.raises(RunFailedError, match="out of memory while scanning"):
            op.execute(context)
    finally:
        configure(fossid_url, fail_scans=False)
    assert op.execute(context)["status"] == "FINISHED", "a retry after the failure runs the scan again"


def test_retried_tasks_reattach(client, conn_env, unique, demo_dir, context) -> None:
    project, scan = unique("proj"), unique("scan")
    common = {"fossid_conn_id": conn_env}
    FossIDEnsureProjectOperator(task_id="p", project_code=project, **common).execute(context)
    assert not FossIDEnsureProjectOperator(task_id="p", project_code=project, **common).execute(context)["created"]
    create = FossIDCreateScanOperator(task_id="s", project_code=project, scan_code=scan, **common)
    assert create.execute(context)["created"] and not create.execute(context)["created"]
    assert len(client.get_all_scans(project)) == 1
    upload = FossIDUploadOperator(task_id="u", scan_code=scan, file_path=str(demo_dir / ACME), **common)
    upload.execute(context)
    upload.execute(context)
    assert client.get_scan(scan)["uploaded_files"] == [ACME]
    run = FossIDRunScanOperator(task_id="r", scan_code=scan, **FAST, **common)
    run.execute(context)
    first = client.check_status(scan).raw["id"]
    run.execute(context)  # finished already: not run again
    assert client.check_status(scan).raw["id"] == first


def test_deferred_scan_wait_round_trips_through_the_trigger(client, conn_env, unique, demo_dir, context) -> None:
    project, scan = unique("proj"), unique("scan")
    client.create_project(project, project)
    client.create_scan(project, scan)
    client.upload(scan, demo_dir / ACME)
    op = FossIDRunScanOperator(
        task_id="r",
        scan_code=scan,
        fossid_conn_id=conn_env,
        poll_interval=0.3,
        first_poll_delay=0,
        sync_grace_seconds=0,
    )
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(context)
    classpath, kwargs = deferred.value.trigger.serialize()
    assert classpath == "sca.fossid.triggers.FossIDStatusTrigger"
    event = first_event(FossIDStatusTrigger(**kwargs))
    assert event["status"] == "FINISHED" and event["percentage"] == 100
    assert op.execute_complete(context, event)["status"] == "FINISHED"
    assert FossIDStatusSensor(task_id="s", scan_code=scan, fossid_conn_id=conn_env).execute(context)


def test_stuck_queued_scan_reaches_the_deadline(client, conn_env, unique, fossid_url) -> None:
    project, scan = unique("proj"), unique("scan")
    client.create_project(project, project)
    client.create_scan(project, scan)
    configure(fossid_url, stuck_queued=True)
    try:
        client.run_scan(scan)
        trigger = FossIDStatusTrigger(
            scan_code=scan, fossid_conn_id=conn_env, deadline=time.time() + 1.5, poll_interval=0.3
        )
        event = first_event(trigger)
    finally:
        configure(fossid_url, stuck_queued=False)
    assert event["status"] == "timeout" and "QUEUED" in event["message"]


def test_a_hung_scan_ends_the_wait_over_budget_and_cancel_run_stops_it(client, conn_env, unique, fossid_url) -> None:
    project, scan = unique("proj"), unique("scan")
    client.create_project(project, project)
    client.create_scan(project, scan)
    configure(fossid_url, hang_next_scans=1)
    try:
        client.run_scan(scan)
        trigger = FossIDStatusTrigger(
            scan_code=scan, fossid_conn_id=conn_env, deadline=time.time() + 60, poll_interval=0.3, run_budget=2.5
        )
        started = time.monotonic()
        event = first_event(trigger)
        waited = time.monotonic() - started
    finally:
        configure(fossid_url, hang_next_scans=0)
    assert (event["status"], event["percentage"]) == ("over_budget", 50)
    assert event["message"].startswith(f"FossID SCAN of {scan} has been RUNNING for ")
    assert event["message"].endswith(", over its budget of 2 s (at 50%)")
    assert waited < 30, "the budget ended the wait, not the deadline"
    assert client.check_status(scan).status is FossIDStatus.RUNNING, "a hung scan runs until cancelled"
    client.cancel_run(scan)
    assert (client.check_status(scan).status, client.check_status(scan).comment) == (
        FossIDStatus.FAILED,
        "The process was cancelled",
    )
    client.run_scan(scan, scan_failed_only=True)  # the count is used up: this run ends
    while not (status := client.check_status(scan)).is_terminal:
        time.sleep(0.3)
    assert status.status is FossIDStatus.FINISHED
    runs = requests.get(f"{fossid_url}/_sandbox/config", timeout=10).json()["runs"][scan]
    assert [run.get("scan_failed_only") for run in runs] == [None, "1"]


def test_fail_next_scans_fails_only_that_many(client, unique, fossid_url) -> None:
    project = unique("proj")
    client.create_project(project, project)
    configure(fossid_url, fail_next_scans=1, fail_comment="Scan failed: injected once")
    try:
        outcomes = []
        for n in range(2):
            scan = unique(f"scan{n}")
            client.create_scan(project, scan)
            client.run_scan(scan)
            while not (status := client.check_status(scan)).is_terminal:
                time.sleep(0.3)
            outcomes.append((status.status, status.comment.split(".")[0]))
    finally:
        configure(fossid_url, fail_next_scans=0, fail_comment="Scan failed: scanner process exited with code 137")
    assert outcomes == [(FossIDStatus.FAILED, "Scan failed: injected once"), (FossIDStatus.FINISHED, "Scan finished")]


def test_legacy_check_status_shape(client, unique, fossid_url) -> None:
    project, scan = unique("proj"), unique("scan")
    client.create_project(project, project)
    client.create_scan(project, scan)
    configure(fossid_url, version="2020.1.2")
    try:
        assert client.version() == "2020.1.2"
        client.run_scan(scan)
        while not (status := client.check_status(scan)).is_terminal:
            assert status.raw["is_finished"] == "0", "the legacy shape: a string flag"
            time.sleep(0.3)
        assert status.status is FossIDStatus.FINISHED and status.raw["percentage_done"] == "100%"
    finally:
        configure(fossid_url, version="26.1.0")


def test_documented_error_envelopes(client, fossid_url) -> None:
    assert client.get_scan("no-such-scan") is None
    assert client.get_project("no-such-project") is None
    with pytest.raises(FossIDNotFoundError, match="no-such-scan"):
        client.check_status("no-such-scan")
    with pytest.raises(FossIDError) as invalid:
        client.call("scans", "check_status", scan_code="x", type="BOGUS")
    assert invalid.value.error == "RequestData.Base.issues_while_parsing_request"
    assert invalid.value.issues[0]["code"] == "RequestData.Base.field_not_valid_option"
    with pytest.raises(FossIDError, match="mandatory"):
        client.call("projects", "create")
    raw = requests.post(
        f"{fossid_url}/api.php",
        json={"group": "projects", "action": "list_projects", "data": {"username": USER, "key": "nope"}},
        timeout=10,
    )
    assert raw.status_code == 200 and raw.json()["status"] == "0"
    empty = client.create_project("empty-project", "empty")
    assert empty["project_code"] == "empty-project"
    assert client.call("projects", "get_all_scans", project_code="empty-project") is False


def test_delete_scan_is_asynchronous(client, unique) -> None:
    project, scan = unique("proj"), unique("scan")
    client.create_project(project, project)
    client.create_scan(project, scan)
    process_id = client.delete_scan(scan)
    assert process_id
    assert client.get_scan(scan) is None, "the row is gone at once; the delete process goes on"
    while not (status := client.check_status(None, "DELETE_SCAN", process_id)).is_terminal:
        time.sleep(0.2)
    assert status.status is FossIDStatus.FINISHED


def test_injected_5xx_are_retried(fossid_url, unique) -> None:
    from sca.common.retry import RetryPolicy
    from tests.sandbox_process import set_faults

    patient = FossIDClient(fossid_url, USER, KEY, retry=RetryPolicy(attempts=8, initial_delay=0.01, max_delay=0.05))
    set_faults(fossid_url, error_rate=0.5, seed=3)
    try:
        codes = [unique("proj") for _ in range(10)]
        for code in codes:
            patient.create_project(code, code)
    finally:
        set_faults(fossid_url, error_rate=0.0)
    listed = {p["project_code"] for p in patient.list_projects()}
    assert set(codes) <= listed
