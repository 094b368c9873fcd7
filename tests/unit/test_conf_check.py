"""A misspelt param in a run's conf is refused, naming the nearest param."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from sca.pipeline.fetch import InputError
from sca.tasks.scan_unit import check_dag_run_conf

PARAMS = {"input": 1, "gate_action": 1, "fail_level": 1, "run_fossid": 1}


def context(conf: dict) -> dict:
    return {"dag_run": SimpleNamespace(conf=conf), "dag": SimpleNamespace(params=PARAMS)}


def test_known_keys_pass() -> None:
    check_dag_run_conf(context({"input": "x", "gate_action": "warn"}))
    check_dag_run_conf(context({}))


def test_unknown_keys_name_the_nearest_param() -> None:
    with pytest.raises(InputError) as info:
        check_dag_run_conf(context({"input": "x", "gate_acton": "warn", "colour": "blue"}))
    assert str(info.value) == (
        "unknown parameters in the run's conf: 'colour', 'gate_acton' (did you mean 'gate_action'?); "
        "this DAG takes: fail_level, gate_action, input, run_fossid"
    )
