"""Compliance alerts from a ScanCode.io policies file (``license_policies`` and
``license_clarity_thresholds``), as scanpipe/pipes/compliance.py and policies.py read them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

SEVERITIES = ("error", "warning", "missing")  # highest first; ok is never an alert


class Policies:
    def __init__(self, license_alerts: dict[str, str] | None = None, clarity: dict[int, str] | None = None) -> None:
        self.license_alerts = license_alerts or {}
        self.clarity = clarity or {}

    @classmethod
    def load(cls, path: Path | None) -> Policies:
        if path is None:
            return cls()
        import yaml

        data = yaml.safe_load(path.read_text()) or {}
        rows = data.get("license_policies") or []
        alerts = {str(p["license_key"]): str(p.get("compliance_alert") or "") for p in rows}
        clarity = {int(k): str(v) for k, v in (data.get("license_clarity_thresholds") or {}).items()}
        return cls(alerts, clarity)

    def alert_for(self, expression: str) -> str:
        """The worst alert among the license keys of an expression ("" when none applies)."""
        words = expression.replace("(", " ").replace(")", " ").split()
        keys = [k for k in words if k.lower() not in ("and", "or", "with")]
        found = [self.license_alerts.get(k, "") for k in keys]
        return next((s for s in SEVERITIES if s in found), "")

    def project_alerts(
        self, packages: list[dict[str, Any]], resources: list[dict[str, Any]], fail_level: str
    ) -> dict[str, Any]:
        """get_project_compliance_alerts (compliance.py:94-131): alerts at ``fail_level`` or above."""
        levels = SEVERITIES[: SEVERITIES.index(fail_level) + 1]
        groups: dict[str, dict[str, list[str]]] = {}
        sources = {
            "packages": [(p["purl"], self.alert_for(p["declared_license_expression"])) for p in packages],
            "resources": [(r["path"], self.alert_for(r["detected_license_expression"])) for r in resources],
        }
        for model, rows in sources.items():
            grouped = {level: sorted(name for name, alert in rows if alert == level) for level in levels}
            grouped = {level: names for level, names in grouped.items() if names}
            if grouped:
                groups[model] = grouped
        return groups

    def clarity_alert(self, score: int | None) -> str | None:
        """ClarityThresholdsPolicy.get_alert_for_score: the alert of the highest threshold ≤ score."""
        if score is None or not self.clarity:
            return None
        eligible = [t for t in self.clarity if t <= score]
        return self.clarity[max(eligible)] if eligible else "error"
