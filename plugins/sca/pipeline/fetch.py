"""Fetch one scan input once (a URL, a purl, or a path under the inputs folder) into the
artefact store, content-addressed, with its sha256 computed while it is written, a size limit and
a content-type check. Every tool then gets these bytes. No Airflow: the store is passed in.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlparse

import requests

from sca.common.errors import PermanentServiceError, TransientServiceError, retryable
from sca.common.files import filename_from_content_disposition, safe_filename
from sca.common.retry import RetryPolicy, is_retryable_status
from sca.common.transport import describe_exception
from sca.core.results import ArtefactRef, InputRef

CHUNK = 1024 * 1024
# Content types that can never be a package archive: an HTML page in place of a file is the
# usual mistake (a project page URL instead of its download URL).
REFUSED_CONTENT_TYPES = ("text/html", "application/xhtml+xml")


class InputError(ValueError):
    """The input cannot be fetched as given (bad path, 404, too big, wrong type): not retried."""


class InputSink(Protocol):
    def put_input(
        self, chunks: Iterable[bytes], filename: str, media_type: str | None = None, max_bytes: int | None = None
    ) -> ArtefactRef: ...


@dataclass(frozen=True)
class Validators:
    """What a URL answered last time: its ETag / Last-Modified, and the stored bytes they named."""

    etag: str | None
    last_modified: str | None
    artefact: ArtefactRef


class ValidatorCache(Protocol):
    """Conditional fetching (``If-None-Match`` / ``If-Modified-Since``): where validators are kept
    between nights (the warehouse's ``fetch_validators``); keyed by the URL, never storing it.
    ``remember`` may only hold them until the caller has checked the bytes (an archive that does
    not open must not be named by a validator the next night answers 304 to)."""

    def lookup(self, url: str) -> Validators | None: ...

    def remember(self, url: str, etag: str | None, last_modified: str | None, artefact: ArtefactRef) -> None: ...


VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def expand_variables(value: str, environ: Mapping[str, str]) -> str:
    """``${NAME}`` in an input, replaced from the environment at fetch time (a portfolio names
    ``${ARTIFACTS_URL}/pkg.tgz``; a token kept in the environment never reaches the portfolio
    file, the plan, XCom or the warehouse, which keep the input as written)."""

    def value_of(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in environ:
            raise InputError(f"input {value!r} names ${{{name}}}, which is not set in the worker's environment")
        return environ[name]

    return VARIABLE.sub(value_of, value)


def redact_url(value: str) -> str:
    """What may be recorded of an input: a URL loses its user:password and its query string
    (presigned URLs carry their token there); anything else is kept as given."""
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https"):
        return value
    host = parsed.hostname or ""
    netloc = host + (f":{parsed.port}" if parsed.port else "")
    return parsed._replace(netloc=netloc, query="…" if parsed.query else "", fragment="").geturl()


def input_kind(value: str) -> str:
    if value.startswith("pkg:"):
        return "purl"
    if urlparse(value).scheme in ("http", "https"):
        return "url"
    return "path"


def _limited(chunks: Iterable[bytes], max_bytes: int, what: str) -> Iterator[bytes]:
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > max_bytes:
            raise InputError(f"input {what} is over the limit of {max_bytes} bytes")
        yield chunk


def fetch_path(value: str, inputs_dir: Path, store: InputSink, max_bytes: int) -> InputRef:
    root = inputs_dir.resolve()
    source = (root / value).resolve()
    if root != source and root not in source.parents:
        raise InputError(f"input path {value!r} is outside the inputs folder {root}")
    if not source.is_file():
        raise InputError(f"input path {value!r} is not a file under the inputs folder {root}")
    size = source.stat().st_size
    if size > max_bytes:
        raise InputError(f"input {source} is {size} bytes, over the limit of {max_bytes}")
    with open(source, "rb") as handle:
        ref = store.put_input(iter(lambda: handle.read(CHUNK), b""), source.name)
    return InputRef(ref, ref.name, "path", value)


def download(
    url: str,
    store: InputSink,
    max_bytes: int,
    retry: RetryPolicy | None = None,
    sleep: Callable[[float], None] | None = None,
    validators: ValidatorCache | None = None,
) -> ArtefactRef:
    """Stream ``url`` into the store once. 5xx/429/resets (also mid-body: the partial write is
    discarded) are retried; 4xx, an HTML page or a body over ``max_bytes`` are refused. With
    ``validators``, a source that answers 304 Not Modified is not downloaded again: the bytes
    stored last time are used."""

    shown = redact_url(url)  # errors and logs never carry the URL's credentials
    known = validators.lookup(url) if validators is not None else None
    conditions = {}
    if known is not None and known.etag:
        conditions["If-None-Match"] = known.etag
    if known is not None and known.last_modified:
        conditions["If-Modified-Since"] = known.last_modified

    def attempt() -> ArtefactRef:
        try:
            with requests.get(url, stream=True, timeout=(10, 300), headers=conditions) as response:
                if response.status_code == 304 and known is not None:
                    return known.artefact
                if response.status_code >= 400 or response.status_code == 304:
                    status = response.status_code
                    cls = TransientServiceError if is_retryable_status(status) else PermanentServiceError
                    raise cls(f"input URL {shown} answered HTTP {status}", status=status, url=shown)
                content_type = (response.headers.get("Content-Type") or "").split(";")[0].strip().lower()
                if content_type in REFUSED_CONTENT_TYPES:
                    raise InputError(
                        f"input URL {shown} returned {content_type}, not a package archive "
                        "(is it a web page rather than the download link?)"
                    )
                declared = int(response.headers.get("Content-Length") or 0)
                if declared > max_bytes:
                    raise InputError(f"input URL {shown} is {declared} bytes, over the limit of {max_bytes}")
                name = (
                    filename_from_content_disposition(response.headers.get("Content-Disposition"))
                    or unquote(urlparse(url).path.rsplit("/", 1)[-1])
                    or "input"
                )
                ref = store.put_input(
                    _limited(response.iter_content(CHUNK), max_bytes, f"URL {shown}"), safe_filename(name, "input")
                )
                if declared and ref.size != declared:  # a body cut short without a protocol error
                    raise TransientServiceError(
                        f"input URL {shown}: {ref.size} of the {declared} bytes announced arrived", url=shown
                    )
                etag, modified = response.headers.get("ETag"), response.headers.get("Last-Modified")
                if validators is not None and (etag or modified):
                    validators.remember(url, etag, modified, ref)
                return ref
        except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as exc:
            raise TransientServiceError(
                f"input URL {shown}: no complete answer ({describe_exception(exc)})", url=shown
            ) from exc

    return (retry or RetryPolicy()).call(
        attempt, retry_if=lambda error: retryable(error, idempotent=True), sleep=sleep or time.sleep
    )


def fetch_input(
    value: str,
    *,
    inputs_dir: Path,
    store: InputSink,
    max_bytes: int,
    resolve_purl: Callable[[str], tuple[str, str]] | None = None,
    retry: RetryPolicy | None = None,
    validators: ValidatorCache | None = None,
) -> InputRef:
    """Fetch a URL, a purl (resolved to a download URL by ``resolve_purl``) or an inputs-folder path."""
    value = value.strip()
    if not value:
        raise InputError("the input is empty: give a URL, a purl or a path under the inputs folder")
    scheme = urlparse(value).scheme
    if "://" in value and scheme not in ("http", "https"):
        raise InputError(f"input {redact_url(value)}: the URL scheme {scheme!r} is not supported; give an http(s) URL")
    kind = input_kind(value)
    if kind == "path":
        return fetch_path(value, inputs_dir, store, max_bytes)
    if kind == "purl":
        if resolve_purl is None:
            raise InputError(f"cannot resolve {value}: no purl resolver configured")
        url, resolved_by = resolve_purl(value)
        ref = download(url, store, max_bytes, retry, validators=validators)
        return InputRef(ref, ref.name, "purl", value, redact_url(url), value, resolved_by)
    ref = download(value, store, max_bytes, retry, validators=validators)
    return InputRef(ref, ref.name, "url", redact_url(value), redact_url(value))
