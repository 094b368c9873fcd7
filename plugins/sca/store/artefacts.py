"""The artefact store: every file a scan makes or reads, under one root, through Airflow's
``ObjectStoragePath`` (``file://`` locally; ``s3://``/``gs://`` in production with the matching
provider and ``SCA_ARTEFACT_CONN_ID``).

Layout under the root:
- ``inputs/sha256/<ab>/<sha256>``: fetched inputs, content-addressed (the same bytes once);
- ``tools/<tool>/<scan key short>/…``: each tool's outputs and its typed result, per scan key,
  so a reused scan points at the same files;
- ``reports/<dag id>/<run id>/<unit>/…``: the reports of one scan.

Every write streams and hashes as it goes and lands under its final name only when complete
(a temporary name first), so a reader never sees half a file. Tasks exchange ``ArtefactRef``s
(URI, sha256, size, media type), never local paths.
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
import os
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from airflow.sdk import ObjectStoragePath

from sca.common.files import safe_filename
from sca.core.results import ArtefactRef

ROOT_ENV = "SCA_ARTEFACT_ROOT"
CONN_ENV = "SCA_ARTEFACT_CONN_ID"
CHUNK = 1024 * 1024

mimetypes.add_type("application/json", ".json")
mimetypes.add_type("text/markdown", ".md")
mimetypes.add_type("application/rdf+xml", ".rdf")


class ArtefactError(RuntimeError):
    """An artefact is missing or its bytes no longer match its sha256."""


class TooLargeError(ValueError):
    """More bytes than the caller allowed."""


def media_type_of(name: str) -> str:
    if name.endswith((".tar.gz", ".tgz")):
        return "application/gzip"
    if name.endswith(".whl"):
        return "application/zip"
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


class ArtefactStore:
    def __init__(self, root: str | None = None, conn_id: str | None = None) -> None:
        chosen = root or os.environ.get(ROOT_ENV)
        if not chosen:  # no silent worker-local default: every host must see the same store
            raise ArtefactError(
                f"{ROOT_ENV} is not set: give the artefact store's root URI shared by every worker "
                "(file:///shared/path, s3://bucket/prefix, gs://bucket/prefix)"
            )
        self.root_uri = chosen.rstrip("/")
        self.conn_id = conn_id or os.environ.get(CONN_ENV) or None
        self.root = self.path(self.root_uri)

    def path(self, uri: str) -> ObjectStoragePath:
        return ObjectStoragePath(uri, conn_id=self.conn_id) if self.conn_id else ObjectStoragePath(uri)

    def _under(self, rel: str) -> ObjectStoragePath:
        parts = [safe_filename(p) for p in rel.split("/") if p]
        return self.path(self.root_uri + "/" + "/".join(parts))

    def _write(
        self, chunks: Iterable[bytes], target: ObjectStoragePath, max_bytes: int | None
    ) -> tuple[ObjectStoragePath, str, int]:
        """Stream to a temporary name beside ``target``, hashing; returns (temp path, sha256, size)."""
        target.parent.mkdir(parents=True, exist_ok=True)
        temp = target.parent / f".part-{uuid.uuid4().hex}"
        digest, size = hashlib.sha256(), 0
        try:
            with temp.open("wb") as handle:
                for chunk in chunks:
                    if not chunk:
                        continue
                    size += len(chunk)
                    if max_bytes is not None and size > max_bytes:
                        raise TooLargeError(f"over the limit of {max_bytes} bytes")
                    digest.update(chunk)
                    handle.write(chunk)
        except BaseException:
            if temp.exists():
                temp.unlink()
            raise
        return temp, digest.hexdigest(), size

    @staticmethod
    def _publish(temp: ObjectStoragePath, target: ObjectStoragePath) -> None:
        """Give ``temp`` its final name. Local files are renamed atomically (a reader sees the old
        file or the new one, never a half); object stores write whole objects anyway."""
        target.parent.mkdir(parents=True, exist_ok=True)
        if temp.protocol in ("file", "local"):
            os.replace(temp.path, target.path)
            return
        temp.rename(target)
        if temp.exists():  # ObjectStoragePath renames across object stores by copying
            temp.unlink()

    def put_stream(
        self, chunks: Iterable[bytes], rel: str, media_type: str | None = None, max_bytes: int | None = None
    ) -> ArtefactRef:
        target = self._under(rel)
        temp, sha256, size = self._write(chunks, target, max_bytes)
        self._publish(temp, target)
        return ArtefactRef(str(target), sha256, size, media_type or media_type_of(target.name), target.name)

    def put_input(
        self, chunks: Iterable[bytes], filename: str, media_type: str | None = None, max_bytes: int | None = None
    ) -> ArtefactRef:
        """Content-addressed: ``inputs/sha256/<ab>/<sha256>``; the same bytes are stored once."""
        staging = self._under("inputs/staging/" + uuid.uuid4().hex)
        temp, sha256, size = self._write(chunks, staging, max_bytes)
        target = self._under(f"inputs/sha256/{sha256[:2]}/{sha256}")
        if target.exists() and target.stat().st_size == size:
            temp.unlink()  # the same content is already there (the name is its sha256)
        else:
            self._publish(temp, target)
        return ArtefactRef(str(target), sha256, size, media_type or media_type_of(filename), safe_filename(filename))

    def put_file(self, local: Path, rel: str, media_type: str | None = None) -> ArtefactRef:
        with open(local, "rb") as handle:
            return self.put_stream(iter(lambda: handle.read(CHUNK), b""), rel, media_type or media_type_of(local.name))

    def put_json(self, value: Any, rel: str) -> ArtefactRef:
        body = json.dumps(value, indent=2, sort_keys=True, default=str).encode()
        return self.put_stream([body], rel, "application/json")

    def put_text(self, text: str, rel: str, media_type: str | None = None) -> ArtefactRef:
        return self.put_stream([text.encode()], rel, media_type)

    def exists(self, uri: str) -> bool:
        return bool(self.path(uri).exists())

    def uri_for(self, rel: str) -> str:
        """The URI an artefact stored under ``rel`` has (whether or not it exists yet)."""
        return str(self._under(rel))

    def open(self, uri: str) -> IO[bytes]:
        path = self.path(uri)
        if not path.exists():
            raise ArtefactError(f"artefact {uri} is not in the store")
        return path.open("rb")

    def chunks(self, uri: str) -> Iterator[bytes]:
        with self.open(uri) as handle:
            yield from iter(lambda: handle.read(CHUNK), b"")

    def read_json(self, uri: str) -> Any:
        with self.open(uri) as handle:
            return json.load(handle)

    def copy_to_local(self, ref: ArtefactRef, folder: Path, name: str | None = None) -> Path:
        """Stream an artefact into ``folder`` (a task's own working folder), checking its sha256
        on the way: a tool is never handed bytes other than the ones that were hashed."""
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / safe_filename(name or ref.name or "artefact")
        digest, size = hashlib.sha256(), 0
        with open(target, "wb") as out:
            for chunk in self.chunks(ref.uri):
                digest.update(chunk)
                size += len(chunk)
                out.write(chunk)
        if digest.hexdigest() != ref.sha256 or size != ref.size:
            target.unlink(missing_ok=True)
            raise ArtefactError(
                f"artefact {ref.uri} changed in the store: expected sha256 {ref.sha256} ({ref.size} bytes), "
                f"read {digest.hexdigest()} ({size} bytes)"
            )
        return target

    def delete(self, uri: str) -> bool:
        path = self.path(uri)
        if path.exists():
            path.unlink()
            return True
        return False
