"""sca_scan end to end on the local stack: REST triggers, real Airflow components, real
ScanCode.io, the FossID and PurlDB sandboxes, the ledger and warehouse in PostgreSQL.

Phase 1 runs four inputs together; phase 2 then scans the phase-1 wheel again, given as a purl
and as an inputs-folder file: the same bytes must reach the same remote objects and be reused.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from sca.common.errors import PermanentServiceError
from sca.core.results import InputRef, ToolRun
from sca.fossid.client import FossIDClient
from sca.store import warehouse
from sca.store.artefacts import ArtefactStore
from sca.store.db import connect
from tests.conftest import require_env, scio_settings

DAG_ID = "sca_scan"
WHEEL = "six-1.16.0-py2.py3-none-any.whl"
UNIT_TASKS = ("scan.fetch", "scan.scancodeio", "scan.purldb", "scan.fossid", "scan.report")
PHASE_1 = {
    # a fresh FossID scan every session, so the count of scans with its code is 1 even on a stack
    # whose sandbox state was reset (the ledger would otherwise reuse stored results)
    "url": {"input": "{inputs}/" + WHEEL, "fossid_max_age_days": 0},
    "scancodeio_only": {"input": "six-1.16.0.tar.gz", "run_fossid": False, "run_purldb": False},
    "gate_failure": {"input": "acme-widget-1.0.tar.gz"},
    "other_pipeline": {
        "input": WHEEL,
        "scancodeio_pipelines": ["scan_codebase"],
        "run_fossid": False,
        "run_purldb": False,
    },
    "bad_input": {"input": "../../etc/passwd", "run_fossid": False, "run_purldb": False},
    # a ≈ 40 s scan (past the 10 s in-worker grace: the wait defers), always scanned afresh
    "webhook": {
        "input": "requests-2.32.3.tar.gz",
        "scancodeio_max_age_days": 0,
        "run_fossid": False,
        "run_purldb": False,
    },
}
PHASE_2 = {"purl": {"input": "pkg:pypi/six@1.16.0"}, "path": {"input": WHEEL}}


def trigger_all(airflow_api, confs: dict[str, dict[str, Any]], inputs_base_url: str) -> dict[str, dict[str, Any]]:
    started = {}
    for name, conf in confs.items():
        conf = {k: (v.format(inputs=inputs_base_url) if isinstance(v, str) else v) for k, v in conf.items()}
        started[name] = airflow_api.trigger(DAG_ID, conf)["dag_run_id"]
    finished = {}
    for name, run_id in started.items():
        run = airflow_api.wait(DAG_ID, run_id, timeout=900)
        tis = {ti["task_id"]: ti for ti in airflow_api.task_instances(DAG_ID, run_id)}
        finished[name] = {"run": run, "run_id": run_id, "tis": tis}
    return finished


def scio_client():
    from sca.scancodeio.client import ScanCodeIOClient

    return ScanCodeIOClient(*scio_settings())


def fossid_client() -> FossIDClient:
    conn = json.loads(require_env("AIRFLOW_CONN_FOSSID_DEFAULT"))
    return FossIDClient(f"http://{conn['host']}:{conn['port']}", conn["login"], conn["password"])


def project_runs(name: str) -> int:
    project = scio_client().find_project(name)
    assert project is not None, f"no ScanCode.io project named {name}"
    return len(project["runs"])


@pytest.fixture(scope="module")
def runs(airflow_api, inputs_base_url) -> dict[str, dict[str, Any]]:
    airflow_api.wait_for_dag(DAG_ID)
    finished = trigger_all(airflow_api, PHASE_1, inputs_base_url)
    url_tool = airflow_api.xcom(DAG_ID, finished["url"]["run_id"], "scan.scancodeio")
    finished["runs_before_phase_2"] = {"count": project_runs(url_tool["remote_name"])}
    finished.update(trigger_all(airflow_api, PHASE_2, inputs_base_url))
    return finished


def states(result: dict[str, Any]) -> dict[str, str]:
    return {task_id: ti["state"] for task_id, ti in result["tis"].items()}


def tool(airflow_api, result: dict[str, Any], name: str) -> ToolRun:
    return ToolRun.from_dict(airflow_api.xcom(DAG_ID, result["run_id"], f"scan.{name}"))


def test_url_purl_and_file_of_the_same_bytes_share_one_project_and_one_fossid_scan(airflow_api, runs) -> None:
    for name in ("url", "purl", "path"):
        assert runs[name]["run"]["state"] == "success", (name, states(runs[name]))
    kinds = {InputRef.from_dict(airflow_api.xcom(DAG_ID, runs[n]["run_id"], "scan.fetch")).kind for n in PHASE_2}
    assert kinds == {"purl", "path"}
    scio_names = {tool(airflow_api, runs[n], "scancodeio").remote_name for n in ("url", "purl", "path")}
    fossid_codes = {tool(airflow_api, runs[n], "fossid").remote_name for n in ("url", "purl", "path")}
    assert len(scio_names) == 1 and len(fossid_codes) == 1
    (scio_name,), (fossid_code,) = scio_names, fossid_codes
    assert scio_name.startswith("six-1.16.0-py2.py3-none-any-") and fossid_code.startswith(
        "six-1.16.0-py2.py3-none-any-"
    )
    projects = [p for p in scio_client().list_projects(name=scio_name) if p["name"] == scio_name]
    assert len(projects) == 1
    scans = [s for s in fossid_client().get_all_scans("sca-scans") if s.get("code") == fossid_code]
    assert len(scans) == 1


def test_a_second_scan_of_unchanged_bytes_submits_nothing_and_says_what_it_reused(airflow_api, runs) -> None:
    for name in PHASE_2:
        for tool_name in ("scancodeio", "purldb", "fossid"):
            run = tool(airflow_api, runs[name], tool_name)
            assert run.reused and run.reused_from, (name, tool_name, run)
        log = airflow_api.task_log(DAG_ID, runs[name]["run_id"], "scan.scancodeio")
        assert "Reusing scancodeio scan six-1.16.0-py2.py3-none-any-" in log and "nothing submitted" in log
        report = airflow_api.xcom(DAG_ID, runs[name]["run_id"], "scan.report")
        assert report["reused"] == ["fossid", "purldb", "scancodeio"]
        markdown = b"".join(ArtefactStore().chunks(report["reports"]["summary.md"])).decode()
        assert "- ScanCode.io: reused scan `six-1.16.0-py2.py3-none-any-" in markdown
        assert "(same bytes and settings)" in markdown
    name = tool(airflow_api, runs["path"], "scancodeio").remote_name
    assert project_runs(name) == runs["runs_before_phase_2"]["count"], "a reused scan started a pipeline"


def test_another_pipeline_is_another_scan(airflow_api, runs) -> None:
    assert runs["other_pipeline"]["run"]["state"] == "success", states(runs["other_pipeline"])
    other = tool(airflow_api, runs["other_pipeline"], "scancodeio")
    wheel = tool(airflow_api, runs["path"], "scancodeio")
    assert other.remote_name != wheel.remote_name and other.scan_key != wheel.scan_key
    project = scio_client().find_project(str(other.remote_name))
    assert [r["pipeline_name"] for r in project["runs"]] == ["scan_codebase"]


def test_the_url_scan_has_every_output_in_the_store_and_no_secret_anywhere(airflow_api, runs) -> None:
    result = runs["url"]
    report = airflow_api.xcom(DAG_ID, result["run_id"], "scan.report")
    store = ArtefactStore()
    summary = store.read_json(report["reports"]["summary.json"])
    assert summary["input"]["kind"] == "url" and summary["verdict"]["status"] == "warn"
    labels = {a["label"] for a in summary["artefacts"]}
    assert labels == {
        f"input {WHEEL}",
        *(f"scancodeio {fmt}" for fmt in ("json", "spdx", "cyclonedx", "xlsx", "attribution")),
        "purldb matches",
        *(f"fossid {kind}" for kind in ("xlsx", "spdx", "cyclone_dx", "html")),
    }
    for artefact in summary["artefacts"]:
        assert store.exists(artefact["uri"]) and artefact["size"] > 0, artefact
    assert summary["tools"]["purldb"]["coverage"] == 1.0, "the wheel's files all come from six"
    assert "pkg:pypi/six@1.16.0" in summary["tools"]["scancodeio"]["declared_purls"]
    secrets = [
        scio_settings()[1],
        *(json.loads(os.environ[f"AIRFLOW_CONN_{name}_DEFAULT"])["password"] for name in ("FOSSID", "PURLDB")),
    ]
    for task_id in result["tis"]:
        log = airflow_api.task_log(DAG_ID, result["run_id"], task_id)
        assert not [s for s in secrets if s in log], f"a secret is in the log of {task_id}"
    texts = "".join(b"".join(store.chunks(uri)).decode() for uri in report["reports"].values())
    assert not [s for s in secrets if s in texts]
    events = airflow_api.http.get_json(
        "assets/events", params={"source_dag_id": DAG_ID, "source_run_id": result["run_id"], "limit": 20}
    )["asset_events"]
    assert [(e["uri"], e["extra"]["report"]) for e in events] == [
        (f"sca://{DAG_ID}/summary", report["reports"]["summary.json"])
    ]


def local_paths(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [p for v in value.values() for p in local_paths(v)]
    if isinstance(value, list):
        return [p for v in value for p in local_paths(v)]
    return [value] if isinstance(value, str) and value.startswith("/") else []


def test_no_local_path_and_nothing_big_crosses_a_task_boundary(airflow_api, runs) -> None:
    for name in ("url", "purl", "path", "gate_failure"):
        for task_id in UNIT_TASKS:
            value = airflow_api.xcom(DAG_ID, runs[name]["run_id"], task_id)
            assert value, (name, task_id)
            assert local_paths(value) == [], (name, task_id)
            assert len(json.dumps(value).encode()) < 64 * 1024, (name, task_id)


def test_switched_off_tools_are_skipped_not_failed(airflow_api, runs) -> None:
    result = runs["scancodeio_only"]
    assert result["run"]["state"] == "success", states(result)
    assert {t for t, s in states(result).items() if s == "skipped"} == {"scan.fossid", "scan.purldb"}
    report = airflow_api.xcom(DAG_ID, result["run_id"], "scan.report")
    summary = ArtefactStore().read_json(report["reports"]["summary.json"])
    assert summary["skipped"] == ["fossid", "purldb"]
    assert summary["tools"]["scancodeio"]["declared_license_expression"] == "mit"


def test_scancodeio_posts_the_end_of_the_run_and_the_deferred_wait_wakes_on_it(airflow_api, runs) -> None:
    """The project was subscribed to the stack's receiver (sca_webhooks); ScanCode.io's worker
    posted the run's end; the trigger was woken by it, not by a safety poll a minute later."""
    result = runs["webhook"]
    assert result["run"]["state"] == "success", states(result)
    scanned = tool(airflow_api, result, "scancodeio")
    assert (scanned.status, scanned.reused) == ("success", False)
    project = scio_client().find_project(str(scanned.remote_name))
    assert project is not None
    run_uuid = project["runs"][0]["uuid"]
    with connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT service, project, status, deliveries FROM run_end_hints WHERE run_uuid = %s", (run_uuid,))
        assert cur.fetchall() == [("scancodeio", scanned.remote_name, "success", 1)]
    log = airflow_api.task_log(DAG_ID, result["run_id"], "scan.scancodeio")
    assert f"ScanCode.io reported the end of run {run_uuid}: polling now" in log
    assert "with no webhook seen" not in log


