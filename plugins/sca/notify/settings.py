"""Who is notified of what, per DAG, from plain key lookups (Airflow Variables, then the
environment). No Airflow.

Each key may be set for every DAG (``sca_notify_email``) or for one DAG, which wins
(``sca_notify_email__sca_portfolio``); ``none`` or an empty value switches it off for that DAG.

- ``sca_notify_email``: recipients, comma-separated (no recipients: no email)
- ``sca_notify_from``: the sender (default: the SMTP connection's ``from_email``)
- ``sca_notify_smtp_conn_id``: the SMTP connection (default ``sca_smtp``)
- ``sca_notify_slack_conn_id``: the Slack-compatible webhook connection (default
  ``sca_slack_webhook``; used when that connection exists)
- ``sca_notify_on``: the events, comma-separated, from ``failed`` (the run failed), ``fail``,
  ``incomplete``, ``warn``, ``pass`` (verdicts); default ``failed,fail,incomplete``
- ``sca_notify_max_findings``: how many findings a message lists (default 5)
- ``sca_notify_report_base_url``: where the artefact store's reports are served over http(s);
  a report under ``SCA_ARTEFACT_ROOT`` is then linked there instead of by its store URI
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sca.notify.message import EVENTS

DEFAULT_EVENTS = frozenset({"failed", "fail", "incomplete"})
DEFAULT_SMTP_CONN_ID = "sca_smtp"
DEFAULT_SLACK_CONN_ID = "sca_slack_webhook"
DEFAULT_MAX_FINDINGS = 5
SWITCHED_OFF = ("", "none", "off")

Lookup = Callable[[str], str | None]


@dataclass(frozen=True)
class NotifySettings:
    email_to: tuple[str, ...]
    email_from: str | None
    smtp_conn_id: str | None
    slack_conn_id: str | None
    events: frozenset[str]
    max_findings: int
    report_base_url: str | None


def _value(key: str, dag_id: str, lookup: Lookup, default: str | None) -> str | None:
    """The DAG's own value, else the common one, else ``default``; ``none``/empty: ``None``."""
    for name in (f"{key}__{dag_id}", key):
        found = lookup(name)
        if found is not None:
            text = found.strip()
            return None if text.lower() in SWITCHED_OFF else text
    return default


def _list(text: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (text or "").replace(";", ",").split(",") if part.strip())


def resolve_settings(dag_id: str, lookup: Lookup) -> NotifySettings:
    """The DAG's settings; a value that is not understood raises ``ValueError`` naming the key."""
    events = _list(_value("sca_notify_on", dag_id, lookup, ",".join(sorted(DEFAULT_EVENTS))))
    unknown = sorted(set(events) - set(EVENTS))
    if unknown:
        raise ValueError(f"sca_notify_on: unknown event(s) {', '.join(unknown)} (known: {', '.join(EVENTS)})")
    max_findings = _value("sca_notify_max_findings", dag_id, lookup, str(DEFAULT_MAX_FINDINGS))
    if max_findings is None or not max_findings.isdigit():
        raise ValueError(f"sca_notify_max_findings: a whole number, not {max_findings!r}")
    return NotifySettings(
        email_to=_list(_value("sca_notify_email", dag_id, lookup, None)),
        email_from=_value("sca_notify_from", dag_id, lookup, None),
        smtp_conn_id=_value("sca_notify_smtp_conn_id", dag_id, lookup, DEFAULT_SMTP_CONN_ID),
        slack_conn_id=_value("sca_notify_slack_conn_id", dag_id, lookup, DEFAULT_SLACK_CONN_ID),
        events=frozenset(events),
        max_findings=int(max_findings),
        report_base_url=_value("sca_notify_report_base_url", dag_id, lookup, None),
    )


def public_link(uri: str | None, artefact_root: str | None, base_url: str | None) -> str | None:
    """A report's URI as people can open it: under ``base_url`` when the artefact store's root
    is served there, else the URI itself."""
    if not uri or not artefact_root or not base_url:
        return uri
    root = artefact_root.rstrip("/") + "/"
    if not uri.startswith(root):
        return uri
    return base_url.rstrip("/") + "/" + uri[len(root) :]
