"""The scan unit's PurlDB task: match ScanCode.io's results against PurlDB, reused while fresh.

The key is the sha256 of ScanCode.io's JSON results (read from the artefact store, not
downloaded again) and the PurlDB server. PurlDB names matching projects itself, so the ledger is
the re-attach record: written ``submitting`` before the upload and ``submitted`` with the
matching project's uuid right after, before any wait (it replaces the old marker file).

Recovery within the try, bounded by ``max_recoveries`` and the key's tries in the ledger: a
matching whose run ended failure, stopped or stale, or is still queued ``queue_budget_minutes``
after it was submitted (its job lost), is deleted (its queued job first) and submitted again;
the ledger then holds the new matching.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Sequence
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from airflow.sdk import Context
from airflow.sdk.exceptions import AirflowSkipException

from sca.common.errors import NotFoundError, PermanentServiceError, RunFailedError, TransientServiceError
from sca.common.pipeline_run import RunStatus, raise_for_event, raise_for_run
from sca.common.polling import wait_briefly
from sca.common.retry import act_once
from sca.core.keys import ScanKey, purldb_settings
from sca.core.results import ArtefactRef, MatchedPackage, PurlDBResult, ScanCodeIOResult, ToolRun, ToolStatus
from sca.purldb.client import MIN_EVIDENCE_BYTES, SERVICE, PurlDBClient, matching_run_uuid, summarize_matches
from sca.purldb.hook import PurlDBHook
from sca.purldb.links import PURLDB_URL_XCOM_KEY, PurlDBPackageLink
from sca.purldb.triggers import PurlDBMatchingTrigger
from sca.tasks.unit_base import MAX_LEDGER_ATTEMPTS, LedgerToolOperator, WorkFolder, pull_same_index

FILES_IN_RESULT = 20  # matched paths per package kept in the typed result; the warehouse has all


def purldb_page(base_url: str, state: dict[str, Any], result: PurlDBResult) -> str:
    """The page of the package most files matched (PurlDB's browsable API filtered by the real
    ``purl`` filter), else the matching's own page."""
    if result.packages:
        top = max(result.packages, key=lambda p: p.matched_files)
        return f"{base_url}/api/packages/?{urlencode({'purl': top.purl})}"
    return f"{base_url}/api/matching/{state['matching_uuid']}/"


def _run_ended(client: PurlDBClient, run_uuid: str) -> bool:
    return RunStatus(client.get_run(run_uuid)["status"]).is_terminal


