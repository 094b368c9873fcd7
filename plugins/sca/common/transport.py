"""One HTTP transport per service, sync (requests) and async (aiohttp), with one retry policy.

Both sides classify answers the same way: 2xx is returned, 401/403 raise AuthenticationError,
404 NotFoundError, other 4xx PermanentServiceError (never retried), and 5xx/429/408, timeouts and
connection resets are retried with backoff, then raised as TransientServiceError. Headers (which
carry credentials) never appear in an error or a log line.
"""

from __future__ import annotations

import asyncio
import json as jsonlib
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import aiohttp
import requests

from sca.common.errors import (
    AuthenticationError,
    NotFoundError,
    PermanentServiceError,
    ServiceError,
    TransientServiceError,
)
from sca.common.files import filename_from_content_disposition, safe_filename, write_stream_atomically
from sca.common.retry import RetryPolicy, is_retryable_status, parse_retry_after

log = logging.getLogger(__name__)

FormData = Mapping[str, Any] | list[tuple[str, Any]]
FileSpec = Mapping[str, Path]
DOWNLOAD_CHUNK = 1024 * 1024


def detail_of(body: str) -> object:
    """The server's message: parsed JSON when it is JSON, else the first 500 characters."""
    try:
        return jsonlib.loads(body)
    except ValueError:
        return body.strip()[:500]


def error_class_for(status: int) -> type[ServiceError]:
    if status in (401, 403):
        return AuthenticationError
    if status == 404:
        return NotFoundError
    if is_retryable_status(status):
        return TransientServiceError
    return PermanentServiceError


def failure(
    service: str,
    method: str,
    url: str,
    status: int | None,
    body: str | None = None,
    retry_after: str | None = None,
    cause: str = "",
) -> tuple[ServiceError, float | None]:
    """The typed error for a failed answer (or, with no status, a failed connection), and how long
    the server asked us to wait. Shared by both transports so they classify alike."""
    if status is None:
        return TransientServiceError.from_response(
            service=service, method=method, url=url, status=None, detail=cause
        ), None
    error = error_class_for(status).from_response(
        service=service, method=method, url=url, status=status, detail=detail_of(body or "")
    )
    return error, parse_retry_after(retry_after)


IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


def never_connected(exc: Exception) -> bool:
    """The request never reached the server (refused, or no connection in time)."""
    import urllib3.exceptions

    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, urllib3.exceptions.NewConnectionError | urllib3.exceptions.ConnectTimeoutError)


def join_url(base_url: str, path: str) -> str:
    if path.startswith(("http://", "https://")):
        return path
    return urljoin(base_url.rstrip("/") + "/", path.lstrip("/"))


