"""The notifiers for real: the smtp provider's SmtpNotifier against an aiosmtpd SMTP sink and the
Slack provider's SlackWebhookNotifier against a local HTTP sink, both on 127.0.0.1 in this
process, through the connections and settings a deployment gives (``AIRFLOW_CONN_*`` and
``AIRFLOW_VAR_*``). What the sinks received is checked whole, and no secret is in it."""

from __future__ import annotations

import email
import email.policy
import json
import logging
import socket
import threading
from collections.abc import Iterator
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from sca.notify.notifiers import load_settings, notify
from sca.notify.summaries import scan_summary

SMTP_USER = "notify-bot"
SMTP_PASSWORD = "smtp-pass-7f3a9c1e"
WEBHOOK_SECRET = "XyZ9webhookSecret42"
SERVICE_KEYS = {
    "SCANCODEIO": "scio-token-5d1e8a7b2c",
    "PURLDB": "purldb-token-93b1c0ffee",
    "FOSSID": "fossid-key-0a1b2c3d4e",
}
SECRETS = (SMTP_PASSWORD, WEBHOOK_SECRET, *SERVICE_KEYS.values())
RECIPIENTS = ["legal@example.org", "oss-office@example.org"]
SENDER = "sca-bot@example.org"
REPORT = "file:///srv/artefacts/reports/sca_scan/manual__n1/scan/summary.html"
RUN_URL = "http://127.0.0.1:8080/dags/sca_scan/runs/manual__n1"
# the sink is on loopback only: AUTH without TLS is what the test means
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")


class MailSink:
    """aiosmtpd handler and authenticator: keeps every message and every login."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], EmailMessage]] = []
        self.logins: list[tuple[str, bool]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 OK"

    def __call__(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        ok = auth_data.login == SMTP_USER.encode() and auth_data.password == SMTP_PASSWORD.encode()
        self.logins.append((auth_data.login.decode(), ok))
        return AuthResult(success=ok)


class WebhookSink(ThreadingHTTPServer):
    """Answers every POST with ``status`` and keeps (path, JSON body)."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, dict[str, Any]]] = []
        self.status = 200
        super().__init__(("127.0.0.1", 0), WebhookHandler)


class WebhookHandler(BaseHTTPRequestHandler):
    server: WebhookSink

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.posts.append((self.path, json.loads(body)))
        answer = b"ok" if self.server.status == 200 else b"server_error"
        self.send_response(self.server.status)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        return


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def mail_sink() -> Iterator[tuple[MailSink, int]]:
    sink = MailSink()
    port = free_port()
    controller = Controller(
        sink, hostname="127.0.0.1", port=port, authenticator=sink, auth_require_tls=False, auth_required=True
    )
    controller.start()
    try:
        yield sink, port
    finally:
        controller.stop()


@pytest.fixture
def webhook_sink() -> Iterator[WebhookSink]:
    sink = WebhookSink()
    thread = threading.Thread(target=sink.serve_forever, daemon=True)
    thread.start()
    try:
        yield sink
    finally:
        sink.shutdown()
        sink.server_close()
        thread.join(timeout=10)


@pytest.fixture
def configured(monkeypatch: pytest.MonkeyPatch, mail_sink: tuple[MailSink, int], webhook_sink: WebhookSink) -> None:
    """Connections and settings as a deployment sets them, pointing at the sinks."""
    smtp = {
        "conn_type": "smtp",
        "host": "127.0.0.1",
        "port": mail_sink[1],
        "login": SMTP_USER,
        "password": SMTP_PASSWORD,
        "extra": {"disable_ssl": True, "disable_tls": True, "from_email": SENDER, "retry_limit": 0},
    }
    hook_url = f"http://127.0.0.1:{webhook_sink.server_port}/services/T000/B000/{WEBHOOK_SECRET}"
    monkeypatch.setenv("AIRFLOW_CONN_SCA_SMTP", json.dumps(smtp))
    webhook = {"conn_type": "slackwebhook", "password": hook_url}
    monkeypatch.setenv("AIRFLOW_CONN_SCA_SLACK_WEBHOOK", json.dumps(webhook))
    for name, key in SERVICE_KEYS.items():
        conn = {"conn_type": name.lower(), "host": "127.0.0.1", "port": 1, "login": "bot", "password": key}
        monkeypatch.setenv(f"AIRFLOW_CONN_{name}_DEFAULT", json.dumps(conn))
    monkeypatch.setenv("AIRFLOW_VAR_SCA_NOTIFY_EMAIL", ", ".join(RECIPIENTS))
    monkeypatch.setenv("AIRFLOW_VAR_SCA_NOTIFY_MAX_FINDINGS", "2")


