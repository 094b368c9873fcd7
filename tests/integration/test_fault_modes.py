"""Fault modes where they hurt: the server acts, then the answer fails on the wire.

Real processes on free 127.0.0.1 ports: the FossID and PurlDB sandboxes (faults in
sandboxes/common/server.py) and the fault proxy (sandboxes/faultproxy) in front of a PurlDB
sandbox standing in for ScanCode.io. Raw HTTP with ``requests``; no client of ours is imported.
What a client sees per mode (requests 2.x over urllib3 2.x, pinned below):
``before``/``after`` a 503 with ``X-Injected-Fault``; ``drop_after`` ``requests.ConnectionError``
caused by ``http.client.RemoteDisconnected``; ``reset_mid`` the status and headers, then
``requests.exceptions.ChunkedEncodingError`` caused by ``ConnectionResetError`` while reading the
body; ``stall`` ``requests.exceptions.ReadTimeout`` when its read timeout is shorter.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from urllib3 import encode_multipart_formdata

from tests.sandbox_process import (
    ROOT,
    configure,
    faultproxy,
    free_port,
    sandbox,
    set_faults,
    set_proxy_faults,
    start_faultproxy,
)

USER, KEY = "fault-bot", "fault-key-0001"
TOKEN = "purldb-fault-token"
AUTH = {"Authorization": f"Token {TOKEN}"}
PAGE = "<html><body>Service Unavailable (injected)</body></html>"
NO_FAULTS = {"before": 0, "after": 0, "drop_after": 0, "reset_mid": 0, "stall": 0}
SCAN = {"headers": [{"tool_name": "scancode-toolkit"}], "files": [{"path": "a.txt", "type": "file", "sha1": "0" * 40}]}


def sha1(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


def package(n: int) -> dict[str, Any]:
    """A PurlDB index row; the long description makes a page of 20 about 40 KB."""
    name = f"lib-{n:02d}"
    return {
        "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"fault-package-{n}")),
        "purl": f"pkg:npm/{name}@1.0.{n}",
        "type": "npm",
        "namespace": "",
        "name": name,
        "version": f"1.0.{n}",
        "qualifiers": "",
        "subpath": "",
        "filename": f"{name}-1.0.{n}.tgz",
        "package_content": "source_archive",
        "release_date": f"2020-01-{n + 1:02d}",
        "description": f"package {n} " * 180,
        "sha1": sha1(name),
        "md5": hashlib.md5(name.encode()).hexdigest(),
        "size": 1000 + n,
        "package_uid": f"pkg:npm/{name}@1.0.{n}?uuid={n}",
    }


INDEX = {"packages": [package(n) for n in range(25)], "package_sets": []}


# -- processes -------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def fossid_url(tmp_path_factory) -> Iterator[str]:
    with sandbox(
        "sandboxes.fossid", "/index.php?form=login", tmp_path_factory.mktemp("fossid-faults"), "--user", f"{USER}:{KEY}"
    ) as base:
        yield base


@pytest.fixture(scope="module")
def purldb_url(tmp_path_factory) -> Iterator[str]:
    index = tmp_path_factory.mktemp("purldb-faults-index") / "index.json"
    index.write_text(json.dumps(INDEX))
    state = tmp_path_factory.mktemp("purldb-faults")
    with sandbox("sandboxes.purldb", "/_sandbox/config", state, "--index", str(index), "--token", TOKEN) as base:
        yield base


@pytest.fixture(scope="module")
def proxy_url(purldb_url) -> Iterator[str]:
    with faultproxy(purldb_url) as base:
        yield base


CLEAN = {"error_rate": 0.0, "modes": ["before"], "paths": None, "stall_seconds": 3, "seed": 7, "reset_counters": True}


@pytest.fixture
def fossid(fossid_url) -> str:
    assert set_faults(fossid_url, **CLEAN)["injected"] == NO_FAULTS
    return fossid_url


@pytest.fixture
def purldb(purldb_url) -> str:
    assert set_faults(purldb_url, **CLEAN)["injected"] == NO_FAULTS
    requests.post(f"{purldb_url}/_sandbox/requests", timeout=10)
    return purldb_url


@pytest.fixture
def proxy(proxy_url, purldb) -> str:
    assert set_proxy_faults(proxy_url, **CLEAN)["injected"] == NO_FAULTS
    requests.post(f"{proxy_url}/_faultproxy/requests", timeout=10)
    return proxy_url


# -- helpers ---------------------------------------------------------------------------------------------
def fossid_post(url: str, action: str, timeout: float = 30, **data: Any) -> requests.Response:
    body = {"group": "projects", "action": action, "data": {"username": USER, "key": KEY, **data}}
    return requests.post(f"{url}/api.php", json=body, timeout=(5, timeout))


def create_project(url: str, code: str, timeout: float = 30) -> requests.Response:
    return fossid_post(url, "create", timeout, project_code=code, project_name=code)


def project_code_of(url: str, code: str) -> str | None:
    """The project's code as the Workbench reports it, None when it does not exist."""
    reply = fossid_post(url, "get_information", project_code=code).json()
    if reply["status"] == "0":
        assert reply["error"] == "Project does not exist", reply
        return None
    return reply["data"]["project_code"]


