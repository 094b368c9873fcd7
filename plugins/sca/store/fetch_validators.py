"""The warehouse side of conditional fetching: a URL's last ETag / Last-Modified and the stored
bytes they named (``fetch_validators``), keyed by the URL's sha256 so no URL (a presigned one
carries its token) is kept. No Airflow."""

from __future__ import annotations

import hashlib
from typing import Any

from sca.core.results import ArtefactRef
from sca.pipeline.fetch import Validators, redact_url
from sca.store.db import transaction


def url_key(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()


class WarehouseValidators:
    """``ValidatorCache`` over the warehouse. A remembered artefact that the store no longer
    holds (retention deleted it) is forgotten, so the source is downloaded in full. What a
    download answered is written by ``commit``, once the caller has checked the bytes."""

    def __init__(self, conn: Any, exists: Any) -> None:
        self.conn = conn
        self.exists = exists
        self.pending: list[tuple[str, str | None, str | None, ArtefactRef]] = []

    def lookup(self, url: str) -> Validators | None:
        with self.conn.cursor() as cur:
            cur.execute(
                "SELECT etag, last_modified, uri, sha256, size, media_type, filename FROM fetch_validators "
                "WHERE url_sha256 = %s",
                (url_key(url),),
            )
            row = cur.fetchone()
        self.conn.commit()
        if row is None:
            return None
        etag, modified, uri, sha256, size, media_type, filename = row
        if not self.exists(uri):
            return None
        return Validators(etag, modified, ArtefactRef(uri, sha256, int(size), media_type, filename))

    def remember(self, url: str, etag: str | None, last_modified: str | None, artefact: ArtefactRef) -> None:
        self.pending.append((url, etag, last_modified, artefact))

    def commit(self) -> None:
        for url, etag, last_modified, artefact in self.pending:
            self._write(url, etag, last_modified, artefact)
        self.pending.clear()

    def _write(self, url: str, etag: str | None, last_modified: str | None, artefact: ArtefactRef) -> None:
        with transaction(self.conn) as cur:
            cur.execute(
                "INSERT INTO fetch_validators (url_sha256, shown_url, etag, last_modified, sha256, size, media_type, "
                "uri, filename) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (url_sha256) DO UPDATE SET "
                "shown_url = EXCLUDED.shown_url, etag = EXCLUDED.etag, last_modified = EXCLUDED.last_modified, "
                "sha256 = EXCLUDED.sha256, size = EXCLUDED.size, media_type = EXCLUDED.media_type, "
                "uri = EXCLUDED.uri, filename = EXCLUDED.filename, checked_at = now()",
                (
                    url_key(url),
                    redact_url(url),
                    etag,
                    last_modified,
                    artefact.sha256,
                    artefact.size,
                    artefact.media_type,
                    artefact.uri,
                    artefact.name,
                ),
            )
