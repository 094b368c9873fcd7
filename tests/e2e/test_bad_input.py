"""Bad input, as a user sends it over REST, on the local stack: every case is refused by the first
task (or by Airflow's param check at trigger time) on its first try, with a message that names the
cause, and no remote object is created in ScanCode.io, FossID or PurlDB.

All runs are triggered together, then each case is checked on its own.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import tarfile
import uuid
import zipfile
from pathlib import Path
from typing import Any

import pytest
import requests

from sca.common.errors import PermanentServiceError
from tests.conftest import require_env, scio_settings

DAG_ID = "sca_scan"
FETCH = "scan.fetch"
TAG = uuid.uuid4().hex[:8]  # file names unique to this session: no reuse from an earlier one


def _tar_gz(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _wheel() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("pkg/__init__.py", b"A" * 2000)
    return buffer.getvalue()


def _bad_crc_wheel() -> bytes:
    data = bytearray(_wheel())
    data[data.index(b"A" * 2000)] = ord("B")
    return bytes(data)


GOOD_TAR = _tar_gz({f"pkg-{TAG}/setup.py": os.urandom(3000), f"pkg-{TAG}/src/mod.py": os.urandom(60_000)})
BIG = _tar_gz({f"big-{TAG}/blob.bin": os.urandom(3 * 1024 * 1024)})
FILES: dict[str, bytes] = {
    f"empty-{TAG}.tar.gz": b"",
    f"cut-{TAG}.tar.gz": GOOD_TAR[: len(GOOD_TAR) // 2],
    f"page-{TAG}.tar.gz": b"<!DOCTYPE html><html><head><title>Download</title></head><body>moved</body></html>",
    f"page-{TAG}.html": b"<html><body>the project page, not the download</body></html>",
    f"hollow-{TAG}.tar.gz": _tar_gz({}),
    f"crc-{TAG}-1.0-py3-none-any.whl": _bad_crc_wheel(),
    f"cut-{TAG}-1.0-py3-none-any.whl": _wheel()[:100],
    f"notar-{TAG}_1.0_all.deb": b"PK\x03\x04 this is no ar archive",
    f"cut-{TAG}.tgz": GOOD_TAR[:200],
    f"garbage-{TAG}.tar.gz": os.urandom(4096),
    f"notgzip-{TAG}.gz": b"plain text, not gzip",
    f"big-{TAG}.tar.gz": BIG,
    f"good-{TAG}.tar.gz": GOOD_TAR,
}

# name: (conf, where it fails: "scan.fetch" or "trigger", what the message must say)
CASES: dict[str, tuple[dict[str, Any], str, str]] = {
    "unknown-key": (
        {"input": f"good-{TAG}.tar.gz", "colour": "blue"},
        FETCH,
        "unknown parameter in the run's conf: 'colour';",
    ),
    "misspelt-key": (
        {"input": f"good-{TAG}.tar.gz", "gate_acton": "warn"},
        FETCH,
        "'gate_acton' (did you mean 'gate_action'?)",
    ),
    "unknown-pipeline": (
        {"input": f"good-{TAG}.tar.gz", "scancodeio_pipelines": ["scan_everything"]},
        FETCH,
        "unknown ScanCode.io pipeline 'scan_everything'; the server at",
    ),
    "unknown-group": (
        {"input": f"good-{TAG}.tar.gz", "scancodeio_pipelines": ["scan_single_package:Nope"]},
        FETCH,
        "pipeline 'scan_single_package' has no group(s) ['Nope']",
    ),
    "empty-file": ({"input": f"empty-{TAG}.tar.gz"}, FETCH, f"input empty-{TAG}.tar.gz is empty (0 bytes)"),
    "truncated-tar-gz": (
        {"input": f"cut-{TAG}.tar.gz"},
        FETCH,
        "Compressed file ended before the end-of-stream marker was reached",
    ),
    "html-as-tar-gz": ({"input": f"page-{TAG}.tar.gz"}, FETCH, "is an HTML/XML page, not a package"),
    "html-url": ({"input": "{inputs}/" + f"page-{TAG}.html"}, FETCH, "returned text/html, not a package archive"),
    "url-404": ({"input": "{inputs}/" + f"missing-{TAG}.tar.gz"}, FETCH, "answered HTTP 404"),
    "path-escape": ({"input": "../../../etc/passwd"}, FETCH, "is outside the inputs folder"),
    "path-missing": ({"input": f"missing-{TAG}.tar.gz"}, FETCH, "is not a file under the inputs folder"),
    "too-big": ({"input": f"big-{TAG}.tar.gz", "max_input_mb": 1}, FETCH, "over the limit of 1048576"),
    "tar-without-files": ({"input": f"hollow-{TAG}.tar.gz"}, FETCH, "is a tar archive with no file in it"),
    "wheel-bad-crc": (
        {"input": f"crc-{TAG}-1.0-py3-none-any.whl"},
        FETCH,
        "member 'pkg/__init__.py' fails its CRC check",
    ),
    "truncated-wheel": ({"input": f"cut-{TAG}-1.0-py3-none-any.whl"}, FETCH, "is not a readable zip archive"),
    "deb-not-ar": ({"input": f"notar-{TAG}_1.0_all.deb"}, FETCH, "no ar archive header ('!<arch>')"),
    "truncated-npm-tgz": ({"input": f"cut-{TAG}.tgz"}, FETCH, "is not a readable tar archive"),
    "random-bytes-as-tar-gz": ({"input": f"garbage-{TAG}.tar.gz"}, FETCH, "is not a readable tar archive"),
    "gz-not-gzip": ({"input": f"notgzip-{TAG}.gz"}, FETCH, "is not a readable compressed archive"),
    "purl-without-version": ({"input": "pkg:pypi/six"}, FETCH, "pkg:pypi/six has no version"),
    "ftp-url": ({"input": f"ftp://127.0.0.1/pkg-{TAG}.tar.gz"}, FETCH, "the URL scheme 'ftp' is not supported"),
    "unknown-connection": (
        {"input": f"good-{TAG}.tar.gz", "fossid_conn_id": f"staging_workbench_{TAG}"},
        FETCH,
        f"no Airflow connection named fossid_conn_id='staging_workbench_{TAG}': create it",
    ),
    "bad-connection-id": (
        {"input": f"good-{TAG}.tar.gz", "scancodeio_conn_id": "a b"},
        "trigger",
        "scancodeio_conn_id",
    ),
    "empty-input": ({"input": ""}, "trigger", "input"),
    "bad-fail-level": ({"input": f"good-{TAG}.tar.gz", "fail_level": "FATAL"}, "trigger", "fail_level"),
    "bad-format": ({"input": f"good-{TAG}.tar.gz", "scancodeio_formats": ["pdf"]}, "trigger", "scancodeio_formats"),
    "long-fossid-project": ({"input": f"good-{TAG}.tar.gz", "fossid_project": "p" * 101}, "trigger", "fossid_project"),
}


def remote_counts() -> dict[str, int]:
    """Objects in the three services, counted through their APIs (and the sandboxes' request logs)."""
    url, token = scio_settings()
    projects = requests.get(f"{url}/api/projects/", headers={"Authorization": f"Token {token}"}, timeout=30).json()
    fossid = json.loads(require_env("AIRFLOW_CONN_FOSSID_DEFAULT"))
    purldb = json.loads(require_env("AIRFLOW_CONN_PURLDB_DEFAULT"))
    fossid_requests = requests.get(f"http://{fossid['host']}:{fossid['port']}/_sandbox/requests", timeout=30).json()
    purldb_requests = requests.get(f"http://{purldb['host']}:{purldb['port']}/_sandbox/requests", timeout=30).json()
    return {
        "scancodeio projects": int(projects["count"]),
        "fossid api calls": int(fossid_requests.get("POST /api.php", 0)),
        "purldb matchings": int(purldb_requests.get("POST /api/matching/", 0)),
    }


@pytest.fixture(scope="module")
def outcomes(airflow_api, inputs_base_url) -> dict[str, Any]:
    inputs = Path(require_env("SCA_INPUTS_DIR"))
    for name, data in FILES.items():
        (inputs / name).write_bytes(data)
    airflow_api.wait_for_dag(DAG_ID)
    before = remote_counts()
    started: dict[str, str] = {}
    refused: dict[str, PermanentServiceError] = {}
    for case, (conf, _where, _says) in CASES.items():
        conf = {k: (v.format(inputs=inputs_base_url) if isinstance(v, str) else v) for k, v in conf.items()}
        try:
            started[case] = airflow_api.trigger(DAG_ID, conf)["dag_run_id"]
        except PermanentServiceError as exc:
            refused[case] = exc
    results: dict[str, Any] = {}
    for case, run_id in started.items():
        run = airflow_api.wait(DAG_ID, run_id, timeout=600)
        tis = {ti["task_id"]: ti for ti in airflow_api.task_instances(DAG_ID, run_id)}
        results[case] = {"run": run, "run_id": run_id, "tis": tis}
    after = remote_counts()
    for name in FILES:
        (inputs / name).unlink(missing_ok=True)
    return {"started": results, "refused": refused, "before": before, "after": after}


def test_the_table_has_every_case_the_issue_names() -> None:
    assert len(CASES) >= 20


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_refused_first_time_naming_the_cause(airflow_api, outcomes, case: str) -> None:
    _, where, says = CASES[case]
    if where == "trigger":
        assert case in outcomes["refused"], f"{case}: the trigger was accepted"
        error = outcomes["refused"][case]
        assert error.status == 400 and says in str(error.detail)
        return
    assert case not in outcomes["refused"], f"{case}: refused at trigger time: {outcomes['refused'].get(case)}"
    result = outcomes["started"][case]
    assert result["run"]["state"] == "failed"
    failed = sorted(t for t, ti in result["tis"].items() if ti["state"] == "failed" and t.startswith("scan."))
    assert failed == [where], f"{case}: failed tasks {failed}"
    ti = result["tis"][where]
    assert ti["try_number"] == 1, f"{case}: a permanent error was retried"
    log = airflow_api.task_log(DAG_ID, result["run_id"], where, 1)
    assert says in log, f"{case}: the log does not say {says!r}"
    assert "(not retried: retrying cannot fix this)" in log
    untouched = {t: result["tis"][t]["state"] for t in ("scan.scancodeio", "scan.fossid")}
    assert untouched == {"scan.scancodeio": "upstream_failed", "scan.fossid": "upstream_failed"}
    report = airflow_api.xcom(DAG_ID, result["run_id"], "scan.report")
    assert report["verdict"] == "incomplete" and says in report["message"]


def test_no_remote_object_was_created_by_any_bad_input(outcomes) -> None:
    assert outcomes["after"] == outcomes["before"]


def test_the_good_twin_of_the_bad_inputs_opens() -> None:
    """The table's bad archives are cut from this one, which itself passes the check."""
    from sca.pipeline.inspect import InputSummary, inspect_input

    path = Path(require_env("SCA_INPUTS_DIR")) / f"good-check-{TAG}.tar.gz"
    path.write_bytes(GOOD_TAR)
    try:
        assert inspect_input(path, path.name) == InputSummary("tar", 2)
        assert gzip.decompress(GOOD_TAR)[:100]
    finally:
        path.unlink()
