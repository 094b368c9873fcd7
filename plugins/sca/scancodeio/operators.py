"""ScanCode.io operators: create a project (idempotently), add inputs, run pipelines (deferrable),
download outputs, collect summary and compliance.

Every operator is safe to retry: the project is found again by its deterministic name, inputs
already present are not added twice, pipelines already added are not added twice and runs that
already succeeded are not run again.
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
from sca.common.errors import (
    DeadlineExceededError,
    PermanentServiceError,
)
from sca.common.fail_fast import FailFastOnPermanentErrors
from sca.common.files import sha256_of
from sca.common.pipeline_run import raise_for_event, raise_for_run
from sca.common.polling import FIRST_POLL_DELAY, SYNC_GRACE_SECONDS, PollSchedule, wait_briefly
from sca.scancodeio.client import (
    DEFAULT_OUTPUT_NAMES,
    SERVICE,
    ScanCodeIOClient,
    is_name_taken,
    pipeline_base_name,
)
from sca.scancodeio.hook import ScanCodeIOHook
from sca.scancodeio.links import PROJECT_URL_XCOM_KEY, ScanCodeIOProjectLink
from sca.scancodeio.status import RunStatus
from sca.scancodeio.triggers import ScanCodeIORunTrigger


class ScanCodeIOBaseOperator(FailFastOnPermanentErrors, BaseOperator):
    operator_extra_links = (ScanCodeIOProjectLink(),)

    def __init__(self, *, scancodeio_conn_id: str = ScanCodeIOHook.default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scancodeio_conn_id = scancodeio_conn_id

    @property
    def hook(self) -> ScanCodeIOHook:
        return ScanCodeIOHook(self.scancodeio_conn_id)

    def client(self) -> ScanCodeIOClient:
        return self.hook.get_conn()

    def push_project_url(self, context: Context, project: dict[str, Any]) -> str:
        url = self.hook.project_ui_url(project)
        context["ti"].xcom_push(key=PROJECT_URL_XCOM_KEY, value=url)
        return url


class ScanCodeIOCreateProjectOperator(ScanCodeIOBaseOperator):
    """Create a project, or re-attach to the one this task already created.

    ``project_name`` should be deterministic (see ``sca.scancodeio.naming.project_name``): a
    retried task then finds its project instead of failing on "already exists" or making a second.
    Pipelines are validated against the server's list before anything is created. Returns
    ``{"uuid", "name", "api_url", "ui_url", "created"}``.
    """

    template_fields: Sequence[str] = (
        "project_name",
        "pipelines",
        "input_urls",
        "upload_file",
        "labels",
        "notes",
        "scancodeio_conn_id",
    )

    def __init__(
        self,
        *,
        project_name: str,
        pipelines: Sequence[str] = (),
        input_urls: Sequence[str] = (),
        upload_file: str | None = None,
        upload_file_tag: str | None = None,
        labels: Sequence[str] = (),
        notes: str | None = None,
        execute_now: bool = False,
        webhook_url: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.project_name = project_name
        self.pipelines = pipelines
        self.input_urls = input_urls
        self.upload_file = upload_file
        self.upload_file_tag = upload_file_tag
        self.labels = labels
        self.notes = notes
        self.execute_now = execute_now
        self.webhook_url = webhook_url

    def execute(self, context: Context) -> dict[str, Any]:
        client = self.client()
        specs = client.validate_pipelines(self.pipelines) if self.pipelines else []
        created = False
        project = client.find_project(self.project_name)
        if project is None:
            try:
                project = client.create_project(
                    self.project_name,
                    pipelines=specs,
                    input_urls=list(self.input_urls or ()),
                    upload_file=Path(self.upload_file) if self.upload_file else None,
                    upload_file_tag=self.upload_file_tag,
                    labels=list(self.labels or ()),
                    notes=self.notes,
                    execute_now=self.execute_now,
                    webhook_url=self.webhook_url,
                )
                created = True
            except PermanentServiceError as exc:
                if not is_name_taken(exc):
                    raise
                project = client.find_project(self.project_name)
                if project is None:
                    raise
        if not created:
            self.log.info("Re-attached to existing ScanCode.io project %s (%s)", project["name"], project["uuid"])
        else:
            self.log.info("Created ScanCode.io project %s (%s)", project["name"], project["uuid"])
        ui_url = self.push_project_url(context, project)
        return {
            "uuid": project["uuid"],
            "name": project["name"],
            "api_url": project["url"],
            "ui_url": ui_url,
            "created": created,
        }


class ScanCodeIOAddInputOperator(ScanCodeIOBaseOperator):
    """Add an uploaded file and/or input URLs to a project, skipping any the project already has."""

    template_fields: Sequence[str] = ("project_uuid", "input_urls", "upload_file", "scancodeio_conn_id")

    def __init__(
        self,
        *,
        project_uuid: str,
        input_urls: Sequence[str] = (),
        upload_file: str | None = None,
        upload_file_tag: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.project_uuid = project_uuid
        self.input_urls = input_urls
        self.upload_file = upload_file
        self.upload_file_tag = upload_file_tag

    def execute(self, context: Context) -> list[str]:
        client = self.client()
        project = client.get_project(self.project_uuid)
        sources = project.get("input_sources") or []
        have_urls = {s.get("download_url") for s in sources if s.get("download_url")}
        have_files = {s.get("filename") for s in sources if s.get("is_uploaded")}
        new_urls = [u for u in (self.input_urls or ()) if u not in have_urls]
        upload = Path(self.upload_file) if self.upload_file else None
        if upload is not None and upload.name in have_files:
            self.log.info("Input %s is already in project %s", upload.name, self.project_uuid)
            upload = None
        if new_urls or upload is not None:
            client.add_input(
                self.project_uuid, input_urls=new_urls, upload_file=upload, upload_file_tag=self.upload_file_tag
            )
            self.log.info("Added inputs to %s: %s", self.project_uuid, [*new_urls, *([upload.name] if upload else [])])
        self.push_project_url(context, project)
        return sorted(
            {*(s.get("filename") or "" for s in sources), *new_urls, *([upload.name] if upload else [])} - {""}
        )


def _run_matches(run: dict[str, Any], spec: str) -> bool:
    groups = sorted(g.strip() for g in spec.partition(":")[2].split(",") if g.strip())
    return run.get("pipeline_name") == pipeline_base_name(spec) and sorted(run.get("selected_groups") or []) == groups


class ScanCodeIORunPipelinesOperator(ScanCodeIOBaseOperator):
    """Make sure each pipeline is on the project, run them in order and wait for the last.

    Deferrable by default: after starting (or finding) the next unfinished run it hands the wait to
    ``ScanCodeIORunTrigger`` and frees its worker slot; it defers only while a run is not terminal.
    A run that ends failure/stopped/stale raises ``RunFailedError`` with the run's output tail.
    Returns ``{"project_uuid", "runs": [{"uuid", "pipeline", "status", "execution_time"}]}``.
    """

    template_fields: Sequence[str] = ("project_uuid", "pipelines", "scancodeio_conn_id")

    def __init__(
        self,
        *,
        project_uuid: str,
        pipelines: Sequence[str],
        deferrable: bool = DEFAULT_DEFERRABLE,
        poll_interval: float = 5.0,
        max_poll_interval: float = 60.0,
        first_poll_delay: float = FIRST_POLL_DELAY,
        sync_grace_seconds: float = SYNC_GRACE_SECONDS,
        run_timeout: timedelta = timedelta(hours=6),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.project_uuid = project_uuid
        self.pipelines = pipelines
        self.deferrable = deferrable
        self.poll_interval = poll_interval
        self.max_poll_interval = max_poll_interval
        self.first_poll_delay = first_poll_delay
        self.sync_grace_seconds = sync_grace_seconds
        self.run_timeout = run_timeout

    def execute(self, context: Context) -> dict[str, Any]:
        client = self.client()
        specs = client.validate_pipelines(self.pipelines)
        project = client.get_project(self.project_uuid)
        self.push_project_url(context, project)
        for spec in specs:
            if not any(_run_matches(run, spec) for run in project.get("runs", [])):
                client.add_pipeline(self.project_uuid, spec, execute_now=False)
                self.log.info("Added pipeline %s to project %s", spec, self.project_uuid)
        return self._advance(client, time.time() + self.run_timeout.total_seconds())

    def _advance(self, client: ScanCodeIOClient, deadline: float) -> dict[str, Any]:
        """Walk the project's runs in order: skip successes, start/wait the next, fail on failures."""
        while True:
            runs = sorted(
                client.get_project(self.project_uuid).get("runs", []), key=lambda r: r.get("created_date") or ""
            )
            pending = next((r for r in runs if RunStatus(r["status"]) is not RunStatus.SUCCESS), None)
            if pending is None:
                return {
                    "project_uuid": self.project_uuid,
                    "runs": [
                        {
                            "uuid": r["uuid"],
                            "pipeline": r["pipeline_name"],
                            "status": r["status"],
                            "execution_time": r.get("execution_time"),
                        }
                        for r in runs
                    ],
                }
            run = client.get_run(pending["uuid"])
            status = raise_for_run(run)
            if status is RunStatus.NOT_STARTED:
                try:
                    client.start_pipeline(run["uuid"])
                    self.log.info("Started %s run %s", run["pipeline_name"], run["uuid"])
                except PermanentServiceError as exc:  # started meanwhile (auto-start, a retry)
                    self.log.info("Run %s already started: %s", run["uuid"], exc.detail)
            if not self.deferrable:
                self._wait_sync(client, run["uuid"], deadline)
                continue
            if wait_briefly(functools.partial(self._run_is_terminal, client, run["uuid"]), self.sync_grace_seconds):
                continue  # short runs finish in the worker: no deferral round trip
            self.defer(
                trigger=ScanCodeIORunTrigger(
                    run_uuid=run["uuid"],
                    conn_id=self.scancodeio_conn_id,
                    deadline=deadline,
                    poll_interval=self.poll_interval,
                    max_poll_interval=self.max_poll_interval,
                    first_poll_delay=self.first_poll_delay,
                ),
                method_name="execute_complete",
                kwargs={"deadline": deadline},
            )

    @staticmethod
    def _run_is_terminal(client: ScanCodeIOClient, run_uuid: str) -> bool:
        return RunStatus(client.get_run(run_uuid)["status"]).is_terminal

    def _wait_sync(self, client: ScanCodeIOClient, run_uuid: str, deadline: float) -> None:
        schedule = PollSchedule(self.poll_interval, self.max_poll_interval)
        polls = 0
        while True:
            run = client.get_run(run_uuid)
            if raise_for_run(run).is_terminal:
                return
            if time.time() >= deadline:
                raise DeadlineExceededError(
                    f"ScanCode.io run {run_uuid} still {run['status']} at the deadline", service=SERVICE
                )
            time.sleep(schedule.interval(polls))
            polls += 1

    def execute_complete(self, context: Context, event: dict[str, Any], deadline: float) -> dict[str, Any]:
        raise_for_event(event, SERVICE)
        self.log.info("ScanCode.io run %s succeeded after %s polls", event["run_uuid"], event["polls"])
        return self._advance(self.client(), deadline)


