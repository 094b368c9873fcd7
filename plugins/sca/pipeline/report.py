"""The run folder's human-readable report (summary.md, summary.html) and summary.json."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from sca.common.files import sha256_of

REPORT_NAMES = ("summary.json", "summary.md", "summary.html")
MARKERS = "submission.json"  # bookkeeping files of the operators, not outputs


def inventory(folder: Path) -> list[dict[str, Any]]:
    """Every output file under the run folder (relative path, bytes, sha256), reports excluded."""
    files = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        if rel in REPORT_NAMES or rel.endswith((".part", MARKERS)):
            continue
        files.append({"path": rel, "bytes": path.stat().st_size, "sha256": sha256_of(path)})
    return files


def build_summary(
    *,
    run: dict[str, Any],
    fetched: dict[str, Any],
    verdict: dict[str, Any],
    scancodeio: dict[str, Any] | None,
    purldb: dict[str, Any] | None,
    fossid: dict[str, Any] | None,
    folder: Path,
) -> dict[str, Any]:
    return {
        "schema": "sca-scan-summary/1",
        "run": run,
        "input": fetched,
        "verdict": verdict,
        "tools": {"scancodeio": scancodeio, "purldb": purldb, "fossid": fossid},
        "skipped": [
            name for name, part in (("scancodeio", scancodeio), ("purldb", purldb), ("fossid", fossid)) if part is None
        ],
        "outputs": inventory(folder),
    }


def _md_table(rows: list[list[Any]], header: list[str]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |" for row in rows]
    return "\n".join(lines)


def render_markdown(summary: dict[str, Any]) -> str:
    fetched, verdict, tools = summary["input"], summary["verdict"], summary["tools"]
    out = [
        f"# SCA report: {fetched['filename']}",
        "",
        f"**Verdict: {verdict['status'].upper()}** (fail level {verdict['fail_level']}, action {verdict['action']})",
        "",
        f"- Input: `{fetched['source']}` ({fetched['kind']})",
        f"- SHA-256: `{fetched['sha256']}`",
        f"- Size: {fetched['size']} bytes",
    ]
    if fetched.get("download_url"):
        out.append(f"- Downloaded from: {fetched['download_url']}")
    out += [f"- DAG run: `{summary['run']['dag_id']}` / `{summary['run']['run_id']}`", ""]
    out += ["## Findings", ""]
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
            f"- Project: `{scio['project']['name']}` ({scio.get('ui_url', '')})",
            f"- Declared license: `{scio.get('declared_license_expression')}`; license clarity score "
            f"{scio.get('license_clarity_score')} ({scio.get('license_clarity_compliance')})",
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
            f"- `{p['purl']}` ({p.get('declared_license_expression')}): {', '.join(p['files'][:5])}"
            for p in pdb.get("packages") or []
        ]
    fos = tools.get("fossid")
    if fos:
        out += [
            "",
            "## FossID",
            "",
            f"- Scan: `{fos['scan_code']}` in project `{fos['project_code']}`",
            f"- Policy warnings: {fos['policy_warnings_total']}",
            f"- Pending identification: {len(fos['pending_files'])} file(s)",
            f"- Identified licenses: {', '.join(fos['identified_licenses']) or 'none'}",
            f"- Dependencies found: {len(fos['dependencies'])}",
        ]
    if summary["skipped"]:
        out += ["", f"Skipped (switched off): {', '.join(summary['skipped'])}"]
    out += [
        "",
        "## Files in this report",
        "",
        _md_table(
            [[f["path"], f["bytes"], f["sha256"][:16]] for f in summary["outputs"]], ["File", "Bytes", "SHA-256 (16)"]
        ),
        "",
    ]
    return "\n".join(out)


def render_html(summary: dict[str, Any]) -> str:
    verdict = summary["verdict"]
    colour = {"pass": "#1a7f37", "warn": "#9a6700", "fail": "#cf222e"}[verdict["status"]]
    rows = (
        "".join(
            f"<tr><td>{html.escape(f['severity'])}</td><td>{html.escape(f['source'])}</td>"
            f"<td>{html.escape(f['policy'])}</td><td>{html.escape(f['subject'])}</td></tr>"
            for f in verdict["findings"]
        )
        or "<tr><td colspan=4>No findings.</td></tr>"
    )
    files = "".join(
        f"<tr><td>{html.escape(f['path'])}</td><td>{f['bytes']}</td><td><code>{f['sha256'][:16]}</code></td></tr>"
        for f in summary["outputs"]
    )
    fetched = summary["input"]
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>SCA report: {html.escape(fetched["filename"])}</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto}}table{{border-collapse:collapse;width:100%}}
td,th{{border:1px solid #ccc;padding:.3em;text-align:left;vertical-align:top}}
.v{{color:{colour};font-weight:bold}}</style>
</head><body>
<h1>SCA report: {html.escape(fetched["filename"])}</h1>
<p class="v">Verdict: {verdict["status"].upper()} (fail level {verdict["fail_level"]})</p>
<p>Input <code>{html.escape(fetched["source"])}</code>, SHA-256 <code>{fetched["sha256"]}</code>,
{fetched["size"]} bytes.</p>
<h2>Findings</h2><table><tr><th>Severity</th><th>Tool</th><th>Policy</th><th>Where</th></tr>{rows}</table>
<h2>Files</h2><table><tr><th>File</th><th>Bytes</th><th>SHA-256</th></tr>{files}</table>
<pre>{html.escape(json.dumps(summary["tools"], indent=2, default=str))[:20000]}</pre>
</body></html>
"""


def write_reports(folder: Path, summary: dict[str, Any]) -> dict[str, str]:
    paths = {}
    for name, text in (
        ("summary.json", json.dumps(summary, indent=2, sort_keys=True, default=str)),
        ("summary.md", render_markdown(summary)),
        ("summary.html", render_html(summary)),
    ):
        target = folder / name
        target.write_text(text)
        paths[name] = str(target)
    return paths
