"""The ScanCode.io sandbox (a real process) driven through our client, sca.scancodeio.client."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from sca.common.errors import AuthenticationError, NotFoundError, PermanentServiceError
from sca.scancodeio.client import ScanCodeIOClient
from tests.conftest import DEMO_DIR
from tests.sandbox_process import configure, free_port, sandbox

TOKEN = "sandbox-token-0123456789"
WHEEL = DEMO_DIR / "six-1.16.0-py2.py3-none-any.whl"
SCAN_SECONDS = 1.5
URL_INPUT = "http://127.0.0.1:9/six-1.16.0-py2.py3-none-any.whl"  # never fetched by the sandbox
# get_payload's RunSerializer and ProjectSerializer without url/project and url/runs (scanpipe
# tests/test_models.py test_scanpipe_webhook_subscription_model_get_payload, plus created_date)
RUN_PAYLOAD_KEYS = [
    "created_date",
    "description",
    "execution_time",
    "log",
    "pipeline_name",
    "scancodeio_version",
    "selected_groups",
    "selected_steps",
    "status",
    "task_end_date",
    "task_exitcode",
    "task_id",
    "task_output",
    "task_start_date",
    "uuid",
]
PROJECT_PAYLOAD_KEYS = [
    "codebase_relations_summary",
    "codebase_resources_summary",
    "created_date",
    "dependency_count",
    "discovered_dependencies_summary",
    "discovered_packages_summary",
    "extra_data",
    "input_root",
    "input_sources",
    "is_archived",
    "labels",
    "message_count",
    "name",
    "next_run",
    "notes",
    "output_root",
    "package_count",
    "purl",
    "relation_count",
    "resource_count",
    "results_url",
    "settings",
    "summary_url",
    "uuid",
]


@pytest.fixture(scope="module")
def scio_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    state = tmp_path_factory.mktemp("scio-sandbox")
    args = ("--token", TOKEN, "--workers", "1", "--scan-seconds", str(SCAN_SECONDS))
    with sandbox("sandboxes.scancodeio", "/api/", state, *args) as url:
        yield url


@pytest.fixture
def client(scio_sandbox: str) -> ScanCodeIOClient:
    return ScanCodeIOClient(scio_sandbox, TOKEN, timeout=10)


@dataclass
class Post:
    path: str
    content_type: str
    body: dict[str, Any]
    run_status: str  # GET /api/runs/{uuid}/ on the sandbox as the POST arrived


class Receiver(ThreadingHTTPServer):
    """A webhook receiver on 127.0.0.1 (port 0): records each POST with the run's status as the
    sandbox shows it at that moment, then answers ``statuses[path]`` (200 by default)."""

    daemon_threads = True

    def __init__(self, sandbox_url: str) -> None:
        super().__init__(("127.0.0.1", 0), ReceiverHandler)
        self.sandbox_url = sandbox_url
        self.statuses: dict[str, int] = {}
        self.lock = threading.Lock()
        self.received: list[Post] = []

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"

    def run_status(self, run_uuid: str) -> str:
        headers = {"Authorization": f"Token {TOKEN}"}
        return str(
            requests.get(f"{self.sandbox_url}/api/runs/{run_uuid}/", headers=headers, timeout=10).json()["status"]
        )

    def record(self, post: Post) -> None:
        with self.lock:
            self.received.append(post)

    def posts(self, path: str) -> list[Post]:
        with self.lock:
            return [post for post in self.received if post.path == path]

    def wait_for(self, path: str, count: int, timeout: float = 20.0) -> list[Post]:
        deadline = time.monotonic() + timeout
        while len(self.posts(path)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{path}: {len(self.posts(path))} POSTs, not {count}")
            time.sleep(0.05)
        return self.posts(path)


class ReceiverHandler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
        status = self.server.run_status(body["run"]["uuid"])
        self.server.record(Post(self.path, self.headers.get("Content-Type", ""), body, status))
        self.send_response(self.server.statuses.get(self.path, 200))
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def receiver(scio_sandbox: str) -> Iterator[Receiver]:
    server = Receiver(scio_sandbox)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


def webhook_stats(scio_sandbox: str) -> dict[str, Any]:
    return dict(requests.get(f"{scio_sandbox}/_sandbox/stats", timeout=10).json()["webhooks"])


def settled(scio_sandbox: str) -> dict[str, Any]:
    """The webhook stats once no taken delivery is still on its way."""
    deadline = time.monotonic() + 30
    while (stats := webhook_stats(scio_sandbox))["pending"]:
        if time.monotonic() > deadline:
            raise AssertionError(f"deliveries still pending: {stats}")
        time.sleep(0.05)
    return stats


def statuses_until(client: ScanCodeIOClient, run_uuid: str, wanted: tuple[str, ...], step: float = 0.05) -> list[str]:
    """The distinct statuses a run shows, polled until it shows one of ``wanted``."""
    seen: list[str] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status = client.get_run(run_uuid)["status"]
        if not seen or seen[-1] != status:
            seen.append(status)
        if status in wanted:
            return seen
        time.sleep(step)
    raise AssertionError(f"run {run_uuid} never {' or '.join(wanted)}: {seen}")


def statuses_until_done(client: ScanCodeIOClient, run_uuid: str) -> list[str]:
    """The distinct statuses a run shows, polled until it is terminal."""
    return statuses_until(client, run_uuid, ("success", "failure", "stopped", "stale"), step=0.1)


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


def test_a_subscription_on_each_run_gets_one_post_once_the_run_is_success(
    client: ScanCodeIOClient, receiver: Receiver, scio_sandbox: str
) -> None:
    created = client.create_project(
        "hook-each",
        pipelines=["scan_codebase"],
        input_urls=[URL_INPUT],
        execute_now=True,
        webhooks=[{"target_url": receiver.url("/each"), "trigger_on_each_run": True}],
    )
    run_uuid = created["runs"][0]["uuid"]
    [post] = receiver.wait_for("/each", 1)
    assert (post.content_type, sorted(post.body)) == ("application/json", ["project", "run"])
    run, project = post.body["run"], post.body["project"]
    assert (run["uuid"], run["status"], run["task_exitcode"], post.run_status) == (run_uuid, "success", 0, "success")
    assert (sorted(run), sorted(project)) == (RUN_PAYLOAD_KEYS, PROJECT_PAYLOAD_KEYS)
    assert project["results_url"] == f"/api/projects/{created['uuid']}/results/"  # no request: relative
    # The worker's Project instance was loaded before the pipeline refreshed the counts in the database.
    assert (project["resource_count"], client.get_project(created["uuid"])["resource_count"]) == (0, 11)
    assert sum(project["codebase_resources_summary"].values()) == 11  # a query: fresh
    settled(scio_sandbox)
    assert len(receiver.posts("/each")) == 1


def test_webhook_url_gets_one_post_after_the_last_run(
    client: ScanCodeIOClient, receiver: Receiver, scio_sandbox: str
) -> None:
    created = client.create_project(
        "hook-last",
        pipelines=["scan_codebase", "scan_codebase"],
        upload_file=WHEEL,
        execute_now=True,
        webhook_url=receiver.url("/last"),
    )
    first, second = (run["uuid"] for run in created["runs"])
    [post] = receiver.wait_for("/last", 1)
    assert (post.body["run"]["uuid"], post.body["run"]["status"], post.run_status) == (second, "success", "success")
    assert (post.body["project"]["next_run"], client.get_run(first)["status"]) == (None, "success")
    settled(scio_sandbox)
    assert len(receiver.posts("/last")) == 1


def test_stopped_and_stale_runs_send_nothing(client: ScanCodeIOClient, receiver: Receiver, scio_sandbox: str) -> None:
    stopped = client.create_project("hook-stopped", pipelines=["scan_codebase"], upload_file=WHEEL, execute_now=True)
    stale = client.create_project("hook-stale", pipelines=["scan_codebase"], upload_file=WHEEL, execute_now=True)
    client.add_webhook(stopped["uuid"], receiver.url("/stopped"), trigger_on_each_run=True)
    client.add_webhook(stale["uuid"], receiver.url("/stale"), trigger_on_each_run=True)
    stopped_run, stale_run = stopped["runs"][0]["uuid"], stale["runs"][0]["uuid"]
    assert client.get_run(stopped_run)["status"] == "running"
    client.stop_pipeline(stopped_run)
    assert statuses_until(client, stale_run, ("running",))[-1] == "running"  # the one worker takes it
    configure(scio_sandbox, stale_runs=[stale_run])
    assert (client.get_run(stopped_run)["status"], client.get_run(stale_run)["status"]) == ("stopped", "stale")
    time.sleep(SCAN_SECONDS + 1.5)  # past the planned ends
    assert (receiver.posts("/stopped"), receiver.posts("/stale")) == ([], [])
    delivered_runs = {d["run_uuid"] for d in settled(scio_sandbox)["last"]}
    assert {stopped_run, stale_run} & delivered_runs == set()


def test_inactive_subscriptions_send_nothing(client: ScanCodeIOClient, receiver: Receiver, scio_sandbox: str) -> None:
    created = client.create_project("hook-inactive", pipelines=["scan_codebase"], upload_file=WHEEL)
    uuid = created["uuid"]
    client.add_webhook(uuid, receiver.url("/active"))  # the oldest: delivered last
    client.add_webhook(uuid, receiver.url("/inactive"), trigger_on_each_run=True, is_active=False)
    # A form leaves every absent boolean False (DRF BooleanField.default_empty_html): is_active too.
    form = requests.post(
        f"{scio_sandbox}/api/projects/{uuid}/add_webhook/",
        data={"target_url": receiver.url("/form"), "trigger_on_each_run": "true"},
        headers={"Authorization": f"Token {TOKEN}"},
        timeout=10,
    )
    assert (form.status_code, form.json()) == (201, {"status": "Webhook added."})
    client.start_pipeline(created["runs"][0]["uuid"])
    receiver.wait_for("/active", 1)
    settled(scio_sandbox)
    assert (len(receiver.posts("/active")), receiver.posts("/inactive"), receiver.posts("/form")) == (1, [], [])


def test_delivery_stats_summary_and_results(client: ScanCodeIOClient, receiver: Receiver, scio_sandbox: str) -> None:
    before = settled(scio_sandbox)
    created = client.create_project("hook-stats", pipelines=["scan_single_package"], upload_file=WHEEL)
    uuid, run_uuid = created["uuid"], created["runs"][0]["uuid"]
    full, refused, closed = receiver.url("/full"), receiver.url("/refused"), f"http://127.0.0.1:{free_port()}/closed"
    receiver.statuses["/refused"] = 500
    client.add_webhook(uuid, full, include_summary=True, include_results=True)
    client.add_webhook(uuid, refused)
    client.add_webhook(uuid, closed)
    client.start_pipeline(run_uuid)
    [post] = receiver.wait_for("/full", 1)
    after = settled(scio_sandbox)
    counts = [after[key] - before[key] for key in ("attempted", "delivered", "failed")]
    assert (counts, after["pending"]) == ([3, 1, 2], 0)
    last = after["last"][-3:]  # newest subscription first
    assert [(d["target_url"], d["run_uuid"], d["status_code"], d["success"]) for d in last] == [
        (closed, run_uuid, None, False),
        (refused, run_uuid, 500, False),
        (full, run_uuid, 200, True),
    ]
    assert "Connection refused" in last[0]["error"]
    assert (last[1]["error"], last[2]["error"]) == ("", "")
    assert sorted(post.body) == ["project", "results", "run", "summary"]
    assert post.body["summary"] == client.summary(uuid)
    assert sorted(post.body["results"]) == ["dependencies", "files", "headers", "packages", "relations"]
    assert [p["purl"] for p in post.body["results"]["packages"]] == ["pkg:pypi/six@1.16.0"]
    # to_json wrote the results into the outputs
    assert [o["filename"].split("-")[0] for o in client.outputs(uuid)] == ["results", "scancode", "summary"]


def test_webhook_validation_and_reset_without_keep_webhook(
    client: ScanCodeIOClient, receiver: Receiver, scio_sandbox: str
) -> None:
    with pytest.raises(PermanentServiceError) as bad_list:
        client.create_project("hook-bad", webhooks=[{"target_url": "http://airflow:8080/hook"}, {}])
    assert bad_list.value.detail == {
        "webhooks": {"0": {"target_url": ["Enter a valid URL."]}, "1": {"target_url": ["This field is required."]}}
    }
    # webhook_url is a plain CharField: no URL check
    created = client.create_project(
        "hook-reset", pipelines=["scan_codebase"], upload_file=WHEEL, webhook_url="http://airflow:8080/hook"
    )
    with pytest.raises(PermanentServiceError) as bad_url:
        client.add_webhook(created["uuid"], "invalid-url")
    assert bad_url.value.detail == {"target_url": ["Enter a valid URL."]}
    client.add_webhook(created["uuid"], receiver.url("/dropped"))
    client.reset(created["uuid"], keep_webhook=False, restore_pipelines=True)
    client.add_webhook(created["uuid"], receiver.url("/kept"))
    client.start_pipeline(client.get_project(created["uuid"])["runs"][0]["uuid"])
    receiver.wait_for("/kept", 1)
    settled(scio_sandbox)
    assert (len(receiver.posts("/kept")), receiver.posts("/dropped")) == (1, [])
