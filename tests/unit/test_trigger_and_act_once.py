"""The wait's own failure modes, without a server: a trigger that meets an unknown status, an
exception or a run that stopped progressing ends with one event that says so; a request that
changes the server is sent again only when its effect is not found."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from sca.common.errors import TransientServiceError
from sca.common.retry import RetryPolicy, act_once
from sca.common.run_trigger import PipelineRunTrigger, RunReader
from tests.conftest import first_event


class ScriptedRuns:
    def __init__(self, answers: Iterator[Any]) -> None:
        self.answers = answers
        self.calls = 0

    async def get_run(self, run_uuid: str) -> dict[str, Any]:
        self.calls += 1
        answer = next(self.answers)
        if isinstance(answer, Exception):
            raise answer
        return dict(answer)


def trigger_over(reader: ScriptedRuns, **kwargs: Any) -> PipelineRunTrigger:
    class Scripted(PipelineRunTrigger):
        classpath = "tests.unit.Scripted"
        service = "Svc"

        async def client(self) -> RunReader:
            return reader

    return Scripted("run-1", "conn", poll_interval=0.01, max_poll_interval=0.01, **kwargs)


def forever(value: Any) -> Iterator[Any]:
    while True:
        yield value


def test_an_unknown_status_is_an_error_once_its_budget_is_spent() -> None:
    reader = ScriptedRuns(forever({"status": "paused", "log": ""}))
    event = first_event(trigger_over(reader, unknown_status_budget=0.05))
    assert event["status"] == "error"
    assert event["message"].startswith(
        "Svc run run-1 reports the status 'paused', which is none of not_started, queued, running, "
        "success, failure, stopped, stale; still so after"
    )
    assert reader.calls >= 2, "one odd answer is not enough to give up"


def test_an_unknown_status_that_passes_is_forgotten() -> None:
    answers = iter([{"status": "paused"}, {"status": "running", "log": "a"}, {"status": "success", "log": "a\nb"}])
    event = first_event(trigger_over(ScriptedRuns(answers), unknown_status_budget=60))
    assert (event["status"], event["message"], event["polls"]) == ("success", "", 3)


def test_any_exception_becomes_an_error_event_naming_it() -> None:
    event = first_event(trigger_over(ScriptedRuns(iter([KeyError("status")]))))
    assert (event["status"], event["message"]) == ("error", "Svc run run-1: KeyError: 'status'")


def test_a_running_run_without_new_log_lines_is_reported_stalled() -> None:
    answers = iter([{"status": "running", "log": "step 1 starting", "task_start_date": "t"}] * 1000)
    event = first_event(trigger_over(ScriptedRuns(answers), stall_budget=0.05))
    assert event["status"] == "stalled"
    assert "has been running with no new log line for" in event["message"]
    assert "(last: step 1 starting); its worker is probably gone" in event["message"]


FAST = RetryPolicy(attempts=4, initial_delay=0.0, max_delay=0.0)


def lost_answer() -> TransientServiceError:
    return TransientServiceError("Svc POST /x -> no response: ReadTimeout")


def test_act_once_finds_the_effect_of_a_request_whose_answer_was_lost() -> None:
    sent: list[str] = []

    def create() -> dict[str, str]:
        sent.append("create")
        raise lost_answer()  # the server made it, the answer was lost

    found = act_once(FAST, create, lambda: {"name": "p"}, is_transient=lambda e: isinstance(e, TransientServiceError))
    assert (found, sent) == ({"name": "p"}, ["create"])


def test_act_once_sends_again_only_when_the_effect_is_missing() -> None:
    sent: list[str] = []
    answers = iter([lost_answer(), {"name": "p"}])

    def create() -> dict[str, str]:
        sent.append("create")
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    looked: list[str] = []
    result = act_once(
        FAST, create, lambda: looked.append("look") or None, is_transient=lambda e: isinstance(e, TransientServiceError)
    )
    assert (result, sent, looked) == ({"name": "p"}, ["create", "create"], ["look"])


def test_act_once_raises_a_permanent_error_at_once() -> None:
    calls: list[str] = []

    def create() -> None:
        calls.append("create")
        raise ValueError("bad name")

    with pytest.raises(ValueError, match="bad name"):
        act_once(FAST, create, lambda: None, is_transient=lambda e: isinstance(e, TransientServiceError))
    assert calls == ["create"]
