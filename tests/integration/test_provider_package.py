"""`pip install` of this project into a fresh venv makes it an Airflow provider: `airflow
providers list` shows it, and its three connection types come with their hooks and forms.

Builds the wheel from the working tree, installs it with the stack's pins
(requirements.lock: no download beyond the pip cache on a machine that ran `make setup`) into a
new venv, and asks that venv's own `airflow` CLI (SQLite home in a temporary folder: no stack).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, env: dict[str, str] | None = None, timeout: float = 600) -> str:
    done = subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=env)
    assert done.returncode == 0, f"{' '.join(args[:4])} … failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
    return done.stdout


def json_after_noise(text: str) -> Any:
    """Airflow's CLI may print warnings before its JSON."""
    return json.loads(text[text.index("[") :])


@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory) -> dict[str, Any]:
    work = tmp_path_factory.mktemp("provider")
    # built from a clean copy of what the package is made of: never a stale build/ of the checkout
    source = work / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(ROOT / "plugins" / "sca", source / "plugins" / "sca", ignore=shutil.ignore_patterns("__pycache__"))
    run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(work / "dist"), str(source))
    (wheel,) = (work / "dist").glob("sca_orchestrator-*.whl")
    venv = work / "venv"
    run(sys.executable, "-m", "venv", str(venv))
    run(
        str(venv / "bin" / "pip"),
        "install",
        "-q",
        "--disable-pip-version-check",
        str(wheel),
        "-c",
        str(ROOT / "requirements.lock"),
        timeout=1200,
    )
    home = work / "airflow-home"
    home.mkdir()
    env = {
        "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
        "HOME": os.environ.get("HOME", str(work)),
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    }
    return {"venv": venv, "env": env, "wheel": wheel}


def airflow(fresh_venv: dict[str, Any], *args: str) -> str:
    return run(str(fresh_venv["venv"] / "bin" / "airflow"), *args, env=fresh_venv["env"])


def test_the_fresh_venv_has_no_checkout_on_its_path(fresh_venv) -> None:
    where = run(
        str(fresh_venv["venv"] / "bin" / "python"),
        "-c",
        "import sca, sys; print(sca.__file__); print(sys.path)",
        env=fresh_venv["env"],
    )
    installed, path = where.splitlines()
    assert installed.startswith(str(fresh_venv["venv"])), "sca comes from the installed wheel"
    assert str(ROOT) not in path


def test_airflow_providers_list_shows_it(fresh_venv) -> None:
    providers = json_after_noise(airflow(fresh_venv, "providers", "list", "-o", "json"))
    ours = [p for p in providers if p["package_name"] == "sca-orchestrator"]
    assert [(p["package_name"], p["version"]) for p in ours] == [("sca-orchestrator", "0.1.0")]


def test_its_connection_types_have_their_hooks_and_forms(fresh_venv) -> None:
    hooks = json_after_noise(airflow(fresh_venv, "providers", "hooks", "-o", "json"))
    ours = sorted(
        (h["connection_type"], h["class"], h["hook_name"]) for h in hooks if h["package_name"] == "sca-orchestrator"
    )
    assert ours == [
        ("fossid", "sca.fossid.hook.FossIDHook", "FossID Workbench"),
        ("purldb", "sca.purldb.hook.PurlDBHook", "PurlDB"),
        ("scancodeio", "sca.scancodeio.hook.ScanCodeIOHook", "ScanCode.io"),
    ]
    listed = json_after_noise(airflow(fresh_venv, "providers", "behaviours", "-o", "json"))
    behaviours = {b["field_behaviours"] for b in listed}
    assert {"fossid", "purldb", "scancodeio"} <= behaviours
    # the labels as the providers manager hands them to the UI's connection form
    labels = run(
        str(fresh_venv["venv"] / "bin" / "python"),
        "-c",
        "import json; from airflow.providers_manager import ProvidersManager as P; b = P().field_behaviours; "
        "print(json.dumps({t: b[t]['relabeling'] for t in ('fossid', 'purldb', 'scancodeio')}))",
        env=fresh_venv["env"],
    )
    assert json.loads(labels.strip().splitlines()[-1]) == {
        "fossid": {
            "host": "Workbench host or URL",
            "schema": "Scheme (http or https)",
            "login": "Workbench user",
            "password": "API key",
        },
        "purldb": {"host": "PurlDB host or URL", "schema": "Scheme (http or https)", "password": "API key (optional)"},
        "scancodeio": {"host": "ScanCode.io host or URL", "schema": "Scheme (http or https)", "password": "API key"},
    }


def test_its_links_and_triggers_are_registered(fresh_venv) -> None:
    links = airflow(fresh_venv, "providers", "links", "-o", "json")
    for link in ("ScanCodeIOProjectLink", "FossIDScanLink", "PurlDBPackageLink"):
        assert link in links
    triggers = airflow(fresh_venv, "providers", "triggers", "-o", "json")
    for module in ("sca.scancodeio.triggers", "sca.purldb.triggers", "sca.fossid.triggers"):
        assert module in triggers


def test_the_pure_clients_import_without_airflow(fresh_venv) -> None:
    """The clients are usable alone: importing them loads no Airflow module."""
    loaded = run(
        str(fresh_venv["venv"] / "bin" / "python"),
        "-c",
        "import sys; import sca.scancodeio.client, sca.purldb.client, sca.fossid.client; "
        "print(sorted(m for m in sys.modules if m == 'airflow' or m.startswith('airflow.')))",
        env=fresh_venv["env"],
    )
    assert loaded.strip() == "[]"
