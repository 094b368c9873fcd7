"""P1, P1b, P1c: portfolio throughput of the real ``sca_portfolio`` DAG against the benchmark's own
sandboxes, the same items one at a time, and the worker slots held by waiting scans.

Set-up: the ScanCode.io sandbox (``--workers C``, every scan ``S`` seconds), the FossID sandbox
(scans of ``F`` ≤ S seconds after ``Q`` in its queue, so ScanCode.io is the bottleneck) and the
PurlDB sandbox (a synthetic index, matching 2 s) run as real processes on free 127.0.0.1 ports,
stopped by PID at the end. Airflow reaches them through connections this benchmark creates over
the REST API (``bench_p1_scancodeio``, ``bench_p1_purldb``, ``bench_p1_fossid``, deleted at the end)
named in the run's conf (``scancodeio_conn_id``, ``purldb_conn_id``, ``fossid_conn_id``). The N
items are small tar.gz files with a nonce inside (new bytes every run, so the content-keyed ledger
reuses nothing), written with the portfolio file under ``$SCA_INPUTS_DIR/bench-p1-<nonce>/`` and
removed at the end; items name them relative to the inputs folder.

- P1: wall time, from just before the REST trigger to the run's ``end_date``, ÷ (Σ ScanCode.io
  scan seconds ÷ C) from the sandbox's own stats. The portfolio runs in lots of
  ``SCA_BENCH_P1_LOT_SIZE`` items (default 10; the DAG's ``lot_size``). Every item must succeed
  (its scancodeio, purldb, fossid and report stages, read from the lots' return values), else
  the benchmark errors.
- P1b: the sequential script of ``bench/p1_sequential.py`` on k fresh items against the same
  sandboxes after P1, its mean per item × N (an extrapolation), ÷ P1's wall.
- P1c: every ~2 s during P1 the run's task instances in state running or deferred (REST, paged).
  The judged figure counts, per sample, the ``lot.scancodeio`` task instances that are running
  while the sandbox says the last run they submitted has been queued or running for more than
  5 s, and not all their runs have ended (a lot defers as soon as it has submitted; it never
  waits inside the worker): a worker slot held by waiting scans. Its median over the samples
  taken after the first 30 s while the sandbox had runs in progress must be 0. All running
  service task instances (scancodeio, purldb, fossid: submitting or storing results) and the
  deferred ones (no slot) are shown beside it.

N defaults to 1,000 (``SCA_BENCH_P1_ITEMS``), the issue's size, with C = 10 workers
(``SCA_BENCH_P1_WORKERS``) and S = 10 s (``SCA_BENCH_P1_SCAN_SECONDS``): 1,000 s of work for the
ScanCode.io sandbox, which keeps ``make bench`` within its 30 minutes. Until the portfolio ran in
lots, a 1,000-item run did not get going (one task instance per item and stage, 5,003 in the run:
the scheduler's loops came about 27 s apart, ``bench/results/p1-1000-attempt.md``;
``bench/scheduler_load.py`` measures the gap between scheduling rounds against N).

P1's note splits the wall time beyond Σ scan ÷ C (``lost_time``): the trigger to the first
queued run, the sandbox's workers idle while no run waited (the portfolio not feeding it fast
enough), idle while a run waited (a server's pick-up latency: always 0 with this sandbox), and
the last scan's end to the run's end.
"""

from __future__ import annotations

import io
import json
import os
import re
import secrets
import shutil
import statistics
import tarfile
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import requests

from bench.airflow_rest import airflow_api
from bench.cpu import (
    airflow_sessions,
    component_processes,
    snapshots,
    stack_run_dir,
    used_by_component,
    used_by_process,
)
from bench.harness import Row
from bench.p1_sequential import Endpoints, ItemTimes, run_items
from bench.processes import server