def unique(stem: str) -> str:
    return f"{stem}-{uuid.uuid4().hex[:8]}"


def get(base: str, path: str, **kwargs: Any) -> requests.Response:
    return requests.get(base + path, headers=AUTH, timeout=kwargs.pop("timeout", 30), **kwargs)


def upstream_counts(purldb_url: str) -> dict[str, int]:
    return requests.get(f"{purldb_url}/_sandbox/requests", timeout=10).json()


def matching_count(purldb_url: str) -> int:
    return get(purldb_url, "/api/matching/").json()["count"]


def assert_injected_page(response: requests.Response, mode: str) -> None:
    assert (response.status_code, response.headers["X-Injected-Fault"], response.text) == (503, mode, PAGE)


def cause(exc: BaseException) -> BaseException:
    """The OS or http.client error under requests' and urllib3's wrappers."""
    inner = exc.args[0]
    return inner.args[1]


# -- the sandboxes: FossID ---------------------------------------------------------------------------------
def test_after_answers_503_but_the_project_was_created(fossid) -> None:
    code = unique("after")
    set_faults(fossid, error_rate=1.0, modes=["after"])
    assert_injected_page(create_project(fossid, code), "after")
    set_faults(fossid, error_rate=0.0)
    assert project_code_of(fossid, code) == code
    # the naive retry of the "failed" create now meets the project it made
    again = create_project(fossid, code).json()
    assert (again["status"], [issue["code"] for issue in again["data"]]) == (
        "0",
        ["RequestData.Base.field_must_be_unique"],
    )


def test_before_answers_503_and_nothing_was_created(fossid) -> None:
    code = unique("before")
    set_faults(fossid, error_rate=1.0, modes=["before"])
    assert_injected_page(create_project(fossid, code), "before")
    set_faults(fossid, error_rate=0.0)
    assert project_code_of(fossid, code) is None


def test_drop_after_closes_without_an_answer_and_the_project_exists(fossid) -> None:
    code = unique("drop")
    set_faults(fossid, error_rate=1.0, modes=["drop_after"])
    with pytest.raises(requests.ConnectionError) as raised:
        create_project(fossid, code)
    assert type(raised.value) is requests.ConnectionError
    assert type(cause(raised.value)) is http.client.RemoteDisconnected
    set_faults(fossid, error_rate=0.0)
    assert project_code_of(fossid, code) == code


def test_reset_mid_breaks_the_body_and_the_project_exists(fossid) -> None:
    code = unique("reset")
    set_faults(fossid, error_rate=1.0, modes=["reset_mid"])
    with pytest.raises(requests.exceptions.ChunkedEncodingError) as raised:
        create_project(fossid, code)
    assert type(cause(raised.value)) is ConnectionResetError
    set_faults(fossid, error_rate=0.0)
    assert project_code_of(fossid, code) == code


def test_stall_times_the_client_out_after_the_project_was_created(fossid) -> None:
    code = unique("stall")
    set_faults(fossid, error_rate=1.0, modes=["stall"], stall_seconds=3)
    started = time.monotonic()
    with pytest.raises(requests.exceptions.ReadTimeout):
        create_project(fossid, code, timeout=1)
    assert time.monotonic() - started < 2.5
    set_faults(fossid, error_rate=0.0)
    assert project_code_of(fossid, code) == code  # while the server still holds the answer back


