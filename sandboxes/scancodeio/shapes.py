"""The JSON shapes of scanpipe/api/serializers.py for projects, runs and inputs."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

from sandboxes.scancodeio.model import Project, Run

# ProjectSerializer.Meta.exclude_from_list_view (serializers.py:239-254)
LIST_VIEW_EXCLUDED = (
    "settings",
    "input_root",
    "output_root",
    "next_run",
    "extra_data",
    "message_count",
    "resource_count",
    "package_count",
    "dependency_count",
    "relation_count",
    "codebase_resources_summary",
    "discovered_packages_summary",
    "discovered_dependencies_summary",
    "codebase_relations_summary",
)


def stamp(moment: float | None) -> str | None:
    """DRF DateTimeField: ISO 8601 with microseconds, ``Z`` for UTC."""
    if moment is None:
        return None
    return datetime.fromtimestamp(moment, UTC).isoformat().replace("+00:00", "Z")


def run_view(run: Run, base: str, *, with_links: bool = True) -> dict[str, Any]:
    """RunSerializer (serializers.py:109-134); ``with_links`` False drops url and project, as the
    results headers do (pipes/output.py:255-256)."""
    view: dict[str, Any] = {
        "url": f"{base}/api/runs/{run.uuid}/",
        "pipeline_name": run.pipeline_name,
        "status": run.status,
        "description": run.description,
        "selected_groups": run.selected_groups,
        "selected_steps": None,
        "project": f"{base}/api/projects/{run.project_uuid}/",
        "uuid": run.uuid,
        "created_date": stamp(run.created),
        "scancodeio_version": run.scancodeio_version,
        "task_id": run.task_id,
        "task_start_date": stamp(run.task_start),
        "task_end_date": stamp(run.task_end),
        "task_exitcode": run.exitcode,
        "task_output": run.output,
        "log": run.log,
        "execution_time": run.execution_time,
    }
    if not with_links:
        view.pop("url")
        view.pop("project")
    return view


def input_sources_view(project: Project) -> list[dict[str, Any]]:
    """InputSourceSerializer (serializers.py:137-147); ``exists``: the file is in input/."""
    return [
        {
            "filename": source.filename,
            "download_url": source.download_url,
            "is_uploaded": source.is_uploaded,
            "tag": source.tag,
            "exists": bool(source.filename),
            "uuid": source.uuid,
        }
        for source in project.inputs
    ]


def project_view(project: Project, base: str, *, detail: bool) -> dict[str, Any]:
    """ProjectSerializer (serializers.py:162-254), fields in Meta order, write-only ones left out."""
    url = f"{base}/api/projects/{project.uuid}/"
    next_run = project.next_run()
    packages = project.packages
    dependencies = project.dependencies
    view: dict[str, Any] = {
        "name": project.name,
        "url": url,
        "uuid": project.uuid,
        "purl": project.purl,
        "created_date": stamp(project.created),
        "is_archived": project.is_archived,
        "notes": project.notes,
        "labels": list(project.labels),
        "settings": {},
        "input_sources": input_sources_view(project),
        "input_root": sorted(s.filename for s in project.inputs if s.filename),
        "output_root": sorted(project.outputs),
        "next_run": next_run.pipeline_name if next_run else None,
        "runs": [run_view(run, base) for run in project.runs],
        "extra_data": dict(project.extra_data),
        "message_count": project.counts.get("message_count", 0),
        "resource_count": project.counts.get("resource_count", 0),
        "package_count": project.counts.get("package_count", 0),
        "dependency_count": project.counts.get("dependency_count", 0),
        "relation_count": project.counts.get("relation_count", 0),
        "codebase_resources_summary": dict(sorted(Counter(r["status"] for r in project.resources).items())),
        "discovered_packages_summary": {
            "total": len(packages),
            "with_missing_resources": sum(1 for p in packages if p["missing_resources"]),
            "with_modified_resources": sum(1 for p in packages if p["modified_resources"]),
        },
        "discovered_dependencies_summary": {
            "total": len(dependencies),
            "is_runtime": sum(1 for d in dependencies if d["is_runtime"]),
            "is_optional": sum(1 for d in dependencies if d["is_optional"]),
            "is_pinned": sum(1 for d in dependencies if d["is_pinned"]),
        },
        "codebase_relations_summary": {},
        "results_url": f"{url}results/",
        "summary_url": f"{url}summary/",
    }
    if not detail:
        for key in LIST_VIEW_EXCLUDED:
            view.pop(key)
    return view
