"""Counters for benchmarks, served at ``GET /_sandbox/stats`` (``POST`` clears the request counts)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any

from sandboxes.scancodeio.model import Run, Store
from sandboxes.scancodeio.webhooks import WebhookSender


class RequestCounter:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.by_route: Counter[str] = Counter()
        self.by_status: Counter[str] = Counter()
        self.started = time.time()

    def record(self, route: str, status: int) -> None:
        with self.lock:
            self.by_route[route] += 1
            self.by_status[str(status)] += 1

    def clear(self) -> None:
        with self.lock:
            self.by_route.clear()
            self.by_status.clear()
            self.started = time.time()

    def view(self) -> dict[str, Any]:
        with self.lock:
            return {
                "requests": dict(sorted(self.by_route.items())),
                "responses_by_status": dict(sorted(self.by_status.items())),
                "requests_total": sum(self.by_route.values()),
                "counting_since": self.started,
            }


def run_record(run: Run, project_name: str) -> dict[str, Any]:
    return {
        "run_uuid": run.uuid,
        "project_uuid": run.project_uuid,
        "project_name": project_name,
        "pipeline": run.pipeline_name,
        "status": run.status,
        "created": run.created,
        "queued": run.queued_at,
        "started": run.task_start,
        "ended": run.task_end,
        "scan_seconds": run.scan_seconds,
        "status_calls": run.status_calls,
    }


def stats_view(
    store: Store, counter: RequestCounter, workers: int, max_running: int, webhooks: WebhookSender
) -> dict[str, Any]:
    """The whole picture: requests per route, every run's clock, the totals a benchmark needs
    (wall time from the first queue to the last end vs Σ scan time ÷ workers), and the webhook
    deliveries (``attempted`` = ``delivered`` + ``failed``; delivered is WebhookDelivery.success,
    a 200, 201 or 202 answer; ``pending`` are taken but not yet posted; ``last`` the latest few)."""
    with store.lock:
        names = {p.uuid: p.name for p in store.projects.values()}
        runs = [*store.finished_runs, *store.runs.values()]
        records = [run_record(run, names.get(run.project_uuid, "")) for run in runs]
        detail_calls = {p.uuid: p.detail_calls for p in store.projects.values()}
    records.sort(key=lambda r: (r["created"], r["run_uuid"]))
    queued = [r["queued"] for r in records if r["queued"] is not None]
    ended = [r["ended"] for r in records if r["ended"] is not None]
    scanned = [r["ended"] - r["started"] for r in records if r["ended"] is not None and r["started"] is not None]
    status_calls = sum(r["status_calls"] for r in records)
    by_status = Counter(r["status"] for r in records)
    first, last = (min(queued), max(ended)) if queued and ended else (None, None)
    return {
        "now": time.time(),
        "workers": workers,
        **counter.view(),
        "runs": records,
        "project_detail_calls": detail_calls,
        "totals": {
            "runs": len(records),
            "runs_by_status": dict(sorted(by_status.items())),
            "first_queued": first,
            "last_ended": last,
            "wall_seconds": (last - first) if first is not None and last is not None else None,
            "sum_scan_seconds": sum(scanned),
            "ideal_seconds": sum(scanned) / workers,
            "max_running": max_running,
            "status_calls": status_calls,
            "status_calls_per_run": status_calls / len(records) if records else 0.0,
            "project_detail_calls": sum(detail_calls.values()),
        },
        "webhooks": webhooks.view(),
    }
