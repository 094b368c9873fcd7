"""The plain summaries ``message.build_message`` takes, from what the DAGs record: sca_scan's
report XCom and its ``summary.json``; the portfolio's warehouse rows and ``publish``'s XCom.
No Airflow, no I/O: the glue reads, these functions choose.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

GATE_FAILS_RUN = "the gate action is fail, so this verdict fails the run"
SEVERITY_RANK = {"error": 3, "warning": 2, "missing": 1}
FAIL_LEVEL_RANK = {"ERROR": 3, "WARNING": 2, "MISSING": 1}
SOURCE_TITLES = {"scancodeio": "ScanCode.io", "purldb": "PurlDB", "fossid": "FossID"}


def _finding(row: Mapping[str, Any], item: str | None = None) -> dict[str, Any]:
    found = {
        "severity": row.get("severity"),
        "source": SOURCE_TITLES.get(str(row.get("source") or row.get("tool")), row.get("source") or row.get("tool")),
        "policy": row.get("policy"),
        "subject": row.get("subject") or "",
    }
    return {**found, "item": item} if item else found


def scan_summary(
    *,
    dag_id: str,
    run_id: str,
    report: Mapping[str, Any] | None,
    scan_report: Mapping[str, Any] | None,
    report_link: str | None,
    run_url: str | None,
    run_failed: bool = False,
    reason: str | None = None,
    failed_tasks: Sequence[str] = (),
) -> dict[str, Any]:
    """One package: ``report`` is the unit's ``report`` XCom (None: the report task did not
    finish), ``scan_report`` its ``summary.json`` (None: not readable). The findings are the
    blocking ones (what made a FAIL), else all (a WARN); the missing results say why a verdict
    is INCOMPLETE."""
    verdict: Mapping[str, Any] = (scan_report or {}).get("verdict") or {}
    fails_run = bool((report or {}).get("fails_run"))
    missing = verdict.get("missing")
    if missing is None:
        missing = [{"tool": tool, "reason": "see the report"} for tool in (report or {}).get("missing") or []]
    return {
        "dag_id": dag_id,
        "run_id": run_id,
        "kind": "package",
        "name": (report or {}).get("package") or verdict.get("package"),
        "verdict": (report or {}).get("verdict") or verdict.get("status"),
        "run_failed": run_failed or fails_run,
        "reason": GATE_FAILS_RUN if fails_run else reason,
        "failed_tasks": list(failed_tasks),
        "findings": [_finding(f) for f in verdict.get("blocking") or verdict.get("findings") or []],
        "missing": [{"tool": m.get("tool"), "reason": m.get("reason")} for m in missing],
        "counts": {},
        "report": report_link,
        "run_url": run_url,
    }


def item_verdict(row: Mapping[str, Any]) -> str:
    """An item left without a verdict (its report task did not finish) counts as incomplete."""
    return str(row.get("verdict") or "incomplete")


def portfolio_verdict(counts: Mapping[str, int]) -> str | None:
    for verdict in ("fail", "incomplete", "warn", "pass"):
        if counts.get(verdict):
            return verdict
    return None


def _round_robin(groups: Sequence[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Each group's first entry, then each one's second, …: a short list names every item."""
    ordered: list[dict[str, Any]] = []
    for depth in range(max((len(g) for g in groups), default=0)):
        ordered += [g[depth] for g in groups if depth < len(g)]
    return ordered


def portfolio_summary(
    *,
    dag_id: str,
    run_id: str,
    name: str | None,
    items: Sequence[Mapping[str, Any]],
    findings: Sequence[Mapping[str, Any]],
    failures: Sequence[Mapping[str, Any]],
    fail_level: str,
    report_link: str | None,
    run_url: str | None,
    run_failed: bool = False,
    reason: str | None = None,
    failed_tasks: Sequence[str] = (),
) -> dict[str, Any]:
    """A night: ``items``, ``findings`` and ``failures`` are the warehouse's rows for the run
    (``sca.store.portfolio``). The findings are those at or above ``fail_level`` of the items
    judged FAIL, one per item before a second of any; the missing results are the failures of
    the items judged INCOMPLETE or left without a verdict."""
    counts: dict[str, int] = {}
    for row in items:
        counts[item_verdict(row)] = counts.get(item_verdict(row), 0) + 1
    failing = [str(row["item_id"]) for row in items if item_verdict(row) == "fail"]
    incomplete = {str(row["item_id"]) for row in items if item_verdict(row) == "incomplete"}
    threshold = FAIL_LEVEL_RANK.get(fail_level.upper(), FAIL_LEVEL_RANK["ERROR"])
    blocking: dict[str, list[dict[str, Any]]] = {item: [] for item in failing}
    for row in findings:
        item = str(row["item_id"])
        if item in blocking and SEVERITY_RANK.get(str(row.get("severity")), 0) >= threshold:
            blocking[item].append(_finding(row, item))
    return {
        "dag_id": dag_id,
        "run_id": run_id,
        "kind": "portfolio",
        "name": name or run_id,
        "verdict": portfolio_verdict(counts),
        "run_failed": run_failed,
        "reason": reason,
        "failed_tasks": list(failed_tasks),
        "findings": _round_robin([blocking[item] for item in failing]),
        "missing": [
            {"item": str(row["item_id"]), "tool": row.get("stage"), "reason": row.get("reason")}
            for row in failures
            if str(row["item_id"]) in incomplete
        ],
        "counts": {v: counts[v] for v in ("fail", "incomplete", "warn", "pass") if v in counts},
        "report": report_link,
        "run_url": run_url,
    }
