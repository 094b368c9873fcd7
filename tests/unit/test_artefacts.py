"""The artefact store: content-addressed inputs, whole files or nothing, bytes checked on the way out."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from sca.store.artefacts import ArtefactError, ArtefactStore, TooLargeError
from sca.tasks.unit_base import XCOM_LIMIT, bounded


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def test_the_same_bytes_are_stored_once_under_their_sha256(tmp_path: Path) -> None:
    store = ArtefactStore("file://" + str(tmp_path))
    first = store.put_input([b"abc", b"def"], "a.tar.gz")
    second = store.put_input([b"abcdef"], "b.tar.gz")
    digest = hashlib.sha256(b"abcdef").hexdigest()
    assert first.uri == second.uri and (first.name, second.name) == ("a.tar.gz", "b.tar.gz")
    assert (first.sha256, first.size, first.media_type) == (digest, 6, "application/gzip")
    assert files_under(tmp_path) == [f"inputs/sha256/{digest[:2]}/{digest}"]


def test_a_failed_write_leaves_nothing(tmp_path: Path) -> None:
    store = ArtefactStore("file://" + str(tmp_path))

    def broken():
        yield b"x" * 10
        raise ConnectionResetError("cut mid-stream")

    with pytest.raises(ConnectionResetError):
        store.put_stream(broken(), "tools/scancodeio/k/results.json")
    with pytest.raises(TooLargeError):
        store.put_input([b"x" * 10, b"y" * 10], "big.zip", max_bytes=15)
    assert files_under(tmp_path) == []


def test_copies_are_checked_against_the_sha256(tmp_path: Path) -> None:
    store = ArtefactStore("file://" + str(tmp_path / "store"))
    ref = store.put_stream([b"results"], "tools/fossid/k/report.html")
    assert store.copy_to_local(ref, tmp_path / "work").read_bytes() == b"results"
    (tmp_path / "store" / "tools" / "fossid" / "k" / "report.html").write_bytes(b"tampered")
    with pytest.raises(ArtefactError, match="changed in the store"):
        store.copy_to_local(ref, tmp_path / "work2")
    assert not (tmp_path / "work2" / "report.html").exists()
    with pytest.raises(ArtefactError, match="not in the store"):
        store.read_json(ref.uri + ".missing")


def test_xcom_values_are_bounded() -> None:
    assert bounded({"verdict": "pass"}) == {"verdict": "pass"}
    with pytest.raises(ValueError, match=f"over the {XCOM_LIMIT}-byte limit"):
        bounded({"files": ["x" * 100] * 700})
