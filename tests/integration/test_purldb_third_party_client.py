"""A third-party PurlDB client against our PurlDB sandbox: purldb-toolkit's ``purlcli validate``.

purlcli is aboutcode-org's own command-line client of PurlDB (purldb-toolkit 0.1.0 on PyPI). It
runs unchanged in its own venv (``make setup`` builds it; see tests/thirdparty/purlcli_validate.py
for the two bridges it needs). The sandbox must answer it the way the real server answers: the
query it sends (``check_existence=True``, capitalised, as Python prints a bool) must be read as
true, and an invalid purl must come back as the 400 body purlcli prints as is.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.integration.test_purldb_contract import PURL, start
from tests.sandbox_process import ROOT

EXISTS = "The provided Package URL is valid, and the package exists in the upstream repo."
MISSING = "The provided PackageURL is valid, but does not exist in the upstream repo."
UNSUPPORTED = "The provided PackageURL is valid, but `check_existence` is not supported for this package type."


@pytest.fixture(scope="module")
def purlcli_python() -> Path:
    venv = os.environ.get("SCA_PURLCLI_VENV")
    assert venv, "SCA_PURLCLI_VENV is not set: run the tests through make test (stack/env.sh sets it)"
    python = Path(venv) / "bin" / "python"
    assert python.exists(), f"{python} is missing: run make setup"
    return python


@pytest.fixture(scope="module")
def url(tmp_path_factory):
    with start(tmp_path_factory, "purldb-purlcli") as base:
        yield base


def test_purlcli_validate_against_the_sandbox(purlcli_python: Path, url: str) -> None:
    purls = [PURL[5], "pkg:pypi/django-package", "pkg:pypi/django-package@9.9", "pkg:generic/nothing@1", "not-a-purl"]
    done = subprocess.run(
        [str(purlcli_python), str(ROOT / "tests" / "thirdparty" / "purlcli_validate.py"), url, *purls],
        capture_output=True,
        text=True,
        timeout=120,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [
        {"valid": True, "exists": True, "message": EXISTS, "purl": PURL[5]},
        {"valid": True, "exists": True, "message": EXISTS, "purl": "pkg:pypi/django-package"},
        {"valid": True, "exists": False, "message": MISSING, "purl": "pkg:pypi/django-package@9.9"},
        {"valid": True, "exists": None, "message": UNSUPPORTED, "purl": "pkg:generic/nothing@1"},
        {"valid": False, "exists": None, "message": "The provided PackageURL is not valid.", "purl": "not-a-purl"},
    ]


def test_purlcli_is_the_pinned_release(purlcli_python: Path) -> None:
    done = subprocess.run(
        [str(purlcli_python), "-c", "from importlib.metadata import version; print(version('purldb-toolkit'))"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.stdout.strip() == "0.1.0", done.stderr
