"""The ScanCode.io client and operators against the real ScanCode.io 38.2 server of `make up`."""

from __future__ import annotations

import asyncio
import io
import tarfile
import zipfile
from pathlib import Path
from typing import Any

import pytest

from sca.common.errors import NotFoundError, PermanentServiceError, RunFailedError
from sca.common.pipeline_run import raise_for_run
from sca.scancodeio.client import OUTPUT_FORMATS, ScanCodeIOClient, is_name_taken
from sca.scancodeio.status import RunStatus
from tests.conftest import ROOT, wait_for_run

WHEEL = "six-1.16.0-py2.py3-none-any.whl"
SDIST = "six-1.16.0.tar.gz"
ACME = "acme-widget-1.0.tar.gz"


def scan(scio: ScanCodeIOClient, name: str, pipelines: list[str], **inputs: Any) -> dict[str, Any]:
    project = scio.create_project(name, pipelines=pipelines, execute_now=True, labels=["pytest"], **inputs)
    run = wait_for_run(scio, project["runs"][0]["uuid"])
    raise_for_run(run)
    return scio.get_project(project["uuid"])


@pytest.fixture(scope="module")
def wheel_project(scio: ScanCodeIOClient, demo_dir: Path) -> dict[str, Any]:
    import uuid

    return scan(scio, f"test-wheel-{uuid.uuid4().hex[:8]}", ["scan_single_package"], upload_file=demo_dir / WHEEL)


def test_wheel_scan_finds_the_package_and_its_license(scio, wheel_project) -> None:
    uuid = wheel_project["uuid"]
    assert [p["purl"] for p in scio.packages(uuid)] == ["pkg:pypi/six@1.16.0"]
    assert scio.summary(uuid)["declared_license_expression"] == "mit"
    assert (
        scio.license_clarity_compliance(uuid) == "error"
    )  # the wheel scores 0: below every threshold in stack/scio/policies.yml
    assert scio.scorecard_compliance(uuid) is None  # needs the fetch_scores addon (network)
    resources = list(scio.resources(uuid))
    assert len(resources) == wheel_project["resource_count"] > 0
    six_py = next(r for r in resources if r["path"].endswith("/six.py") or r["path"] == "six.py")
    assert "Benjamin Peterson" in scio.file_content(uuid, six_py["path"])
    results = scio.results(uuid)
    assert results["headers"][0]["tool_name"] == "scanpipe"
    assert {f["path"] for f in results["files"]} == {r["path"] for r in resources}
    assert scio.messages(uuid) == [], "a clean wheel scan logs no message"
    assert list(scio.dependencies(uuid)) == [], "six declares no dependency"
    only_packages = scio.results(uuid, sections=["packages"])
    assert sorted(only_packages) == ["headers", "packages"]
    assert [p["purl"] for p in only_packages["packages"]] == ["pkg:pypi/six@1.16.0"]
    with pytest.raises(ValueError, match="unknown results section"):
        scio.results(uuid, sections=["todos"])


def test_every_output_format_is_saved_and_not_empty(scio, wheel_project, tmp_path: Path) -> None:
    uuid = wheel_project["uuid"]
    saved = {fmt: scio.download_results(uuid, fmt, tmp_path) for fmt in OUTPUT_FORMATS}
    assert len({p.name for p in saved.values()}) == len(OUTPUT_FORMATS), "two formats overwrote each other"
    for fmt, path in saved.items():
        assert path.parent == tmp_path and path.stat().st_size > 0, fmt
    assert '"spdxVersion": "SPDX-2.3"' in saved["spdx"].read_text()
    assert '"bomFormat": "CycloneDX"' in saved["cyclonedx"].read_text()
    assert zipfile.is_zipfile(saved["xlsx"]) and zipfile.is_zipfile(saved["all_formats"])
    assert "six" in saved["attribution"].read_text()
    assert "  - id: pypi::six:1.16.0\n    purl: pkg:pypi/six@1.16.0\n" in saved["ort-package-list"].read_text()
    cdx_15 = scio.download_results(uuid, "cyclonedx", tmp_path / "v15", version="1.5")
    assert '"specVersion": "1.5"' in cdx_15.read_text()
    listed = scio.outputs(uuid)
    assert listed, "the finished project lists no output files"
    first = scio.download_output(uuid, listed[0]["filename"], tmp_path / "outputs")
    assert first.stat().st_size > 0


