"""Filesystem helpers: safe filenames for server-provided names, atomic streamed writes."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Iterable
from email.message import Message
from pathlib import Path

_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]+")


def safe_filename(name: str, default: str = "download") -> str:
    """A filename that cannot escape its folder: no separators, no leading dots, <= 200 chars."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = _UNSAFE.sub("_", base).lstrip(".")[:200]
    return base or default


def filename_from_content_disposition(header: str | None) -> str | None:
    if not header:
        return None
    message = Message()
    message["content-disposition"] = header
    name = message.get_filename()
    return str(name) if name else None


def write_stream_atomically(chunks: Iterable[bytes], destination: Path) -> int:
    """Write chunks to a temp file beside ``destination`` and rename it in place; returns bytes."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".part-", dir=destination.parent)
    size = 0
    try:
        with os.fdopen(fd, "wb") as handle:
            for chunk in chunks:
                if chunk:
                    handle.write(chunk)
                    size += len(chunk)
        os.replace(tmp_name, destination)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return size


def sha256_of(path: Path) -> str:
    """The file's sha256, read in 1 MiB blocks (inputs can be hundreds of MiB)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()