def failing_scan() -> dict[str, Any]:
    """acme-widget's FAIL as the scan unit records it; a tool's reason quotes a FossID key, as a
    careless error message could."""
    blocking = [
        {"source": "ScanCode.io", "severity": "error", "policy": "license policy: gpl-2.0 is error", "subject": "c.c"},
        {"source": "FossID", "severity": "error", "policy": "policy: GPL-2.0-only", "subject": "contrib/c.c"},
        {"source": "FossID", "severity": "error", "policy": "policy: GPL-2.0-or-later", "subject": "lib/d.c"},
    ]
    return scan_summary(
        dag_id="sca_scan",
        run_id="manual__n1",
        report={"package": "acme-widget-1.0.tar.gz", "verdict": "fail", "fails_run": True},
        scan_report={
            "verdict": {
                "blocking": blocking,
                "missing": [{"tool": "purldb", "reason": f"refused with key {SERVICE_KEYS['FOSSID']}"}],
            }
        },
        report_link=REPORT,
        run_url=RUN_URL,
    )


EXPECTED_SUBJECT = "[SCA] FAIL acme-widget-1.0.tar.gz (sca_scan) (run failed)"
EXPECTED_TEXT = (
    "Verdict: FAIL\n"
    "Package: acme-widget-1.0.tar.gz\n"
    "DAG run: sca_scan / manual__n1\n"
    "Run: failed: the gate action is fail, so this verdict fails the run\n"
    "\n"
    "Top findings (2 of 3):\n"
    "- [error] ScanCode.io: license policy: gpl-2.0 is error (c.c)\n"
    "- [error] FossID: policy: GPL-2.0-only (contrib/c.c)\n"
    "\n"
    "Missing results:\n"
    "- purldb: refused with key ***\n"
    "\n"
    f"Report: {REPORT}\n"
    f"Airflow: {RUN_URL}\n"
)


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text


@pytest.mark.usefixtures("configured")
def test_a_fail_verdict_reaches_the_mailbox_and_the_webhook_with_its_findings_and_report(
    mail_sink: tuple[MailSink, int], webhook_sink: WebhookSink
) -> None:
    settings = load_settings("sca_scan")
    assert settings is not None
    done = notify(failing_scan(), settings, {})
    assert done == {"event": "fail", "subject": EXPECTED_SUBJECT, "sent": ["email", "slack"], "not_sent": []}

    sink, _ = mail_sink
    assert sink.logins == [(SMTP_USER, True)]
    assert len(sink.messages) == 1
    mail_from, rcpt_tos, mail = sink.messages[0]
    assert (mail_from, rcpt_tos) == (SENDER, RECIPIENTS)
    assert mail["Subject"] == EXPECTED_SUBJECT and mail["To"] == ", ".join(RECIPIENTS) and mail["From"] == SENDER
    body = mail.get_body(("html",))
    assert body is not None
    html = body.get_content()
    for line in (
        "<tr><th align='left'>Verdict</th><td>FAIL</td></tr>",
        "<tr><th align='left'>Package</th><td>acme-widget-1.0.tar.gz</td></tr>",
        "<li>[error] ScanCode.io: license policy: gpl-2.0 is error (c.c)</li>",
        "<li>[error] FossID: policy: GPL-2.0-only (contrib/c.c)</li>",
        "<li>purldb: refused with key ***</li>",
        f"<p><b>Report:</b> <a href='{REPORT}'>{REPORT}</a></p>",
    ):
        assert line in html
    assert "GPL-2.0-or-later" not in html, "only the top findings"

    assert len(webhook_sink.posts) == 1
    path, payload = webhook_sink.posts[0]
    assert path == f"/services/T000/B000/{WEBHOOK_SECRET}", "posted to the connection's URL"
    assert payload["text"] == EXPECTED_TEXT
    assert payload["unfurl_links"] is False and payload["unfurl_media"] is False
    assert [b["type"] for b in payload["blocks"]] == ["header", "section", "section", "section", "section"]
    assert payload["blocks"][0]["text"]["text"] == EXPECTED_SUBJECT
    assert payload["blocks"][2]["text"]["text"] == (
        "*Top findings (2 of 3)*\n"
        "• [error] ScanCode.io: license policy: gpl-2.0 is error (c.c)\n"
        "• [error] FossID: policy: GPL-2.0-only (contrib/c.c)"
    )
    assert payload["blocks"][4]["text"]["text"] == f"*Report:* {REPORT}\n*Airflow:* {RUN_URL}"
    assert_no_secret(mail.as_string(), json.dumps(payload))


