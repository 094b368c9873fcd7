"""The FossID Workbench sandbox against the real Workbench contract (see sandboxes/fossid/README.md
for the table: each behaviour, the real source it follows, and the test here that checks it).

Raw HTTP with ``requests`` on purpose: this test never imports our client (plugins/sca/...).
The sandbox runs as a real process; the test uploads archives it builds itself:
``log4j-core-2.14.1`` (two declared licenses, one listed advisory), ``widget-2.0`` (a license
that is not on the SPDX list), ``plain-1.0`` (a license text, pending, and a file with no match)
and ``app-1.0`` (a requirements.txt with one pinned, vulnerable dependency).
"""

from __future__ import annotations

import base64
import hashlib
import io
import tarfile
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from openpyxl import load_workbook
from spdx_tools.common.spdx_licensing import spdx_licensing
from spdx_tools.spdx.parser.parse_anything import parse_file

from tests.sandbox_process import configure, sandbox

USER, KEY = "contract-bot", "contract-key-0001"
VERSION = "26.1.0"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FILES = {
    "log4j-core-2.14.1": {
        "src/Main.java": "// SPDX-License-Identifier: Apache-2.0\npublic class Main {}\n",
        "LICENSE.txt": "SPDX-License-Identifier: MIT\n",
    },
    "widget-2.0": {"widget.c": "/* SPDX-License-Identifier: LicenseRef-Acme-Proprietary */\nint w;\n"},
    "plain-1.0": {
        "COPYING": "Permission is hereby granted, free of charge, to any person\n",
        "notes.txt": "nothing to see\n",
    },
    "app-1.0": {"requirements.txt": "urllib3==1.26.4\nrequests>=2.0\n"},
}