DAG_ID = "sca_portfolio"
ITEMS_ENV = "SCA_BENCH_P1_ITEMS"
LOT_ENV = "SCA_BENCH_P1_LOT_SIZE"
WORKERS_ENV = "SCA_BENCH_P1_WORKERS"  # the ScanCode.io sandbox's concurrency C
SCAN_ENV = "SCA_BENCH_P1_SCAN_SECONDS"  # S, every ScanCode.io scan's time
CONN_IDS = {
    "scancodeio_conn_id": "bench_p1_scancodeio",
    "purldb_conn_id": "bench_p1_purldb",
    "fossid_conn_id": "bench_p1_fossid",
}
SERVICE_TASKS = ("lot.scancodeio", "lot.purldb", "lot.fossid")
ITEM_STAGES = (*SERVICE_TASKS, "lot.report")
FOSSID_USER = "bench-p1"
SAMPLE_S = 2.0
RATIO_TARGET = 1.10
SPEEDUP_TARGET = 8.0
WAITING_MARGIN_S = 5.0


@dataclass(frozen=True)
class Sizes:
    items: int
    workers: int
    scan_s: float
    fossid_scan_s: float
    fossid_queue_s: float
    sequential_k: int
    warmup_s: float
    lot_size: int = 10  # the portfolio's lot_size: items per task instance and stage

    @property
    def ideal_s(self) -> float:
        return self.items * self.scan_s / self.workers


def sizes(smoke: bool) -> Sizes:
    if smoke:
        return Sizes(4, 2, 2.0, 1.0, 0.5, 1, 5.0, 2)  # the whole smoke run stays near 2 minutes
    items = int(os.environ.get(ITEMS_ENV) or 1000)
    if items < 1:
        raise ValueError(f"{ITEMS_ENV} must be a positive number of items, not {items}")
    workers = int(os.environ.get(WORKERS_ENV) or 10)
    scan_s = float(os.environ.get(SCAN_ENV) or 10.0)
    # FossID scans a little faster than ScanCode.io (which stays the bottleneck), P1b samples 5 items
    return Sizes(items, workers, scan_s, 0.8 * scan_s, 1.0, 5, 30.0, int(os.environ.get(LOT_ENV) or 10))


# -- inputs -----------------------------------------------------------------------------------


