"""The ScanCode.io sandbox (a real process) driven through our client, sca.scancodeio.client."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from sca.common.errors import AuthenticationError, NotFoundError, PermanentServiceError
from sca.scancodeio.client import ScanCodeIOClient
from tests.conftest import DEMO_DIR
from tests.sandbox_process import configure, sandbox

TOKEN = "sandbox-token-0123456789"
WHEEL = DEMO_DIR / "six-1.16.0-py2.py3-none-any.whl"
SCAN_SECONDS = 1.5


@pytest.fixture(scope="module")
def scio_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    state = tmp_path_factory.mktemp("scio-sandbox")
    args = ("--token", TOKEN, "--workers", "1", "--scan-seconds", str(SCAN_SECONDS))
    with sandbox("sandboxes.scancodeio", "/api/", state, *args) as url:
        yield url


@pytest.fixture
def client(scio_sandbox: str) -> ScanCodeIOClient:
    return ScanCodeIOClient(scio_sandbox, TOKEN, timeout=10)


def statuses_until_done(client: ScanCodeIOClient, run_uuid: str, step: float = 0.1) -> list[str]:
    """The distinct statuses a run shows, polled until it is terminal."""
    seen: list[str] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status = client.get_run(run_uuid)["status"]
        if not seen or seen[-1] != status:
            seen.append(status)
        if status in ("success", "failure", "stopped", "stale"):
            return seen
        time.sleep(step)
    raise AssertionError(f"run {run_uuid} did not end: {seen}")


def test_create_run_and_read_results(client: ScanCodeIOClient) -> None:
    created = client.create_project("wheel", pipelines=["scan_single_package"], upload_file=WHEEL, execute_now=True)
    assert created["runs"][0]["status"] == "not_started"  # serialized before the commit starts it
    assert statuses_until_done(client, created["runs"][0]["uuid"]) == ["running", "success"]  # an idle worker
    project = client.get_project(created["uuid"])
    run = project["runs"][0]
    assert (run["status"], run["task_exitcode"], run["scancodeio_version"]) == ("success", 0, "38.2.0")
    assert run["execution_time"] == 1
    assert [p["purl"] for p in client.packages(created["uuid"])] == ["pkg:pypi/six@1.16.0"]
    paths = [r["path"] for r in client.resources(created["uuid"])]
    assert paths == [
        "six-1.16.0.dist-info",
        "six-1.16.0.dist-info/LICENSE",
        "six-1.16.0.dist-info/METADATA",
        "six-1.16.0.dist-info/RECORD",
        "six-1.16.0.dist-info/WHEEL",
        "six-1.16.0.dist-info/top_level.txt",
        "six.py",
    ]
    assert project["resource_count"] == 7 and project["package_count"] == 1
    results = client.results(created["uuid"])
    assert sorted(results) == ["dependencies", "files", "headers", "packages", "relations"]
    assert results["headers"][0]["tool_name"] == "scanpipe"
    assert sorted(client.results(created["uuid"], sections=["packages"])) == ["headers", "packages"]
    assert client.summary(created["uuid"])["declared_license_expression"] == "isc"  # hash of the name
    assert client.compliance(created["uuid"]) == {"compliance_alerts": {}}
    assert [o["filename"].split("-")[0] for o in client.outputs(created["uuid"])] == ["scancode", "summary"]


def test_the_first_status_polls_see_the_exact_sequence(client: ScanCodeIOClient) -> None:
    created = client.create_project("sequence", pipelines=["scan_codebase"], upload_file=WHEEL, execute_now=True)
    assert statuses_until_done(client, created["runs"][0]["uuid"]) == ["running", "success"]


def test_one_worker_keeps_the_second_run_queued_until_the_first_ends(client: ScanCodeIOClient) -> None:
    first = client.create_project("first", pipelines=["scan_codebase"], upload_file=WHEEL, execute_now=True)
    second = client.create_project("second", pipelines=["scan_codebase"], upload_file=WHEEL, execute_now=True)
    first_run, second_run = first["runs"][0]["uuid"], second["runs"][0]["uuid"]
    assert (client.get_run(first_run)["status"], client.get_run(second_run)["status"]) == ("running", "queued")
    assert statuses_until_done(client, second_run) == ["queued", "running", "success"]
    ended_first = client.get_run(first_run)["task_end_date"]
    started_second = client.get_run(second_run)["task_start_date"]
    assert started_second >= ended_first


def test_stop_and_delete(client: ScanCodeIOClient) -> None:
    running = client.create_project("stop-me", pipelines=["scan_codebase"], upload_file=WHEEL, execute_now=True)
    waiting = client.create_project("delete-me", pipelines=["scan_codebase"], upload_file=WHEEL, execute_now=True)
    run_uuid, queued_uuid = running["runs"][0]["uuid"], waiting["runs"][0]["uuid"]
    with pytest.raises(PermanentServiceError) as refused:
        client.delete_project(running["uuid"])
    assert refused.value.detail == {"status": "Cannot delete project while a run is in progress."}
    assert client.delete_pipeline(queued_uuid) == {"status": "Pipeline scan_codebase deleted."}
    with pytest.raises(NotFoundError):
        client.get_run(queued_uuid)
    assert client.stop_pipeline(run_uuid) == {"status": "Pipeline scan_codebase stopped."}
    stopped = client.get_run(run_uuid)
    assert (stopped["status"], stopped["task_exitcode"]) == ("stopped", 99)
    assert stopped["log"].endswith("Stop task requested\n")
    with pytest.raises(PermanentServiceError) as again:
        client.stop_pipeline(run_uuid)
    assert again.value.detail == {"status": "Pipeline is not running."}
    client.delete_project(running["uuid"])
    with pytest.raises(NotFoundError) as gone:
        client.get_project(running["uuid"])
    assert gone.value.detail == {"detail": "No Project matches the given query."}


def test_reset_archive_add_pipeline_and_list_filters(client: ScanCodeIOClient) -> None:
    project = client.create_project("lifecycle", upload_file=WHEEL, labels=["bench", "b"])
    uuid = project["uuid"]
    assert client.add_pipeline(uuid, "scan_codebase") == {"status": "Pipeline added."}
    assert client.add_input(uuid, input_urls=["http://127.0.0.1:9/x.tar.gz"]) == {"status": "Input(s) added."}
    detail = client.get_project(uuid)
    assert (detail["next_run"], detail["labels"], len(detail["input_sources"])) == ("scan_codebase", ["b", "bench"], 2)
    client.start_pipeline(detail["runs"][0]["uuid"])
    assert statuses_until_done(client, detail["runs"][0]["uuid"]) == ["running", "success"]
    with pytest.raises(PermanentServiceError) as frozen:
        client.add_input(uuid, input_urls=["http://127.0.0.1:9/y.tar.gz"])
    assert frozen.value.detail == {"status": "Cannot add inputs once a pipeline has started to execute."}
    assert client.reset(uuid, restore_pipelines=True) == {"status": "The lifecycle project has been reset."}
    after = client.get_project(uuid)
    assert ([r["status"] for r in after["runs"]], after["resource_count"]) == (["not_started"], 0)
    assert client.archive(uuid) == {"status": "The project lifecycle has been archived."}
    assert [p["uuid"] for p in client.list_projects(name="lifecycle", is_archived=True)] == [uuid]
    assert [p["uuid"] for p in client.list_projects(name="lifecycle", is_archived=False)] == []
    assert client.find_project("lifecycle")["uuid"] == uuid


def test_error_envelopes(client: ScanCodeIOClient, scio_sandbox: str) -> None:
    with pytest.raises(NotFoundError) as not_found:
        client.get_project("00000000-0000-0000-0000-000000000000")
    assert (not_found.value.status, not_found.value.detail) == (404, {"detail": "No Project matches the given query."})
    with pytest.raises(NotFoundError) as not_uuid:
        client.get_run("not-a-uuid")
    assert not_uuid.value.detail == {"detail": "Not found."}
    with pytest.raises(PermanentServiceError) as bad_pipeline:
        client.create_project("bad-pipeline", pipelines=["no_such_pipeline"])
    assert (bad_pipeline.value.status, bad_pipeline.value.detail) == (
        400,
        {"pipeline": ['"no_such_pipeline" is not a valid choice.']},
    )
    project = client.create_project("errors")
    with pytest.raises(PermanentServiceError) as bad_add:
        client.add_pipeline(project["uuid"], "no_such_pipeline")
    assert bad_add.value.detail == {"status": "no_such_pipeline is not a valid pipeline."}
    with pytest.raises(PermanentServiceError) as no_summary:
        client.summary(project["uuid"])
    assert no_summary.value.detail == {"error": "Summary file not available"}
    with pytest.raises(PermanentServiceError) as taken:
        client.create_project("errors")
    assert taken.value.detail == {"name": ["project with this name already exists."]}
    with pytest.raises(AuthenticationError) as wrong_token:
        ScanCodeIOClient(scio_sandbox, "wrong", timeout=10).list_pipelines()
    assert (wrong_token.value.status, wrong_token.value.detail) == (401, {"detail": "Invalid token."})
    anonymous = requests.get(f"{scio_sandbox}/api/projects/", timeout=10)
    assert (anonymous.status_code, anonymous.json(), anonymous.headers["WWW-Authenticate"]) == (
        401,
        {"detail": "Authentication credentials were not provided."},
        "Token",
    )


def test_failures_stale_and_stats(client: ScanCodeIOClient, scio_sandbox: str, tmp_path: Path) -> None:
    configure(scio_sandbox, fail_inputs=["broken-*"], workers=2)
    broken = tmp_path / "broken-1.0.tar.gz"
    broken.write_bytes(WHEEL.read_bytes())
    failed = client.create_project("broken", pipelines=["scan_codebase"], upload_file=broken, execute_now=True)
    stale = client.create_project("stale", pipelines=["scan_codebase"], upload_file=WHEEL, execute_now=True)
    stale_run = stale["runs"][0]["uuid"]
    assert client.get_run(stale_run)["status"] == "running"
    configure(scio_sandbox, stale_runs=[stale_run])
    assert (client.get_run(stale_run)["status"], client.get_run(stale_run)["execution_time"]) == ("stale", None)
    assert statuses_until_done(client, failed["runs"][0]["uuid"]) == ["running", "failure"]
    assert client.get_run(failed["runs"][0]["uuid"])["task_exitcode"] == 1
    stats: dict[str, Any] = requests.get(f"{scio_sandbox}/_sandbox/stats", timeout=10).json()
    assert stats["workers"] == 2
    by_name = {r["project_name"]: r for r in stats["runs"]}
    assert by_name["broken"]["status"] == "failure" and by_name["broken"]["scan_seconds"] == SCAN_SECONDS
    assert by_name["stale"]["status"] == "stale"
    assert stats["requests"]["POST /api/projects/"] >= 2
    assert sorted(stats["totals"]) == [
        "first_queued",
        "ideal_seconds",
        "last_ended",
        "max_running",
        "project_detail_calls",
        "runs",
        "runs_by_status",
        "status_calls",
        "status_calls_per_run",
        "sum_scan_seconds",
        "wall_seconds",
    ]
    configure(scio_sandbox, fail_inputs=[], workers=1)
