"""The gate: findings from each tool, severities against the fail level, the verdict's message."""

from __future__ import annotations

import pytest

from sca.pipeline.gate import evaluate

SCIO = {
    "project": {"name": "p"},
    "declared_purls": ["pkg:pypi/acme-widget@1.0"],
    "flagged_resources": [{"path": "acme/contrib/legacy_parser.c", "license": "gpl-2.0", "alert": "error"}],
    "compliance_alerts": {},
    "license_clarity_compliance": "error",
    "license_clarity_score": 0,
}
FOSSID = {
    "policy_warnings": [
        {"rule": "License GPL-2.0-only is not allowed (deny)", "file_path": "acme/contrib/legacy_parser.c"}
    ],
    "pending_files": ["acme/_vendor/six.py"],
}
PURLDB = {
    "coverage": 0.2,
    "packages": [
        {"purl": "pkg:pypi/six@1.16.0", "declared_license_expression": "mit", "files": ["acme/_vendor/six.py"]}
    ],
}


def test_errors_fail_at_error_level_and_name_package_and_policy() -> None:
    verdict = evaluate("acme-widget-1.0.tar.gz", scancodeio=SCIO, fossid=FOSSID, purldb=PURLDB)
    assert verdict.status == "fail"
    message = verdict.message()
    assert "acme-widget-1.0.tar.gz" in message
    assert "gpl-2.0 is error" in message and "GPL-2.0-only is not allowed" in message
    assert {f.source for f in verdict.findings} == {"ScanCode.io", "FossID", "PurlDB"}


def test_warnings_only_warn_at_error_level_and_fail_at_warning_level() -> None:
    clean = {**SCIO, "flagged_resources": []}
    quiet_fossid = {"policy_warnings": [], "pending_files": ["x"]}
    assert evaluate("pkg", scancodeio=clean, fossid=quiet_fossid, purldb=PURLDB).status == "warn"
    assert evaluate("pkg", scancodeio=clean, fossid=quiet_fossid, purldb=PURLDB, fail_level="WARNING").status == "fail"


def test_declared_packages_are_not_findings_and_skipped_tools_are_fine() -> None:
    own = {"coverage": 1.0, "packages": [{"purl": "pkg:pypi/acme-widget@1.0", "files": ["a"]}]}
    clean = {**SCIO, "flagged_resources": [], "license_clarity_compliance": "ok"}
    verdict = evaluate("pkg", scancodeio=clean, fossid=None, purldb=own)
    assert verdict.status == "pass" and verdict.coverage == 1.0 and "no findings" in verdict.message()


def test_bad_levels_are_refused() -> None:
    with pytest.raises(ValueError, match="fail_level"):
        evaluate("p", scancodeio=None, fossid=None, purldb=None, fail_level="SEVERE")
    with pytest.raises(ValueError, match="action"):
        evaluate("p", scancodeio=None, fossid=None, purldb=None, action="ignore")
