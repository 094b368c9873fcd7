"""sca_scancodeio_smoke: one bundled archive through ScanCode.io, waiting with a deferrable trigger.

The smallest end-to-end check of the stack: create a project (deterministic name, so a retry
re-attaches), upload the archive, run the pipeline (the wait happens in the triggerer), download
the outputs into the run folder and collect the summary and compliance alerts.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum
from airflow.sdk import Param, dag, task

from sca.common.runfolder import run_folder
from sca.scancodeio.naming import project_name
from sca.scancodeio.operators import (
    ScanCodeIOCollectResultsOperator,
    ScanCodeIOCreateProjectOperator,
    ScanCodeIODownloadOutputsOperator,
    ScanCodeIORunPipelinesOperator,
)

INPUTS_DIR = os.environ.get("SCA_INPUTS_DIR", "")


@dag(
    dag_id="sca_scancodeio_smoke",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=4,
    tags=["sca", "scancodeio", "smoke"],
    default_args={"owner": "sca", "retries": 2, "retry_delay": timedelta(seconds=20)},
    user_defined_macros={"run_folder": run_folder, "project_name": project_name},
    params={
        "archive": Param(
            "six-1.16.0-py2.py3-none-any.whl",
            type="string",
            minLength=1,
            description="File name of an archive in the inputs folder (SCA_INPUTS_DIR).",
        ),
        "pipeline": Param(
            "scan_single_package", type="string", description="ScanCode.io pipeline, optionally with :groups."
        ),
    },
    doc_md=__doc__,
)
def sca_scancodeio_smoke() -> None:
    @task
    def locate_input(archive: str) -> str:
        from pathlib import Path

        root = Path(INPUTS_DIR).resolve()
        path = (root / archive).resolve()
        if root not in path.parents or not path.is_file():
            raise FileNotFoundError(f"params.archive {archive!r} is not a file under the inputs folder {root}")
        return str(path)

    upload = locate_input("{{ params.archive }}")
    create = ScanCodeIOCreateProjectOperator(
        task_id="create_project",
        project_name="{{ project_name(dag.dag_id, run_id, params.archive) }}",
        upload_file=upload,
        labels=["sca_scancodeio_smoke"],
    )
    run = ScanCodeIORunPipelinesOperator(
        task_id="run_pipelines",
        project_uuid="{{ ti.xcom_pull(task_ids='create_project')['uuid'] }}",
        pipelines=["{{ params.pipeline }}"],
        poll_interval=2.0,
        max_poll_interval=15.0,
        sync_grace_seconds=0,  # this DAG exists to prove the deferred path: always defer
    )
    outputs = ScanCodeIODownloadOutputsOperator(
        task_id="download_outputs",
        project_uuid="{{ ti.xcom_pull(task_ids='create_project')['uuid'] }}",
        output_dir="{{ run_folder(dag.dag_id, run_id, 'scancodeio') }}",
        formats=["json", "spdx", "cyclonedx", "xlsx", "attribution"],
    )
    collect = ScanCodeIOCollectResultsOperator(
        task_id="collect_results",
        project_uuid="{{ ti.xcom_pull(task_ids='create_project')['uuid'] }}",
        output_dir="{{ run_folder(dag.dag_id, run_id, 'scancodeio') }}",
        fail_level="WARNING",
    )

    @task(multiple_outputs=False)
    def report(collected: dict, saved: dict, **context) -> dict:
        folder = os.path.dirname(collected["summary_path"])
        print(f"ScanCode.io results for {collected['project']['name']} are in {folder}")
        for fmt, info in saved.items():
            print(f"  {fmt}: {info['path']} ({info['bytes']} bytes)")
        return {
            "results_dir": folder,
            "project": collected["project"],
            "outputs": saved,
            "declared_license_expression": collected["declared_license_expression"],
            "compliance_alerts": collected["compliance_alerts"],
        }

    create >> run >> [outputs, collect]
    report(collect.output, outputs.output)


sca_scancodeio_smoke()
