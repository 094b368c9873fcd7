"""Input fetching: paths stay inside the inputs folder; URLs are streamed once, with limits,
into the content-addressed artefact store."""

from __future__ import annotations

import contextlib
import hashlib
import http.server
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sca.common.errors import PermanentServiceError
from sca.common.retry import RetryPolicy
from sca.core.results import InputRef
from sca.pipeline.fetch import InputError, Validators, expand_variables, fetch_input, input_kind
from sca.store.artefacts import ArtefactStore
from tests.unit.scripted_server import Reply, scripted_server

FAST = RetryPolicy(attempts=3, initial_delay=0.01, max_delay=0.02)


def store_at(folder: Path) -> ArtefactStore:
    return ArtefactStore("file://" + str(folder))


def stored_files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def test_kinds() -> None:
    assert input_kind("pkg:pypi/six@1.16.0") == "purl"
    assert input_kind("https://example.invalid/x.tgz") == "url"
    assert input_kind("six.whl") == "path"


def test_path_inside_the_inputs_folder(tmp_path: Path) -> None:
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    (inputs / "pkg.tar.gz").write_bytes(b"abc")
    store = store_at(tmp_path / "out")
    fetched = fetch_input("pkg.tar.gz", inputs_dir=inputs, store=store, max_bytes=10)
    digest = hashlib.sha256(b"abc").hexdigest()
    assert fetched.sha256 == digest and fetched.filename == "pkg.tar.gz"
    assert fetched.artefact.uri == f"file://{tmp_path}/out/inputs/sha256/{digest[:2]}/{digest}"
    assert b"".join(store.chunks(fetched.artefact.uri)) == b"abc"
    with pytest.raises(InputError, match="outside the inputs folder"):
        fetch_input("../secret", inputs_dir=inputs, store=store_at(tmp_path / "out"), max_bytes=10)
    with pytest.raises(InputError, match="not a file under the inputs folder"):
        fetch_input("missing.zip", inputs_dir=inputs, store=store_at(tmp_path / "out"), max_bytes=10)
    with pytest.raises(InputError, match="over the limit"):
        fetch_input("pkg.tar.gz", inputs_dir=inputs, store=store_at(tmp_path / "out"), max_bytes=2)
    with pytest.raises(InputError, match="empty"):
        fetch_input("  ", inputs_dir=inputs, store=store_at(tmp_path / "out"), max_bytes=2)


def test_url_download_checks(tmp_path: Path) -> None:
    body = b"\x1f\x8b" + b"x" * 5000
    with scripted_server() as srv:
        srv.script("/pkg-1.0.tar.gz", Reply(503, b"busy"), Reply(200, body, {"Content-Type": "application/gzip"}))
        srv.script("/page", Reply(200, b"<html>download page</html>", {"Content-Type": "text/html; charset=utf-8"}))
        srv.script("/gone.zip", Reply(404, b"not here"))
        fetched = fetch_input(
            srv.url + "/pkg-1.0.tar.gz",
            inputs_dir=tmp_path,
            store=store_at(tmp_path / "out"),
            max_bytes=10_000,
            retry=FAST,
        )
        assert fetched.filename == "pkg-1.0.tar.gz" and fetched.artefact.size == len(body)
        assert fetched.sha256 == hashlib.sha256(body).hexdigest()
        assert srv.count("/pkg-1.0.tar.gz") == 2
        with pytest.raises(InputError, match="text/html, not a package archive"):
            fetch_input(srv.url + "/page", inputs_dir=tmp_path, store=store_at(tmp_path / "out"), max_bytes=10_000)
        with pytest.raises(PermanentServiceError, match="gone.zip answered HTTP 404"):
            fetch_input(srv.url + "/gone.zip", inputs_dir=tmp_path, store=store_at(tmp_path / "out"), max_bytes=10)
        assert srv.count("/gone.zip") == 1
        with pytest.raises(InputError, match="over the limit"):
            fetch_input(
                srv.url + "/pkg-1.0.tar.gz",
                inputs_dir=tmp_path,
                store=store_at(tmp_path / "small"),
                max_bytes=100,
                retry=FAST,
            )
        assert stored_files(tmp_path / "small") == [], "a refused download leaves nothing in the store"


