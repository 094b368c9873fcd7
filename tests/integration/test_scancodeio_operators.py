"""ScanCode.io operators, sensor and trigger driven directly against the real server."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from airflow.sdk.exceptions import AirflowFailException, TaskDeferred

from sca.common.errors import RunFailedError
from sca.scancodeio.operators import (
    ScanCodeIOAddInputOperator,
    ScanCodeIOCollectResultsOperator,
    ScanCodeIOCreateProjectOperator,
    ScanCodeIODownloadOutputsOperator,
    ScanCodeIORunPipelinesOperator,
)
from sca.scancodeio.sensors import ScanCodeIORunSensor
from sca.scancodeio.triggers import ScanCodeIORunTrigger
from tests.conftest import first_event

ACME = "acme-widget-1.0.tar.gz"


def test_a_retried_create_does_not_make_a_second_project(scio, unique, demo_dir, context) -> None:
    name = unique("retried-create")
    op = ScanCodeIOCreateProjectOperator(
        task_id="create", project_name=name, pipelines=["scan_codebase"], upload_file=str(demo_dir / ACME)
    )
    first = op.execute(context)
    second = op.execute(context)  # what a task retry does
    assert first["created"] is True and second["created"] is False
    assert first["uuid"] == second["uuid"]
    assert [p["uuid"] for p in scio.list_projects(name=name)] == [first["uuid"]]
    assert context["ti"].xcom["project_url"].endswith("/")
    assert len(scio.get_project(first["uuid"])["runs"]) == 1


def test_create_refuses_an_unknown_pipeline_before_creating(scio, unique, context) -> None:
    name = unique("bad-pipeline")
    op = ScanCodeIOCreateProjectOperator(task_id="create", project_name=name, pipelines=["no_such_pipeline"])
    with pytest.raises(AirflowFailException, match="no_such_pipeline.*not retried"):
        op.execute(context)
    assert scio.find_project(name) is None


def test_sync_pipeline_run_outputs_and_results(scio, unique, demo_dir, context, tmp_path: Path) -> None:
    created = ScanCodeIOCreateProjectOperator(task_id="create", project_name=unique("ops")).execute(context)
    add = ScanCodeIOAddInputOperator(task_id="add", project_uuid=created["uuid"], upload_file=str(demo_dir / ACME))
    assert add.execute(context) == [ACME]
    assert add.execute(context) == [ACME]  # retried: nothing added twice
    assert len(scio.get_project(created["uuid"])["input_sources"]) == 1
    run_op = ScanCodeIORunPipelinesOperator(
        task_id="run", project_uuid=created["uuid"], pipelines=["scan_codebase"], deferrable=False, poll_interval=1
    )
    result = run_op.execute(context)
    assert [r["status"] for r in result["runs"]] == ["success"]
    again = run_op.execute(context)  # retried: the finished run is reused, no new run
    assert [r["uuid"] for r in again["runs"]] == [r["uuid"] for r in result["runs"]]
    saved = ScanCodeIODownloadOutputsOperator(
        task_id="dl", project_uuid=created["uuid"], output_dir=str(tmp_path), formats=["json", "spdx", "cyclonedx"]
    ).execute(context)
    assert all(Path(v["path"]).stat().st_size == v["bytes"] > 0 for v in saved.values())
    collected = ScanCodeIOCollectResultsOperator(
        task_id="collect", project_uuid=created["uuid"], output_dir=str(tmp_path), fail_level="ERROR"
    ).execute(context)
    assert Path(collected["summary_path"]).is_file()
    assert collected["compliance_alerts"]["resources"]["error"]


def test_deferred_wait_round_trips_through_the_trigger(scio, unique, demo_dir, context) -> None:
    created = ScanCodeIOCreateProjectOperator(
        task_id="create", project_name=unique("defer"), upload_file=str(demo_dir / ACME)
    ).execute(context)
    op = ScanCodeIORunPipelinesOperator(
        task_id="run",
        project_uuid=created["uuid"],
        pipelines=["scan_codebase"],
        poll_interval=0.5,
        first_poll_delay=0,
        sync_grace_seconds=0,
        run_timeout=timedelta(minutes=10),
    )
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(context)
    classpath, kwargs = deferred.value.trigger.serialize()
    assert classpath == "sca.scancodeio.triggers.ScanCodeIORunTrigger"
    assert all(isinstance(v, (str, int, float, type(None))) for v in kwargs.values())
    trigger = ScanCodeIORunTrigger(**kwargs)  # what the triggerer does with the serialized form
    event = first_event(trigger)
    assert event["status"] == "success" and event["polls"] >= 1
    done = op.execute_complete(context, event, **deferred.value.kwargs)
    assert [r["status"] for r in done["runs"]] == ["success"]
    sensor = ScanCodeIORunSensor(task_id="sensor", run_uuid=event["run_uuid"])
    assert sensor.execute(context)["status"] == "success"


def test_a_failed_run_fails_the_operator_with_its_error(scio, unique, context) -> None:
    created = ScanCodeIOCreateProjectOperator(
        task_id="create", project_name=unique("fail"), input_urls=["ftp://127.0.0.1/missing.zip"]
    ).execute(context)
    op = ScanCodeIORunPipelinesOperator(
        task_id="run",
        project_uuid=created["uuid"],
        pipelines=["scan_single_package"],
        deferrable=False,
        poll_interval=1,
    )
    with pytest.raises(RunFailedError, match="ftp"):
        op.execute(context)
    sensor = ScanCodeIORunSensor(task_id="s", run_uuid=scio.get_project(created["uuid"])["runs"][0]["uuid"])
    with pytest.raises(RunFailedError, match="failure"):
        sensor.execute(context)


def test_several_pipelines_run_in_order(scio, unique, demo_dir, context) -> None:
    created = ScanCodeIOCreateProjectOperator(
        task_id="create",
        project_name=unique("multi"),
        pipelines=["scan_codebase", "collect_symbols_pygments"],
        upload_file=str(demo_dir / ACME),
        upload_file_tag="source",
    ).execute(context)
    project = scio.get_project(created["uuid"])
    assert project["input_sources"][0]["tag"] == "source"
    assert [r["pipeline_name"] for r in project["runs"]] == ["scan_codebase", "collect_symbols_pygments"]
    result = ScanCodeIORunPipelinesOperator(
        task_id="run",
        project_uuid=created["uuid"],
        pipelines=["scan_codebase", "collect_symbols_pygments"],
        deferrable=False,
        poll_interval=1,
    ).execute(context)
    assert [(r["pipeline"], r["status"]) for r in result["runs"]] == [
        ("scan_codebase", "success"),
        ("collect_symbols_pygments", "success"),
    ]


def test_a_failure_midway_names_the_failing_run(scio, unique, demo_dir, context) -> None:
    pipelines = ["inspect_packages:StaticResolver", "scan_codebase"]  # the second one fails on this server
    created = ScanCodeIOCreateProjectOperator(
        task_id="create", project_name=unique("midway"), pipelines=pipelines, upload_file=str(demo_dir / ACME)
    ).execute(context)
    op = ScanCodeIORunPipelinesOperator(
        task_id="run", project_uuid=created["uuid"], pipelines=pipelines, deferrable=False, poll_interval=1
    )
    with pytest.raises(RunFailedError, match=r"\(scan_codebase\) ended failure"):
        op.execute(context)
    runs = scio.get_project(created["uuid"])["runs"]
    assert [r["status"] for r in runs] == ["success", "failure"]
