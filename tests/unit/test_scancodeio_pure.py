"""Pure parts of the ScanCode.io integration: statuses, names, messages, URL handling."""

from __future__ import annotations

import time

import pytest

from sca.common.errors import PermanentServiceError, RunFailedError
from sca.common.files import filename_from_content_disposition, safe_filename
from sca.common.pipeline_run import raise_for_run
from sca.common.polling import PollSchedule, until_deadline
from sca.scancodeio.client import api_base_url, is_name_taken, pipeline_base_name
from sca.scancodeio.naming import MAX_NAME, project_name, project_slug
from sca.scancodeio.status import FAILED_STATUSES, TERMINAL_STATUSES, RunStatus


def test_terminal_and_failed_sets() -> None:
    assert {s.value for s in TERMINAL_STATUSES} == {"success", "failure", "stopped", "stale"}
    assert RunStatus.SUCCESS not in FAILED_STATUSES
    assert not RunStatus("queued").is_terminal and RunStatus("stale").is_failed


def test_project_names_are_deterministic_short_and_distinct() -> None:
    a = project_name("sca_scan", "manual__2026-11-23T10:00:00+00:00", "https://x/pkg.tar.gz")
    assert a == project_name("sca_scan", "manual__2026-11-23T10:00:00+00:00", "https://x/pkg.tar.gz")
    assert a != project_name("sca_scan", "manual__2026-11-23T10:00:00+00:00", "https://x/pkg2.tar.gz")
    long_a = project_name("d", "r", "x" * 300 + "a")
    long_b = project_name("d", "r", "x" * 300 + "b")
    assert long_a != long_b and len(long_a) <= MAX_NAME
    assert all(c.isalnum() or c in "._-" for c in a)


def test_safe_filename_cannot_escape() -> None:
    assert safe_filename("../../etc/passwd") == "passwd"
    assert safe_filename("..\\..\\boot.ini") == "boot.ini"
    assert safe_filename("...") == "download"
    assert safe_filename("a b;c.json") == "a_b_c.json"
    assert filename_from_content_disposition('attachment; filename="scancodeio_x.json"') == "scancodeio_x.json"


def test_failed_run_raises_with_its_output_tail() -> None:
    run = {
        "uuid": "u1",
        "pipeline_name": "scan_single_package",
        "status": "failure",
        "task_exitcode": 1,
        "task_output": "Traceback...\nException: URL scheme 'ftp' is not supported.",
        "log": "",
    }
    with pytest.raises(RunFailedError, match="URL scheme 'ftp' is not supported"):
        raise_for_run(run)
    assert raise_for_run({**run, "status": "running"}) is RunStatus.RUNNING


def test_name_taken_is_recognised() -> None:
    taken = PermanentServiceError("x", detail={"name": ["project with this name already exists."]})
    assert is_name_taken(taken)
    assert not is_name_taken(PermanentServiceError("x", detail={"name": ["This field is required."]}))


def test_urls_and_pipeline_specs() -> None:
    assert api_base_url("http://h:1") == "http://h:1/api/"
    assert api_base_url("http://h:1/api/") == "http://h:1/api/"
    assert pipeline_base_name("map_deploy_to_develop:Java,JavaScript") == "map_deploy_to_develop"


def test_poll_schedule_backs_off_to_a_cap() -> None:
    schedule = PollSchedule(initial_interval=2, max_interval=30, factor=2)
    assert [schedule.interval(n) for n in range(6)] == [2, 4, 8, 16, 30, 30]


def test_poll_schedule_then_asks_at_a_tenth_of_the_time_waited() -> None:
    schedule = PollSchedule(initial_interval=2, max_interval=30, factor=2)
    # below 300 s waited the cap rules; then 10 % of the wait, up to 600 s
    assert [schedule.interval(9, elapsed) for elapsed in (0, 299, 300, 1200, 3600, 6000, 86400)] == [
        30,
        30,
        30,
        120,
        360,
        600,
        600,
    ]
    assert schedule.interval(0, 1200) == 120  # a first poll late in a wait (a restarted trigger)
    assert PollSchedule(2, 30, 2, share_of_elapsed=0.0).interval(9, 3600) == 30  # fixed at the cap


def test_a_sleep_ends_by_the_deadline() -> None:
    assert until_deadline(600, None) == 600
    now = time.time()
    assert 99 <= until_deadline(600, now + 100) <= 100
    assert until_deadline(600, now - 5) == 1.0  # past it: one more second, then the deadline check


@pytest.mark.parametrize(
    "name, slug",
    [  # answers from Django 6.1's slugify, which ScanCode.io uses
        (
            "sca-sca_scan-manual__2026-11-23T13-50-53.187711-00-00-pkg-pypi-six-1.16.0-3d07c277cded",
            "sca-sca_scan-manual__2026-11-23t13-50-53187711-00-00-pkg-pypi-six-1160-3d07c277cded",
        ),
        ("Foo  Bar--Baz_\u00fc!", "foo-bar-baz_u"),
        ("test-wheel-ab12", "test-wheel-ab12"),
    ],
)
def test_project_slug_matches_scancodeio(name: str, slug: str) -> None:
    assert project_slug(name, "76fc5c90-16c4-476e-9ea4-fb63d6b40a9e") == f"{slug}-76fc5c90"


def test_settings_are_refused_with_the_single_package_pipeline_before_any_request() -> None:
    from sca.scancodeio.client import ScanCodeIOClient

    client = ScanCodeIOClient("http://127.0.0.1:9", "token")  # nothing listens there: no request may be made
    with pytest.raises(ValueError, match="scan_single_package takes exactly one input file"):
        client.create_project("p", pipelines=["scan_single_package"], settings={"product_name": "x"})
