"""sca.tasks.lot: k items through one stage in one task instance. The task instance is a small
in-memory stand-in (XCom by task id and map index); the items' steps and operators are real code
paths of the lot (the tool operators themselves run against the stack in tests/e2e)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException, TaskDeferred

from sca.common.errors import PermanentServiceError
from sca.common.lot_trigger import LotTrigger
from sca.tasks.lot import (
    FAILED,
    SKIPPED,
    SUCCESS,
    UPSTREAM_FAILED,
    ItemTaskInstance,
    LotToolOperator,
    run_lot,
)
from tests.unit.test_lot_trigger import SleepThenAnswer


class LotTI:
    """The lot task's instance: map index 2 of the group ``lot``; XComs by (task, map index, key)."""

    dag_id, run_id, task_id, map_index = "sca_portfolio", "manual__1", "lot.scancodeio", 2

    def __init__(self, xcoms: dict[tuple[str, int, str], Any] | None = None) -> None:
        self.xcoms = dict(xcoms or {})
        self.pulls: list[tuple[Any, Any, str]] = []

    def xcom_pull(self, task_ids: Any = None, map_indexes: Any = None, key: str = "return_value") -> Any:
        self.pulls.append((task_ids, map_indexes, key))
        return self.xcoms.get((task_ids, map_indexes, key))

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcoms[(self.task_id, self.map_index, key)] = value


ITEMS = [
    {"index": 20, "item_id": "a", "pipelines": ["scan_single_package"], "run_purldb": True},
    {"index": 21, "item_id": "b", "pipelines": ["scan_codebase"], "run_purldb": False},
    {"index": 22, "item_id": "c", "pipelines": ["scan_single_package"], "run_purldb": True},
]
FETCHED = [
    {"item_id": "a", "index": 20, "state": SUCCESS, "result": {"sha256": "aa"}},
    {"item_id": "b", "index": 21, "state": FAILED, "reason": "InputError: empty"},
    {"item_id": "c", "index": 22, "state": SUCCESS, "result": {"sha256": "cc"}},
]


class Log:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def info(self, message: str, *args: Any) -> None:
        self.lines.append(message % args)

    error = warning = info


def test_an_item_sees_its_own_entry_of_an_upstream_lot_task_and_its_portfolio_index() -> None:
    ti = LotTI({("lot.fetch", 2, "return_value"): FETCHED, ("plan", None, "server_facts"): {"v": 1}})
    cache: dict[str, Any] = {}
    first = ItemTaskInstance(ti, 20, 0, "lot", cache)
    third = ItemTaskInstance(ti, 22, 2, "lot", cache)
    assert (first.map_index, first.dag_id, first.run_id) == (20, "sca_portfolio", "manual__1")
    assert first.xcom_pull(task_ids="lot.fetch", map_indexes=20) == {"sha256": "aa"}
    assert third.xcom_pull(task_ids="lot.fetch", map_indexes=22) == {"sha256": "cc"}
    assert ItemTaskInstance(ti, 21, 1, "lot", cache).xcom_pull(task_ids="lot.fetch") is None  # it failed
    assert first.xcom_pull(task_ids="plan", key="server_facts") == {"v": 1}  # outside the lot: as is
    # the lot's upstream value is pulled once, with the lot's own map index
    assert ti.pulls == [("lot.fetch", 2, "return_value"), ("plan", None, "server_facts")]
    first.xcom_push("scancodeio_project_url", "http://127.0.0.1:8001/project/x/")
    assert first.pushed == {"scancodeio_project_url": "http://127.0.0.1:8001/project/x/"}
    assert ("lot.scancodeio", 2, "scancodeio_project_url") not in ti.xcoms


def step_by_item(context: dict[str, Any], item: dict[str, Any]) -> dict[str, Any]:
    ti = context["ti"]
    if item["item_id"] == "a":
        return {"scan_of": ti.map_index, "input": ti.xcom_pull(task_ids="lot.fetch", map_indexes=ti.map_index)}
    if item["item_id"] == "c":
        raise AirflowSkipException("switched off for this run")
    raise AssertionError("item b has no fetched input: it must not run")


