"""The portfolio DAG file at scale, without the stack: parsing it makes no network call and reads
no portfolio (so a 5,000-item portfolio costs the parse nothing), and the plan of 5,000 items is
exactly what the mapped lots take. (Parse time is measured by bench/, not asserted here.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sca.core.portfolio import load_portfolio_text
from sca.tasks.portfolio import item_arguments, lots

ROOT = Path(__file__).resolve().parents[2]

# Runs in a fresh interpreter: every socket call and every file opened under include/ while the
# DAG file is parsed is recorded (and a connection refused), then the parse result is printed.
PARSE_WITH_GUARDS = r"""
import builtins, io, json, socket, sys
calls, opened = [], []
def refuse(name):
    def guard(*args, **kwargs):
        calls.append(name)
        raise OSError(f"network call during parse: {name}")
    return guard
socket.socket.connect = refuse("socket.connect")
socket.socket.connect_ex = refuse("socket.connect_ex")
socket.create_connection = refuse("socket.create_connection")
socket.getaddrinfo = refuse("socket.getaddrinfo")
real_open = builtins.open
def watched_open(file, *args, **kwargs):
    opened.append(str(file))
    return real_open(file, *args, **kwargs)
builtins.open = watched_open
io.open = watched_open
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(sys.argv[1])
dag = bag.dags.get("sca_portfolio")
from airflow.serialization.serialized_objects import DagSerialization
size = len(json.dumps(DagSerialization.to_dict(dag))) if dag else 0
print(json.dumps({"errors": {k: str(v) for k, v in bag.import_errors.items()}, "dags": sorted(bag.dag_ids),
                  "calls": calls, "include_files": [f for f in opened if "/include/" in f], "serialized": size,
                  "heavy_modules": [m for m in ("aiohttp",) if m in sys.modules]}))
"""


def parse_guarded(env: dict[str, str]) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", PARSE_WITH_GUARDS, str(ROOT / "dags" / "sca_portfolio.py")],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **env},
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def generated_portfolio(path: Path, count: int) -> Path:
    items = [{"id": f"gen-{i:05d}", "input": f"gen-{i:05d}.tgz", "tags": ["generated"]} for i in range(count)]
    path.write_text(json.dumps({"name": "generated", "items": items}))
    return path


def test_parsing_makes_no_network_call_and_reads_no_portfolio(tmp_path: Path) -> None:
    big = generated_portfolio(tmp_path / "portfolio-5000.json", 5000)
    small = parse_guarded({"SCA_PORTFOLIO_CRON": "0 2 * * *"})
    # a 5,000-item nightly portfolio: the parse keeps its path and never reads it
    with_big = parse_guarded({"SCA_PORTFOLIO_CRON": "0 2 * * *", "SCA_PORTFOLIO": str(big)})
    for result in (small, with_big):
        assert result["errors"] == {}
        assert result["dags"] == ["sca_portfolio"]
        assert result["calls"] == []
        assert result["include_files"] == []
        # aiohttp (~0.3 s of every parse) is for triggers: the DAG file never imports it
        assert result["heavy_modules"] == []
    # only the path differs (the 5,000 items are ~150 kB of JSON: none of it is in the DAG)
    assert abs(with_big["serialized"] - small["serialized"]) < 1000
    assert small["serialized"] < 60_000  # the DAG itself; 5,000 items as JSON would be ~150 kB more


def test_a_5000_item_plan_is_what_the_mapped_lots_take(tmp_path: Path) -> None:
    from airflow.dag_processing.dagbag import DagBag

    path = generated_portfolio(tmp_path / "portfolio-5000.json", 5000)
    portfolio = load_portfolio_text(path.read_text(), str(path))
    arguments = item_arguments(portfolio)
    assert len(arguments) == 5000
    assert arguments[4321] == {
        "index": 4321,
        "item_id": "gen-04321",
        "input_value": "gen-04321.tgz",
        "pipelines": ["scan_single_package"],
        "run_purldb": True,
        "run_fossid": True,
    }
    assert len({a["item_id"] for a in arguments}) == 5000
    # the XCom the api-server accepts: JSON-native and well under Airflow's default limits
    planned = lots(arguments, 10)
    assert len(json.dumps(planned).encode()) < 1_000_000
    assert len(planned) == 500
    assert planned[432] == {"items": arguments[4320:4330]}
    assert [len(lot["items"]) for lot in lots(arguments[:23], 10)] == [10, 10, 3]
    assert [len(lot["items"]) for lot in lots(arguments[:3], 1)] == [1, 1, 1]

    dag = DagBag(str(ROOT / "dags" / "sca_portfolio.py")).dags["sca_portfolio"]
    group = dag.task_group_dict["lot"]
    # the group maps the plan's lots; each task of the group takes the lot's items
    assert mapped_keys(dag, "lot") == {"items"}
    assert {t.task_id for t in dag.tasks if t.task_group and t.task_group.group_id == "lot"} == {
        "lot.fetch",
        "lot.scancodeio",
        "lot.purldb",
        "lot.fossid",
        "lot.report",
    }
    for stage in ("scancodeio", "purldb", "fossid", "report"):
        assert dag.task_dict[f"lot.{stage}"].trigger_rule == "all_done"  # an item's failure stops no other
    assert [ref.task_id for ref, _ in group._expand_input.iter_references()] == ["plan"]
    assert dag.task_dict["publish"].trigger_rule == "all_done"
    assert dag.task_dict["fossid_project_report"].trigger_rule == "all_done"
    assert sorted(dag.task_dict["publish"].upstream_task_ids) == ["fossid_project_report"]


def mapped_keys(dag, group_id: str) -> set[str]:
    """The names of the mapped arguments the group's tasks take (in their templated fields)."""
    from airflow.sdk.definitions._internal.expandinput import MappedArgument

    keys: set[str] = set()

    def walk(value: object) -> None:
        if isinstance(value, MappedArgument):
            keys.add(value._key)
        elif isinstance(value, dict):
            for inner in value.values():
                walk(inner)
        elif isinstance(value, list | tuple):
            for inner in value:
                walk(inner)

    for task in dag.tasks:
        if task.task_group is not None and task.task_group.group_id == group_id:
            for field in task.template_fields:
                walk(getattr(task, field, None))
            walk(getattr(task, "partial_kwargs", {}))
    return keys


def test_the_stack_allows_maps_of_more_than_5000(tmp_path: Path) -> None:
    from airflow.configuration import conf

    assert conf.getint("core", "max_map_length") >= 5000
