"""The reusable scan unit: one package through every tool, as one TaskGroup.

    fetch ─► scancodeio ─► purldb ─┐
          └────────────► fossid ───┴─► report

Five tasks per package (the portfolio maps this unit, and every task costs scheduler time).
``fetch`` streams the input into the artefact store; each tool task reuses a fresh scan from the
ledger or submits, defers while the service works and stores its typed result; ``report`` runs
whatever happened upstream (``all_done``): the gate over the typed results (a tool that errored
makes the verdict ``incomplete``), the warehouse load, the reports, and Asset events. XCom
carries ids, references and small summaries only.

Every argument is templated, so a DAG passes ``"{{ params.x }}"`` (sca_scan) or values.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from airflow.sdk import Asset, TaskGroup, get_current_context, task

from sca.tasks.fossid_unit import FossIDScanOperator
from sca.tasks.purldb_unit import PurlDBMatchScanOperator
from sca.tasks.scancodeio_unit import ScanCodeIOScanOperator
from sca.tasks.unit_base import bounded

TOOLS = ("scancodeio", "purldb", "fossid")


def _as_list(value: Sequence[str] | str) -> list[str]:
    """A templated list arrives as a list (native rendering) or as its text."""
    if isinstance(value, str):
        import ast

        text = value.strip()
        parsed = ast.literal_eval(text) if text.startswith("[") else [text]
        return [str(item) for item in parsed]
    return [str(item) for item in value]


def check_dag_run_conf(context: Any) -> None:
    """A key in the run's conf that the DAG has no param for is a mistake (``colour`` for
    ``color``), not something to ignore: refuse it, naming the nearest param."""
    import difflib

    from sca.pipeline.fetch import InputError

    conf = getattr(context.get("dag_run"), "conf", None) or {}
    declared = set(context["dag"].params.keys()) if context.get("dag") is not None else set()
    unknown = sorted(set(conf) - declared)
    if not declared or not unknown:
        return
    hints = []
    for key in unknown:
        near = difflib.get_close_matches(key, sorted(declared), n=1, cutoff=0.6)
        hints.append(f"{key!r}" + (f" (did you mean {near[0]!r}?)" if near else ""))
    raise InputError(
        f"unknown parameter{'s' if len(unknown) > 1 else ''} in the run's conf: {', '.join(hints)}; "
        f"this DAG takes: {', '.join(sorted(declared))}"
    )


def fetch_into_store(
    unit_id: str,
    value: str,
    max_input_mb: int | str,
    scancodeio_pipelines: Sequence[str] | str | None = None,
    check_conf: bool = True,
    label: str | None = None,
    scancodeio_conn_id: str = "scancodeio_default",
    purldb_conn_id: str = "purldb_default",
    fossid_conn_id: str = "fossid_default",
    context: Any = None,
) -> dict[str, Any]:
    """Validate, then fetch: the run's conf (unknown keys), the pipelines against the ScanCode.io
    server's list, then the input's bytes (empty, a web page, an archive that does not open).
    Anything wrong fails here, on the first try, before any remote object exists."""
    from airflow.sdk.exceptions import AirflowFailException

    from sca.common.airflow_conn import require_connections
    from sca.common.errors import is_permanent
    from sca.core.results import ToolRun, ToolStatus
    from sca.pipeline.fetch import expand_variables, fetch_input, redact_url
    from sca.pipeline.inspect import inspect_input
    from sca.purldb.hook import PurlDBHook
    from sca.store import warehouse
    from sca.store.artefacts import ArtefactStore
    from sca.store.db import hook_connection
    from sca.store.fetch_validators import WarehouseValidators
    from sca.tasks.unit_base import FETCH_TOOL, WorkFolder, error_reason, map_index_of, scan_id_from_context

    context = context or get_current_context()  # a lot passes its item's view of the task instance
    ti = context["ti"]
    scan_id = scan_id_from_context(context, unit_id)
    conn = hook_connection()
    try:
        warehouse.record_scan(
            conn, scan_id, ti.dag_id, ti.run_id, unit_id, map_index_of(context), redact_url(str(value))
        )
        try:
            if check_conf:
                check_dag_run_conf(context)
                # the run's choice of servers (params): a unit inside the portfolio was checked by plan
                require_connections(
                    {
                        "scancodeio_conn_id": scancodeio_conn_id,
                        "purldb_conn_id": purldb_conn_id,
                        "fossid_conn_id": fossid_conn_id,
                    }
                )
            if scancodeio_pipelines:
                from sca.scancodeio.hook import ScanCodeIOHook

                ScanCodeIOHook(scancodeio_conn_id).get_conn().validate_pipelines(_as_list(scancodeio_pipelines))
            store = ArtefactStore()
            validators = WarehouseValidators(conn, store.exists)
            fetched = fetch_input(
                expand_variables(str(value), os.environ),
                inputs_dir=Path(os.environ.get("SCA_INPUTS_DIR", ".")),
                store=store,
                max_bytes=int(max_input_mb) * 1024 * 1024,
                resolve_purl=lambda purl: PurlDBHook(purldb_conn_id).get_conn().resolve_download_url(purl),
                validators=validators,
            )
            with WorkFolder("fetch") as folder:
                local = store.copy_to_local(fetched.artefact, folder, fetched.filename)
                contents = inspect_input(local, fetched.filename)
            validators.commit()  # only bytes that passed the checks may be answered 304 to
        except Exception as exc:
            warehouse.record_tool_run(conn, scan_id, ToolRun(FETCH_TOOL, ToolStatus.ERROR, reason=error_reason(exc)))
            if is_permanent(exc):
                raise AirflowFailException(f"{error_reason(exc)} (not retried: retrying cannot fix this)") from exc
            raise
        warehouse.record_input(conn, scan_id, fetched)
        done = ToolRun(FETCH_TOOL, ToolStatus.SUCCESS, result_uri=fetched.artefact.uri)
        warehouse.record_tool_run(conn, scan_id, done)
    finally:
        conn.close()
    print(
        f"Fetched {fetched.source} -> {fetched.artefact.uri} "
        f"({fetched.artefact.size} bytes, sha256 {fetched.artefact.sha256}; {contents.kind}, {contents.files} files)"
    )
    return bounded(fetched.as_dict())


def report_folder(dag_id: str, run_id: str, unit_id: str, label: str | None = None) -> str:
    """Where a unit's reports go in the artefact store (a mapped unit: one folder per item)."""
    from sca.common.files import safe_filename

    folder = f"reports/{dag_id}/{run_id}/{unit_id}"
    return f"{folder}/{safe_filename(str(label), 'item')}" if label else folder


