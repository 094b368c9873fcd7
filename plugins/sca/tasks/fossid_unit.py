"""The scan unit's FossID task: one Workbench scan per scan key, reused for ``max_age_days``
(FossID's knowledge base changes, so its results age).

Stages, each skipped when an earlier try (or run) already did it, each wait deferred:
scan (find or create, named after the key; ledger ``submitted``) → upload (unless the scan has
the file and extraction finished) → extract archives → scan → dependency analysis → reports
(asynchronous ones through ``process_queue_id``) → collect. A stale finished scan is deleted in
Workbench and scanned again under the same code.

Recovery within the try, bounded by ``max_recoveries`` and by the key's tries in the ledger: a
scan that ends FAILED is run again once with ``scan_failed_only`` (what FossID's workbench-agent
CE does); a scan RUNNING past ``scan_budget_minutes`` (a hung scanner) is cancelled with
``scans/cancel_run`` and run again whole; a failed dependency analysis is run again. A run
cancelled in Workbench by a person, and a failed archive extraction (the input), are not.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from airflow.sdk import Context

from sca.common.errors import RunFailedError, TransientServiceError
from sca.common.pipeline_run import raise_for_wait_problem
from sca.common.polling import ends_after, wait_briefly
from sca.common.retry import act_once
from sca.core.keys import ScanKey, fossid_settings
from sca.core.results import ArtefactRef, FossIDResult, InputRef
from sca.fossid.client import SERVICE, SYNC_ONLY_REPORTS, FossIDClient, FossIDError, scan_ui_url
from sca.fossid.hook import FossIDHook
from sca.fossid.links import SCAN_URL_XCOM_KEY, FossIDScanLink
from sca.fossid.operators import REPORT_EXTENSIONS
from sca.fossid.status import CheckStatus, FossIDStatus
from sca.fossid.triggers import FossIDStatusTrigger
from sca.tasks.unit_base import MAX_LEDGER_ATTEMPTS, LedgerToolOperator, WorkFolder

STAGES = ("upload", "extract", "scan", "dependencies", "reports", "collect")
WAITS = {"extract": "EXTRACT_ARCHIVES", "scan": "SCAN", "dependencies": "DEPENDENCY_ANALYSIS"}
RECOVERABLE = ("SCAN", "DEPENDENCY_ANALYSIS")  # an extraction that failed is the input's fault
DEFAULT_SCAN_OPTIONS = {"auto_identification_detect_declaration": True, "auto_identification_detect_copyright": True}


def files_scanned(status: CheckStatus) -> int | None:
    """How many files the scan looked at: ``total_files`` (2021.2+), else the count in its
    comment ("Scan finished. 40 files scanned. …", older servers); None when neither says."""
    total = status.raw.get("total_files")
    if total not in (None, ""):
        return int(total)
    match = re.search(r"(\d+) files? scanned", status.comment)
    return int(match.group(1)) if match else None


def _cancelled_by_a_person(status: CheckStatus) -> bool:
    """A run cancelled in Workbench (FAILED or CANCELLED, with "cancel" in its text, as
    workbench-agent CE tells them apart) is a person's decision: not run again."""
    return status.status is FossIDStatus.CANCELLED or "cancel" in status.comment.lower()


