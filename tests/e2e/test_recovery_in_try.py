"""Remote work that fails, or hangs, is recovered inside the same try, once, with nothing
submitted twice: FossID (a scan that ends FAILED, a scan that hangs past its budget).

Each test scans bytes made for this session (an npm tarball with one more file), so no ledger
row can hold them, and switches one counting fault on in the stack's sandbox: the next scan only.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from typing import Any

import requests

from tests.e2e.test_sca_portfolio import fossid_url, inputs_dir, repacked
from tests.e2e.test_sca_scan import fossid_client
from tests.sandbox_process import configure

DAG_ID = "sca_scan"
SESSION = uuid.uuid4().hex[:8]


def run_and_wait(airflow_api, conf: dict[str, Any]) -> dict[str, Any]:
    airflow_api.wait_for_dag(DAG_ID)
    run_id = airflow_api.trigger(DAG_ID, conf)["dag_run_id"]
    run = airflow_api.wait(DAG_ID, run_id, timeout=900)
    tis = {ti["task_id"]: ti for ti in airflow_api.task_instances(DAG_ID, run_id)}
    return {"run": run, "run_id": run_id, "tis": tis}


def digest_of(name: str) -> str:
    return hashlib.sha256((inputs_dir() / name).read_bytes()).hexdigest()


def fossid_runs_of(digest: str) -> tuple[str, list[dict[str, Any]]]:
    """(scan code, the options of every scans/run) of the one FossID scan holding these bytes."""
    config = requests.get(f"{fossid_url()}/_sandbox/config", timeout=30).json()
    holding = [code for code, upload in config["uploads"].items() if digest in upload["files"].values()]
    assert len(holding) == 1, f"FossID scans holding {digest}: {holding}"
    return holding[0], config["runs"][holding[0]]


def scan_without_recovery_marks(run: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in run.items() if k != "scan_failed_only"}


def test_a_fossid_scan_that_fails_once_is_run_again_with_scan_failed_only(airflow_api) -> None:
    name = repacked("ms-2.1.3.tgz", f"ms-2.1.3-fails-once-{SESSION}.tgz", f"fails once {SESSION}\n")
    digest = digest_of(name)
    configure(fossid_url(), fail_next_scans=1)
    try:
        result = run_and_wait(airflow_api, {"input": name, "run_purldb": False, "fossid_reports": ["xlsx"]})
    finally:
        configure(fossid_url(), fail_next_scans=0)
        os.remove(inputs_dir() / name)
    fossid = result["tis"]["scan.fossid"]
    assert result["run"]["state"] == "success"
    assert (fossid["state"], fossid["try_number"]) == ("success", 1), "recovered in the try, not by a retry"
    code, runs = fossid_runs_of(digest)
    assert len(runs) == 2
    assert "scan_failed_only" not in runs[0] and runs[1]["scan_failed_only"] == "1"
    assert scan_without_recovery_marks(runs[1]) == runs[0], "the re-run keeps the scan's options"
    log = airflow_api.task_log(DAG_ID, result["run_id"], "scan.fossid")
    assert (
        f"FossID SCAN of scan {code} ended FAILED: Scan failed: scanner process exited with code 137: "
        "running it again (1 of 1) with scan_failed_only" in log
    )


def test_a_hung_fossid_scan_is_cancelled_past_its_budget_and_run_again_whole(airflow_api) -> None:
    name = repacked("ms-2.1.3.tgz", f"ms-2.1.3-hangs-once-{SESSION}.tgz", f"hangs once {SESSION}\n")
    digest = digest_of(name)
    configure(fossid_url(), hang_next_scans=1)
    try:
        conf = {"input": name, "run_purldb": False, "fossid_reports": ["xlsx"], "fossid_scan_budget_minutes": 0.2}
        result = run_and_wait(airflow_api, conf)
    finally:
        configure(fossid_url(), hang_next_scans=0)
        os.remove(inputs_dir() / name)
    fossid = result["tis"]["scan.fossid"]
    assert result["run"]["state"] == "success"
    assert (fossid["state"], fossid["try_number"]) == ("success", 1)
    code, runs = fossid_runs_of(digest)
    # run again whole: a cancelled scan's files were not all scanned
    assert [run.get("scan_failed_only") for run in runs] == [None, None]
    log = airflow_api.task_log(DAG_ID, result["run_id"], "scan.fossid")
    assert f"Cancelled FossID scan {code}" in log
    assert "over its budget of 12 s" in log
    assert "running it again (1 of 1), whole" in log


def test_a_scan_hung_again_after_its_rerun_is_cancelled_and_fails_naming_why(airflow_api) -> None:
    name = repacked("ms-2.1.3.tgz", f"ms-2.1.3-hangs-twice-{SESSION}.tgz", f"hangs twice {SESSION}\n")
    digest = digest_of(name)
    configure(fossid_url(), hang_next_scans=2)
    try:
        conf = {"input": name, "run_purldb": False, "fossid_reports": ["xlsx"], "fossid_scan_budget_minutes": 0.2}
        result = run_and_wait(airflow_api, conf)
    finally:
        configure(fossid_url(), hang_next_scans=0)
        os.remove(inputs_dir() / name)
    fossid = result["tis"]["scan.fossid"]
    assert (fossid["state"], fossid["try_number"]) == ("failed", 1), "a hung scan is not a transient error"
    code, runs = fossid_runs_of(digest)
    assert [run.get("scan_failed_only") for run in runs] == [None, None], "one re-run, no more"
    status = fossid_client().check_status(code, "SCAN")
    assert (status.status.value, status.comment) == ("FAILED", "The process was cancelled"), "nothing left running"
    log = airflow_api.task_log(DAG_ID, result["run_id"], "scan.fossid")
    assert f"FossID SCAN of {code} has been RUNNING for " in log
    assert "over its budget of 12 s (at 50%); cancelled; not run again (1 re-run(s) in this try, try 1 of the key)" in (
        log
    )


# -- PurlDB ---------------------------------------------------------------------------------------
def purldb_url() -> str:
    import json

    from tests.conftest import require_env

    conn = json.loads(require_env("AIRFLOW_CONN_PURLDB_DEFAULT"))
    return f"http://{conn['host']}:{conn['port']}"


def purldb_counts() -> dict[str, int]:
    """(matchings submitted, matchings deleted, matching runs deleted) so far."""
    counts = requests.get(f"{purldb_url()}/_sandbox/requests", timeout=30).json()
    return {
        "submitted": int(counts.get("POST /api/matching/", 0)),
        "deleted": sum(n for k, n in counts.items() if k.startswith("DELETE /api/matching/")),
        "runs deleted": sum(n for k, n in counts.items() if k.startswith("POST /api/runs/") and "delete_pipeline" in k),
    }


def delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {k: after[k] - before[k] for k in before}


def test_a_purldb_matching_that_fails_is_deleted_and_submitted_again(airflow_api) -> None:
    name = repacked("ms-2.1.3.tgz", f"ms-2.1.3-match-fails-{SESSION}.tgz", f"matching fails once {SESSION}\n")
    before = purldb_counts()
    configure(purldb_url(), fail_next_matchings=1)
    try:
        result = run_and_wait(airflow_api, {"input": name, "run_fossid": False, "gate_action": "warn"})
    finally:
        configure(purldb_url(), fail_next_matchings=0)
        os.remove(inputs_dir() / name)
    purldb = result["tis"]["scan.purldb"]
    assert result["run"]["state"] == "success"
    assert (purldb["state"], purldb["try_number"]) == ("success", 1)
    assert delta(before, purldb_counts()) == {"submitted": 2, "deleted": 1, "runs deleted": 0}
    log = airflow_api.task_log(DAG_ID, result["run_id"], "scan.purldb")
    assert " ended failure: deleting PurlDB matching " in log
    assert "and submitting the scan again (1 of 1)" in log


def test_a_purldb_matching_stuck_in_the_queue_is_taken_off_it_and_submitted_again(airflow_api) -> None:
    name = repacked("ms-2.1.3.tgz", f"ms-2.1.3-match-stuck-{SESSION}.tgz", f"matching stuck once {SESSION}\n")
    before = purldb_counts()
    configure(purldb_url(), stuck_next_matchings=1)
    try:
        conf = {"input": name, "run_fossid": False, "gate_action": "warn", "purldb_queue_budget_minutes": 0.2}
        result = run_and_wait(airflow_api, conf)
    finally:
        configure(purldb_url(), stuck_next_matchings=0)
        os.remove(inputs_dir() / name)
    purldb = result["tis"]["scan.purldb"]
    assert result["run"]["state"] == "success"
    assert (purldb["state"], purldb["try_number"]) == ("success", 1)
    assert delta(before, purldb_counts()) == {"submitted": 2, "deleted": 1, "runs deleted": 1}
    log = airflow_api.task_log(DAG_ID, result["run_id"], "scan.purldb")
    assert "over its queue budget of 12 s; its job is probably lost: deleting PurlDB matching " in log
