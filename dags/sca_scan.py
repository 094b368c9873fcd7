"""sca_scan: one input through ScanCode.io, PurlDB and FossID, judged by one gate, published as a
run folder with every output, ``summary.json`` and a human-readable ``summary.md``/``.html``.

Trigger it from the UI form (Trigger DAG → the params below) or the REST API (see README). The
input is fetched once; ScanCode.io and FossID get the same bytes; PurlDB matches ScanCode.io's
results. Tools switched off are skipped. The gate's verdict is always published; ``enforce_gate``
then fails the run when the verdict is FAIL and the gate action is "fail".
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pendulum
from airflow.sdk import Asset, Param, TaskGroup, dag, get_current_context, task

from sca.common.runfolder import run_folder
from sca.fossid.operators import (
    FossIDCollectResultsOperator,
    FossIDCreateScanOperator,
    FossIDDependencyAnalysisOperator,
    FossIDEnsureProjectOperator,
    FossIDExtractArchivesOperator,
    FossIDReportsOperator,
    FossIDRunScanOperator,
    FossIDUploadOperator,
)
from sca.purldb.operators import PurlDBMatchOperator
from sca.scancodeio.naming import project_name
from sca.scancodeio.operators import (
    ScanCodeIOAddInputOperator,
    ScanCodeIOCollectResultsOperator,
    ScanCodeIOCreateProjectOperator,
    ScanCodeIODownloadOutputsOperator,
    ScanCodeIORunPipelinesOperator,
)

DAG_ID = "sca_scan"
REPORT_ASSETS = {
    kind: Asset(uri=f"sca://{DAG_ID}/{kind}", name=f"{DAG_ID}_{kind}_report")
    for kind in ("summary", "scancodeio", "purldb", "fossid")
}
FETCHED = "{{ ti.xcom_pull(task_ids='fetch_input') }}"
PROJECT = "{{ ti.xcom_pull(task_ids='scancodeio.create_project')['uuid'] }}"
SCAN_CODE = "{{ project_name(dag.dag_id, run_id, params.input) }}"


def scancodeio_results(ti) -> dict | None:
    """What the ScanCode.io group collected, with the project's UI link (None when skipped)."""
    collected = ti.xcom_pull(task_ids="scancodeio.collect_results")
    if not collected:
        return None
    return {
        **collected,
        "ui_url": ti.xcom_pull(task_ids="scancodeio.create_project")["ui_url"],
        "outputs": ti.xcom_pull(task_ids="scancodeio.download_outputs"),
    }


def folder(part: str) -> str:
    return "{{ run_folder(dag.dag_id, run_id, '" + part + "') }}"