class FossIDScanOperator(LedgerToolOperator):
    tool = "fossid"
    operator_extra_links = (FossIDScanLink(),)
    template_fields: Sequence[str] = (
        *LedgerToolOperator.template_fields,
        "project_code",
        "scan_options",
        "report_types",
        "fossid_conn_id",
        "scan_budget_minutes",
    )

    def __init__(
        self,
        *,
        project_code: str = "sca-scans",
        scan_options: dict[str, Any] | str | None = None,
        report_types: Sequence[str] | str = ("xlsx", "spdx", "cyclone_dx", "html"),
        fossid_conn_id: str = FossIDHook.default_conn_name,
        scan_budget_minutes: float | str | None = 240,
        max_recoveries: int = 1,
        **kwargs: Any,
    ) -> None:
        """``scan_budget_minutes``: a scan RUNNING this long is taken as hung, cancelled and run
        again (None: no budget, only ``wait_timeout``); ``max_recoveries``: how many re-runs of a
        failed or hung scan or dependency analysis one try makes before the task fails."""
        kwargs.setdefault("wait_timeout", timedelta(hours=8))
        kwargs.setdefault("pool", "fossid")
        super().__init__(**kwargs)
        self.project_code = project_code
        self.scan_options = scan_options
        self.report_types = report_types
        self.fossid_conn_id = fossid_conn_id
        self.scan_budget_minutes = scan_budget_minutes
        self.max_recoveries = max_recoveries
        self._active_scan: str | None = None  # a SCAN this worker is waiting for (on_kill cancels it)

    def client(self) -> FossIDClient:
        return FossIDHook(self.fossid_conn_id).get_conn()

    def options(self) -> dict[str, Any]:
        if isinstance(self.scan_options, str):  # not rendered: the DAG passed a plain string
            raise ValueError(f"scan_options must be an object, not {self.scan_options!r}")
        return {**DEFAULT_SCAN_OPTIONS, **(self.scan_options or {})}

    def run(self, context: Context) -> dict[str, Any]:
        started = time.time()
        fetched = self.input_ref(context)
        if fetched is None:
            raise RunFailedError("no input: the fetch task did not produce one", service=SERVICE)
        client = self.client()
        version = str(self.server_version) if self.server_version else client.version()
        settings = {**fossid_settings(self.options(), version), "project_code": self.project_code}
        key = ScanKey(self.tool, fetched.sha256, settings)
        self._key = key
        with self.key_lock(key):
            return self._run_locked(context, client, key, fetched, started)

    def _run_locked(
        self, context: Context, client: FossIDClient, key: ScanKey, fetched: InputRef, started: float
    ) -> dict[str, Any]:
        settings = dict(key.settings)
        entry = self.ledger_get(key)
        if entry is not None and self.reusable(entry):
            stored = self.store.read_json(str(entry.result_uri))
            have = dict(stored.get("outputs") or {})
            missing = [t for t in self.report_types if t not in have]
            if not missing:
                return self.reuse(context, key, entry)
            if entry.remote_name and client.get_scan(str(entry.remote_name)) is not None:
                # a scan made for a DAG that asked for fewer reports (the portfolio's items ask for
                # none): make the missing ones from it, then collect its results again
                self.log.info(
                    "Reusing FossID scan %s and making the reports it lacks: %s", entry.remote_name, ", ".join(missing)
                )
                state = self._state(str(entry.remote_name), fetched, settings, started, stage="reports")
                state["reports"] = have
                return self._advance(context, client, state)
            self.log.info("FossID scan %s is gone: scanning again to make its %s reports", entry.remote_name, missing)
        if entry is not None and entry.has_results and entry.remote_name:
            # stale: delete it, then scan under a new code, so a retry never re-attaches to it
            self.log.info("Deleting the stale FossID scan %s before scanning again", entry.remote_name)
            self._delete_and_wait(client, entry.remote_name)
            self.ledger("restart", key.tool, key.value)
        entry = self.ledger("begin", key, key.remote_name(fetched.filename), context["ti"].dag_id, context["ti"].run_id)
        scan_code = str(entry.remote_name)  # the ledger's: the same bytes under another file name re-attach
        self._ensure_project(client)
        scan = client.get_scan(scan_code)
        if scan is None:
            try:
                client.create_scan(self.project_code, scan_code, fetched.filename)
                self.log.info("Created FossID scan %s", scan_code)
            except FossIDError:
                if client.get_scan(scan_code) is None:
                    raise
        else:
            self.log.info("Re-attached to FossID scan %s", scan_code)
        scan_url = self._push_scan_link(context, client, scan_code, settings.get("server_version"))
        self.ledger("submitted", key.tool, key.value, scan_code, scan_url, settings["server_version"])
        state = self._state(scan_code, fetched, settings, started, attempt=entry.attempts)
        return self._advance(context, client, state)

    def _push_scan_link(
        self, context: Context, client: FossIDClient, scan_code: str, server_version: str | None
    ) -> str | None:
        """The scan's page in Workbench, for the task's "FossID scan" link (and the ledger)."""
        scan = client.get_scan(scan_code) or {}
        if scan.get("id") in (None, ""):
            return None
        url = scan_ui_url(client.base_url, scan["id"], server_version)
        context["ti"].xcom_push(key=SCAN_URL_XCOM_KEY, value=url)
        return url

    def _state(
        self,
        scan_code: str,
        fetched: InputRef,
        settings: dict[str, Any],
        started: float,
        stage: str = "upload",
        attempt: int = 1,
    ) -> dict[str, Any]:
        """What the stage machine carries across deferrals: JSON-native only."""
        return {
            "scan_code": scan_code,
            "sha256": fetched.sha256,
            "settings": settings,
            "input": fetched.as_dict(),
            "started": started,
            "deadline": started + self.wait_timeout.total_seconds(),
            "stage": stage,
            "uploaded_now": False,
            "reports": {},
            "pending_reports": {},
            "attempt": attempt,
            "recoveries": 0,
        }

    def _delete_and_wait(self, client: FossIDClient, scan_code: str, timeout: float = 120.0) -> None:
        """Workbench deletes scans in the background: the code is free again only once it is gone."""
        if client.get_scan(scan_code) is None:
            return
        client.delete_scan(scan_code)
        deadline = time.monotonic() + timeout
        while client.get_scan(scan_code) is not None:
            if time.monotonic() > deadline:
                raise TransientServiceError(f"FossID scan {scan_code} still exists {timeout:.0f} s after its deletion")
            time.sleep(1.0)

    def _ensure_project(self, client: FossIDClient) -> None:
        if client.get_project(self.project_code) is not None:
            return
        try:
            client.create_project(self.project_code, self.project_code)
        except FossIDError:
            if client.get_project(self.project_code) is None:
                raise

    # -- the stage machine ---------------------------------------------------------------------
    def _advance(self, context: Context, client: FossIDClient, state: dict[str, Any]) -> dict[str, Any]:
        for stage in STAGES[STAGES.index(state["stage"]) :]:
            state["stage"] = stage
            if stage == "upload":
                self._upload(client, state)
            elif stage in WAITS:
                self._wait(client, state, WAITS[stage])
            elif stage == "reports":
                self._reports(client, state)
            else:
                return self._collect(context, client, state)
        raise AssertionError("unreachable: collect ends the stages")

    def _upload(self, client: FossIDClient, state: dict[str, Any]) -> None:
        fetched = InputRef.from_dict(state["input"])
        code = state["scan_code"]
        uploaded = (client.get_scan(code) or {}).get("uploaded_files") or []
        extraction = client.check_status(code, "EXTRACT_ARCHIVES").status
        if uploaded and (extraction.is_active or extraction is FossIDStatus.FINISHED):
            # named after these bytes: what it holds is them (never replaced under a running extraction)
            self.log.info("Scan %s already has %s (extraction %s)", code, ", ".join(uploaded), extraction.value)
            return
        for name in uploaded:  # an upload whose extraction never started or failed: replace it
            client.remove_upload_once(code, name)
        with WorkFolder(self.task_id) as folder:
            local = self.store.copy_to_local(fetched.artefact, folder, fetched.filename)
            requests_made = client.upload(code, local)
        state["uploaded_now"] = True
        self.log.info(
            "Uploaded %s (%d bytes) to %s in %d request(s)",
            fetched.filename,
            fetched.artefact.size,
            code,
            requests_made,
        )

    def _needs_start(self, stage_type: str, current: CheckStatus, state: dict[str, Any]) -> bool:
        if current.status.is_active:
            return False
        if current.status is FossIDStatus.FINISHED:
            return stage_type == "EXTRACT_ARCHIVES" and state["uploaded_now"]
        return True

    def _start(self, client: FossIDClient, code: str, stage_type: str, failed_only: bool = False) -> None:
        """Start one operation once: after a lost answer its status says whether it started."""
        start: Callable[[], Any]
        if stage_type == "EXTRACT_ARCHIVES":
            start = functools.partial(client.extract_archives, code, recursive=True)
        elif stage_type == "SCAN":
            options = {**self.options(), "scan_failed_only": True} if failed_only else self.options()
            start = functools.partial(client.run_scan, code, **options)
        else:
            start = functools.partial(client.run_dependency_analysis, code)

        def started() -> bool | None:
            status = client.check_status(code, stage_type).status
            return True if status.is_active or status is FossIDStatus.FINISHED else None

        act_once(
            client.http.retry,
            start,
            started,
            is_transient=lambda error: isinstance(error, TransientServiceError),
            what=f"starting FossID {stage_type} for {code}",
        )
        self.log.info("Started FossID %s for %s", stage_type, code)

    def _ends_within_grace(self, client: FossIDClient, code: str, stage_type: str, process_id: str | None) -> bool:
        """Wait in the worker for a short stage; one still queued, or whose percentage_done says
        it will not end within the grace, frees the worker (and its fossid pool slot) after a
        few seconds instead of holding them for the whole grace."""
        started = time.monotonic()
        seen: list[CheckStatus] = []

        def ended() -> bool:
            seen.append(client.check_status(code, stage_type, process_id))
            return seen[-1].is_terminal

        def behind() -> bool:
            last = seen[-1]
            if last.status in (FossIDStatus.NEW, FossIDStatus.QUEUED):
                return True
            return ends_after(last.percentage, time.monotonic() - started, self.sync_grace_seconds)

        return wait_briefly(ended, self.sync_grace_seconds, behind=behind)

    def _wait(
        self, client: FossIDClient, state: dict[str, Any], stage_type: str, process_id: str | None = None
    ) -> CheckStatus:
        code = state["scan_code"]
        current = client.check_status(code, stage_type, process_id)
        if process_id is None and not state.get("resumed") and self._needs_start(stage_type, current, state):
            self._start(client, code, stage_type)
            current = client.check_status(code, stage_type)
        state["resumed"] = False
        self._active_scan = code if stage_type == "SCAN" and process_id is None else None
        if not current.is_terminal and self._ends_within_grace(client, code, stage_type, process_id):
            current = client.check_status(code, stage_type, process_id)
        if not current.is_terminal:
            self.defer(
                trigger=FossIDStatusTrigger(
                    scan_code=code,
                    status_type=stage_type,
                    process_id=process_id,
                    fossid_conn_id=self.fossid_conn_id,
                    deadline=state["deadline"],
                    poll_interval=self.poll_interval,
                    max_poll_interval=self.max_poll_interval,
                    first_poll_delay=self.first_poll_delay,
                    run_budget=self._scan_budget() if stage_type == "SCAN" and process_id is None else None,
                ),
                method_name="execute_complete",
                kwargs={"state": state},
            )
        if current.status is not FossIDStatus.FINISHED:
            what = (
                f"FossID {stage_type} of scan {code} ended {current.status.value}: "
                f"{current.comment or 'no comment from Workbench'}"
            )
            if process_id is None and stage_type in RECOVERABLE and not _cancelled_by_a_person(current):
                self._recover(client, state, stage_type, what)
                return self._wait(client, state, stage_type)
            raise RunFailedError(
                what,
                service=SERVICE,
                detail={"status": current.status.value, "comment": current.comment},
            )
        return current

    def _scan_budget(self) -> float | None:
        if self.scan_budget_minutes in (None, "", "None"):
            return None
        return float(self.scan_budget_minutes) * 60

    def _recover(
        self, client: FossIDClient, state: dict[str, Any], stage_type: str, what: str, cancel: bool = False
    ) -> None:
        """Run a failed (or, with ``cancel``, hung) scan or dependency analysis again, within the
        budget. A scan that FAILED is run again with ``scan_failed_only``, as workbench-agent CE
        does after a failed KB scan (utilities/scan_workflows.py; notes fossid-api.md § WBCE scan,
        step 10); a hung scan is cancelled first and run again whole (its files were never all
        scanned, so "failed only" could skip some). A hung scan that ended by itself meanwhile is
        left to the wait: finished, the stages go on; failed, it is recovered as a failure."""
        code = state["scan_code"]
        if cancel:
            current = client.check_status(code, "SCAN")
            if not current.status.is_active:
                self.log.info("%s; it has ended meanwhile (%s): not cancelled", what, current.status.value)
                return
        done = int(state.get("recoveries", 0))
        exhausted = done >= self.max_recoveries or int(state.get("attempt", 1)) > MAX_LEDGER_ATTEMPTS
        if cancel:  # a hung scan is stopped either way: it holds a Workbench scanner for nothing
            self._cancel(client, code)
        if exhausted:
            raise RunFailedError(
                f"{what}; "
                + ("cancelled; " if cancel else "")
                + f"not run again ({done} re-run(s) in this try, try {state.get('attempt', 1)} of the key)",
                service=SERVICE,
                detail={"status": "over_budget" if cancel else "FAILED", "recoveries": done},
            )
        state["recoveries"] = done + 1
        failed_only = stage_type == "SCAN" and not cancel
        self.log.warning(
            "%s: running it again (%d of %d)%s",
            what,
            done + 1,
            self.max_recoveries,
            " with scan_failed_only" if failed_only else (", whole" if stage_type == "SCAN" else ""),
        )
        self._start(client, code, stage_type, failed_only=failed_only)
        state["resumed"] = True  # started here: the wait that follows must not start it again

    def _cancel(self, client: FossIDClient, code: str, timeout: float = 120.0) -> None:
        """``scans/cancel_run``, once (a lost answer is checked by the scan's status; a scan that
        ended between the status and the cancel is not an error), then wait until it has stopped."""
        try:
            act_once(
                client.http.retry,
                functools.partial(client.cancel_run, code),
                lambda: True if not client.check_status(code, "SCAN").status.is_active else None,
                is_transient=lambda error: isinstance(error, TransientServiceError),
                what=f"cancelling FossID scan {code}",
            )
        except FossIDError as exc:
            if "not_running" not in str(exc) and "not running" not in str(exc).lower():
                raise
            self.log.info("FossID scan %s had ended before the cancel: %s", code, exc)
            return
        deadline = time.monotonic() + timeout
        while client.check_status(code, "SCAN").status.is_active:
            if time.monotonic() > deadline:
                raise TransientServiceError(f"FossID scan {code} still runs {timeout:.0f} s after its cancel")
            time.sleep(1.0)
        self.log.warning("Cancelled FossID scan %s", code)

    def _reports(self, client: FossIDClient, state: dict[str, Any]) -> None:
        """Each report once. The ids of report processes started are kept in the artefact store
        beside the reports, so a later try (the first one died after starting them) downloads
        them rather than starting the same reports again: Workbench cannot list them."""
        code = state["scan_code"]
        key = ScanKey(self.tool, state["sha256"], state["settings"])
        started_rel = f"tools/fossid/{key.short}/report-processes.json"
        started_uri = self.store.uri_for(started_rel)
        if not state["pending_reports"] and self.store.exists(started_uri):
            earlier = self.store.read_json(started_uri)
            if earlier.get("scan_code") == code:
                state["pending_reports"] = dict(earlier.get("processes") or {})
                self.log.info("Report processes an earlier try started: %s", state["pending_reports"])
        for report_type in list(self.report_types):
            if report_type in state["reports"]:
                continue
            target_name = f"fossid-scans-{report_type}.{REPORT_EXTENSIONS.get(report_type, 'bin')}"
            with WorkFolder(self.task_id) as folder:
                if report_type in SYNC_ONLY_REPORTS:
                    local = client.download_sync_report(code, report_type, folder / target_name)
                else:
                    pid = state["pending_reports"].get(report_type)
                    if pid is None:
                        try:
                            pid = client.generate_report(code, report_type)
                        except TransientServiceError as exc:
                            # Workbench cannot list report processes, so a lost answer cannot be
                            # re-attached; the report is made synchronously instead (no process)
                            self.log.warning("%s: generating the %s report synchronously", exc, report_type)
                            local = client.download_sync_report(code, report_type, folder / target_name)
                            pid = ""
                        else:
                            state["pending_reports"][report_type] = pid
                            self.store.put_json({"scan_code": code, "processes": state["pending_reports"]}, started_rel)
                    if pid:
                        self._wait(client, state, "REPORT_GENERATION", pid)
                        local = client.download_report("scans", pid, folder / target_name)
                if local.stat().st_size == 0:
                    raise RunFailedError(f"FossID returned an empty {report_type} report", service=SERVICE)
                ref = self.store.put_file(local, f"tools/fossid/{key.short}/{target_name}")
            state["reports"][report_type] = ref.as_dict()
            self.log.info("Stored FossID %s report: %s", report_type, ref.uri)

    def _collect(self, context: Context, client: FossIDClient, state: dict[str, Any]) -> dict[str, Any]:
        code = state["scan_code"]
        key = ScanKey(self.tool, state["sha256"], state["settings"])
        counter = client.get_policy_warnings_counter(code)
        info = client.project_policy_warnings(self.project_code)
        warnings = [w for w in info.get("policy_warnings_list") or [] if w.get("scan_code") in (None, code)]
        try:
            dependencies = client.get_dependency_analysis_results(code)
        except FossIDError as exc:
            if "not been run" not in str(exc):
                raise
            dependencies = []
        result = FossIDResult(
            scan_code=code,
            project_code=self.project_code,
            server_version=state["settings"].get("server_version"),
            policy_warnings_total=int(counter.get("policy_warnings_total") or 0),
            policy_warnings=warnings,
            pending_files=sorted(client.get_pending_files(code).values()),
            identified_licenses=sorted(str(r.get("identifier")) for r in client.get_identified_licenses(code)),
            dependencies=[{k: d.get(k) for k in ("name", "version", "type", "file_path")} for d in dependencies],
            files_scanned=files_scanned(client.check_status(code, "SCAN")),
            outputs={t: ArtefactRef.from_dict(ref) for t, ref in state["reports"].items()},
        )
        stored = self.store.put_json(result.as_dict(), f"tools/fossid/{key.short}/fossid-result.json")
        return self.succeed(context, key, stored.uri, state["started"], result.server_version)

    def on_kill(self) -> None:
        """Marked failed while waiting in the worker: cancel the scan it waits for. (While
        deferred, the trigger's ``on_kill`` does this; Workbench cannot stop the other stages.)"""
        if self._active_scan:
            try:
                self.client().cancel_run(self._active_scan)
                self.log.info("Cancelled FossID scan %s", self._active_scan)
            except Exception as exc:  # noqa: BLE001 - the task is ending anyway
                self.log.warning("Could not cancel FossID scan %s: %s", self._active_scan, exc)

    def resume(self, context: Context, event: dict[str, Any], state: dict[str, Any]) -> dict[str, Any]:
        raise_for_wait_problem(event, SERVICE)
        client = self.client()
        if event["status"] == "over_budget":
            self._recover(client, state, event["status_type"], event["message"], cancel=True)
        state["resumed"] = True  # the stage's operation was started: check it, do not start it again
        return self._advance(context, client, state)
