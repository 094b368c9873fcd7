"""A notification's content (email subject, text and html bodies, Slack blocks) from a plain
summary of a run. No Airflow.

The summary (JSON-native):
    dag_id, run_id       the DAG run
    kind                 "package" (sca_scan) or "portfolio" (sca_portfolio)
    name                 the package's file name or the portfolio's name
    verdict              "pass" | "warn" | "fail" | "incomplete" | None (no verdict was reached)
    run_failed           the run failed (its on_failure_callback)
    reason               why the run failed, in words (optional)
    failed_tasks         the failed tasks' ids (optional)
    findings             [{severity, source, policy, subject, item?}]: what made the verdict
    missing              [{tool, reason, item?}]: results that are missing, and why
    counts               {verdict: items} (a portfolio)
    report               where the report is (a URI or URL), or None
    run_url              the run in the Airflow UI, or None

Everything is text from the run's records, never a template: nothing in it is rendered. Every
string is cleaned of URL credentials and query strings and of the ``secrets`` given.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

EVENTS = ("failed", "fail", "incomplete", "warn", "pass")
SEVERITY_ORDER = {"error": 0, "warning": 1, "missing": 2}
SLACK_SECTION_LIMIT = 3000
SLACK_HEADER_LIMIT = 150
MIN_SECRET_LENGTH = 4
_USERINFO = re.compile(r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)[^/\s@]+@")
_QUERY = re.compile(r"(?P<url>\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s?#]*)\?[^\s#]*")


@dataclass(frozen=True)
class Message:
    event: str
    subject: str
    text: str
    html: str
    blocks: list[dict[str, Any]]


def event_of(summary: Mapping[str, Any], events: Iterable[str] = EVENTS) -> str | None:
    """What a summary is news of, among ``events``: a FAIL or INCOMPLETE verdict first (the more
    telling, also on a failed run), then ``failed`` (the run failed), then a WARN or PASS
    verdict; ``None`` when it is news of none of them."""
    wanted = set(events)
    verdict = summary.get("verdict")
    candidates = [verdict] if verdict in ("fail", "incomplete") else []
    candidates += ["failed"] if summary.get("run_failed") else []
    candidates += [verdict] if verdict in ("warn", "pass") else []
    return next((str(event) for event in candidates if event in wanted), None)


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` without URL credentials, URL query strings and any of ``secrets``."""
    cleaned = _USERINFO.sub(r"\g<scheme>", text)
    cleaned = _QUERY.sub(r"\g<url>?…", cleaned)
    for secret in sorted({s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH}, key=len, reverse=True):
        cleaned = cleaned.replace(secret, "***")
    return cleaned


