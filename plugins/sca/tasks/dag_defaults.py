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
    # A task's priority grows with the tasks upstream of it, so an item that has started moves on
    # (its scan submitted as soon as its fetch is done) before more items are fetched. With the
    # default ("downstream") the portfolio fetched all 100 items of bench P1 (60 s) before it
    # submitted the first scan.
    "weight_rule": "upstream",
}

# FossID scans/run options both scan DAGs default to: the same options (and project) let the
# nightly portfolio and an on-demand sca_scan share FossID scans.
FOSSID_SCAN_OPTIONS: dict[str, Any] = {
    "auto_identification_detect_declaration": True,
    "auto_identification_detect_copyright": True,
    "sensitivity": 10,
}

# The connections a run uses, as params: a run can choose another ScanCode.io, PurlDB or FossID
# server (a staging Workbench, the benchmarks' sandboxes) without a deployment. The ledger keys
# scans by content and settings, so a run on another server re-attaches to nothing of this one's:
# a stored result is reused, a remote project it cannot find there is scanned again.
CONNECTION_IDS: dict[str, tuple[str, str]] = {
    "scancodeio_conn_id": ("scancodeio_default", "ScanCode.io connection"),
    "purldb_conn_id": ("purldb_default", "PurlDB connection"),
    "fossid_conn_id": ("fossid_default", "FossID Workbench connection"),
}
CONNECTION_ARGS: dict[str, str] = {name: "{{ params." + name + " }}" for name in CONNECTION_IDS}


def connection_params() -> dict[str, Any]:
    from airflow.sdk import Param

    return {
        name: Param(
            default,
            type="string",
            minLength=1,
            maxLength=250,
            pattern=r"^[A-Za-z0-9_.-]+$",
            title=title,
            description=f"The Airflow connection id of the server this run uses (default {default}).",
        )
        for name, (default, title) in CONNECTION_IDS.items()
    }