def archive_bytes(stem: str, nonce: str) -> bytes:
    """A small source package: a module with an SPDX line, a README, and the nonce."""
    files = {
        f"{stem}/nonce.txt": f"{nonce} {stem}\n",
        f"{stem}/README.md": f"# {stem}\n\nA synthetic package of the P1 benchmark.\n",
        f"{stem}/{stem.replace('-', '_')}.py": f"# SPDX-License-Identifier: MIT\n\nNAME = {stem!r}\n",
    }
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), int(time.time()), 0o644
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def write_archives(folder: Path, prefix: str, nonce: str, count: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(count):
        stem = f"{prefix}-{nonce}-{index:04d}"
        path = folder / f"{stem}.tar.gz"
        path.write_bytes(archive_bytes(stem, nonce))
        paths.append(path)
    return paths


def write_portfolio(folder: Path, inputs_dir: Path, archives: list[Path], nonce: str) -> Path:
    document = {
        "name": f"bench-p1-{nonce}",
        "defaults": {"tools": ["scancodeio", "purldb", "fossid"], "pipelines": ["scan_single_package"]},
        "items": [
            {"id": f"p1-{index:04d}", "input": str(path.relative_to(inputs_dir))} for index, path in enumerate(archives)
        ],
    }
    path = folder / "portfolio.yaml"
    path.write_text(json.dumps(document, indent=1))  # JSON is YAML
    return path


# -- the sandboxes ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Sandboxes:
    ends: Endpoints
    state_dir: Path

    def scancodeio_stats(self) -> dict[str, Any]:
        return dict(requests.get(self.ends.scancodeio_url + "/_sandbox/stats", timeout=60).json())


@contextmanager
def sandboxes(size: Sizes, nonce: str) -> Iterator[Sandboxes]:
    from bench.p3_purldb_batches import build_index

    scio_token, purldb_token, fossid_key = (secrets.token_hex(16) for _ in range(3))
    with tempfile.TemporaryDirectory(prefix="bench-p1-") as tmp, ExitStack() as stack:
        state = Path(tmp)
        for name in ("scancodeio", "fossid", "purldb"):
            (state / name).mkdir()
        index = state / "purldb-index.json"
        index.write_text(json.dumps(build_index()))
        scio = stack.enter_context(
            server(
                "sandboxes.scancodeio",
                ["--state-dir", str(state / "scancodeio"), "--workers", str(size.workers)]
                + ["--scan-seconds", str(size.scan_s), "--token", scio_token],
                "/_sandbox/stats",
            )
        )
        fossid = stack.enter_context(
            server(
                "sandboxes.fossid",
                ["--state-dir", str(state / "fossid"), "--user", f"{FOSSID_USER}:{fossid_key}"]
                + ["--scan-seconds", str(size.fossid_scan_s), "--queue-seconds", str(size.fossid_queue_s)],
                "/index.php?form=login",
            )
        )
        purldb = stack.enter_context(
            server(
                "sandboxes.purldb",
                ["--state-dir", str(state / "purldb"), "--index", str(index), "--token", purldb_token]
                + ["--throttle-per-hour", "1000000000"],
                "/_sandbox/config",
            )
        )
        ends = Endpoints(scio, scio_token, purldb, purldb_token, fossid, FOSSID_USER, fossid_key, f"bench-p1-{nonce}")
        yield Sandboxes(ends, state)


# -- Airflow over REST ------------------------------------------------------------------------


def require_conn_params(api: Any) -> None:
    params = api.http.get_json(f"dags/{DAG_ID}/details").get("params") or {}
    missing = sorted(set(CONN_IDS) - set(params))
    if missing:
        raise RuntimeError(
            f"the deployed {DAG_ID} has no param(s) {missing}: it cannot be pointed at the bench sandboxes "
            "(reinstall the provider with `make up`)"
        )


def connection_bodies(ends: Endpoints) -> dict[str, dict[str, Any]]:
    def base(conn_id: str, conn_type: str, url: str) -> dict[str, Any]:
        host, port = url.removeprefix("http://").rsplit(":", 1)
        extra = json.dumps({"timeout": 20})
        return {"connection_id": conn_id, "conn_type": conn_type, "schema": "http", "host": host, "port": int(port)} | {
            "extra": extra
        }

    return {
        "scancodeio": base(CONN_IDS["scancodeio_conn_id"], "scancodeio", ends.scancodeio_url)
        | {"password": ends.scancodeio_token},
        "purldb": base(CONN_IDS["purldb_conn_id"], "purldb", ends.purldb_url) | {"password": ends.purldb_token},
        "fossid": base(CONN_IDS["fossid_conn_id"], "fossid", ends.fossid_url)
        | {"login": ends.fossid_user, "password": ends.fossid_key},
    }


def delete_connection(api: Any, conn_id: str) -> None:
    from sca.common.errors import NotFoundError

    try:
        api.http.request("DELETE", f"connections/{conn_id}")
    except NotFoundError:
        pass


@contextmanager
def connections(api: Any, ends: Endpoints) -> Iterator[None]:
    bodies = connection_bodies(ends).values()
    try:
        for body in bodies:
            delete_connection(api, body["connection_id"])  # left by an interrupted run
            api.http.post_json("connections", body)
        yield
    finally:
        for body in bodies:
            delete_connection(airflow_api(), body["connection_id"])


# -- the DAG run and the samples --------------------------------------------------------------


@dataclass
class Sample:
    at: float  # epoch seconds
    running: list[tuple[str, int]]  # (task_id, map_index)
    deferred: int


@dataclass
class PortfolioRun:
    run_id: str
    began: float  # epoch, just before the trigger
    state: str = ""
    ended: float = 0.0
    samples: list[Sample] = field(default_factory=list)

    @property
    def wall_s(self) -> float:
        return self.ended - self.began


def paged(api: Any, path: str, params: dict[str, Any], key: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    while True:
        body = api.http.get_json(path, params={**params, "limit": 100, "offset": len(rows)})
        page = list(body[key])
        rows += page
        if not page or len(rows) >= int(body.get("total_entries", 0)):
            return rows


def take_sample(api: Any, run_id: str) -> Sample:
    at = time.time()
    rows = paged(
        api,
        f"dags/{DAG_ID}/dagRuns/{run_id}/taskInstances",
        {"state": ["running", "deferred"]},
        "task_instances",
    )
    running = [(r["task_id"], int(r["map_index"])) for r in rows if r["state"] == "running"]
    return Sample(at, running, sum(1 for r in rows if r["state"] == "deferred" and r["task_id"] in SERVICE_TASKS))


def epoch(stamp: str | None) -> float | None:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp() if stamp else None


def run_portfolio(api: Any, conf: dict[str, Any], timeout_s: float) -> PortfolioRun:
    """Trigger, then every ``SAMPLE_S`` sample the task instances and read the run's state."""
    began = time.time()
    run = PortfolioRun(api.trigger(DAG_ID, conf)["dag_run_id"], began)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        tick = time.monotonic()
        try:
            run.samples.append(take_sample(api, run.run_id))
            state = api.dag_run(DAG_ID, run.run_id)
        except requests.ConnectionError:  # the api-server restarting: skip the sample
            time.sleep(5)
            api = airflow_api()
            continue
        if state["state"] in ("success", "failed"):
            run.state, run.ended = state["state"], epoch(state.get("end_date")) or time.time()
            return run
        time.sleep(max(0.0, SAMPLE_S - (time.monotonic() - tick)))
    raise TimeoutError(f"{DAG_ID} run {run.run_id} not finished after {timeout_s:.0f} s")


def lot_count(items: int, lot_size: int) -> int:
    return -(-items // lot_size)


def succeeded_items(api: Any, run_id: str, items: int, lot_size: int) -> int:
    """Items that the scancodeio, purldb, fossid and report stages all ended ``success`` (each
    lot task's return value lists its items' outcomes)."""
    ok: dict[int, int] = {}
    for task_id in ITEM_STAGES:
        for lot in range(lot_count(items, lot_size)):
            try:
                entries = api.xcom(DAG_ID, run_id, task_id, map_index=lot)
            except Exception:  # noqa: BLE001 - a lot task that returned nothing: its items did not succeed
                continue
            for entry in entries:
                if entry["state"] == "success":
                    ok[int(entry["index"])] = ok.get(int(entry["index"]), 0) + 1
    return sum(1 for index in range(items) if ok.get(index) == len(ITEM_STAGES))


# -- P1c --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    queued: float
    ended: float | None


def run_windows(stats: dict[str, Any], nonce: str) -> dict[int, Window]:
    """Item index → its ScanCode.io run's time in the sandbox (queued or running)."""
    pattern = re.compile(rf"{re.escape(nonce)}-(\d{{4}})")
    windows = {}
    for run in stats["runs"]:
        found = pattern.search(str(run.get("project_name") or ""))
        start = run.get("queued") or run.get("started")
        if found and start is not None:
            windows[int(found.group(1))] = Window(float(start), run.get("ended"))
    return windows


def in_progress(windows: dict[int, Window], at: float) -> bool:
    return any(w.queued <= at and (w.ended is None or at < w.ended) for w in windows.values())


def waiting_in_slot(sample: Sample, windows: dict[int, Window], after_s: float, lot_size: int) -> int:
    """ScanCode.io lot tasks running at the sample while the last run they submitted has been
    queued or running for more than ``after_s``: done submitting, holding the slot to wait."""
    count = 0
    for task_id, lot in sample.running:
        if task_id != "lot.scancodeio":
            continue
        lot_windows = [windows[i] for i in range(lot * lot_size, (lot + 1) * lot_size) if i in windows]
        if not lot_windows or all(w.ended is not None and w.ended <= sample.at for w in lot_windows):
            continue  # nothing submitted yet, or every run ended: submitting or storing results
        if max(w.queued for w in lot_windows) + after_s <= sample.at:
            count += 1
    return count


@dataclass(frozen=True)
class SlotFigures:
    samples: int
    waiting_median: float
    waiting_max: int
    running_median: float
    running_max: int
    deferred_median: float
    deferred_max: int
    whole_run: bool  # no sample qualified: every sample used


def slot_figures(run: PortfolioRun, windows: dict[int, Window], warmup_s: float, lot_size: int) -> SlotFigures:
    chosen = [s for s in run.samples if s.at >= run.began + warmup_s and in_progress(windows, s.at)]
    whole = not chosen
    chosen = chosen or run.samples
    # a lot defers as soon as it has submitted (no wait inside the worker): only the margin applies
    waiting = [waiting_in_slot(s, windows, WAITING_MARGIN_S, lot_size) for s in chosen]
    running = [sum(1 for task_id, _ in s.running if task_id in SERVICE_TASKS) for s in chosen]
    deferred = [s.deferred for s in chosen]
    return SlotFigures(
        len(chosen),
        statistics.median(waiting),
        max(waiting),
        statistics.median(running),
        max(running),
        statistics.median(deferred),
        max(deferred),
        whole,
    )


# -- where the wall time went ----------------------------------------------------------------


@dataclass(frozen=True)
class Lost:
    """P1's wall time beyond Σ scan ÷ C, split by cause (seconds of wall time)."""

    before_first_queue: float  # REST trigger → the sandbox's first queued run
    idle_starved: float  # sandbox worker-seconds idle while no run waited in its queue, ÷ C
    idle_other: float  # idle while a run waited (the server's own start latency), ÷ C
    after_last_end: float  # the last scan's end → the DAG run's end
    max_waiting: int  # most runs waiting in the sandbox's queue at once


def lost_time(runs: list[dict[str, Any]], workers: int, began: float, ended: float) -> Lost:
    """Sweep the sandbox's run clocks (queued, started, ended) and add up the idle workers.

    before + (idle_starved + idle_other) + after = wall − Σ scan ÷ C exactly when every run
    that was queued also ended. A run still open at the DAG run's end (``ended``) counts as
    waiting, or running, until then; a run stopped while queued leaves the queue at its end.
    The bench's ScanCode.io sandbox starts the next queued run at the instant one ends
    (``sandboxes/scancodeio/scheduler.py`` ``WorkerPool.loop``), so its ``idle_other`` is 0; a
    real server's worker pick-up delay would show there."""
    events: list[tuple[float, int, int]] = []  # (time, Δwaiting, Δrunning)
    for run in runs:
        queued, started, stopped = run.get("queued"), run.get("started"), run.get("ended")
        if queued is None:
            continue
        left_queue = started if started is not None else stopped if stopped is not None else ended
        events += [(float(queued), 1, 0), (float(left_queue), -1, 0)]
        if started is not None:
            events += [(float(started), 0, 1), (float(stopped if stopped is not None else ended), 0, -1)]
    if not events:
        return Lost(ended - began, 0.0, 0.0, 0.0, 0)
    events.sort()  # at one instant the -1s come first: no false peak in the queue
    first, last = events[0][0], events[-1][0]
    waiting = running = most = 0
    starved = other = 0.0
    at = first
    for when, d_waiting, d_running in events:
        idle = max(0, workers - running) * (when - at)
        if waiting:
            other += idle
        else:
            starved += idle
        waiting, running, at = waiting + d_waiting, running + d_running, when
        most = max(most, waiting)
    return Lost(first - began, starved / workers, other / workers, ended - last, most)


# -- the benchmark ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Measured:
    size: Sizes
    run: PortfolioRun
    succeeded: int
    stats: dict[str, Any]
    slots: SlotFigures
    sequential: list[ItemTimes]
    # CPU seconds of each Airflow component (the scheduler's with its workers and tasks), trigger → run end
    airflow_cpu: dict[str, float]
    airflow_cpu_itself: dict[str, float]  # of which the component's own process (not its workers, tasks)


def measure(size: Sizes) -> Measured:
    inputs_dir = Path(os.environ["SCA_INPUTS_DIR"]).resolve()
    nonce = secrets.token_hex(4)
    folder = inputs_dir / f"bench-p1-{nonce}"
    api = airflow_api()
    require_conn_params(api)
    try:
        archives = write_archives(folder, "p1", nonce, size.items)
        portfolio = write_portfolio(folder, inputs_dir, archives, nonce)
        with sandboxes(size, nonce) as boxes, connections(api, boxes.ends):
            conf = {
                "portfolio": str(portfolio),
                "fossid_project": boxes.ends.fossid_project,
                "lot_size": size.lot_size,
                **CONN_IDS,
            }
            sessions = airflow_sessions(stack_run_dir())
            cpu_before, own_before = snapshots(sessions), component_processes(stack_run_dir())
            run = run_portfolio(api, conf, timeout_s=3 * size.ideal_s + 600)
            cpu_after, own_after = snapshots(sessions), component_processes(stack_run_dir())
            airflow_cpu = used_by_component(cpu_before, cpu_after)
            itself = {
                name: used_by_process(
                    cpu_before[name], cpu_after[name], {p for p in (own_before.get(name), own_after.get(name)) if p}
                )
                for name in sessions
            }
            api = airflow_api()
            succeeded = succeeded_items(api, run.run_id, size.items, size.lot_size)
            stats = boxes.scancodeio_stats()
            slots = slot_figures(run, run_windows(stats, nonce), size.warmup_s, size.lot_size)
            if succeeded < size.items:
                raise RuntimeError(
                    f"{DAG_ID} run {run.run_id} ended {run.state}: {succeeded} of {size.items} items succeeded"
                )
            sample = write_archives(Path(boxes.state_dir) / "p1b", "p1b", nonce, size.sequential_k)
            sequential = run_items(boxes.ends, sample)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return Measured(size, run, succeeded, stats, slots, sequential, airflow_cpu, itself)


def cpu_bound(
    airflow_cpu: dict[str, float],
    size: Sizes,
    cores: int,
    items: int = 1000,
    itself: dict[str, float] | None = None,
) -> str:
    """What the Airflow CPU an item costs means for a portfolio of ``items``: every task start,
    deferral and resume is CPU on these cores, so Airflow alone needs ``items × per item ÷ cores``
    of wall time, however fast the services scan."""
    total = sum(airflow_cpu.values())
    per_item = total / size.items
    floor_s = items * per_item / cores
    ideal_s = items * size.scan_s / size.workers
    own = itself or {}

    def share(name: str, seconds: float) -> str:
        text = f"{name.removeprefix('airflow-')} {seconds:.0f}"
        if name in own and seconds - own[name] >= 1:
            text += f" (itself {own[name]:.0f}, its workers and tasks {seconds - own[name]:.0f})"
        return text

    shares = ", ".join(share(name, seconds) for name, seconds in sorted(airflow_cpu.items(), key=lambda kv: -kv[1]))
    return (
        f"Airflow CPU {total:.0f} s ({shares}; {per_item:.2f} s an item) on {cores} cores: "
        f"at most {cores * 60 / per_item:.1f} items/min; {items:,} items need ≥ {floor_s / 60:.0f} min of it "
        f"vs Σ scan ÷ C {ideal_s / 60:.0f} min at this C and S"
    )


def rows_of(m: Measured) -> list[Row]:
    size, totals = m.size, m.stats["totals"]
    ideal = float(totals["sum_scan_seconds"]) / size.workers
    ratio = m.run.wall_s / ideal
    setup = f"N = {size.items}, C = {size.workers}, S = {size.scan_s:g} s, FossID {size.fossid_scan_s:g} s"
    per_item = statistics.mean(t.total_s for t in m.sequential)
    estimate = per_item * size.items
    speedup = estimate / m.run.wall_s
    s = m.slots
    lost = lost_time(list(m.stats["runs"]), size.workers, m.run.began, m.run.ended)
    cpu = cpu_bound(m.airflow_cpu, size, os.cpu_count() or 1, itself=m.airflow_cpu_itself)
    return [
        Row(
            "P1",
            f"{size.items}-item portfolio through {DAG_ID} vs the bench sandboxes ({setup}): "
            "wall time (REST trigger → run end) ÷ (Σ ScanCode.io scan time ÷ C)",
            ratio,
            "",
            ideal,
            "Σ scan ÷ C (s)",
            f"≤ {RATIO_TARGET:.2f}",
            ratio <= RATIO_TARGET,
            times=f"wall {m.run.wall_s:.0f} s; Σ scan {float(totals['sum_scan_seconds']):.0f} s",
            note=(
                f"{m.succeeded}/{size.items} items succeeded; sandbox: {totals['runs']} runs, max running "
                f"{totals['max_running']}, its first queue → last end {float(totals['wall_seconds']):.0f} s; "
                f"wall − Σ scan ÷ C = {m.run.wall_s - ideal:.0f} s: trigger → first queued run "
                f"{lost.before_first_queue:.0f} s, sandbox workers idle with no run waiting "
                f"{lost.idle_starved:.0f} s (÷ C), idle with runs waiting {lost.idle_other:.0f} s, last scan end → "
                f"run end {lost.after_last_end:.0f} s; most runs waiting {lost.max_waiting}; {cpu}; "
                f"lots of {size.lot_size}"
            ),
        ),
        Row(
            "P1b",
            f"speed-up of {DAG_ID} over the same items one at a time (sequential script: ScanCode.io, "
            f"PurlDB matching, FossID via our clients; {setup})",
            speedup,
            "×",
            estimate,
            f"sequential estimate (s): mean of {len(m.sequential)} items × {size.items}",
            f"≥ {SPEEDUP_TARGET:g}×",
            speedup >= SPEEDUP_TARGET,
            times=(
                f"{per_item:.1f} s an item (ScanCode.io {statistics.mean(t.scancodeio_s for t in m.sequential):.1f}, "
                f"PurlDB {statistics.mean(t.purldb_s for t in m.sequential):.1f}, "
                f"FossID {statistics.mean(t.fossid_s for t in m.sequential):.1f}); P1 wall {m.run.wall_s:.0f} s"
            ),
            note="extrapolated from the sample to N",
        ),
        Row(
            "P1c",
            "worker slots held by waiting scans during P1: median of lot.scancodeio tasks running while "
            "the last ScanCode.io run they submitted has been queued/running > 5 s (samples every 2 s after "
            f"the first {size.warmup_s:g} s, while the sandbox had runs in progress)",
            float(s.waiting_median),
            "slots",
            float(s.deferred_median),
            "median deferred service tasks (no slot)",
            "0 after the first seconds",
            s.waiting_median == 0,
            times=f"{s.samples} samples over {m.run.wall_s:.0f} s",
            note=(
                f"max {s.waiting_max}; all running scancodeio/purldb/fossid tasks (submitting, grace wait, "
                f"storing): median {s.running_median:g}, max {s.running_max}; deferred max {s.deferred_max}"
                + ("; no sample qualified, the whole run used" if s.whole_run else "")
            ),
        ),
    ]


def run(smoke: bool) -> list[Row]:
    return rows_of(measure(sizes(smoke)))
