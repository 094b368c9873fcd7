"""What every scan DAG's tasks share: an owner, and retries with exponential backoff (a retried
task re-attaches to its remote work through the ledger, so a retry never submits twice)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

SCAN_DEFAULT_ARGS: dict[str, Any] = {
    "owner": "sca",
    "retries": 2,
    "retry_delay": timedelta(seconds=30),
    "retry_exponential_backoff": True,
}

# FossID scans/run options both scan DAGs default to: the same options (and project) let the
# nightly portfolio and an on-demand sca_scan share FossID scans.
FOSSID_SCAN_OPTIONS: dict[str, Any] = {
    "auto_identification_detect_declaration": True,
    "auto_identification_detect_copyright": True,
    "sensitivity": 10,
}
