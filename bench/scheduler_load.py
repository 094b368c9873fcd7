"""The scheduler's cost of one big portfolio run: how the gap between scheduling rounds and the
rate of submitted scans change with the number of items in a single ``sca_portfolio`` run.

Why: bench P1 at 1,000 items never got going. The scheduler evaluates the dependencies of every
unfinished task instance of a run in every loop (``DagRun.task_instance_scheduling_decisions``:
``TriggerRuleDep`` and the mapped group's length read from XCom, a few SQL queries per task
instance), so with 5 task instances an item each loop costs in proportion to the items still
open, and the rounds that queue tasks come further apart as the portfolio grows.

For each size N (``--items 100,300,1000``) this starts P1's sandboxes (same fresh tarballs,
connections and conf as P1), triggers ``sca_portfolio``, lets it run ``--window`` seconds after
``plan`` succeeded, then ends the run: marks it failed, waits until none of its tasks is still
going, closes its in-flight ledger rows (the sandboxes stop with the benchmark) and cleans up.
From the task instances (REST):

- rounds: ``queued_when`` stamps grouped when less than 0.5 s apart (one scheduling round queues
  its batch together); the figure is the median gap between consecutive rounds in the window.
  The stamps come from the final task instances and from sampling the queued ones every second
  (a task queued again after a deferral overwrites its stamp). A loop that queues nothing
  leaves no stamp, so this is the gap between rounds that queued work, an upper bound of the
  scheduler's loop time while work is ready;
- the feed: ``lot.scancodeio`` task instances started in the window × the lot size, per minute
  (scans submitted), and task instances started per minute overall.

``python -m bench.scheduler_load --items 100,300,1000 --window 180`` prints a table and writes
JSON (default ``bench/results/scheduler-load.json``). Needs the local stack (``make up``); never
part of ``make bench`` (a diagnostic of the design, not a target of issue 13).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.airflow_rest import airflow_api
from bench.p1_portfolio import (
    CONN_IDS,
    DAG_ID,
    Sizes,
    connections,
    epoch,
    paged,
    require_conn_params,
    sandboxes,
    write_archives,
    write_portfolio,
)

ROOT = Path(__file__).resolve().parents[1]
ROUND_GAP_S = 0.5
# task instance states of a run that is still going (wait_until_quiet)
GOING_STATES = ("queued", "running", "deferred", "restarting")


@dataclass(frozen=True)
class Load:
    run_id: str
    items: int
    task_instances: int
    window_s: float
    rounds: int
    round_gap_median_s: float | None
    round_gap_max_s: float | None
    started_per_min: float
    scans_submitted_per_min: float
    plan_done_after_s: float


def rounds_of(stamps: list[float], gap_s: float = ROUND_GAP_S) -> list[float]:
    """The start of each burst of ``stamps`` (sorted), a burst ending at a gap ≥ ``gap_s``."""
    starts: list[float] = []
    last: float | None = None
    for at in sorted(stamps):
        if last is None or at - last >= gap_s:
            starts.append(at)
        last = at
    return starts


def load_of(
    rows: list[dict[str, Any]],
    run_id: str,
    items: int,
    began: float,
    window: tuple[float, float],
    sampled_queued: Sequence[float] = (),
    lot_size: int = 1,
) -> Load:
    """``rows``: the run's task instances at the end; ``sampled_queued``: the ``queued_when``
    stamps seen while sampling queued task instances during the window (a task instance queued
    again after a deferral overwrites its stamp, so the final rows alone miss rounds)."""
    low, high = window
    final = [q for r in rows if (q := epoch(r.get("queued_when"))) is not None]
    queued = [q for q in {*final, *sampled_queued} if low <= q <= high]
    starts = rounds_of(queued)
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    started = [(r["task_id"], s) for r in rows if (s := epoch(r.get("start_date"))) is not None and low <= s <= high]
    minutes = (high - low) / 60
    return Load(
        run_id=run_id,
        items=items,
        task_instances=len(rows),
        window_s=high - low,
        rounds=len(starts),
        round_gap_median_s=statistics.median(gaps) if gaps else None,
        round_gap_max_s=max(gaps) if gaps else None,
        started_per_min=len(started) / minutes,
        # each lot.scancodeio start submits its lot's scans (the last lot may hold fewer)
        scans_submitted_per_min=lot_size * sum(1 for task_id, _ in started if task_id == "lot.scancodeio") / minutes,
        plan_done_after_s=low - began,
    )


def sample_queued(api: Any, run_id: str, seconds: float, every_s: float = 1.0) -> list[float]:
    """``queued_when`` of the run's queued task instances, every ``every_s`` for ``seconds``."""
    seen: set[float] = set()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        tick = time.monotonic()
        body = api.http.get_json(
            f"dags/{DAG_ID}/dagRuns/{run_id}/taskInstances", params={"state": ["queued"], "limit": 100}
        )
        seen.update(q for r in body["task_instances"] if (q := epoch(r.get("queued_when"))) is not None)
        time.sleep(max(0.0, min(every_s - (time.monotonic() - tick), deadline - time.monotonic())))
    return sorted(seen)