def archive(top: str, files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"{top}/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


class Workbench:
    def __init__(self, url: str) -> None:
        self.url = url

    def post(self, group: str, action: str, **data: Any) -> requests.Response:
        body = {"group": group, "action": action, "data": {"username": USER, "key": KEY, **data}}
        return requests.post(f"{self.url}/api.php", json=body, timeout=30)

    def call(self, group: str, action: str, **data: Any) -> dict[str, Any]:
        response = self.post(group, action, **data)
        assert response.headers["Content-Type"].startswith("application/json"), response.text[:200]
        return response.json()

    def ok(self, group: str, action: str, **data: Any) -> Any:
        reply = self.call(group, action, **data)
        assert reply["status"] == "1", reply
        return reply["data"]

    def upload(self, scan_code: str, name: str, body: bytes) -> None:
        headers = {
            "FOSSID-SCAN-CODE": b64(scan_code),
            "FOSSID-FILE-NAME": b64(name),
            "Authorization": "Basic " + b64(f"{USER}:{KEY}"),
        }
        reply = requests.post(f"{self.url}/api.php", data=body, headers=headers, timeout=30).json()
        assert reply == {"operation": "Upload_apiUpload", "status": 1, "data": None}

    def report(self, process_id: str, timeout: float = 30) -> requests.Response:
        """Wait for an asynchronous scan report, then download it."""
        deadline = time.monotonic() + timeout
        while (
            self.ok("scans", "check_status", process_id=process_id, type="REPORT_GENERATION")["progress_state"]
            != "FINISHED"
        ):
            assert time.monotonic() < deadline, "report generation did not finish"
            time.sleep(0.1)
        return self.post("download", "download_report", report_entity="scans", process_id=process_id)

    def status(self, scan_code: str, kind: str) -> str:
        return self.ok("scans", "check_status", scan_code=scan_code, type=kind)["status"]

    def wait(self, scan_code: str, kind: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while (state := self.status(scan_code, kind)) in ("NEW", "QUEUED", "RUNNING"):
            assert time.monotonic() < deadline, f"{kind} still {state}"
            time.sleep(0.1)
        return state


@pytest.fixture(scope="module")
def url(tmp_path_factory) -> Iterator[str]:
    with sandbox(
        "sandboxes.fossid",
        "/index.php?form=login",
        tmp_path_factory.mktemp("fossid-contract"),
        "--user",
        f"{USER}:{KEY}",
        "--version",
        VERSION,
        "--scan-seconds",
        "1.0",
        "--queue-seconds",
        "0.3",
    ) as base:
        configure(base, extract_seconds=0.1, dependency_seconds=0.5, report_seconds=0.2)
        yield base


@pytest.fixture
def wb(url) -> Workbench:
    return Workbench(url)


@pytest.fixture
def version(url) -> Iterator[Any]:
    """Advertise another Workbench version for one test; the module's version comes back after."""

    def switch(value: str) -> None:
        assert configure(url, version=value)["version"] == value

    yield switch
    configure(url, version=VERSION)


def new_scan(wb: Workbench, *, upload: bool = True) -> str:
    project, scan = f"p-{uuid.uuid4().hex[:8]}", f"s-{uuid.uuid4().hex[:8]}"
    wb.ok("projects", "create", project_code=project, project_name=project)
    wb.ok("scans", "create", project_code=project, scan_code=scan, scan_name=scan)
    if upload:
        for top, files in FILES.items():
            wb.upload(scan, f"{top}.tar.gz", archive(top, files))
        assert wb.ok("scans", "extract_archives", scan_code=scan) is True
        assert wb.wait(scan, "EXTRACT_ARCHIVES") == "FINISHED"
    return scan


@pytest.fixture(scope="module")
def scanned(url) -> str:
    """One scan run with run_dependency_analysis=1, finished with its dependency analysis."""
    wb = Workbench(url)
    scan = new_scan(wb)
    wb.ok("scans", "run", scan_code=scan, auto_identification_detect_declaration="1", run_dependency_analysis="1")
    assert wb.wait(scan, "SCAN") == "FINISHED"
    assert wb.wait(scan, "DEPENDENCY_ANALYSIS") == "FINISHED"
    return scan


# -- 1. scans/run with run_dependency_analysis -------------------------------------------------------


def test_run_with_dependency_analysis_queues_it_behind_the_scan(wb) -> None:
    scan = new_scan(wb)
    assert wb.status(scan, "DEPENDENCY_ANALYSIS") == "NEW"
    reply = wb.call("scans", "run", scan_code=scan, run_dependency_analysis="1")
    assert reply == {"operation": "scans_run", "status": "1", "data": None, "message": "Scan has been launched"}
    assert wb.status(scan, "SCAN") == "QUEUED"
    assert wb.status(scan, "DEPENDENCY_ANALYSIS") == "QUEUED"
    assert wb.wait(scan, "SCAN") == "FINISHED"
    assert wb.wait(scan, "DEPENDENCY_ANALYSIS") == "FINISHED"
    deps = wb.ok("scans", "get_dependency_analysis_results", scan_code=scan)
    assert [(d["name"], d["version"], d["file_path"]) for d in deps] == [
        ("urllib3", "==1.26.4", "app-1.0.tar.gz/app-1.0/requirements.txt"),
        ("requests", ">=2.0", "app-1.0.tar.gz/app-1.0/requirements.txt"),
    ]


def test_run_without_the_flag_starts_no_dependency_analysis(wb) -> None:
    scan = new_scan(wb)
    wb.ok("scans", "run", scan_code=scan, run_dependency_analysis="0")
    assert wb.wait(scan, "SCAN") == "FINISHED"
    assert wb.status(scan, "DEPENDENCY_ANALYSIS") == "NEW"
    reply = wb.call("scans", "get_dependency_analysis_results", scan_code=scan)
    assert (reply["status"], reply["error"]) == ("0", "Dependency analysis has not been run")


def test_cancelling_the_scan_cancels_the_queued_dependency_analysis(wb) -> None:
    scan = new_scan(wb)
    wb.ok("scans", "run", scan_code=scan, run_dependency_analysis="1")
    assert wb.ok("scans", "cancel_run", scan_code=scan) is True
    assert wb.status(scan, "SCAN") == "FAILED"
    assert wb.status(scan, "DEPENDENCY_ANALYSIS") == "FAILED"


# -- 2. get_folder_metrics and list_vulnerabilities ------------------------------------------------


def test_folder_metrics(wb, scanned) -> None:
    reply = wb.call("scans", "get_folder_metrics", scan_code=scanned)
    assert reply == {
        "operation": "scans_get_folder_metrics",
        "status": "1",
        "data": {"total": "6", "pending_identification": "1", "identified_files": "3", "without_matches": "2"},
        "message": "Success",
    }


def test_folder_metrics_before_24_2_repeat_values_under_numeric_keys(wb, scanned, version) -> None:
    version("24.1.0")
    assert wb.ok("scans", "get_folder_metrics", scan_code=scanned) == {
        "0": "6",
        "1": "1",
        "2": "3",
        "3": "2",
        "total": "6",
        "pending_identification": "1",
        "identified_files": "3",
        "without_matches": "2",
    }


def test_folder_metrics_of_a_missing_scan(wb) -> None:
    reply = wb.call("scans", "get_folder_metrics", scan_code="no-such-scan")
    assert (reply["status"], reply["error"]) == ("0", "Classes.TableRepository.row_not_found")


VULNERABILITIES = [
    {
        "id": 1,
        "cve": "CVE-2021-44228",
        "severity": "CRITICAL",
        "base_score": "10.0",
        "component_name": "log4j-core",
        "component_version": "2.14.1",
    },
    {
        "id": 2,
        "cve": "CVE-2021-45046",
        "severity": "CRITICAL",
        "base_score": "9.0",
        "component_name": "log4j-core",
        "component_version": "2.14.1",
    },
    {
        "id": 3,
        "cve": "CVE-2021-44832",
        "severity": "MEDIUM",
        "base_score": "6.6",
        "component_name": "log4j-core",
        "component_version": "2.14.1",
    },
    {
        "id": 4,
        "cve": "CVE-2021-33503",
        "severity": "HIGH",
        "base_score": "7.5",
        "component_name": "urllib3",
        "component_version": "1.26.4",
    },
]


def test_list_vulnerabilities_count_then_pages(wb, scanned) -> None:
    count = wb.call("vulnerabilities", "list_vulnerabilities", scan_code=scanned, count_results=1)
    assert count == {"operation": "vulnerabilities_list_vulnerabilities", "status": "1", "data": {"count_results": 4}}
    assert wb.ok("vulnerabilities", "list_vulnerabilities", scan_code=scanned, page=1) == {"list": VULNERABILITIES}
    assert wb.ok("vulnerabilities", "list_vulnerabilities", scan_code=scanned, page=2, records_per_page=3) == {
        "list": VULNERABILITIES[3:]
    }


def test_list_vulnerabilities_of_a_scan_with_none(wb) -> None:
    scan = new_scan(wb, upload=False)
    assert wb.ok("vulnerabilities", "list_vulnerabilities", scan_code=scan, count_results=1) == {"count_results": 0}


def test_list_vulnerabilities_does_not_exist_before_24_3(wb, scanned, version) -> None:
    version("24.2.0")
    reply = wb.call("vulnerabilities", "list_vulnerabilities", scan_code=scanned, count_results=1)
    assert (reply["status"], reply["error"]) == ("0", "RequestData.Base.action_not_found")


# -- 3. report types by version, notice extraction ---------------------------------------------------


def test_string_match_report_is_a_synchronous_xlsx(wb, scanned, tmp_path) -> None:
    response = wb.post("scans", "generate_report", scan_code=scanned, report_type="string_match", **{"async": "0"})
    assert response.headers["Content-Type"] == XLSX
    assert response.headers["Content-Disposition"] == f"attachment; filename={scanned}-string_match.xlsx"
    (tmp_path / "sm.xlsx").write_bytes(response.content)
    sheet = load_workbook(tmp_path / "sm.xlsx").active
    assert [list(r) for r in sheet.iter_rows(values_only=True)] == [["File", "String", "Line", "Rule"]]


def test_dynamic_top_matched_components_report_is_synchronous_html(wb, scanned) -> None:
    response = wb.post(
        "scans", "generate_report", scan_code=scanned, report_type="dynamic_top_matched_components", **{"async": "0"}
    )
    assert response.headers["Content-Type"] == "text/html; charset=UTF-8"
    assert (
        "<tr><td>log4j-core</td><td>2.14.1</td><td>2</td></tr><tr><td>widget</td><td>2.0</td><td>1</td></tr>"
        in response.text
    )


def test_legacy_report_types_are_refused_from_24_2(wb, scanned) -> None:
    reply = wb.call("scans", "generate_report", scan_code=scanned, report_type="dynamic")
    assert reply["error"] == "RequestData.Base.issues_while_parsing_request"
    assert reply["data"] == [
        {
            "code": "RequestData.Base.field_not_valid_option",
            "message": "Field report_type has a value that is not valid.",
            "message_parameters": {
                "fieldname": "report_type",
                "options": [
                    "cyclone_dx",
                    "dynamic_top_matched_components",
                    "html",
                    "spdx",
                    "spdx_lite",
                    "string_match",
                    "xlsx",
                ],
            },
        }
    ]
    assert wb.call("scans", "generate_report", scan_code=scanned, report_type="basic")["status"] == "0"


def test_before_24_2_the_legacy_types_are_accepted_too(wb, scanned, version) -> None:
    version("24.1.0")
    dynamic = wb.post("scans", "generate_report", scan_code=scanned, report_type="dynamic")
    assert dynamic.headers["Content-Disposition"] == f"attachment; filename={scanned}-dynamic.html"
    basic = wb.call("scans", "generate_report", scan_code=scanned, report_type="basic", **{"async": "1"})
    assert (basic["status"], list(basic["data"]), basic["message"]) == (
        "1",
        ["process_queue_id"],
        "Report generation started.",
    )
    assert wb.report(basic["data"]["process_queue_id"]).headers["Content-Type"] == "text/html; charset=UTF-8"
    string_match = wb.post("scans", "generate_report", scan_code=scanned, report_type="string_match")
    assert string_match.headers["Content-Type"] == XLSX


def test_string_match_is_a_scan_report_only(wb, scanned) -> None:
    project = wb.ok("scans", "get_information", scan_code=scanned)["project_code"]
    reply = wb.call("projects", "generate_report", project_code=project, report_type="string_match", **{"async": "1"})
    assert (reply["status"], reply["data"][0]["code"]) == ("0", "RequestData.Base.field_not_valid_option")
    assert reply["data"][0]["message_parameters"]["options"] == ["cyclone_dx", "html", "spdx", "spdx_lite", "xlsx"]


def test_notice_extract_component_run_poll_download(wb, scanned) -> None:
    reply = wb.call("scans", "notice_extract_run", scan_code=scanned, type="NOTICE_EXTRACT_COMPONENT")
    assert reply == {"operation": "scans_notice_extract_run", "status": "1", "data": True}
    assert wb.wait(scanned, "NOTICE_EXTRACT_COMPONENT") == "FINISHED"
    response = wb.post("scans", "notice_extract_download", scan_code=scanned, type="NOTICE_EXTRACT_COMPONENT")
    assert response.headers["Content-Type"] == "text/plain; charset=UTF-8"
    assert response.text == (
        f"Notices for scan {scanned}\n\n"
        "log4j-core 2.14.1\nLicense: Apache-2.0 AND MIT\n\n"
        "widget 2.0\nLicense: LicenseRef-Acme-Proprietary\n"
    )


def test_notice_extract_file_is_the_default_type(wb, scanned) -> None:
    assert wb.ok("scans", "notice_extract_run", scan_code=scanned) is True
    assert wb.wait(scanned, "NOTICE_EXTRACT_FILE") == "FINISHED"
    response = wb.post("scans", "notice_extract_download", scan_code=scanned)
    assert response.text.splitlines()[2:5] == [
        "log4j-core-2.14.1.tar.gz/log4j-core-2.14.1/LICENSE.txt",
        "Component: log4j-core 2.14.1",
        "License: MIT",
    ]


def test_notice_types_follow_the_version(wb, scanned, version) -> None:
    version("24.3.0")
    aggregate = wb.call("scans", "notice_extract_run", scan_code=scanned, type="NOTICE_EXTRACT_AGGREGATE")
    assert aggregate["data"][0]["message_parameters"] == {
        "fieldname": "type",
        "options": ["NOTICE_EXTRACT_FILE", "NOTICE_EXTRACT_COMPONENT"],
    }
    version("24.2.0")
    component = wb.call("scans", "notice_extract_run", scan_code=scanned, type="NOTICE_EXTRACT_COMPONENT")
    assert component["data"][0]["message_parameters"] == {"fieldname": "type", "options": ["NOTICE_EXTRACT_FILE"]}


# -- 4. SPDX RDF licenses read by spdx-tools ---------------------------------------------------------


def test_spdx_rdf_concluded_licenses_parse_as_expressions(wb, scanned, tmp_path) -> None:
    process = wb.ok("scans", "generate_report", scan_code=scanned, report_type="spdx", **{"async": "1"})[
        "process_queue_id"
    ]
    response = wb.report(process)
    path = tmp_path / "report.rdf"
    path.write_bytes(response.content)
    document = parse_file(str(path))
    concluded = {(p.name, p.version): p.license_concluded for p in document.packages}
    assert set(concluded) == {("log4j-core", "2.14.1"), ("widget", "2.0")}
    assert concluded[("log4j-core", "2.14.1")] == spdx_licensing.parse("Apache-2.0 AND MIT")
    assert str(concluded[("log4j-core", "2.14.1")].simplify()) == "Apache-2.0 AND MIT"
    assert str(concluded[("widget", "2.0")]) == "LicenseRef-Acme-Proprietary"
    assert [(e.license_id, e.license_name) for e in document.extracted_licensing_info] == [
        ("LicenseRef-Acme-Proprietary", "LicenseRef-Acme-Proprietary")
    ]
    assert [str(p.license_declared) for p in document.packages] == ["NOASSERTION", "NOASSERTION"]


def test_spdx_rdf_single_listed_license_is_a_license_list_resource(wb, tmp_path) -> None:
    scan = new_scan(wb, upload=False)
    wb.upload(scan, "solo-1.0.tar.gz", archive("solo-1.0", {"a.py": "# SPDX-License-Identifier: MIT\n"}))
    wb.ok("scans", "extract_archives", scan_code=scan)
    assert wb.wait(scan, "EXTRACT_ARCHIVES") == "FINISHED"
    wb.ok("scans", "run", scan_code=scan)
    assert wb.wait(scan, "SCAN") == "FINISHED"
    process = wb.ok("scans", "generate_report", scan_code=scan, report_type="spdx", **{"async": "1"})[
        "process_queue_id"
    ]
    body = wb.report(process).text
    assert '<spdx:licenseConcluded rdf:resource="http://spdx.org/licenses/MIT"/>' in body
    path = tmp_path / "solo.rdf"
    path.write_text(body)
    [package] = parse_file(str(path)).packages
    assert (package.name, str(package.license_concluded)) == ("solo", "MIT")


# -- 5. broken archives, file counts, cancel_run -----------------------------------------------------


def payload(n: int) -> bytes:
    """Deterministic bytes that do not compress, so a cut gzip stream ends inside its data."""
    return b"".join(hashlib.sha256(f"{n}-{i}".encode()).digest() for i in range(128))


def truncated_tar_gz() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for n in range(8):
            data = payload(n)
            info = tarfile.TarInfo(f"blob-1.0/part{n}.bin")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    whole = buffer.getvalue()
    return whole[: len(whole) // 2]


def extraction_of(wb: Workbench, name: str, body: bytes) -> tuple[str, dict[str, Any]]:
    """Upload ``body`` as ``name``, extract it, wait: (scan code, final EXTRACT_ARCHIVES row)."""
    scan = new_scan(wb, upload=False)
    wb.upload(scan, name, body)
    assert wb.call("scans", "extract_archives", scan_code=scan, recursively_extract_archives="false") == {
        "operation": "scans_extract_archives",
        "status": "1",
        "data": True,
    }
    assert wb.wait(scan, "EXTRACT_ARCHIVES") == "FAILED"
    return scan, wb.ok("scans", "check_status", scan_code=scan, type="EXTRACT_ARCHIVES")


def failed_row_fields(row: dict[str, Any]) -> dict[str, Any]:
    return {k: row[k] for k in ("type", "status", "state", "is_finished", "percentage_done", "info", "comment")}


@pytest.mark.parametrize(
    ("name", "body", "cause"),
    [
        (
            "blob-1.0.tar.gz",
            truncated_tar_gz(),
            "Compressed file ended before the end-of-stream marker was reached (EOFError)",
        ),
        ("page.tar.gz", b"<!DOCTYPE html><html><body>Sign in</body></html>\n", "not a gzip file (ReadError)"),
        ("nothing.tar.gz", b"", "empty file (ReadError)"),
        ("bad.zip", b"PK\x03\x04 this is not really a zip", "File is not a zip file (BadZipFile)"),
    ],
    ids=["truncated", "html", "empty-file", "not-a-zip"],
)
def test_an_archive_that_cannot_be_read_fails_the_extraction_naming_it(wb, name, body, cause) -> None:
    scan, row = extraction_of(wb, name, body)
    message = f"Archive {name} could not be extracted: {cause}"
    assert failed_row_fields(row) == {
        "type": "EXTRACT_ARCHIVES",
        "status": "FAILED",
        "state": "FAILED",
        "is_finished": True,
        "percentage_done": 0,
        "info": message,
        "comment": message,
    }
    # The server still answers, and the archive stays an uploaded file, not an extracted tree.
    info = wb.ok("scans", "get_information", scan_code=scan)
    assert (info["uploaded_files"], info["any_archives_expanded"]) == ([name], False)


def test_a_failed_extraction_before_2021_2_says_why_in_comment(wb, version) -> None:
    version("2020.1.2")
    scan, row = extraction_of(wb, "page.tar.gz", b"<html></html>")
    assert {k: row[k] for k in ("status", "is_finished", "percentage_done", "comment")} == {
        "status": "FAILED",
        "is_finished": "1",
        "percentage_done": "0%",
        "comment": "Archive page.tar.gz could not be extracted: not a gzip file (ReadError)",
    }


def test_one_broken_archive_fails_the_extraction_the_good_ones_are_extracted(wb) -> None:
    scan = new_scan(wb, upload=False)
    wb.upload(scan, "good-1.0.tar.gz", archive("good-1.0", {"a.txt": "a\n", "b.txt": "b\n"}))
    wb.upload(scan, "page.tar.gz", b"<html></html>")
    wb.ok("scans", "extract_archives", scan_code=scan)
    assert wb.wait(scan, "EXTRACT_ARCHIVES") == "FAILED"
    row = wb.ok("scans", "check_status", scan_code=scan, type="EXTRACT_ARCHIVES")
    assert row["info"] == "Archive page.tar.gz could not be extracted: not a gzip file (ReadError)"
    wb.ok("scans", "run", scan_code=scan)
    assert wb.wait(scan, "SCAN") == "FINISHED"
    # two extracted files, plus the unreadable upload scanned as the one file it is
    assert wb.ok("scans", "check_status", scan_code=scan, type="SCAN")["total_files"] == 3
    assert wb.ok("scans", "get_folder_metrics", scan_code=scan)["total"] == "3"


def test_an_unexpected_exception_is_an_error_envelope_not_a_dropped_connection(wb, scanned) -> None:
    response = wb.post("vulnerabilities", "list_vulnerabilities", scan_code=scanned, page=1, records_per_page="many")
    assert response.status_code == 200
    assert response.json() == {
        "operation": "vulnerabilities_list_vulnerabilities",
        "status": "0",
        "data": [],
        "error": "Sandbox.unexpected_exception",
        "message": (
            "Unexpected error in vulnerabilities/list_vulnerabilities: "
            "ValueError: invalid literal for int() with base 10: 'many'"
        ),
        "message_parameters": {"exception": "ValueError"},
    }
    assert wb.ok("scans", "get_information", scan_code=scanned)["code"] == scanned


def scan_of(wb: Workbench, files: dict[str, str] | None) -> str:
    """A scan of one archive holding ``files`` (None: nothing uploaded), extracted and run."""
    scan = new_scan(wb, upload=False)
    if files is not None:
        wb.upload(scan, "small-1.0.tar.gz", archive("small-1.0", files))
        wb.ok("scans", "extract_archives", scan_code=scan)
        assert wb.wait(scan, "EXTRACT_ARCHIVES") == "FINISHED"
    wb.ok("scans", "run", scan_code=scan)
    assert wb.wait(scan, "SCAN") == "FINISHED"
    return scan


@pytest.mark.parametrize(("files", "count"), [({}, 0), (None, 0)], ids=["empty-archive", "no-upload"])
def test_a_scan_of_no_files_finishes_and_says_zero_files(wb, files, count) -> None:
    scan = scan_of(wb, files)
    row = wb.ok("scans", "check_status", scan_code=scan, type="SCAN")
    assert {k: row[k] for k in ("status", "is_finished", "percentage_done", "total_files", "comment")} == {
        "status": "FINISHED",
        "is_finished": True,
        "percentage_done": 100,
        "total_files": count,
        "comment": "Scan finished. 0 files scanned. 0 files ignored. 0 files failed.",
    }
    assert wb.ok("scans", "get_folder_metrics", scan_code=scan) == {
        "total": "0",
        "pending_identification": "0",
        "identified_files": "0",
        "without_matches": "0",
    }
    assert wb.ok("scans", "get_pending_files", scan_code=scan) is False


def test_a_scan_counts_the_files_of_the_archive(wb, version) -> None:
    scan = scan_of(
        wb,
        {"src/a.py": "# SPDX-License-Identifier: MIT\n", "src/b.py": "print(1)\n", "README": "Readme\n"},
    )
    assert wb.ok("scans", "check_status", scan_code=scan, type="SCAN")["total_files"] == 3
    assert wb.ok("scans", "get_folder_metrics", scan_code=scan)["total"] == "3"
    version("2020.1.2")
    legacy = wb.ok("scans", "check_status", scan_code=scan, type="SCAN")
    assert (legacy["status"], legacy["is_finished"], legacy["comment"]) == (
        "FINISHED",
        "1",
        "Scan finished. 3 files scanned. 0 files ignored. 0 files failed.",
    )


@pytest.fixture
def slow_scan(url, wb) -> Iterator[str]:
    """A scan RUNNING for a minute (scan_seconds is switched back once the run has started)."""
    scan = new_scan(wb, upload=False)
    wb.upload(scan, "small-1.0.tar.gz", archive("small-1.0", {"a.txt": "a\n"}))
    wb.ok("scans", "extract_archives", scan_code=scan)
    assert wb.wait(scan, "EXTRACT_ARCHIVES") == "FINISHED"
    configure(url, scan_seconds=60)
    try:
        wb.ok("scans", "run", scan_code=scan, run_dependency_analysis="1")
    finally:
        configure(url, scan_seconds=1.0)
    deadline = time.monotonic() + 10
    while wb.status(scan, "SCAN") != "RUNNING":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    yield scan
    configure(url, cancel_status="FAILED")


def test_cancel_run_stops_a_running_scan_as_failed_with_the_cancel_text(wb, slow_scan) -> None:
    assert wb.call("scans", "cancel_run", scan_code=slow_scan) == {
        "operation": "scans_cancel_run",
        "status": "1",
        "data": True,
    }
    row = wb.ok("scans", "check_status", scan_code=slow_scan, type="SCAN")
    assert {k: row[k] for k in ("status", "state", "is_finished", "percentage_done", "info", "comment")} == {
        "status": "FAILED",
        "state": "FAILED",
        "is_finished": True,
        "percentage_done": 0,
        "info": "The process was cancelled",
        "comment": "The process was cancelled",
    }
    assert row["started"] is not None and row["finished"] is not None and row["finished"] >= row["started"]
    da = wb.ok("scans", "check_status", scan_code=slow_scan, type="DEPENDENCY_ANALYSIS")
    assert (da["status"], da["info"], da["started"]) == ("FAILED", "The process was cancelled", None)
    # a new run may start at once
    assert wb.ok("scans", "run", scan_code=slow_scan) is None


def test_cancel_run_can_answer_cancelled_when_switched(url, wb, slow_scan) -> None:
    configure(url, cancel_status="CANCELLED")
    assert wb.ok("scans", "cancel_run", scan_code=slow_scan) is True
    row = wb.ok("scans", "check_status", scan_code=slow_scan, type="SCAN")
    assert (row["status"], row["state"], row["is_finished"], row["info"]) == (
        "CANCELLED",
        "CANCELLED",
        True,
        "The process was cancelled",
    )


def test_cancel_run_of_a_finished_scan_is_an_error(wb, scanned) -> None:
    assert wb.call("scans", "cancel_run", scan_code=scanned) == {
        "operation": "scans_cancel_run",
        "status": "0",
        "data": [],
        "error": "Classes.Scans.scan_not_running",
        "message": f"Scan {scanned} is not running (status FINISHED); there is no run to cancel.",
        "message_parameters": {"scan_code": scanned, "status": "FINISHED"},
    }
    assert wb.status(scanned, "SCAN") == "FINISHED"


def test_cancel_run_of_a_scan_never_run_or_missing_is_an_error(wb) -> None:
    scan = new_scan(wb, upload=False)
    reply = wb.call("scans", "cancel_run", scan_code=scan)
    assert (reply["status"], reply["error"], reply["message_parameters"]) == (
        "0",
        "Classes.Scans.scan_not_running",
        {"scan_code": scan, "status": "NEW"},
    )
    missing = wb.call("scans", "cancel_run", scan_code="no-such-scan")
    assert (missing["status"], missing["error"]) == ("0", "Classes.TableRepository.row_not_found")


def test_a_broken_nested_archive_is_noted_and_left_a_file(wb) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in (("outer-1.0/a.txt", b"a\n"), ("outer-1.0/tests/data/broken.tar.gz", b"<html></html>")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    scan = new_scan(wb, upload=False)
    wb.upload(scan, "outer-1.0.tar.gz", buffer.getvalue())
    wb.ok("scans", "extract_archives", scan_code=scan, recursively_extract_archives="true")
    assert wb.wait(scan, "EXTRACT_ARCHIVES") == "FINISHED"
    row = wb.ok("scans", "check_status", scan_code=scan, type="EXTRACT_ARCHIVES")
    assert (row["info"], row["comment"]) == (
        None,
        "1 archive(s) extracted; Nested archive outer-1.0.tar.gz/outer-1.0/tests/data/broken.tar.gz "
        "was left unextracted: not a gzip file (ReadError)",
    )
    wb.ok("scans", "run", scan_code=scan)
    assert wb.wait(scan, "SCAN") == "FINISHED"
    assert wb.ok("scans", "check_status", scan_code=scan, type="SCAN")["total_files"] == 2


# -- who may delete a scan (workbench-agent CE's delete-scan asks before scans/delete) ------------
def test_get_information_names_the_user_who_created_the_scan(wb, url) -> None:
    info = wb.ok("scans", "get_information", scan_code=new_scan(wb, upload=False))
    assert info["username"] == USER
    # the id is that user's: with SCAN_DELETE_ANY granted to USER, a look-up by the id shows it
    configure(url, delete_any_users=[USER])
    try:
        rows = wb.ok("users", "get_user_permissions_list", user_id=info["user_id"])
    finally:
        configure(url, delete_any_users=[])
    assert [r["code"] for r in rows] == ["SCAN_ACCESS", "SCAN_CREATE", "SCAN_DELETE_ANY"]


def test_user_permissions_list_rows_and_scan_delete_any(wb, url) -> None:
    rows = wb.ok("users", "get_user_permissions_list", searched_username=USER)
    assert [r["code"] for r in rows] == ["SCAN_ACCESS", "SCAN_CREATE"]
    assert sorted(rows[0]) == ["code", "created", "description", "group", "id", "name", "role_id", "status", "updated"]
    assert (rows[0]["role_id"], rows[0]["status"]) == (1, None)
    configure(url, delete_any_users=[USER])
    try:
        codes = [r["code"] for r in wb.ok("users", "get_user_permissions_list", searched_username=USER)]
    finally:
        configure(url, delete_any_users=[])
    assert codes == ["SCAN_ACCESS", "SCAN_CREATE", "SCAN_DELETE_ANY"]


def test_user_permissions_list_of_an_unknown_user(wb) -> None:
    reply = wb.call("users", "get_user_permissions_list", searched_username="nobody@example.com")
    assert (reply["status"], reply["message"], reply["data"]) == ("0", "User not found", None)