def test_sdist_from_an_input_url(scio, unique, inputs_base_url) -> None:
    project = scan(scio, unique("sdist"), ["scan_single_package"], input_urls=[f"{inputs_base_url}/{SDIST}"])
    assert project["input_sources"][0]["download_url"].endswith(SDIST)
    assert "pkg:pypi/six@1.16.0" in {p["purl"] for p in scio.packages(project["uuid"])}


def test_scan_codebase_on_an_archive_follows_every_page(scio, unique, tmp_path) -> None:
    archive = tmp_path / "many-files.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for n in range(60):
            data = f"# file {n}\n# SPDX-License-Identifier: MIT\n".encode()
            info = tarfile.TarInfo(f"many/file_{n:02d}.py")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    project = scan(scio, unique("codebase"), ["scan_codebase"], upload_file=archive)
    resources = list(scio.resources(project["uuid"]))
    assert len(resources) == project["resource_count"] > 50, "only the first page was read"
    assert len(list(scio.resources(project["uuid"], extension=".py"))) == 60


def test_a_bad_input_url_fails_the_run_with_its_error(scio, unique) -> None:
    project = scio.create_project(
        unique("bad-url"),
        pipelines=["scan_single_package"],
        input_urls=["ftp://127.0.0.1/nothing.tar.gz"],
        execute_now=True,
    )
    run = wait_for_run(scio, project["runs"][0]["uuid"])
    assert run["status"] == RunStatus.FAILURE
    with pytest.raises(RunFailedError, match="ftp"):
        raise_for_run(run)


def test_stop_pipeline_gives_stopped(scio, unique, demo_dir) -> None:
    project = scio.create_project(
        unique("stop"), pipelines=["scan_single_package"], upload_file=demo_dir / SDIST, execute_now=True
    )
    run_uuid = project["runs"][0]["uuid"]
    wait_for_run(scio, run_uuid, until=lambda s: s != "not_started" and s != "queued")
    scio.stop_pipeline(run_uuid)
    run = wait_for_run(scio, run_uuid)
    assert run["status"] == RunStatus.STOPPED
    with pytest.raises(PermanentServiceError, match="not running"):
        scio.stop_pipeline(run_uuid)


def test_compliance_returns_the_policies_alerts(scio, unique, demo_dir) -> None:
    project = scan(scio, unique("acme"), ["scan_codebase"], upload_file=demo_dir / ACME)
    errors = scio.compliance(project["uuid"], "ERROR")["compliance_alerts"]
    flagged = errors.get("resources", {}).get("error", [])
    assert any(path.endswith("contrib/legacy_parser.c") for path in flagged), errors
    with_warnings = scio.compliance(project["uuid"], "WARNING")["compliance_alerts"]
    assert with_warnings.get("resources", {}).get("error") == flagged
    assert scio.license_clarity_compliance(project["uuid"]) is None  # scan_codebase scores no clarity
    with pytest.raises(ValueError, match="fail_level"):
        scio.compliance(project["uuid"], "bogus")


def test_pipeline_names_and_groups_are_validated(scio) -> None:
    assert scio.validate_pipelines(["scan_codebase", "inspect_packages:StaticResolver"]) == [
        "scan_codebase",
        "inspect_packages:StaticResolver",
    ]
    with pytest.raises(ValueError, match="unknown ScanCode.io pipeline 'scan_everything'.*scan_codebase"):
        scio.validate_pipelines(["scan_everything"])
    with pytest.raises(ValueError, match="no group"):
        scio.validate_pipelines(["inspect_packages:Nope"])