def scrubbed(value: Any, secrets: Sequence[str]) -> Any:
    """A JSON-native value with every string scrubbed."""
    if isinstance(value, str):
        return scrub(value, secrets)
    if isinstance(value, Mapping):
        return {key: scrubbed(item, secrets) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [scrubbed(item, secrets) for item in value]
    return value


def top_findings(findings: Sequence[Mapping[str, Any]], limit: int) -> list[Mapping[str, Any]]:
    """The ``limit`` most severe findings, in their order within a severity."""
    ranked = sorted(findings, key=lambda f: SEVERITY_ORDER.get(str(f.get("severity")), len(SEVERITY_ORDER)))
    return ranked[: max(limit, 0)]


def finding_line(finding: Mapping[str, Any]) -> str:
    item = f"{finding['item']}: " if finding.get("item") else ""
    subject = f" ({finding['subject']})" if finding.get("subject") else ""
    return f"{item}[{finding.get('severity')}] {finding.get('source')}: {finding.get('policy')}{subject}"


def missing_line(missing: Mapping[str, Any]) -> str:
    item = f"{missing['item']}: " if missing.get("item") else ""
    return f"{item}{missing.get('tool')}: {missing.get('reason')}"


def subject_line(summary: Mapping[str, Any], event: str) -> str:
    what = f"portfolio {summary['name']}" if summary.get("kind") == "portfolio" else str(summary.get("name") or "")
    what = what or str(summary.get("run_id"))
    counts = summary.get("counts") or {}
    tail = ""
    if summary.get("kind") == "portfolio" and event in ("fail", "incomplete") and counts:
        tail = f": {counts.get(event, 0)} of {sum(counts.values())} items {event}"
    if event == "failed":
        return f"[SCA] run failed: {what} ({summary.get('dag_id')})"
    failed = " (run failed)" if summary.get("run_failed") else ""
    return f"[SCA] {event.upper()} {what} ({summary.get('dag_id')}){tail}{failed}"


def _facts(summary: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The message's labelled lines, in order."""
    verdict = summary.get("verdict")
    facts = [("Verdict", verdict.upper() if verdict else "none (the run ended before its report)")]
    facts.append(("Portfolio" if summary.get("kind") == "portfolio" else "Package", str(summary.get("name") or "?")))
    counts = summary.get("counts") or {}
    if counts:
        shown = ", ".join(f"{n} {v}" for v, n in counts.items() if n)
        facts.append(("Items", f"{sum(counts.values())} ({shown})"))
    facts.append(("DAG run", f"{summary.get('dag_id')} / {summary.get('run_id')}"))
    if summary.get("run_failed"):
        facts.append(("Run", "failed" + (f": {summary['reason']}" if summary.get("reason") else "")))
    if summary.get("failed_tasks"):
        facts.append(("Failed tasks", ", ".join(summary["failed_tasks"])))
    return facts


def _links(summary: Mapping[str, Any]) -> list[tuple[str, str]]:
    links = [("Report", str(summary.get("report") or "not published"))]
    if summary.get("run_url"):
        links.append(("Airflow", str(summary["run_url"])))
    return links


def _lists(summary: Mapping[str, Any], max_findings: int) -> list[tuple[str, list[str]]]:
    """Titled lists: the top findings, then the missing results (each at most ``max_findings``)."""
    findings = list(summary.get("findings") or [])
    missing = list(summary.get("missing") or [])
    lists = []
    if findings:
        shown = top_findings(findings, max_findings)
        title = f"Top findings ({len(shown)} of {len(findings)})" if len(shown) < len(findings) else "Findings"
        lists.append((title, [finding_line(f) for f in shown]))
    if missing:
        title = "Missing results" + (f" ({max_findings} of {len(missing)})" if len(missing) > max_findings else "")
        lists.append((title, [missing_line(m) for m in missing[:max_findings]]))
    return lists


def render_text(summary: Mapping[str, Any], max_findings: int) -> str:
    lines = [f"{label}: {value}" for label, value in _facts(summary)]
    for title, items in _lists(summary, max_findings):
        lines += ["", f"{title}:", *(f"- {item}" for item in items)]
    lines += ["", *(f"{label}: {value}" for label, value in _links(summary))]
    return "\n".join(lines) + "\n"


def render_html(summary: Mapping[str, Any], subject: str, max_findings: int) -> str:
    esc = html.escape
    rows = "".join(f"<tr><th align='left'>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in _facts(summary))
    parts = [f"<h3>{esc(subject)}</h3>", f"<table>{rows}</table>"]
    for title, items in _lists(summary, max_findings):
        parts.append(f"<p><b>{esc(title)}</b></p><ul>" + "".join(f"<li>{esc(i)}</li>" for i in items) + "</ul>")
    for label, value in _links(summary):
        target = f"<a href='{esc(value)}'>{esc(value)}</a>" if "://" in value else esc(value)
        parts.append(f"<p><b>{esc(label)}:</b> {target}</p>")
    return "<html><body>" + "".join(parts) + "</body></html>"


def slack_escape(text: str) -> str:
    """Slack's mrkdwn control characters as its documented entities."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _section(text: str) -> dict[str, Any]:
    if len(text) > SLACK_SECTION_LIMIT:
        text = text[: SLACK_SECTION_LIMIT - 1] + "…"
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def render_blocks(summary: Mapping[str, Any], subject: str, max_findings: int) -> list[dict[str, Any]]:
    header = subject if len(subject) <= SLACK_HEADER_LIMIT else subject[: SLACK_HEADER_LIMIT - 1] + "…"
    blocks: list[dict[str, Any]] = [{"type": "header", "text": {"type": "plain_text", "text": header}}]
    blocks.append(_section("\n".join(f"*{k}:* {slack_escape(v)}" for k, v in _facts(summary))))
    for title, items in _lists(summary, max_findings):
        blocks.append(_section(f"*{title}*\n" + "\n".join(f"• {slack_escape(i)}" for i in items)))
    blocks.append(_section("\n".join(f"*{k}:* {slack_escape(v)}" for k, v in _links(summary))))
    return blocks


def build_message(
    summary: Mapping[str, Any], events: Iterable[str] = EVENTS, max_findings: int = 5, secrets: Sequence[str] = ()
) -> Message | None:
    """The notification for ``summary``, or ``None`` when it is news of none of ``events``."""
    event = event_of(summary, events)
    if event is None:
        return None
    clean: Mapping[str, Any] = scrubbed(summary, secrets)
    subject = subject_line(clean, event)
    return Message(
        event=event,
        subject=subject,
        text=render_text(clean, max_findings),
        html=render_html(clean, subject, max_findings),
        blocks=render_blocks(clean, subject, max_findings),
    )
