"""The notification content and settings: pure functions over plain dicts."""

from __future__ import annotations

from typing import Any

import pytest

from sca.notify.message import build_message, event_of, scrub, top_findings
from sca.notify.settings import DEFAULT_EVENTS, public_link, resolve_settings
from sca.notify.summaries import portfolio_summary, scan_summary

REPORT_URI = "file:///srv/artefacts/reports/sca_scan/manual__1/scan/summary.html"
RUN_URL = "http://127.0.0.1:8080/dags/sca_scan/runs/manual__1"


def acme_report() -> dict[str, Any]:
    return {
        "scan_id": "s1",
        "package": "acme-widget-1.0.tar.gz",
        "verdict": "fail",
        "fails_run": True,
        "missing": [],
        "reports": {"summary.html": REPORT_URI},
    }


def acme_summary_json() -> dict[str, Any]:
    blocking = [
        {"source": "FossID", "severity": "error", "policy": "policy: GPL-2.0-only", "subject": "contrib/p.c"},
        {
            "source": "ScanCode.io",
            "severity": "error",
            "policy": "license policy: gpl-2.0 is error",
            "subject": "acme-widget-1.0/contrib/legacy_parser.c",
        },
    ]
    warning = {"source": "PurlDB", "severity": "warning", "policy": "undeclared package", "subject": "six.py"}
    return {"verdict": {"status": "fail", "blocking": blocking, "findings": [*blocking, warning], "missing": []}}


def acme() -> dict[str, Any]:
    return scan_summary(
        dag_id="sca_scan",
        run_id="manual__1",
        report=acme_report(),
        scan_report=acme_summary_json(),
        report_link=REPORT_URI,
        run_url=RUN_URL,
    )


def test_a_failing_scan_is_told_with_its_blocking_findings_and_report() -> None:
    message = build_message(acme(), DEFAULT_EVENTS, max_findings=5)
    assert message is not None and message.event == "fail"
    assert message.subject == "[SCA] FAIL acme-widget-1.0.tar.gz (sca_scan) (run failed)"
    assert message.text == (
        "Verdict: FAIL\n"
        "Package: acme-widget-1.0.tar.gz\n"
        "DAG run: sca_scan / manual__1\n"
        "Run: failed: the gate action is fail, so this verdict fails the run\n"
        "\n"
        "Findings:\n"
        "- [error] FossID: policy: GPL-2.0-only (contrib/p.c)\n"
        "- [error] ScanCode.io: license policy: gpl-2.0 is error (acme-widget-1.0/contrib/legacy_parser.c)\n"
        "\n"
        f"Report: {REPORT_URI}\n"
        f"Airflow: {RUN_URL}\n"
    )


def test_only_the_top_findings_are_listed_most_severe_first() -> None:
    findings = [{"severity": s, "source": "X", "policy": f"p{i}", "subject": ""} for i, s in enumerate("wewem")]
    findings = [{**f, "severity": {"w": "warning", "e": "error", "m": "missing"}[f["severity"]]} for f in findings]
    assert [f["policy"] for f in top_findings(findings, 3)] == ["p1", "p3", "p0"]
    summary = {**acme(), "findings": findings}
    message = build_message(summary, DEFAULT_EVENTS, max_findings=2)
    assert message is not None
    assert "Top findings (2 of 5):\n- [error] X: p1\n- [error] X: p3\n\n" in message.text


def test_html_and_slack_blocks_carry_the_same_content_escaped() -> None:
    summary = {**acme(), "findings": [{"severity": "error", "source": "S", "policy": "a <b> & c", "subject": ""}]}
    message = build_message(summary, DEFAULT_EVENTS)
    assert message is not None
    assert "<li>[error] S: a &lt;b&gt; &amp; c</li>" in message.html
    assert f"<a href='{REPORT_URI}'>{REPORT_URI}</a>" in message.html
    assert message.blocks[0] == {"type": "header", "text": {"type": "plain_text", "text": message.subject}}
    assert message.blocks[1]["text"]["text"] == (
        "*Verdict:* FAIL\n*Package:* acme-widget-1.0.tar.gz\n*DAG run:* sca_scan / manual__1\n"
        "*Run:* failed: the gate action is fail, so this verdict fails the run"
    )
    assert message.blocks[2]["text"]["text"] == "*Findings*\n• [error] S: a &lt;b&gt; &amp; c"
    assert message.blocks[3]["text"]["text"] == f"*Report:* {REPORT_URI}\n*Airflow:* {RUN_URL}"


def test_secrets_and_url_credentials_never_reach_a_message() -> None:
    summary = {
        **acme(),
        "reason": "GET https://bot:hunter22@files.example/pkg.tgz?X-Amz-Signature=abc failed, token s3cr3t-token",
        "missing": [{"tool": "fossid", "reason": "key s3cr3t-token refused"}],
    }
    message = build_message(summary, DEFAULT_EVENTS, secrets=["s3cr3t-token", "ab"])
    assert message is not None
    for text in (message.subject, message.text, message.html, repr(message.blocks)):
        assert "s3cr3t-token" not in text and "hunter22" not in text and "X-Amz-Signature" not in text
    assert "Run: failed: GET https://files.example/pkg.tgz?… failed, token ***\n" in message.text
    assert "- fossid: key *** refused\n" in message.text
    assert scrub("ab cab", ["ab"]) == "ab cab", "a secret under 4 characters is not one"


