"""The results documents: the JSON results (pipes/output.py:180-312) and small stand-ins for the
other download formats (same file names and content types as the real ones, not their full content)."""

from __future__ import annotations

import io
import json
import re
import zipfile
from typing import Any

from sandboxes.scancodeio.model import SCANCODEIO_VERSION, Project
from sandboxes.scancodeio.policies import Policies
from sandboxes.scancodeio.shapes import run_view, stamp

SECTIONS = ("packages", "dependencies", "files", "relations")
SCAN_NOTICE = (
    'Generated with ScanCode.io and provided on an "AS IS" BASIS, WITHOUT WARRANTIES\n'
    "OR CONDITIONS OF ANY KIND, either express or implied."
)
DOWNLOAD_FORMATS = ("xlsx", "spdx", "cyclonedx", "attribution", "ort-package-list", "all_formats", "all_outputs")
CONTENT_TYPES = {
    ".json": "application/json",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".html": "text/html",
    ".yml": "application/yaml",
    ".zip": "application/zip",
}


def safe_filename(filename: str) -> str:
    """pipes/output.py:72-74."""
    return re.sub("[^A-Za-z0-9.-]+", "_", filename).lower()


def content_type(filename: str) -> str:
    return next((t for ext, t in CONTENT_TYPES.items() if filename.endswith(ext)), "application/octet-stream")


def latest_output(project: Project, name: str) -> str | None:
    """Project.get_latest_output (models.py:1164-1171): the last ``*name*.json`` output by file name."""
    names = sorted(n for n in project.outputs if name in n and n.endswith(".json"))
    return names[-1] if names else None


def summary_document(project: Project, policies: Policies) -> dict[str, Any] | None:
    """The latest summary output as ``summary/`` answers it (views.py:211-224), with the clarity alert
    make_results_summary stores in it (pipes/scancode.py:1199-1206); None when there is none."""
    name = latest_output(project, "summary")
    if name is None:
        return None
    summary: dict[str, Any] = json.loads(project.outputs[name])
    alert = policies.clarity_alert(summary.get("license_clarity_score", {}).get("score"))
    if alert is not None:
        summary["license_clarity_compliance_alert"] = alert
    return summary


def inputs_with_source(project: Project) -> list[dict[str, Any]]:
    """Project.get_inputs_with_source (models.py:1088-1127), sorted by file name."""
    rows = []
    for source in project.inputs:
        exists = bool(source.filename)
        rows.append(
            {
                "uuid": source.uuid,
                "filename": source.filename,
                "download_url": source.download_url,
                "is_uploaded": source.is_uploaded,
                "tag": source.tag,
                "size": len(source.content) if exists and source.content is not None else None,
                "is_file": True,
                "exists": exists,
            }
        )
    return sorted(rows, key=lambda row: row["filename"])


def results_document(project: Project, base: str, sections: list[str] | None) -> dict[str, Any]:
    """JSONResultsGenerator: ``headers`` (a one-item list) then the chosen sections in fixed order."""
    headers = {
        "tool_name": "scanpipe",
        "tool_version": SCANCODEIO_VERSION,
        "other_tools": ["pkg:pypi/scancode-toolkit@32.5.0"],
        "notice": SCAN_NOTICE,
        "uuid": project.uuid,
        "created_date": stamp(project.created),
        "notes": project.notes,
        "settings": {},
        "input_sources": inputs_with_source(project),
        "runs": [run_view(run, base, with_links=False) for run in project.runs],
        "messages": list(project.messages),
        "extra_data": dict(project.extra_data),
    }
    everything = {
        "packages": project.packages,
        "dependencies": project.dependencies,
        "files": project.resources,
        "relations": [],
    }
    chosen = [s for s in SECTIONS if sections is None or s in sections]
    return {"headers": [headers], **{s: everything[s] for s in chosen}}


def zip_of(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def render(project: Project, base: str, output_format: str, version: str | None, when: str) -> tuple[str, bytes]:
    """(output file name, bytes) for a results_download format other than json."""
    packages = project.packages
    if output_format == "xlsx":
        sheet = "\n".join(p["purl"] for p in packages).encode()
        return f"results-{when}.xlsx", zip_of({"[Content_Types].xml": b"<Types/>", "xl/packages.txt": sheet})
    if output_format == "spdx":
        spdx_packages = [{"name": p["name"], "externalRefs": [{"referenceLocator": p["purl"]}]} for p in packages]
        doc = {"spdxVersion": f"SPDX-{version or '2.3'}", "name": project.name, "packages": spdx_packages}
        return f"results-{when}.spdx.json", json.dumps(doc, indent=2).encode()
    if output_format == "cyclonedx":
        components = [{"name": p["name"], "version": p["version"], "purl": p["purl"]} for p in packages]
        doc = {"bomFormat": "CycloneDX", "specVersion": version or "1.6", "components": components}
        return f"results-{when}.cdx.json", json.dumps(doc, indent=2).encode()
    if output_format == "attribution":
        items = "".join(f"<li>{p['name']} {p['version']}: {p['declared_license_expression']}</li>" for p in packages)
        page = f"<html><body><h1>{project.name}</h1><ul>{items}</ul></body></html>"
        return f"results-{when}.attribution.html", page.encode()
    if output_format == "ort-package-list":
        lines = ["---", "packages:"]
        for p in packages:
            lines += [f"  - id: {p['type']}::{p['name']}:{p['version']}", f"    purl: {p['purl']}"]
        return f"results-{when}.package-list.yml", ("\n".join(lines) + "\n").encode()
    results = json.dumps(results_document(project, base, None), indent=2).encode()
    if output_format == "all_formats":
        return f"results-{when}.zip", zip_of({f"results-{when}.json": results})
    return f"outputs-{when}.zip", zip_of(dict(project.outputs))  # all_outputs
