"""Report files the sandbox generates from scan results: real xlsx (openpyxl), SPDX 2.3 RDF/XML,
SPDX-lite xlsx, CycloneDX 1.5 JSON and HTML. Extensions follow Workbench: spdx→rdf,
spdx_lite→xlsx, cyclone_dx→json."""

from __future__ import annotations

import html
import io
import json
import uuid
from typing import Any
from xml.sax.saxutils import escape

from openpyxl import Workbook

from sandboxes.fossid.state import Scan, now_text

REPORT_TYPES = {  # type → (extension, content type, asynchronous allowed)
    "html": ("html", "text/html; charset=UTF-8", False),
    "xlsx": ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", True),
    "spdx": ("rdf", "application/rdf+xml", True),
    "spdx_lite": ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", True),
    "cyclone_dx": ("json", "application/octet-stream", True),
}


def _rows(scans: list[Scan]) -> list[dict[str, Any]]:
    rows = []
    for scan in scans:
        for row in (scan.results.get("identified") or {}).values():
            rows.append({**row, "scan_code": scan.code, "status": "identified"})
        for row_id, path in (scan.results.get("pending") or {}).items():
            rows.append(
                {
                    "row_id": row_id,
                    "file_path": path,
                    "scan_code": scan.code,
                    "status": "pending",
                    "component_name": "",
                    "component_version": "",
                    "file_license_identifier": "",
                }
            )
    return rows


def _components(rows: list[dict[str, Any]]) -> dict[tuple[str, str], set[str]]:
    components: dict[tuple[str, str], set[str]] = {}
    for row in rows:
        if row["status"] == "identified":
            components.setdefault((row["component_name"], row["component_version"]), set()).add(
                row["file_license_identifier"]
            )
    return components


def render(report_type: str, title: str, scans: list[Scan]) -> bytes:
    rows = _rows(scans)
    if report_type == "html":
        return _html(title, rows)
    if report_type == "xlsx":
        return _xlsx(title, rows, full=True)
    if report_type == "spdx_lite":
        return _xlsx(title, rows, full=False)
    if report_type == "spdx":
        return _spdx_rdf(title, rows)
    if report_type == "cyclone_dx":
        return _cyclonedx(title, rows)
    raise ValueError(report_type)


def _xlsx(title: str, rows: list[dict[str, Any]], full: bool) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = "Identifications" if full else "SPDX Lite"
    header = ["Scan", "File", "Status", "Component", "Version", "License", "SHA1"]
    sheet.append(header if full else ["PackageName", "PackageVersion", "PackageLicenseConcluded"])
    if full:
        for row in rows:
            sheet.append(
                [
                    row["scan_code"],
                    row["file_path"],
                    row["status"],
                    row["component_name"],
                    row["component_version"],
                    row["file_license_identifier"],
                    row.get("file_sha1", ""),
                ]
            )
    else:
        for (name, version), licenses in sorted(_components(rows).items()):
            sheet.append([name, version, " AND ".join(sorted(licenses))])
    book.properties.title = title
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _spdx_rdf(title: str, rows: list[dict[str, Any]]) -> bytes:
    namespace = f"https://fossid.sandbox.invalid/spdx/{uuid.uuid5(uuid.NAMESPACE_URL, title)}"
    packages = []
    for n, ((name, version), licenses) in enumerate(sorted(_components(rows).items())):
        expression = " AND ".join(sorted(licenses)) or "NOASSERTION"
        packages.append(f"""    <spdx:relationship>
      <spdx:Relationship>
        <spdx:relationshipType rdf:resource="http://spdx.org/rdf/terms#relationshipType_describes"/>
        <spdx:relatedSpdxElement>
          <spdx:Package rdf:about="{namespace}#SPDXRef-Package-{n}">
            <spdx:name>{escape(name)}</spdx:name>
            <spdx:versionInfo>{escape(version)}</spdx:versionInfo>
            <spdx:downloadLocation rdf:resource="http://spdx.org/rdf/terms#noassertion"/>
            <spdx:licenseConcluded>{escape(expression)}</spdx:licenseConcluded>
            <spdx:licenseDeclared rdf:resource="http://spdx.org/rdf/terms#noassertion"/>
            <spdx:copyrightText rdf:resource="http://spdx.org/rdf/terms#noassertion"/>
            <spdx:filesAnalyzed>false</spdx:filesAnalyzed>
          </spdx:Package>
        </spdx:relatedSpdxElement>
      </spdx:Relationship>
    </spdx:relationship>""")
    body = "\n".join(packages)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
         xmlns:rdfs="http://www.w3.org/2000/01/rdf-schema#"
         xmlns:spdx="http://spdx.org/rdf/terms#">
  <spdx:SpdxDocument rdf:about="{namespace}#SPDXRef-DOCUMENT">
    <spdx:specVersion>SPDX-2.3</spdx:specVersion>
    <spdx:dataLicense rdf:resource="http://spdx.org/licenses/CC0-1.0"/>
    <spdx:name>{escape(title)}</spdx:name>
    <spdx:creationInfo>
      <spdx:CreationInfo>
        <spdx:created>{now_text().replace(" ", "T")}Z</spdx:created>
        <spdx:creator>Tool: FossID Workbench sandbox</spdx:creator>
      </spdx:CreationInfo>
    </spdx:creationInfo>
{body}
  </spdx:SpdxDocument>
</rdf:RDF>
""".encode()


def _cyclonedx(title: str, rows: list[dict[str, Any]]) -> bytes:
    components = []
    for (name, version), licenses in sorted(_components(rows).items()):
        components.append(
            {
                "type": "library",
                "bom-ref": f"{name}@{version}",
                "name": name,
                "version": version,
                "licenses": [{"license": {"id": lic}} for lic in sorted(licenses)],
            }
        )
    bom = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "version": 1,
        "serialNumber": f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, title)}",
        "metadata": {
            "timestamp": now_text().replace(" ", "T") + "Z",
            "tools": [{"vendor": "FossID", "name": "Workbench sandbox"}],
            "component": {"type": "application", "name": title, "bom-ref": title},
        },
        "components": components,
    }
    return json.dumps(bom, indent=2).encode()


def _html(title: str, rows: list[dict[str, Any]]) -> bytes:
    lines = "".join(
        f"<tr><td>{html.escape(r['file_path'])}</td><td>{r['status']}</td>"
        f"<td>{html.escape(r['component_name'])} {html.escape(r['component_version'])}</td>"
        f"<td>{html.escape(r['file_license_identifier'])}</td></tr>"
        for r in rows
    )
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head>"
        f"<body><h1>{html.escape(title)}</h1><table><tr><th>File</th><th>Status</th><th>Component</th>"
        f"<th>License</th></tr>{lines}</table></body></html>"
    ).encode()
