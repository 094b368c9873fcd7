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