@dag(
    dag_id=DAG_ID,
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=8,
    render_template_as_native_obj=True,
    tags=["sca", "scan", "scancodeio", "purldb", "fossid"],
    default_args={
        "owner": "sca",
        "retries": 2,
        "retry_delay": timedelta(seconds=30),
        "retry_exponential_backoff": True,
    },
    user_defined_macros={"run_folder": run_folder, "project_name": project_name},
    doc_md=__doc__,
    params={
        "input": Param(
            "acme-widget-1.0.tar.gz",
            type="string",
            minLength=1,
            title="Input",
            description="What to scan: an http(s) URL of a package archive, a purl "
            "(pkg:pypi/six@1.16.0, resolved to its download URL through PurlDB), or a file "
            "name under the inputs folder (SCA_INPUTS_DIR).",
        ),
        "scancodeio_pipelines": Param(
            ["scan_single_package"],
            type="array",
            minItems=1,
            title="ScanCode.io pipelines",
            items={"type": "string", "pattern": r"^[a-z_]+(:[A-Za-z_]+(,[A-Za-z_]+)*)?$"},
            description="Pipelines in order, optionally with groups (name:Group1,Group2); "
            "checked against the server's list.",
        ),
        "run_purldb": Param(
            True,
            type="boolean",
            title="PurlDB matching",
            description="Match ScanCode.io's results against PurlDB (finds vendored code).",
        ),
        "run_fossid": Param(
            True, type="boolean", title="FossID scan", description="Scan the same bytes with FossID Workbench."
        ),
        "fossid_project": Param("sca-scans", type="string", minLength=1, maxLength=100, title="FossID project code"),
        "fossid_scan_options": Param(
            {
                "auto_identification_detect_declaration": True,
                "auto_identification_detect_copyright": True,
                "sensitivity": 10,
            },
            type="object",
            title="FossID scan options",
            description="Options for scans/run (limit, sensitivity, auto_identification_*, "
            "delta_only, reuse_identification …).",
        ),
        "scancodeio_formats": Param(
            ["json", "spdx", "cyclonedx", "xlsx", "attribution"],
            type="array",
            title="ScanCode.io report formats",
            items={
                "type": "string",
                "enum": ["json", "xlsx", "spdx", "cyclonedx", "attribution", "all_formats", "all_outputs"],
            },
        ),
        "fossid_reports": Param(
            ["xlsx", "spdx", "cyclone_dx", "html"],
            type="array",
            title="FossID report types",
            items={"type": "string", "enum": ["xlsx", "spdx", "spdx_lite", "cyclone_dx", "html"]},
        ),
        "fail_level": Param(
            "ERROR",
            type="string",
            enum=["ERROR", "WARNING", "MISSING"],
            title="Compliance fail level",
            description="Findings at or above this severity fail the gate.",
        ),
        "gate_action": Param(
            "fail",
            type="string",
            enum=["fail", "warn"],
            title="Gate action",
            description="fail: a FAIL verdict fails the run; warn: it is only reported.",
        ),
        "max_input_mb": Param(512, type="integer", minimum=1, maximum=10240, title="Input size limit (MiB)"),
    },
)
def sca_scan() -> None:
    @task(retries=3, multiple_outputs=False)
    def fetch_input() -> dict:
        from sca.common.fail_fast import fail_fast
        from sca.pipeline.fetch import fetch_input as fetch
        from sca.purldb.hook import PurlDBHook

        context = get_current_context()
        params = context["params"]
        fetched = fail_fast(fetch)(
            params["input"],
            inputs_dir=Path(os.environ.get("SCA_INPUTS_DIR", ".")),
            target_dir=Path(run_folder(DAG_ID, context["run_id"], "input")),
            max_bytes=int(params["max_input_mb"]) * 1024 * 1024,
            resolve_purl=lambda purl: PurlDBHook().get_conn().resolve_download_url(purl),
        )
        print(f"Fetched {fetched.source} -> {fetched.path} ({fetched.size} bytes, sha256 {fetched.sha256})")
        return fetched.as_dict()

    fetched = fetch_input()

    with TaskGroup("scancodeio") as scancodeio:
        create = ScanCodeIOCreateProjectOperator(
            task_id="create_project",
            project_name=SCAN_CODE,
            pipelines="{{ params.scancodeio_pipelines }}",
            labels=[DAG_ID],
        )
        upload = ScanCodeIOAddInputOperator(
            task_id="upload", project_uuid=PROJECT, upload_file="{{ ti.xcom_pull(task_ids='fetch_input')['path'] }}"
        )
        run = ScanCodeIORunPipelinesOperator(
            task_id="run_pipelines",
            project_uuid=PROJECT,
            pipelines="{{ params.scancodeio_pipelines }}",
            poll_interval=3.0,
            max_poll_interval=30.0,
        )
        outputs = ScanCodeIODownloadOutputsOperator(
            task_id="download_outputs",
            project_uuid=PROJECT,
            output_dir=folder("scancodeio"),
            formats="{{ params.scancodeio_formats }}",
        )
        collect = ScanCodeIOCollectResultsOperator(
            task_id="collect_results",
            project_uuid=PROJECT,
            output_dir=folder("scancodeio"),
            fail_level="{{ params.fail_level }}",
        )
        create >> upload >> run >> [outputs, collect]

    @task
    def tool_enabled(switch: str) -> bool:
        from airflow.sdk.exceptions import AirflowSkipException

        if not get_current_context()["params"][switch]:
            raise AirflowSkipException(f"{switch} is off for this run")
        return True

    with TaskGroup("purldb") as purldb:
        match = PurlDBMatchOperator(task_id="match", scancodeio_project_uuid=PROJECT, output_dir=folder("purldb"))

        @task(multiple_outputs=False)
        def enrich(matches: dict) -> dict:
            """PurlDB's package data (license, homepage, download URL, sets) for every matched package."""
            import json

            from sca.purldb.hook import PurlDBHook

            client = PurlDBHook().get_conn()
            enriched = {
                p["purl"]: [
                    {
                        k: pkg.get(k)
                        for k in (
                            "filename",
                            "declared_license_expression",
                            "homepage_url",
                            "download_url",
                            "sha1",
                            "release_date",
                        )
                    }
                    for pkg in client.packages(purl=p["purl"])
                ]
                for p in matches["packages"]
            }
            target = Path(matches["matches_path"]).with_name("purldb-enrichment.json")
            target.write_text(json.dumps(enriched, indent=2))
            return {**matches, "enrichment_path": str(target)}

        tool_enabled.override(task_id="enabled")("run_purldb") >> match
        enriched = enrich(match.output)

    with TaskGroup("fossid") as fossid:
        project = FossIDEnsureProjectOperator(task_id="ensure_project", project_code="{{ params.fossid_project }}")
        scan = FossIDCreateScanOperator(
            task_id="create_scan",
            project_code="{{ params.fossid_project }}",
            scan_code=SCAN_CODE,
            scan_name="{{ ti.xcom_pull(task_ids='fetch_input')['filename'] }}",
        )
        fossid_upload = FossIDUploadOperator(
            task_id="upload", scan_code=SCAN_CODE, file_path="{{ ti.xcom_pull(task_ids='fetch_input')['path'] }}"
        )
        extract = FossIDExtractArchivesOperator(task_id="extract_archives", scan_code=SCAN_CODE, poll_interval=2.0)
        fossid_run = FossIDRunScanOperator(
            task_id="run_scan", scan_code=SCAN_CODE, poll_interval=3.0, scan_options="{{ params.fossid_scan_options }}"
        )
        dependencies = FossIDDependencyAnalysisOperator(
            task_id="dependency_analysis", scan_code=SCAN_CODE, poll_interval=2.0
        )
        reports = FossIDReportsOperator(
            task_id="reports",
            scan_code=SCAN_CODE,
            output_dir=folder("fossid"),
            report_types="{{ params.fossid_reports }}",
        )
        fossid_collect = FossIDCollectResultsOperator(
            task_id="collect_results",
            scan_code=SCAN_CODE,
            project_code="{{ params.fossid_project }}",
            output_dir=folder("fossid"),
        )
        (
            tool_enabled.override(task_id="enabled")("run_fossid")
            >> project
            >> scan
            >> fossid_upload
            >> extract
            >> fossid_run
            >> dependencies
            >> [reports, fossid_collect]
        )

    @task(trigger_rule="none_failed_min_one_success", multiple_outputs=False)
    def gate() -> dict:
        import json

        from sca.pipeline.gate import evaluate

        context = get_current_context()
        ti, params = context["ti"], context["params"]
        scio = scancodeio_results(ti)
        verdict = evaluate(
            ti.xcom_pull(task_ids="fetch_input")["filename"],
            scancodeio=scio,
            fossid=ti.xcom_pull(task_ids="fossid.collect_results"),
            purldb=ti.xcom_pull(task_ids="purldb.enrich"),
            fail_level=params["fail_level"],
            action=params["gate_action"],
        )
        result = verdict.as_dict()
        Path(run_folder(DAG_ID, context["run_id"]), "gate.json").write_text(json.dumps(result, indent=2))
        print(verdict.message())
        return result

    @task(outlets=list(REPORT_ASSETS.values()), multiple_outputs=False)
    def publish(verdict: dict) -> dict:
        from sca.pipeline.report import build_summary, write_reports

        context = get_current_context()
        ti = context["ti"]
        root = Path(run_folder(DAG_ID, context["run_id"]))
        scio = scancodeio_results(ti)
        fos = ti.xcom_pull(task_ids="fossid.collect_results")
        if fos:
            fos = {**fos, "reports": ti.xcom_pull(task_ids="fossid.reports")}
        summary = build_summary(
            run={"dag_id": DAG_ID, "run_id": context["run_id"]},
            fetched=ti.xcom_pull(task_ids="fetch_input"),
            verdict=verdict,
            scancodeio=scio,
            purldb=ti.xcom_pull(task_ids="purldb.enrich"),
            fossid=fos,
            folder=root,
        )
        paths = write_reports(root, summary)
        parts = {
            "summary": paths["summary.json"],
            "scancodeio": str(root / "scancodeio"),
            "purldb": str(root / "purldb"),
            "fossid": str(root / "fossid"),
        }
        for kind, asset in REPORT_ASSETS.items():
            context["outlet_events"][asset].extra = {
                "path": parts[kind],
                "package": summary["input"]["filename"],
                "verdict": verdict["status"],
                "skipped": kind in summary["skipped"],
                "run_id": context["run_id"],
            }
        print(f"Report: {paths['summary.md']}")
        return {"results_dir": str(root), "verdict": verdict["status"], **paths}

    @task
    def enforce_gate(verdict: dict) -> str:
        from airflow.sdk.exceptions import AirflowFailException

        if verdict["status"] == "fail" and verdict["action"] == "fail":
            raise AirflowFailException(verdict["message"])
        return verdict["status"]

    verdict = gate()
    fetched >> scancodeio >> purldb
    fetched >> fossid
    [scancodeio, enriched, fossid] >> verdict
    published = publish(verdict)
    published >> enforce_gate(verdict)


sca_scan()