def test_stall_shorter_than_the_timeout_answers_late_and_whole(fossid) -> None:
    code = unique("late")
    set_faults(fossid, error_rate=1.0, modes=["stall"], stall_seconds=1)
    started = time.monotonic()
    reply = create_project(fossid, code, timeout=10).json()
    assert time.monotonic() - started >= 1
    assert (reply["status"], reply["data"]["project_code"]) == ("1", code)


def test_counters_equal_the_faults_injected(fossid) -> None:
    plan = [("after", 2), ("drop_after", 1), ("before", 3), ("reset_mid", 1), ("stall", 1)]
    for mode, times in plan:
        set_faults(fossid, error_rate=1.0, modes=[mode], stall_seconds=0.2)
        for _ in range(times):
            try:
                fossid_post(fossid, "list_projects")
            except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError):
                pass
    view = set_faults(fossid, error_rate=0.0)
    fossid_post(fossid, "list_projects")  # no fault: not counted
    requests.get(f"{fossid}/_sandbox/config", timeout=10)  # the sandbox's own routes never get one
    assert view["injected"] == {"before": 3, "after": 2, "drop_after": 1, "reset_mid": 1, "stall": 1}
    assert requests.get(f"{fossid}/_sandbox/faults", timeout=10).json()["injected"] == view["injected"]
    assert set_faults(fossid, reset_counters=True)["injected"] == NO_FAULTS


def test_modes_are_drawn_from_the_seeded_generator(fossid) -> None:
    """One draw decides the fault, a second one (only when there are several modes) the mode."""
    modes = ["after", "before"]
    expected = []
    rng = random.Random(11)
    for _ in range(12):
        expected.append(rng.choice(modes) if rng.random() < 0.5 else None)
    observed = []
    set_faults(fossid, error_rate=0.5, modes=modes, seed=11)
    for _ in range(12):
        observed.append(fossid_post(fossid, "list_projects").headers.get("X-Injected-Fault"))
    assert observed == expected
    assert requests.get(f"{fossid}/_sandbox/faults", timeout=10).json()["injected"] == {
        **NO_FAULTS,
        "after": expected.count("after"),
        "before": expected.count("before"),
    }


def test_bad_fault_settings_are_refused_and_change_nothing(fossid) -> None:
    before = requests.get(f"{fossid}/_sandbox/faults", timeout=10).json()
    refusals: list[tuple[dict[str, Any], str]] = [
        (
            {"modes": ["explode"]},
            "modes: not a non-empty list of before, after, drop_after, reset_mid, stall: ['explode']",
        ),
        ({"modes": []}, "modes: not a non-empty list of before, after, drop_after, reset_mid, stall: []"),
        ({"paths": ["("]}, "paths: missing ), unterminated subpattern at position 0"),
        ({"error_rate": 1, "stall_seconds": -1}, "stall_seconds: negative: -1"),
    ]
    for body, detail in refusals:
        response = requests.post(f"{fossid}/_sandbox/faults", json=body, timeout=10)
        assert (response.status_code, response.json()) == (400, {"detail": detail})
    assert requests.get(f"{fossid}/_sandbox/faults", timeout=10).json() == before


def test_the_command_line_flags(tmp_path) -> None:
    args = ("--error-rate", "0.25", "--fault-modes", "after,reset_mid", "--stall-seconds", "4.5")
    with sandbox("sandboxes.fossid", "/index.php?form=login", tmp_path / "fossid", *args) as base:
        fossid_view = requests.get(f"{base}/_sandbox/faults", timeout=10).json()
    index = tmp_path / "index.json"
    index.write_text(json.dumps(INDEX))
    with sandbox("sandboxes.purldb", "/_sandbox/config", tmp_path / "purldb", "--index", str(index), *args) as base:
        purldb_view = requests.get(f"{base}/_sandbox/faults", timeout=10).json()
    expected = {
        "latency_ms": 0,
        "error_rate": 0.25,
        "error_status": 503,
        "seed": 7,
        "modes": ["after", "reset_mid"],
        "stall_seconds": 4.5,
        "paths": None,
        "extra": {},
        "injected": NO_FAULTS,
    }
    assert fossid_view == purldb_view == expected


