"""The portfolio's scan unit for a lot of items: the five stages of ``scan_unit``, each one task
instance for k items (see ``sca.tasks.lot``).

    fetch ─► scancodeio ─► purldb ─┐
          └────────────► fossid ───┴─► report        (one mapped index per lot)

Every item's scan keeps the unit id ``item`` and its index in the portfolio as its map index, so
its scan id, report folder and warehouse rows are the same whatever the lot size.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import get_current_context, task

from sca.tasks.fossid_unit import FossIDScanOperator
from sca.tasks.lot import LotToolOperator, run_lot
from sca.tasks.purldb_unit import PurlDBMatchScanOperator
from sca.tasks.scancodeio_unit import ScanCodeIOScanOperator

UNIT_ID = "item"  # the scans' unit id (sca.store.portfolio.ITEM_UNIT): the same as one item per task


def fetch_lot(
    group_id: str,
    items: Any,
    max_input_mb: int | str,
    scancodeio_conn_id: str = "scancodeio_default",
    purldb_conn_id: str = "purldb_default",
    fossid_conn_id: str = "fossid_default",
) -> list[dict[str, Any]]:
    """Fetch each item of the lot into the artefact store (``scan_unit.fetch_into_store``)."""
    import logging

    from sca.tasks.scan_unit import fetch_into_store

    def fetch(context: Any, item: dict[str, Any]) -> dict[str, Any]:
        return fetch_into_store(
            UNIT_ID,
            item["input_value"],
            max_input_mb,
            None,  # the plan checked every item's pipelines
            check_conf=False,  # and the run's conf and connections
            label=item["item_id"],
            scancodeio_conn_id=scancodeio_conn_id,
            purldb_conn_id=purldb_conn_id,
            fossid_conn_id=fossid_conn_id,
            context=context,
        )

    return run_lot(get_current_context(), group_id, items, (), fetch, logging.getLogger("sca.lot.fetch"))


def report_lot(group_id: str, items: Any, fail_level: str, gate_action: str) -> list[dict[str, Any]]:
    """Each item's verdict, warehouse load and reports (``scan_unit.conclude``), whatever happened
    to it upstream."""
    import logging

    from sca.tasks.scan_unit import conclude

    def report(context: Any, item: dict[str, Any]) -> dict[str, Any]:
        enabled = {"scancodeio": True, "purldb": item["run_purldb"], "fossid": item["run_fossid"]}
        return conclude(
            UNIT_ID,
            f"{group_id}.fetch",
            item["input_value"],
            enabled,
            fail_level,
            gate_action,
            label=item["item_id"],
            context=context,
        )

    return run_lot(get_current_context(), group_id, items, (), report, logging.getLogger("sca.lot.report"))


def add_lot_tasks(
    group_id: str,
    *,
    items: Any,
    scancodeio_formats: Any,
    fossid_project: Any,
    fossid_scan_options: Any,
    fossid_max_age_days: Any,
    scancodeio_max_age_days: Any,
    fail_level: Any,
    gate_action: Any,
    max_input_mb: Any,
    stall_minutes: Any,
    scancodeio_server_version: Any,
    fossid_server_version: Any,
    scancodeio_conn_id: Any = "scancodeio_default",
    purldb_conn_id: Any = "purldb_default",
    fossid_conn_id: Any = "fossid_default",
) -> None:
    """Add the lot's five tasks to the mapped TaskGroup being built (``group_id``); ``items`` is the
    group's mapped argument: the lot's items as ``plan`` wrote them."""
    fetch_id, scancodeio_id = f"{group_id}.fetch", f"{group_id}.scancodeio"
    # a lot is shown in the UI by its first item and how many follow
    first, more = "{{ task.op_kwargs['items'][0]['item_id'] }}", "{{ task.op_kwargs['items'] | length - 1 }}"
    shown: dict[str, Any] = {"map_index_template": f"{first} +{more}"}
    fetched = task(task_id="fetch", retries=3, multiple_outputs=False, **shown)(fetch_lot)(
        group_id,
        items=items,
        max_input_mb=max_input_mb,
        scancodeio_conn_id=scancodeio_conn_id,
        purldb_conn_id=purldb_conn_id,
        fossid_conn_id=fossid_conn_id,
    )
    shared = {"unit_id": UNIT_ID, "input_task_id": fetch_id}

    def stage(tool: str, operator_class: type, common: dict[str, Any], item_fields: dict[str, str]) -> Any:
        # each stage runs for the items fetched (not only those ScanCode.io scanned: PurlDB records
        # an item ScanCode.io did not scan as "not run"), whatever happened to the lot's others
        return LotToolOperator(
            task_id=tool,
            item_operator_class=operator_class,
            group_id=group_id,
            items=items,
            common={**shared, **common},
            item_fields=item_fields,
            item_upstream=[fetch_id],
            pool=tool,
            trigger_rule="all_done",
            map_index_template="{{ task.items[0]['item_id'] }} +{{ task.items | length - 1 }}",
        )

    scancodeio_settings = {
        "formats": scancodeio_formats,
        "labels": [UNIT_ID],
        "max_age_days": scancodeio_max_age_days,
        "stall_minutes": stall_minutes,
        "server_version": scancodeio_server_version,
        "pipelines_checked": True,
        "scancodeio_conn_id": scancodeio_conn_id,
    }
    scancodeio = stage("scancodeio", ScanCodeIOScanOperator, scancodeio_settings, {"pipelines": "pipelines"})
    purldb_settings = {"scancodeio_task_id": scancodeio_id, "purldb_conn_id": purldb_conn_id}
    purldb = stage("purldb", PurlDBMatchScanOperator, purldb_settings, {"enabled": "run_purldb"})
    fossid_settings = {
        "project_code": fossid_project,
        "scan_options": fossid_scan_options,
        "report_types": [],
        "max_age_days": fossid_max_age_days,
        "server_version": fossid_server_version,
        "fossid_conn_id": fossid_conn_id,
    }
    fossid = stage("fossid", FossIDScanOperator, fossid_settings, {"enabled": "run_fossid"})
    report = task(task_id="report", trigger_rule="all_done", multiple_outputs=False, **shown)(report_lot)(
        group_id, items=items, fail_level=fail_level, gate_action=gate_action
    )
    fetched >> [scancodeio, fossid]
    scancodeio >> purldb
    [purldb, fossid] >> report
