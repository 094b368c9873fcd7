"""Stop the remote work when a user kills a deferred task (Airflow 3.3 ``BaseTrigger.on_kill``).

Airflow calls a trigger's ``on_kill`` when its task instance is marked failed or success or
cleared while deferred, not when the triggerer shuts down or the trigger times out. Two facts of
3.3.2 shape this mixin (triggerer_job_runner.py, read for this project):
- a trigger moved away from a triggerer that looked dead is cancelled the same way (upstream PR
  #73454), so the task's state is read first: still ``deferred`` means moved, not killed;
- the cancel is re-sent about every second until the trigger ends, which would interrupt
  ``on_kill`` at its next await, so the remote stop runs in its own task under ``asyncio.shield``.
A trigger that has already yielded its event stops nothing.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

log = logging.getLogger(__name__)

# Strong references: a task only referenced by the loop may be garbage-collected mid-flight.
_IN_FLIGHT: set[asyncio.Task[None]] = set()
DEFERRED = "deferred"


class StopRemoteOnKill:
    """Mix into a BaseTrigger; implement ``stop_remote`` (and set ``fired = True`` on yield)."""

    fired: bool = False
    log: Any

    async def stop_remote(self) -> None:
        """Stop the remote work this trigger waits for (an API call; errors are logged)."""
        raise NotImplementedError

    async def on_kill(self) -> None:
        if self.fired:
            return
        task = asyncio.create_task(self._stop_if_killed())
        _IN_FLIGHT.add(task)
        task.add_done_callback(_IN_FLIGHT.discard)
        await asyncio.shield(task)

    async def _stop_if_killed(self) -> None:
        try:
            state = await asyncio.wait_for(self._task_state(), 10)
        except Exception as exc:  # noqa: BLE001 - unknown state: a killed task must not leave work running
            self.log.warning("Could not read the task's state (%s); stopping the remote work anyway", exc)
            state = None
        if state == DEFERRED:
            self.log.info("The task is still deferred: this trigger was moved, not killed; the remote work goes on")
            return
        try:
            await asyncio.wait_for(self.stop_remote(), 30)
        except Exception as exc:  # noqa: BLE001 - reported, the task is ending anyway
            self.log.warning("Stopping the remote work failed: %s", exc)

    async def _task_state(self) -> str | None:
        from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance
        from asgiref.sync import sync_to_async

        ti = getattr(self, "task_instance", None)
        if ti is None:
            return None
        map_index = getattr(ti, "map_index", None)
        states = await sync_to_async(RuntimeTaskInstance.get_task_states)(
            dag_id=ti.dag_id, task_ids=[ti.task_id], run_ids=[ti.run_id], map_index=map_index
        )
        key = ti.task_id if map_index is None or map_index < 0 else f"{ti.task_id}_{map_index}"
        state = (states.get(ti.run_id) or {}).get(key)
        return None if state is None else str(state)
