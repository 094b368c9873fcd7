"""LotTrigger: one deferral for a lot's items, run with real asyncio and real (small) triggers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from sca.common.lot_trigger import LotTrigger

KILLED: list[str] = []


class SleepThenAnswer(BaseTrigger):
    """Waits ``seconds``, then yields ``{"status": status, "name": name}`` (or raises)."""

    def __init__(self, name: str, seconds: float, status: str = "success", fail: bool = False) -> None:
        super().__init__()
        self.name, self.seconds, self.status, self.fail = name, seconds, status, fail
        self.fired = False

    def serialize(self) -> tuple[str, dict[str, Any]]:
        kwargs = {"name": self.name, "seconds": self.seconds, "status": self.status, "fail": self.fail}
        return (f"{__name__}.SleepThenAnswer", kwargs)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        await asyncio.sleep(self.seconds)
        if self.fail:
            raise ConnectionResetError(f"{self.name}: connection reset")
        self.fired = True
        yield TriggerEvent({"status": self.status, "name": self.name})

    async def on_kill(self) -> None:
        if not self.fired:
            KILLED.append(self.name)


def spec(name: str, seconds: float, **kwargs: Any) -> list[Any]:
    classpath, arguments = SleepThenAnswer(name, seconds, **kwargs).serialize()
    return [classpath, arguments]


async def events_of(trigger: BaseTrigger) -> list[dict[str, Any]]:
    return [event.payload async for event in trigger.run()]


def test_one_event_with_every_items_event_by_position() -> None:
    trigger = LotTrigger({"0": spec("a", 0.2), "1": spec("b", 0.0, status="failure"), "2": spec("c", 0.1)})
    assert asyncio.run(events_of(trigger)) == [
        {
            "events": {
                "0": {"status": "success", "name": "a"},
                "1": {"status": "failure", "name": "b"},
                "2": {"status": "success", "name": "c"},
            }
        }
    ]


def test_an_items_failed_wait_is_its_error_event_and_the_others_go_on() -> None:
    trigger = LotTrigger({"0": spec("a", 0.0, fail=True), "1": spec("b", 0.1)})
    assert asyncio.run(events_of(trigger)) == [
        {
            "events": {
                "0": {"status": "error", "message": "the wait failed: ConnectionResetError: a: connection reset"},
                "1": {"status": "success", "name": "b"},
            }
        }
    ]


def test_it_serializes_to_primitives_and_back() -> None:
    trigger = LotTrigger({3: spec("a", 1.5)})
    classpath, kwargs = trigger.serialize()
    assert (classpath, kwargs) == (
        "sca.common.lot_trigger.LotTrigger",
        {
            "triggers": {
                "3": [
                    f"{__name__}.SleepThenAnswer",
                    {"name": "a", "seconds": 1.5, "status": "success", "fail": False},
                ]
            }
        },
    )
    assert LotTrigger(**kwargs).serialize() == (classpath, kwargs)


def test_killed_while_waiting_each_items_trigger_is_told() -> None:
    KILLED.clear()
    trigger = LotTrigger({"0": spec("a", 30), "1": spec("b", 30)})

    async def kill_midway() -> None:
        waiting = asyncio.create_task(events_of(trigger))
        await asyncio.sleep(0.1)
        await trigger.on_kill()
        waiting.cancel()

    asyncio.run(kill_midway())
    assert sorted(KILLED) == ["a", "b"]


def test_a_lot_that_has_fired_stops_nothing() -> None:
    KILLED.clear()
    trigger = LotTrigger({"0": spec("a", 0.0)})
    asyncio.run(events_of(trigger))
    asyncio.run(trigger.on_kill())
    assert KILLED == []


def test_a_lot_without_items_is_refused() -> None:
    try:
        LotTrigger({})
    except ValueError as exc:
        assert str(exc) == "a lot's trigger needs at least one item's trigger"
    else:
        raise AssertionError("an empty lot was accepted")


def test_an_item_whose_trigger_cannot_be_built_gets_an_error_event() -> None:
    trigger = LotTrigger({"0": ["sca.common.no_such_module.Trigger", {}], "1": spec("b", 0.0)})
    assert asyncio.run(events_of(trigger)) == [
        {
            "events": {
                "0": {
                    "status": "error",
                    "message": "its wait could not start: ModuleNotFoundError: "
                    "No module named 'sca.common.no_such_module'",
                },
                "1": {"status": "success", "name": "b"},
            }
        }
    ]