# -- the sandboxes: PurlDB ---------------------------------------------------------------------------------
def test_purldb_after_on_the_matching_submission(purldb) -> None:
    projects_before = matching_count(purldb)
    set_faults(purldb, error_rate=1.0, modes=["after"], paths=["^/api/matching/$"])
    listed = get(purldb, "/api/packages/")  # not a matching path: no fault
    assert (listed.status_code, listed.json()["count"]) == (200, 25)
    submitted = requests.post(
        f"{purldb}/api/matching/",
        files={"upload_file": ("fault-after.json", json.dumps(SCAN))},
        headers=AUTH,
        timeout=30,
    )
    assert_injected_page(submitted, "after")
    assert set_faults(purldb, error_rate=0.0)["injected"] == {**NO_FAULTS, "after": 1}
    projects = get(purldb, "/api/matching/").json()
    assert projects["count"] == projects_before + 1
    newest = projects["results"][0]  # newest first
    assert [s["filename"] for s in newest["input_sources"]] == ["fault-after.json"]
    assert upstream_counts(purldb)["POST /api/matching/"] == 1


def test_purldb_reset_mid_on_a_large_get(purldb) -> None:
    whole = get(purldb, "/api/packages/")
    assert len(whole.content) > 30_000
    set_faults(purldb, error_rate=1.0, modes=["reset_mid"])
    broken = get(purldb, "/api/packages/", stream=True)
    assert (broken.status_code, broken.headers["Content-Length"]) == (200, str(len(whole.content)))
    with pytest.raises(requests.exceptions.ChunkedEncodingError) as raised:
        broken.content  # noqa: B018
    assert type(cause(raised.value)) is ConnectionResetError
    assert set_faults(purldb, error_rate=0.0)["injected"] == {**NO_FAULTS, "reset_mid": 1}


# -- the fault proxy (a PurlDB sandbox stands in for ScanCode.io) ------------------------------------------
def checksums_body() -> dict[str, list[str]]:
    return {"sha1": [sha1("lib-03"), sha1("lib-17")]}


def test_proxy_pass_through_get_is_byte_for_byte(proxy, purldb) -> None:
    for path in ("/api/packages/", "/api/packages/?page=2", "/api/packages/no-such-uuid/", "/api/matching"):
        direct = get(purldb, path, allow_redirects=False)
        proxied = get(proxy, path, allow_redirects=False)
        assert (proxied.status_code, proxied.content) == (direct.status_code, direct.content), path
        assert proxied.headers["Content-Type"] == direct.headers["Content-Type"]
        assert proxied.headers["Content-Length"] == str(len(direct.content))
    # the Host header is the upstream's, so the links in the answer are the upstream's
    assert get(proxy, "/api/packages/").json()["next"] == f"{purldb}/api/packages/?page=2"
    # each path once directly and once through the proxy, plus the last one
    assert upstream_counts(purldb) == {
        "GET /api/matching": 2,
        "GET /api/packages/": 5,
        "GET /api/packages/no-such-uuid/": 2,
    }


def test_proxy_json_post_reaches_the_upstream_intact(proxy, purldb) -> None:
    direct = requests.post(
        f"{purldb}/api/packages/filter_by_checksums/", json=checksums_body(), headers=AUTH, timeout=30
    )
    proxied = requests.post(
        f"{proxy}/api/packages/filter_by_checksums/", json=checksums_body(), headers=AUTH, timeout=30
    )
    assert (proxied.status_code, proxied.content) == (200, direct.content)
    assert [p["purl"] for p in proxied.json()["results"]] == ["pkg:npm/lib-03@1.0.3", "pkg:npm/lib-17@1.0.17"]


def test_proxy_chunked_post_reaches_the_upstream_intact(proxy, purldb) -> None:
    payload = json.dumps(checksums_body()).encode()
    chunks = [payload[n : n + 7] for n in range(0, len(payload), 7)]
    request = requests.Request(
        "POST",
        f"{proxy}/api/packages/filter_by_checksums/",
        data=iter(chunks),
        headers={**AUTH, "Content-Type": "application/json"},
    ).prepare()
    assert (request.headers["Transfer-Encoding"], "Content-Length" in request.headers) == ("chunked", False)
    with requests.Session() as session:
        proxied = session.send(request, timeout=30)
    direct = requests.post(
        f"{purldb}/api/packages/filter_by_checksums/",
        data=payload,
        headers={**AUTH, "Content-Type": "application/json"},
        timeout=30,
    )
    assert (proxied.status_code, proxied.content) == (200, direct.content)
    assert [p["purl"] for p in proxied.json()["results"]] == ["pkg:npm/lib-03@1.0.3", "pkg:npm/lib-17@1.0.17"]


