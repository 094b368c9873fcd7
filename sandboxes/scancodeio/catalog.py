"""The pipelines the real server registers, from ``pipelines.json``.

``pipelines.json`` was generated from the real ScanCode.io 38.2.0 (its venv, ``django.setup()``,
then ``[{"name": name, **cls.get_info()} for name, cls in scanpipe_app.pipelines.items()]`` rendered
with DRF's JSONRenderer), which is what ``GET /api/projects/pipelines/`` answers
(scanpipe/api/views.py:226-232).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

PIPELINES_FILE = Path(__file__).with_name("pipelines.json")

# scanpipe/apps.py get_new_pipeline_name: old names the server still accepts
OLD_PIPELINE_NAMES = {
    "docker": "analyze_docker_image",
    "root_filesystems": "analyze_root_filesystem_or_vm_image",
    "docker_windows": "analyze_windows_docker_image",
    "inspect_manifest": "inspect_packages",
    "deploy_to_develop": "map_deploy_to_develop",
    "scan_package": "scan_single_package",
    "scan_codebase_packages": "inspect_packages",
    "collect_pygments_symbols": "collect_symbols_pygments",
    "collect_source_strings": "collect_strings_gettext",
    "collect_symbols": "collect_symbols_ctags",
    "collect_tree_sitter_symbols": "collect_symbols_tree_sitter",
}


@cache
def pipelines_info() -> list[dict[str, Any]]:
    return list(json.loads(PIPELINES_FILE.read_text()))


def pipeline_names() -> list[str]:
    return [info["name"] for info in pipelines_info()]


def pipeline_info(name: str) -> dict[str, Any] | None:
    return next((info for info in pipelines_info() if info["name"] == name), None)


def split_groups(spec: str) -> tuple[str, list[str] | None]:
    """scanpipe/apps.py:206-214 ``extract_group_from_pipeline``: ``name[:g1,g2]``."""
    if ":" not in spec:
        return spec, None
    name, value = spec.split(":", 1)
    return name, value.split(",") if value else []


def resolve_pipeline(spec: str) -> tuple[str, list[str] | None] | None:
    """(current name, groups) of a pipeline spec, or None when the server has no such pipeline."""
    name, groups = split_groups(spec)
    name = OLD_PIPELINE_NAMES.get(name, name)
    return (name, groups) if pipeline_info(name) else None


def selected_steps(name: str, groups: list[str] | None) -> list[str]:
    """The steps a run executes: those without a group, and those of a selected group."""
    info = pipeline_info(name) or {"steps": []}
    chosen = set(groups or [])
    return [step["name"] for step in info["steps"] if not step["groups"] or chosen & set(step["groups"])]
