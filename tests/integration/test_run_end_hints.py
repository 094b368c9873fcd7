"""Run-end hints on the stack: the receiver in the Airflow API server (sca.hints.plugin) checks
what it is sent and records it in run_end_hints; the real ScanCode.io delivers a run's end to it;
the trigger that waits on the run is woken by it instead of its next safety poll."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
import requests

from sca.hints.settings import WebhookSettings, settings_from_json
from sca.hints.signing import callback_url
from sca.hints.watcher import HintWatcher
from sca.scancodeio.triggers import ScanCodeIORunTrigger
from tests.conftest import first_event, require_env

WHEEL = "six-1.16.0-py2.py3-none-any.whl"


@pytest.fixture(scope="module")
def hooks() -> WebhookSettings:
    return settings_from_json(require_env("AIRFLOW_CONN_SCA_WEBHOOKS"))


@pytest.fixture(scope="module")
def db() -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(require_env("AIRFLOW_CONN_SCA_RESULTS_DB"), autocommit=True) as conn:
        yield conn


def hint_row(db: psycopg.Connection[Any], run_uuid: str) -> tuple[Any, ...] | None:
    return db.execute(
        "SELECT service, project, status, deliveries FROM run_end_hints WHERE run_uuid = %s", (run_uuid,)
    ).fetchone()


def payload(run_uuid: str, project: str, status: str = "success") -> dict[str, Any]:
    return {"project": {"name": project, "uuid": "x"}, "run": {"uuid": run_uuid, "status": status}}


def test_the_receiver_refuses_urls_it_did_not_issue_and_bodies_that_are_not_run_ends(
    hooks: WebhookSettings, db: psycopg.Connection[Any]
) -> None:
    run_uuid = f"test-{uuid.uuid4()}"
    good = callback_url(hooks.base_url, hooks.secret, "scancodeio", "proj-a")
    forged = callback_url(hooks.base_url, "not-the-secret", "scancodeio", "proj-a")
    answer = requests.post(forged, json=payload(run_uuid, "proj-a"), timeout=10)
    assert (answer.status_code, answer.json()) == (403, {"detail": "unknown callback URL"})
    other_project = good.replace("/proj-a/", "/proj-b/")
    assert requests.post(other_project, json=payload(run_uuid, "proj-b"), timeout=10).status_code == 403
    answer = requests.post(good, json=payload(run_uuid, "proj-b"), timeout=10)
    assert (answer.status_code, answer.json()["detail"]) == (
        400,
        "not a run-end payload: the body's project is 'proj-b', not the project of this URL",
    )
    answer = requests.post(good, json={"project": {}}, timeout=10)
    assert answer.status_code == 400
    assert answer.json()["detail"] == (
        "not a run-end payload: the body has no 'run' object (a ScanCode.io webhook payload has 'project' and 'run')"
    )
    assert requests.post(good, data=b"x" * ((1 << 20) + 1), timeout=10).status_code == 413
    assert hint_row(db, run_uuid) is None


def test_a_run_end_is_recorded_once_per_run_and_wakes_a_wait_at_once(
    hooks: WebhookSettings, db: psycopg.Connection[Any]
) -> None:
    run_uuid = f"test-{uuid.uuid4()}"
    url = callback_url(hooks.base_url, hooks.secret, "scancodeio", "proj-c")
    answer = requests.post(url, json=payload(run_uuid, "proj-c", "failure"), timeout=10)
    assert (answer.status_code, answer.json()) == (200, {"status": "recorded", "run": run_uuid})
    assert hint_row(db, run_uuid) == ("scancodeio", "proj-c", "failure", 1)
    requests.post(url, json=payload(run_uuid, "proj-c", "failure"), timeout=10).raise_for_status()
    assert hint_row(db, run_uuid) == ("scancodeio", "proj-c", "failure", 2), "a repeat counts, no second row"

    async def waits() -> tuple[bool, bool, int]:
        watcher = HintWatcher()
        hinted = await watcher.wait("scancodeio", run_uuid, 30.0)
        other = await watcher.wait("scancodeio", f"test-{uuid.uuid4()}", 1.5)
        return hinted, other, watcher.queries

    hinted, other, queries = asyncio.run(waits())
    assert (hinted, other) == (True, False)
    assert queries >= 2  # one found the hint; the other wait read the table until its timeout


def test_scancodeio_posts_the_end_of_a_run_and_the_trigger_wakes_on_it(
    hooks: WebhookSettings, db: psycopg.Connection[Any], scio: Any, unique: Any, demo_dir: Any
) -> None:
    name = unique("hint")
    target = callback_url(hooks.base_url, hooks.secret, "scancodeio", name)
    project = scio.create_project(
        name, pipelines=["scan_single_package"], webhooks=[{"target_url": target, "trigger_on_each_run": True}]
    )
    try:
        scio.add_input(project["uuid"], upload_file=demo_dir / WHEEL)
        run_uuid = project["runs"][0]["uuid"]
        scio.start_pipeline(run_uuid)
        trigger = ScanCodeIORunTrigger(
            run_uuid=run_uuid, conn_id="scancodeio_default", first_poll_delay=0, hint_service="scancodeio"
        )
        classpath, kwargs = trigger.serialize()
        event = first_event(ScanCodeIORunTrigger(**kwargs))
        # first poll at once (queued or running); the next safety poll was due 60 s later; the
        # webhook woke the wait, the second poll saw the end
        assert (event["status"], event["polls"], event["hints"]) == ("success", 2, 1)
        assert hint_row(db, run_uuid) == ("scancodeio", name, "success", 1)
    finally:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                scio.delete_project(project["uuid"])
                break
            except Exception:  # still running when the test failed early
                time.sleep(2)