def test_which_event_a_summary_is_news_of() -> None:
    assert event_of({"verdict": "fail", "run_failed": True}, DEFAULT_EVENTS) == "fail"
    assert event_of({"verdict": "fail", "run_failed": True}, {"failed"}) == "failed"
    assert event_of({"verdict": "incomplete"}, DEFAULT_EVENTS) == "incomplete"
    assert event_of({"verdict": "warn"}, DEFAULT_EVENTS) is None
    assert event_of({"verdict": "warn"}, {"warn"}) == "warn"
    assert event_of({"verdict": None, "run_failed": True}, DEFAULT_EVENTS) == "failed"
    assert build_message({"verdict": "pass", "dag_id": "sca_scan"}, DEFAULT_EVENTS) is None


def test_a_failed_run_without_a_verdict_says_so() -> None:
    summary = {
        "dag_id": "sca_scan",
        "run_id": "manual__2",
        "kind": "package",
        "name": None,
        "verdict": None,
        "run_failed": True,
        "reason": "task_failure",
        "failed_tasks": ["scan.report"],
        "report": None,
        "run_url": None,
    }
    message = build_message(summary, DEFAULT_EVENTS)
    assert message is not None and message.event == "failed"
    assert message.subject == "[SCA] run failed: manual__2 (sca_scan)"
    assert message.text == (
        "Verdict: none (the run ended before its report)\n"
        "Package: ?\n"
        "DAG run: sca_scan / manual__2\n"
        "Run: failed: task_failure\n"
        "Failed tasks: scan.report\n"
        "\n"
        "Report: not published\n"
    )


def test_a_portfolio_names_each_failing_item_before_a_second_finding() -> None:
    items = [
        {"item_id": "chardet", "verdict": "fail"},
        {"item_id": "six", "verdict": "warn"},
        {"item_id": "acme", "verdict": "fail"},
        {"item_id": "lost", "verdict": None},
    ]
    findings = [
        {"item_id": "chardet", "tool": "scancodeio", "severity": "error", "policy": "lgpl-2.1", "subject": "a"},
        {"item_id": "chardet", "tool": "fossid", "severity": "error", "policy": "LGPL-2.1", "subject": "b"},
        {"item_id": "chardet", "tool": "purldb", "severity": "warning", "policy": "undeclared", "subject": "c"},
        {"item_id": "six", "tool": "scancodeio", "severity": "warning", "policy": "clarity", "subject": "d"},
        {"item_id": "acme", "tool": "fossid", "severity": "error", "policy": "GPL-2.0-only", "subject": "e"},
    ]
    failures = [{"item_id": "lost", "stage": "report", "reason": "no verdict"}]
    summary = portfolio_summary(
        dag_id="sca_portfolio",
        run_id="scheduled__1",
        name="demo (include/portfolio.yaml)",
        items=items,
        findings=findings,
        failures=failures,
        fail_level="ERROR",
        report_link="file:///r/portfolio.html",
        run_url=None,
    )
    assert summary["verdict"] == "fail"
    assert summary["counts"] == {"fail": 2, "incomplete": 1, "warn": 1}
    message = build_message(summary, DEFAULT_EVENTS, max_findings=2)
    assert message is not None
    assert message.subject == "[SCA] FAIL portfolio demo (include/portfolio.yaml) (sca_portfolio): 2 of 4 items fail"
    assert message.text == (
        "Verdict: FAIL\n"
        "Portfolio: demo (include/portfolio.yaml)\n"
        "Items: 4 (2 fail, 1 incomplete, 1 warn)\n"
        "DAG run: sca_portfolio / scheduled__1\n"
        "\n"
        "Top findings (2 of 3):\n"
        "- chardet: [error] ScanCode.io: lgpl-2.1 (a)\n"
        "- acme: [error] FossID: GPL-2.0-only (e)\n"
        "\n"
        "Missing results:\n"
        "- lost: report: no verdict\n"
        "\n"
        "Report: file:///r/portfolio.html\n"
    )


def lookup_from(values: dict[str, str]) -> Any:
    return values.get


def test_settings_per_dag_win_and_none_switches_off() -> None:
    values = {
        "sca_notify_email": "a@example.org, b@example.org",
        "sca_notify_email__sca_portfolio": "none",
        "sca_notify_on__sca_portfolio": "fail,warn",
        "sca_notify_slack_conn_id__sca_scan": "team_hook",
    }
    scan = resolve_settings("sca_scan", lookup_from(values))
    assert scan.email_to == ("a@example.org", "b@example.org")
    assert scan.smtp_conn_id == "sca_smtp" and scan.slack_conn_id == "team_hook"
    assert scan.events == frozenset({"failed", "fail", "incomplete"}) and scan.max_findings == 5
    portfolio = resolve_settings("sca_portfolio", lookup_from(values))
    assert portfolio.email_to == () and portfolio.slack_conn_id == "sca_slack_webhook"
    assert portfolio.events == frozenset({"fail", "warn"})
    nothing = resolve_settings("sca_scan", lookup_from({}))
    assert nothing.email_to == () and nothing.email_from is None and nothing.report_base_url is None


def test_settings_that_are_not_understood_are_refused_by_name() -> None:
    with pytest.raises(ValueError, match=r"sca_notify_on: unknown event\(s\) failure"):
        resolve_settings("sca_scan", lookup_from({"sca_notify_on": "failure,fail"}))
    with pytest.raises(ValueError, match="sca_notify_max_findings: a whole number, not 'five'"):
        resolve_settings("sca_scan", lookup_from({"sca_notify_max_findings": "five"}))


def test_a_report_is_linked_where_the_store_is_served() -> None:
    root = "file:///srv/artefacts"
    assert public_link(REPORT_URI, root, "https://reports.example/sca/") == (
        "https://reports.example/sca/reports/sca_scan/manual__1/scan/summary.html"
    )
    assert public_link(REPORT_URI, root, None) == REPORT_URI
    assert public_link("s3://other/summary.html", root, "https://reports.example") == "s3://other/summary.html"
