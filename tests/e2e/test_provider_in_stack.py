"""The installed provider as the stack's Airflow serves it: the connection forms the UI reads,
the Test button for each of the three connections, and the extra links of a finished scan."""

from __future__ import annotations

import io
import json
import os
import tarfile
import uuid
from pathlib import Path
from typing import Any

import requests

from sca.scancodeio.naming import project_slug
from tests.conftest import require_env, scio_settings

DAG_ID = "sca_scan"


def ui_get(airflow_api, path: str) -> Any:
    """The UI's own endpoints live beside /api/v2 (same JWT)."""
    response = requests.get(f"{airflow_api.base_url}{path}", headers=dict(airflow_api.http.session.headers), timeout=60)
    response.raise_for_status()
    return response.json()


def test_the_ui_gets_the_three_connection_forms_with_their_labels(airflow_api) -> None:
    forms = {f["connection_type"]: f for f in ui_get(airflow_api, "/ui/connections/hook_meta")}
    titles = {
        kind: {name: (field or {}).get("title") for name, field in forms[kind]["standard_fields"].items()}
        for kind in ("scancodeio", "purldb", "fossid")
    }
    assert titles["fossid"] == {
        "description": None,
        "url_schema": "Scheme (http or https)",
        "host": "Workbench host or URL",
        "port": None,
        "login": "Workbench user",
        "password": "API key",
    }
    assert (titles["scancodeio"]["host"], titles["scancodeio"]["password"]) == ("ScanCode.io host or URL", "API key")
    assert (titles["purldb"]["host"], titles["purldb"]["password"]) == ("PurlDB host or URL", "API key (optional)")
    assert forms["scancodeio"]["standard_fields"]["login"]["hidden"] is True
    assert forms["fossid"]["standard_fields"]["login"] == {
        "hidden": False,
        "title": "Workbench user",
        "placeholder": "the Workbench user the scans run as",
    }
    assert [forms[k]["hook_name"] for k in ("scancodeio", "purldb", "fossid")] == [
        "ScanCode.io",
        "PurlDB",
        "FossID Workbench",
    ]
    extra = forms["scancodeio"]["extra_fields"]
    assert (extra["timeout"]["schema"]["title"], extra["ui_url"]["schema"]["title"]) == (
        "Request timeout (seconds)",
        "Web UI URL",
    )


def test_the_test_button_works_for_each_connection(airflow_api) -> None:
    answers = {}
    for conn_id in ("scancodeio_default", "purldb_default", "fossid_default"):
        stored = json.loads(require_env(f"AIRFLOW_CONN_{conn_id.upper()}"))
        body = {
            "connection_id": conn_id,
            "conn_type": stored["conn_type"],
            "host": stored["host"],
            "port": stored["port"],
            "schema": stored.get("schema"),
            "login": stored.get("login"),
            "password": stored.get("password"),
            "extra": json.dumps(stored.get("extra") or {}),
        }
        answers[conn_id] = airflow_api.http.post_json("connections/test", body)
    assert answers["scancodeio_default"] == {"status": True, "message": answers["scancodeio_default"]["message"]}
    assert answers["scancodeio_default"]["message"].startswith("ScanCode.io answered with ")
    assert answers["purldb_default"]["status"] is True
    assert answers["fossid_default"] == {"status": True, "message": "FossID Workbench 26.1.0"}
    wrong = airflow_api.http.post_json(
        "connections/test",
        {**body, "connection_id": "fossid_wrong_key", "password": "not-the-key"},
    )
    assert wrong["status"] is False and "key" in wrong["message"].lower()
    assert "not-the-key" not in wrong["message"]


def links(airflow_api, run_id: str, task_id: str) -> dict[str, str | None]:
    return airflow_api.http.get_json(f"dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/{task_id}/links")["extra_links"]


def test_a_new_scan_links_to_its_project_scan_and_matched_package(airflow_api) -> None:
    """acme-widget vendors six: with one more file (new bytes: nothing reused), every tool scans it
    anew and PurlDB matches six back."""
    name = f"acme-widget-1.0-links-{uuid.uuid4().hex[:8]}.tar.gz"
    inputs = Path(require_env("SCA_INPUTS_DIR"))
    with tarfile.open(inputs / "acme-widget-1.0.tar.gz", "r:gz") as src, tarfile.open(inputs / name, "w:gz") as out:
        for member in src.getmembers():
            out.addfile(member, src.extractfile(member) if member.isfile() else None)
        note = f"links test {name}\n".encode()
        info = tarfile.TarInfo("acme-widget-1.0/NOTE.txt")
        info.size = len(note)
        out.addfile(info, io.BytesIO(note))
    airflow_api.wait_for_dag(DAG_ID)
    try:
        run_id = airflow_api.trigger(DAG_ID, {"input": name, "gate_action": "warn"})["dag_run_id"]
        assert airflow_api.wait(DAG_ID, run_id, timeout=900)["state"] == "success"
    finally:
        os.remove(inputs / name)
    project_url = links(airflow_api, run_id, "scan.scancodeio")["ScanCode.io project"]
    direct = require_env("SCA_SCIO_DIRECT_URL")
    _, token = scio_settings()
    (project,) = requests.get(
        f"{direct}/api/projects/",
        params={"name": airflow_api.xcom(DAG_ID, run_id, "scan.scancodeio")["remote_name"]},
        headers={"Authorization": f"Token {token}"},
        timeout=60,
    ).json()["results"]
    # the real server's UI (not the fault proxy the API calls go through), at the project's slug
    slug = project_slug(project["name"], project["uuid"])
    assert project_url == f"{direct}/project/{slug}/"
    # a person who is not signed in is sent to sign in, then on to the project
    assert requests.get(project_url, timeout=60).url == f"{direct}/accounts/login/?next=/project/{slug}/"
    scan = airflow_api.xcom(DAG_ID, run_id, "scan.fossid")
    fossid_url = require_env("AIRFLOW_CONN_FOSSID_DEFAULT")
    conn = json.loads(fossid_url)
    scan_info = requests.post(
        f"http://{conn['host']}:{conn['port']}/api.php",
        json={
            "group": "scans",
            "action": "get_information",
            "data": {"username": conn["login"], "key": conn["password"], "scan_code": scan["remote_name"]},
        },
        timeout=30,
    ).json()["data"]
    # the sandbox is Workbench 26.1: the new UI's scan page (workbench-agent CE results_service.py)
    assert links(airflow_api, run_id, "scan.fossid")["FossID scan"] == (
        f"http://{conn['host']}:{conn['port']}/nui/scans/{scan_info['id']}/audit/all"
    )
    purldb = json.loads(require_env("AIRFLOW_CONN_PURLDB_DEFAULT"))
    assert links(airflow_api, run_id, "scan.purldb")["PurlDB package"] == (
        f"http://{purldb['host']}:{purldb['port']}/api/packages/?purl=pkg%3Apypi%2Fsix%401.16.0"
    )
