"""P4: one real package through ``sca_scan`` (ScanCode.io only) vs a plain script making the same
REST calls to the stack's real ScanCode.io, alternated (script, DAG, script, DAG, …), medians.

The plain script (``requests``, no retries, no ledger): fetch the input from the inputs server,
create a project with it uploaded, add ``scan_single_package`` with ``execute_now``, poll the run
every second until it succeeds, download the JSON results. Its project is deleted afterwards,
outside its time. It uses the URL and token of Airflow's ``scancodeio_default`` connection (the
fault proxy on 8002, a pass-through), so both ways reach the server the same way.

The DAG run: ``sca_scan`` triggered over the REST API with the same input URL, FossID and PurlDB
off, the JSON output only (the script's one download), ``scancodeio_max_age_days`` 0 so the
content-keyed ledger cannot reuse the previous run's scan (which the DAG then deletes first, inside
its time, as it does for any scan past its reuse window), gate action ``warn``. Its time runs from
just before the trigger to the run's terminal state as seen by polling the Airflow REST API every
second: scheduling, the five tasks, the deferral and the triggerer's polling schedule (the delay
between the scan's end and the task noticing) are all in it. A run whose ScanCode.io task says it
reused a scan is an error: it would have measured nothing.
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from bench.airflow_rest import airflow_api
from bench.harness import NOT_MEASURED, Row

DAG_ID = "sca_scan"
PIPELINE = "scan_single_package"
SIX = "six-1.16.0-py2.py3-none-any.whl"
LONG = "requests-2.32.3.tar.gz"  # about 40 s of scan_single_package on the stack's server
PREFIX = "bench-p4-"
POLL_S = 1.0
RUN_TIMEOUT_S = 600.0
RATIO_TARGET = 1.3
OVERHEAD_TARGET_S = 6.0
FAILED_RUN_STATES = frozenset({"failure", "stopped", "stale"})


@dataclass(frozen=True)
class Scio:
    """The stack's ScanCode.io as Airflow's ``scancodeio_default`` reaches it."""

    api: str
    token: str

    def session(self) -> requests.Session:
        session = requests.Session()
        session.headers["Authorization"] = f"Token {self.token}"
        return session


@dataclass(frozen=True)
class Timed:
    seconds: float
    scan_s: float | None  # the server's own execution_time of the pipeline run


def scio_from_env() -> Scio:
    conn = json.loads(os.environ["AIRFLOW_CONN_SCANCODEIO_DEFAULT"])
    base = f"{conn.get('schema') or 'http'}://{conn['host']}:{conn['port']}"
    return Scio(base + "/api/", str(conn["password"]))


def inputs_url(filename: str) -> str:
    return os.environ["SCA_INPUTS_BASE_URL"].rstrip("/") + "/" + filename


# -- the plain script -------------------------------------------------------------------------


def checked(response: requests.Response) -> Any:
    if response.status_code >= 400:
        raise RuntimeError(
            f"ScanCode.io {response.request.method} {response.url} -> {response.status_code}: {response.text[:200]}"
        )
    return response.json() if response.content else {}


def wait_for_run(session: requests.Session, scio: Scio, run_uuid: str) -> dict[str, Any]:
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while True:
        run = checked(session.get(f"{scio.api}runs/{run_uuid}/", timeout=30))
        if run["status"] == "success":
            return dict(run)
        if run["status"] in FAILED_RUN_STATES or time.monotonic() > deadline:
            raise RuntimeError(f"plain script: ScanCode.io run {run_uuid} is {run['status']}")
        time.sleep(POLL_S)


def download_json(session: requests.Session, scio: Scio, project: str, folder: Path) -> int:
    url = f"{scio.api}projects/{project}/results_download/"
    with session.get(url, params={"output_format": "json"}, stream=True, timeout=300) as response:
        if response.status_code >= 400:
            raise RuntimeError(f"plain script: GET {url} -> {response.status_code}")
        target = folder / "results.json"
        with target.open("wb") as out:
            for chunk in response.iter_content(1 << 16):
                out.write(chunk)
    return target.stat().st_size


def script_scan(scio: Scio, filename: str) -> tuple[Timed, float]:
    """(the script's time and the scan's, the seconds its project took to delete afterwards)."""
    session = scio.session()
    project = None
    began = time.perf_counter()
    try:
        body = requests.get(inputs_url(filename), timeout=60)
        body.raise_for_status()
        name = f"{PREFIX}{filename}-{uuid.uuid4().hex[:10]}"
        created = checked(
            session.post(
                scio.api + "projects/", data={"name": name}, files={"upload_file": (filename, body.content)}, timeout=60
            )
        )
        project = created["uuid"]
        checked(
            session.post(
                f"{scio.api}projects/{project}/add_pipeline/",
                json={"pipeline": PIPELINE, "execute_now": True},
                timeout=60,
            )
        )
        run_uuid = checked(session.get(f"{scio.api}projects/{project}/", timeout=30))["runs"][0]["uuid"]
        run = wait_for_run(session, scio, run_uuid)
        with tempfile.TemporaryDirectory(prefix=PREFIX) as folder:
            if download_json(session, scio, project, Path(folder)) == 0:
                raise RuntimeError("plain script: empty JSON results")
        seconds = time.perf_counter() - began
    finally:
        deleting = time.perf_counter()
        if project is not None:
            session.delete(f"{scio.api}projects/{project}/", timeout=120)
        deleted_in = time.perf_counter() - deleting
    return Timed(seconds, run.get("execution_time")), deleted_in


# -- the DAG run ------------------------------------------------------------------------------


def dag_conf(filename: str) -> dict[str, Any]:
    return {
        "input": inputs_url(filename),
        "run_fossid": False,
        "run_purldb": False,
        "scancodeio_max_age_days": 0,
        "scancodeio_formats": ["json"],
        "gate_action": "warn",
    }


def dag_scan(api: Any, scio: Scio, filename: str) -> Timed:
    began = time.perf_counter()
    run_id = api.trigger(DAG_ID, dag_conf(filename), run_id=f"{PREFIX}{uuid.uuid4().hex[:12]}")["dag_run_id"]
    run = api.wait(DAG_ID, run_id, timeout=RUN_TIMEOUT_S, interval=POLL_S)
    seconds = time.perf_counter() - began
    if run["state"] != "success":
        failed = [ti["task_id"] for ti in api.task_instances(DAG_ID, run_id) if ti.get("state") == "failed"]
        raise RuntimeError(f"sca_scan run {run_id} ended {run['state']} (failed tasks: {failed})")
    tool = api.xcom(DAG_ID, run_id, "scan.scancodeio")
    if tool.get("status") != "success" or tool.get("reused"):
        raise RuntimeError(f"sca_scan run {run_id} did not scan afresh: scan.scancodeio returned {tool}")
    return Timed(seconds, server_scan_s(scio, str(tool["remote_id"])))


def server_scan_s(scio: Scio, project: str) -> float | None:
    body = checked(scio.session().get(f"{scio.api}projects/{project}/", timeout=30))
    times = [r.get("execution_time") for r in body.get("runs") or [] if r.get("status") == "success"]
    return times[-1] if times else None


# -- measuring --------------------------------------------------------------------------------


@dataclass
class Measured:
    filename: str
    script: list[Timed]
    dag: list[Timed]
    deletes: list[float]

    @property
    def script_median(self) -> float:
        return statistics.median(t.seconds for t in self.script)

    @property
    def dag_median(self) -> float:
        return statistics.median(t.seconds for t in self.dag)


def alternate(api: Any, scio: Scio, filename: str, runs: int) -> Measured:
    measured = Measured(filename, [], [], [])
    for n in range(runs):
        timed, deleted_in = script_scan(scio, filename)
        measured.script.append(timed)
        measured.deletes.append(deleted_in)
        measured.dag.append(dag_scan(api, scio, filename))
        print(
            f"    {filename} #{n + 1}: script {timed.seconds:.1f} s, sca_scan {measured.dag[-1].seconds:.1f} s",
            flush=True,
        )
    return measured


def listed(timed: list[Timed]) -> str:
    return ", ".join(f"{t.seconds:.1f}" for t in timed)


def scans(timed: list[Timed]) -> str:
    known = [t.scan_s for t in timed if t.scan_s is not None]
    return f"{statistics.median(known):g} s" if known else "?"


def times_text(m: Measured) -> str:
    return (
        f"sca_scan median {m.dag_median:.1f} s ({listed(m.dag)}) vs script median {m.script_median:.1f} s "
        f"({listed(m.script)}); server scan time (median) {scans(m.dag)} vs {scans(m.script)}"
    )


NOTE = (
    "DAG time: REST trigger → terminal state polled every 1 s on the Airflow REST API, "
    "deferrable wait's end-of-scan delay included; script polls its run every 1 s"
)


def ratio_row(m: Measured) -> Row:
    ratio = m.dag_median / m.script_median
    return Row(
        "P4",
        f"one real package through sca_scan (ScanCode.io only) vs a plain script, {len(m.dag)} alternated runs "
        f"each, medians, ≈ 40 s package ({m.filename}): ratio",
        round(ratio, 3),
        "×",
        target=f"≤ {RATIO_TARGET:g}",
        met=ratio <= RATIO_TARGET,
        times=times_text(m),
        note=NOTE,
    )


def overhead_row(m: Measured, smoke: bool) -> Row:
    overhead = m.dag_median - m.script_median
    runs = "1 run each (smoke)" if smoke else f"{len(m.dag)} alternated runs each, medians"
    return Row(
        "P4",
        f"the same on the six wheel ({m.filename}), {runs}: fixed overhead = DAG − script",
        round(overhead, 2),
        "s",
        target=f"≤ {OVERHEAD_TARGET_S:g} s",
        met=overhead <= OVERHEAD_TARGET_S,
        times=times_text(m),
        note=f"{NOTE}; deleting a script's project afterwards took {max(m.deletes):.1f} s at most (not timed)",
    )


def not_measured_row() -> Row:
    return Row(
        "P4",
        f"one real package through sca_scan (ScanCode.io only) vs a plain script, ≥ 3 alternated runs, medians, "
        f"≈ 40 s package ({LONG}): ratio",
        None,
        target=f"≤ {RATIO_TARGET:g}",
        status=NOT_MEASURED,
        note="full run only",
    )


def run(smoke: bool) -> list[Row]:
    scio = scio_from_env()
    api = airflow_api()
    api.wait_for_dag(DAG_ID)
    runs = 1 if smoke else 3
    long_row = not_measured_row() if smoke else ratio_row(alternate(api, scio, LONG, runs))
    return [long_row, overhead_row(alternate(api, scio, SIX, runs), smoke)]
