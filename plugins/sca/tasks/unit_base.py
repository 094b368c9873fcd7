"""What every task of the scan unit shares: the scan id, a private working folder, the ledger
(reuse or re-attach), and the record of how the tool ended in the warehouse.

A tool task ends one of three ways, and each is written to ``tool_runs`` before the task ends:
``success`` (ran, or reused a fresh finished scan from the ledger), ``skipped`` (switched off)
or ``error`` with its reason (then the gate says ``incomplete`` and the report names it).
Nothing local crosses a task boundary: each execution works in its own temporary folder, which
is deleted when it returns or defers.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar

from airflow.sdk import BaseOperator, Context
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from sca.common.errors import RunFailedError, is_permanent
from sca.common.polling import FIRST_POLL_DELAY, SYNC_GRACE_SECONDS
from sca.core.keys import ScanKey
from sca.core.results import InputRef, ToolRun, ToolStatus
from sca.store.artefacts import ArtefactStore
from sca.store.ledger import Ledger, LedgerEntry, is_fresh, scan_lock

SCAN_ID_NAMESPACE = uuid.UUID("6f1c63c4-55a8-4c4e-9f0b-2f1a7a0b5c11")
FETCH_TOOL = "fetch"
XCOM_LIMIT = 64 * 1024  # bytes of JSON a unit task may return
# Tries of one scan key within one DAG run (the ledger counts them across task retries) after
# which a failed remote run is no longer recovered (reset, re-run, re-submitted): it is reported.
MAX_LEDGER_ATTEMPTS = 4


def bounded(value: dict[str, Any]) -> dict[str, Any]:
    """Refuse an XCom value over ``XCOM_LIMIT``: results belong in the store and the warehouse."""
    size = len(json.dumps(value, default=str).encode())
    if size > XCOM_LIMIT:
        raise ValueError(f"XCom value of {size} bytes is over the {XCOM_LIMIT}-byte limit: keys {sorted(value)}")
    return value


def scan_id_for(dag_id: str, run_id: str, unit_id: str, map_index: int = -1) -> str:
    """The scan's id in the warehouse: the same for every task of one unit in one DAG run."""
    return str(uuid.uuid5(SCAN_ID_NAMESPACE, f"{dag_id}\x1f{run_id}\x1f{unit_id}\x1f{map_index}"))


def map_index_of(context: Context) -> int:
    map_index = getattr(context["ti"], "map_index", None)
    return -1 if map_index is None else int(map_index)


def scan_id_from_context(context: Context, unit_id: str) -> str:
    ti = context["ti"]
    return scan_id_for(ti.dag_id, ti.run_id, unit_id, map_index_of(context))


def pull_same_index(context: Context, task_id: str) -> Any:
    """The return value of ``task_id`` for this task's own map index: in a mapped unit (the
    portfolio) each item reads its own fetch, never the list of every item's (Airflow 3.3's
    ``xcom_pull`` without ``map_indexes`` returns all of them)."""
    return context["ti"].xcom_pull(task_ids=task_id, map_indexes=map_index_of(context))


def as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def error_reason(exc: BaseException) -> str:
    text = str(exc).split("\n", 1)[0].strip() or type(exc).__name__
    return f"{type(exc).__name__}: {text}"[:2000]


class WorkFolder:
    """A temporary folder private to one execution of one task."""

    def __init__(self, task_id: str) -> None:
        self.path = Path(tempfile.mkdtemp(prefix=f"sca-{task_id.replace('.', '-')}-"))

    def __enter__(self) -> Path:
        return self.path

    def __exit__(self, *exc: object) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


