"""Runs of ScanCode.io pipelines (ScanCode.io itself, and PurlDB's MatchCode matching runs):
their seven states, the terminal set, and what a failed run says about itself. No Airflow."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from sca.common.errors import DeadlineExceededError, RunFailedError, TransientServiceError


class RunStatus(StrEnum):
    NOT_STARTED = "not_started"
    QUEUED = "queued"
    RUNNING = "running"
    SUCCESS = "success"
    FAILURE = "failure"
    STOPPED = "stopped"
    STALE = "stale"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STATUSES

    @property
    def is_failed(self) -> bool:
        return self in FAILED_STATUSES


TERMINAL_STATUSES = frozenset({RunStatus.SUCCESS, RunStatus.FAILURE, RunStatus.STOPPED, RunStatus.STALE})
FAILED_STATUSES = TERMINAL_STATUSES - {RunStatus.SUCCESS}


def run_failure_message(run: Mapping[str, Any], service: str = "ScanCode.io", tail_lines: int = 30) -> str:
    """What a failed/stopped/stale run says about itself: status, exit code and output/log tail."""
    text = (run.get("task_output") or "").strip() or (run.get("log") or "").strip()
    tail = "\n".join(text.splitlines()[-tail_lines:])
    return (
        f"{service} run {run.get('uuid')} ({run.get('pipeline_name')}) ended "
        f"{run.get('status')} (exit code {run.get('task_exitcode')}):\n{tail}"
    )


def raise_for_run(run: Mapping[str, Any], service: str = "ScanCode.io") -> RunStatus:
    """The run's status; raises RunFailedError for failure/stopped/stale."""
    status = RunStatus(run["status"])
    if status.is_failed:
        raise RunFailedError(
            run_failure_message(run, service),
            service=service,
            url=str(run.get("url", "")),
            detail={"status": status.value, "run": run.get("uuid")},
        )
    return status


def raise_for_wait_problem(event: Mapping[str, Any], service: str) -> None:
    """``timeout`` → DeadlineExceededError; ``error`` (the transport gave up, so a task retry
    re-attaches) → TransientServiceError; any other event is for the caller to judge."""
    if event["status"] == "timeout":
        raise DeadlineExceededError(event["message"], service=service)
    if event["status"] == "error":
        raise TransientServiceError(event["message"], service=service)


def raise_for_event(event: Mapping[str, Any], service: str, success: str = RunStatus.SUCCESS.value) -> None:
    """Turn a trigger's event into the narrow error it stands for; return when it is ``success``."""
    raise_for_wait_problem(event, service)
    if event["status"] != success:
        raise RunFailedError(event["message"], service=service, detail={"status": event["status"]})
