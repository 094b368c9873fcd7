"""Projects, runs and inputs held in memory, with the status rules of scanpipe/models.py."""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

SCANCODEIO_VERSION = "38.2.0"
EXIT_SUCCESS, EXIT_FAILURE, EXIT_STALE, EXIT_STOPPED = 0, 1, 88, 99  # scanpipe/models.py:264-282, 377-383


def new_uuid() -> str:
    return str(uuid.uuid4())


@dataclass
class InputSource:
    """scanpipe/models.py:1903-2012 InputSource; ``content`` is what an upload brought."""

    filename: str
    download_url: str = ""
    is_uploaded: bool = False
    tag: str = ""
    content: bytes | None = None
    uuid: str = field(default_factory=new_uuid)


@dataclass
class Run:
    """scanpipe/models.py:2065-2150 Run with AbstractTaskFieldsModel's task fields (192-430).
    Times are epoch seconds; ``queued_at`` and ``scan_seconds`` are the sandbox's own records;
    ``counts_at_start`` is the project's counts as the worker loaded them (the webhook payload's)."""

    project_uuid: str
    pipeline_name: str
    description: str
    selected_groups: list[str] | None
    created: float
    uuid: str = field(default_factory=new_uuid)
    task_id: str | None = None
    task_start: float | None = None
    task_end: float | None = None
    exitcode: int | None = None
    output: str = ""
    log: str = ""
    scancodeio_version: str = ""
    queued_at: float | None = None
    scan_seconds: float | None = None
    planned_failure: str = ""
    status_calls: int = 0
    counts_at_start: dict[str, int] = field(default_factory=dict)

    @property
    def status(self) -> str:
        """scanpipe/models.py:296-319: exit code first, then start date, then task id."""
        if self.exitcode == EXIT_SUCCESS:
            return "success"
        if self.exitcode == EXIT_STALE:
            return "stale"
        if self.exitcode == EXIT_STOPPED:
            return "stopped"
        if self.exitcode is not None and self.exitcode > 0:
            return "failure"
        if self.task_start is not None:
            return "running"
        if self.task_id is not None:
            return "queued"
        return "not_started"

    @property
    def queued_or_running(self) -> bool:
        """RunQuerySet.queued_or_running (models.py:2055-2057): a task id and no end date."""
        return self.task_id is not None and self.task_end is None

    @property
    def execution_time(self) -> int | None:
        """models.py:321-327: None when stale, else whole seconds between start and end."""
        if self.exitcode == EXIT_STALE:
            return None
        if self.task_end is not None and self.task_start is not None:
            return int(self.task_end - self.task_start)
        return None

    def append_to_log(self, message: str) -> None:
        """models.py:421-428: one line, newline-terminated."""
        self.log += message.strip() + "\n"


@dataclass
class WebhookSubscription:
    """scanpipe/models.py:4677-4723 WebhookSubscription: the five fields with the model's defaults."""

    target_url: str
    trigger_on_each_run: bool = False
    include_summary: bool = False
    include_results: bool = False
    is_active: bool = True
    uuid: str = field(default_factory=new_uuid)


@dataclass
class Project:
    """scanpipe/models.py:543-1640 Project: the fields the API shows and the inventory."""

    name: str
    created: float
    uuid: str = field(default_factory=new_uuid)
    purl: str = ""
    notes: str = ""
    labels: list[str] = field(default_factory=list)
    is_archived: bool = False
    inputs: list[InputSource] = field(default_factory=list)
    runs: list[Run] = field(default_factory=list)
    webhooks: list[WebhookSubscription] = field(default_factory=list)  # oldest first
    resources: list[dict[str, Any]] = field(default_factory=list)
    packages: list[dict[str, Any]] = field(default_factory=list)
    dependencies: list[dict[str, Any]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    outputs: dict[str, bytes] = field(default_factory=dict)
    extra_data: dict[str, Any] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    detail_calls: int = 0

    @property
    def can_change_inputs(self) -> bool:
        """models.py:1190-1196: not archived, and no run has a start date."""
        return not self.is_archived and not any(run.task_start is not None for run in self.runs)

    def run_in_progress(self) -> bool:
        """models.py:827-835 ``_raise_if_run_in_progress``."""
        return any(run.queued_or_running for run in self.runs)

    def next_run(self) -> Run | None:
        """models.py:1343-1346 ``get_next_run``: the earliest not-started run."""
        return next((run for run in self.runs if run.status == "not_started"), None)

    def can_start(self, run: Run) -> bool:
        """Run.can_start (models.py:2096-2110): not started, and every earlier run has ended."""
        if run.status != "not_started":
            return False
        earlier = self.runs[: self.runs.index(run)]
        return all(previous.task_end is not None for previous in earlier)

    def clear_inventory(self) -> None:
        self.resources, self.packages, self.dependencies, self.messages = [], [], [], []
        self.outputs, self.extra_data, self.counts = {}, {}, {}


class Store:
    """Every project and run, behind one lock (the scheduler waits on it too)."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.projects: dict[str, Project] = {}
        self.runs: dict[str, Run] = {}
        self.finished_runs: list[Run] = []  # runs deleted with their project stay counted

    def project_by_name(self, name: str) -> Project | None:
        return next((p for p in self.projects.values() if p.name == name), None)

    def project_of(self, run: Run) -> Project | None:
        return self.projects.get(run.project_uuid)
