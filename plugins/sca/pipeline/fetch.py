"""Fetch one scan input once — a URL, a purl, or a path under the inputs folder — into the run
folder, with its sha256, a size limit and a content-type check. Every tool then gets these bytes.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

import requests

from sca.common.errors import PermanentServiceError, TransientServiceError
from sca.common.files import filename_from_content_disposition, safe_filename
from sca.common.retry import RetryPolicy, is_retryable_status

CHUNK = 1024 * 1024
# Content types that can never be a package archive: an HTML page in place of a file is the
# usual mistake (a project page URL instead of its download URL).
REFUSED_CONTENT_TYPES = ("text/html", "application/xhtml+xml")


class InputError(ValueError):
    """The input cannot be fetched as given (bad path, 404, too big, wrong type): not retried."""


@dataclass(frozen=True)
class FetchedInput:
    path: str
    filename: str
    sha256: str
    size: int
    kind: str  # url | purl | path
    source: str  # what the user gave
    download_url: str | None = None
    purl: str | None = None
    resolved_by: str | None = None

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def input_kind(value: str) -> str:
    if value.startswith("pkg:"):
        return "purl"
    if urlparse(value).scheme in ("http", "https"):
        return "url"
    return "path"


def _copy_with_digest(source: Path, target: Path, max_bytes: int) -> tuple[str, int]:
    size = source.stat().st_size
    if size > max_bytes:
        raise InputError(f"input {source} is {size} bytes, over the limit of {max_bytes}")
    digest = hashlib.sha256()
    with open(source, "rb") as src, open(target, "wb") as dst:
        for block in iter(lambda: src.read(CHUNK), b""):
            digest.update(block)
            dst.write(block)
    return digest.hexdigest(), size


def fetch_path(value: str, inputs_dir: Path, target_dir: Path, max_bytes: int) -> FetchedInput:
    root = inputs_dir.resolve()
    source = (root / value).resolve()
    if root != source and root not in source.parents:
        raise InputError(f"input path {value!r} is outside the inputs folder {root}")
    if not source.is_file():
        raise InputError(f"input path {value!r} is not a file under the inputs folder {root}")
    target = target_dir / safe_filename(source.name)
    sha256, size = _copy_with_digest(source, target, max_bytes)
    return FetchedInput(str(target), target.name, sha256, size, "path", value)


def download(
    url: str,
    target_dir: Path,
    max_bytes: int,
    retry: RetryPolicy | None = None,
    sleep: Callable[[float], None] | None = None,
) -> tuple[Path, str, int]:
    """Stream ``url`` to ``target_dir`` once: (path, sha256, size). 5xx/429/resets are retried;
    4xx, an HTML page or a body over ``max_bytes`` are refused with the reason."""
    import time

    policy = retry or RetryPolicy()
    wait = sleep or time.sleep
    for attempt in range(1, policy.attempts + 1):
        try:
            with requests.get(url, stream=True, timeout=(10, 300)) as response:
                if response.status_code >= 400:
                    if is_retryable_status(response.status_code) and attempt < policy.attempts:
                        wait(policy.delay(attempt))
                        continue
                    cls = TransientServiceError if is_retryable_status(response.status_code) else PermanentServiceError
                    raise cls(
                        f"input URL {url} answered HTTP {response.status_code}", status=response.status_code, url=url
                    )
                content_type = (response.headers.get("Content-Type") or "").split(";")[0].strip().lower()
                if content_type in REFUSED_CONTENT_TYPES:
                    raise InputError(
                        f"input URL {url} returned {content_type}, not a package archive "
                        "(is it a web page rather than the download link?)"
                    )
                declared = int(response.headers.get("Content-Length") or 0)
                if declared > max_bytes:
                    raise InputError(f"input URL {url} is {declared} bytes, over the limit of {max_bytes}")
                name = (
                    filename_from_content_disposition(response.headers.get("Content-Disposition"))
                    or unquote(urlparse(url).path.rsplit("/", 1)[-1])
                    or "input"
                )
                target = target_dir / safe_filename(name, "input")
                digest, size = hashlib.sha256(), 0
                partial = target.with_name(target.name + ".part")
                with open(partial, "wb") as handle:
                    for chunk in response.iter_content(CHUNK):
                        size += len(chunk)
                        if size > max_bytes:
                            handle.close()
                            partial.unlink(missing_ok=True)
                            raise InputError(f"input URL {url} is over the limit of {max_bytes} bytes")
                        digest.update(chunk)
                        handle.write(chunk)
                shutil.move(partial, target)
                return target, digest.hexdigest(), size
        except (requests.ConnectionError, requests.Timeout) as exc:
            if attempt == policy.attempts:
                raise TransientServiceError(
                    f"input URL {url}: {type(exc).__name__} after {attempt} attempts", url=url
                ) from exc
            wait(policy.delay(attempt))
    raise AssertionError("unreachable")


def fetch_input(
    value: str,
    *,
    inputs_dir: Path,
    target_dir: Path,
    max_bytes: int,
    resolve_purl: Callable[[str], tuple[str, str]] | None = None,
    retry: RetryPolicy | None = None,
) -> FetchedInput:
    """Fetch a URL, a purl (resolved to a download URL by ``resolve_purl``) or an inputs-folder path."""
    value = value.strip()
    if not value:
        raise InputError("the input is empty: give a URL, a purl or a path under the inputs folder")
    target_dir.mkdir(parents=True, exist_ok=True)
    kind = input_kind(value)
    if kind == "path":
        return fetch_path(value, inputs_dir, target_dir, max_bytes)
    if kind == "purl":
        if resolve_purl is None:
            raise InputError(f"cannot resolve {value}: no purl resolver configured")
        url, resolved_by = resolve_purl(value)
        path, sha256, size = download(url, target_dir, max_bytes, retry)
        return FetchedInput(str(path), path.name, sha256, size, "purl", value, url, value, resolved_by)
    path, sha256, size = download(value, target_dir, max_bytes, retry)
    return FetchedInput(str(path), path.name, sha256, size, "url", value, value)
