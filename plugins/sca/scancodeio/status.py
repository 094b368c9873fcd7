"""ScanCode.io run states (the values of ``Run.status`` in 38.2) and what they mean to a waiter."""

from __future__ import annotations

from enum import StrEnum


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