def test_purl_is_resolved_then_downloaded(tmp_path: Path) -> None:
    with scripted_server() as srv:
        srv.script("/six.whl", Reply(200, b"wheel", {"Content-Type": "application/octet-stream"}))
        fetched = fetch_input(
            "pkg:pypi/six@1.16.0",
            inputs_dir=tmp_path,
            store=store_at(tmp_path / "out"),
            max_bytes=99,
            resolve_purl=lambda purl: (srv.url + "/six.whl", "purldb"),
        )
    assert (fetched.kind, fetched.purl, fetched.resolved_by) == ("purl", "pkg:pypi/six@1.16.0", "purldb")


def test_recorded_urls_lose_credentials_and_query() -> None:
    from sca.pipeline.fetch import redact_url

    assert redact_url("https://bot:s3cret@example.invalid:8443/pkg.tgz?X-Amz-Signature=abc#x") == (
        "https://example.invalid:8443/pkg.tgz?…"
    )
    assert redact_url("pkg:pypi/six@1.16.0") == "pkg:pypi/six@1.16.0"


def test_only_errors_retrying_cannot_fix_are_permanent() -> None:
    import json

    from sca.common.errors import TransientServiceError, is_permanent

    assert is_permanent(InputError("bad path")) and is_permanent(PermanentServiceError("404"))
    assert not is_permanent(json.JSONDecodeError("Expecting value", "<html>", 0)), "a proxy's HTML page"
    assert not is_permanent(TransientServiceError("503"))


class MemoryValidators:
    """A ``ValidatorCache`` in memory, with the same remember-then-commit rule as the warehouse's."""

    def __init__(self, store: ArtefactStore) -> None:
        self.store = store
        self.saved: dict[str, Validators] = {}
        self.pending: list[tuple[str, Validators]] = []

    def lookup(self, url: str) -> Validators | None:
        known = self.saved.get(url)
        return known if known is not None and self.store.exists(known.artefact.uri) else None

    def remember(self, url: str, etag: str | None, last_modified: str | None, artefact) -> None:  # noqa: ANN001
        self.pending.append((url, Validators(etag, last_modified, artefact)))

    def commit(self) -> None:
        self.saved.update(self.pending)
        self.pending.clear()


@contextlib.contextmanager
def file_server(folder: Path) -> Iterator[tuple[str, list[tuple[str, int]]]]:
    """Python's own static file server (the stack's inputs server), answering If-Modified-Since."""
    answers: list[tuple[str, int]] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(folder), **kwargs)

        def log_request(self, code: Any = "-", size: Any = "-") -> None:
            answers.append((self.path, int(code)))

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", answers
    finally:
        server.shutdown()
        server.server_close()


def test_an_unchanged_url_is_not_downloaded_again(tmp_path: Path) -> None:
    served = tmp_path / "served"
    served.mkdir()
    archive = served / "pkg-1.0.tgz"
    archive.write_bytes(b"\x1f\x8b" + b"first" * 100)
    store = store_at(tmp_path / "out")
    cache = MemoryValidators(store)
    with file_server(served) as (base, answers):
        url = base + "/pkg-1.0.tgz"

        def fetch() -> InputRef:
            return fetch_input(url, inputs_dir=tmp_path, store=store, max_bytes=10_000, retry=FAST, validators=cache)

        first = fetch()
        assert cache.saved == {} and len(cache.pending) == 1, "validators wait for the caller's checks"
        cache.commit()
        second = fetch()
        assert second.artefact == first.artefact and second.sha256 == hashlib.sha256(archive.read_bytes()).hexdigest()
        archive.write_bytes(b"\x1f\x8b" + b"second" * 100)
        os.utime(archive, (archive.stat().st_atime, archive.stat().st_mtime + 5))
        third = fetch()
        cache.commit()
        assert third.sha256 == hashlib.sha256(archive.read_bytes()).hexdigest() != first.sha256
        store.delete(third.artefact.uri)  # retention removed the stored bytes: download in full
        fourth = fetch()
        assert fourth.sha256 == third.sha256 and store.exists(fourth.artefact.uri)
    assert [code for _, code in answers] == [200, 304, 200, 200]


def test_inputs_name_environment_variables_expanded_at_fetch_time() -> None:
    env = {"ARTIFACTS": "https://bot:tok@repo.example.invalid/pkgs", "V": "1.0"}
    assert expand_variables("${ARTIFACTS}/pkg-${V}.tgz", env) == "https://bot:tok@repo.example.invalid/pkgs/pkg-1.0.tgz"
    assert expand_variables("plain-$V-{V}.tgz", env) == "plain-$V-{V}.tgz"
    with pytest.raises(InputError, match=r"names \$\{MISSING\}, which is not set in the worker's environment"):
        expand_variables("${MISSING}/x.tgz", env)
