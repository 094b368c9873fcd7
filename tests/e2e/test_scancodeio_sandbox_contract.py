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
