"""After every other test (the fault drill and the kill tests included): no API token or key is in
any log file of the stack, any XCom value, any rendered template field, or any stored report."""

from __future__ import annotations

import json
import os
from pathlib import Path

import psycopg
import pytest

from tests.conftest import ROOT, require_env

pytestmark = pytest.mark.final


def secrets() -> dict[str, str]:
    found = {
        name: json.loads(require_env(f"AIRFLOW_CONN_{name}_DEFAULT"))["password"]
        for name in ("SCANCODEIO", "FOSSID", "PURLDB")
    }
    found["ScanCode.io Django key"] = require_env("SCA_SCIO_DJANGO_SECRET")
    found["webhook signing secret"] = json.loads(require_env("AIRFLOW_CONN_SCA_WEBHOOKS"))["password"]
    assert all(len(value) >= 16 for value in found.values()), "the secrets are real-length strings"
    return found


def run_dir() -> Path:
    return Path(os.environ.get("SCA_RUN_DIR", ROOT / ".run"))


def files_under(*folders: Path) -> list[Path]:
    return [p for folder in folders if folder.is_dir() for p in folder.rglob("*") if p.is_file()]


def test_no_secret_in_any_log_file_or_report() -> None:
    folders = (run_dir() / "logs", Path(require_env("AIRFLOW_HOME")) / "logs", run_dir() / "artefacts" / "reports")
    files = files_under(*folders)
    assert len(files) > 50, f"expected the logs and reports of the whole suite, found {len(files)} files"
    leaks = []
    for path in files:
        data = path.read_bytes()
        leaks += [(str(path), name) for name, value in secrets().items() if value.encode() in data]
    assert leaks == []


def test_no_secret_in_xcom_or_rendered_fields() -> None:
    dsn = require_env("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN").replace("postgresql+psycopg2://", "postgresql://")
    with psycopg.connect(dsn) as conn:
        xcoms = [str(row[0]) for row in conn.execute("SELECT value FROM xcom")]
        rendered = [str(row[0]) for row in conn.execute("SELECT rendered_fields FROM rendered_task_instance_fields")]
    assert len(xcoms) > 20 and len(rendered) > 20
    leaks = [
        (where, name)
        for where, texts in (("xcom", xcoms), ("rendered", rendered))
        for name, value in secrets().items()
        if any(value in text for text in texts)
    ]
    assert leaks == []
