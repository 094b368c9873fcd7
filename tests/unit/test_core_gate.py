"""The gate over typed results: findings, severities against the fail level, incomplete scans."""

from __future__ import annotations

from dataclasses import replace

import pytest

from sca.core.gate import evaluate
from sca.core.results import FlaggedResource, FossIDResult, MatchedPackage, PurlDBResult, ToolRun, ToolStatus
from tests.unit.test_results import scio_result

SCIO = replace(
    scio_result(),
    declared_purls=["pkg:pypi/acme-widget@1.0"],
    flagged_resources=[FlaggedResource("acme/contrib/legacy_parser.c", "gpl-2.0", "error")],
    license_clarity_compliance="error",
    license_clarity_score=0,
)
FOSSID = FossIDResult(
    scan_code="s",
    project_code="p",
    server_version="25.1.0",
    policy_warnings_total=1,
    policy_warnings=[
        {"rule": "License GPL-2.0-only is not allowed (deny)", "file_path": "acme/contrib/legacy_parser.c"}
    ],
    pending_files=["acme/_vendor/six.py"],
    identified_licenses=["GPL-2.0-only"],
    dependencies=[],
)
PURLDB = PurlDBResult(
    matching_uuid="m",
    scanned_files=5,
    matched_files=1,
    coverage=0.2,
    packages=[MatchedPackage("pkg:pypi/six@1.16.0", "mit", None, 1, ["acme/_vendor/six.py"])],
)
ALL_RAN = {tool: ToolRun(tool, ToolStatus.SUCCESS) for tool in ("scancodeio", "purldb", "fossid")}


def test_errors_fail_at_error_level_and_name_package_and_policy() -> None:
    verdict = evaluate("acme-widget-1.0.tar.gz", runs=ALL_RAN, scancodeio=SCIO, fossid=FOSSID, purldb=PURLDB)
    assert verdict.status == "fail" and verdict.fails_run
    message = verdict.message()
    assert "acme-widget-1.0.tar.gz" in message
    assert "gpl-2.0 is error" in message and "GPL-2.0-only is not allowed" in message
    assert {f.source for f in verdict.findings} == {"ScanCode.io", "FossID", "PurlDB"}


def test_warnings_only_warn_at_error_level_and_fail_at_warning_level() -> None:
    clean = replace(SCIO, flagged_resources=[])
    quiet = replace(FOSSID, policy_warnings=[], pending_files=["x"])
    args = {"runs": ALL_RAN, "scancodeio": clean, "fossid": quiet, "purldb": PURLDB}
    assert evaluate("pkg", **args).status == "warn"
    assert evaluate("pkg", fail_level="WARNING", **args).status == "fail"


def test_declared_packages_are_not_findings_and_skipped_tools_are_fine() -> None:
    own = replace(PURLDB, coverage=1.0, packages=[MatchedPackage("pkg:pypi/acme-widget@1.0", None, None, 1, ["a"])])
    clean = replace(SCIO, flagged_resources=[], license_clarity_compliance="ok")
    runs = {**ALL_RAN, "fossid": ToolRun("fossid", ToolStatus.SKIPPED, reason="switched off")}
    verdict = evaluate("pkg", runs=runs, scancodeio=clean, purldb=own)
    assert verdict.status == "pass" and verdict.coverage == 1.0 and "no findings" in verdict.message()


def test_an_errored_tool_makes_the_verdict_incomplete_with_its_reason() -> None:
    clean = replace(SCIO, flagged_resources=[], license_clarity_compliance="ok")
    runs = {**ALL_RAN, "fossid": ToolRun("fossid", ToolStatus.ERROR, reason="FossID SCAN ended FAILED: out of memory")}
    verdict = evaluate("pkg", runs=runs, scancodeio=clean, purldb=None, action="fail")
    assert verdict.status == "incomplete" and verdict.fails_run
    assert [(m.tool, m.reason) for m in verdict.missing] == [
        ("fossid", "FossID SCAN ended FAILED: out of memory"),
        ("purldb", "purldb succeeded but its result could not be read"),
    ]
    assert "missing fossid: FossID SCAN ended FAILED: out of memory" in verdict.message()
    assert not evaluate("pkg", runs=runs, scancodeio=clean, action="warn").fails_run
    blocking = evaluate("pkg", runs=runs, scancodeio=SCIO, action="fail")
    assert blocking.status == "fail", "a blocking finding outranks a missing tool"


def test_a_pipeline_error_message_is_a_warning() -> None:
    broken = replace(
        SCIO,
        flagged_resources=[],
        license_clarity_compliance="ok",
        messages=[{"severity": "ERROR", "description": "truncated gzip input", "path": "x.tar.gz"}],
    )
    verdict = evaluate("x.tar.gz", runs={"scancodeio": ALL_RAN["scancodeio"]}, scancodeio=broken)
    assert verdict.status == "warn"
    assert [f.policy for f in verdict.findings] == ["pipeline error: truncated gzip input"]


def test_bad_levels_are_refused() -> None:
    with pytest.raises(ValueError, match="fail_level"):
        evaluate("p", runs={}, fail_level="SEVERE")
    with pytest.raises(ValueError, match="action"):
        evaluate("p", runs={}, action="ignore")


def test_a_fossid_scan_of_zero_files_is_a_finding_not_a_pass() -> None:
    from sca.core.gate import fossid_findings
    from sca.core.results import FossIDResult

    def result(files: int | None) -> FossIDResult:
        return FossIDResult("scan-1", "proj", "26.1.0", 0, [], [], [], [], files_scanned=files)

    assert [(f.severity, f.policy) for f in fossid_findings(result(0))] == [
        ("error", "FossID scanned 0 files: nothing was checked (an archive it could not open?)")
    ]
    assert fossid_findings(result(12)) == []
    assert fossid_findings(result(None)) == []


def test_files_scanned_is_read_from_either_status_shape() -> None:
    from sca.fossid.status import parse_check_status
    from sca.tasks.fossid_unit import files_scanned

    new = parse_check_status({"status": "FINISHED", "is_finished": True, "total_files": 3})
    old = parse_check_status(
        {"status": "FINISHED", "is_finished": "1", "comment": "Scan finished. 40 files scanned. 32 files ignored."}
    )
    neither = parse_check_status({"status": "FINISHED", "is_finished": True, "total_files": None})
    assert (files_scanned(new), files_scanned(old), files_scanned(neither)) == (3, 40, None)