def test_proxy_chunked_multipart_upload_arrives_whole(proxy, purldb) -> None:
    """A 200 KB ScanCode scan, chunked by the client, is matched upstream file by file."""
    files = [{"path": f"src/f{n:02d}.js", "type": "file", "sha1": sha1(f"lib-{n % 25:02d}")} for n in range(40)]
    scan = json.dumps({"headers": [{"tool_name": "scancode-toolkit"}], "files": files, "padding": "x" * 200_000})
    body, content_type = encode_multipart_formdata({"upload_file": ("chunked-scan.json", scan.encode())})
    chunks = [body[n : n + 65_536] for n in range(0, len(body), 65_536)]
    configure(purldb, queue_seconds=0, matching_seconds=0)
    try:
        created = requests.post(
            f"{proxy}/api/matching/", data=iter(chunks), headers={**AUTH, "Content-Type": content_type}, timeout=30
        )
    finally:
        configure(purldb, queue_seconds=0.5, matching_seconds=2.0)
    assert created.status_code == 201, created.text
    results = get(purldb, f"/api/matching/{created.json()['uuid']}/results/").json()
    assert [(f["path"], f["status"]) for f in results["files"]] == [
        (f["path"], "matched-to-purldb-package") for f in files
    ]
    assert len(results["packages"]) == 25


def test_proxy_before_never_reaches_the_upstream_and_after_does(proxy, purldb) -> None:
    set_proxy_faults(proxy, error_rate=1.0, modes=["before"])
    assert_injected_page(get(proxy, "/api/packages/"), "before")
    assert upstream_counts(purldb) == {}
    set_proxy_faults(proxy, modes=["after"])
    assert_injected_page(get(proxy, "/api/packages/"), "after")
    assert upstream_counts(purldb) == {"GET /api/packages/": 1}
    projects_before = matching_count(purldb)
    submitted = requests.post(
        f"{proxy}/api/matching/",
        files={"upload_file": ("via-proxy.json", json.dumps(SCAN))},
        headers=AUTH,
        timeout=30,
    )
    assert_injected_page(submitted, "after")
    assert matching_count(purldb) == projects_before + 1
    assert set_proxy_faults(proxy, error_rate=0.0)["injected"] == {**NO_FAULTS, "before": 1, "after": 2}


def test_proxy_drop_after(proxy, purldb) -> None:
    set_proxy_faults(proxy, error_rate=1.0, modes=["drop_after"])
    with pytest.raises(requests.ConnectionError) as raised:
        get(proxy, "/api/packages/")
    assert type(raised.value) is requests.ConnectionError
    assert type(cause(raised.value)) is http.client.RemoteDisconnected
    assert upstream_counts(purldb) == {"GET /api/packages/": 1}


def test_proxy_reset_mid(proxy, purldb) -> None:
    whole = get(purldb, "/api/packages/")
    set_proxy_faults(proxy, error_rate=1.0, modes=["reset_mid"])
    broken = get(proxy, "/api/packages/", stream=True)
    assert (broken.status_code, broken.headers["Content-Length"]) == (200, str(len(whole.content)))
    with pytest.raises(requests.exceptions.ChunkedEncodingError) as raised:
        broken.content  # noqa: B018
    assert type(cause(raised.value)) is ConnectionResetError
    assert upstream_counts(purldb) == {"GET /api/packages/": 2}


def test_proxy_stall(proxy, purldb) -> None:
    set_proxy_faults(proxy, error_rate=1.0, modes=["stall"], stall_seconds=3)
    projects_before = matching_count(purldb)
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.post(
            f"{proxy}/api/matching/",
            files={"upload_file": ("stalled.json", json.dumps(SCAN))},
            headers=AUTH,
            timeout=(5, 1),
        )
    assert matching_count(purldb) == projects_before + 1  # the upstream acted; the proxy holds the answer
    assert set_proxy_faults(proxy, error_rate=0.0)["injected"] == {**NO_FAULTS, "stall": 1}


