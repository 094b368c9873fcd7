"""Airflow glue of the nightly portfolio: ``plan`` (read and check the portfolio, record the night,
hand each item to the mapped scan unit) and ``publish`` (the portfolio report, the merged SBOM and
the Asset event, from the warehouse).

The portfolio is read inside ``plan``, never at parse time: the DAG file stays small and makes no
network call, whatever the portfolio's size.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from airflow.sdk import get_current_context

from sca.core.portfolio import Portfolio

ITEM_GROUP = "lot"  # the mapped group: one map index per lot of items (sca.tasks.lot)
PLAN_TASK = "plan"
FOSSID_REPORT_TASK = "fossid_project_report"
REPORT_FOLDER = "portfolio"
SBOM_FILE = "portfolio.cdx.json"


def project_root() -> Path:
    """Where a relative portfolio path is looked up: the Airflow project (the dags folder's parent)."""
    explicit = os.environ.get("SCA_PROJECT_DIR")
    if explicit:
        return Path(explicit)
    from airflow.configuration import conf

    return Path(conf.get("core", "dags_folder")).resolve().parent


def read_portfolio_source(value: str) -> tuple[str, str]:
    """The portfolio's text and a name for it in messages: an http(s) URL or a file path
    (relative to the project). A URL or file that cannot be read is an ``InputError``."""
    from urllib.parse import urlparse

    from sca.pipeline.fetch import InputError, redact_url

    value = value.strip()
    if urlparse(value).scheme in ("http", "https"):
        import requests

        shown = redact_url(value)
        try:
            response = requests.get(value, timeout=(10, 60))
        except requests.RequestException as exc:
            raise ConnectionError(f"portfolio URL {shown}: no answer ({type(exc).__name__})") from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise ConnectionError(f"portfolio URL {shown} answered HTTP {response.status_code}")
        if response.status_code >= 400:
            raise InputError(f"portfolio URL {shown} answered HTTP {response.status_code}")
        return response.text, shown
    path = Path(value)
    if not path.is_absolute():
        path = project_root() / path
    if not path.is_file():
        raise InputError(f"portfolio file {value!r} not found (looked for {path})")
    return path.read_text(encoding="utf-8"), value


def max_map_length() -> int:
    from airflow.configuration import conf

    return conf.getint("core", "max_map_length", fallback=1024)


DEFAULT_LOT_SIZE = 10


def item_arguments(portfolio: Portfolio) -> list[dict[str, Any]]:
    """Each item's arguments for its lot's tasks: small, JSON-native; ``index`` is its place in the
    portfolio (its scan's map index, whatever the lot size)."""
    return [
        {
            "index": index,
            "item_id": item.id,
            "input_value": item.input,
            "pipelines": list(item.pipelines),
            "run_purldb": item.uses("purldb"),
            "run_fossid": item.uses("fossid"),
        }
        for index, item in enumerate(portfolio.items)
    ]


def lots(items: list[dict[str, Any]], lot_size: int) -> list[dict[str, Any]]:
    """The mapped group's arguments (``expand_kwargs``): the items in portfolio order, ``lot_size``
    to a lot. Items are not sorted by size or tool: one slow item delays only its own lot's next stage."""
    size = max(1, int(lot_size))
    return [{"items": items[start : start + size]} for start in range(0, len(items), size)]


SERVER_FACTS = "server_facts"  # plan's XCom key: the services' versions, read once per night


def server_facts(
    portfolio: Portfolio, scancodeio_conn_id: str = "scancodeio_default", fossid_conn_id: str = "fossid_default"
) -> dict[str, Any]:
    """Once for the whole night, before any item starts: every item's pipelines checked against
    ScanCode.io's list (an error names the items), and the services' versions, which the items'
    tool tasks would otherwise each read (a reused scan then makes no remote call at all)."""
    from sca.core.portfolio import PortfolioError
    from sca.scancodeio.hook import ScanCodeIOHook

    client = ScanCodeIOHook(scancodeio_conn_id).get_conn()
    by_pipelines: dict[tuple[str, ...], list[str]] = {}
    for item in portfolio.items:
        by_pipelines.setdefault(item.pipelines, []).append(item.id)
    problems = []
    for pipelines, ids in by_pipelines.items():
        try:
            client.validate_pipelines(list(pipelines))
        except ValueError as exc:
            shown = ", ".join(repr(i) for i in ids[:5]) + (f" and {len(ids) - 5} more" if len(ids) > 5 else "")
            problems.append(f"pipelines of item(s) {shown}: {exc}")
    if problems:
        raise PortfolioError(portfolio.source, problems)
    facts: dict[str, Any] = {"scancodeio_version": client.server_version(), "fossid_version": None}
    if any(item.uses("fossid") for item in portfolio.items):
        from sca.fossid.hook import FossIDHook

        facts["fossid_version"] = FossIDHook(fossid_conn_id).get_conn().version()
    return facts


def night_of(context: Any) -> datetime:
    """The night a run stands for: its logical date (a manual run without one: when it ran)."""
    dag_run = context["dag_run"]
    when = getattr(dag_run, "logical_date", None) or getattr(dag_run, "run_after", None)
    return when or datetime.now(UTC)


def plan(
    portfolio: str,
    default_pipelines: Sequence[str] | str,
    scancodeio_conn_id: str = "scancodeio_default",
    fossid_conn_id: str = "fossid_default",
    purldb_conn_id: str = "purldb_default",
    lot_size: int | str = DEFAULT_LOT_SIZE,
) -> list[dict[str, Any]]:
    """Check the run's conf and the whole portfolio before anything is scanned; record the plan;
    hand the items to the mapped group ``lot_size`` at a time."""
    from airflow.sdk.exceptions import AirflowFailException

    from sca.common.airflow_conn import require_connections
    from sca.core.portfolio import PortfolioError, load_portfolio_text, unset_variables
    from sca.pipeline.fetch import InputError, redact_url
    from sca.store import portfolio as ledger
    from sca.store.artefacts import ArtefactStore
    from sca.store.db import hook_connection
    from sca.tasks.scan_unit import _as_list, check_dag_run_conf

    context = get_current_context()
    ti = context["ti"]
    try:
        check_dag_run_conf(context)
        require_connections(
            {
                "scancodeio_conn_id": scancodeio_conn_id,
                "purldb_conn_id": purldb_conn_id,
                "fossid_conn_id": fossid_conn_id,
            }
        )
        text, source = read_portfolio_source(str(portfolio))
        parsed = load_portfolio_text(text, source, default_pipelines=_as_list(default_pipelines))
        unset = unset_variables(parsed, os.environ)
        if unset:
            raise PortfolioError(source, unset)
        facts = server_facts(parsed, scancodeio_conn_id, fossid_conn_id)
    except (PortfolioError, InputError) as exc:
        raise AirflowFailException(f"{exc} (not retried: fix the portfolio)") from exc
    limit, size = max_map_length(), int(lot_size)
    planned = lots(item_arguments(parsed), size)
    if len(planned) > limit:
        raise AirflowFailException(
            f"portfolio {source} has {len(parsed)} items, {len(planned)} lots of {size}, over [core] "
            f"max_map_length = {limit}: raise the lot size or AIRFLOW__CORE__MAX_MAP_LENGTH (on the "
            "api-server and the scheduler)"
        )
    night = night_of(context)
    conn = hook_connection()
    try:
        ledger.record_plan(conn, ti.dag_id, ti.run_id, night, parsed)
    except ledger.PlanChangedError as exc:
        raise AirflowFailException(str(exc)) from exc
    finally:
        conn.close()
    as_read = {
        "name": parsed.name,
        "source": source,
        "items": [{**item.as_dict(), "input": redact_url(item.input)} for item in parsed.items],
    }
    stored = ArtefactStore().put_json(as_read, f"{portfolio_folder(ti.dag_id, ti.run_id)}/portfolio-plan.json")
    tools = {tool: sum(1 for item in parsed.items if item.uses(tool)) for tool in ("scancodeio", "purldb", "fossid")}
    print(f"Portfolio {parsed.name!r} ({source}): {len(parsed)} items for the night of {night.isoformat()}")
    print(f"Items per tool: {tools}; the plan (inputs without credentials) is kept at {stored.uri}")
    print(f"Pipelines checked; server versions for the night: {facts}")
    print(f"{len(planned)} lots of up to {size} items (the lot_size param)")
    ti.xcom_push(SERVER_FACTS, facts)
    return planned


def portfolio_folder(dag_id: str, run_id: str) -> str:
    return f"reports/{dag_id}/{run_id}/{REPORT_FOLDER}"


def link_from(folder_uri: str, target_uri: str | None) -> str | None:
    """``target_uri`` as a link from a page in ``folder_uri``: relative within the same store
    (the reports folder can be moved or served as a whole), else the URI itself."""
    import posixpath
    from urllib.parse import urlparse

    if not target_uri:
        return None
    base, target = urlparse(folder_uri), urlparse(target_uri)
    if (base.scheme, base.netloc) != (target.scheme, target.netloc):
        return target_uri
    return posixpath.relpath(target.path, base.path.rstrip("/") or "/")


def _frames(rows: dict[str, list[dict[str, Any]]], folder_uri: str) -> Any:
    import pandas as pd

    from sca.reports.portfolio_report import FRAME_COLUMNS, PortfolioFrames

    items = []
    for row in rows["items"]:
        html = row["report_uri"].rsplit("/", 1)[0] + "/summary.html" if row["report_uri"] else None
        items.append(
            {
                "item_id": row["item_id"],
                "input": row["input"],
                "owner": row["owner"],
                "tags": ",".join(row["tags"] or []),
                "scan_id": row["scan_id"],
                "package": row["filename"],
                "input_sha256": row["input_sha256"],
                "verdict": row["verdict"],
                "state": "failed" if row["verdict"] in (None, "incomplete") or row["errors"] else "done",
                "reused": row["reused"] or "",
                "report_href": link_from(folder_uri, html),
            }
        )

    def frame(name: str, records: list[dict[str, Any]]) -> Any:
        columns = list(FRAME_COLUMNS[name])
        return pd.DataFrame.from_records([{c: r[c] for c in columns} for r in records], columns=columns)

    return PortfolioFrames(
        items=frame("items", items),
        packages=frame("packages", rows["packages"]),
        licenses=frame("licenses", rows["licenses"]),
        findings=frame("findings", rows["findings"]),
        failures=frame("failures", rows["failures"]),
    )


def _rows(conn: Any, dag_id: str, run_id: str) -> dict[str, list[dict[str, Any]]]:
    from sca.store import portfolio as ledger

    return {
        "items": ledger.item_rows(conn, dag_id, run_id),
        "packages": ledger.package_rows(conn, dag_id, run_id),
        "licenses": ledger.license_rows(conn, dag_id, run_id),
        "findings": ledger.finding_rows(conn, dag_id, run_id),
        "failures": ledger.failure_rows(conn, dag_id, run_id),
    }


def sbom_items(rows: dict[str, list[dict[str, Any]]]) -> list[Any]:
    from sca.reports.sbom import SbomComponent, SbomItem

    by_item: dict[str, list[SbomComponent]] = {}
    for p in rows["packages"]:
        by_item.setdefault(p["item_id"], []).append(
            SbomComponent(
                item_id=p["item_id"],
                purl=p["purl"],
                name=p["name"] or p["purl"] or "unnamed",
                version=p["version"],
                license_expression=p["declared_license_expression"],
                sha256=None,
                kind="package",
            )
        )
    items = []
    for row in rows["items"]:
        if not row["scan_id"] or not row["input_sha256"]:
            continue  # never fetched: nothing is known of its contents
        components = by_item.get(row["item_id"]) or [
            SbomComponent(
                row["item_id"], None, row["filename"] or row["item_id"], None, None, row["input_sha256"], "input"
            )
        ]
        items.append(
            SbomItem(
                item_id=row["item_id"],
                filename=row["filename"] or "",
                input_sha256=row["input_sha256"],
                owner=row["owner"],
                tags=tuple(row["tags"] or ()),
                components=tuple(components),
            )
        )
    return items


def publish(fossid_task_id: str = FOSSID_REPORT_TASK) -> dict[str, Any]:
    """The night's portfolio report (html, xlsx, csv), the merged SBOM, the warehouse record and
    the Asset event with the verdict counts. Runs whatever happened to the items (``all_done``)."""
    import pandas as pd
    from airflow.sdk.exceptions import AirflowFailException

    from sca.reports.portfolio_report import TREND_COLUMNS, PortfolioNight, build_portfolio_report
    from sca.reports.sbom import build_portfolio_sbom, validate_sbom
    from sca.store import portfolio as ledger
    from sca.store.artefacts import ArtefactStore
    from sca.store.db import hook_connection
    from sca.tasks.unit_base import bounded

    context = get_current_context()
    ti = context["ti"]
    store = ArtefactStore()
    folder = portfolio_folder(ti.dag_id, ti.run_id)
    folder_uri = store.uri_for(folder)
    conn = hook_connection()
    try:
        info = ledger.run_info(conn, ti.dag_id, ti.run_id)
        if info is None:
            raise AirflowFailException("this run has no recorded plan: the plan task did not finish (see its log)")
        rows = _rows(conn, ti.dag_id, ti.run_id)
        previous_id = ledger.previous_run(conn, ti.dag_id, ti.run_id)
        previous = _rows(conn, ti.dag_id, previous_id) if previous_id else None
        trend = pd.DataFrame.from_records(ledger.trend_rows(conn, ti.dag_id, ti.run_id))
    finally:
        conn.close()
    trend["logical_date"] = trend["logical_date"].map(lambda d: d.isoformat())
    trend = trend[list(TREND_COLUMNS)]
    night = PortfolioNight(
        dag_id=ti.dag_id,
        run_id=ti.run_id,
        logical_date=info["logical_date"].isoformat(),
        portfolio=f"{info['name']} ({info['source']})",
        generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    previous_folder = store.uri_for(portfolio_folder(ti.dag_id, previous_id)) if previous_id else folder_uri
    fossid_reports = ti.xcom_pull(task_ids=fossid_task_id, map_indexes=-1) or {}
    attachments = [SBOM_FILE, *(value["uri"].rsplit("/", 1)[-1] for value in fossid_reports.values())]
    report = build_portfolio_report(
        night, _frames(rows, folder_uri), _frames(previous, previous_folder) if previous else None, trend, attachments
    )
    refs = {name: store.put_stream([data], f"{folder}/{name}") for name, data in report.files.items()}
    sbom = build_portfolio_sbom(
        info["name"], f"{ti.dag_id}/{ti.run_id}", sbom_items(rows), datetime.now(UTC).replace(microsecond=0)
    )
    validate_sbom(sbom)
    refs[SBOM_FILE] = store.put_text(sbom, f"{folder}/{SBOM_FILE}", "application/vnd.cyclonedx+json")
    summary = {
        **report.summary,
        "night": night.logical_date,
        "previous_run_id": previous_id,
        "report": refs["portfolio.html"].uri,
        "sbom": refs[SBOM_FILE].uri,
        "fossid_project_reports": {kind: value.get("uri") for kind, value in fossid_reports.items()},
    }
    refs["summary.json"] = store.put_json(summary, f"{folder}/summary.json")
    conn = hook_connection()
    try:
        ledger.record_report(conn, ti.dag_id, ti.run_id, refs["portfolio.html"].uri, summary)
    finally:
        conn.close()
    print(f"Portfolio report: {refs['portfolio.html'].uri}")
    print(f"Merged SBOM (CycloneDX, schema-valid): {refs['portfolio.cdx.json'].uri}")
    print(f"Summary: {summary}")
    for asset in context["task"].outlets:
        context["outlet_events"][asset].extra = {
            "run_id": ti.run_id,
            "night": night.logical_date,
            "report": refs["portfolio.html"].uri,
            "items": summary.get("items"),
            "verdicts": summary.get("verdicts"),
            "failed": summary.get("failed"),
        }
    return bounded(summary)