class ScanCodeIODownloadOutputsOperator(ScanCodeIOBaseOperator):
    """Stream each requested results format to ``output_dir``; fails on an empty file.

    Returns ``{format: {"path", "bytes", "sha256"}}`` (paths, not contents, go to XCom).
    """

    template_fields: Sequence[str] = ("project_uuid", "formats", "output_dir", "scancodeio_conn_id")

    def __init__(
        self,
        *,
        project_uuid: str,
        output_dir: str,
        formats: Sequence[str] = ("json", "spdx", "cyclonedx", "xlsx", "attribution"),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.project_uuid = project_uuid
        self.output_dir = output_dir
        self.formats = formats

    def execute(self, context: Context) -> dict[str, dict[str, Any]]:
        client = self.client()
        saved: dict[str, dict[str, Any]] = {}
        for fmt in self.formats:
            path = client.download_results(
                self.project_uuid, fmt, Path(self.output_dir), filename=DEFAULT_OUTPUT_NAMES.get(fmt)
            )
            size = path.stat().st_size
            if size == 0:
                raise PermanentServiceError(
                    f"ScanCode.io returned an empty {fmt} output for {self.project_uuid}", service=SERVICE
                )
            saved[fmt] = {"path": str(path), "bytes": size, "sha256": sha256_of(path)}
            self.log.info("Saved %s output: %s (%d bytes)", fmt, path, size)
        return saved


class ScanCodeIOCollectResultsOperator(ScanCodeIOBaseOperator):
    """Summary, compliance alerts (at ``fail_level``), license clarity, counts and messages.

    Writes ``scancodeio-summary.json`` into ``output_dir`` and returns the same small dict.
    """

    template_fields: Sequence[str] = ("project_uuid", "fail_level", "output_dir", "scancodeio_conn_id")

    def __init__(self, *, project_uuid: str, output_dir: str, fail_level: str = "ERROR", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.project_uuid = project_uuid
        self.output_dir = output_dir
        self.fail_level = fail_level

    def execute(self, context: Context) -> dict[str, Any]:
        collected = collect_results(self.client(), self.project_uuid, self.fail_level)
        target = Path(self.output_dir) / "scancodeio-summary.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(collected, indent=2, sort_keys=True))
        collected["summary_path"] = str(target)
        return collected


def collect_results(client: ScanCodeIOClient, project_uuid: str, fail_level: str) -> dict[str, Any]:
    project = client.get_project(project_uuid)
    try:
        summary = client.summary(project_uuid)
    except PermanentServiceError as exc:  # pipelines such as scan_codebase write no summary file
        if exc.status != 400:
            raise
        summary = {}
    compliance = client.compliance(project_uuid, fail_level).get("compliance_alerts") or {}
    messages = client.messages(project_uuid)
    levels = {"ERROR": ("error",), "WARNING": ("error", "warning"), "MISSING": ("error", "warning", "missing")}
    flagged = [
        {"path": r["path"], "license": r.get("detected_license_expression"), "alert": alert}
        for alert in levels[fail_level.upper()]
        for r in client.resources(project_uuid, compliance_alert=alert)
    ]
    return {
        "project": {"uuid": project["uuid"], "name": project["name"], "purl": project.get("purl")},
        "counts": {key: project.get(f"{key}_count") for key in ("resource", "package", "dependency", "message")},
        "declared_license_expression": summary.get("declared_license_expression"),
        "license_clarity_score": (summary.get("license_clarity_score") or {}).get("score"),
        "other_license_expressions": summary.get("other_license_expressions"),
        "declared_holder": summary.get("declared_holder"),
        "primary_language": summary.get("primary_language"),
        "fail_level": fail_level.upper(),
        "compliance_alerts": compliance,
        "flagged_resources": flagged[:500],
        "declared_purls": sorted({p["purl"] for p in client.packages(project_uuid) if p.get("purl")}),
        "license_clarity_compliance": client.license_clarity_compliance(project_uuid),
        "messages": [
            {
                "severity": m.get("severity"),
                "description": m.get("description"),
                "path": (m.get("details") or {}).get("resource_path"),
            }
            for m in messages[:100]
        ],
    }