def test_a_stage_runs_each_item_and_lists_every_outcome_in_order() -> None:
    ti = LotTI({("lot.fetch", 2, "return_value"): FETCHED})
    log = Log()
    entries = run_lot({"ti": ti}, "lot", ITEMS, ["lot.fetch"], step_by_item, log)
    assert entries == [
        {"item_id": "a", "index": 20, "state": SUCCESS, "result": {"scan_of": 20, "input": {"sha256": "aa"}}},
        {"item_id": "b", "index": 21, "state": UPSTREAM_FAILED, "reason": "lot.fetch did not end this item"},
        {"item_id": "c", "index": 22, "state": SKIPPED, "reason": "switched off for this run"},
    ]
    assert ti.xcoms[("lot.scancodeio", 2, "return_value")] == entries
    assert log.lines == ["lot of 3 items: {'success': 1, 'skipped': 1, 'failed': 0, 'upstream_failed': 1}"]


def failing_step(errors: dict[str, Exception]) -> Any:
    def step(context: dict[str, Any], item: dict[str, Any]) -> dict[str, Any]:
        if item["item_id"] in errors:
            raise errors[item["item_id"]]
        return {"ok": item["item_id"]}

    return step


def test_a_permanent_item_failure_fails_the_lot_without_retry_after_the_others_ran() -> None:
    ti = LotTI()
    bad = PermanentServiceError(
        "HTTP 400 from POST http://127.0.0.1:8001/api/projects/", service="scancodeio", status=400
    )
    with pytest.raises(AirflowFailException) as raised:
        run_lot({"ti": ti}, "lot", ITEMS, [], failing_step({"b": bad}), Log())
    assert str(raised.value).startswith(
        "1 of 3 items failed: b: PermanentServiceError: HTTP 400 from POST http://127.0.0.1:8001/api/projects/ "
        "(not retried"
    )
    pushed = ti.xcoms[("lot.scancodeio", 2, "return_value")]
    assert [(e["item_id"], e["state"]) for e in pushed] == [("a", SUCCESS), ("b", FAILED), ("c", SUCCESS)]
    assert pushed[1]["transient"] is False


def test_a_transient_item_failure_is_tried_again_in_the_same_execution(monkeypatch) -> None:
    import sca.tasks.lot as lot

    monkeypatch.setattr(lot, "ITEM_RETRY_DELAY_S", 0.0)
    tries: dict[str, int] = {}

    def step(context: dict[str, Any], item: dict[str, Any]) -> dict[str, Any]:
        tries[item["item_id"]] = tries.get(item["item_id"], 0) + 1
        if item["item_id"] == "a" and tries["a"] == 1:
            raise ConnectionResetError("reset by peer")  # once: the second try succeeds
        if item["item_id"] == "c":
            raise TimeoutError("read timed out")  # every time
        if item["item_id"] == "b":
            raise PermanentServiceError("HTTP 404", service="purldb", status=404)  # never tried again
        return {"ok": item["item_id"]}

    ti = LotTI()
    log = Log()
    with pytest.raises(AirflowFailException) as raised:
        run_lot({"ti": ti}, "lot", ITEMS, [], step, log)
    assert tries == {"a": 2, "b": 1, "c": 3}
    assert str(raised.value) == (
        "2 of 3 items failed: b: PermanentServiceError: HTTP 404; c: TimeoutError: read timed out "
        "(not retried: each failure that may be transient was tried 3 times; a retry would run the lot's "
        "other items again)"
    )
    pushed = ti.xcoms[("lot.scancodeio", 2, "return_value")]
    assert pushed[0] == {"item_id": "a", "index": 20, "state": SUCCESS, "result": {"ok": "a"}}
    assert (pushed[1]["tries"], pushed[1]["transient"]) == (1, False)
    assert (pushed[2]["tries"], pushed[2]["transient"]) == (3, True)
    assert "item a: trying again in 0 s (try 2 of 3)" in log.lines


KILLED: list[str] = []


