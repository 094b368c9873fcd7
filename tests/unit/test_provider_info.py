"""The provider info (sca.provider) against Airflow's own schemas: an error here would break
`airflow providers list` for every provider (notes: airflow3-provider.md), so it is checked
before anything installs the package."""

from __future__ import annotations

import importlib
import json
import tomllib
from pathlib import Path

import airflow
import jsonschema

from sca.provider import PACKAGE_NAME, VERSION, get_provider_info

ROOT = Path(__file__).resolve().parents[2]
AIRFLOW_DIR = Path(airflow.__file__).parent


def test_provider_info_validates_against_airflow_schemas() -> None:
    info = get_provider_info()
    jsonschema.validate(info, json.loads((AIRFLOW_DIR / "provider_info.schema.json").read_text()))
    # the connection forms' part is only described in provider.yaml's schema: check it there too
    yaml_schema = json.loads((AIRFLOW_DIR / "provider.yaml.schema.json").read_text())
    jsonschema.validate(info["connection-types"], yaml_schema["properties"]["connection-types"])


def test_package_name_and_version_are_the_distribution_s() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert (PACKAGE_NAME, VERSION) == (project["name"], project["version"])
    assert project["entry-points"]["apache_airflow_provider"] == {"provider_info": "sca.provider:get_provider_info"}
    assert get_provider_info()["versions"] == [project["version"]]


def test_every_class_and_module_named_imports_and_hooks_match_their_types() -> None:
    info = get_provider_info()
    for item in info["connection-types"]:
        module, _, name = item["hook-class-name"].rpartition(".")
        hook = getattr(importlib.import_module(module), name)
        assert (hook.conn_type, hook.hook_name) == (item["connection-type"], item["hook-name"])
    for path in info["extra-links"]:
        module, _, name = path.rpartition(".")
        link = getattr(importlib.import_module(module), name)
        assert link.name and link.xcom_key
    for section in ("hooks", "operators", "sensors", "triggers"):
        for item in info[section]:
            for module in item["python-modules"]:
                importlib.import_module(module)


def test_connection_forms_say_what_each_field_is() -> None:
    forms = {c["connection-type"]: c["ui-field-behaviour"] for c in get_provider_info()["connection-types"]}
    assert sorted(forms) == ["fossid", "purldb", "scancodeio"]
    assert forms["fossid"]["relabeling"] == {
        "host": "Workbench host or URL",
        "schema": "Scheme (http or https)",
        "login": "Workbench user",
        "password": "API key",
    }
    assert forms["scancodeio"]["relabeling"]["password"] == "API key"
    assert forms["purldb"]["relabeling"]["password"] == "API key (optional)"
    assert forms["scancodeio"]["hidden-fields"] == ["login", "extra"]
    assert forms["purldb"]["hidden-fields"] == ["login", "extra"]
    assert forms["fossid"]["hidden-fields"] == ["extra"]