class ScanUnitOperator(BaseOperator):
    """Base of the unit's tool tasks: ``run`` does the work; this class records the outcome."""

    tool: ClassVar[str] = ""
    _key: ScanKey | None = None
    template_fields: Sequence[str] = ("unit_id", "enabled", "input_task_id", "item_label")

    def __init__(
        self,
        *,
        unit_id: str = "scan",
        input_task_id: str,
        enabled: bool | str = True,
        item_label: Any = None,
        **kwargs: Any,
    ) -> None:
        """``item_label``: what the unit stands for (a portfolio item's id), shown for its map index."""
        super().__init__(**kwargs)
        self.unit_id = unit_id
        self.input_task_id = input_task_id
        self.enabled = enabled
        self.item_label = item_label

    # -- shared services --------------------------------------------------------------------
    @property
    def store(self) -> ArtefactStore:
        return ArtefactStore()

    def db(self) -> Any:
        from sca.store.db import hook_connection

        return hook_connection()

    def scan_id(self, context: Context) -> str:
        return scan_id_from_context(context, self.unit_id)

    def input_ref(self, context: Context) -> InputRef | None:
        value = pull_same_index(context, self.input_task_id)
        return InputRef.from_dict(value) if value else None

    def record(self, context: Context, run: ToolRun) -> dict[str, Any]:
        from sca.store import warehouse

        conn = self.db()
        try:
            scan_id = self.scan_id(context)
            if not warehouse.scan_exists(conn, scan_id):
                ti = context["ti"]
                warehouse.record_scan(
                    conn, scan_id, ti.dag_id, ti.run_id, self.unit_id, map_index_of(context), "(input not fetched)"
                )
            warehouse.record_tool_run(conn, scan_id, run)
        finally:
            conn.close()
        return bounded(run.as_dict())

    # -- the outcome ----------------------------------------------------------------------------
    def execute(self, context: Context) -> dict[str, Any]:
        return self.start(context)

    def start(self, context: Context) -> dict[str, Any]:
        """What ``execute`` does; a lot (sca.tasks.lot) calls it for each of its items."""
        if not as_bool(self.enabled):
            self.record(context, ToolRun(self.tool, ToolStatus.SKIPPED, reason="switched off for this run"))
            raise AirflowSkipException(f"{self.tool} is switched off for this run")
        return self.guarded(context, self.run, context)

    def guarded(self, context: Context, method: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """Run ``method``; on an error record it (with the ledger) and fail, fast when retrying
        cannot help (a 4xx, a bad input, a remote run that ended failed)."""
        try:
            return method(*args, **kwargs)
        except (AirflowSkipException, AirflowFailException):
            raise
        except Exception as exc:
            reason = error_reason(exc)
            self.log.error("%s failed: %s", self.tool, reason)
            self.record_failure(context, reason)
            if is_permanent(exc) or isinstance(exc, RunFailedError):
                raise AirflowFailException(f"{reason} (not retried: retrying cannot fix this)") from exc
            raise

    def record_failure(self, context: Context, reason: str) -> None:
        try:
            self.record(context, ToolRun(self.tool, ToolStatus.ERROR, reason=reason))
        except Exception:  # noqa: BLE001 - the original error matters more than its bookkeeping
            self.log.exception("could not record the failure of %s", self.tool)

    def run(self, context: Context) -> dict[str, Any]:
        raise NotImplementedError


class LedgerToolOperator(ScanUnitOperator):
    """A tool task with a ledger: reuse fresh finished scans, re-attach to submitted ones."""

    template_fields: Sequence[str] = (*ScanUnitOperator.template_fields, "max_age_days", "server_version")

    def __init__(
        self,
        *,
        max_age_days: float | str | None = None,
        server_version: str | None = None,
        poll_interval: float = 3.0,
        max_poll_interval: float = 60.0,
        first_poll_delay: float = FIRST_POLL_DELAY,
        sync_grace_seconds: float = SYNC_GRACE_SECONDS,
        wait_timeout: timedelta = timedelta(hours=6),
        **kwargs: Any,
    ) -> None:
        """Waits: polled in the worker for ``sync_grace_seconds``, then deferred; the trigger
        polls from ``poll_interval`` backing off to ``max_poll_interval``; ``wait_timeout`` ends it.
        ``server_version``: the service's version when the DAG already read it once for all its
        units (the portfolio's plan), so a unit that reuses a scan makes no remote call at all."""
        super().__init__(**kwargs)
        self.max_age_days = max_age_days
        self.server_version = server_version
        self.poll_interval = poll_interval
        self.max_poll_interval = max_poll_interval
        self.first_poll_delay = first_poll_delay
        self.sync_grace_seconds = sync_grace_seconds
        self.wait_timeout = wait_timeout

    @property
    def max_age(self) -> timedelta | None:
        if self.max_age_days in (None, "", "None"):
            return None
        return timedelta(days=float(self.max_age_days))

    @contextmanager
    def key_lock(self, key: ScanKey) -> Iterator[None]:
        """Only one task at a time decides and submits for one scan key (see ``scan_lock``)."""
        conn = self.db()
        try:
            with scan_lock(conn, key.value):
                yield
        finally:
            conn.close()

    def ledger_get(self, key: ScanKey) -> LedgerEntry | None:
        conn = self.db()
        try:
            return Ledger(conn).get(key.tool, key.value)
        finally:
            conn.close()

    def ledger(self, action: str, *args: Any, **kwargs: Any) -> Any:
        conn = self.db()
        try:
            return getattr(Ledger(conn), action)(*args, **kwargs)
        finally:
            conn.close()

    def reusable(self, entry: LedgerEntry | None, extra_stale_reason: str | None = None) -> bool:
        if entry is None or not entry.has_results:
            return False
        if extra_stale_reason:
            self.log.info("Not reusing %s scan %s: %s", self.tool, entry.remote_name, extra_stale_reason)
            return False
        if not self.store.exists(str(entry.result_uri)):
            self.log.warning(
                "Not reusing %s scan %s: its result %s is no longer in the artefact store; scanning again",
                self.tool,
                entry.remote_name,
                entry.result_uri,
            )
            return False
        if not is_fresh(entry, self.max_age):
            self.log.info(
                "Not reusing %s scan %s: finished %s, older than %s",
                self.tool,
                entry.remote_name,
                entry.finished_at,
                self.max_age,
            )
            return False
        return True

    def reuse(self, context: Context, key: ScanKey, entry: LedgerEntry) -> dict[str, Any]:
        finished = entry.finished_at.isoformat() if entry.finished_at else None
        self.log.info(
            "Reusing %s scan %s (remote id %s), finished %s by %s/%s, for the same bytes and settings "
            "(key %s): nothing submitted",
            self.tool,
            entry.remote_name,
            entry.remote_id,
            finished,
            entry.last_dag_id,
            entry.last_run_id,
            key.value,
        )
        link_key = next((getattr(link, "xcom_key", None) for link in self.operator_extra_links), None)
        if link_key and entry.remote_url:  # the reused scan's page, for the task's extra link
            context["ti"].xcom_push(key=link_key, value=entry.remote_url)
        return self.record(context, self.tool_run(entry, reused=True, reused_from=finished, attempts=0))

    def tool_run(self, entry: LedgerEntry, **overrides: Any) -> ToolRun:
        """A successful ToolRun from the ledger's row (what exists remotely, where the result is)."""
        values: dict[str, Any] = {
            "scan_key": entry.scan_key,
            "remote_id": entry.remote_id,
            "remote_name": entry.remote_name,
            "remote_url": entry.remote_url,
            "result_uri": entry.result_uri,
            "attempts": entry.attempts,
        }
        return ToolRun(self.tool, ToolStatus.SUCCESS, **(values | overrides))

    def record_failure(self, context: Context, reason: str) -> None:
        key = getattr(self, "_key", None)
        if key is not None:
            try:
                self.ledger("failed", key.tool, key.value, reason)
            except Exception:  # noqa: BLE001
                self.log.exception("could not mark the ledger row of %s failed", key.value)
        super().record_failure(context, reason)

    def succeed(
        self, context: Context, key: ScanKey, result_uri: str, started: float, server_version: str | None = None
    ) -> dict[str, Any]:
        self.ledger("finished", key.tool, key.value, result_uri, server_version)
        entry = self.ledger_get(key)
        assert entry is not None
        return self.record(context, self.tool_run(entry, duration_s=round(time.time() - started, 3)))

    # -- resuming after a deferral ------------------------------------------------------------
    def execute_complete(self, context: Context, event: dict[str, Any], state: dict[str, Any]) -> dict[str, Any]:
        """Every tool unit defers with ``kwargs={"state": …}`` holding the key's sha256 and
        settings: the key is rebuilt, its lock taken, and the unit's ``resume`` continues."""
        key = ScanKey(self.tool, state["sha256"], state["settings"])
        self._key = key
        return self.guarded(context, self._resume_locked, key, context, event, state)

    def _resume_locked(
        self, key: ScanKey, context: Context, event: dict[str, Any], state: dict[str, Any]
    ) -> dict[str, Any]:
        with self.key_lock(key):
            return self.resume(context, event, state)

    def resume(self, context: Context, event: dict[str, Any], state: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError
