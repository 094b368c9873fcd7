"""sca_portfolio end to end on the local stack: two nights of a small real portfolio, then a night
with a broken item and a failing tool.

Night 1 scans four real packages (one by URL from the inputs server); night 2 changes one item's
input (new bytes, made for this session so no earlier session's ledger can hold them): only that
item may reach the services (counted through their APIs), the URL item is fetched conditionally
(304), the report's changes name the item, and the warehouse keeps both nights. The html report
is then opened in Debian's chromium with every network request refused.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tarfile
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import requests

from sca.fossid.client import FossIDClient
from sca.store import portfolio as ledger
from sca.store.db import connect
from sca.store.fetch_validators import url_key
from tests.browser import open_in_chromium
from tests.conftest import require_env, scio_settings

DAG_ID = "sca_portfolio"
ROOT = Path(__file__).resolve().parents[2]
SESSION = uuid.uuid4().hex[:8]
FOSSID_PROJECT = f"test-portfolio-{SESSION}"
STAGES = ("fetch", "scancodeio", "purldb", "fossid", "report")
LOT_SIZE = 2  # four items: two lots, so an item's view of its lot is tested beyond the first


def run_dir() -> Path:
    """The stack's run folder (stack/lib.sh: SCA_RUN_DIR, default .run)."""
    return Path(os.environ.get("SCA_RUN_DIR") or ROOT / ".run")


def inputs_dir() -> Path:
    return Path(require_env("SCA_INPUTS_DIR"))


def repacked(source: str, name: str, note: str) -> str:
    """A copy of a real npm tarball with one more file: new bytes, same package."""
    target = inputs_dir() / name
    with tarfile.open(inputs_dir() / source, "r:gz") as src, tarfile.open(target, "w:gz") as out:
        for member in src.getmembers():
            out.addfile(member, src.extractfile(member) if member.isfile() else None)
        data = note.encode()
        info = tarfile.TarInfo("package/NIGHTLY-NOTE.txt")
        info.size = len(data)
        out.addfile(info, io.BytesIO(data))
    return name


def write_portfolio(tmp: Path, name: str, items: list[dict[str, Any]]) -> str:
    path = tmp / f"{name}.json"
    path.write_text(json.dumps({"name": name, "defaults": {"tools": ["scancodeio", "purldb"]}, "items": items}))
    return str(path)


def scio_project_count() -> int:
    url, token = scio_settings()
    page = requests.get(
        f"{url}/api/projects/", params={"page_size": 1}, headers={"Authorization": f"Token {token}"}, timeout=30
    ).json()
    return int(page["count"])


def purldb_matchings() -> int:
    conn = json.loads(require_env("AIRFLOW_CONN_PURLDB_DEFAULT"))
    counts = requests.get(f"http://{conn['host']}:{conn['port']}/_sandbox/requests", timeout=30).json()
    return int(counts.get("POST /api/matching/", 0))


def scio_requests() -> dict[str, int]:
    """Every request ScanCode.io received through the stack's fault proxy, per ``METHOD path``."""
    conn = json.loads(require_env("AIRFLOW_CONN_SCANCODEIO_DEFAULT"))
    return dict(requests.get(f"http://{conn['host']}:{conn['port']}/_faultproxy/requests", timeout=30).json())


def purldb_requests() -> dict[str, int]:
    conn = json.loads(require_env("AIRFLOW_CONN_PURLDB_DEFAULT"))
    return dict(requests.get(f"http://{conn['host']}:{conn['port']}/_sandbox/requests", timeout=30).json())


def fossid_url() -> str:
    conn = json.loads(require_env("AIRFLOW_CONN_FOSSID_DEFAULT"))
    return f"http://{conn['host']}:{conn['port']}"


def fossid_scans() -> int:
    conn = json.loads(require_env("AIRFLOW_CONN_FOSSID_DEFAULT"))
    client = FossIDClient(fossid_url(), conn["login"], conn["password"])
    try:
        return len(client.get_all_scans(FOSSID_PROJECT))
    except Exception:  # noqa: BLE001 - the project does not exist before the first night
        return 0


def remote_counts() -> dict[str, int]:
    return {
        "scancodeio_projects": scio_project_count(),
        "purldb_matchings": purldb_matchings(),
        "fossid_scans": fossid_scans(),
    }


def run_night(airflow_api, portfolio: str, night: datetime) -> dict[str, Any]:
    airflow_api.wait_for_dag(DAG_ID)
    conf = {"portfolio": portfolio, "fossid_project": FOSSID_PROJECT, "lot_size": LOT_SIZE}
    run_id = airflow_api.trigger(DAG_ID, conf, logical_date=night.isoformat())["dag_run_id"]
    run = airflow_api.wait(DAG_ID, run_id, timeout=1500, interval=5)
    body = airflow_api.http.get_json(f"dags/{DAG_ID}/dagRuns/{run_id}/taskInstances", params={"limit": 500})
    states: dict[str, dict[int, str]] = {}
    shown: dict[str, dict[int, str | None]] = {}
    for ti in body["task_instances"]:
        states.setdefault(ti["task_id"], {})[ti["map_index"]] = ti["state"]
        shown.setdefault(ti["task_id"], {})[ti["map_index"]] = ti.get("rendered_map_index")
    summary = airflow_api.xcom(DAG_ID, run_id, "publish") if states.get("publish", {}).get(-1) == "success" else None
    # each item's outcome per stage (by its index in the portfolio), from its lot's return value
    items: dict[str, dict[int, str]] = {}
    for stage in STAGES:
        for map_index in sorted(states.get(f"lot.{stage}", {})):
            try:
                entries = airflow_api.xcom(DAG_ID, run_id, f"lot.{stage}", map_index=map_index)
            except Exception:  # noqa: BLE001 - a lot task that pushed nothing: its items show as absent
                continue
            for entry in entries:
                items.setdefault(stage, {})[entry["index"]] = entry["state"]
    conn = connect()
    try:
        sha = {row["item_id"]: row["input_sha256"] for row in ledger.item_rows(conn, DAG_ID, run_id)}
    finally:
        conn.close()
    return {
        "run_id": run_id,
        "state": run["state"],
        "tasks": states,
        "items": items,
        "shown": shown,
        "summary": summary,
        "input_sha256": sha,
    }


def next_night() -> datetime:
    """Now: the scheduler refuses a logical date in the future, and every night this stack saw
    before was triggered earlier, so the nights of this session come after all of them."""
    return datetime.now(UTC).replace(microsecond=0)


def report_folder(summary: dict[str, Any]) -> Path:
    return Path(urlparse(summary["report"]).path).parent


