"""The same client calls against the stack's real ScanCode.io 38.2 and the ScanCode.io sandbox:
the sets of keys of each answer, the status sequences and the error envelopes must agree."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sca.common.errors import NotFoundError, PermanentServiceError
from sca.scancodeio.client import ScanCodeIOClient
from tests.conftest import DEMO_DIR, ROOT
from tests.sandbox_process import sandbox

TOKEN = "contract-token-0123456789"
WHEEL = DEMO_DIR / "six-1.16.0-py2.py3-none-any.whl"
TERMINAL = ("success", "failure", "stopped", "stale")


@pytest.fixture(scope="module")
def sandbox_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScanCodeIOClient]:
    state = tmp_path_factory.mktemp("scio-contract")
    args = ("--token", TOKEN, "--scan-seconds", "2", "--policies", str(ROOT / "stack" / "scio" / "policies.yml"))
    with sandbox("sandboxes.scancodeio", "/api/", state, *args) as url:
        yield ScanCodeIOClient(url, TOKEN, timeout=20)


@pytest.fixture(scope="module")
def real_client(scio_url_token: tuple[str, str]) -> ScanCodeIOClient:
    return ScanCodeIOClient(*scio_url_token, timeout=60)


def poll(client: ScanCodeIOClient, run_uuid: str) -> list[str]:
    seen: list[str] = []
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        status = client.get_run(run_uuid)["status"]
        if not seen or seen[-1] != status:
            seen.append(status)
        if status in TERMINAL:
            return seen
        time.sleep(0.2)
    raise AssertionError(f"run {run_uuid} did not end: {seen}")


def key_differences(fake: Any, real: Any, path: str = "") -> list[str]:
    """Where two answers differ in their keys: object key sets, recursively, and the first items
    of lists that are non-empty on both sides (the sandbox synthesizes fewer nested details)."""
    if isinstance(fake, dict) and isinstance(real, dict):
        found = [f"{path}.{k} only in the sandbox" for k in sorted(set(fake) - set(real))]
        found += [f"{path}.{k} only in the real server" for k in sorted(set(real) - set(fake))]
        for key in sorted(set(fake) & set(real)):
            found += key_differences(fake[key], real[key], f"{path}.{key}")
        return found
    if isinstance(fake, list) and isinstance(real, list) and fake and real:
        return key_differences(fake[0], real[0], f"{path}[0]")
    return []


def scan_and_collect(client: ScanCodeIOClient, tmp_path: Path) -> dict[str, Any]:
    name = f"contract-{uuid.uuid4().hex[:10]}"
    answers: dict[str, Any] = {}
    created = client.create_project(name, pipelines=["scan_single_package"], upload_file=WHEEL, execute_now=True)
    project_uuid, run_uuid = created["uuid"], created["runs"][0]["uuid"]
    answers["create"] = created
    answers["sequence"] = poll(client, run_uuid)
    answers["run"] = client.get_run(run_uuid)
    answers["detail"] = client.get_project(project_uuid)
    answers["list"] = next(iter(client.list_projects(name=name)))
    answers["packages"] = list(client.packages(project_uuid))
    answers["resources"] = list(client.resources(project_uuid))[:1]
    answers["dependencies"] = list(client.dependencies(project_uuid))
    answers["summary_keys"] = sorted(client.summary(project_uuid))
    answers["results"] = client.results(project_uuid)
    answers["results_packages"] = sorted(client.results(project_uuid, sections=["packages"]))
    answers["outputs"] = client.outputs(project_uuid)
    answers["compliance_keys"] = sorted(client.compliance(project_uuid))
    answers["clarity_type"] = type(client.license_clarity_compliance(project_uuid)).__name__
    answers["downloaded_json"] = client.download_results(project_uuid, "json", tmp_path).name.endswith(".json")
    answers["add_pipeline"] = client.add_pipeline(project_uuid, "scan_codebase")
    detail = client.get_project(project_uuid)
    second = detail["runs"][1]["uuid"]
    answers["delete_pipeline"] = client.delete_pipeline(second)
    answers["reset"] = client.reset(project_uuid)["status"].replace(name, "NAME")
    answers["archive"] = client.archive(project_uuid)["status"].replace(name, "NAME")
    errors: dict[str, Any] = {}
    with pytest.raises(NotFoundError) as missing:
        client.get_project(str(uuid.UUID(int=0)))
    errors["project_404"] = (missing.value.status, missing.value.detail)
    with pytest.raises(NotFoundError) as missing_run:
        client.get_run(second)
    errors["run_404"] = (missing_run.value.status, missing_run.value.detail)
    with pytest.raises(PermanentServiceError) as bad_pipeline:
        client.create_project(f"{name}-bad", pipelines=["no_such_pipeline"])
    errors["create_bad_pipeline"] = (bad_pipeline.value.status, bad_pipeline.value.detail)
    with pytest.raises(PermanentServiceError) as bad_add:
        client.add_pipeline(project_uuid, "no_such_pipeline")
    errors["add_bad_pipeline"] = (bad_add.value.status, bad_add.value.detail)
    with pytest.raises(PermanentServiceError) as stopped:
        client.stop_pipeline(run_uuid)
    errors["stop_not_running"] = (stopped.value.status, stopped.value.detail)
    answers["errors"] = errors
    client.delete_project(project_uuid)
    return answers


def test_the_sandbox_answers_like_the_real_server(
    real_client: ScanCodeIOClient, sandbox_client: ScanCodeIOClient, tmp_path: Path
) -> None:
    real = scan_and_collect(real_client, tmp_path / "real")
    fake = scan_and_collect(sandbox_client, tmp_path / "sandbox")
    # The real worker takes a queued run within a second; the sandbox's idle worker at once.
    assert real["sequence"][-2:] == fake["sequence"][-2:] == ["running", "success"]
    assert fake["sequence"] == ["running", "success"]
    assert set(real["sequence"]) <= {"queued", "running", "success"}
    for name in ("create", "run", "detail", "list", "packages", "resources", "dependencies", "results", "outputs"):
        assert key_differences(fake[name], real[name], name) == []
    for name in (
        "summary_keys",
        "results_packages",
        "compliance_keys",
        "clarity_type",
        "downloaded_json",
        "add_pipeline",
        "delete_pipeline",
        "reset",
        "archive",
        "errors",
    ):
        assert fake[name] == real[name], name


class WebhookInbox:
    """A receiver on 127.0.0.1 that records each POST's path and JSON body."""

    def __init__(self) -> None:
        import http.server
        import json
        import threading

        self.received: list[tuple[str, Any]] = []
        inbox = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server API
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                inbox.received.append((self.path, json.loads(body)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return None

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, path: str, timeout: float = 300.0) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for got, body in self.received:
                if got == path:
                    return body
            time.sleep(0.2)
        raise AssertionError(f"no POST to {path} within {timeout} s: {[p for p, _ in self.received]}")


def webhook_answers(client: ScanCodeIOClient, inbox: WebhookInbox, label: str) -> dict[str, Any]:
    name = f"contract-hook-{uuid.uuid4().hex[:10]}"
    hook = {"target_url": f"{inbox.url}/{label}", "trigger_on_each_run": True}
    project = client.create_project(name, pipelines=["scan_single_package"], webhooks=[hook])
    client.add_input(project["uuid"], upload_file=WHEEL)
    run_uuid = project["runs"][0]["uuid"]
    client.start_pipeline(run_uuid)
    payload = inbox.wait_for(f"/{label}")
    answers = {
        "payload": payload,
        "run_is": (payload["run"]["uuid"] == run_uuid, payload["run"]["status"]),
        "posts": sum(1 for path, _ in inbox.received if path == f"/{label}"),
    }
    with pytest.raises(PermanentServiceError) as bare_host:
        client.create_project(f"{name}-bad", webhooks=[{"target_url": "http://airflow-apiserver:8080/sca-hooks"}])
    answers["bare_host"] = (bare_host.value.status, bare_host.value.detail)
    client.delete_project(project["uuid"])
    return answers


def test_the_sandbox_posts_run_ends_like_the_real_server(
    real_client: ScanCodeIOClient, sandbox_client: ScanCodeIOClient
) -> None:
    inbox = WebhookInbox()
    try:
        real = webhook_answers(real_client, inbox, "real")
        fake = webhook_answers(sandbox_client, inbox, "sandbox")
    finally:
        inbox.server.shutdown()
    assert sorted(real["payload"]) == sorted(fake["payload"]) == ["project", "run"]
    assert key_differences(fake["payload"], real["payload"], "payload") == []
    assert real["run_is"] == fake["run_is"] == (True, "success")
    assert real["posts"] == fake["posts"] == 1
    assert real["bare_host"] == fake["bare_host"]
    assert real["bare_host"][0] == 400
