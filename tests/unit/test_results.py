"""Typed results round-trip through JSON and refuse a schema they do not know."""

from __future__ import annotations

import json

import pytest

from sca.core.results import (
    ArtefactRef,
    FlaggedResource,
    InputRef,
    ScanCodeIOResult,
    SchemaError,
    ToolRun,
    ToolStatus,
    result_from_dict,
)

REF = ArtefactRef("file:///store/inputs/sha256/ab/abcd", "ab" * 32, 42, "application/gzip", "x.tar.gz")


def scio_result() -> ScanCodeIOResult:
    return ScanCodeIOResult(
        project_uuid="u",
        project_name="x-abcdefabcdef-12345678",
        ui_url=None,
        server_version="38.2.0",
        pipelines=["scan_single_package"],
        runs=[],
        counts={"resource": 3},
        declared_license_expression="mit",
        license_clarity_score=90,
        license_clarity_compliance="ok",
        other_license_expressions=[],
        declared_holder=None,
        primary_language="Python",
        fail_level="ERROR",
        compliance_alerts={},
        flagged_resources=[FlaggedResource("a.c", "gpl-2.0", "error")],
        declared_purls=["pkg:pypi/x@1"],
        messages=[],
        outputs={"json": REF},
    )


def test_round_trips_through_json() -> None:
    fetched = InputRef(REF, "x.tar.gz", "url", "http://127.0.0.1/x.tar.gz", "http://127.0.0.1/x.tar.gz")
    assert InputRef.from_dict(json.loads(json.dumps(fetched.as_dict()))) == fetched
    run = ToolRun("fossid", ToolStatus.ERROR, reason="FossID SCAN ended FAILED: out of memory")
    assert ToolRun.from_dict(json.loads(json.dumps(run.as_dict()))) == run
    result = scio_result()
    assert result_from_dict("scancodeio", json.loads(json.dumps(result.as_dict()))) == result


def test_an_unknown_schema_is_refused() -> None:
    data = scio_result().as_dict()
    data["schema"] = "scancodeio-result/99"
    with pytest.raises(SchemaError, match="scancodeio-result/99"):
        ScanCodeIOResult.from_dict(data)
    with pytest.raises(SchemaError):
        ToolRun.from_dict({"tool": "x", "status": "success"})
