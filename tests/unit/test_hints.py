"""Run-end hints without a server: signed callback URLs, the connection they come from, the
payload the receiver reads, the watcher's batching, and a trigger that a hint wakes (or that
stops trusting hints its run does not bear out)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from sca.common.polling import HINTED_SAFETY_SCHEDULE
from sca.common.run_trigger import PipelineRunTrigger, RunReader
from sca.hints import watcher as watcher_module
from sca.hints.receiver import run_of
from sca.hints.settings import settings_from_connection
from sca.hints.signing import callback_url, is_valid, signature
from sca.hints.watcher import HintWatcher
from tests.conftest import first_event


def test_a_callback_url_carries_a_signature_only_the_secret_makes() -> None:
    url = callback_url("http://airflow:8080/sca-hooks/", "s3cret", "scancodeio", "six 1.16/x")
    sig = signature("s3cret", "scancodeio", "six 1.16/x")
    assert url == f"http://airflow:8080/sca-hooks/scancodeio/six%201.16/x/{sig}"
    assert len(sig) == 40
    assert is_valid("s3cret", "scancodeio", "six 1.16/x", sig)
    assert not is_valid("other", "scancodeio", "six 1.16/x", sig)
    assert not is_valid("s3cret", "scancodeio", "six 1.16/y", sig)
    assert not is_valid("s3cret", "fossid", "six 1.16/x", sig)
    assert not is_valid("s3cret", "scancodeio", "six 1.16/x", "é" * 40), "non-ASCII: refused, not a TypeError"
    assert "s3cret" not in url


def test_an_unknown_service_or_an_empty_secret_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="no run-end hints for service 'fossid' \\(known: scancodeio\\)"):
        callback_url("http://a", "s", "fossid", "p")
    with pytest.raises(ValueError, match="the webhook secret is empty"):
        signature("", "scancodeio", "p")


def conn(**fields: Any) -> SimpleNamespace:
    base = {"conn_id": "sca_webhooks", "host": None, "schema": None, "port": None, "password": None, "login": None}
    base["extra_dejson"] = {}
    return SimpleNamespace(**{**base, **fields})


def test_the_connection_gives_the_base_url_and_hides_the_secret() -> None:
    full = settings_from_connection(conn(host="https://airflow.example/sca-hooks/", password="k"))
    assert (full.base_url, full.secret) == ("https://airflow.example/sca-hooks", "k")
    assert "k'" not in repr(full) and "<hidden>" in repr(full)
    parts = settings_from_connection(conn(host="10.0.0.5", schema="https", port=8443, password="k"))
    assert parts.base_url == "https://10.0.0.5:8443/sca-hooks"
    with pytest.raises(ValueError, match="connection 'sca_webhooks' has no host"):
        settings_from_connection(conn(password="k"))
    with pytest.raises(ValueError, match="connection 'sca_webhooks' has no password"):
        settings_from_connection(conn(host="http://a"))


def test_the_receiver_reads_the_run_from_a_scancodeio_payload() -> None:
    assert run_of({"project": {"name": "p"}, "run": {"uuid": "r-1", "status": "success"}}) == ("r-1", "success")
    assert run_of({"run": {"uuid": "r-2", "status": 3}}) == ("r-2", None)
    with pytest.raises(ValueError, match="the body has no 'run' object"):
        run_of({"project": {}})
    with pytest.raises(ValueError, match="the body's run has no 'uuid'"):
        run_of({"run": {"status": "success"}})
    with pytest.raises(ValueError, match="the body has no 'run' object"):
        run_of(["run"])


class FakeHintTable:
    """An in-memory ``run_end_hints`` behind psycopg's async cursor API."""

    def __init__(self) -> None:
        self.rows: set[tuple[str, str]] = set()
        self.queries: list[tuple[list[str], list[str]]] = []

    async def connect(self) -> FakeHintTable:
        return self

    def cursor(self) -> FakeHintTable:
        return self

    async def __aenter__(self) -> FakeHintTable:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def execute(self, sql: str, params: tuple[list[str], list[str]]) -> None:
        self.queries.append(params)
        self._found = [(s, r) for s, r in sorted(self.rows) if s in params[0] and r in params[1]]

    async def fetchall(self) -> list[tuple[str, str]]:
        return self._found

    async def close(self) -> None:
        return None


def test_one_query_a_tick_serves_every_wait_and_a_hint_wakes_only_its_run() -> None:
    table = FakeHintTable()

    async def scenario() -> tuple[list[bool], float]:
        hints = HintWatcher(connect=table.connect, tick=0.05)
        started = time.monotonic()
        waits = [asyncio.create_task(hints.wait("scancodeio", f"r{i}", 2.0)) for i in range(3)]
        await asyncio.sleep(0.12)
        table.rows.add(("scancodeio", "r1"))
        woken = await waits[1]
        elapsed = time.monotonic() - started
        results = [await waits[0], woken, await waits[2]]
        return results, elapsed

    results, elapsed = asyncio.run(scenario())
    assert results == [False, True, False]
    assert elapsed < 1.0, "the hinted wait ended at the next tick, not at its 2 s timeout"
    assert table.queries[0] == (["scancodeio"], ["r0", "r1", "r2"]), "one query for the three waits"


