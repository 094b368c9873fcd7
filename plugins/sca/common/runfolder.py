"""Where a DAG run writes its outputs: ``$SCA_RESULTS_DIR/<dag_id>/<run_id>/`` (safe names)."""

from __future__ import annotations

import os
from pathlib import Path

from sca.common.files import safe_filename

DEFAULT_RESULTS_DIR = Path.home() / "sca-results"


def results_root() -> Path:
    return Path(os.environ.get("SCA_RESULTS_DIR") or DEFAULT_RESULTS_DIR)


def run_folder(dag_id: str, run_id: str, *parts: str) -> str:
    """The run folder (created), with optional sub-folders; a string so it templates cleanly."""
    folder = results_root() / safe_filename(dag_id) / safe_filename(run_id)
    for part in parts:
        folder = folder / safe_filename(part)
    folder.mkdir(parents=True, exist_ok=True)
    return str(folder)