def measure(items: int, window_s: float, plan_timeout_s: float, lot_size: int = 10) -> Load:
    inputs_dir = Path(os.environ["SCA_INPUTS_DIR"]).resolve()
    nonce = secrets.token_hex(4)
    folder = inputs_dir / f"bench-sched-{nonce}"
    api = airflow_api()
    require_conn_params(api)
    size = Sizes(items, 5, 24.0, 18.0, 1.0, 0, 0.0, lot_size)
    try:
        archives = write_archives(folder, "p1", nonce, items)
        portfolio = write_portfolio(folder, inputs_dir, archives, nonce)
        with sandboxes(size, nonce) as boxes, connections(api, boxes.ends):
            conf = {
                "portfolio": str(portfolio),
                "fossid_project": boxes.ends.fossid_project,
                "lot_size": lot_size,
                **CONN_IDS,
            }
            began = time.time()
            run_id = api.trigger(DAG_ID, conf)["dag_run_id"]
            try:
                plan_done = wait_for_plan(api, run_id, timeout_s=plan_timeout_s)
                sampled = sample_queued(api, run_id, window_s)
                ended = time.time()
                rows = paged(api, f"dags/{DAG_ID}/dagRuns/{run_id}/taskInstances", {}, "task_instances")
            finally:
                end_run(api, run_id)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return load_of(rows, run_id, items, began, (plan_done, ended), sampled, lot_size)


def end_run(api: Any, run_id: str) -> None:
    """Fail the run, wait until none of its tasks is still going, close its in-flight ledger
    rows; each step tried even if the one before failed, a second SIGTERM ignored meanwhile."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    errors = []
    steps = (lambda: fail_run(api, run_id), lambda: wait_until_quiet(api, run_id), lambda: close_ledger_rows(run_id))
    for step in steps:
        try:
            step()
        except Exception as exc:  # noqa: BLE001 - the next clean-up step still runs
            errors.append(exc)
            print(f"clean-up of {DAG_ID} run {run_id}: {type(exc).__name__}: {exc}", file=sys.stderr)
    signal.signal(signal.SIGTERM, on_sigterm)
    if errors:
        raise errors[0]


def wait_until_quiet(api: Any, run_id: str, timeout_s: float = 120.0) -> None:
    """Until no task instance of the run is queued, running or deferred: a task that has not yet
    heard of the failure could otherwise write its ledger row after it was closed."""
    deadline = time.monotonic() + timeout_s
    while True:
        body = api.http.get_json(
            f"dags/{DAG_ID}/dagRuns/{run_id}/taskInstances", params={"state": list(GOING_STATES), "limit": 1}
        )
        if int(body["total_entries"]) == 0:
            return
        if time.monotonic() > deadline:
            going_now = body["total_entries"]
            raise TimeoutError(f"{DAG_ID} run {run_id}: {going_now} task(s) still going after {timeout_s:.0f} s")
        time.sleep(2)


def fail_run(api: Any, run_id: str, attempts: int = 6) -> None:
    """Mark the run failed (its running tasks are stopped). The scheduler may hold the run's row
    in a long loop: the API server then answers 500 (a database error), so try again."""
    from sca.common.errors import TransientServiceError

    for attempt in range(attempts):
        try:
            api.http.request("PATCH", f"dags/{DAG_ID}/dagRuns/{run_id}", json={"state": "failed"})
            return
        except TransientServiceError:
            if attempt == attempts - 1:
                raise
            time.sleep(5)


def close_ledger_rows(run_id: str) -> int:
    """The run's scans still in flight in the ledger are marked failed: their sandboxes stop with
    this benchmark, so nothing is left for the watchdog to chase on the stack's own servers."""
    from sca.store.db import connect
    from sca.store.ledger import Ledger
    from sca.tasks.watchdog import IN_FLIGHT

    conn = connect()
    try:
        ledger = Ledger(conn)
        closed = 0
        for entry in ledger.entries(states=IN_FLIGHT):
            if entry.last_dag_id == DAG_ID and entry.last_run_id == run_id:
                reason = "bench.scheduler_load failed this run on purpose; its sandboxes are stopped"
                closed += ledger.failed(entry.service, entry.scan_key, reason)
        return closed
    finally:
        conn.close()


