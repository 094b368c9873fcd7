"""The RQ worker pool: ``workers`` runs may be ``running`` at once; the rest wait ``queued`` in FIFO
order (one RQ ``default`` queue, scanpipe/models.py:2121-2148). One thread keeps the clock."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from sandboxes.scancodeio.model import Run, Store


class WorkerPool:
    def __init__(
        self,
        store: Store,
        workers: int,
        start_run: Callable[[Run, float], float],
        end_run: Callable[[Run, float], None],
    ) -> None:
        """``start_run(run, now)`` marks a run started and returns when it ends; ``end_run(run, now)``
        ends it (and may enqueue the project's next run). Both are called with the store locked."""
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.store = store
        self.workers = workers
        self.start_run = start_run
        self.end_run = end_run
        self.queue: deque[str] = deque()
        self.running: dict[str, float] = {}  # run uuid -> planned end
        self.max_running = 0
        self.wakeup = threading.Condition(store.lock)
        self.stopping = False
        self.thread = threading.Thread(target=self.loop, name="scio-worker-pool", daemon=True)
        self.thread.start()

    def enqueue(self, run: Run) -> None:
        """execute_task_async (models.py:2121-2148): enqueued, then ``task_id`` = the run's pk."""
        with self.wakeup:
            run.task_id = run.uuid
            run.queued_at = time.time()
            self.queue.append(run.uuid)
            self.fill(run.queued_at)
            self.wakeup.notify_all()

    def fill(self, now: float) -> None:
        """Give free workers the oldest queued runs, at once: a run enqueued while a worker is idle
        answers ``running`` to the very next request (the real RQ worker takes it within ~1 s)."""
        while self.queue and len(self.running) < self.workers:
            run = self.store.runs.get(self.queue.popleft())
            if run is not None and run.status == "queued":
                self.running[run.uuid] = self.start_run(run, now)
        self.max_running = max(self.max_running, len(self.running))

    def forget(self, run: Run) -> None:
        """Take a run off the queue or out of its worker slot (delete, stop, stale)."""
        with self.wakeup:
            if run.uuid in self.queue:
                self.queue.remove(run.uuid)
            self.running.pop(run.uuid, None)
            self.wakeup.notify_all()

    def resize(self, workers: int) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        with self.wakeup:
            self.workers = workers
            self.fill(time.time())
            self.wakeup.notify_all()

    def shutdown(self) -> None:
        with self.wakeup:
            self.stopping = True
            self.wakeup.notify_all()

    def loop(self) -> None:
        with self.wakeup:
            while not self.stopping:
                now = time.time()
                for run_uuid, end in sorted(self.running.items(), key=lambda item: item[1]):
                    if end <= now:
                        del self.running[run_uuid]
                        run = self.store.runs.get(run_uuid)
                        if run is not None:
                            self.end_run(run, now)
                self.fill(now)
                timeout = max(0.0, min(self.running.values()) - time.time()) if self.running else None
                self.wakeup.wait(timeout)
