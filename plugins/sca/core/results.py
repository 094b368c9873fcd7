"""Typed, schema-versioned results: the input reference, each tool's run and result. No Airflow.

These cross task boundaries. XCom carries the small ones (``ArtefactRef``, ``InputRef``,
``ToolRun``); each tool's full result is written to the artefact store as JSON and read back
through ``ToolRun.result_uri``. ``from_dict`` refuses a schema it does not know.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from typing import Any, Self

RESULT_SCHEMA = 1


class SchemaError(ValueError):
    """A stored result carries a schema version this code does not read."""


def _check_schema(data: dict[str, Any], kind: str) -> None:
    found = data.get("schema")
    if found != f"{kind}/{RESULT_SCHEMA}":
        raise SchemaError(f"{kind}: expected schema {kind}/{RESULT_SCHEMA}, found {found!r}")


def _known(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in data.items() if k in names}


class Versioned:
    """``as_dict`` stamps ``schema: <KIND>/<version>``; ``from_dict`` checks it, keeps the known
    fields and lets ``_typed`` rebuild nested values."""

    KIND = ""

    def as_dict(self) -> dict[str, Any]:
        return {"schema": f"{self.KIND}/{RESULT_SCHEMA}", **asdict(self)}  # type: ignore[call-overload]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        _check_schema(data, cls.KIND)
        return cls(**cls._typed(_known(cls, data)))

    @classmethod
    def _typed(cls, values: dict[str, Any]) -> dict[str, Any]:
        if "outputs" in values:
            values["outputs"] = _outputs(values)
        return values


@dataclass(frozen=True)
class ArtefactRef:
    """A file in the artefact store: where it is and what it is, never a local path."""

    uri: str
    sha256: str
    size: int
    media_type: str = "application/octet-stream"
    name: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        return cls(**_known(cls, data))


@dataclass(frozen=True)
class InputRef(Versioned):
    """The fetched input: its bytes in the store (content-addressed) and how the user gave it."""

    KIND = "input"

    artefact: ArtefactRef
    filename: str
    kind: str  # url | purl | path
    source: str
    download_url: str | None = None
    purl: str | None = None
    resolved_by: str | None = None

    @property
    def sha256(self) -> str:
        return self.artefact.sha256

    @classmethod
    def _typed(cls, values: dict[str, Any]) -> dict[str, Any]:
        return values | {"artefact": ArtefactRef.from_dict(values["artefact"])}


class ToolStatus(StrEnum):
    SUCCESS = "success"
    ERROR = "error"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class ToolRun(Versioned):
    """One tool's part in one scan: what ran (or was reused), where its result is, or why not."""

    KIND = "tool-run"

    tool: str
    status: ToolStatus
    scan_key: str | None = None
    reason: str | None = None
    remote_id: str | None = None
    remote_name: str | None = None
    remote_url: str | None = None
    result_uri: str | None = None
    reused: bool = False
    reused_from: str | None = None  # when the reused scan finished (ISO 8601)
    duration_s: float | None = None
    attempts: int = 1

    def as_dict(self) -> dict[str, Any]:
        return super().as_dict() | {"status": self.status.value}

    @classmethod
    def _typed(cls, values: dict[str, Any]) -> dict[str, Any]:
        return values | {"status": ToolStatus(values["status"])}


def _outputs(data: dict[str, Any]) -> dict[str, ArtefactRef]:
    return {name: ArtefactRef.from_dict(ref) for name, ref in (data.get("outputs") or {}).items()}


@dataclass(frozen=True)
class FlaggedResource:
    path: str
    license: str | None
    alert: str


@dataclass(frozen=True)
class ScanCodeIOResult(Versioned):
    project_uuid: str
    project_name: str
    ui_url: str | None
    server_version: str | None
    pipelines: list[str]
    runs: list[dict[str, Any]]
    counts: dict[str, int | None]
    declared_license_expression: str | None
    license_clarity_score: int | None
    license_clarity_compliance: str | None
    other_license_expressions: list[Any]
    declared_holder: str | None
    primary_language: str | None
    fail_level: str
    compliance_alerts: dict[str, Any]
    flagged_resources: list[FlaggedResource]
    declared_purls: list[str]
    messages: list[dict[str, Any]]
    outputs: dict[str, ArtefactRef] = field(default_factory=dict)

    KIND = "scancodeio-result"

    @classmethod
    def _typed(cls, values: dict[str, Any]) -> dict[str, Any]:
        flagged = [FlaggedResource(**r) for r in values["flagged_resources"]]
        return super()._typed(values) | {"flagged_resources": flagged}


@dataclass(frozen=True)
class MatchedPackage:
    purl: str
    declared_license_expression: str | None
    download_url: str | None
    matched_files: int
    files: list[str]  # the first few, for the report; the warehouse holds them all


@dataclass(frozen=True)
class PurlDBResult(Versioned):
    matching_uuid: str
    scanned_files: int
    matched_files: int
    coverage: float
    packages: list[MatchedPackage]
    outputs: dict[str, ArtefactRef] = field(default_factory=dict)

    KIND = "purldb-result"

    @classmethod
    def _typed(cls, values: dict[str, Any]) -> dict[str, Any]:
        return super()._typed(values) | {"packages": [MatchedPackage(**p) for p in values["packages"]]}


@dataclass(frozen=True)
class FossIDResult(Versioned):
    scan_code: str
    project_code: str
    server_version: str | None
    policy_warnings_total: int
    policy_warnings: list[dict[str, Any]]
    pending_files: list[str]
    identified_licenses: list[str]
    dependencies: list[dict[str, Any]]
    files_scanned: int | None = None  # from check_status SCAN (total_files, or its comment); None: not said
    outputs: dict[str, ArtefactRef] = field(default_factory=dict)

    KIND = "fossid-result"


ToolResult = ScanCodeIOResult | PurlDBResult | FossIDResult
RESULT_TYPES: dict[str, type[ScanCodeIOResult] | type[PurlDBResult] | type[FossIDResult]] = {
    "scancodeio": ScanCodeIOResult,
    "purldb": PurlDBResult,
    "fossid": FossIDResult,
}


def result_from_dict(tool: str, data: dict[str, Any]) -> ToolResult:
    return RESULT_TYPES[tool].from_dict(data)
