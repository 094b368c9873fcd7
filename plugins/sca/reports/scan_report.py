"""One scan's report: ``summary.json`` (machine-readable), ``summary.md`` and ``summary.html``
(for people). It says the verdict and why, what each tool found, what was reused and from when,
what is missing and why, and lists every artefact (URI, bytes, sha256). No Airflow.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from typing import Any

from sca.core.results import RESULT_SCHEMA

TOOL_TITLES = {"fetch": "Input", "scancodeio": "ScanCode.io", "purldb": "PurlDB matching", "fossid": "FossID"}
COLOURS = {"pass": "#1a7f37", "warn": "#9a6700", "fail": "#cf222e", "incomplete": "#8250df"}


def build_summary(
    *,
    run: Mapping[str, Any],
    scan_id: str,
    fetched: Mapping[str, Any] | None,
    source: str,
    verdict: Mapping[str, Any],
    tool_runs: Mapping[str, Mapping[str, Any]],
    results: Mapping[str, Mapping[str, Any]],
    artefacts: Sequence[Mapping[str, Any]],
) -> dict[str, Any]:
    return {
        "schema": f"sca-scan-summary/{RESULT_SCHEMA + 1}",
        "run": dict(run),
        "scan_id": scan_id,
        "source": source,
        "input": dict(fetched) if fetched else None,
        "verdict": dict(verdict),
        "tool_runs": {tool: dict(r) for tool, r in tool_runs.items()},
        "tools": {tool: dict(r) for tool, r in results.items()},
        "skipped": sorted(t for t, r in tool_runs.items() if r["status"] == "skipped"),
        "reused": sorted(t for t, r in tool_runs.items() if r.get("reused")),
        "artefacts": [dict(a) for a in artefacts],
    }


def _md_table(rows: list[list[Any]], header: list[str]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |" for row in rows]
    return "\n".join(lines)


def tool_line(tool: str, run: Mapping[str, Any]) -> str:
    title = TOOL_TITLES.get(tool, tool)
    if run["status"] == "skipped":
        return f"- {title}: skipped ({run.get('reason') or 'switched off'})"
    if run["status"] == "error":
        return f"- {title}: **missing**: {run.get('reason')}"
    where = f" `{run.get('remote_name')}`" if run.get("remote_name") else ""
    if run.get("reused"):
        return f"- {title}: reused scan{where}, finished {run.get('reused_from')} (same bytes and settings)"
    took = f" in {run['duration_s']:.0f} s" if run.get("duration_s") is not None else ""
    return f"- {title}: scanned{where}{took}"


def render_markdown(summary: Mapping[str, Any]) -> str:
    fetched, verdict, tools = summary["input"] or {}, summary["verdict"], summary["tools"]
    name = fetched.get("filename") or summary["source"]
    out = [
        f"# SCA report: {name}",
        "",
        f"**Verdict: {verdict['status'].upper()}** (fail level {verdict['fail_level']}, action {verdict['action']})",
        "",
        f"- Input: `{summary['source']}`" + (f" ({fetched['kind']})" if fetched else " (not fetched)"),
    ]
    if fetched:
        out += [f"- SHA-256: `{fetched['artefact']['sha256']}`", f"- Size: {fetched['artefact']['size']} bytes"]
        if fetched.get("download_url"):
            out.append(f"- Downloaded from: {fetched['download_url']}")
    out += [
        f"- DAG run: `{summary['run']['dag_id']}` / `{summary['run']['run_id']}`",
        f"- Scan id: `{summary['scan_id']}`",
    ]
    out += ["", "## Tools", ""]
    out += [tool_line(tool, run) for tool, run in summary["tool_runs"].items()]
    if verdict.get("missing"):
        out += ["", "## Missing results", ""]
        out += [f"- {TOOL_TITLES.get(m['tool'], m['tool'])}: {m['reason']}" for m in verdict["missing"]]
    out += ["", "## Findings", ""]
    if verdict["findings"]:
        out.append(
            _md_table(
                [[f["severity"], f["source"], f["policy"], f["subject"]] for f in verdict["findings"]],
                ["Severity", "Tool", "Policy", "Where"],
            )
        )
    else:
        out.append("No findings.")
    scio = tools.get("scancodeio")
    if scio:
        out += [
            "",
            "## ScanCode.io",
            "",
            f"- Project: `{scio['project_name']}` ({scio.get('ui_url') or ''}), pipelines "
            f"{', '.join(scio['pipelines'])}, server {scio.get('server_version')}",
            _license_line(scio),
            f"- Resources {scio['counts'].get('resource')}, packages {scio['counts'].get('package')}, "
            f"dependencies {scio['counts'].get('dependency')}",
            f"- Declared packages: {', '.join(scio.get('declared_purls') or []) or 'none'}",
        ]
    pdb = tools.get("purldb")
    if pdb:
        out += [
            "",
            "## PurlDB matching",
            "",
            f"- {pdb['matched_files']} of {pdb['scanned_files']} files matched (coverage {pdb['coverage']:.0%})",
        ]
        out += [
            f"- `{p['purl']}` ({p.get('declared_license_expression')}): {p['matched_files']} file(s), e.g. "
            f"{', '.join(p['files'][:5])}"
            for p in pdb.get("packages") or []
        ]
    fos = tools.get("fossid")
    if fos:
        out += [
            "",
            "## FossID",
            "",
            f"- Scan: `{fos['scan_code']}` in project `{fos['project_code']}` (Workbench {fos.get('server_version')})",
            f"- Files scanned: {fos.get('files_scanned') if fos.get('files_scanned') is not None else 'not reported'}",
            f"- Policy warnings: {fos['policy_warnings_total']}",
            f"- Pending identification: {len(fos['pending_files'])} file(s)",
            f"- Identified licenses: {', '.join(fos['identified_licenses']) or 'none'}",
            f"- Dependencies found: {len(fos['dependencies'])}",
        ]
    out += [
        "",
        "## Artefacts",
        "",
        _md_table(
            [[a["label"], a["uri"], a["size"], a["sha256"][:16]] for a in summary["artefacts"]],
            ["What", "URI", "Bytes", "SHA-256 (16)"],
        ),
        "",
    ]
    return "\n".join(out)


def render_html(summary: Mapping[str, Any]) -> str:
    verdict = summary["verdict"]
    fetched = summary["input"] or {}
    name = html.escape(fetched.get("filename") or summary["source"])
    colour = COLOURS.get(verdict["status"], "#000")
    rows = (
        "".join(
            f"<tr><td>{html.escape(f['severity'])}</td><td>{html.escape(f['source'])}</td>"
            f"<td>{html.escape(f['policy'])}</td><td>{html.escape(f['subject'])}</td></tr>"
            for f in verdict["findings"]
        )
        or "<tr><td colspan=4>No findings.</td></tr>"
    )
    tools = "".join(f"<li>{html.escape(tool_line(t, r)[2:])}</li>" for t, r in summary["tool_runs"].items())
    files = "".join(
        f"<tr><td>{html.escape(a['label'])}</td><td>{html.escape(a['uri'])}</td><td>{a['size']}</td>"
        f"<td><code>{a['sha256'][:16]}</code></td></tr>"
        for a in summary["artefacts"]
    )
    digest = fetched.get("artefact", {}).get("sha256", "n/a")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>SCA report: {name}</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto}}table{{border-collapse:collapse;width:100%}}
td,th{{border:1px solid #ccc;padding:.3em;text-align:left;vertical-align:top}}
.v{{color:{colour};font-weight:bold}}</style>
</head><body>
<h1>SCA report: {name}</h1>
<p class="v">Verdict: {verdict["status"].upper()} (fail level {verdict["fail_level"]})</p>
<p>Input <code>{html.escape(summary["source"])}</code>, SHA-256 <code>{digest}</code>.</p>
<h2>Tools</h2><ul>{tools}</ul>
<h2>Findings</h2><table><tr><th>Severity</th><th>Tool</th><th>Policy</th><th>Where</th></tr>{rows}</table>
<h2>Artefacts</h2><table><tr><th>What</th><th>URI</th><th>Bytes</th><th>SHA-256</th></tr>{files}</table>
<pre>{html.escape(json.dumps(summary["tools"], indent=2, default=str))[:20000]}</pre>
</body></html>
"""


def _license_line(scio: dict[str, Any]) -> str:
    """The declared license and clarity, or what is missing: a pipeline with no summary step
    (e.g. ``scan_codebase``) gives none, and the report says so instead of printing None."""
    declared = scio.get("declared_license_expression")
    score = scio.get("license_clarity_score")
    license_text = f"`{declared}`" if declared else "none found"
    if score is None:
        clarity = "no license clarity score (the pipelines do not compute one)"
    else:
        compliance = scio.get("license_clarity_compliance")
        clarity = f"license clarity score {score}" + (f" ({compliance})" if compliance else "")
    return f"- Declared license: {license_text}; {clarity}"
