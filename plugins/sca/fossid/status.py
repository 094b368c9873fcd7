"""check_status across Workbench generations, normalised to one Enum.

Before 2021.2 the reply is all strings (``"is_finished":"1"``, ``"percentage_done":"100%"``);
from 2021.2 it is typed (``true``, ``100``). Reports and deletes answer ``progress_state``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class FossIDStatus(StrEnum):
    NEW = "NEW"
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    FINISHED = "FINISHED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    # A word this client does not know: not terminal, not idle either (something may be running);
    # waits give up on it after a short budget, naming the word (``CheckStatus.word``).
    UNKNOWN = "UNKNOWN"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STATUSES

    @property
    def is_active(self) -> bool:
        """Work may be in progress: never start, replace or delete under it."""
        return self in (FossIDStatus.QUEUED, FossIDStatus.RUNNING, FossIDStatus.UNKNOWN)


TERMINAL_STATUSES = frozenset({FossIDStatus.FINISHED, FossIDStatus.FAILED, FossIDStatus.CANCELLED})
CHECK_TYPES = ("SCAN", "EXTRACT_ARCHIVES", "DEPENDENCY_ANALYSIS", "REPORT_GENERATION", "DELETE_SCAN", "REPORT_IMPORT")

_ALIASES = {
    "NEW": FossIDStatus.NEW,
    "NOT STARTED": FossIDStatus.NEW,
    "NOT_STARTED": FossIDStatus.NEW,
    "QUEUED": FossIDStatus.QUEUED,
    "PENDING": FossIDStatus.QUEUED,
    "RUNNING": FossIDStatus.RUNNING,
    "IN_PROGRESS": FossIDStatus.RUNNING,
    "STARTING": FossIDStatus.RUNNING,
    "STARTED": FossIDStatus.RUNNING,
    "SCANNING": FossIDStatus.RUNNING,
    "AUTO-ID": FossIDStatus.RUNNING,
    "NOT FINISHED": FossIDStatus.RUNNING,
    "FINISHED": FossIDStatus.FINISHED,
    "COMPLETE": FossIDStatus.FINISHED,
    "SCAN_COMPLETE": FossIDStatus.FINISHED,
    "FAILED": FossIDStatus.FAILED,
    "ERROR": FossIDStatus.FAILED,
    "INTERRUPTED": FossIDStatus.FAILED,
    "CANCELLED": FossIDStatus.CANCELLED,
    "CANCELED": FossIDStatus.CANCELLED,
}


def normalise_status(value: Any) -> FossIDStatus:
    """Any status word Workbench uses; a word not known here is UNKNOWN (not RUNNING: a wait
    that saw only UNKNOWN for its budget ends in an error naming the word, not at a deadline
    hours later)."""
    return _ALIASES.get(str(value or "NEW").strip().upper(), FossIDStatus.UNKNOWN)


def _percentage(value: Any) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(float(str(value).rstrip("%")))
    except ValueError:
        return None


@dataclass(frozen=True)
class CheckStatus:
    status: FossIDStatus
    percentage: int | None
    comment: str
    raw: dict[str, Any]

    @property
    def word(self) -> str:
        """The status word as the server sent it."""
        return str(self.raw.get("progress_state") or self.raw.get("status") or "")

    @property
    def is_terminal(self) -> bool:
        return self.status.is_terminal


def parse_check_status(data: Any) -> CheckStatus:
    """Parse ``data`` of a check_status reply, old or new shape, scan or process."""
    if data is True:  # DELETE_SCAN may answer data:true once the scan is gone
        return CheckStatus(FossIDStatus.FINISHED, 100, "", {})
    if not isinstance(data, dict):
        raise ValueError(f"unexpected check_status data: {data!r}")
    if "progress_state" in data:
        status = normalise_status(data["progress_state"])
    else:
        status = normalise_status(data.get("status"))
        finished = data.get("is_finished")
        if status not in TERMINAL_STATUSES and finished in (True, "1", 1) and status is not FossIDStatus.NEW:
            status = FossIDStatus.FINISHED
    comment = " ".join(str(data.get(k) or "") for k in ("comment", "comment_2", "comment_3")).strip()
    return CheckStatus(status, _percentage(data.get("percentage_done")), comment, data)