def test_a_gate_failure_fails_the_run_naming_package_and_policy(airflow_api, runs) -> None:
    result = runs["gate_failure"]
    assert result["run"]["state"] == "failed"
    assert states(result)["scan.report"] == "success", "the report must be published even when the gate fails"
    assert states(result)["enforce_gate"] == "failed"
    log = airflow_api.task_log(DAG_ID, result["run_id"], "enforce_gate")
    assert "Gate FAIL for acme-widget-1.0.tar.gz" in log
    assert "license policy: gpl-2.0 is error" in log
    assert "GPL-2.0-only is not allowed" in log
    report = airflow_api.xcom(DAG_ID, result["run_id"], "scan.report")
    summary = ArtefactStore().read_json(report["reports"]["summary.json"])
    assert any(f["source"] == "PurlDB" and "pkg:pypi/six@1.16.0" in f["policy"] for f in summary["verdict"]["findings"])


def test_the_warehouse_holds_every_scan_and_answers_the_readme_query(airflow_api, runs) -> None:
    conn = connect(require_env("AIRFLOW_CONN_SCA_RESULTS_DB"))
    try:
        verdicts = {}
        for name in ("url", "purl", "path", "gate_failure", "scancodeio_only", "other_pipeline"):
            scan_id = airflow_api.xcom(DAG_ID, runs[name]["run_id"], "scan.report")["scan_id"]
            with conn.cursor() as cur:
                cur.execute("SELECT verdict, input_sha256 FROM scans WHERE scan_id = %s", (scan_id,))
                verdicts[name] = cur.fetchone()
        assert {n: v[0] for n, v in verdicts.items()} == {
            "url": "warn",
            "purl": "warn",
            "path": "warn",
            "gate_failure": "fail",
            "scancodeio_only": "warn",  # setup.cfg: unknown-license-reference is a warning policy
            "other_pipeline": "pass",
        }
        assert len({verdicts[n][1] for n in ("url", "purl", "path", "other_pipeline")}) == 1, "one input, by content"
        acme = airflow_api.xcom(DAG_ID, runs["gate_failure"]["run_id"], "scan.report")["scan_id"]
        with conn.cursor() as cur:
            cur.execute(warehouse.GPL_LICENSES_SQL + " AND scan_id = %s", (acme,))
            found = {row[:4] for row in cur.fetchall()}
        assert found == {
            ("acme-widget-1.0.tar.gz", "scancodeio", "gpl-2.0", "acme-widget-1.0/contrib/legacy_parser.c"),
            ("acme-widget-1.0.tar.gz", "scancodeio", "gpl-1.0-plus AND apache-2.0", "acme-widget-1.0/pyproject.toml"),
            ("acme-widget-1.0.tar.gz", "fossid", "GPL-2.0-only", None),
        }
        before = warehouse.row_counts(conn, acme)
        store = ArtefactStore()
        scio = ToolRun.from_dict(airflow_api.xcom(DAG_ID, runs["gate_failure"]["run_id"], "scan.scancodeio"))
        result = store.read_json(str(scio.result_uri))
        warehouse.load_scancodeio(conn, acme, store.read_json(result["outputs"]["json"]["uri"]))
        assert warehouse.row_counts(conn, acme) == before, "loading the same scan again must replace, not add"
        assert before["resources"] > 0 and before["license_detections"] > 0 and before["findings"] > 0
    finally:
        conn.close()


def test_a_bad_input_fails_fast_with_its_cause_and_still_reports(airflow_api, runs) -> None:
    result = runs["bad_input"]
    assert result["run"]["state"] == "failed"
    fetch = result["tis"]["scan.fetch"]
    assert fetch["state"] == "failed" and fetch["try_number"] == 1, "a bad path must not be retried"
    assert "outside the inputs folder" in airflow_api.task_log(DAG_ID, result["run_id"], "scan.fetch")
    report = airflow_api.xcom(DAG_ID, result["run_id"], "scan.report")
    assert report["verdict"] == "incomplete" and "outside the inputs folder" in report["message"]


@pytest.mark.parametrize(
    "conf, field",
    [
        ({"input": ""}, "input"),
        ({"input": "x.zip", "fail_level": "SEVERE"}, "fail_level"),
        ({"input": "x.zip", "scancodeio_pipelines": ["Not A Pipeline!"]}, "scancodeio_pipelines"),
        ({"input": "x.zip", "max_input_mb": 0}, "max_input_mb"),
    ],
)
def test_invalid_conf_is_refused_with_http_400(airflow_api, conf, field) -> None:
    with pytest.raises(PermanentServiceError) as info:
        airflow_api.trigger(DAG_ID, conf)
    assert info.value.status == 400
    assert field in str(info.value.detail)