def test_proxy_keeps_client_connections_alive(proxy, purldb) -> None:
    direct = get(purldb, "/api/packages/").content
    with requests.Session() as session:
        session.headers.update(AUTH)
        first = session.get(f"{proxy}/api/packages/", timeout=30)
        second = session.get(f"{proxy}/api/packages/", timeout=30)
        set_proxy_faults(proxy, error_rate=1.0, modes=["after"])
        faulted = session.get(f"{proxy}/api/packages/", timeout=30)
        set_proxy_faults(proxy, error_rate=0.0)
        third = session.get(f"{proxy}/api/packages/", timeout=30)
        adapter = session.get_adapter(proxy)
        assert isinstance(adapter, requests.adapters.HTTPAdapter)
        manager = adapter.poolmanager
        pools = [manager.pools[key] for key in manager.pools.keys()]
        assert [(pool.num_connections, pool.num_requests) for pool in pools] == [(1, 4)]
    assert [first.content, second.content, third.content] == [direct, direct, direct]
    assert_injected_page(faulted, "after")


def test_proxy_paths_and_control_routes(proxy, purldb) -> None:
    set_proxy_faults(proxy, error_rate=1.0, modes=["before"], paths=[r"^/api/matching/"])
    assert get(proxy, "/api/packages/").status_code == 200
    assert_injected_page(get(proxy, "/api/matching/"), "before")
    requests.post(f"{proxy}/api/packages/filter_by_checksums/", json=checksums_body(), headers=AUTH, timeout=30)
    counts = requests.get(f"{proxy}/_faultproxy/requests", timeout=10).json()
    assert counts == {
        "GET /api/matching/": 1,
        "GET /api/packages/": 1,
        "POST /api/packages/filter_by_checksums/": 1,
    }
    view = requests.get(f"{proxy}/_faultproxy/faults", timeout=10).json()
    assert (view["paths"], view["modes"], view["injected"]) == (
        ["^/api/matching/"],
        ["before"],
        {**NO_FAULTS, "before": 1},
    )
    assert requests.post(f"{proxy}/_faultproxy/requests", timeout=10).json() == {}
    assert requests.get(f"{proxy}/_faultproxy/requests", timeout=10).json() == {}
    refused = requests.post(f"{proxy}/_faultproxy/faults", json={"modes": "after,explode"}, timeout=10)
    assert refused.status_code == 400
    assert requests.get(f"{proxy}/_faultproxy/nothing", timeout=10).status_code == 404
    assert upstream_counts(purldb) == {"GET /api/packages/": 1, "POST /api/packages/filter_by_checksums/": 1}


def test_proxy_command_line(purldb) -> None:
    """Loopback only; faults from the flags; 502 when the upstream is down; SIGTERM exits 0 and
    nothing is written to stdout."""
    for args, message in (
        (("--listen-host", "0.0.0.0"), "binds 127.0.0.1 only"),
        (("--upstream", "http://example.org:80"), "must be on the loopback interface"),
    ):
        cli = [sys.executable, "-m", "sandboxes.faultproxy", "--listen-port", str(free_port())]
        cli += ["--upstream", purldb] if args[0] != "--upstream" else []
        done = subprocess.run([*cli, *args], cwd=ROOT, capture_output=True, text=True, timeout=30)
        assert (done.returncode, done.stdout, message in done.stderr) == (2, "", True), done.stderr
    dead = f"http://127.0.0.1:{free_port()}"
    flags = ("--error-rate", "0.5", "--modes", "stall,after", "--seed", "3", "--stall-seconds", "2")
    with tempfile.TemporaryFile() as log_file:
        process, url = start_faultproxy(dead, *flags, log_file=log_file)
        try:
            view = requests.get(f"{url}/_faultproxy/faults", timeout=10).json()
            assert (view["error_rate"], view["modes"], view["seed"], view["stall_seconds"]) == (
                0.5,
                ["stall", "after"],
                3,
                2.0,
            )
            set_proxy_faults(url, error_rate=0.0)
            unreachable = requests.get(f"{url}/api/", timeout=30)
            assert (unreachable.status_code, unreachable.headers["Content-Type"]) == (502, "application/json")
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=10) == 0
        finally:
            if process.poll() is None:
                process.kill()
        assert process.stdout is not None and process.stdout.read() == b""
        log_file.seek(0)
        logged = log_file.read().decode()
    assert f"fault proxy on {url} -> {dead}" in logged
    assert "fault proxy stopped" in logged