def wait_for_plan(api: Any, run_id: str, timeout_s: float) -> float:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        ti = api.http.get_json(f"dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/plan")
        if ti["state"] == "success":
            return epoch(ti["end_date"]) or time.time()
        if ti["state"] in ("failed", "upstream_failed"):
            raise RuntimeError(f"{DAG_ID} run {run_id}: plan {ti['state']}")
        time.sleep(1)
    raise TimeoutError(f"{DAG_ID} run {run_id}: plan not done after {timeout_s:.0f} s")


def table(loads: list[Load]) -> str:
    head = (
        "| items | task instances | window | rounds | gap between rounds, median (max) "
        "| task starts/min | scans submitted/min |"
    )
    lines = [head, "|---|---|---|---|---|---|---|"]
    for x in loads:
        gap = "-" if x.round_gap_median_s is None else f"{x.round_gap_median_s:.1f} s ({x.round_gap_max_s:.1f} s)"
        lines.append(
            f"| {x.items:,} | {x.task_instances:,} | {x.window_s:.0f} s | {x.rounds} | {gap} | "
            f"{x.started_per_min:.1f} | {x.scans_submitted_per_min:.1f} |"
        )
    return "\n".join(lines)


def header(window_s: float, began: float, finished: float) -> str:
    def stamp(at: float) -> str:
        return time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(at))

    return (
        f"sca_portfolio scheduling load, {stamp(began)} to {stamp(finished)}, {os.cpu_count()} CPUs: one run per "
        f"size against P1's sandboxes, measured over the {window_s:g} s after plan succeeded "
        "(python -m bench.scheduler_load)."
    )


def on_sigterm(*_: Any) -> None:
    sys.exit(143)  # unwinds like an error: the run is ended, sandboxes stopped, connections deleted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", default="100,300,1000", help="comma-separated portfolio sizes")
    parser.add_argument("--window", type=float, default=180.0, help="seconds measured after plan")
    parser.add_argument("--lot-size", type=int, default=10, help="the portfolio's lot_size (1: a task per item)")
    parser.add_argument("--plan-timeout", type=float, default=600.0, help="seconds to wait for plan to succeed")
    parser.add_argument("--out", default=str(ROOT / "bench/results/scheduler-load.json"))
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, on_sigterm)
    began = time.time()
    loads = []
    for items in (int(n) for n in args.items.split(",")):
        load = measure(items, args.window, args.plan_timeout, args.lot_size)
        print(table([load]).splitlines()[-1], flush=True)
        loads.append(load)
    print(table(loads))
    finished = time.time()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    body = {"began": began, "finished_at": finished, "window_s": args.window, "loads": [asdict(x) for x in loads]}
    out.write_text(json.dumps(body, indent=1))
    out.with_suffix(".md").write_text(header(args.window, began, finished) + "\n\n" + table(loads) + "\n")
    print(f"written {out} and {out.with_suffix('.md')}")


if __name__ == "__main__":
    main()
