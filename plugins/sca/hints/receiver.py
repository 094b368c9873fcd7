"""The webhook receiver: ``POST /sca-hooks/<service>/<project>/<signature>`` (FastAPI, mounted in
the Airflow API server by ``sca.hints.plugin``).

It checks the signature (403 otherwise: the URL was not issued by us), reads the run's uuid and
status from ScanCode.io's payload (``{"project": {"name", ...}, "run": {"uuid", "status", ...}}``;
400 when there is none, or when the project is not the URL's), and records a hint in
``run_end_hints``. Bodies over 1 MiB are refused
(413): our subscriptions never ask for the summary or the results. Nothing of the body is
logged but the run uuid and status.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from fastapi import FastAPI, HTTPException, Request

from sca.hints.settings import WEBHOOKS_CONN_ID, WebhookSettings, settings_from_connection
from sca.hints.signing import is_valid
from sca.store.db import RESULTS_CONN_ID, dsn_from_connection, env_dsn

log = logging.getLogger(__name__)
MAX_BODY = 1 << 20
KEEP_DAYS = 7
SETTINGS_TTL = 60.0

RECORD_SQL = """
INSERT INTO run_end_hints (service, run_uuid, project, status)
VALUES (%s, %s, %s, %s)
ON CONFLICT (service, run_uuid) DO UPDATE
   SET status = EXCLUDED.status, received_at = now(), deliveries = run_end_hints.deliveries + 1
"""
PRUNE_SQL = "DELETE FROM run_end_hints WHERE received_at < now() - make_interval(days => %s)"


def _core_connection(conn_id: str) -> Any:
    from airflow.models.connection import Connection

    return Connection.get_connection_from_secrets(conn_id)


class _Cached:
    """The webhook settings, read again after ``SETTINGS_TTL`` (a rotated secret takes a minute)."""

    def __init__(self) -> None:
        self.value: WebhookSettings | None = None
        self.read_at = 0.0

    def get(self) -> WebhookSettings:
        if self.value is None or time.monotonic() - self.read_at > SETTINGS_TTL:
            self.value = settings_from_connection(_core_connection(WEBHOOKS_CONN_ID))
            self.read_at = time.monotonic()
        return self.value


def results_dsn() -> str:
    return env_dsn() or dsn_from_connection(_core_connection(RESULTS_CONN_ID))


def record_hint(dsn: str, service: str, run_uuid: str, project: str, status: str | None) -> None:
    import psycopg

    with psycopg.connect(dsn, connect_timeout=10) as conn, conn.cursor() as cur:
        cur.execute(RECORD_SQL, (service, run_uuid, project, status))
        cur.execute(PRUNE_SQL, (KEEP_DAYS,))


def run_of(payload: Any) -> tuple[str, str | None]:
    """The run's uuid and status from a ScanCode.io webhook payload; ValueError naming the field."""
    run = payload.get("run") if isinstance(payload, dict) else None
    if not isinstance(run, dict):
        raise ValueError("the body has no 'run' object (a ScanCode.io webhook payload has 'project' and 'run')")
    uuid = run.get("uuid")
    if not isinstance(uuid, str) or not uuid:
        raise ValueError("the body's run has no 'uuid'")
    status = run.get("status")
    return uuid, status if isinstance(status, str) else None


def create_app() -> FastAPI:
    app = FastAPI(title="SCA run-end hints", docs_url=None, redoc_url=None, openapi_url=None)
    settings = _Cached()

    @app.post("/{service}/{project:path}/{sig}")
    async def run_ended(service: str, project: str, sig: str, request: Request) -> dict[str, str]:
        from starlette.concurrency import run_in_threadpool

        try:
            secret = (await run_in_threadpool(settings.get)).secret
        except Exception as exc:  # no connection, or a broken one: the sender gets a 503, the log the cause
            log.error("run-end hint refused: connection %s: %s", WEBHOOKS_CONN_ID, exc)
            raise HTTPException(503, f"webhooks are not configured here ({WEBHOOKS_CONN_ID})") from None
        if not is_valid(secret, service, project, sig):
            raise HTTPException(403, "unknown callback URL")
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > MAX_BODY:
            raise HTTPException(413, f"body over {MAX_BODY} bytes")
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY:
                raise HTTPException(413, f"body over {MAX_BODY} bytes")
        try:
            payload = json.loads(body)
            run_uuid, status = run_of(payload)
            named = (payload.get("project") or {}).get("name")
            if named != project:
                raise ValueError(f"the body's project is {named!r}, not the project of this URL")
        except ValueError as exc:  # json.JSONDecodeError is a ValueError
            raise HTTPException(400, f"not a run-end payload: {exc}") from None
        await run_in_threadpool(lambda: record_hint(results_dsn(), service, run_uuid, project, status))
        log.info("run-end hint: %s run %s of %s ended %s", service, run_uuid, project, status)
        return {"status": "recorded", "run": run_uuid}

    return app
