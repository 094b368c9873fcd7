"""Webhook subscriptions and their delivery: WebhookSubscription, WebhookDelivery and
Run.deliver_project_subscriptions (scanpipe/models.py:2256-2264, 4672-4960), called by tasks.py
``execute_pipeline_task`` (scanpipe/tasks.py:71-74) once the run's end is saved.

The real worker posts before it takes its next job; here the POSTs go out from a thread of their
own, so the worker pool never waits on a receiver."""

from __future__ import annotations

import http.client
import ipaddress
import json
import re
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sandboxes.scancodeio import formats
from sandboxes.scancodeio.execution import file_stamp
from sandboxes.scancodeio.http_util import RequestData, to_bool
from sandboxes.scancodeio.model import Project, Run, WebhookSubscription
from sandboxes.scancodeio.policies import Policies
from sandboxes.scancodeio.shapes import project_view, run_view

# The model's BooleanField defaults (models.py:4697-4717)
BOOLEAN_DEFAULTS = {"trigger_on_each_run": False, "include_summary": False, "include_results": False, "is_active": True}
COUNT_FIELDS = ("message_count", "resource_count", "package_count", "dependency_count", "relation_count")
URL_SCHEMES = ("http", "https", "ftp", "ftps")  # django URLValidator.schemes
TARGET_URL_MAX_LENGTH = 1024  # models.py:4686-4690
DELIVERY_TIMEOUT = 10.0  # WebhookSubscription.deliver(timeout=10)
SUCCESS_STATUSES = (200, 201, 202)  # WebhookDelivery.success (models.py:4956-4958)
KEEP_LAST = 20
LABEL_RE = re.compile(r"^[a-z0-9\u00a1-\uffff](?:[a-z0-9\u00a1-\uffff-]{0,61}[a-z0-9\u00a1-\uffff])?$", re.IGNORECASE)
TLD_RE = re.compile(r"^(?!-)(?:[a-z\u00a1-\uffff-]{2,63}|xn--[a-z0-9]{1,59})(?<!-)$", re.IGNORECASE)


# -- validation (WebhookSubscriptionSerializer, serializers.py:150-159) ---------------------------------
def is_valid_host(host: str) -> bool:
    """URLValidator's host part: an IP address, ``localhost``, or a dotted name ending in a TLD (so a
    bare service name such as ``http://airflow:8080/`` is not a valid URL)."""
    if host == "localhost":
        return True
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    labels = host.removesuffix(".").split(".")
    if len(labels) < 2 or not TLD_RE.match(labels[-1]):
        return False
    return all(LABEL_RE.match(label) for label in labels[:-1])


def is_valid_url(value: str) -> bool:
    """django.core.validators.URLValidator, in short: a known scheme, a valid host, an optional port,
    no whitespace."""
    if "://" not in value or value.split("://")[0].lower() not in URL_SCHEMES or re.search(r"\s", value):
        return False
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 (a port that is not a number raises)
    except ValueError:
        return False
    host = parts.hostname or ""
    return 0 < len(host) <= 253 and is_valid_host(host)


def clean_string(values: Mapping[str, Any], name: str) -> tuple[str, list[str]]:
    """A DRF CharField (whitespace trimmed): the text, or its errors."""
    value = values[name]
    if value is None:
        return "", ["This field may not be null."]
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return "", ["Not a valid string."]
    text = str(value).strip()
    return (text, []) if text else ("", ["This field may not be blank."])


def clean_target_url(values: Mapping[str, Any]) -> tuple[str, list[str]]:
    """``target_url``: a required URLField of at most 1024 characters."""
    if "target_url" not in values:
        return "", ["This field is required."]
    text, errors = clean_string(values, "target_url")
    if errors:
        return "", errors
    if len(text) > TARGET_URL_MAX_LENGTH:
        errors.append(f"Ensure this field has no more than {TARGET_URL_MAX_LENGTH} characters.")
    if not is_valid_url(text):
        errors.append("Enter a valid URL.")
    return text, errors


def clean_boolean(values: Mapping[str, Any], name: str, *, html: bool) -> tuple[bool | None, list[str]]:
    """A BooleanField built from a model field with a default: None leaves the model default. From a
    form, an absent field is False (BooleanField.default_empty_html, rest_framework/fields.py:658),
    an empty one is skipped."""
    if name not in values:
        return (False if html else None), []
    value = values[name]
    if html and value == "":
        return None, []
    if value is None:
        return None, ["This field may not be null."]
    parsed = to_bool(value)
    return (None, ["Must be a valid boolean."]) if parsed is None else (parsed, [])