def conclude(
    unit_id: str,
    input_task_id: str,
    source: str,
    enabled: dict[str, Any],
    fail_level: str,
    gate_action: str,
    label: str | None = None,
    context: Any = None,
) -> dict[str, Any]:
    """Gate → warehouse load → reports → Asset events, from whatever the tool tasks recorded.
    ``label`` names the unit's report folder within the run (a portfolio item's id)."""
    from sca.core.gate import evaluate
    from sca.core.results import InputRef, ToolRun, ToolStatus, result_from_dict
    from sca.pipeline.fetch import redact_url
    from sca.reports.scan_report import build_summary, render_html, render_markdown
    from sca.store import warehouse
    from sca.store.artefacts import ArtefactStore
    from sca.store.db import hook_connection
    from sca.tasks.unit_base import FETCH_TOOL, as_bool, map_index_of, pull_same_index, scan_id_from_context

    context = context or get_current_context()  # a lot passes its item's view of the task instance
    ti = context["ti"]
    scan_id = scan_id_from_context(context, unit_id)
    source = redact_url(str(source))
    store = ArtefactStore()
    pulled = pull_same_index(context, input_task_id)
    fetched = InputRef.from_dict(pulled) if pulled else None
    conn = hook_connection()
    try:
        if not warehouse.scan_exists(conn, scan_id):
            warehouse.record_scan(conn, scan_id, ti.dag_id, ti.run_id, unit_id, map_index_of(context), source)
        recorded = warehouse.tool_runs(conn, scan_id)
        runs: dict[str, ToolRun] = {}
        if fetched is None:
            runs[FETCH_TOOL] = recorded.get(FETCH_TOOL) or ToolRun(
                FETCH_TOOL, ToolStatus.ERROR, reason="the fetch task ended without recording a result; see its log"
            )
        for tool in TOOLS:
            if not as_bool(enabled.get(tool, True)):
                runs[tool] = recorded.get(tool) or ToolRun(tool, ToolStatus.SKIPPED, reason="switched off")
            elif tool in recorded:
                runs[tool] = recorded[tool]
            else:
                runs[tool] = ToolRun(
                    tool,
                    ToolStatus.ERROR,
                    reason="not run: " + ("no input" if fetched is None else "its task ended without a result"),
                )
        for tool, run in runs.items():
            # a tool task killed before it could record (OOM, lost worker) is recorded here, so
            # every report and query reads it as the error it is; "no input" is the fetch's failure
            if tool not in recorded and run.status is ToolStatus.ERROR and (tool == FETCH_TOOL or fetched is not None):
                warehouse.record_tool_run(conn, scan_id, run)
        results: dict[str, Any] = {}
        for tool, run in runs.items():
            if tool in TOOLS and run.status is ToolStatus.SUCCESS and run.result_uri:
                try:
                    results[tool] = result_from_dict(tool, store.read_json(run.result_uri))
                except Exception as exc:  # noqa: BLE001 - the gate reports it as missing
                    print(f"Cannot read the {tool} result {run.result_uri}: {exc}")
        package = fetched.filename if fetched else source
        verdict = evaluate(
            package,
            runs=runs,
            scancodeio=results.get("scancodeio"),
            purldb=results.get("purldb"),
            fossid=results.get("fossid"),
            fail_level=str(fail_level),
            action=str(gate_action),
        )
        loaded: dict[str, dict[str, int]] = {}
        if "scancodeio" in results:
            # streamed: the results file can be hundreds of MB and is never decoded whole
            scancodeio_json = results["scancodeio"].outputs["json"].uri
            loaded["scancodeio"] = warehouse.load_scancodeio_file(conn, scan_id, lambda: store.open(scancodeio_json))
        if "purldb" in results:
            loaded["purldb"] = warehouse.load_purldb(
                conn, scan_id, store.read_json(results["purldb"].outputs["matches"].uri)
            )
        if "fossid" in results:
            loaded["fossid"] = warehouse.load_fossid(conn, scan_id, results["fossid"])
        artefacts = []
        if fetched:
            artefacts.append({"label": f"input {fetched.filename}", **fetched.artefact.as_dict()})
        for tool, result in results.items():
            artefacts += [{"label": f"{tool} {name}", **ref.as_dict()} for name, ref in result.outputs.items()]
        summary = build_summary(
            run={"dag_id": ti.dag_id, "run_id": ti.run_id, "unit_id": unit_id},
            scan_id=scan_id,
            fetched=fetched.as_dict() if fetched else None,
            source=source,
            verdict=verdict.as_dict(),
            tool_runs={tool: run.as_dict() for tool, run in runs.items()},
            results={tool: result.as_dict() for tool, result in results.items()},
            artefacts=artefacts,
        )
        folder = report_folder(ti.dag_id, ti.run_id, unit_id, label)
        refs = {
            "summary.json": store.put_json(summary, f"{folder}/summary.json"),
            "summary.md": store.put_text(render_markdown(summary), f"{folder}/summary.md", "text/markdown"),
            "summary.html": store.put_text(render_html(summary), f"{folder}/summary.html", "text/html"),
        }
        warehouse.set_verdict(conn, scan_id, verdict, refs["summary.json"].uri)
    finally:
        conn.close()
    print(verdict.message())
    for tool, counts in loaded.items():
        print(f"Warehouse: {tool} rows {counts}")
    print(f"Report: {refs['summary.md'].uri}")
    for asset in getattr(context.get("task"), "outlets", None) or ():
        context["outlet_events"][asset].extra = {
            "scan_id": scan_id,
            "report": refs["summary.json"].uri,
            "package": package,
            "verdict": verdict.status,
            "run_id": ti.run_id,
        }
    return bounded(
        {
            "scan_id": scan_id,
            "package": package,
            "verdict": verdict.status,
            "fails_run": verdict.fails_run,
            "message": verdict.message()[:4000],
            "missing": [m.tool for m in verdict.missing],
            "reused": summary["reused"],
            "reports": {name: ref.uri for name, ref in refs.items()},
        }
    )


