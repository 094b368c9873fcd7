"""Every DAG imports cleanly, carries tags, retries and an owner, and is named after its file."""

from __future__ import annotations

from pathlib import Path

import pytest

DAGS_DIR = Path(__file__).resolve().parents[2] / "dags"


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS_DIR))


def test_no_import_errors(dagbag) -> None:
    assert dagbag.import_errors == {}


def test_every_dag_file_defines_its_dag(dagbag) -> None:
    stems = {p.stem for p in DAGS_DIR.glob("*.py") if not p.name.startswith("_")}
    assert stems, "no DAG files found"
    assert stems == set(dagbag.dag_ids)


def test_dags_have_tags_owner_and_retries(dagbag) -> None:
    for dag_id, dag in dagbag.dags.items():
        assert dag.tags, f"{dag_id} has no tags"
        for task in dag.tasks:
            assert task.owner and task.owner != "airflow", f"{dag_id}.{task.task_id} has no owner"
            assert task.retries >= 1, f"{dag_id}.{task.task_id} has no retries"


def test_the_scan_unit_is_five_tasks_each_service_task_in_its_pool(dagbag) -> None:
    dag = dagbag.dags["sca_scan"]
    pools = {task.task_id: task.pool for task in dag.tasks}
    assert pools == {
        "scan.fetch": "default_pool",
        "scan.scancodeio": "scancodeio",
        "scan.purldb": "purldb",
        "scan.fossid": "fossid",
        "scan.report": "default_pool",
        "enforce_gate": "default_pool",
    }
    assert dag.get_task("scan.report").trigger_rule == "all_done"
