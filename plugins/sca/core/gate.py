"""One verdict for one package from every tool's typed result. No Airflow.

Findings and their severity (error > warning > missing):
- ScanCode.io: each resource or package the server's compliance policies flag, at the policy's
  own severity (error/warning/missing); a low license-clarity score is a **warning**: it measures
  how well licensing is documented, not a licence violation. An error message of the server's
  own pipeline (e.g. "truncated gzip input") is a **warning**: the scan may have missed files.
- FossID: each policy warning is an **error** (a deny rule matched); files pending identification
  are one **warning**.
- PurlDB: each matched package that the scan did not declare (vendored or copied code) is a
  **warning**; coverage is reported.
The verdict is ``fail`` when a finding is at or above ``fail_level`` (ERROR: errors only;
WARNING: errors and warnings; MISSING: all), else ``incomplete`` when a tool that should have run
has no result (its reason is kept), else ``warn`` with findings below the level, else ``pass``.
``action="fail"`` fails the run on ``fail`` and ``incomplete``; ``action="warn"`` only reports.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from sca.core.results import RESULT_SCHEMA, FossIDResult, PurlDBResult, ScanCodeIOResult, ToolRun, ToolStatus

RANK = {"error": 3, "warning": 2, "missing": 1}
FAIL_LEVELS = {"ERROR": 3, "WARNING": 2, "MISSING": 1}
VERDICTS = ("pass", "warn", "fail", "incomplete")


@dataclass(frozen=True)
class Finding:
    source: str
    severity: str
    policy: str
    subject: str

    def line(self) -> str:
        return f"[{self.severity}] {self.source}: {self.policy} ({self.subject})"


@dataclass(frozen=True)
class MissingTool:
    tool: str
    reason: str


@dataclass
class Verdict:
    package: str
    status: str  # pass | warn | fail | incomplete
    fail_level: str
    action: str
    findings: list[Finding] = field(default_factory=list)
    missing: list[MissingTool] = field(default_factory=list)
    coverage: float | None = None

    @property
    def blocking(self) -> list[Finding]:
        threshold = FAIL_LEVELS[self.fail_level]
        return [f for f in self.findings if RANK.get(f.severity, 0) >= threshold]

    @property
    def fails_run(self) -> bool:
        return self.action == "fail" and self.status in ("fail", "incomplete")

    def message(self) -> str:
        head = f"Gate {self.status.upper()} for {self.package} at fail level {self.fail_level}"
        lines = [f"  missing {m.tool}: {m.reason}" for m in self.missing]
        shown = self.blocking or self.findings
        lines += [f"  {f.line()}" for f in shown[:20]]
        if len(shown) > 20:
            lines.append(f"  (+{len(shown) - 20} more)")
        if not lines:
            return f"{head}: no findings"
        return head + ":\n" + "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        return {
            "schema": f"verdict/{RESULT_SCHEMA}",
            "package": self.package,
            "status": self.status,
            "fail_level": self.fail_level,
            "action": self.action,
            "coverage": self.coverage,
            "message": self.message(),
            "missing": [asdict(m) for m in self.missing],
            "findings": [asdict(f) for f in self.findings],
            "blocking": [asdict(f) for f in self.blocking],
        }


def scancodeio_findings(result: ScanCodeIOResult, package: str = "") -> list[Finding]:
    findings = [
        Finding("ScanCode.io", item.alert, f"license policy: {item.license} is {item.alert}", item.path)
        for item in result.flagged_resources
    ]
    for severity, purls in (result.compliance_alerts.get("packages") or {}).items():
        for purl in purls:
            findings.append(Finding("ScanCode.io", severity, f"package license policy: {severity}", purl))
    if result.license_clarity_compliance in ("error", "warning"):
        findings.append(
            Finding(
                "ScanCode.io",
                "warning",
                f"license clarity {result.license_clarity_compliance} (score {result.license_clarity_score})",
                package,
            )
        )
    for message in result.messages:
        if (message.get("severity") or "").lower() == "error":
            findings.append(
                Finding(
                    "ScanCode.io",
                    "warning",
                    f"pipeline error: {(message.get('description') or '').strip()[:200]}",
                    message.get("path") or package,
                )
            )
    return findings


def fossid_findings(result: FossIDResult) -> list[Finding]:
    findings = [
        Finding(
            "FossID",
            "error",
            f"policy: {w.get('rule') or w.get('license_identifier')}",
            w.get("file_path") or w.get("scan_code") or "",
        )
        for w in result.policy_warnings
    ]
    if result.files_scanned == 0:
        findings.append(
            Finding(
                "FossID",
                "error",
                "FossID scanned 0 files: nothing was checked (an archive it could not open?)",
                result.scan_code,
            )
        )
    pending = result.pending_files
    if pending:
        findings.append(
            Finding(
                "FossID",
                "warning",
                f"{len(pending)} file(s) pending identification",
                ", ".join(pending[:5]) + (" …" if len(pending) > 5 else ""),
            )
        )
    return findings


def purldb_findings(result: PurlDBResult, declared_purls: set[str]) -> list[Finding]:
    def base(purl: str | None) -> str:
        return (purl or "").split("?", 1)[0]

    declared = {base(p) for p in declared_purls}
    findings = []
    for package in result.packages:
        if base(package.purl) in declared:
            continue
        files = package.files
        more = " …" if package.matched_files > len(files[:5]) else ""
        findings.append(
            Finding(
                "PurlDB",
                "warning",
                f"undeclared package {package.purl} "
                f"({package.declared_license_expression or 'license unknown'}) matched",
                ", ".join(files[:5]) + more,
            )
        )
    return findings


def evaluate(
    package: str,
    *,
    runs: Mapping[str, ToolRun],
    scancodeio: ScanCodeIOResult | None = None,
    fossid: FossIDResult | None = None,
    purldb: PurlDBResult | None = None,
    fail_level: str = "ERROR",
    action: str = "fail",
) -> Verdict:
    """``runs`` holds one ToolRun per tool that was asked for (skipped tools: status skipped)."""
    level = fail_level.upper()
    if level not in FAIL_LEVELS:
        raise ValueError(f"fail_level must be one of {sorted(FAIL_LEVELS)}, not {fail_level!r}")
    if action not in ("fail", "warn"):
        raise ValueError(f"action must be 'fail' or 'warn', not {action!r}")
    results = {"scancodeio": scancodeio, "fossid": fossid, "purldb": purldb}
    missing = [
        MissingTool(tool, run.reason or f"{tool} ended {run.status.value} without a reason")
        for tool, run in runs.items()
        if run.status is ToolStatus.ERROR
    ]
    missing += [
        MissingTool(tool, f"{tool} succeeded but its result could not be read")
        for tool, run in runs.items()
        if run.status is ToolStatus.SUCCESS and results.get(tool) is None
    ]
    findings: list[Finding] = []
    declared: set[str] = set()
    if scancodeio:
        findings += scancodeio_findings(scancodeio, package)
        declared = set(scancodeio.declared_purls)
    if fossid:
        findings += fossid_findings(fossid)
    if purldb:
        findings += purldb_findings(purldb, declared)
    verdict = Verdict(package, "pass", level, action, findings, missing, purldb.coverage if purldb else None)
    if verdict.blocking:
        verdict.status = "fail"
    elif missing:
        verdict.status = "incomplete"
    else:
        verdict.status = "warn" if findings else "pass"
    return verdict