def test_project_lifecycle_endpoints(scio, unique, inputs_base_url, demo_dir, tmp_path) -> None:
    name = unique("lifecycle")
    project = scio.create_project(
        name, labels=["pytest-lifecycle"], notes="lifecycle", webhook_url="http://127.0.0.1:9/hook"
    )
    uuid = project["uuid"]
    with pytest.raises(PermanentServiceError) as dup:
        scio.create_project(name)
    assert is_name_taken(dup.value)
    assert scio.add_input(uuid, input_urls=[f"{inputs_base_url}/{WHEEL}"])["status"] == "Input(s) added."
    assert scio.add_input(uuid, upload_file=demo_dir / SDIST, upload_file_tag="sdist")["status"] == "Input(s) added."
    assert scio.add_pipeline(uuid, "inspect_packages:StaticResolver")["status"] == "Pipeline added."
    assert scio.add_webhook(uuid, "http://127.0.0.1:9/other", include_summary=True)
    detail = scio.get_project(uuid)
    assert {s["filename"] for s in detail["input_sources"]} >= {SDIST}
    assert detail["runs"][0]["selected_groups"] == ["StaticResolver"]
    assert [p["uuid"] for p in scio.list_projects(name=name)] == [uuid]
    assert [p["name"] for p in scio.list_projects(uuid=uuid)] == [name]
    assert uuid in [p["uuid"] for p in scio.list_projects(label="pytest-lifecycle")]
    assert scio.find_project(name)["uuid"] == uuid
    assert "deleted" in scio.delete_pipeline(detail["runs"][0]["uuid"])["status"]
    with pytest.raises(NotFoundError):
        scio.get_run(detail["runs"][0]["uuid"])
    assert "reset" in scio.reset(uuid)["status"]
    assert "archived" in scio.archive(uuid, remove_input=True)["status"]
    assert uuid in [p["uuid"] for p in scio.list_projects(is_archived=True, name=name)]
    report = scio.projects_report("package", tmp_path, label="pytest")
    assert zipfile.is_zipfile(report)
    scio.delete_project(uuid)
    assert scio.find_project(name) is None


def test_webhooks_given_on_create_are_delivered(scio, unique, demo_dir) -> None:
    """The webhooks list is write-only in the API: read it back the way ScanCode.io uses it, by
    receiving its deliveries on a loopback listener (the inactive one must stay silent)."""
    import json
    import threading
    import time
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    delivered: list[tuple[str, dict[str, Any]]] = []

    class Listener(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            delivered.append((self.path, json.loads(body or b"{}")))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Listener)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    hook = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        project = scio.create_project(
            unique("webhooks"),
            webhooks=[
                {"target_url": f"{hook}/each", "trigger_on_each_run": True, "include_summary": True},
                {"target_url": f"{hook}/off", "is_active": False},
            ],
        )
        scio.add_input(project["uuid"], upload_file=demo_dir / WHEEL)
        scio.add_pipeline(project["uuid"], "scan_single_package", execute_now=True)
        run = wait_for_run(scio, scio.get_project(project["uuid"])["runs"][0]["uuid"])
        deadline = time.monotonic() + 60
        while not delivered and time.monotonic() < deadline:
            time.sleep(0.5)
        time.sleep(2)  # an unwanted second delivery (the inactive hook) would arrive by now
    finally:
        server.shutdown()
    assert run["status"] == "success"
    assert [(path, body["project"]["uuid"], body["run"]["status"]) for path, body in delivered] == [
        ("/each", project["uuid"], "success")
    ]
    assert delivered[0][1]["summary"]["declared_license_expression"] == "mit", "include_summary"
    with pytest.raises(ValueError, match="webhooks"):
        scio.create_project(
            unique("webhooks-upload"), upload_file=Path(__file__), webhooks=[{"target_url": f"{hook}/a"}]
        )
    scio.delete_project(project["uuid"])