@pytest.mark.usefixtures("configured")
def test_a_channel_that_fails_is_logged_without_secrets_and_the_other_still_sends(
    mail_sink: tuple[MailSink, int], webhook_sink: WebhookSink, caplog: pytest.LogCaptureFixture
) -> None:
    webhook_sink.status = 500
    settings = load_settings("sca_scan")
    assert settings is not None
    with caplog.at_level(logging.WARNING, logger="sca.notify.notifiers"):
        done = notify(failing_scan(), settings, {})
    assert done == {"event": "fail", "subject": EXPECTED_SUBJECT, "sent": ["email"], "not_sent": ["slack"]}
    assert len(mail_sink[0].messages) == 1 and len(webhook_sink.posts) == 1
    warnings = [r.getMessage() for r in caplog.records if r.name == "sca.notify.notifiers"]
    assert len(warnings) == 1 and warnings[0].startswith("Notification by slack not sent: ")
    assert_no_secret(caplog.text)


def test_without_settings_nothing_is_sent_and_nothing_fails(
    monkeypatch: pytest.MonkeyPatch, mail_sink: tuple[MailSink, int], webhook_sink: WebhookSink
) -> None:
    for name in ("AIRFLOW_VAR_SCA_NOTIFY_EMAIL", "SCA_NOTIFY_EMAIL", "AIRFLOW_CONN_SCA_SLACK_WEBHOOK"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings("sca_scan")
    assert settings is not None and settings.email_to == ()
    assert notify(failing_scan(), settings, {}) == {"event": None, "sent": [], "not_sent": []}
    assert mail_sink[0].messages == [] and webhook_sink.posts == []


@pytest.mark.usefixtures("configured")
def test_a_warn_verdict_is_not_news_unless_asked_for(
    monkeypatch: pytest.MonkeyPatch, mail_sink: tuple[MailSink, int], webhook_sink: WebhookSink
) -> None:
    warn = {**failing_scan(), "verdict": "warn", "run_failed": False, "reason": None}
    settings = load_settings("sca_scan")
    assert settings is not None
    assert notify(warn, settings, {}) == {"event": None, "sent": [], "not_sent": []}
    assert mail_sink[0].messages == [] and webhook_sink.posts == []
    monkeypatch.setenv("AIRFLOW_VAR_SCA_NOTIFY_ON__SCA_SCAN", "warn")
    monkeypatch.setenv("AIRFLOW_VAR_SCA_NOTIFY_EMAIL__SCA_SCAN", "none")
    settings = load_settings("sca_scan")
    assert settings is not None
    done = notify(warn, settings, {})
    assert done["event"] == "warn" and done["sent"] == ["slack"]
    assert mail_sink[0].messages == [] and len(webhook_sink.posts) == 1