def subscription_from(values: Mapping[str, Any], *, html: bool) -> tuple[WebhookSubscription | None, dict[str, Any]]:
    """One validated subscription, or the serializer's errors (fields in Meta order)."""
    target_url, target_errors = clean_target_url(values)
    errors: dict[str, Any] = {"target_url": target_errors} if target_errors else {}
    flags: dict[str, bool] = {}
    for name, default in BOOLEAN_DEFAULTS.items():
        value, field_errors = clean_boolean(values, name, html=html)
        if field_errors:
            errors[name] = field_errors
        flags[name] = default if value is None else value
    if errors:
        return None, errors
    return WebhookSubscription(
        target_url,
        trigger_on_each_run=flags["trigger_on_each_run"],
        include_summary=flags["include_summary"],
        include_results=flags["include_results"],
        is_active=flags["is_active"],
    ), {}


def request_values(body: RequestData) -> tuple[Mapping[str, Any], bool]:
    """``request.data`` as the serializer reads it, and whether it is a form (an HTML input)."""
    if body.json is not None:
        return body.json, False
    return {key: body.get(key) for key, _ in body.form}, True


def subscription_from_request(body: RequestData) -> tuple[WebhookSubscription | None, dict[str, Any]]:
    """The ``add_webhook`` action's body (api/views.py:403-417)."""
    values, html = request_values(body)
    return subscription_from(values, html=html)


def subscriptions_from_list(raw: Any) -> tuple[list[WebhookSubscription], Any]:
    """ProjectSerializer ``webhooks`` (many=True): the subscriptions, or the ListSerializer's errors,
    a dict by item index (DRF 3.18 LIST_SERIALIZER_ERRORS_AS_DICT, rest_framework/serializers.py:669-724)."""
    if raw is None:
        return [], ["This field may not be null."]
    if not isinstance(raw, list):
        return [], {"non_field_errors": [f'Expected a list of items but got type "{type(raw).__name__}".']}
    subscriptions: list[WebhookSubscription] = []
    errors: dict[str, Any] = {}
    for index, item in enumerate(raw):
        if not isinstance(item, dict):
            message = f"Invalid data. Expected a dictionary, but got {type(item).__name__}."
            errors[str(index)] = {"non_field_errors": [message]}
            continue
        subscription, item_errors = subscription_from(item, html=False)
        if subscription is None:
            errors[str(index)] = item_errors
        else:
            subscriptions.append(subscription)
    return subscriptions, (errors or None)


def webhook_url_from(body: RequestData) -> tuple[WebhookSubscription | None, list[str]]:
    """ProjectSerializer ``webhook_url``: a plain CharField (no URL check), made a subscription with the
    model defaults (serializers.py:329-330). An empty form field is skipped."""
    if not body.has("webhook_url"):
        return None, []
    values = body.json if body.json is not None else {"webhook_url": body.get("webhook_url")}
    if body.json is None and values["webhook_url"] == "":
        return None, []
    text, errors = clean_string(values, "webhook_url")
    return (None, errors) if errors else (WebhookSubscription(target_url=text), [])


def create_subscriptions(body: RequestData) -> tuple[list[WebhookSubscription], dict[str, Any]]:
    """The create's subscriptions in creation order (``webhook_url`` first, then ``webhooks``), or
    errors. ``webhooks`` is read from a JSON body only."""
    single, single_errors = webhook_url_from(body)
    listed: list[WebhookSubscription] = []
    listed_errors: Any = None
    if body.json is not None and "webhooks" in body.json:
        listed, listed_errors = subscriptions_from_list(body.json["webhooks"])
    errors: dict[str, Any] = {}
    if single_errors:
        errors["webhook_url"] = single_errors
    if listed_errors is not None:
        errors["webhooks"] = listed_errors
    return ([single] if single else []) + listed, errors


# -- payload (WebhookSubscription.get_payload, models.py:4731-4759) -----------------------------------
def project_part(project: Project, run: Run) -> dict[str, Any]:
    """ProjectSerializer without ``url`` and ``runs``, serialized with no request: ``results_url`` and
    ``summary_url`` are relative. The counts are the ones the worker's Project instance loaded when
    the run started: Pipeline.execute refreshes them with a queryset update that bypasses it
    (pipelines/__init__.py:234-238, models.py:1521-1529)."""
    view = project_view(project, "", detail=True)
    view.pop("url")
    view.pop("runs")
    view.update({name: run.counts_at_start.get(name, 0) for name in COUNT_FIELDS})
    return view


