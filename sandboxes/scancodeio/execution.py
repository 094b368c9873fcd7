"""What a worker does with a run, on the sandbox's clock: tasks.py ``execute_pipeline_task``
(scanpipe/tasks.py:55-80) with the pipeline replaced by a timer and synthesized results, then the
project's webhook subscriptions delivered (tasks.py:71-74)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from sandboxes.scancodeio import catalog, synth
from sandboxes.scancodeio.durations import DurationPolicy
from sandboxes.scancodeio.model import EXIT_FAILURE, EXIT_SUCCESS, SCANCODEIO_VERSION, Project, Run, Store
from sandboxes.scancodeio.policies import Policies

if TYPE_CHECKING:
    from sandboxes.scancodeio.scheduler import WorkerPool
    from sandboxes.scancodeio.webhooks import WebhookSender

SCANNING_PIPELINES = {"scan_single_package": False, "scan_codebase": True}


def log_stamp(moment: float) -> str:
    """aboutcode/pipeline/__init__.py:158-164: local time, milliseconds."""
    return datetime.fromtimestamp(moment, UTC).astimezone().strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def file_stamp(moment: float) -> str:
    """scanpipe/pipes/__init__.py:497-500 ``filename_now``."""
    return datetime.fromtimestamp(moment).isoformat(sep="-", timespec="seconds").replace(":", "-")


def input_names(project: Project) -> list[str]:
    names = []
    for source in project.inputs:
        names.append(source.filename or urlsplit(source.download_url).path.rsplit("/", 1)[-1])
    return names


def planned_failure(project: Project, run: Run, policy: DurationPolicy) -> str:
    """Why this run will fail, or "": the real pipelines' input checks, then the injected failures."""
    for source in project.inputs:
        scheme = urlsplit(source.download_url).scheme if source.download_url else ""
        if source.download_url and scheme not in ("http", "https"):
            # download_missing_inputs → fetch_url: no fetcher for the scheme (scanpipe/pipes/fetch.py)
            return f"URL scheme '{scheme}' is not supported."
    if run.pipeline_name == "scan_single_package" and len(project.inputs) != 1:
        return "Only 1 input file supported"  # scan_single_package.py get_package_input
    if policy.fails([*input_names(project), project.name]):
        return "Sandbox failure injected for this input (fail_inputs)."
    return ""


class Executor:
    def __init__(self, store: Store, policy: DurationPolicy, policies: Policies, webhooks: WebhookSender) -> None:
        self.store = store
        self.policy = policy
        self.policies = policies
        self.webhooks = webhooks
        self.pool: WorkerPool | None = None

    def start_run(self, run: Run, now: float) -> float:
        """tasks.py:61-63: task values reset, version set, ``task_start_date`` now. Returns the end."""
        project = self.store.project_of(run)
        run.task_start = now
        run.scancodeio_version = SCANCODEIO_VERSION
        run.counts_at_start = dict(project.counts) if project else {}
        for source in project.inputs if project else []:
            # download_missing_inputs fetches a URL input and names its file (models.py:1986-2011)
            if source.download_url and not source.filename and source.download_url.startswith("http"):
                source.filename = urlsplit(source.download_url).path.rsplit("/", 1)[-1] or "download"
        names = [*input_names(project), project.name] if project else []
        run.scan_seconds = self.policy.seconds_for(names, run.pipeline_name)
        run.planned_failure = planned_failure(project, run, self.policy) if project else "project deleted"
        run.append_to_log(f"{log_stamp(now)} Pipeline [{run.pipeline_name}] starting")
        steps = catalog.selected_steps(run.pipeline_name, run.selected_groups)
        if steps:
            run.append_to_log(f"{log_stamp(now)} Step [{steps[0]}] starting")
        return now + run.scan_seconds

    def end_run(self, run: Run, now: float) -> None:
        """tasks.py:67-80: ended with the pipeline's exit code; counts updated (pipelines/__init__.py:234-238);
        the subscriptions delivered (told whether a not-started run remains); the project's next run
        started only after a success. A stopped or stale run never gets here (nor to a delivery)."""
        project = self.store.project_of(run)
        if project is None:
            return
        steps = catalog.selected_steps(run.pipeline_name, run.selected_groups)
        elapsed = max(0.0, now - (run.task_start or now))
        share = elapsed / max(1, len(steps))
        if run.planned_failure:
            run.append_to_log(f"{log_stamp(now)} Pipeline failed")
            run.output = f"{run.planned_failure}\n\nTraceback:\n  (sandbox: no real pipeline ran)\n"
            run.exitcode, run.task_end = EXIT_FAILURE, now
        else:
            for index, step in enumerate(steps):
                if index:
                    run.append_to_log(f"{log_stamp(now)} Step [{step}] starting")
                run.append_to_log(f"{log_stamp(now)} Step [{step}] completed in {share:.0f} seconds")
            run.append_to_log(f"{log_stamp(now)} Pipeline completed in {elapsed:.0f} seconds")
            self.load_results(project, run, now)
            run.exitcode, run.task_end = EXIT_SUCCESS, now
        project.counts = {
            "resource_count": len(project.resources),
            "package_count": len(project.packages),
            "dependency_count": len(project.dependencies),
            "message_count": len(project.messages),
            "relation_count": 0,
        }
        next_run = project.next_run()
        self.webhooks.deliver_project_subscriptions(
            project, run, has_next_run=next_run is not None, policies=self.policies
        )
        if run.exitcode == EXIT_SUCCESS and next_run is not None and self.pool is not None:
            if project.can_start(next_run):
                self.pool.enqueue(next_run)

    def load_results(self, project: Project, run: Run, now: float) -> None:
        """The inventory a scanning pipeline loads, and the output files it writes."""
        if run.pipeline_name not in SCANNING_PIPELINES:
            return
        inputs = [(name, source.content) for name, source in zip(input_names(project), project.inputs, strict=True)]
        inventory = synth.scan_inputs(inputs, extract_prefix=SCANNING_PIPELINES[run.pipeline_name])
        project.resources, project.packages = inventory.resources, inventory.packages
        project.dependencies = inventory.dependencies
        stamp = file_stamp(now)
        scan = {"headers": [{"tool_name": "scancode-toolkit", "tool_version": "32.5.0"}], "files": inventory.resources}
        project.outputs[f"scancode-{stamp}.json"] = json.dumps(scan, indent=2).encode()
        if run.pipeline_name == "scan_single_package":
            project.extra_data.update(inventory.extra_data)
            # make_results_summary stores the clarity alert when thresholds are set (pipes/scancode.py:1199-1206)
            alert = self.policies.clarity_alert(inventory.summary["license_clarity_score"]["score"])
            if alert is not None:
                project.extra_data["license_clarity_compliance_alert"] = alert
            project.outputs[f"summary-{stamp}.json"] = json.dumps(inventory.summary, indent=2).encode()
