"""Check fetched bytes before any tool sees them: empty, a web page instead of a package, or an
archive that does not open to its end is refused with the cause. No Airflow, no network.

Every archive format ScanCode.io and FossID unpack for us is read through to its last member, so
a truncated download fails here (with Python's own reason, e.g. "Compressed file ended before
the end-of-stream marker was reached") instead of scanning half a package and reporting a pass.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import shutil
import tarfile
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sca.pipeline.fetch import InputError

HTML_MARKERS = (b"<!doctype html", b"<html", b"<head", b"<?xml version")
TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")
ZIP_SUFFIXES = (".zip", ".whl", ".jar", ".war", ".ear", ".egg", ".nupkg", ".apk", ".aar")
SINGLE_STREAM: dict[str, Callable[..., Any]] = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}
AR_MAGIC = b"!<arch>\n"
ARCHIVE_ERRORS = (tarfile.TarError, zipfile.BadZipFile, EOFError, zlib.error, OSError, lzma.LZMAError, ValueError)


@dataclass(frozen=True)
class InputSummary:
    kind: str  # "tar", "zip", "ar", "compressed", "file"
    files: int  # regular files inside (1 for a plain file)


def _kind(name: str) -> str:
    lower = name.lower()
    if lower.endswith(TAR_SUFFIXES):
        return "tar"
    if lower.endswith(ZIP_SUFFIXES):
        return "zip"
    if lower.endswith((".deb", ".a", ".ar")):
        return "ar"
    if lower.endswith(tuple(SINGLE_STREAM)):
        return "compressed"
    return "file"


def inspect_input(path: Path, name: str) -> InputSummary:
    """What ``path`` (fetched as ``name``) holds; raises InputError naming the cause when it is
    empty, a web page, or an archive that cannot be read to its end, or holds no file."""
    size = path.stat().st_size
    if size == 0:
        raise InputError(f"input {name} is empty (0 bytes): nothing to scan")
    with open(path, "rb") as handle:
        head = handle.read(512)
    if head.lstrip().lower().startswith(HTML_MARKERS):
        raise InputError(
            f"input {name} is an HTML/XML page, not a package ({size} bytes starting {head[:40]!r}): "
            "is the URL a web page rather than the download link?"
        )
    kind = _kind(name)
    try:
        if kind == "tar":
            files = _read_tar(path)
        elif kind == "zip":
            files = _read_zip(path)
        elif kind == "ar":
            files = _read_ar(path, head)
        elif kind == "compressed":
            files = _read_stream(path, name)
        else:
            files = 1
    except ARCHIVE_ERRORS as exc:
        cause = str(exc) or type(exc).__name__
        raise InputError(f"input {name} ({size} bytes) is not a readable {kind} archive: {cause}") from None
    if files == 0:
        raise InputError(f"input {name} is a {kind} archive with no file in it: nothing to scan")
    return InputSummary(kind, files)


def _read_tar(path: Path) -> int:
    files = 0
    with tarfile.open(path, "r:*") as archive:
        for member in archive:  # reading every member's data reaches the end of the stream
            if member.isfile():
                files += 1
                extracted = archive.extractfile(member)
                if extracted is not None:
                    shutil.copyfileobj(extracted, _Sink())
    return files


def _read_zip(path: Path) -> int:
    with zipfile.ZipFile(path) as archive:
        bad = archive.testzip()  # reads every member and checks its CRC
        if bad is not None:
            raise zipfile.BadZipFile(f"member {bad!r} fails its CRC check")
        return sum(1 for info in archive.infolist() if not info.is_dir())


def _read_ar(path: Path, head: bytes) -> int:
    if not head.startswith(AR_MAGIC):
        raise ValueError("no ar archive header ('!<arch>')")
    files, size = 0, path.stat().st_size
    with open(path, "rb") as handle:
        handle.seek(len(AR_MAGIC))
        while handle.tell() < size:
            header = handle.read(60)
            if len(header) < 60 or header[58:60] != b"`\n":
                raise ValueError(f"truncated or corrupt ar member header at byte {handle.tell() - len(header)}")
            length = int(header[48:58].decode().strip() or 0)
            if handle.tell() + length > size:
                raise ValueError(f"ar member {header[:16].decode(errors='replace').strip()!r} is cut off")
            handle.seek(length + (length % 2), 1)
            files += 1
    return files


def _read_stream(path: Path, name: str) -> int:
    opener = next(open_ for suffix, open_ in SINGLE_STREAM.items() if name.lower().endswith(suffix))
    with opener(path, "rb") as stream:
        shutil.copyfileobj(stream, _Sink())
    return 1


class _Sink:
    """A file object that discards what it is given (to read a stream to its end)."""

    def write(self, data: bytes) -> int:
        return len(data)
