"""Fetched bytes are checked before any tool: each bad input is refused with its cause."""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

import pytest

from sca.pipeline.fetch import InputError
from sca.pipeline.inspect import InputSummary, inspect_input

DEMO = Path(__file__).resolve().parents[2] / "include" / "demo"


def tar_gz(tmp_path: Path, files: dict[str, bytes], name: str = "pkg-1.0.tar.gz") -> Path:
    path = tmp_path / name
    with tarfile.open(path, "w:gz") as archive:
        for member, data in files.items():
            info = tarfile.TarInfo(member)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def test_the_demo_inputs_open_with_their_file_counts() -> None:
    assert inspect_input(DEMO / "six-1.16.0-py2.py3-none-any.whl", "six-1.16.0-py2.py3-none-any.whl") == InputSummary(
        "zip", 6
    )
    with tarfile.open(DEMO / "six-1.16.0.tar.gz") as archive:
        expected = sum(1 for m in archive.getmembers() if m.isfile())
    assert inspect_input(DEMO / "six-1.16.0.tar.gz", "six-1.16.0.tar.gz") == InputSummary("tar", expected)


def test_a_truncated_tar_gz_is_refused_with_the_reason(tmp_path: Path) -> None:
    whole = tar_gz(tmp_path, {"pkg/a.py": bytes(range(256)) * 400, "pkg/b.py": b"x" * 50_000})
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(InputError) as info:
        inspect_input(cut, "pkg-1.0.tar.gz")
    assert str(info.value).startswith(
        f"input pkg-1.0.tar.gz ({cut.stat().st_size} bytes) is not a readable tar archive:"
    )
    assert "Compressed file ended before the end-of-stream marker was reached" in str(info.value)


def test_an_empty_file_and_a_web_page_are_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty.tar.gz"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match=r"^input pkg\.tar\.gz is empty \(0 bytes\): nothing to scan$"):
        inspect_input(empty, "pkg.tar.gz")
    page = tmp_path / "page.tar.gz"
    page.write_bytes(b"\n<!DOCTYPE html><html><body>Download moved</body></html>")
    with pytest.raises(InputError, match=r"is an HTML/XML page, not a package"):
        inspect_input(page, "pkg.tar.gz")


def test_a_zip_with_a_bad_member_and_an_archive_without_files(tmp_path: Path) -> None:
    good = tmp_path / "w.whl"
    with zipfile.ZipFile(good, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("pkg/__init__.py", b"A" * 1000)
    data = bytearray(good.read_bytes())
    offset = data.index(b"A" * 1000)
    data[offset] = ord("B")  # flips the member's content: its CRC no longer matches
    bad = tmp_path / "bad.whl"
    bad.write_bytes(bytes(data))
    with pytest.raises(InputError, match=r"member 'pkg/__init__.py' fails its CRC check"):
        inspect_input(bad, "pkg-1.0-py3-none-any.whl")
    hollow = tar_gz(tmp_path, {}, "hollow.tar.gz")
    with pytest.raises(InputError, match=r"^input hollow.tar.gz is a tar archive with no file in it"):
        inspect_input(hollow, "hollow.tar.gz")


def test_a_deb_must_be_an_ar_archive(tmp_path: Path) -> None:
    deb = tmp_path / "x.deb"
    member = b"2.0\n"
    header = b"debian-binary   " + b"0           " + b"0     0     100644  " + f"{len(member):<10}".encode() + b"`\n"
    deb.write_bytes(b"!<arch>\n" + header + member)
    assert inspect_input(deb, "x_1.0_all.deb") == InputSummary("ar", 1)
    cut = tmp_path / "cut.deb"
    cut.write_bytes(deb.read_bytes()[:-2])
    with pytest.raises(InputError, match=r"ar member 'debian-binary' is cut off"):
        inspect_input(cut, "x_1.0_all.deb")
    not_ar = tmp_path / "n.deb"
    not_ar.write_bytes(b"PK\x03\x04 not an ar file")
    with pytest.raises(InputError, match=r"no ar archive header"):
        inspect_input(not_ar, "x_1.0_all.deb")
