"""FossID operators: ensure project, create scan (idempotent), upload (chunked), extract, run,
dependency analysis, asynchronous reports, collect policy warnings and pending files.

Waiting operators start their operation only when it is not already queued, running or done
(a retried task re-attaches), then defer to ``FossIDStatusTrigger`` while it is not terminal.
A FAILED operation raises ``RunFailedError`` carrying Workbench's comment.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from airflow.sdk import BaseOperator, Context

from sca.common.deferrable import DEFAULT_DEFERRABLE
from sca.common.errors import DeadlineExceededError, RunFailedError
from sca.common.fail_fast import FailFastOnPermanentErrors
from sca.common.files import safe_filename
from sca.common.pipeline_run import raise_for_wait_problem
from sca.common.polling import FIRST_POLL_DELAY, SYNC_GRACE_SECONDS, PollSchedule, wait_briefly
from sca.fossid.client import SERVICE, SYNC_ONLY_REPORTS, FossIDClient, FossIDError
from sca.fossid.hook import FossIDHook
from sca.fossid.status import CheckStatus, FossIDStatus
from sca.fossid.triggers import FossIDStatusTrigger

REPORT_EXTENSIONS = {
    "html": "html",
    "xlsx": "xlsx",
    "spdx": "rdf",
    "spdx_lite": "xlsx",
    "cyclone_dx": "json",
    "string_match": "xlsx",
    "dynamic_top_matched_components": "html",
}


class FossIDBaseOperator(FailFastOnPermanentErrors, BaseOperator):
    def __init__(self, *, fossid_conn_id: str = FossIDHook.default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.fossid_conn_id = fossid_conn_id

    def client(self) -> FossIDClient:
        return FossIDHook(self.fossid_conn_id).get_conn()


class FossIDEnsureProjectOperator(FossIDBaseOperator):
    """Get or create a project by code. Returns ``{"project_code", "created"}``."""

    template_fields: Sequence[str] = ("project_code", "project_name", "description", "fossid_conn_id")

    def __init__(
        self, *, project_code: str, project_name: str | None = None, description: str = "", **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.project_code = project_code
        self.project_name = project_name
        self.description = description

    def execute(self, context: Context) -> dict[str, Any]:
        client = self.client()
        if client.get_project(self.project_code) is not None:
            self.log.info("FossID project %s exists", self.project_code)
            return {"project_code": self.project_code, "created": False}
        try:
            client.create_project(self.project_code, self.project_name or self.project_code, self.description)
        except FossIDError:
            if client.get_project(self.project_code) is None:  # not a create race: a real error
                raise
            return {"project_code": self.project_code, "created": False}
        self.log.info("Created FossID project %s", self.project_code)
        return {"project_code": self.project_code, "created": True}


class FossIDCreateScanOperator(FossIDBaseOperator):
    """Create a scan with a deterministic code, or re-attach to it. Returns ``{"scan_code", "scan_id", "created"}``."""

    template_fields: Sequence[str] = ("project_code", "scan_code", "scan_name", "description", "fossid_conn_id")

    def __init__(
        self, *, project_code: str, scan_code: str, scan_name: str | None = None, description: str = "", **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.project_code = project_code
        self.scan_code = scan_code
        self.scan_name = scan_name
        self.description = description

    def execute(self, context: Context) -> dict[str, Any]:
        client = self.client()
        existing = client.get_scan(self.scan_code)
        if existing is None:
            try:
                created = client.create_scan(self.project_code, self.scan_code, self.scan_name, self.description)
                self.log.info("Created FossID scan %s", self.scan_code)
                return {"scan_code": self.scan_code, "scan_id": created.get("scan_id"), "created": True}
            except FossIDError:
                existing = client.get_scan(self.scan_code)
                if existing is None:
                    raise
        self.log.info("Re-attached to FossID scan %s (id %s)", self.scan_code, existing.get("id"))
        return {"scan_code": self.scan_code, "scan_id": existing.get("id"), "created": False}


class FossIDUploadOperator(FossIDBaseOperator):
    """Upload a file, replacing a previous upload of the same name (so a retry does not append twice)."""

    template_fields: Sequence[str] = ("scan_code", "file_path", "fossid_conn_id")

    def __init__(
        self,
        *,
        scan_code: str,
        file_path: str,
        chunk_threshold: int = 8 * 1024 * 1024,
        chunk_size: int = 5 * 1024 * 1024,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.scan_code = scan_code
        self.file_path = file_path
        self.chunk_threshold = chunk_threshold
        self.chunk_size = chunk_size

    def execute(self, context: Context) -> dict[str, Any]:
        client = self.client()
        path = Path(self.file_path)
        uploaded = (client.get_scan(self.scan_code) or {}).get("uploaded_files") or []
        if path.name in uploaded:
            client.remove_uploaded_content(self.scan_code, path.name)
            self.log.info("Removed an earlier upload of %s from %s", path.name, self.scan_code)
        requests_made = client.upload(
            self.scan_code, path, chunk_threshold=self.chunk_threshold, chunk_size=self.chunk_size
        )
        self.log.info(
            "Uploaded %s (%d bytes) to %s in %d request(s)",
            path.name,
            path.stat().st_size,
            self.scan_code,
            requests_made,
        )
        return {"filename": path.name, "bytes": path.stat().st_size, "requests": requests_made}


class FossIDWaitingOperator(FossIDBaseOperator):
    """Start one scan operation unless it is already under way or done, then wait for it."""

    status_type = "SCAN"
    template_fields: Sequence[str] = ("scan_code", "fossid_conn_id")

    def __init__(
        self,
        *,
        scan_code: str,
        deferrable: bool = DEFAULT_DEFERRABLE,
        poll_interval: float = 5.0,
        max_poll_interval: float = 60.0,
        first_poll_delay: float = FIRST_POLL_DELAY,
        sync_grace_seconds: float = SYNC_GRACE_SECONDS,
        wait_timeout: timedelta = timedelta(hours=8),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.scan_code = scan_code
        self.deferrable = deferrable
        self.poll_interval = poll_interval
        self.max_poll_interval = max_poll_interval
        self.first_poll_delay = first_poll_delay
        self.sync_grace_seconds = sync_grace_seconds
        self.wait_timeout = wait_timeout

    def start(self, client: FossIDClient) -> None:
        raise NotImplementedError

    def needs_start(self, current: CheckStatus) -> bool:
        """Start unless QUEUED/RUNNING (re-attach) or FINISHED (done by an earlier try)."""
        return current.status in (FossIDStatus.NEW, FossIDStatus.FAILED, FossIDStatus.CANCELLED)

    def result(self, client: FossIDClient, status: CheckStatus) -> dict[str, Any]:
        return {
            "scan_code": self.scan_code,
            "status_type": self.status_type,
            "status": status.status.value,
            "comment": status.comment,
        }

    def execute(self, context: Context) -> dict[str, Any]:
        client = self.client()
        current = client.check_status(self.scan_code, self.status_type)
        if self.needs_start(current):
            self.start(client)
            self.log.info("Started FossID %s for %s", self.status_type, self.scan_code)
        else:
            self.log.info(
                "FossID %s for %s is already %s: re-attaching", self.status_type, self.scan_code, current.status.value
            )
        deadline = time.time() + self.wait_timeout.total_seconds()
        return self.wait(client, deadline)

    def wait(self, client: FossIDClient, deadline: float) -> dict[str, Any]:
        schedule = PollSchedule(self.poll_interval, self.max_poll_interval)
        polls = 0
        while True:
            status = client.check_status(self.scan_code, self.status_type)
            if status.is_terminal:
                return self.finish(client, status.status.value, status.comment)
            if (
                self.deferrable
                and polls == 0
                and wait_briefly(
                    lambda: client.check_status(self.scan_code, self.status_type).is_terminal, self.sync_grace_seconds
                )
            ):
                polls += 1
                continue  # finished within the grace period: no deferral round trip
            if self.deferrable:
                self.defer(
                    trigger=FossIDStatusTrigger(
                        scan_code=self.scan_code,
                        status_type=self.status_type,
                        fossid_conn_id=self.fossid_conn_id,
                        deadline=deadline,
                        poll_interval=self.poll_interval,
                        max_poll_interval=self.max_poll_interval,
                        first_poll_delay=self.first_poll_delay,
                    ),
                    method_name="execute_complete",
                )
            if time.time() >= deadline:
                raise DeadlineExceededError(
                    f"FossID {self.status_type} of {self.scan_code} still {status.status.value} at the deadline",
                    service=SERVICE,
                )
            time.sleep(schedule.interval(polls))
            polls += 1

    def finish(self, client: FossIDClient, status: str, comment: str) -> dict[str, Any]:
        if status != FossIDStatus.FINISHED:
            raise RunFailedError(
                f"FossID {self.status_type} of scan {self.scan_code} ended {status}: "
                f"{comment or 'no comment from Workbench'}",
                service=SERVICE,
                detail={"status": status, "comment": comment},
            )
        return self.result(client, client.check_status(self.scan_code, self.status_type))

    def execute_complete(self, context: Context, event: dict[str, Any]) -> dict[str, Any]:
        raise_for_wait_problem(event, SERVICE)
        return self.finish(self.client(), event["status"], event["message"])


class FossIDExtractArchivesOperator(FossIDWaitingOperator):
    status_type = "EXTRACT_ARCHIVES"
    template_fields: Sequence[str] = ("scan_code", "filename", "fossid_conn_id")

    def __init__(self, *, filename: str | None = None, recursive: bool = True, **kwargs: Any) -> None:
        kwargs.setdefault("poll_interval", 2.0)
        super().__init__(**kwargs)
        self.filename = filename
        self.recursive = recursive

    def needs_start(self, current: CheckStatus) -> bool:  # extraction is cheap and idempotent: redo
        return not current.status.is_active

    def start(self, client: FossIDClient) -> None:
        client.extract_archives(self.scan_code, self.filename, recursive=self.recursive)


class FossIDRunScanOperator(FossIDWaitingOperator):
    """Run the scan with Workbench's options (strings or booleans, sent as "1"/"0")."""

    status_type = "SCAN"
    template_fields: Sequence[str] = ("scan_code", "scan_options", "fossid_conn_id")

    def __init__(self, *, scan_options: dict[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scan_options = scan_options or {}

    def start(self, client: FossIDClient) -> None:
        options = {
            "auto_identification_detect_declaration": True,
            "auto_identification_detect_copyright": True,
            **(self.scan_options or {}),
        }
        client.run_scan(self.scan_code, **options)


class FossIDDependencyAnalysisOperator(FossIDWaitingOperator):
    status_type = "DEPENDENCY_ANALYSIS"

    def start(self, client: FossIDClient) -> None:
        client.run_dependency_analysis(self.scan_code)

    def result(self, client: FossIDClient, status: CheckStatus) -> dict[str, Any]:
        deps = client.get_dependency_analysis_results(self.scan_code)
        return {**super().result(client, status), "dependencies": len(deps)}


class FossIDReportsOperator(FossIDBaseOperator):
    """Generate reports for a scan (or a whole project) and download them into ``output_dir``.

    Asynchronous types go through ``generate_report`` → ``check_status REPORT_GENERATION`` →
    ``download/download_report``, deferring while a report is still being generated; ``html`` is
    synchronous. Returns ``{type: {"path", "bytes"}}``.
    """

    template_fields: Sequence[str] = ("scan_code", "project_code", "report_types", "output_dir", "fossid_conn_id")

    def __init__(
        self,
        *,
        output_dir: str,
        report_types: Sequence[str] = ("xlsx", "spdx", "spdx_lite", "cyclone_dx"),
        scan_code: str | None = None,
        project_code: str | None = None,
        deferrable: bool = DEFAULT_DEFERRABLE,
        poll_interval: float = 3.0,
        first_poll_delay: float = FIRST_POLL_DELAY,
        sync_grace_seconds: float = SYNC_GRACE_SECONDS,
        wait_timeout: timedelta = timedelta(hours=2),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if bool(scan_code) == bool(project_code):
            raise ValueError("give exactly one of scan_code and project_code")
        self.scan_code = scan_code
        self.project_code = project_code
        self.report_types = report_types
        self.output_dir = output_dir
        self.deferrable = deferrable
        self.poll_interval = poll_interval
        self.first_poll_delay = first_poll_delay
        self.sync_grace_seconds = sync_grace_seconds
        self.wait_timeout = wait_timeout

    @property
    def entity(self) -> str:
        return "scans" if self.scan_code else "projects"

    def target(self, report_type: str) -> Path:
        """``fossid-scans-<type>.<ext>`` / ``fossid-projects-<type>.<ext>``: one report of each per folder."""
        name = f"fossid-{self.entity}-{report_type}.{REPORT_EXTENSIONS.get(report_type, 'bin')}"
        return Path(self.output_dir) / safe_filename(name)

    def keep(self, report_type: str, path: Path) -> dict[str, Any]:
        """What is returned of a downloaded report (a subclass moves it somewhere lasting: after a
        deferral the task may resume on another worker, so a local path must not cross it)."""
        return {"path": str(path), "bytes": path.stat().st_size}

    def execute(self, context: Context) -> dict[str, Any]:
        client = self.client()
        saved: dict[str, Any] = {}
        pending: dict[str, str] = {}
        for report_type in self.report_types:
            if report_type in SYNC_ONLY_REPORTS:
                if not self.scan_code:
                    raise ValueError(f"{report_type} reports exist for scans only")
                path = client.download_sync_report(self.scan_code, report_type, self.target(report_type))
                saved[report_type] = {"path": str(path), "bytes": path.stat().st_size}
            elif self.scan_code:
                pending[report_type] = client.generate_report(self.scan_code, report_type)
            else:
                pending[report_type] = client.generate_project_report(str(self.project_code), report_type)
        self.log.info("Started FossID report generation: %s", pending)
        return self._collect(client, saved, pending, time.time() + self.wait_timeout.total_seconds())

    def _is_finished(self, client: FossIDClient, process_id: str) -> bool:
        return self._status(client, process_id).is_terminal

    def _status(self, client: FossIDClient, process_id: str) -> CheckStatus:
        if self.scan_code:
            return client.check_status(self.scan_code, "REPORT_GENERATION", process_id)
        return client.project_check_status(process_id)

    def _collect(
        self, client: FossIDClient, saved: dict[str, Any], pending: dict[str, str], deadline: float
    ) -> dict[str, Any]:
        for report_type, process_id in list(pending.items()):
            while True:
                status = self._status(client, process_id)
                if status.is_terminal:
                    break
                if self.deferrable and wait_briefly(
                    functools.partial(self._is_finished, client, process_id), self.sync_grace_seconds
                ):
                    continue
                if self.deferrable:
                    self.defer(
                        trigger=FossIDStatusTrigger(
                            scan_code=self.scan_code,
                            status_type="REPORT_GENERATION",
                            process_id=process_id,
                            entity=self.entity,
                            fossid_conn_id=self.fossid_conn_id,
                            deadline=deadline,
                            poll_interval=self.poll_interval,
                            first_poll_delay=self.first_poll_delay,
                        ),
                        method_name="execute_complete",
                        kwargs={"saved": saved, "pending": pending, "deadline": deadline},
                    )
                if time.time() >= deadline:
                    raise DeadlineExceededError(
                        f"FossID {report_type} report still {status.status.value}", service=SERVICE
                    )
                time.sleep(self.poll_interval)
            if status.status is not FossIDStatus.FINISHED:
                raise RunFailedError(
                    f"FossID {report_type} report generation {status.status.value}: {status.comment}", service=SERVICE
                )
            path = client.download_report(self.entity, process_id, self.target(report_type))
            if path.stat().st_size == 0:
                raise RunFailedError(f"FossID returned an empty {report_type} report", service=SERVICE)
            saved[report_type] = self.keep(report_type, path)
            del pending[report_type]
            self.log.info("Saved FossID %s report: %s", report_type, path)
        return saved

    def execute_complete(
        self, context: Context, event: dict[str, Any], saved: dict[str, Any], pending: dict[str, str], deadline: float
    ) -> dict[str, Any]:
        raise_for_wait_problem(event, SERVICE)
        return self._collect(self.client(), dict(saved), dict(pending), deadline)


class FossIDCollectResultsOperator(FossIDBaseOperator):
    """Policy warnings (counter and list), pending files, identified licenses and dependencies of a
    finished scan, written to ``fossid-summary.json`` in ``output_dir`` and returned."""

    template_fields: Sequence[str] = ("scan_code", "project_code", "output_dir", "fossid_conn_id")

    def __init__(self, *, scan_code: str, project_code: str, output_dir: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scan_code = scan_code
        self.project_code = project_code
        self.output_dir = output_dir

    def execute(self, context: Context) -> dict[str, Any]:
        client = self.client()
        counter = client.get_policy_warnings_counter(self.scan_code)
        info = client.project_policy_warnings(self.project_code)
        warnings = [w for w in info.get("policy_warnings_list") or [] if w.get("scan_code") in (None, self.scan_code)]
        pending = client.get_pending_files(self.scan_code)
        try:
            dependencies = client.get_dependency_analysis_results(self.scan_code)
        except FossIDError as exc:
            if "not been run" not in str(exc):
                raise
            dependencies = []
        summary = {
            "scan_code": self.scan_code,
            "project_code": self.project_code,
            "policy_warnings_total": int(counter.get("policy_warnings_total") or 0),
            "policy_warnings": warnings,
            "pending_files": sorted(pending.values()),
            "identified_licenses": sorted(
                str(r.get("identifier")) for r in client.get_identified_licenses(self.scan_code)
            ),
            "dependencies": [{k: d.get(k) for k in ("name", "version", "type", "file_path")} for d in dependencies],
        }
        target = Path(self.output_dir) / "fossid-summary.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(summary, indent=2, sort_keys=True))
        return {**summary, "summary_path": str(target)}
