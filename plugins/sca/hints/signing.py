"""Callback URLs a service cannot be tricked into forging: ``…/<service>/<project>/<signature>``
with an HMAC-SHA256 of the service and project name under the ``sca_webhooks`` secret. Pure."""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import quote

SERVICES = frozenset({"scancodeio"})


def signature(secret: str, service: str, project: str) -> str:
    if not secret:
        raise ValueError("the webhook secret is empty")
    message = f"{service}\n{project}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()[:40]


def callback_url(base_url: str, secret: str, service: str, project: str) -> str:
    """Where ``service`` posts when a run of ``project`` ends."""
    if service not in SERVICES:
        raise ValueError(f"no run-end hints for service {service!r} (known: {', '.join(sorted(SERVICES))})")
    return f"{base_url.rstrip('/')}/{service}/{quote(project, safe='/')}/{signature(secret, service, project)}"


def is_valid(secret: str, service: str, project: str, given: str) -> bool:
    if not secret or service not in SERVICES:
        return False
    return hmac.compare_digest(signature(secret, service, project).encode(), given.encode("utf-8", "surrogatepass"))
