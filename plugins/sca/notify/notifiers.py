"""Airflow glue: a DAG's notification settings (Airflow Variables, then the environment), the
provider notifiers they call for, and sending a message through them.

Email goes through the smtp provider's ``SmtpNotifier``, the webhook through the Slack
provider's ``SlackWebhookNotifier`` (any Slack-compatible webhook). Their ``notify`` is called
directly, not the notifier itself: the content is data from the scanned packages, never a
template to render. A channel that fails is logged (its error cleaned of secrets) and never
raised: a notification must not fail a run.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from typing import Any

from sca.notify.message import Message, build_message, scrub
from sca.notify.settings import NotifySettings, resolve_settings

log = logging.getLogger(__name__)

# Connections whose passwords must never reach a message, besides the notification channels'.
SERVICE_CONN_IDS = ("scancodeio_default", "purldb_default", "fossid_default")


def variable_or_env(name: str) -> str | None:
    """The Airflow Variable ``name`` (``AIRFLOW_VAR_<NAME>`` included), else the environment
    variable ``<NAME>`` (``SCA_NOTIFY_EMAIL``)."""
    from airflow.sdk import Variable

    try:
        value = Variable.get(name, default=None)
    except Exception as exc:  # noqa: BLE001 - no Variables here (no task context): the environment
        log.debug("Variable %s not readable (%s); using the environment", name, type(exc).__name__)
        value = None
    return os.environ.get(name.upper()) if value is None else str(value)


def load_settings(dag_id: str) -> NotifySettings | None:
    """The DAG's settings, or ``None`` (logged) when they cannot be understood."""
    try:
        return resolve_settings(dag_id, variable_or_env)
    except ValueError as exc:
        log.warning("Notifications for %s are off: %s", dag_id, exc)
        return None


def _connection(conn_id: str) -> Any | None:
    from airflow.sdk import BaseHook

    try:
        return BaseHook.get_connection(conn_id)
    except Exception:  # noqa: BLE001 - a missing connection switches its channel off
        return None


def connection_exists(conn_id: str | None) -> bool:
    return bool(conn_id) and _connection(str(conn_id)) is not None


def has_channel(settings: NotifySettings) -> bool:
    """Email with recipients, or a webhook connection that exists."""
    return bool(settings.email_to and settings.smtp_conn_id) or connection_exists(settings.slack_conn_id)


def known_secrets(settings: NotifySettings) -> list[str]:
    """Passwords of the services' and the channels' connections: scrubbed from every message."""
    found = []
    for conn_id in (*SERVICE_CONN_IDS, settings.smtp_conn_id, settings.slack_conn_id):
        conn = _connection(conn_id) if conn_id else None
        if conn is not None and conn.password:
            found.append(str(conn.password))
    return found


def build_notifiers(message: Message, settings: NotifySettings) -> list[tuple[str, Any]]:
    """(channel, notifier) for each configured channel: email when there are recipients, the
    webhook when its connection exists."""
    notifiers: list[tuple[str, Any]] = []
    if settings.email_to and settings.smtp_conn_id:
        from airflow.providers.smtp.notifications.smtp import SmtpNotifier

        notifiers.append(
            (
                "email",
                SmtpNotifier(
                    to=list(settings.email_to),
                    from_email=settings.email_from,
                    subject=message.subject,
                    html_content=message.html,
                    smtp_conn_id=settings.smtp_conn_id,
                ),
            )
        )
    if connection_exists(settings.slack_conn_id):
        from airflow.providers.slack.notifications.slack_webhook import SlackWebhookNotifier

        notifiers.append(
            (
                "slack",
                SlackWebhookNotifier(
                    slack_webhook_conn_id=str(settings.slack_conn_id),
                    text=message.text,
                    blocks=message.blocks,
                    unfurl_links=False,
                    unfurl_media=False,
                    timeout=30,
                ),
            )
        )
    return notifiers


def deliver(
    message: Message, settings: NotifySettings, context: Mapping[str, Any], secrets: Sequence[str]
) -> dict[str, Any]:
    """Send ``message`` through every configured channel; what was and was not sent."""
    sent: list[str] = []
    not_sent: list[str] = []
    for channel, notifier in build_notifiers(message, settings):
        try:
            notifier.notify(context)
        except Exception as exc:  # noqa: BLE001 - logged, never raised: a notification must not fail a run
            log.warning("Notification by %s not sent: %s", channel, scrub(f"{type(exc).__name__}: {exc}", secrets))
            not_sent.append(channel)
        else:
            log.info("Notification by %s sent: %s", channel, message.subject)
            sent.append(channel)
    return {"event": message.event, "subject": message.subject, "sent": sent, "not_sent": not_sent}


def notify(summary: Mapping[str, Any], settings: NotifySettings, context: Mapping[str, Any]) -> dict[str, Any]:
    """Build the message for ``summary`` and send it when it is news of a configured event.
    ``event`` in the answer is set when the summary's news was handled (sent, or tried)."""
    if not has_channel(settings):
        log.info("Notifications are not configured for %s: nothing sent", summary.get("dag_id"))
        return {"event": None, "sent": [], "not_sent": []}
    secrets = known_secrets(settings)
    message = build_message(summary, settings.events, settings.max_findings, secrets)
    if message is None:
        log.info("Nothing to notify for %s (verdict %s)", summary.get("dag_id"), summary.get("verdict"))
        return {"event": None, "sent": [], "not_sent": []}
    return deliver(message, settings, context, secrets)