def read_csv(summary: dict[str, Any], name: str) -> list[dict[str, str]]:
    with open(report_folder(summary) / "csv" / name, newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def nights(airflow_api, inputs_base_url, tmp_path_factory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("portfolio")
    url_input = f"{inputs_base_url}/is-number-7.0.0.tgz"
    night_1_items = [
        {"id": "six", "input": "six-1.16.0-py2.py3-none-any.whl", "owner": "platform", "tags": ["pypi"]},
        {"id": "npm-lib", "input": "inherits-2.0.4.tgz", "tools": ["scancodeio", "purldb", "fossid"]},
        # a URL through an environment variable, expanded by the item's fetch
        {"id": "by-url", "input": "${SCA_INPUTS_BASE_URL}/is-number-7.0.0.tgz", "tags": ["npm"]},
        {"id": "colorama", "input": "colorama-0.4.6-py2.py3-none-any.whl"},
    ]
    changed = repacked("once-1.4.0.tgz", f"once-1.4.0-{SESSION}.tgz", f"session {SESSION}\n")
    night_2_items = [dict(item) for item in night_1_items]
    night_2_items[1]["input"] = changed
    first = next_night()
    result: dict[str, Any] = {"url_input": url_input}
    # both nights read the same portfolio file, edited in between (a night compares itself with
    # the previous night of the same portfolio)
    result["night_1"] = run_night(airflow_api, write_portfolio(tmp, "nightly", night_1_items), first)
    result["before_night_2"] = remote_counts()
    second = next_night()
    result["night_2"] = run_night(airflow_api, write_portfolio(tmp, "nightly", night_2_items), second)
    result["after_night_2"] = remote_counts()
    # night 3: nothing changed; count every request each service receives during it
    before = {"scancodeio": scio_requests(), "purldb": purldb_requests()}
    result["night_3"] = run_night(airflow_api, write_portfolio(tmp, "nightly", night_2_items), next_night())
    after = {"scancodeio": scio_requests(), "purldb": purldb_requests()}
    result["night_3_requests"] = {
        service: {k: n - before[service].get(k, 0) for k, n in counts.items() if n != before[service].get(k, 0)}
        for service, counts in after.items()
    }
    return result


def test_both_nights_succeed_with_every_item_done_in_two_lots(nights) -> None:
    for night in ("night_1", "night_2"):
        result = nights[night]
        assert result["state"] == "success", result["tasks"]
        for stage in STAGES:
            assert result["tasks"][f"lot.{stage}"] == {0: "success", 1: "success"}, (night, stage)
        for stage in ("fetch", "scancodeio", "purldb", "report"):
            assert result["items"][stage] == dict.fromkeys(range(4), "success"), (night, stage)
        assert result["items"]["fossid"] == {0: "skipped", 1: "success", 2: "skipped", 3: "skipped"}
        assert result["tasks"]["fossid_project_report"] == {-1: "success"}
        assert result["summary"]["items"] == 4 and result["summary"]["failed"] == 0


def test_each_lot_is_shown_by_its_first_item_and_how_many_follow(nights) -> None:
    for stage in STAGES:
        assert nights["night_2"]["shown"][f"lot.{stage}"] == {0: "six +1", 1: "by-url +1"}, stage


def test_the_second_night_rescans_only_the_changed_item(nights) -> None:
    before, after = nights["before_night_2"], nights["after_night_2"]
    assert {name: after[name] - before[name] for name in before} == {
        "scancodeio_projects": 1,
        "purldb_matchings": 1,
        "fossid_scans": 1,
    }
    conn = connect()
    try:
        items = {row["item_id"]: row for row in ledger.item_rows(conn, DAG_ID, nights["night_2"]["run_id"])}
    finally:
        conn.close()
    assert {item_id: row["reused"] for item_id, row in items.items()} == {
        "six": "purldb,scancodeio",
        "npm-lib": None,
        "by-url": "purldb,scancodeio",
        "colorama": "purldb,scancodeio",
    }


def test_a_night_where_nothing_changed_makes_no_remote_call_per_item(nights) -> None:
    """Only plan's two reads reach ScanCode.io (the pipelines list, the server version), once
    for the night; PurlDB gets nothing; every item reuses every tool."""
    assert nights["night_3"]["state"] == "success"
    assert nights["night_3_requests"] == {
        "scancodeio": {"GET /api/projects/pipelines/": 1, "GET /api/projects/": 1},
        "purldb": {},
    }
    assert nights["night_3"]["summary"]["changes"] == dict.fromkeys(nights["night_3"]["summary"]["changes"], 0)


def test_the_report_says_what_changed_since_last_night(nights) -> None:
    summary = nights["night_2"]["summary"]
    assert summary["previous_run_id"] == nights["night_1"]["run_id"]
    assert summary["first_night"] is False
    changes = [
        (row["change"], row["item_id"], row["subject"], row["detail"]) for row in read_csv(summary, "changes.csv")
    ]
    old_sha, new_sha = (nights[night]["input_sha256"]["npm-lib"][:12] for night in ("night_1", "night_2"))
    # the one item whose input changed, and what changed with it: its package, and the license
    # policy finding on it (ScanCode.io's policies have no entry for isc: "missing")
    assert changes == [
        ("changed_input", "npm-lib", f"once-1.4.0-{SESSION}.tgz", f"sha256 {old_sha} → {new_sha}"),
        ("new_package", "npm-lib", "pkg:npm/once@1.4.0", "once 1.4.0 (isc)"),
        ("removed_package", "npm-lib", "pkg:npm/inherits@2.0.4", "inherits 2.0.4 (isc)"),
        ("new_finding", "npm-lib", "pkg:npm/once@1.4.0", "missing from scancodeio: package license policy: missing"),
        (
            "resolved_finding",
            "npm-lib",
            "pkg:npm/inherits@2.0.4",
            "missing from scancodeio: package license policy: missing",
        ),
    ]
    assert summary["changes"]["changed_input"] == 1
    page = (report_folder(summary) / "portfolio.html").read_text()
    section = page[page.index('id="changes"') : page.index('id="items"')]
    assert "npm-lib" in section and "pkg:npm/once@1.4.0" in section


def test_the_warehouse_keeps_both_nights(nights) -> None:
    conn = connect()
    try:
        with conn.cursor() as cur:
            for night in ("night_1", "night_2"):
                run_id = nights[night]["run_id"]
                cur.execute(
                    "SELECT count(*), count(s.verdict) FROM portfolio_items i JOIN scans s ON s.dag_id = i.dag_id "
                    "AND s.run_id = i.run_id AND s.map_index = i.map_index AND s.unit_id = 'item' "
                    "WHERE i.dag_id = %s AND i.run_id = %s",
                    (DAG_ID, run_id),
                )
                assert cur.fetchone() == (4, 4), night
                cur.execute(
                    "SELECT p.purl FROM packages p JOIN scans s ON s.scan_id = p.scan_id "
                    "WHERE s.dag_id = %s AND s.run_id = %s AND p.tool = 'scancodeio' ORDER BY p.purl",
                    (DAG_ID, run_id),
                )
                purls = [row[0] for row in cur.fetchall()]
                npm = "pkg:npm/inherits@2.0.4" if night == "night_1" else "pkg:npm/once@1.4.0"
                assert purls == sorted(
                    ["pkg:pypi/six@1.16.0", npm, "pkg:npm/is-number@7.0.0", "pkg:pypi/colorama@0.4.6"]
                )
            trend = ledger.trend_rows(conn, DAG_ID, nights["night_2"]["run_id"])
        conn.commit()
    finally:
        conn.close()
    assert [row["run_id"] for row in trend][-2:] == [nights["night_1"]["run_id"], nights["night_2"]["run_id"]]


def test_the_url_item_is_fetched_conditionally_the_second_night(nights) -> None:
    conn = connect()
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT last_modified, filename FROM fetch_validators WHERE url_sha256 = %s",
                (url_key(nights["url_input"]),),
            )
            row = cur.fetchone()
        conn.commit()
    finally:
        conn.close()
    assert row is not None and row[1] == "is-number-7.0.0.tgz" and row[0]
    # the plan and the scan keep the input as written: the variable, not what it stands for
    conn = connect()
    try:
        item = next(r for r in ledger.item_rows(conn, DAG_ID, nights["night_2"]["run_id"]) if r["item_id"] == "by-url")
        with conn.cursor() as cur:
            cur.execute("SELECT input_source FROM scans WHERE scan_id = %s", (item["scan_id"],))
            source = cur.fetchone()[0]
        conn.commit()
    finally:
        conn.close()
    assert item["input"] == source == "${SCA_INPUTS_BASE_URL}/is-number-7.0.0.tgz"
    log = (run_dir() / "logs" / "inputs.log").read_text()
    assert '"GET /is-number-7.0.0.tgz HTTP/1.1" 304' in log


def test_sca_scan_reusing_an_item_scan_gets_the_outputs_the_portfolio_did_not_keep(airflow_api, nights) -> None:
    """The portfolio keeps json and cyclonedx from ScanCode.io and no FossID scan report; an
    sca_scan of the same bytes reuses both scans and still gets every output it asks for, made
    from the existing project and scan (no new remote scan)."""
    before = remote_counts()
    run_id = airflow_api.trigger(
        "sca_scan",
        {
            "input": f"once-1.4.0-{SESSION}.tgz",
            "fossid_project": FOSSID_PROJECT,
            "fossid_reports": ["xlsx", "cyclone_dx"],
            "gate_action": "warn",
        },
    )["dag_run_id"]
    assert airflow_api.wait("sca_scan", run_id, timeout=900)["state"] == "success"
    report = airflow_api.xcom("sca_scan", run_id, "scan.report")
    assert sorted(report["reused"]) == ["purldb", "scancodeio"]  # FossID made reports: not "reused"
    summary = json.loads(Path(urlparse(report["reports"]["summary.json"]).path).read_text())
    labels = sorted(a["label"] for a in summary["artefacts"] if not a["label"].startswith(("input", "purldb")))
    assert labels == [
        "fossid cyclone_dx",
        "fossid xlsx",
        "scancodeio attribution",
        "scancodeio cyclonedx",
        "scancodeio json",
        "scancodeio spdx",
        "scancodeio xlsx",
    ]
    assert remote_counts() == before, "nothing new was scanned"


def test_the_merged_sbom_and_the_fossid_project_reports_are_stored(nights) -> None:
    summary = nights["night_2"]["summary"]
    from sca.reports.sbom import validate_sbom

    sbom_text = Path(urlparse(summary["sbom"]).path).read_text()
    validate_sbom(sbom_text)
    sbom = json.loads(sbom_text)
    assert sorted(c["name"] for c in sbom["components"]) == ["by-url", "colorama", "npm-lib", "six"]
    assert sorted(summary["fossid_project_reports"]) == ["spdx", "xlsx"]
    for uri in summary["fossid_project_reports"].values():
        path = Path(urlparse(uri).path)
        assert path.parent == report_folder(summary) and path.stat().st_size > 0


def test_the_report_is_an_asset_event_with_the_verdict_counts(airflow_api, nights) -> None:
    night = nights["night_2"]
    body = airflow_api.http.get_json(
        "assets/events", params={"source_dag_id": DAG_ID, "source_run_id": night["run_id"], "limit": 10}
    )
    events = body["asset_events"]
    assert [event["uri"] for event in events] == ["sca://sca_portfolio/report"]
    extra = events[0]["extra"]
    assert extra["verdicts"] == night["summary"]["verdicts"]
    assert sum(extra["verdicts"].values()) == 4 and extra["items"] == 4 and extra["failed"] == 0
    assert extra["report"] == night["summary"]["report"]


def test_the_html_report_renders_every_chart_offline(nights) -> None:
    summary = nights["night_2"]["summary"]
    shots = run_dir() / "test-screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    screenshot = shots / f"portfolio-{SESSION}.png"
    seen = open_in_chromium(report_folder(summary) / "portfolio.html", screenshot)
    charts = {chart["id"]: chart for chart in seen["charts"]}
    assert sorted(charts) == ["chart-changes", "chart-licenses", "chart-severity", "chart-trend"]
    for chart in charts.values():
        assert chart["width"] > 0 and chart["height"] > 0 and chart["marks"] > 0, chart
    assert seen["non_file_requests"] == []
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and screenshot.stat().st_size > 20_000


def test_a_broken_item_and_a_failing_tool_leave_the_others_complete(airflow_api, inputs_base_url, tmp_path) -> None:
    fails = repacked("ms-2.1.3.tgz", f"ms-2.1.3-{SESSION}.tgz", f"fossid fails {SESSION}\n")
    items = [
        {"id": "six", "input": "six-1.16.0-py2.py3-none-any.whl"},
        {"id": "missing", "input": f"{inputs_base_url}/no-such-package-{SESSION}.tgz"},
        {"id": "fossid-fails", "input": fails, "tools": ["scancodeio", "purldb", "fossid"]},
    ]
    portfolio = write_portfolio(tmp_path, "failures", items)
    comment = f"Scan failed: scanner process exited with code 137 ({SESSION})"
    requests.post(f"{fossid_url()}/_sandbox/config", json={"fail_scans": True, "fail_comment": comment}, timeout=10)
    try:
        result = run_night(airflow_api, portfolio, next_night())
    finally:
        requests.post(f"{fossid_url()}/_sandbox/config", json={"fail_scans": False}, timeout=10)
    assert result["state"] == "success", "an item's failure must not fail the night"
    # lots of two: ("six", "missing") and ("fossid-fails",); a lot with a failed item shows failed
    tasks, items = result["tasks"], result["items"]
    assert tasks["lot.fetch"] == {0: "failed", 1: "success"}
    assert tasks["lot.fossid"] == {0: "success", 1: "failed"}
    assert tasks["lot.scancodeio"] == tasks["lot.purldb"] == tasks["lot.report"] == {0: "success", 1: "success"}
    assert items["fetch"] == {0: "success", 1: "failed", 2: "success"}
    assert items["fossid"] == {0: "skipped", 1: "upstream_failed", 2: "failed"}
    assert items["scancodeio"] == {0: "success", 1: "upstream_failed", 2: "success"}
    assert items["report"] == dict.fromkeys(range(3), "success")
    assert items["purldb"][2] == "success"
    summary = result["summary"]
    assert (summary["items"], summary["done"], summary["failed"]) == (3, 1, 2)
    failed = {(row["item_id"], row["stage"]): row["reason"] for row in read_csv(summary, "failed_items.csv")}
    assert sorted(failed) == [("fossid-fails", "fossid"), ("missing", "fetch")]
    assert (
        "HTTP 404" in failed[("missing", "fetch")] and f"no-such-package-{SESSION}.tgz" in failed[("missing", "fetch")]
    )
    assert comment in failed[("fossid-fails", "fossid")]
    page = (report_folder(summary) / "portfolio.html").read_text()
    section = page[page.index('id="failed"') : page.index('id="licenses"')]
    assert "missing" in section and "fossid-fails" in section and "HTTP 404" in section
    os.remove(inputs_dir() / fails)
