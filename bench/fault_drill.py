"""The fault drill: scan N real packages through ``sca_scan`` while every service misbehaves, and
count what matters.

Faults (seeded) hit a share of the requests to the FossID and PurlDB sandboxes and, through our
fault proxy, to the real ScanCode.io, in every mode: answered 503 before acting, 503 after acting,
a connection dropped after acting, a reset in the middle of the answer, and a stall past the
client's timeout. Every scan is forced to run afresh (reuse windows 0). Afterwards the faults are
switched off and the drill counts, through the services' APIs:

- runs that completed, and how each tool ended;
- remote objects per package: ScanCode.io projects, FossID scans, PurlDB matchings, FossID
  report processes (a duplicate is any package with more than one, or more report processes than
  report types);
- the bytes FossID stored for each upload against the input's sha256;
- the warehouse: a scan row, three successful tool runs and loaded rows per package;
- the faults injected, per service and mode.

``python -m bench.fault_drill --scans 10 --rate 0.1`` prints a table and writes JSON (default
``bench/results/fault-drill.json``). Needs the local stack (``make up``).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
MODES = ["before", "after", "drop_after", "reset_mid", "stall"]
DAG_ID = "sca_scan"
FOSSID_PROJECT = "sca-fault-drill"
FOSSID_REPORTS = ["xlsx", "spdx", "cyclone_dx", "html"]
ASYNC_REPORTS = 3  # xlsx, spdx, cyclone_dx are generated as processes; html is synchronous


def _conn(name: str) -> dict[str, Any]:
    return json.loads(os.environ[f"AIRFLOW_CONN_{name.upper()}"])


def _url(name: str) -> str:
    conn = _conn(name)
    return f"http://{conn['host']}:{conn['port']}"


def fault_endpoints() -> dict[str, str]:
    return {
        "scancodeio": _url("scancodeio_default") + "/_faultproxy/faults",
        "fossid": _url("fossid_default") + "/_sandbox/faults",
        "purldb": _url("purldb_default") + "/_sandbox/faults",
    }


@contextmanager
def faults(rate: float, seed: int, stall_seconds: float) -> Iterator[dict[str, dict[str, Any]]]:
    """Faults on for the body of the ``with``; yields a dict filled with the injected counts."""
    injected: dict[str, dict[str, Any]] = {}
    endpoints = fault_endpoints()
    for offset, url in enumerate(endpoints.values()):
        body = {
            "error_rate": rate,
            "modes": MODES,
            "seed": seed + offset,
            "stall_seconds": stall_seconds,
            "reset_counters": True,
        }
        requests.post(url, json=body, timeout=30).raise_for_status()
    try:
        yield injected
    finally:
        for service, url in endpoints.items():
            view = requests.post(url, json={"error_rate": 0}, timeout=30).json()
            injected[service] = view.get("injected", {})


def demo_packages(count: int) -> list[dict[str, str]]:
    rows = []
    for line in (ROOT / "include" / "demo-packages.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            registry, spec, filename, sha256 = line.split()
            rows.append({"registry": registry, "spec": spec, "filename": filename, "sha256": sha256})
    return rows[:count]


def scio_projects(stem: str) -> list[str]:
    token = _conn("scancodeio_default")["password"]
    page = requests.get(
        os.environ.get("SCA_SCIO_DIRECT_URL", _url("scancodeio_default")) + "/api/projects/",
        params={"name__contains": stem},
        headers={"Authorization": f"Token {token}"},
        timeout=30,
    ).json()
    return sorted(p["name"] for p in page["results"])


def fossid_view() -> dict[str, Any]:
    return dict(requests.get(_url("fossid_default") + "/_sandbox/config", timeout=60).json())


def purldb_matching_uploads() -> list[str]:
    """The uploaded file name of every matching project PurlDB holds (one page per 100)."""
    token = _conn("purldb_default")["password"]
    names: list[str] = []
    url: str | None = _url("purldb_default") + "/api/matching/"
    while url:
        page = requests.get(url, headers={"Authorization": f"Token {token}"}, timeout=30).json()
        for project in page.get("results", []):
            names += [s.get("filename") for s in project.get("input_sources") or []]
        url = page.get("next")
    return names


def run_drill(scans: int = 10, rate: float = 0.1, seed: int = 11, stall_seconds: float = 25.0) -> dict[str, Any]:
    from sca.cli.airflow_api import AirflowAPI
    from sca.core.keys import readable_stem
    from sca.store import warehouse
    from sca.store.db import connect
    from sca.tasks.unit_base import scan_id_for

    api = AirflowAPI(os.environ["AIRFLOW__API__BASE_URL"], "admin", os.environ["SCA_AIRFLOW_PASSWORD"])
    api.wait_for_dag(DAG_ID)
    packages = demo_packages(scans)
    matchings_before = purldb_matching_uploads()
    reports_before = fossid_view()["processes"].get("REPORT_GENERATION", 0)
    started = time.monotonic()
    runs: dict[str, str] = {}
    with faults(rate, seed, stall_seconds) as injected:
        for package in packages:
            conf = {
                "input": package["filename"],
                "scancodeio_max_age_days": 0,
                "fossid_max_age_days": 0,
                "fossid_project": FOSSID_PROJECT,
                "fossid_reports": FOSSID_REPORTS,
                "gate_action": "warn",
            }
            runs[package["filename"]] = str(api.trigger(DAG_ID, conf)["dag_run_id"])
        finished = {name: api.wait(DAG_ID, run_id, timeout=3600, interval=5)["state"] for name, run_id in runs.items()}
    elapsed = time.monotonic() - started

    fossid = fossid_view()
    matchings_after = purldb_matching_uploads()  # newest first
    new_matchings = matchings_after[: max(0, len(matchings_after) - len(matchings_before))]
    conn = connect()
    rows: list[dict[str, Any]] = []
    try:
        for package in packages:
            name, stem = package["filename"], readable_stem(package["filename"], 80)
            run_id = runs[name]
            tasks = {t["task_id"]: t for t in api.task_instances(DAG_ID, run_id)}
            scan_id = scan_id_for(DAG_ID, run_id, "scan", -1)
            recorded = warehouse.tool_runs(conn, scan_id)
            fossid_scans = sorted(
                code
                for code, scan in fossid["uploads"].items()
                if code.startswith(stem + "-") and scan["project"] == FOSSID_PROJECT
            )
            stored = [sha for code in fossid_scans for sha in fossid["uploads"][code]["files"].values()]
            scio_key = recorded["scancodeio"].scan_key if "scancodeio" in recorded else None
            rows.append(
                {
                    "package": name,
                    "run": finished[name],
                    "tries": {t.split(".")[-1]: tasks[t]["try_number"] for t in tasks if t.startswith("scan.")},
                    "all_tasks_succeeded": all(t["state"] == "success" for t in tasks.values()),
                    "scancodeio_projects": len(scio_projects(stem)),
                    "fossid_scans": len(fossid_scans),
                    "fossid_upload_identical": bool(stored) and all(sha == package["sha256"] for sha in stored),
                    "tools_in_warehouse": sorted(t for t, r in recorded.items() if r.status.value == "success"),
                    "warehouse_rows": warehouse.row_counts(conn, scan_id),
                    "scancodeio_key": scio_key,
                }
            )
    finally:
        conn.close()
    reports_after = fossid["processes"].get("REPORT_GENERATION", 0)
    matched_uploads = [n for n in new_matchings if n]
    summary = {
        "scans": len(packages),
        # complete: every task of the unit succeeded (the run itself succeeds even with a tool
        # missing, since the drill's gate only warns)
        "completed": sum(1 for r in rows if r["run"] == "success" and r["all_tasks_succeeded"]),
        "duplicate_scancodeio_projects": sum(max(0, r["scancodeio_projects"] - 1) for r in rows),
        "duplicate_fossid_scans": sum(max(0, r["fossid_scans"] - 1) for r in rows),
        "duplicate_purldb_matchings": len(matched_uploads) - len(set(matched_uploads)),
        "purldb_matchings": len(matched_uploads),
        "fossid_report_processes": reports_after - reports_before,
        "duplicate_fossid_report_processes": max(0, reports_after - reports_before - ASYNC_REPORTS * len(packages)),
        "fossid_uploads_identical": sum(1 for r in rows if r["fossid_upload_identical"]),
        "complete_in_warehouse": sum(
            1
            for r in rows
            if r["tools_in_warehouse"] == ["fetch", "fossid", "purldb", "scancodeio"]
            and r["warehouse_rows"].get("resources", 0) > 0
        ),
        "retried_tasks": sum(1 for r in rows for tries in r["tries"].values() if tries > 1),
        "injected": injected,
        "injected_total": sum(sum(v.values()) for v in injected.values()),
        "seconds": round(elapsed, 1),
    }
    settings = {"scans": scans, "rate": rate, "seed": seed, "stall_seconds": stall_seconds}
    return {"settings": settings, "summary": summary, "packages": rows}


def print_table(result: dict[str, Any]) -> None:
    print(f"{'package':<52} {'tasks':<8} {'tries':<34} {'SCIO':>4} {'FossID':>6} {'bytes':>5}")
    for r in result["packages"]:
        state = "all ok" if r["all_tasks_succeeded"] else "FAILED"
        tries = ",".join(f"{k}={v}" for k, v in sorted(r["tries"].items()))
        same = "same" if r["fossid_upload_identical"] else "DIFF"
        counts = f"{r['scancodeio_projects']:>4} {r['fossid_scans']:>6}"
        print(f"{r['package']:<52} {state:<8} {tries:<34} {counts} {same:>5}")
    print()
    for key, value in result["summary"].items():
        if key != "injected":
            print(f"{key:<36} {value}")
    for service, counts in result["summary"]["injected"].items():
        print(f"injected on {service:<24} {json.dumps(counts, sort_keys=True)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scans", type=int, default=10)
    parser.add_argument("--rate", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--stall-seconds", type=float, default=25.0, help="past the local stack's 20 s timeout")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "fault-drill.json")
    args = parser.parse_args(argv)
    result = run_drill(args.scans, args.rate, args.seed, args.stall_seconds)
    print_table(result)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, default=str))
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
