"""ScanCode.io run states: the shared pipeline-run states (see sca.common.pipeline_run)."""

from sca.common.pipeline_run import FAILED_STATUSES, TERMINAL_STATUSES, RunStatus

__all__ = ["FAILED_STATUSES", "TERMINAL_STATUSES", "RunStatus"]