class WaitingItemOperator(BaseOperator):
    """An item's tool task: defers on its own trigger in start, finishes in execute_complete."""

    def __init__(self, *, pipelines: Any, item_label: Any, sync_grace_seconds: float, unit_id: str, **kwargs: Any):
        super().__init__(**kwargs)
        self.pipelines, self.item_label, self.unit_id = pipelines, item_label, unit_id
        assert sync_grace_seconds == 0  # a lot never waits inside the worker

    def execute(self, context: Any) -> Any:
        raise AssertionError("a lot starts its items with start(): execute is the task runner's")

    def start(self, context: Any) -> Any:
        ti = context["ti"]
        ti.xcom_push(key="scancodeio_project_url", value=f"http://127.0.0.1:8001/project/{self.item_label}/")
        if self.pipelines == ["scan_codebase"]:
            return {"reused": self.item_label}
        self.defer(
            trigger=SleepThenAnswer(self.item_label, 1.0),
            method_name="execute_complete",
            kwargs={"state": {"sha256": self.item_label * 2}},
            timeout=timedelta(hours=2 if self.item_label == "a" else 6),
        )

    def on_kill(self) -> None:
        KILLED.append(self.item_label)

    def execute_complete(self, context: Any, event: dict[str, Any], state: dict[str, Any]) -> Any:
        if event["status"] != "success":
            raise AirflowFailException(f"{self.item_label}: run ended {event['status']}")
        return {"finished": state["sha256"], "scan_of": context["ti"].map_index}


def lot_operator() -> LotToolOperator:
    return LotToolOperator(
        task_id="lot.scancodeio",
        item_operator_class=WaitingItemOperator,
        group_id="lot",
        items=ITEMS,
        common={"unit_id": "item"},
        item_fields={"pipelines": "pipelines"},
        item_upstream=[],
    )


def test_a_tool_stage_defers_once_for_all_its_waiting_items_and_finishes_each_on_resume() -> None:
    ti = LotTI()
    operator = lot_operator()
    with pytest.raises(TaskDeferred) as deferred:
        operator.execute({"ti": ti})
    deferral = deferred.value
    assert isinstance(deferral.trigger, LotTrigger)
    assert deferral.trigger.serialize()[1]["triggers"] == {
        "0": [
            f"{SleepThenAnswer.__module__}.SleepThenAnswer",
            {"name": "a", "seconds": 1.0, "status": "success", "fail": False},
        ],
        "2": [
            f"{SleepThenAnswer.__module__}.SleepThenAnswer",
            {"name": "c", "seconds": 1.0, "status": "success", "fail": False},
        ],
    }
    assert deferral.method_name == "execute_lot_complete"
    assert deferral.timeout == timedelta(hours=6)  # the longest of the items' own
    reused = {"item_id": "b", "index": 21, "state": SUCCESS, "result": {"reused": "b"}}
    reused["links"] = {"scancodeio_project_url": "http://127.0.0.1:8001/project/b/"}
    assert deferral.kwargs["entries"] == {"1": reused}
    assert deferral.kwargs["waits"]["0"]["kwargs"] == {"state": {"sha256": "aa"}}

    event = {"events": {"0": {"status": "success", "name": "a"}, "2": {"status": "failure", "name": "c"}}}
    with pytest.raises(AirflowFailException) as raised:
        operator.execute_lot_complete({"ti": ti}, event=event, **deferral.kwargs)
    assert str(raised.value).startswith("1 of 3 items failed: c: AirflowFailException: c: run ended failure (not")
    assert ti.xcoms[("lot.scancodeio", 2, "return_value")] == [
        {
            "item_id": "a",
            "index": 20,
            "state": SUCCESS,
            "result": {"finished": "aa", "scan_of": 20},
            "links": {"scancodeio_project_url": "http://127.0.0.1:8001/project/a/"},
        },
        reused,
        {
            "item_id": "c",
            "index": 22,
            "state": FAILED,
            "reason": "AirflowFailException: c: run ended failure",
            "transient": False,
            "tries": 1,
            "links": {"scancodeio_project_url": "http://127.0.0.1:8001/project/c/"},
        },
    ]


def test_killed_before_it_defers_the_lot_stops_the_work_of_every_item_it_started() -> None:
    KILLED.clear()
    operator = lot_operator()
    with pytest.raises(TaskDeferred):
        operator.execute({"ti": LotTI()})
    operator.on_kill()  # as the task runner does on SIGTERM while execute still runs
    assert KILLED == ["a", "b", "c"]