class PurlDBMatchScanOperator(LedgerToolOperator):
    tool = "purldb"
    operator_extra_links = (PurlDBPackageLink(),)
    template_fields: Sequence[str] = (
        *LedgerToolOperator.template_fields,
        "scancodeio_task_id",
        "purldb_conn_id",
        "queue_budget_minutes",
    )

    def __init__(
        self,
        *,
        scancodeio_task_id: str,
        purldb_conn_id: str = PurlDBHook.default_conn_name,
        queue_budget_minutes: float | str | None = None,
        max_recoveries: int = 1,
        **kwargs: Any,
    ) -> None:
        """``queue_budget_minutes``: a matching still not started this long after it was
        submitted is taken as lost, deleted and submitted again (None, the default: only
        ``wait_timeout``; a busy PurlDB queues matchings for long, and a portfolio can fill it);
        ``max_recoveries``: how many times one try submits again a matching that failed or was lost."""
        kwargs.setdefault("wait_timeout", timedelta(hours=2))
        kwargs.setdefault("pool", "purldb")
        kwargs.setdefault("trigger_rule", "all_done")  # runs to say why it cannot match
        super().__init__(**kwargs)
        self.scancodeio_task_id = scancodeio_task_id
        self.purldb_conn_id = purldb_conn_id
        self.queue_budget_minutes = queue_budget_minutes
        self.max_recoveries = max_recoveries
        self._active_run: str | None = None  # a run this worker is waiting for (on_kill stops it)

    def client(self) -> PurlDBClient:
        return PurlDBHook(self.purldb_conn_id).get_conn()

    def scancodeio_result(self, context: Context) -> ScanCodeIOResult:
        pulled = pull_same_index(context, self.scancodeio_task_id)
        if not pulled:  # ScanCode.io did not run or failed: its own task says why; nothing to match
            reason = "not run: ScanCode.io produced no results for this scan"
            self.record(context, ToolRun(self.tool, ToolStatus.SKIPPED, reason=reason))
            raise AirflowSkipException(reason)
        run = ToolRun.from_dict(pulled)
        if run.status is not ToolStatus.SUCCESS or not run.result_uri:
            raise RunFailedError(f"cannot match: ScanCode.io {run.status.value} ({run.reason})", service=SERVICE)
        result = ScanCodeIOResult.from_dict(self.store.read_json(run.result_uri))
        if "json" not in result.outputs:
            raise RunFailedError("cannot match: ScanCode.io's JSON results are not in the store", service=SERVICE)
        return result

    def run(self, context: Context) -> dict[str, Any]:
        started = time.time()
        scan_json = self.scancodeio_result(context).outputs["json"]
        client = self.client()
        key = ScanKey(self.tool, scan_json.sha256, purldb_settings(client.base_url))
        self._key = key
        with self.key_lock(key):
            return self._run_locked(context, client, key, scan_json, started)

    def _run_locked(
        self, context: Context, client: PurlDBClient, key: ScanKey, scan_json: ArtefactRef, started: float
    ) -> dict[str, Any]:
        entry = self.ledger_get(key)
        if entry is not None and self.reusable(entry):
            return self.reuse(context, key, entry)
        if entry is not None and entry.has_results:  # stale: PurlDB's index changed since
            if entry.remote_id:  # it holds the same upload name: a lost answer must not find it
                self.log.info("Deleting the stale PurlDB matching %s before matching again", entry.remote_id)
                client.delete_matching(entry.remote_id)
            self.ledger("restart", key.tool, key.value)
        entry = self.ledger("begin", key, None, context["ti"].dag_id, context["ti"].run_id)
        matching = self._reattach(client, entry.remote_id) if entry.remote_id else None
        state = {
            "sha256": key.input_sha256,
            "settings": dict(key.settings),
            "scan_uri": scan_json.uri,
            "scan_ref": scan_json.as_dict(),
            "started": started,
            "deadline": started + self.wait_timeout.total_seconds(),
            "attempt": entry.attempts,
            "recoveries": 0,
        }
        if matching is None:
            self._submit(client, state)
        else:
            state |= {"matching_uuid": matching["uuid"], "run_uuid": matching_run_uuid(matching)}
            state["submitted_at"] = time.time()  # not known: the queue budget counts from now
        return self._wait(context, client, state)

    def _submit(self, client: PurlDBClient, state: dict[str, Any]) -> None:
        """Submit the scan once (a lost answer is found again by the upload's name, unique to the
        key) and record the matching in the ledger before any wait."""
        key = ScanKey(self.tool, state["sha256"], state["settings"])
        upload_name = f"sca-{key.short}.json"
        scan_json = ArtefactRef.from_dict(state["scan_ref"])
        with WorkFolder(self.task_id) as folder:
            local = self.store.copy_to_local(scan_json, folder, upload_name)
            matching = act_once(
                client.http.retry,
                lambda: client.submit_matching(local),
                lambda: client.find_matching(upload_name),
                is_transient=lambda error: isinstance(error, TransientServiceError),
                what=f"submitting {upload_name} to PurlDB matching",
            )
        self.ledger("submitted", key.tool, key.value, matching["uuid"], matching.get("url"))
        self.log.info("Submitted the scan to PurlDB matching %s", matching["uuid"])
        state |= {"matching_uuid": matching["uuid"], "run_uuid": matching_run_uuid(matching)}
        state["submitted_at"] = time.time()

    def _recover(self, client: PurlDBClient, state: dict[str, Any], what: str) -> None:
        """Take the matching's run off the queue (or stop it) in any case, then, within the
        budget, delete the matching and submit the scan again."""
        status = RunStatus(client.get_run(state["run_uuid"])["status"]) if state.get("run_uuid") else None
        # a project with a run in progress cannot be deleted (scanpipe Project.delete raises
        # RunInProgressError: a 500), so its run is taken off the queue or stopped first
        try:
            if status in (RunStatus.NOT_STARTED, RunStatus.QUEUED):
                try:
                    client.delete_run(state["run_uuid"])  # takes its job off the queue
                except PermanentServiceError:  # it started meanwhile
                    client.stop_run(state["run_uuid"])
            elif status is RunStatus.RUNNING:
                client.stop_run(state["run_uuid"])
        except (NotFoundError, PermanentServiceError) as exc:  # it ended meanwhile
            self.log.info("PurlDB run %s: %s", state["run_uuid"], exc)
        done = int(state.get("recoveries", 0))
        if done >= self.max_recoveries or int(state.get("attempt", 1)) > MAX_LEDGER_ATTEMPTS:
            raise RunFailedError(
                f"{what}; not submitted again ({done} re-submission(s) in this try, "
                f"try {state.get('attempt', 1)} of the key)",
                service=SERVICE,
            )
        state["recoveries"] = done + 1
        self.log.warning(
            "%s: deleting PurlDB matching %s and submitting the scan again (%d of %d)",
            what,
            state["matching_uuid"],
            done + 1,
            self.max_recoveries,
        )
        client.delete_matching(state["matching_uuid"])
        self._submit(client, state)

    def _queue_budget(self) -> float | None:
        if self.queue_budget_minutes in (None, "", "None"):
            return None
        return float(self.queue_budget_minutes) * 60

    def _reattach(self, client: PurlDBClient, matching_uuid: str) -> dict[str, Any] | None:
        """The matching this key already submitted, unless it is gone or its run failed."""
        try:
            matching = client.get_matching(matching_uuid)
        except NotFoundError:
            self.log.info("PurlDB matching %s is gone: submitting again", matching_uuid)
            return None
        status = RunStatus(matching["runs"][0]["status"])
        if status.is_failed:
            # deleted first: the search for a lost submission's answer (by upload name) must not find it
            self.log.info("PurlDB matching %s ended %s: deleting it, submitting again", matching_uuid, status.value)
            client.delete_matching(matching_uuid)
            return None
        self.log.info("Re-attached to PurlDB matching %s (%s)", matching_uuid, status.value)
        return matching

    def _wait(self, context: Context, client: PurlDBClient, state: dict[str, Any]) -> dict[str, Any]:
        while True:
            run_uuid = self._active_run = state["run_uuid"]
            run = client.get_run(run_uuid)
            if not RunStatus(run["status"]).is_terminal:
                ended = functools.partial(_run_ended, client, run_uuid)
                wait_briefly(ended, self.sync_grace_seconds)
                run = client.get_run(run_uuid)
            status = RunStatus(run["status"])
            if status.is_failed:
                self._recover(client, state, f"PurlDB matching run {run_uuid} ended {status.value}")
                continue
            if not status.is_terminal:
                self.defer(
                    trigger=PurlDBMatchingTrigger(
                        run_uuid=run_uuid,
                        conn_id=self.purldb_conn_id,
                        deadline=state["deadline"],
                        poll_interval=self.poll_interval,
                        first_poll_delay=self.first_poll_delay,
                        queue_budget=self._queue_budget(),
                        queued_since=state.get("submitted_at"),
                    ),
                    method_name="execute_complete",
                    kwargs={"state": state},
                )
            raise_for_run(run, SERVICE)
            return self._finish(context, client, state)

    def on_kill(self) -> None:
        """Marked failed while waiting in the worker: stop the matching run (delete it if it has
        not started). While deferred, the trigger's ``on_kill`` does this."""
        if not self._active_run:
            return
        try:
            client = self.client()
            status = RunStatus(client.get_run(self._active_run)["status"])
            if status is RunStatus.RUNNING:
                client.stop_run(self._active_run)
            elif status in (RunStatus.NOT_STARTED, RunStatus.QUEUED):
                client.delete_run(self._active_run)
            self.log.info("PurlDB matching run %s was %s: stopped", self._active_run, status.value)
        except Exception as exc:  # noqa: BLE001 - the task is ending anyway
            self.log.warning("Could not stop PurlDB matching run %s: %s", self._active_run, exc)

    def resume(self, context: Context, event: dict[str, Any], state: dict[str, Any]) -> dict[str, Any]:
        client = self.client()
        if event["status"] == "stuck_queued" or event["status"] in {s.value for s in RunStatus if s.is_failed}:
            self._recover(client, state, event["message"].split("\n", 1)[0])
            return self._wait(context, client, state)
        raise_for_event(event, SERVICE)
        return self._finish(context, client, state)

    def _finish(self, context: Context, client: PurlDBClient, state: dict[str, Any]) -> dict[str, Any]:
        key = ScanKey(self.tool, state["sha256"], state["settings"])
        results = client.matching_results(state["matching_uuid"])
        folder_rel = f"tools/purldb/{key.short}"
        matches_ref = self.store.put_stream([json.dumps(results).encode()], f"{folder_rel}/purldb-matches.json")
        summary = summarize_matches(self.store.read_json(state["scan_uri"]), results)
        result = PurlDBResult(
            matching_uuid=state["matching_uuid"],
            scanned_files=summary["scanned_files"],
            matched_files=summary["matched_files"],
            coverage=summary["coverage"],
            packages=[
                MatchedPackage(
                    purl=p["purl"],
                    declared_license_expression=p.get("declared_license_expression"),
                    download_url=p.get("download_url"),
                    matched_files=len(p["files"]),
                    files=p["files"][:FILES_IN_RESULT],
                )
                for p in summary["packages"]
            ],
            outputs={"matches": matches_ref},
        )
        self.log.info(
            "PurlDB matched %d of %d files to %d package(s); %d match(es) of files under %d bytes set aside",
            result.matched_files,
            result.scanned_files,
            len(result.packages),
            summary["trivial_matches"],
            MIN_EVIDENCE_BYTES,
        )
        stored = self.store.put_json(result.as_dict(), f"{folder_rel}/purldb-result.json")
        context["ti"].xcom_push(key=PURLDB_URL_XCOM_KEY, value=purldb_page(client.base_url, state, result))
        return self.succeed(context, key, stored.uri, state["started"])
