"""Typed errors raised by the service clients.

Each error names the service, the HTTP method, the URL and the status, and carries the server's
own message, so a failed task says what went wrong without a trip to the server's logs.
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


class ServiceError(Exception):
    """Base class of every error a service client raises."""

    def __init__(
        self,
        message: str,
        *,
        service: str = "",
        method: str = "",
        url: str = "",
        status: int | None = None,
        detail: object = None,
    ) -> None:
        super().__init__(message)
        self.service = service
        self.method = method
        self.url = url
        self.status = status
        self.detail = detail
        # Set by the transports: the server's Retry-After (seconds), and whether the request
        # certainly never reached the server (refused, 429), so even a POST may be sent again.
        self.retry_after: float | None = None
        self.unsent = False

    @classmethod
    def from_response(cls, *, service: str, method: str, url: str, status: int | None, detail: object) -> ServiceError:
        where = f"{service} {method} {url}"
        what = f"HTTP {status}" if status is not None else "no response"
        return cls(
            f"{where} -> {what}: {detail}", service=service, method=method, url=url, status=status, detail=detail
        )


class PermanentServiceError(ServiceError):
    """The request is wrong (4xx other than 408/429): retrying cannot help."""


class AuthenticationError(PermanentServiceError):
    """The credentials were missing, wrong or expired (401/403 or the service's own code)."""


class NotFoundError(PermanentServiceError):
    """The object does not exist (404)."""


class TransientServiceError(ServiceError):
    """5xx, 429, timeouts, resets: retried with backoff, raised once the attempts are spent."""


def retryable(error: BaseException, *, idempotent: bool) -> bool:
    """May the request that raised ``error`` be sent again? Only a transient failure, and for a
    request that is not idempotent (a POST that creates) only when the server cannot have acted."""
    if not isinstance(error, TransientServiceError):
        return False
    if idempotent or error.unsent:
        return True
    log.warning("%s: not retried (the server may have acted on this %s)", error, error.method or "request")
    return False


class RunFailedError(ServiceError):
    """A remote run ended in a failed, stopped or stale state."""


class DeadlineExceededError(ServiceError):
    """A remote run was still not finished when the wait's deadline passed."""


def is_permanent(error: BaseException) -> bool:
    """Retrying cannot fix it: a 4xx, or a bad value (unknown pipeline, bad input, invalid purl).
    A body that is not JSON is not a bad value: a proxy's HTML page or a cut-off reply is retried."""
    import json

    if isinstance(error, json.JSONDecodeError):
        return False
    return isinstance(error, PermanentServiceError | ValueError)