def test_async_client_reads_runs(scio_url_token, wheel_project) -> None:
    from sca.scancodeio.client import AsyncScanCodeIOClient

    client = AsyncScanCodeIOClient(*scio_url_token)
    run = asyncio.run(client.get_run(wheel_project["runs"][0]["uuid"]))
    assert run["status"] == "success" and "Pipeline completed" in run["log"]


def test_old_pipeline_names_purl_on_create_and_reset_keeping_or_not_the_input(scio, unique, demo_dir) -> None:
    assert scio.validate_pipelines(["scan_package", "inspect_manifest:StaticResolver"]) == [
        "scan_single_package",
        "inspect_packages:StaticResolver",
    ]
    project = scio.create_project(unique("reset"), purl="pkg:pypi/six@1.16.0")
    uuid = project["uuid"]
    assert scio.get_project(uuid)["purl"] == "pkg:pypi/six@1.16.0"
    scio.add_input(uuid, upload_file=demo_dir / WHEEL)
    scio.add_pipeline(uuid, "scan_single_package")
    assert "has been reset" in scio.reset(uuid)["status"]
    kept = scio.get_project(uuid)
    assert [s["filename"] for s in kept["input_sources"]] == [WHEEL] and kept["runs"] == []
    scio.reset(uuid, keep_input=False)
    assert scio.get_project(uuid)["input_sources"] == []
    scio.delete_project(uuid)


def test_scancodeio_is_the_pinned_version(scio, wheel_project) -> None:
    """The version the stack pins (stack/scio/requirements-scio.lock), as the server states it on runs."""
    pinned = next(
        line.split("==", 1)[1].strip()
        for line in (ROOT / "stack" / "scio" / "requirements-scio.lock").read_text().splitlines()
        if line.startswith("scancodeio==")
    )
    assert pinned == "38.2.0"
    assert wheel_project["runs"][0]["scancodeio_version"] == pinned
    assert scio.server_version() == pinned


def test_settings_on_create_reach_the_pipeline_through_the_config_file(scio, unique, tmp_path) -> None:
    """38.2 stores ``{}`` for a ``settings`` field on create; the client gives them as the
    project's ``scancode-config.yml`` instead, and the server's pipeline honours them."""
    archive = tmp_path / "with-docs.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for path in ("pkg/code.py", "pkg/README.md", "pkg/docs/guide.md", "pkg/tests/test_code.py"):
            data = f"# {path}\n# SPDX-License-Identifier: MIT\n".encode()
            info = tarfile.TarInfo(path)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    name = unique("settings")
    project = scio.create_project(
        name,
        pipelines=["scan_codebase"],
        upload_file=archive,
        execute_now=True,
        labels=["pytest"],
        settings={"ignored_patterns": ["*.md", "*/tests/*"], "product_name": "settings-probe"},
    )
    assert sorted(s["filename"] for s in project["input_sources"]) == ["scancode-config.yml", "with-docs.tar.gz"]
    raise_for_run(wait_for_run(scio, project["runs"][0]["uuid"]))
    files = sorted(r["path"] for r in scio.resources(project["uuid"]) if r["type"] == "file")
    ignored = sorted(r["path"] for r in scio.resources(project["uuid"]) if r["status"] == "ignored-pattern")
    assert [p for p in files if p not in ignored and p.endswith((".py", ".md"))] == [
        "with-docs.tar.gz-extract/pkg/code.py"
    ]
    assert ignored == [
        "scancode-config.yml",  # the server sets its own config file aside too
        "with-docs.tar.gz-extract/pkg/README.md",
        "with-docs.tar.gz-extract/pkg/docs/guide.md",
        "with-docs.tar.gz-extract/pkg/tests/test_code.py",
    ]