def results_part(project: Project, now: float) -> dict[str, Any]:
    """to_json (pipes/output.py:315-330): the results document, also written to the outputs."""
    document = formats.results_document(project, "", None)
    project.outputs[f"results-{file_stamp(now)}.json"] = json.dumps(document, indent=2).encode()
    return document


def payload(project: Project, run: Run, subscription: WebhookSubscription, policies: Policies) -> dict[str, Any]:
    body: dict[str, Any] = {"project": project_part(project, run), "run": run_view(run, "", with_links=False)}
    if subscription.include_summary:
        body["summary"] = formats.summary_document(project, policies) or {}
    if subscription.include_results:
        body["results"] = results_part(project, time.time())
    return body


# -- delivery ------------------------------------------------------------------------------------------
@dataclass
class Outgoing:
    target_url: str
    project_uuid: str
    run_uuid: str
    body: bytes


@dataclass
class Delivery:
    """WebhookDelivery (models.py:4875-4960): the answer's status code, or the error."""

    target_url: str
    project_uuid: str
    run_uuid: str
    sent: float
    status_code: int | None = None
    error: str = ""

    @property
    def success(self) -> bool:
        return self.status_code in SUCCESS_STATUSES

    def as_dict(self) -> dict[str, Any]:
        return {
            "target_url": self.target_url,
            "project_uuid": self.project_uuid,
            "run_uuid": self.run_uuid,
            "sent": self.sent,
            "status_code": self.status_code,
            "error": self.error,
            "success": self.success,
        }


def scheme_error(url: str) -> str:
    """What requests raises before connecting when it has no adapter for the URL."""
    scheme = urlsplit(url).scheme.lower()
    if not scheme:
        return f"Invalid URL '{url}': No scheme supplied. Perhaps you meant https://{url}?"
    if scheme not in ("http", "https"):
        return f"No connection adapters were found for '{url}'"
    return ""


def post(item: Outgoing, timeout: float) -> Delivery:
    """One ``requests.post`` (models.py:4851-4863): JSON body, the timeout, no retry; any answer is
    recorded with its status, a failure to get one with its message."""
    delivery = Delivery(item.target_url, item.project_uuid, item.run_uuid, time.time())
    if error := scheme_error(item.target_url):
        delivery.error = error
        return delivery
    request = urllib.request.Request(
        item.target_url, data=item.body, headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (http(s) only)
            response.read()
            delivery.status_code = int(response.status)
    except urllib.error.HTTPError as exc:
        delivery.status_code = int(exc.code)
        exc.close()
    except (OSError, ValueError, http.client.HTTPException) as exc:
        delivery.error = str(exc) or type(exc).__name__
    return delivery


class WebhookSender:
    """Delivers what a run's end triggers and keeps the counts ``/_sandbox/stats`` shows."""

    def __init__(self, timeout: float = DELIVERY_TIMEOUT, keep_last: int = KEEP_LAST) -> None:
        self.timeout = timeout
        self.lock = threading.Lock()
        self.attempted = 0
        self.delivered = 0
        self.failed = 0
        self.pending = 0
        self.last: deque[Delivery] = deque(maxlen=keep_last)

    def deliver_project_subscriptions(
        self, project: Project, run: Run, *, has_next_run: bool, policies: Policies
    ) -> None:
        """Run.deliver_project_subscriptions: the active subscriptions, newest first (Meta ordering
        ``-created_date``); only those with ``trigger_on_each_run`` while a not-started run remains.
        Called with the store locked: the payloads are taken now, the POSTs sent from a thread."""
        chosen = [s for s in reversed(project.webhooks) if s.is_active and (s.trigger_on_each_run or not has_next_run)]
        if not chosen:
            return
        outgoing = [
            Outgoing(s.target_url, project.uuid, run.uuid, json.dumps(payload(project, run, s, policies)).encode())
            for s in chosen
        ]
        with self.lock:
            self.pending += len(outgoing)
        thread = threading.Thread(target=self.post_all, args=(outgoing,), name="scio-webhooks", daemon=True)
        thread.start()

    def post_all(self, outgoing: list[Outgoing]) -> None:
        """One after the other, as the real loop does."""
        for item in outgoing:
            self.record(post(item, self.timeout))

    def record(self, delivery: Delivery) -> None:
        with self.lock:
            self.pending -= 1
            self.attempted += 1
            if delivery.success:
                self.delivered += 1
            else:
                self.failed += 1
            self.last.append(delivery)

    def view(self) -> dict[str, Any]:
        with self.lock:
            return {
                "attempted": self.attempted,
                "delivered": self.delivered,
                "failed": self.failed,
                "pending": self.pending,
                "last": [delivery.as_dict() for delivery in self.last],
            }
