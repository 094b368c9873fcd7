"""R1, the fault drill on the local stack: ten real packages scanned while 10 % of the requests to
ScanCode.io (through the fault proxy), FossID and PurlDB fail in every mode, before and after the
server acted. Everything completes; nothing is duplicated; FossID holds the exact bytes; the
warehouse has every scan. The figures are printed (and written by ``python -m bench.fault_drill``)."""

from __future__ import annotations

import pytest

from bench.fault_drill import MODES, print_table, run_drill

pytestmark = pytest.mark.disruptive  # switches faults on for the whole stack while it runs


@pytest.fixture(scope="module")
def drill() -> dict:
    result = run_drill(scans=10, rate=0.1, seed=11, stall_seconds=25.0)
    print_table(result)
    return result


def test_every_scan_completes_with_nothing_duplicated(drill: dict) -> None:
    summary = drill["summary"]
    assert {
        key: summary[key]
        for key in (
            "scans",
            "completed",
            "duplicate_scancodeio_projects",
            "duplicate_fossid_scans",
            "duplicate_purldb_matchings",
            "duplicate_fossid_report_processes",
            "fossid_uploads_identical",
            "complete_in_warehouse",
            "purldb_matchings",
        )
    } == {
        "scans": 10,
        "completed": 10,
        "duplicate_scancodeio_projects": 0,
        "duplicate_fossid_scans": 0,
        "duplicate_purldb_matchings": 0,
        "duplicate_fossid_report_processes": 0,
        "fossid_uploads_identical": 10,
        "complete_in_warehouse": 10,
        "purldb_matchings": 10,
    }
    assert [(r["package"], r["scancodeio_projects"], r["fossid_scans"]) for r in drill["packages"]] == [
        (r["package"], 1, 1) for r in drill["packages"]
    ]


def test_every_fault_mode_fired_on_the_busy_services(drill: dict) -> None:
    injected = drill["summary"]["injected"]
    for service in ("scancodeio", "fossid"):
        fired = {mode for mode, count in injected[service].items() if count > 0}
        assert fired == set(MODES), f"{service}: {injected[service]}"
    assert sum(injected["purldb"].values()) > 0
