"""The watchdog: remote work still going after the DAG run that started it has ended.

A scan unit stops its remote work itself when it fails, and the triggers stop it when a person
marks a deferred task failed. What neither sees: a task marked failed (or a DAG run marked
failed) before a triggerer had loaded its trigger, a worker SIGKILLed with the remote run
going, a DAG run deleted or failed by the scheduler. The ledger knows every scan in flight
(``submitting``/``submitted``) and the DAG run that owns it; when that run has ended, the
watchdog stops what is still running on the server:

- ScanCode.io: a ``running`` run is stopped (``stop_pipeline``), a ``queued`` one deleted
  (``delete_pipeline``);
- FossID: a QUEUED or RUNNING scan is cancelled (``scans/cancel_run``); Workbench has no call to
  stop an extraction, a dependency analysis or a report, which are left to finish;
- PurlDB: a ``running`` matching run is stopped, a ``not_started``/``queued`` one deleted.

The ledger row then says ``error`` with what was done, so the next run of the key re-attaches and
recovers (reset, re-run, re-submit) instead of waiting on stopped work. Rows whose DAG run
Airflow does not know are left alone (they are not ours to judge). No Airflow import here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sca.common.errors import NotFoundError, PermanentServiceError
from sca.common.pipeline_run import RunStatus
from sca.fossid.status import FossIDStatus
from sca.store.ledger import LedgerEntry

log = logging.getLogger(__name__)

IN_FLIGHT = ("submitting", "submitted")
ENDED_RUN_STATES = ("success", "failed")
# A row this fresh may belong to a run that is just starting: left for the next round.
DEFAULT_GRACE = timedelta(minutes=2)


class LedgerLike(Protocol):
    def entries(self, service: str | None = None, states: tuple[str, ...] = ...) -> list[LedgerEntry]: ...

    def get(self, service: str, scan_key: str) -> LedgerEntry | None: ...

    def failed(self, service: str, scan_key: str, error: str) -> bool: ...


@dataclass(frozen=True)
class WatchdogAction:
    service: str
    scan_key: str
    remote: str
    dag_id: str
    run_id: str
    run_state: str
    done: list[str]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def stop_scancodeio(client: Any, entry: LedgerEntry) -> list[str]:
    try:
        project = client.get_project(str(entry.remote_id))
    except NotFoundError:
        return ["project gone"]
    done = []
    for run in project.get("runs") or []:
        status = RunStatus(run["status"])
        try:
            if status is RunStatus.RUNNING:
                client.stop_pipeline(run["uuid"])
                done.append(f"stopped run {run['uuid']} ({run.get('pipeline_name')})")
            elif status is RunStatus.QUEUED:
                client.delete_pipeline(run["uuid"])
                done.append(f"deleted queued run {run['uuid']} ({run.get('pipeline_name')})")
        except PermanentServiceError as exc:  # it ended between the read and the call
            done.append(f"run {run['uuid']}: {exc}")
    return done


def stop_fossid(client: Any, entry: LedgerEntry) -> list[str]:
    code = str(entry.remote_name)
    if client.get_scan(code) is None:
        return ["scan gone"]
    if client.check_status(code, "SCAN").status in (FossIDStatus.QUEUED, FossIDStatus.RUNNING):
        try:
            client.cancel_run(code)
        except PermanentServiceError as exc:  # it ended between the status and the cancel
            if "not_running" not in str(exc) and "not running" not in str(exc).lower():
                raise
            return [f"scan {code} had ended"]
        return [f"cancelled scan {code}"]
    return []


def stop_purldb(client: Any, entry: LedgerEntry) -> list[str]:
    try:
        matching = client.get_matching(str(entry.remote_id))
    except NotFoundError:
        return ["matching gone"]
    done = []
    for run in matching.get("runs") or []:
        status = RunStatus(client.get_run(run["uuid"])["status"])
        try:
            if status is RunStatus.RUNNING:
                client.stop_run(run["uuid"])
                done.append(f"stopped matching run {run['uuid']}")
            elif status in (RunStatus.NOT_STARTED, RunStatus.QUEUED):
                client.delete_run(run["uuid"])
                done.append(f"deleted {status.value} matching run {run['uuid']}")
        except PermanentServiceError as exc:
            done.append(f"matching run {run['uuid']}: {exc}")
    return done


STOPPERS: dict[str, Callable[[Any, LedgerEntry], list[str]]] = {
    "scancodeio": stop_scancodeio,
    "fossid": stop_fossid,
    "purldb": stop_purldb,
}


def sweep(
    ledger: LedgerLike,
    run_state: Callable[[str, str], str | None],
    clients: dict[str, Callable[[], Any]],
    *,
    key_lock: Callable[[str], AbstractContextManager[Any]] = lambda key: nullcontext(),
    grace: timedelta = DEFAULT_GRACE,
    dry_run: bool = False,
    now: datetime | None = None,
) -> list[WatchdogAction]:
    """Stop the remote work of every in-flight ledger row whose DAG run has ended.

    ``run_state(dag_id, run_id)`` is the DAG run's state, or None when Airflow does not know it;
    ``clients`` make a client per service (made once, on first use); ``key_lock(scan_key)`` is
    the key's lock (the one scan units hold while they begin, re-attach or submit): the row is
    read again under it and left alone if a live run took it over meanwhile. A row whose service
    fails to answer is reported and the others are still swept; the errors are raised at the end."""
    now = now or datetime.now(UTC)
    made: dict[str, Any] = {}
    actions = []
    errors: list[str] = []
    for seen in ledger.entries(states=IN_FLIGHT):
        if not _candidate(seen, clients, now - grace):
            continue
        with key_lock(seen.scan_key):
            entry = ledger.get(seen.service, seen.scan_key)
            if entry is None or (entry.state, entry.last_run_id, entry.updated_at) != (
                seen.state,
                seen.last_run_id,
                seen.updated_at,
            ):
                continue  # a run took the key over (or it ended) since the rows were read
            state = run_state(str(entry.last_dag_id), str(entry.last_run_id))
            if state not in ENDED_RUN_STATES:
                continue
            remote = str(entry.remote_name or entry.remote_id)
            if dry_run:
                done = ["dry run: would stop what is still running"]
            else:
                try:
                    client = made.get(entry.service) or made.setdefault(entry.service, clients[entry.service]())
                    done = STOPPERS[entry.service](client, entry)
                except Exception as exc:  # noqa: BLE001 - one service down must not spare the other rows
                    errors.append(f"{entry.service} {remote}: {type(exc).__name__}: {exc}")
                    log.warning("Watchdog: could not stop %s %s: %s", entry.service, remote, exc)
                    continue
                reason = (
                    f"the DAG run {entry.last_dag_id} / {entry.last_run_id} ended {state} with this scan in "
                    f"flight; the watchdog found: {'; '.join(done) or 'nothing still running'}"
                )
                ledger.failed(entry.service, entry.scan_key, reason)
        owner = (str(entry.last_dag_id), str(entry.last_run_id))
        action = WatchdogAction(entry.service, entry.scan_key, remote, *owner, state, done)
        log.warning("Watchdog: %s %s of %s/%s (%s): %s", *_shown(action))
        actions.append(action)
    if errors:
        raise RuntimeError(f"the watchdog could not stop {len(errors)} scan(s): " + "; ".join(errors))
    return actions


def _candidate(entry: LedgerEntry, clients: dict[str, Callable[[], Any]], changed_before: datetime) -> bool:
    """An in-flight row old enough, with an owner, a service we can reach and a remote object."""
    if entry.updated_at > changed_before or not entry.last_dag_id or not entry.last_run_id:
        return False
    if entry.service not in STOPPERS or entry.service not in clients:
        return False
    # FossID's scan code is its remote name; the others' objects are known by their ids
    return bool(entry.remote_name if entry.service == "fossid" else entry.remote_id)


def _shown(action: WatchdogAction) -> tuple[str, ...]:
    return (
        action.service,
        action.remote,
        action.dag_id,
        action.run_id,
        action.run_state,
        "; ".join(action.done) or "nothing still running",
    )
