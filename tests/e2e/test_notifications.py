"""Notifications on the stack: a real sca_scan of acme-widget (a FAIL verdict under gate action
``fail``, so a failed run) tells it once by email and once by webhook, from the DAG's failure
callback in the dag-processor, to an SMTP sink and an HTTP sink this test runs on 127.0.0.1.

The channels are configured the way an operator does it on a running Airflow: connections and
Variables through the REST API (nothing in stack/env.sh), scoped to sca_scan and removed at the
end. The message is checked line by line against the run's own report."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from aiosmtpd.controller import Controller

from sca.common.errors import PermanentServiceError, ServiceError
from sca.common.files import safe_filename
from tests.conftest import require_env
from tests.integration.test_notify_sinks import SMTP_PASSWORD, SMTP_USER, MailSink, WebhookSink, free_port

DAG_ID = "sca_scan"
SMTP_CONN = "sca_e2e_notify_smtp"
WEBHOOK_CONN = "sca_e2e_notify_webhook"
WEBHOOK_SECRET = "E2eWebhookSecret9c7d"
RECIPIENTS = ["legal@example.org"]
SENDER = "sca-e2e@example.org"
VARIABLES = {
    f"sca_notify_email__{DAG_ID}": ",".join(RECIPIENTS),
    f"sca_notify_smtp_conn_id__{DAG_ID}": SMTP_CONN,
    f"sca_notify_slack_conn_id__{DAG_ID}": WEBHOOK_CONN,
}
# the failure callback runs in the dag-processor once the scheduler has handed it over
DELIVERY_TIMEOUT_S = 180

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")


def stack_secrets() -> list[str]:
    found = [SMTP_PASSWORD, WEBHOOK_SECRET]
    for name in ("SCANCODEIO", "PURLDB", "FOSSID"):
        found.append(json.loads(require_env(f"AIRFLOW_CONN_{name}_DEFAULT"))["password"])
    return found


def delete_quietly(airflow_api: Any, path: str) -> None:
    try:
        airflow_api.http.request("DELETE", path)
    except PermanentServiceError:
        pass  # not there: nothing to remove
    except ServiceError as exc:  # Airflow down: say what is left, and still try the others
        print(f"Could not remove {path}: {exc}; remove it by hand")


@pytest.fixture
def sinks(airflow_api: Any) -> Iterator[tuple[MailSink, WebhookSink]]:
    """Both sinks running, and sca_scan's notifications pointed at them; all undone at the end."""
    mail = MailSink()
    smtp_port = free_port()
    controller = Controller(
        mail, hostname="127.0.0.1", port=smtp_port, authenticator=mail, auth_require_tls=False, auth_required=True
    )
    controller.start()
    webhook = WebhookSink()
    serving = threading.Thread(target=webhook.serve_forever, daemon=True)
    serving.start()
    smtp_extra = {"disable_ssl": True, "disable_tls": True, "from_email": SENDER, "retry_limit": 0, "timeout": 10}
    connections = [
        {
            "connection_id": SMTP_CONN,
            "conn_type": "smtp",
            "host": "127.0.0.1",
            "port": smtp_port,
            "login": SMTP_USER,
            "password": SMTP_PASSWORD,
            "extra": json.dumps(smtp_extra),
        },
        {
            "connection_id": WEBHOOK_CONN,
            "conn_type": "slackwebhook",
            "password": f"http://127.0.0.1:{webhook.server_port}/services/T0/B0/{WEBHOOK_SECRET}",
        },
    ]
    try:
        for conn in connections:
            delete_quietly(airflow_api, f"connections/{conn['connection_id']}")
            airflow_api.http.post_json("connections", conn)
        for key, value in VARIABLES.items():
            delete_quietly(airflow_api, f"variables/{key}")
            airflow_api.http.post_json("variables", {"key": key, "value": value})
        yield mail, webhook
    finally:
        for key in VARIABLES:
            delete_quietly(airflow_api, f"variables/{key}")
        for conn in connections:
            delete_quietly(airflow_api, f"connections/{conn['connection_id']}")
        controller.stop()
        webhook.shutdown()
        webhook.server_close()
        serving.join(timeout=10)


