"""One HTTP transport per service, sync (requests) and async (aiohttp), with one retry policy.

Both sides classify answers the same way: 2xx is returned, 401/403 raise AuthenticationError,
404 NotFoundError, other 4xx PermanentServiceError (never retried), and 5xx/429/408, timeouts and
connection resets are retried with backoff, then raised as TransientServiceError. Headers (which
carry credentials) never appear in an error or a log line.
"""

from __future__ import annotations

import json as jsonlib
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import requests

from sca.common.errors import (
    AuthenticationError,
    NotFoundError,
    PermanentServiceError,
    ServiceError,
    TransientServiceError,
    retryable,
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


def describe_exception(exc: BaseException) -> str:
    """An exception's type and its innermost cause, e.g. ``ConnectionError (RemoteDisconnected:
    Remote end closed connection without response)``: enough to tell a reset from a timeout."""
    inner: BaseException = exc
    while inner.__cause__ is not None or inner.__context__ is not None:
        inner = inner.__cause__ or inner.__context__  # type: ignore[assignment]
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    if reason is not None and not isinstance(reason, str):
        inner = reason
    if inner is exc:
        return type(exc).__name__
    return f"{type(exc).__name__} ({type(inner).__name__}: {str(inner)[:200]})"


def parse_json_body(service: str, method: str, url: str, status: int, body: str) -> Any:
    """A 2xx body as JSON; a body that is not JSON (a proxy's page, a cut-off reply) is a
    transient error naming the service, the URL and what came back."""
    if not body:
        return None
    try:
        return jsonlib.loads(body)
    except ValueError:
        raise TransientServiceError.from_response(
            service=service,
            method=method,
            url=url,
            status=status,
            detail=f"the body is not JSON: {body.strip()[:200]!r}",
        ) from None


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
        self.sleep = sleep

    def url(self, path: str) -> str:
        return join_url(self.base_url, path)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: FormData | bytes | Callable[[], Any] | None = None,
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
        sending it again. ``data`` may be a function returning the body: a stream is then
        built afresh for every attempt (a consumed generator is never sent again as empty)."""
        url = self.url(path)
        safe = idempotent if idempotent is not None else method.upper() in IDEMPOTENT_METHODS

        def attempt() -> requests.Response:
            return self._send_once(method, url, params, json, data, files, headers, stream)

        return (retry or self.retry).call(
            attempt, retry_if=lambda error: retryable(error, idempotent=safe), sleep=self.sleep
        )

    def request_json(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: FormData | bytes | Callable[[], Any] | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
    ) -> Any:
        """``request`` whose 2xx body is parsed as JSON within the attempt: a body that is not
        JSON is a transient error, retried like a 5xx where the request may be repeated."""
        url = self.url(path)
        safe = idempotent if idempotent is not None else method.upper() in IDEMPOTENT_METHODS

        def attempt() -> Any:
            response = self._send_once(method, url, params, json, data, None, headers, False)
            return parse_json_body(self.service, method, url, response.status_code, response.text)

        return self.retry.call(attempt, retry_if=lambda error: retryable(error, idempotent=safe), sleep=self.sleep)

    def _send_once(
        self,
        method: str,
        url: str,
        params: Mapping[str, Any] | None,
        json: Any,
        data: FormData | bytes | Callable[[], Any] | None,
        files: FileSpec | None,
        headers: Mapping[str, str] | None,
        stream: bool,
    ) -> requests.Response:
        try:
            with ExitStack() as stack:
                opened = {
                    field: (file.name, stack.enter_context(open(file, "rb"))) for field, file in (files or {}).items()
                }
                response = self.session.request(
                    method,
                    url,
                    params=params,
                    json=json,
                    data=data() if callable(data) else data,
                    files=opened or None,
                    headers=headers,
                    stream=stream,
                    timeout=self.timeout,
                )
        except (requests.ConnectionError, requests.Timeout) as exc:
            error, _ = failure(self.service, method, url, None, cause=describe_exception(exc))
            error.unsent = never_connected(exc)
            raise error from exc
        except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError) as exc:
            # the answer broke off mid-body: the server acted (it was answering), the body is lost
            raise TransientServiceError.from_response(
                service=self.service,
                method=method,
                url=url,
                status=None,
                detail=f"the answer broke off mid-body: {describe_exception(exc)}",
            ) from exc
        if response.status_code < 400:
            return response
        error, retry_after = failure(
            self.service, method, url, response.status_code, response.text, response.headers.get("Retry-After")
        )
        response.close()
        error.retry_after = retry_after
        error.unsent = response.status_code == 429
        raise error

    def get_json(self, path: str, **kwargs: Any) -> Any:
        return self.request_json("GET", path, **kwargs)

    def post_json(self, path: str, payload: Any = None, **kwargs: Any) -> Any:
        """POST JSON; pass ``idempotent=True`` for a POST that only reads (a search by body)."""
        return self.request_json("POST", path, json=payload, **kwargs)

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

        def attempt() -> Path:
            response = self._send_once("GET", self.url(path), params, None, None, None, None, True)
            with response:
                name = filename or filename_from_content_disposition(response.headers.get("Content-Disposition"))
                target = Path(destination_dir) / safe_filename(name_prefix + (name or default_name), default_name)
                try:
                    write_stream_atomically(response.iter_content(DOWNLOAD_CHUNK), target)
                except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
                    raise TransientServiceError.from_response(
                        service=self.service,
                        method="GET",
                        url=self.url(path),
                        status=response.status_code,
                        detail=f"the body broke off mid-stream: {describe_exception(exc)}",
                    ) from exc
                return target

        return self.retry.call(attempt, retry_if=lambda error: retryable(error, idempotent=True), sleep=self.sleep)


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
        # aiohttp is imported here, not at the top: every DAG file that builds an operator imports
        # this module, and aiohttp alone costs ~0.3 s of each parse (bench P5); triggers pay it once.
        import aiohttp

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
        idempotent: bool = False,
    ) -> Any:
        """One JSON request; GET/PUT/DELETE (and a POST marked ``idempotent``) are retried on
        transient failures, other POSTs only when they never reached the server."""
        url = join_url(self.base_url, path)
        safe = method.upper() in IDEMPOTENT_METHODS or idempotent

        import aiohttp

        async def attempt() -> Any:
            try:
                async with aiohttp.ClientSession(headers=self.headers, auth=self.auth, timeout=self.timeout) as session:
                    async with session.request(method, url, params=params, json=json) as response:
                        body = await response.text()
                        status, retry_after = response.status, response.headers.get("Retry-After")
            except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError, TimeoutError) as exc:
                error, _ = failure(self.service, method, url, None, cause=describe_exception(exc))
                error.unsent = isinstance(exc, aiohttp.ClientConnectorError)
                raise error from exc
            if status >= 400:
                error, error.retry_after = failure(self.service, method, url, status, body, retry_after)
                error.unsent = status == 429
                raise error
            return parse_json_body(self.service, method, url, status, body)

        return await self.retry.acall(attempt, retry_if=lambda error: retryable(error, idempotent=safe))

    async def get_json(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return await self.request_json("GET", path, params=params)

    async def post_json(self, path: str, payload: Any = None, *, idempotent: bool = False) -> Any:
        return await self.request_json("POST", path, json=payload, idempotent=idempotent)
