"""P1b's baseline: one portfolio item at a time, the way a CLI (FossID's workbench-agent,
scancode-action) is used from a shell loop: a plain sequential script per item, through our pure
clients (``plugins/sca/*/client.py``), against the benchmark's own sandboxes.

Per item: ScanCode.io create project with the upload and ``scan_single_package``, run at once,
poll the run every second until it ends, download the JSON results; PurlDB matching of that JSON,
polled every second, then its results; FossID create scan, upload, extract, run the scan, polled
every second until finished. No Airflow, no ledger, no retries beyond the clients' own. Polling
every second favours the script (a CLI usually polls less often), so the speed-up is not flattered.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

POLL_S = 1.0
TIMEOUT_S = 900.0
PIPELINE = "scan_single_package"


@dataclass(frozen=True)
class Endpoints:
    """The bench sandboxes and their credentials."""

    scancodeio_url: str
    scancodeio_token: str
    purldb_url: str
    purldb_token: str
    fossid_url: str
    fossid_user: str
    fossid_key: str
    fossid_project: str


@dataclass(frozen=True)
class ItemTimes:
    scancodeio_s: float
    purldb_s: float
    fossid_s: float

    @property
    def total_s(self) -> float:
        return self.scancodeio_s + self.purldb_s + self.fossid_s


def poll(read: Callable[[], str], done: Callable[[str], bool], what: str) -> str:
    """Call ``read`` every ``POLL_S`` until ``done`` says so; the last status."""
    deadline = time.monotonic() + TIMEOUT_S
    while True:
        status = read()
        if done(status):
            return status
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} still {status} after {TIMEOUT_S:.0f} s")
        time.sleep(POLL_S)


def run_ended(status: str) -> bool:
    from sca.common.pipeline_run import RunStatus

    return RunStatus(status).is_terminal


def scancodeio_scan(ends: Endpoints, archive: Path, folder: Path) -> Path:
    from sca.scancodeio.client import ScanCodeIOClient

    client = ScanCodeIOClient(ends.scancodeio_url, ends.scancodeio_token)
    project = client.create_project(
        f"bench-p1b-{archive.name}", pipelines=[PIPELINE], upload_file=archive, execute_now=True
    )
    run_uuid = str(project["runs"][0]["uuid"])
    status = poll(lambda: str(client.get_run(run_uuid)["status"]), run_ended, f"ScanCode.io run {run_uuid}")
    if status != "success":
        raise RuntimeError(f"sequential: ScanCode.io run of {archive.name} ended {status}")
    return client.download_results(str(project["uuid"]), "json", folder, filename=f"{archive.stem}.json")


def purldb_match(ends: Endpoints, scan_json: Path) -> dict[str, Any]:
    from sca.purldb.client import PurlDBClient, matching_run_uuid

    client = PurlDBClient(ends.purldb_url, ends.purldb_token)
    matching = client.submit_matching(scan_json)
    run_uuid = matching_run_uuid(matching)
    status = poll(lambda: str(client.get_run(run_uuid)["status"]), run_ended, f"PurlDB matching run {run_uuid}")
    if status != "success":
        raise RuntimeError(f"sequential: PurlDB matching of {scan_json.name} ended {status}")
    return client.matching_results(str(matching["uuid"]))


def fossid_client(ends: Endpoints) -> Any:
    from sca.fossid.client import FossIDClient

    return FossIDClient(ends.fossid_url, ends.fossid_user, ends.fossid_key)


def fossid_stage(client: Any, scan_code: str, stage: str) -> None:
    status = poll(
        lambda: client.check_status(scan_code, stage).status.value,
        lambda s: s in ("FINISHED", "FAILED", "CANCELLED"),
        f"FossID {stage} of {scan_code}",
    )
    if status != "FINISHED":
        raise RuntimeError(f"sequential: FossID {stage} of {scan_code} ended {status}")


def fossid_scan(ends: Endpoints, archive: Path) -> None:
    client = fossid_client(ends)
    if client.get_project(ends.fossid_project) is None:
        client.create_project(ends.fossid_project, ends.fossid_project)
    scan_code = f"bench-p1b-{archive.stem}".replace(".", "-")
    client.create_scan(ends.fossid_project, scan_code, archive.name)
    client.upload(scan_code, archive)
    client.extract_archives(scan_code, archive.name)
    fossid_stage(client, scan_code, "EXTRACT_ARCHIVES")
    client.run_scan(scan_code, auto_identification_detect_declaration=True, sensitivity=10)
    fossid_stage(client, scan_code, "SCAN")


def one_item(ends: Endpoints, archive: Path) -> ItemTimes:
    """The three tools on one archive, one after the other, each timed."""
    with tempfile.TemporaryDirectory(prefix="bench-p1b-") as tmp:
        began = time.perf_counter()
        scan_json = scancodeio_scan(ends, archive, Path(tmp))
        scanned = time.perf_counter()
        purldb_match(ends, scan_json)
        matched = time.perf_counter()
        fossid_scan(ends, archive)
        ended = time.perf_counter()
    return ItemTimes(scanned - began, matched - scanned, ended - matched)


def run_items(ends: Endpoints, archives: list[Path]) -> list[ItemTimes]:
    return [one_item(ends, archive) for archive in archives]