def received_for(run_id: str, mail: MailSink, webhook: WebhookSink) -> tuple[list[Any], list[dict[str, Any]]]:
    run = f"{DAG_ID} / {run_id}"
    mails = [m for m in mail.messages if f"<td>{run}</td>" in m[2].get_body(("html",)).get_content()]
    posts = [body for _, body in webhook.posts if f"DAG run: {run}\n" in body.get("text", "")]
    return mails, posts


def test_a_failing_scan_is_told_once_by_email_and_webhook_with_verdict_findings_and_report(
    airflow_api: Any, sinks: tuple[MailSink, WebhookSink]
) -> None:
    mail, webhook = sinks
    airflow_api.wait_for_dag(DAG_ID)
    run_id = airflow_api.trigger(DAG_ID, {"input": "acme-widget-1.0.tar.gz"})["dag_run_id"]
    run = airflow_api.wait(DAG_ID, run_id, timeout=900)
    assert run["state"] == "failed", "gate action fail: the FAIL verdict fails the run"

    deadline = time.monotonic() + DELIVERY_TIMEOUT_S
    mails, posts = received_for(run_id, mail, webhook)
    while (not mails or not posts) and time.monotonic() < deadline:
        time.sleep(2)
        mails, posts = received_for(run_id, mail, webhook)
    time.sleep(5)  # a second message, if one were sent, would come right after the first
    mails, posts = received_for(run_id, mail, webhook)
    assert len(mails) == 1 and len(posts) == 1, (len(mails), len(posts))

    report = airflow_api.xcom(DAG_ID, run_id, "scan.report")
    html_report = report["reports"]["summary.html"]
    assert html_report.endswith(f"/reports/{DAG_ID}/{safe_filename(run_id)}/scan/summary.html")
    base_url = os.environ["AIRFLOW__API__BASE_URL"].rstrip("/")
    expected_text = (
        "Verdict: FAIL\n"
        "Package: acme-widget-1.0.tar.gz\n"
        f"DAG run: {DAG_ID} / {run_id}\n"
        "Run: failed: the gate action is fail, so this verdict fails the run\n"
        "Failed tasks: enforce_gate\n"
        "\n"
        "Findings:\n"
        "- [error] ScanCode.io: license policy: gpl-2.0 is error (acme-widget-1.0/contrib/legacy_parser.c)\n"
        "- [error] FossID: policy: License GPL-2.0-only is not allowed (deny) "
        "(acme-widget-1.0.tar.gz/acme-widget-1.0/contrib/legacy_parser.c)\n"
        "\n"
        f"Report: {html_report}\n"
        f"Airflow: {base_url}/dags/{DAG_ID}/runs/{quote(run_id, safe='')}\n"
    )
    subject = f"[SCA] FAIL acme-widget-1.0.tar.gz ({DAG_ID}) (run failed)"

    payload = posts[0]
    assert payload["text"] == expected_text
    assert payload["blocks"][0]["text"]["text"] == subject

    mail_from, rcpt_tos, message = mails[0]
    assert (mail_from, rcpt_tos, message["Subject"]) == (SENDER, RECIPIENTS, subject)
    html = message.get_body(("html",)).get_content()
    assert f"<p><b>Report:</b> <a href='{html_report}'>{html_report}</a></p>" in html
    assert "<tr><th align='left'>Verdict</th><td>FAIL</td></tr>" in html
    assert "<tr><th align='left'>Package</th><td>acme-widget-1.0.tar.gz</td></tr>" in html
    assert set(mail.logins) == {(SMTP_USER, True)}

    for secret in stack_secrets():
        assert secret not in message.as_string() and secret not in json.dumps(payload)