def test_a_hint_recorded_before_the_wait_ends_it_at_once() -> None:
    table = FakeHintTable()
    table.rows.add(("scancodeio", "r9"))

    async def scenario() -> bool:
        return await HintWatcher(connect=table.connect, tick=0.05).wait("scancodeio", "r9", 5.0)

    started = time.monotonic()
    assert asyncio.run(scenario()) is True
    assert time.monotonic() - started < 1.0


def test_a_database_that_is_away_leaves_the_waits_to_their_timeout() -> None:
    async def refuse() -> Any:
        raise OSError("connection refused")

    async def scenario() -> bool:
        return await HintWatcher(connect=refuse, tick=0.01).wait("scancodeio", "r1", 0.2)

    assert asyncio.run(scenario()) is False


class ScriptedRuns:
    def __init__(self, answers: Iterator[dict[str, Any]]) -> None:
        self.answers = answers
        self.calls = 0

    async def get_run(self, run_uuid: str) -> dict[str, Any]:
        self.calls += 1
        return dict(next(self.answers))


def hinted_trigger(reader: ScriptedRuns) -> PipelineRunTrigger:
    class Scripted(PipelineRunTrigger):
        classpath = "tests.unit.Scripted"
        service = "Svc"

        async def client(self) -> RunReader:
            return reader

    return Scripted("run-1", "conn", hint_service="scancodeio")


def test_a_hinted_trigger_polls_when_woken_and_serializes_its_service(monkeypatch: pytest.MonkeyPatch) -> None:
    pauses: list[float] = []

    async def woken_at_once(service: str, run_uuid: str, timeout: float) -> bool:
        pauses.append(timeout)
        return (service, run_uuid) == ("scancodeio", "run-1")

    monkeypatch.setattr(watcher_module, "wait_for_hint", woken_at_once)
    reader = ScriptedRuns(iter([{"status": "running", "log": "a"}, {"status": "success", "log": "a\nb"}]))
    trigger = hinted_trigger(reader)
    assert trigger.serialize()[1]["hint_service"] == "scancodeio"
    event = first_event(trigger)
    assert (event["status"], event["polls"], event["hints"]) == ("success", 2, 1)
    assert pauses == [HINTED_SAFETY_SCHEDULE.interval(0, 0.0)] == [60.0]


def test_a_hint_the_run_does_not_bear_out_turns_hints_off(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[float] = []

    async def always_woken(service: str, run_uuid: str, timeout: float) -> bool:
        calls.append(timeout)
        return True

    monkeypatch.setattr(watcher_module, "wait_for_hint", always_woken)
    answers = iter([{"status": "running", "log": "a"}] * 2 + [{"status": "success", "log": "a\nb"}])
    trigger = hinted_trigger(ScriptedRuns(answers))
    trigger.poll_interval = trigger.max_poll_interval = 0.01
    event = first_event(trigger)
    assert (event["status"], event["polls"], event["hints"]) == ("success", 3, 1)
    assert calls == [60.0], "after the false hint the trigger slept on the normal schedule"
    assert trigger.hint_service is None


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def brief_wait(monkeypatch: pytest.MonkeyPatch, statuses: list[str]) -> tuple[bool, list[float]]:
    """``wait_briefly`` on a virtual clock over a run showing ``statuses`` (the last one repeats)."""
    import sca.common.polling as polling

    clock = Clock()
    monkeypatch.setattr(polling, "time", clock)
    asked: list[float] = []
    answers = iter(statuses)
    last = {"status": statuses[0]}

    def is_done() -> bool:
        asked.append(clock.now)
        last["status"] = next(answers, last["status"])
        return last["status"] == "success"

    done = polling.wait_briefly(is_done, 10.0, behind=lambda: last["status"] == "queued")
    return done, asked


def test_a_run_still_queued_after_three_seconds_frees_the_worker_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    assert brief_wait(monkeypatch, ["queued"]) == (False, [0.0, 1.0, 2.0, 3.0])


def test_a_run_a_worker_took_is_waited_for_the_whole_grace(monkeypatch: pytest.MonkeyPatch) -> None:
    # queued for a second (the real server's pickup), then running until the grace ends
    assert brief_wait(monkeypatch, ["queued", "queued", "running"]) == (False, [float(s) for s in range(11)])
    assert brief_wait(monkeypatch, ["queued", "running", "running", "success"]) == (True, [0.0, 1.0, 2.0, 3.0])


def test_progress_says_whether_work_ends_within_the_grace() -> None:
    from sca.common.polling import ends_after

    assert ends_after(10, 3.0, 10.0) is True  # 10 % in 3 s: 30 s in all
    assert ends_after(50, 3.0, 10.0) is False  # 50 % in 3 s: 6 s in all
    assert ends_after(0, 2.0, 10.0) is True
    assert ends_after(0, 0.5, 10.0) is False
    assert ends_after(None, 9.0, 10.0) is False
