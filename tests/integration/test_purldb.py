"""PurlDB client and operators over HTTP against the PurlDB sandbox (its index: real archives
scanned with scancode-toolkit), with a real ScanCode.io result for matching."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
from airflow.sdk.exceptions import AirflowFailException, TaskDeferred

from sca.common.errors import (
    AuthenticationError,
    NotFoundError,
    PermanentServiceError,
    RunFailedError,
    TransientServiceError,
)
from sca.common.pipeline_run import raise_for_run
from sca.common.retry import RetryPolicy
from sca.purldb.client import InvalidPurlError, LookupStats, PurlDBClient
from sca.purldb.operators import (
    PurlDBChecksumLookupOperator,
    PurlDBMatchOperator,
    PurlDBResolveDownloadURLOperator,
    PurlDBValidatePurlsOperator,
)
from sca.purldb.sensors import PurlDBMatchingSensor
from sca.purldb.triggers import PurlDBMatchingTrigger
from tests.conftest import ROOT, first_event, wait_for_run
from tests.sandbox_process import configure, sandbox

TOKEN = "purldb-test-token"
SIX_PURL = "pkg:pypi/six@1.16.0"


def stack_index() -> Path:
    run_dir = Path(os.environ.get("SCA_RUN_DIR", ROOT / ".run"))
    found = sorted(run_dir.glob("purldb-index-*.json"), key=lambda p: p.stat().st_mtime)
    if not found:
        pytest.fail("no seeded PurlDB index in the run folder: start the stack with `make up`")
    return found[-1]


@pytest.fixture(scope="module")
def purldb_url(tmp_path_factory):
    env_token = os.environ.get("SCA_PURLDB_TOKEN")
    os.environ["SCA_PURLDB_TOKEN"] = TOKEN
    try:
        with sandbox(
            "sandboxes.purldb", "/_sandbox/config", tmp_path_factory.mktemp("purldb"), "--index", str(stack_index())
        ) as url:
            configure(url, queue_seconds=0.3, matching_seconds=0.8)
            yield url
    finally:
        if env_token is None:
            os.environ.pop("SCA_PURLDB_TOKEN", None)
        else:
            os.environ["SCA_PURLDB_TOKEN"] = env_token


@pytest.fixture(scope="module")
def conn_id(purldb_url):
    host, port = purldb_url.removeprefix("http://").split(":")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(
            "AIRFLOW_CONN_PURLDB_TEST",
            json.dumps({"conn_type": "http", "schema": "http", "host": host, "port": int(port), "password": TOKEN}),
        )
        yield "purldb_test"


@pytest.fixture
def client(purldb_url) -> PurlDBClient:
    return PurlDBClient(purldb_url, TOKEN)


@pytest.fixture(scope="module")
def acme_scan(scio, demo_dir):
    """A real ScanCode.io scan of the acme archive (vendors six.py)."""
    import uuid

    project = scio.create_project(
        f"test-purldb-acme-{uuid.uuid4().hex[:8]}",
        pipelines=["scan_codebase"],
        upload_file=demo_dir / "acme-widget-1.0.tar.gz",
        execute_now=True,
    )
    raise_for_run(wait_for_run(scio, project["runs"][0]["uuid"]))
    return project["uuid"]


def test_matching_a_real_scancodeio_result_finds_the_vendored_package(
    client, conn_id, acme_scan, context, tmp_path
) -> None:
    op = PurlDBMatchOperator(
        task_id="match",
        scancodeio_project_uuid=acme_scan,
        output_dir=str(tmp_path),
        purldb_conn_id=conn_id,
        deferrable=False,
        poll_interval=0.3,
    )
    summary = op.execute(context)
    six = [p for p in summary["packages"] if p["purl"] == SIX_PURL]
    assert six, summary
    assert any(f.endswith("src/acme_widget/_vendor/six.py") for f in six[0]["files"])
    assert six[0]["declared_license_expression"] == "mit"
    assert 0 < summary["coverage"] < 1
    assert Path(summary["matches_path"]).is_file()
    matchings_before = client.http.get_json("matching/")["count"]
    again = op.execute(context)  # a retried task re-attaches to the recorded submission
    assert again["matching_uuid"] == summary["matching_uuid"]
    assert client.http.get_json("matching/")["count"] == matchings_before


def test_matching_defers_and_round_trips_through_the_trigger(client, conn_id, acme_scan, context, tmp_path) -> None:
    op = PurlDBMatchOperator(
        task_id="match",
        scancodeio_project_uuid=acme_scan,
        output_dir=str(tmp_path),
        purldb_conn_id=conn_id,
        poll_interval=0.2,
        first_poll_delay=0,
        sync_grace_seconds=0,
    )
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(context)
    classpath, kwargs = deferred.value.trigger.serialize()
    assert classpath == "sca.purldb.triggers.PurlDBMatchingTrigger"
    event = first_event(PurlDBMatchingTrigger(**kwargs))
    assert event["status"] == "success"
    assert SIX_PURL in {p["purl"] for p in op.execute_complete(context, event)["packages"]}
    sensor = PurlDBMatchingSensor(task_id="s", run_uuid=event["run_uuid"], purldb_conn_id=conn_id)
    assert sensor.execute(context)["status"] == "success"


def test_a_failed_matching_run_fails_the_task(client, conn_id, purldb_url, tmp_path, context) -> None:
    scan = tmp_path / "scan.json"
    scan.write_text(json.dumps({"files": [{"path": "a.py", "type": "file", "sha1": "0" * 40}]}))
    configure(purldb_url, fail_matching=True)
    try:
        op = PurlDBMatchOperator(
            task_id="m",
            scan_results_path=str(scan),
            output_dir=str(tmp_path / "out"),
            purldb_conn_id=conn_id,
            deferrable=False,
            poll_interval=0.2,
        )
        with pytest.raises(RunFailedError, match="MatchingError"):
            op.execute(context)
    finally:
        configure(purldb_url, fail_matching=False)


def test_5000_checksums_use_at_most_5_batches_plus_result_pages(client) -> None:
    index = json.loads(stack_index().read_text())
    known = sorted({r["sha1"] for p in index["packages"] for r in p["resources"] if r["sha1"]})
    unknown = [hashlib.sha1(f"absent-{n}".encode()).hexdigest() for n in range(5000 - len(known))]
    stats = LookupStats()
    resources = list(client.resources_by_checksums({"sha1": unknown + known}, stats=stats))
    assert stats.checksums == 5000
    assert stats.batches == 5, "a batch holds at most 1000 checksums"
    assert stats.per_batch[-1] == len(resources) >= len(known)
    assert stats.pages == -(-len(resources) // 20) - 1, "every result page was followed"
    assert {r["sha1"] for r in resources} == set(known)
    package_stats = LookupStats()
    packages = list(
        client.packages_by_checksums(
            {"sha1": [p["sha1"] for p in index["packages"]], "md5": unknown[:10]}, stats=package_stats
        )
    )
    assert {p["purl"] for p in packages} == {SIX_PURL} and package_stats.batches == 1


def test_checksum_lookup_operator_on_a_scan(client, conn_id, context, tmp_path, scio, acme_scan) -> None:
    scan = scio.download_results(acme_scan, "json", tmp_path, filename="scan.json")
    found = PurlDBChecksumLookupOperator(
        task_id="lookup", scan_results_path=str(scan), output_dir=str(tmp_path), purldb_conn_id=conn_id
    ).execute(context)
    assert found["resources"] >= 1 and found["requests"]["resource_batches"] == 1
    assert Path(found["path"]).is_file()


def test_invalid_purls_are_refused_clearly(client, conn_id, context) -> None:
    with pytest.raises(InvalidPurlError, match="'six==1.16'"):
        list(client.packages(purl="six==1.16"))
    assert client.validate("six==1.16")["valid"] is False
    with pytest.raises(AirflowFailException, match="invalid Package URL.*not-a-purl"):
        PurlDBValidatePurlsOperator(task_id="v", purls=[SIX_PURL, "not-a-purl"], purldb_conn_id=conn_id).execute(
            context
        )
    answers = PurlDBValidatePurlsOperator(
        task_id="v", purls=[SIX_PURL], check_existence=True, purldb_conn_id=conn_id
    ).execute(context)
    assert answers[0]["exists"] is True
    assert client.validate("pkg:pypi/no-such-package@0.0.1", check_existence=True)["exists"] is False


def test_unknown_packages_and_download_urls(client, conn_id, context) -> None:
    with pytest.raises(PermanentServiceError, match="HTTP 400.*no-such-package"):
        client.collect("pkg:pypi/no-such-package@1.0")
    with pytest.raises(InvalidPurlError, match="version"):
        client.collect("pkg:pypi/six")
    resolved = PurlDBResolveDownloadURLOperator(task_id="r", purl=SIX_PURL, purldb_conn_id=conn_id).execute(context)
    assert resolved["source"] == "purldb" and resolved["download_url"].startswith("http://127.0.0.1:")
    url, source = client.resolve_download_url("pkg:npm/is-odd@3.0.1")  # not in the index
    assert (url, source) == ("https://registry.npmjs.org/is-odd/-/is-odd-3.0.1.tgz", "purl2url")
    with pytest.raises(PermanentServiceError, match="no download URL for pkg:generic/nothing@1"):
        client.resolve_download_url("pkg:generic/nothing@1")


def test_400_bodies_are_surfaced(client) -> None:
    with pytest.raises(ValueError, match="unsupported checksum"):
        list(client.resources_by_checksums({"sha256": ["x"]}))
    with pytest.raises(PermanentServiceError, match="Unsupported field\\(s\\) given: sha256"):
        client.http.post_json("resources/filter_by_checksums/", {"sha1": ["a"], "sha256": ["b"]})
    with pytest.raises(PermanentServiceError, match="No values provided"):
        client.http.post_json("packages/filter_by_checksums/", {})


def test_token_auth_and_throttling(purldb_url) -> None:
    with pytest.raises(AuthenticationError, match="HTTP 401"):
        PurlDBClient(purldb_url).validate(SIX_PURL)
    # validate has PurlDB's default throttles, two of which share one counter: each call of a
    # token user counts twice (purldb settings.py ~L259-263, DRF views.check_throttles runs all)
    configure(purldb_url, throttle_per_hour=4)
    try:
        throttled = PurlDBClient(purldb_url, TOKEN, retry=RetryPolicy(attempts=2, max_retry_after=0.05))
        throttled.validate(SIX_PURL)
        throttled.validate(SIX_PURL)
        with pytest.raises(TransientServiceError, match="HTTP 429.*throttled") as info:
            throttled.validate(SIX_PURL)
        assert info.value.status == 429
    finally:
        configure(purldb_url, throttle_per_hour=10800)


def test_packages_resources_and_other_endpoints(client) -> None:
    packages = list(client.packages(purl=SIX_PURL))
    assert len(packages) == 2 and {p["filename"] for p in packages} == {
        "six-1.16.0-py2.py3-none-any.whl",
        "six-1.16.0.tar.gz",
    }
    wheel = next(p for p in packages if p["filename"].endswith(".whl"))
    assert client.get_package(wheel["uuid"])["sha1"] == wheel["sha1"]
    assert list(client.packages(sha1=wheel["sha1"]))[0]["uuid"] == wheel["uuid"]
    assert "scancode" in client.package_history(wheel["uuid"])[0]["message"]
    assert any(r["path"] == "six.py" for r in client.package_resources(wheel["uuid"]))
    assert client.enhanced_package_data(wheel["uuid"])["purl"] == SIX_PURL
    assert "queued for reindexing" in client.reindex_package(wheel["uuid"])
    everything = list(client.resources())
    assert len(everything) > 20, "only one page of resources was read"
    wheel_resources = list(client.resources(package=wheel["uuid"]))
    assert {r["path"] for r in wheel_resources} == {r["path"] for r in client.package_resources(wheel["uuid"])}
    wheel_only = next(r for r in wheel_resources if r["path"].endswith(".dist-info/WHEEL"))  # sha1 not in the sdist
    assert client.get_resource(wheel_only["sha1"])["path"] == wheel_only["path"]
    with pytest.raises(ValueError, match="no filter\\(s\\) \\['package_url'\\]"):
        list(client.resources(package_url=SIX_PURL))
    sets = list(client.package_sets())
    assert len(sets) == 1 and len(sets[0]["packages"]) == 3, "six 1.15.0 (metadata) and 1.16.0's wheel and sdist"
    assert client.to_purl("github.com/gorilla/mux v1.8.1") == "pkg:golang/github.com/gorilla/mux@v1.8.1"
    with pytest.raises(NotFoundError, match="does not have pkg:github/ckeditor/ckeditor4-react"):
        client.from_purl("pkg:github/ckeditor/ckeditor4-react")  # the real purl2git: 404 when not indexed


def test_a_purl_resolves_to_exactly_that_package_in_a_larger_index(client) -> None:
    """The stack's index holds metadata-only packages in front of the scanned ones, another six
    among them: the real ``purl`` filter finds the wanted release, the old ``package_url``
    parameter (which PurlDB ignores) would have given the first row, six 1.15.0."""
    everything = list(client.packages())
    assert len(everything) == 7 and everything[0]["purl"] == "pkg:pypi/six@1.15.0"
    assert [p["version"] for p in client.packages(purl="pkg:pypi/six")] == ["1.15.0", "1.16.0", "1.16.0"]
    assert len(list(client.http.iter_pages("packages/", {"package_url": SIX_PURL}))) == 7, "ignored by PurlDB"
    url, source = client.resolve_download_url(SIX_PURL)
    assert (source, url.rsplit("/", 1)[-1]) == ("purldb", "six-1.16.0-py2.py3-none-any.whl")
    assert client.resolve_download_url("pkg:pypi/requests@2.32.3") == (
        "https://pypi.org/packages/source/r/requests/requests-2.32.3.tar.gz",
        "purldb",
    )
    with pytest.raises(InvalidPurlError, match="has no version"):
        client.resolve_download_url("pkg:pypi/six")


def test_validate_answers_an_invalid_purl_without_failing_when_asked_not_to(conn_id, context) -> None:
    answers = PurlDBValidatePurlsOperator(
        task_id="v", purls=["not-a-purl", SIX_PURL], fail_on_invalid=False, purldb_conn_id=conn_id
    ).execute(context)
    assert [(a["purl"], a["valid"], a["message"]) for a in answers] == [
        ("not-a-purl", False, "The provided PackageURL is not valid."),
        (SIX_PURL, True, "The provided PackageURL is valid."),
    ]