def scan_unit(group_id: str = "scan", **arguments: Any) -> TaskGroup:
    """Build the unit as its own TaskGroup in the current DAG (``add_unit_tasks`` for the
    arguments); its last task is ``report``."""
    with TaskGroup(group_id) as group:
        add_unit_tasks(group_id, **arguments)
    return group


def add_unit_tasks(
    group_id: str,
    *,
    input_value: Any,
    scancodeio_pipelines: Any = ("scan_single_package",),
    scancodeio_formats: Any = ("json", "spdx", "cyclonedx", "xlsx", "attribution"),
    run_purldb: Any = True,
    run_fossid: Any = True,
    fossid_project: Any = "sca-scans",
    fossid_scan_options: Any = None,
    fossid_reports: Any = ("xlsx", "spdx", "cyclone_dx", "html"),
    fossid_max_age_days: Any = None,
    fossid_scan_budget_minutes: Any = 240,
    scancodeio_max_age_days: Any = None,
    purldb_max_age_days: Any = None,
    purldb_queue_budget_minutes: Any = None,
    fail_level: Any = "ERROR",
    gate_action: Any = "fail",
    max_input_mb: Any = 512,
    outlets: Sequence[Asset] = (),
    check_conf: bool = True,
    stall_minutes: Any = 30,
    label: Any = None,
    check_pipelines: bool = True,
    scancodeio_server_version: Any = None,
    fossid_server_version: Any = None,
    scancodeio_conn_id: Any = "scancodeio_default",
    purldb_conn_id: Any = "purldb_default",
    fossid_conn_id: Any = "fossid_default",
) -> None:
    """Add the unit's five tasks to the TaskGroup being built, whose id is ``group_id``: a plain
    group (``scan_unit``) or a mapped ``@task_group`` (the portfolio), where the arguments are the
    group's mapped arguments. Every argument is templated, so values, ``"{{ params.x }}"`` and
    mapped arguments all work. A DAG that checks the pipelines and reads the servers' versions
    once for all its units (the portfolio's plan) passes ``check_pipelines=False`` and the
    versions: a unit whose scans are all reused then makes no remote call."""
    fetch_id = f"{group_id}.fetch"
    # a mapped unit shows each map index by what it stands for (a portfolio item's id)
    shown_as: dict[str, Any] = {} if label is None else {"map_index_template": "{{ task.item_label }}"}
    shown_as_task: dict[str, Any] = {} if label is None else {"map_index_template": "{{ task.op_kwargs.label }}"}
    fetched = task(task_id="fetch", retries=3, multiple_outputs=False, **shown_as_task)(fetch_into_store)(
        group_id,
        input_value,
        max_input_mb,
        scancodeio_pipelines if check_pipelines else None,
        check_conf,
        label=label,
        scancodeio_conn_id=scancodeio_conn_id,
        purldb_conn_id=purldb_conn_id,
        fossid_conn_id=fossid_conn_id,
    )
    scancodeio = ScanCodeIOScanOperator(
        task_id="scancodeio",
        unit_id=group_id,
        input_task_id=fetch_id,
        pipelines=scancodeio_pipelines,
        formats=scancodeio_formats,
        labels=[group_id],
        max_age_days=scancodeio_max_age_days,
        stall_minutes=stall_minutes,
        server_version=scancodeio_server_version,
        pipelines_checked=not check_pipelines,
        item_label=label,
        scancodeio_conn_id=scancodeio_conn_id,
        **shown_as,
    )
    purldb = PurlDBMatchScanOperator(
        task_id="purldb",
        unit_id=group_id,
        input_task_id=fetch_id,
        scancodeio_task_id=f"{group_id}.scancodeio",
        enabled=run_purldb,
        max_age_days=purldb_max_age_days,
        queue_budget_minutes=purldb_queue_budget_minutes,
        item_label=label,
        purldb_conn_id=purldb_conn_id,
        **shown_as,
    )
    fossid = FossIDScanOperator(
        task_id="fossid",
        unit_id=group_id,
        input_task_id=fetch_id,
        enabled=run_fossid,
        project_code=fossid_project,
        scan_options=fossid_scan_options,
        report_types=fossid_reports,
        max_age_days=fossid_max_age_days,
        scan_budget_minutes=fossid_scan_budget_minutes,
        server_version=fossid_server_version,
        item_label=label,
        fossid_conn_id=fossid_conn_id,
        **shown_as,
    )
    report = task(
        task_id="report", trigger_rule="all_done", multiple_outputs=False, outlets=list(outlets), **shown_as_task
    )(conclude)(
        group_id,
        fetch_id,
        input_value,
        {"scancodeio": True, "purldb": run_purldb, "fossid": run_fossid},
        fail_level,
        gate_action,
        label=label,
    )
    fetched >> [scancodeio, fossid]
    scancodeio >> purldb
    [purldb, fossid] >> report