class HttpTransport:
    """Synchronous requests to one service, for workers and scripts."""

    def __init__(
        self,
        base_url: str,
        *,
        service: str,
        headers: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float = 120.0,
        connect_timeout: float = 10.0,
        retry: RetryPolicy | None = None,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url
        self.service = service
        self.timeout = (connect_timeout, timeout)
        self.retry = retry or RetryPolicy()
        self.session = session or requests.Session()
        self.session.headers.update(headers or {})
        if auth:
            self.session.auth = auth
        self._sleep = sleep

    def url(self, path: str) -> str:
        return join_url(self.base_url, path)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: FormData | bytes | None = None,
        files: FileSpec | None = None,
        headers: Mapping[str, str] | None = None,
        stream: bool = False,
        retry: RetryPolicy | None = None,
        idempotent: bool | None = None,
    ) -> requests.Response:
        """Send a request, retrying transient failures; return a 2xx response or raise.

        A request that is not ``idempotent`` (by default: a POST) is retried only when the
        server cannot have acted on it: the connection was never made, or it answered 429.
        After a 5xx, a read timeout or a reset the server may have created something, so the
        error is raised and the caller re-attaches (find by name, the ledger) instead of
        sending it again."""
        url = self.url(path)
        policy = retry or self.retry
        safe = idempotent if idempotent is not None else method.upper() in IDEMPOTENT_METHODS
        for attempt in range(1, policy.attempts + 1):
            try:
                with ExitStack() as stack:
                    opened = {
                        field: (file.name, stack.enter_context(open(file, "rb")))
                        for field, file in (files or {}).items()
                    }
                    response = self.session.request(
                        method,
                        url,
                        params=params,
                        json=json,
                        data=data,
                        files=opened or None,
                        headers=headers,
                        stream=stream,
                        timeout=self.timeout,
                    )
            except (requests.ConnectionError, requests.Timeout) as exc:
                error, retry_after = failure(self.service, method, url, None, cause=type(exc).__name__)
                unsent = never_connected(exc)
            else:
                if response.status_code < 400:
                    return response
                error, retry_after = failure(
                    self.service, method, url, response.status_code, response.text, response.headers.get("Retry-After")
                )
                unsent = response.status_code == 429
                response.close()
            if not isinstance(error, TransientServiceError) or attempt == policy.attempts:
                raise error
            if not (safe or unsent):
                log.warning("%s: not retried (a %s may have been acted on)", error, method)
                raise error
            wait = policy.delay(attempt, retry_after)
            log.warning("%s (attempt %d/%d), retrying in %.1f s", error, attempt, policy.attempts, wait)
            self._sleep(wait)
        raise AssertionError("unreachable")

    def get_json(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs).json()

    def post_json(self, path: str, payload: Any = None, **kwargs: Any) -> Any:
        """POST JSON; pass ``idempotent=True`` for a POST that only reads (a search by body)."""
        response = self.request("POST", path, json=payload, **kwargs)
        return response.json() if response.content else None

    def iter_pages(self, path: str, params: Mapping[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        """Items of a DRF-paginated list ({count, next, previous, results}), every page followed."""
        page: Any = self.get_json(path, params=params)
        while True:
            if isinstance(page, list):  # an unpaginated list
                yield from page
                return
            yield from page.get("results", [])
            next_url = page.get("next")
            if not next_url:
                return
            page = self.get_json(next_url)

    def download(
        self,
        path: str,
        destination_dir: Path,
        *,
        params: Mapping[str, Any] | None = None,
        default_name: str = "download",
        filename: str | None = None,
        name_prefix: str = "",
    ) -> Path:
        """Stream a response body to ``destination_dir`` (atomic write); return the file's path.

        The name comes from ``filename``, else the server's Content-Disposition, else
        ``default_name`` (after ``name_prefix``); it is sanitised so it cannot leave the folder.
        A stream that breaks mid-body is fetched again under the same retry policy.
        """
        for attempt in range(1, self.retry.attempts + 1):
            response = self.request("GET", path, params=params, stream=True)
            with response:
                name = filename or filename_from_content_disposition(response.headers.get("Content-Disposition"))
                target = Path(destination_dir) / safe_filename(name_prefix + (name or default_name), default_name)
                try:
                    write_stream_atomically(response.iter_content(DOWNLOAD_CHUNK), target)
                    return target
                except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
                    if attempt == self.retry.attempts:
                        raise TransientServiceError.from_response(
                            service=self.service,
                            method="GET",
                            url=self.url(path),
                            status=response.status_code,
                            detail=f"stream broke: {type(exc).__name__}",
                        ) from exc
            self._sleep(self.retry.delay(attempt))
        raise AssertionError("unreachable")


class AsyncHttpTransport:
    """Asynchronous JSON requests to one service, for triggers (aiohttp only, no blocking I/O)."""

    def __init__(
        self,
        base_url: str,
        *,
        service: str,
        headers: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float = 60.0,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.base_url = base_url
        self.service = service
        self.headers = dict(headers or {})
        self.auth = aiohttp.BasicAuth(*auth) if auth else None
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.retry = retry or RetryPolicy()

    async def request_json(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
    ) -> Any:
        url = join_url(self.base_url, path)
        policy = self.retry
        for attempt in range(1, policy.attempts + 1):
            try:
                async with aiohttp.ClientSession(headers=self.headers, auth=self.auth, timeout=self.timeout) as session:
                    async with session.request(method, url, params=params, json=json) as response:
                        body = await response.text()
                        if response.status < 400:
                            return jsonlib.loads(body) if body else None
                        error, retry_after = failure(
                            self.service, method, url, response.status, body, response.headers.get("Retry-After")
                        )
            except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError, TimeoutError) as exc:
                error, retry_after = failure(self.service, method, url, None, cause=type(exc).__name__)
            if not isinstance(error, TransientServiceError) or attempt == policy.attempts:
                raise error
            wait = policy.delay(attempt, retry_after)
            log.warning("%s (attempt %d/%d), retrying in %.1f s", error, attempt, policy.attempts, wait)
            await asyncio.sleep(wait)
        raise AssertionError("unreachable")

    async def get_json(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return await self.request_json("GET", path, params=params)

    async def post_json(self, path: str, payload: Any = None) -> Any:
        return await self.request_json("POST", path, json=payload)
