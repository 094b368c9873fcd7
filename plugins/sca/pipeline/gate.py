"""One verdict for one package from every tool's summary.

Findings and their severity (error > warning > missing):
- ScanCode.io: each resource or package the server's compliance policies flag, at the policy's
  own severity (error/warning/missing); a low license-clarity score is a **warning** — it measures
  how well licensing is documented, not a licence violation.
- FossID: each policy warning is an **error** (a deny rule matched); files pending identification
  are one **warning**.
- PurlDB: each matched package that the scan did not declare (vendored or copied code) is a
  **warning**; coverage is reported.
The run fails when a finding is at or above ``fail_level`` (ERROR: errors only; WARNING: errors
and warnings; MISSING: all); ``action="warn"`` reports the same verdict without failing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

RANK = {"error": 3, "warning": 2, "missing": 1}
FAIL_LEVELS = {"ERROR": 3, "WARNING": 2, "MISSING": 1}


@dataclass(frozen=True)
class Finding:
    source: str
    severity: str
    policy: str
    subject: str

    def line(self) -> str:
        return f"[{self.severity}] {self.source}: {self.policy} ({self.subject})"


@dataclass
class Verdict:
    package: str
    status: str  # pass | warn | fail
    fail_level: str
    action: str
    findings: list[Finding] = field(default_factory=list)
    coverage: float | None = None

    @property
    def blocking(self) -> list[Finding]:
        threshold = FAIL_LEVELS[self.fail_level]
        return [f for f in self.findings if RANK.get(f.severity, 0) >= threshold]

    def message(self) -> str:
        head = f"Gate {self.status.upper()} for {self.package} at fail level {self.fail_level}"
        shown = self.blocking or self.findings
        if not shown:
            return f"{head}: no findings"
        more = f" (+{len(shown) - 20} more)" if len(shown) > 20 else ""
        return head + ":\n" + "\n".join(f"  {f.line()}" for f in shown[:20]) + more

    def as_dict(self) -> dict[str, Any]:
        return {
            "package": self.package,
            "status": self.status,
            "fail_level": self.fail_level,
            "action": self.action,
            "coverage": self.coverage,
            "message": self.message(),
            "findings": [asdict(f) for f in self.findings],
            "blocking": [asdict(f) for f in self.blocking],
        }


def scancodeio_findings(summary: dict[str, Any], package: str = "") -> list[Finding]:
    findings = []
    for item in summary.get("flagged_resources") or []:
        findings.append(
            Finding("ScanCode.io", item["alert"], f"license policy: {item['license']} is {item['alert']}", item["path"])
        )
    for severity, purls in ((summary.get("compliance_alerts") or {}).get("packages") or {}).items():
        for purl in purls:
            findings.append(Finding("ScanCode.io", severity, f"package license policy: {severity}", purl))
    clarity = summary.get("license_clarity_compliance")
    if clarity in ("error", "warning"):
        findings.append(
            Finding(
                "ScanCode.io",
                "warning",
                f"license clarity {clarity} (score {summary.get('license_clarity_score')})",
                package,
            )
        )
    return findings


def fossid_findings(summary: dict[str, Any]) -> list[Finding]:
    findings = [
        Finding(
            "FossID",
            "error",
            f"policy: {w.get('rule') or w.get('license_identifier')}",
            w.get("file_path") or w.get("scan_code") or "",
        )
        for w in summary.get("policy_warnings") or []
    ]
    pending = summary.get("pending_files") or []
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


def purldb_findings(matches: dict[str, Any], declared_purls: set[str]) -> list[Finding]:
    def base(purl: str | None) -> str:
        return (purl or "").split("?", 1)[0]

    declared = {base(p) for p in declared_purls}
    findings = []
    for package in matches.get("packages") or []:
        if base(package.get("purl")) in declared:
            continue
        files = package.get("files") or []
        findings.append(
            Finding(
                "PurlDB",
                "warning",
                f"undeclared package {package.get('purl')} "
                f"({package.get('declared_license_expression') or 'license unknown'}) matched",
                ", ".join(files[:5]) + (" …" if len(files) > 5 else ""),
            )
        )
    return findings


def evaluate(
    package: str,
    *,
    scancodeio: dict[str, Any] | None,
    fossid: dict[str, Any] | None,
    purldb: dict[str, Any] | None,
    fail_level: str = "ERROR",
    action: str = "fail",
) -> Verdict:
    level = fail_level.upper()
    if level not in FAIL_LEVELS:
        raise ValueError(f"fail_level must be one of {sorted(FAIL_LEVELS)}, not {fail_level!r}")
    if action not in ("fail", "warn"):
        raise ValueError(f"action must be 'fail' or 'warn', not {action!r}")
    findings: list[Finding] = []
    declared: set[str] = set()
    if scancodeio:
        findings += scancodeio_findings(scancodeio, package)
        declared = set(scancodeio.get("declared_purls") or [])
    if fossid:
        findings += fossid_findings(fossid)
    if purldb:
        findings += purldb_findings(purldb, declared)
    verdict = Verdict(package, "pass", level, action, findings, purldb.get("coverage") if purldb else None)
    verdict.status = "fail" if verdict.blocking else ("warn" if findings else "pass")
    return verdict
