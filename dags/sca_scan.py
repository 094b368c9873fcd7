"""sca_scan: one input through ScanCode.io, PurlDB and FossID, judged by one gate, published as a
report in the artefact store and loaded into the results warehouse.

Trigger it from the UI form (Trigger DAG → the params below) or the REST API (see README). The
scan unit (``sca.tasks.scan_unit``) does the work: fetch once into the content-addressed store,
each tool reused from the ledger when the same bytes were scanned with the same settings, the
gate over typed results, the warehouse load, the reports. ``enforce_gate`` then fails the run
when the verdict is FAIL or INCOMPLETE and the gate action is "fail".
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Asset, Param, dag, task

from sca.notify.callbacks import notify_scan_failure, notify_scan_success
from sca.tasks.dag_defaults import CONNECTION_ARGS, FOSSID_SCAN_OPTIONS, SCAN_DEFAULT_ARGS, connection_params
from sca.tasks.scan_unit import scan_unit

DAG_ID = "sca_scan"
UNIT = "scan"
REPORT = Asset(uri=f"sca://{DAG_ID}/summary", name=f"{DAG_ID}_summary_report")


@dag(
    dag_id=DAG_ID,
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=8,
    render_template_as_native_obj=True,
    tags=["sca", "scan", "scancodeio", "purldb", "fossid"],
    default_args=SCAN_DEFAULT_ARGS,
    # notifications (README "Notifications"): the verdict when FAIL or INCOMPLETE, or the failure
    on_success_callback=notify_scan_success,
    on_failure_callback=notify_scan_failure,
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
            dict(FOSSID_SCAN_OPTIONS),
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
        "scancodeio_max_age_days": Param(
            None,
            type=["number", "null"],
            minimum=0,
            title="ScanCode.io reuse window (days)",
            description="null: a finished scan of the same bytes and pipelines is reused while the server "
            "version is unchanged; a number also limits its age (0: always scan again).",
        ),
        "fossid_max_age_days": Param(
            30,
            type=["number", "null"],
            minimum=0,
            title="FossID reuse window (days)",
            description="A finished FossID scan of the same bytes and settings is reused for this many days "
            "(its knowledge base changes); null: always.",
        ),
        "fossid_scan_budget_minutes": Param(
            240,
            type=["number", "null"],
            minimum=0.1,
            title="FossID scan budget (minutes)",
            description="A FossID scan still RUNNING after this long is taken as hung: it is cancelled and run "
            "again once, whole (a scan that ends FAILED is run again with scan_failed_only); null: no budget.",
        ),
        "purldb_queue_budget_minutes": Param(
            None,
            type=["number", "null"],
            minimum=0.1,
            title="PurlDB queue budget (minutes)",
            description="A PurlDB matching not started this long after it was submitted is taken as lost: it is "
            "taken off the queue, deleted and submitted again once (a matching that fails is resubmitted "
            "anyway). null (default): no budget, as a busy PurlDB can queue matchings for long.",
        ),
        "stall_minutes": Param(
            30,
            type="number",
            minimum=0.5,
            title="Stalled run budget (minutes)",
            description="A ScanCode.io run that writes no log line for this long (its worker died with "
            "the job) is stopped, its project reset and its pipelines run again (at most twice).",
        ),
        **connection_params(),
    },
)
def sca_scan() -> None:
    unit = scan_unit(
        UNIT,
        input_value="{{ params.input }}",
        scancodeio_pipelines="{{ params.scancodeio_pipelines }}",
        scancodeio_formats="{{ params.scancodeio_formats }}",
        run_purldb="{{ params.run_purldb }}",
        run_fossid="{{ params.run_fossid }}",
        fossid_project="{{ params.fossid_project }}",
        fossid_scan_options="{{ params.fossid_scan_options }}",
        fossid_reports="{{ params.fossid_reports }}",
        fossid_max_age_days="{{ params.fossid_max_age_days }}",
        fossid_scan_budget_minutes="{{ params.fossid_scan_budget_minutes }}",
        purldb_queue_budget_minutes="{{ params.purldb_queue_budget_minutes }}",
        scancodeio_max_age_days="{{ params.scancodeio_max_age_days }}",
        fail_level="{{ params.fail_level }}",
        gate_action="{{ params.gate_action }}",
        max_input_mb="{{ params.max_input_mb }}",
        stall_minutes="{{ params.stall_minutes }}",
        outlets=[REPORT],
        **CONNECTION_ARGS,
    )

    @task
    def enforce_gate(report: dict) -> str:
        from airflow.sdk.exceptions import AirflowFailException

        if report["fails_run"]:
            raise AirflowFailException(report["message"])
        return str(report["verdict"])

    unit >> enforce_gate("{{ ti.xcom_pull(task_ids='" + UNIT + ".report') }}")


sca_scan()
