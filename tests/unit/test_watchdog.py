"""The watchdog's choice of what to stop (sca.tasks.watchdog.sweep), over an in-memory ledger and
recording clients. What a stop does on the real services is tested on the stack
(tests/e2e/test_kill_recovery.py::test_remote_work_left_by_a_run_that_ended_is_stopped_by_the_watchdog)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sca.fossid.status import CheckStatus, FossIDStatus
from sca.store.ledger import LedgerEntry
from sca.tasks.watchdog import sweep

NOW = datetime(2026, 11, 26, 4, 0, tzinfo=UTC)


def entry(service: str, key: str, run_id: str, *, minutes_ago: float = 10, state: str = "submitted") -> LedgerEntry:
    at = NOW - timedelta(minutes=minutes_ago)
    return LedgerEntry(
        service=service,
        scan_key=key,
        input_sha256="0" * 64,
        settings={},
        remote_name=f"name-{key}",
        remote_id=f"id-{key}",
        remote_url=None,
        server_version=None,
        state=state,
        attempts=1,
        last_error=None,
        result_uri=None,
        last_dag_id="sca_scan",
        last_run_id=run_id,
        created_at=at,
        updated_at=at,
        finished_at=None,
        generation=1,
    )


class FakeLedger:
    def __init__(self, rows: list[LedgerEntry]) -> None:
        self.rows = rows
        self.failures: dict[tuple[str, str], str] = {}

    def entries(self, service: str | None = None, states: tuple[str, ...] = ()) -> list[LedgerEntry]:
        return [r for r in self.rows if r.state in states]

    def get(self, service: str, scan_key: str) -> LedgerEntry | None:
        return next((r for r in self.rows if (r.service, r.scan_key) == (service, scan_key)), None)

    def failed(self, service: str, scan_key: str, error: str) -> bool:
        self.failures[(service, scan_key)] = error
        return True


class FakeScanCodeIO:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def get_project(self, uuid: str) -> dict[str, Any]:
        return {
            "runs": [
                {"uuid": "r-done", "status": "success", "pipeline_name": "inspect_packages"},
                {"uuid": "r-live", "status": "running", "pipeline_name": "scan_single_package"},
                {"uuid": "r-queued", "status": "queued", "pipeline_name": "find_vulnerabilities"},
            ]
        }

    def stop_pipeline(self, uuid: str) -> None:
        self.calls.append(("stop", uuid))

    def delete_pipeline(self, uuid: str) -> None:
        self.calls.append(("delete", uuid))


class FakeFossID:
    def __init__(self, status: FossIDStatus) -> None:
        self.status = status
        self.cancelled: list[str] = []

    def get_scan(self, code: str) -> dict[str, Any]:
        return {"code": code}

    def check_status(self, code: str, kind: str) -> CheckStatus:
        return CheckStatus(self.status, 10, "", {})

    def cancel_run(self, code: str) -> None:
        self.cancelled.append(code)


RUNS = {"run-ended": "failed", "run-live": "running", "run-done": "success"}


def run_state(dag_id: str, run_id: str) -> str | None:
    return RUNS.get(run_id) if dag_id == "sca_scan" else None


def test_only_work_of_ended_runs_is_stopped_and_the_ledger_says_why() -> None:
    ledger = FakeLedger(
        [
            entry("scancodeio", "k1", "run-ended"),
            entry("fossid", "k2", "run-ended"),
            entry("scancodeio", "k3", "run-live"),  # its run is alive: its own wait watches it
            entry("scancodeio", "k4", "run-unknown"),  # Airflow does not know the run: not ours
            entry("scancodeio", "k5", "run-ended", minutes_ago=0.5),  # too fresh: the next round
            entry("scancodeio", "k6", "run-ended", state="finished"),  # not in flight
        ]
    )
    scio, fossid = FakeScanCodeIO(), FakeFossID(FossIDStatus.RUNNING)
    actions = sweep(ledger, run_state, {"scancodeio": lambda: scio, "fossid": lambda: fossid}, now=NOW)
    assert [(a.service, a.scan_key, a.run_state, a.done) for a in actions] == [
        (
            "scancodeio",
            "k1",
            "failed",
            ["stopped run r-live (scan_single_package)", "deleted queued run r-queued (find_vulnerabilities)"],
        ),
        ("fossid", "k2", "failed", ["cancelled scan name-k2"]),
    ]
    assert scio.calls == [("stop", "r-live"), ("delete", "r-queued")]
    assert fossid.cancelled == ["name-k2"]
    assert ledger.failures == {
        ("scancodeio", "k1"): "the DAG run sca_scan / run-ended ended failed with this scan in flight; the watchdog "
        "found: stopped run r-live (scan_single_package); deleted queued run r-queued (find_vulnerabilities)",
        ("fossid", "k2"): "the DAG run sca_scan / run-ended ended failed with this scan in flight; the watchdog "
        "found: cancelled scan name-k2",
    }


def test_a_finished_fossid_scan_is_left_alone_but_its_row_is_closed() -> None:
    ledger = FakeLedger([entry("fossid", "k1", "run-done")])
    fossid = FakeFossID(FossIDStatus.FINISHED)
    actions = sweep(ledger, run_state, {"fossid": lambda: fossid}, now=NOW)
    assert [(a.run_state, a.done) for a in actions] == [("success", [])]
    assert fossid.cancelled == []
    assert ledger.failures[("fossid", "k1")].endswith("the watchdog found: nothing still running")


def test_a_dry_run_touches_nothing() -> None:
    ledger = FakeLedger([entry("fossid", "k1", "run-ended")])
    fossid = FakeFossID(FossIDStatus.RUNNING)
    actions = sweep(ledger, run_state, {"fossid": lambda: fossid}, now=NOW, dry_run=True)
    assert [a.done for a in actions] == [["dry run: would stop what is still running"]]
    assert (fossid.cancelled, ledger.failures) == ([], {})


def test_a_row_a_live_run_took_over_meanwhile_is_left_alone() -> None:
    """Read again under the key's lock: run-live began on the key after the rows were read."""
    ledger = FakeLedger([entry("fossid", "k1", "run-ended")])
    fossid = FakeFossID(FossIDStatus.RUNNING)

    @contextmanager
    def taken_over_while_waiting(key: str) -> Iterator[None]:
        ledger.rows = [replace(ledger.rows[0], last_run_id="run-live", updated_at=NOW)]
        yield

    actions = sweep(ledger, run_state, {"fossid": lambda: fossid}, key_lock=taken_over_while_waiting, now=NOW)
    assert (actions, fossid.cancelled, ledger.failures) == ([], [], {})


def test_one_service_failing_does_not_spare_the_other_rows() -> None:
    class Down(FakeScanCodeIO):
        def get_project(self, uuid: str) -> dict[str, Any]:
            raise ConnectionError("ScanCode.io is down")

    ledger = FakeLedger([entry("scancodeio", "k1", "run-ended"), entry("fossid", "k2", "run-ended")])
    fossid = FakeFossID(FossIDStatus.RUNNING)
    with pytest.raises(RuntimeError, match=r"could not stop 1 scan\(s\): scancodeio name-k1: ConnectionError"):
        sweep(ledger, run_state, {"scancodeio": Down, "fossid": lambda: fossid}, now=NOW)
    assert fossid.cancelled == ["name-k2"]
    assert list(ledger.failures) == [("fossid", "k2")]
