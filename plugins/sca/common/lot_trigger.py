"""One trigger for a lot's waits: the portfolio's lot task submits k scans and defers once.

``LotTrigger`` holds the serialized triggers of the lot's items (``[classpath, kwargs]``, as each
item's own task would have deferred with), runs them side by side in the triggerer and yields one
event when every one of them has yielded its first: ``{"events": {position: event payload}}``.
Serializes only primitives; async I/O only (the items' triggers are ours and poll with aiohttp).

An item's trigger that raises, or cannot be built, is reported as its event ``{"status":
"error", "message": …}``, which every tool task's resume reads as a failed wait; the other items
go on. When the lot's task is killed while deferred (marked failed or cleared), each item's
trigger that has not fired is told (``on_kill``), so each stops its own remote work.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent


def trigger_from(classpath: str, kwargs: dict[str, Any]) -> BaseTrigger:
    module, _, name = classpath.rpartition(".")
    trigger_class = getattr(importlib.import_module(module), name)
    return trigger_class(**kwargs)


class LotTrigger(BaseTrigger):
    def __init__(self, triggers: dict[str, list[Any]]) -> None:
        """``triggers``: position in the lot (as text) → ``[classpath, kwargs]`` of that item's trigger."""
        super().__init__()
        if not triggers:
            raise ValueError("a lot's trigger needs at least one item's trigger")
        self.triggers: dict[str, list[Any]] = {
            str(position): [str(spec[0]), dict(spec[1])] for position, spec in triggers.items()
        }
        self._inner: dict[str, BaseTrigger] = {}
        self._broken: dict[str, str] = {}  # position → why its trigger could not be built
        self.fired = False

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return ("sca.common.lot_trigger.LotTrigger", {"triggers": self.triggers})

    def inner(self) -> dict[str, BaseTrigger]:
        if not self._inner and not self._broken:
            for position, (classpath, kwargs) in self.triggers.items():
                try:
                    trigger = trigger_from(str(classpath), dict(kwargs))
                except Exception as exc:  # noqa: BLE001 - that item's wait fails, not the lot's
                    self._broken[position] = f"its wait could not start: {type(exc).__name__}: {exc}"[:2000]
                    continue
                # the lot's task instance stands for each item's (on_kill reads its state)
                trigger.task_instance = getattr(self, "task_instance", None)
                self._inner[position] = trigger
        return self._inner

    async def _first_event(self, position: str, trigger: BaseTrigger) -> tuple[str, Any]:
        try:
            async for event in trigger.run():
                return position, event.payload
            return position, {"status": "error", "message": "the wait ended without an event"}
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - one item's failed wait must not end the others'
            self.log.exception("item %s of the lot: its wait failed", position)
            return position, {"status": "error", "message": f"the wait failed: {type(exc).__name__}: {exc}"[:2000]}

    async def run(self) -> AsyncIterator[TriggerEvent]:
        waits = [asyncio.create_task(self._first_event(p, t)) for p, t in self.inner().items()]
        events: dict[str, Any] = {p: {"status": "error", "message": why} for p, why in self._broken.items()}
        try:
            for finished in asyncio.as_completed(waits):
                position, payload = await finished
                events[position] = payload
            self.log.info("every item of the lot has ended its wait (%d)", len(events))
        finally:
            for wait in waits:
                wait.cancel()
        self.fired = True
        yield TriggerEvent({"events": events})

    async def on_kill(self) -> None:
        """The lot's task was killed while deferred: each item's trigger stops its own remote work."""
        if self.fired:
            return
        kills = [t.on_kill() for t in self.inner().values() if hasattr(t, "on_kill")]
        results = await asyncio.gather(*kills, return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                self.log.warning("stopping one item's remote work failed: %s", result)
