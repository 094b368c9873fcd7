"""Report files the sandbox generates from scan results: real xlsx (openpyxl), SPDX 2.3 RDF/XML,
SPDX-lite xlsx, CycloneDX 1.5 JSON, HTML, and the notice files. Extensions follow Workbench
(workbench-agent CE src/workbench_agent/api/utils/report_definitions.py:157-168): spdx→rdf,
spdx_lite→xlsx, cyclone_dx→json, string_match→xlsx, dynamic_top_matched_components→html."""

from __future__ import annotations

import html
import io
import json
import re
import uuid
from typing import Any
from xml.sax.saxutils import escape

from openpyxl import Workbook

from sandboxes.fossid.detect import LISTED_LICENSES
from sandboxes.fossid.state import Scan, now_text

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HTML = "text/html; charset=UTF-8"
REPORT_TYPES = {  # type → (extension, content type, asynchronous allowed)
    "html": ("html", HTML, False),
    "xlsx": ("xlsx", XLSX, True),
    "spdx": ("rdf", "application/rdf+xml", True),
    "spdx_lite": ("xlsx", XLSX, True),
    "cyclone_dx": ("json", "application/octet-stream", True),
    # Synchronous only: workbench-agent CE report_definitions.py:23-46 ("is_async": False).
    "string_match": ("xlsx", XLSX, False),
    "dynamic_top_matched_components": ("html", HTML, False),
    # Before 24.2 only (ORT clients/fossid-webapp/src/main/kotlin/model/report/Model.kt:24-36).
    # "basic" could run asynchronously since 23.1 (API change log, 23.1 "Trigger async reports").
    "dynamic": ("html", HTML, False),
    "basic": ("html", HTML, True),
}
# Which types a Workbench version accepts. ORT Model.kt:24-29 lists, for >= 24.2: SPDX, XLSX,
# STRING_MATCH, DYNAMIC_TOP_MATCHED_COMPONENTS, CYCLONE_DX, SPDX_LITE, HTML; for < 24.2 the same
# plus DYNAMIC and BASIC (and PRELIMINARY, GENERATE_DYNAMIC_TOP_MATCHED_REPORT, not emulated).
REPORT_TYPES_SINCE_24_2 = (
    "html",
    "xlsx",
    "spdx",
    "spdx_lite",
    "cyclone_dx",
    "string_match",
    "dynamic_top_matched_components",
)
REPORT_TYPES_BEFORE_24_2 = (*REPORT_TYPES_SINCE_24_2, "dynamic", "basic")
# Scan scope only: report_definitions.py:24 and :36 ("scopes": frozenset({"scan"})).
SCAN_ONLY_REPORTS = ("string_match", "dynamic_top_matched_components")


def report_types_for(version: tuple[int, ...]) -> tuple[str, ...]:
    return REPORT_TYPES_SINCE_24_2 if version >= (24, 2) else REPORT_TYPES_BEFORE_24_2


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
    if report_type == "string_match":
        return _string_match(title)
    if report_type == "dynamic_top_matched_components":
        return _top_components(title, rows)
    if report_type in ("dynamic", "basic"):
        return _html(title, rows)
    raise ValueError(report_type)


def _string_match(title: str) -> bytes:
    """The sandbox has no string-match rules (scans->string_match_rules_add), so no row matches."""
    book = Workbook()
    sheet = book.active
    sheet.title = "String Matches"
    sheet.append(["File", "String", "Line", "Rule"])
    book.properties.title = title
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _top_components(title: str, rows: list[dict[str, Any]]) -> bytes:
    counts: dict[tuple[str, str], int] = {}
    for row in rows:
        if row["status"] == "identified":
            key = (row["component_name"], row["component_version"])
            counts[key] = counts.get(key, 0) + 1
    lines = "".join(
        f"<tr><td>{html.escape(name)}</td><td>{html.escape(version)}</td><td>{n}</td></tr>"
        for (name, version), n in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    )
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head>"
        f"<body><h1>Top matched components</h1><table><tr><th>Component</th><th>Version</th>"
        f"<th>Files</th></tr>{lines}</table></body></html>"
    ).encode()


NOTICE_TYPES = ("NOTICE_EXTRACT_FILE", "NOTICE_EXTRACT_COMPONENT", "NOTICE_EXTRACT_AGGREGATE")


def render_notice(kind: str, scan: Scan) -> tuple[bytes, str]:
    """(body, content type). File and component notices are text (report_definitions.py:165-166
    save them as .txt); the aggregate notice is a spreadsheet (report_definitions.py:167)."""
    rows = [r for r in _rows([scan]) if r["status"] == "identified"]
    if kind == "NOTICE_EXTRACT_AGGREGATE":
        book = Workbook()
        sheet = book.active
        sheet.title = "Notices"
        sheet.append(["Component", "Version", "Licenses", "Files"])
        for (name, version), licenses in sorted(_components(rows).items()):
            files = sum(1 for r in rows if (r["component_name"], r["component_version"]) == (name, version))
            sheet.append([name, version, " AND ".join(sorted(licenses)), files])
        buffer = io.BytesIO()
        book.save(buffer)
        return buffer.getvalue(), XLSX
    if kind == "NOTICE_EXTRACT_COMPONENT":
        blocks = [
            f"{name} {version}\nLicense: {' AND '.join(sorted(licenses))}\n"
            for (name, version), licenses in sorted(_components(rows).items())
        ]
    else:
        blocks = [
            f"{r['file_path']}\nComponent: {r['component_name']} {r['component_version']}\n"
            f"License: {r['file_license_identifier']}\n"
            for r in sorted(rows, key=lambda r: r["file_path"])
        ]
    return (f"Notices for scan {scan.code}\n\n" + "\n".join(blocks)).encode(), "text/plain; charset=UTF-8"


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


SPDX_TERMS = "http://spdx.org/rdf/terms#"
SPDX_LICENSES = "http://spdx.org/licenses/"


def license_ref(identifier: str) -> str:
    """A LicenseRef id for a license that is not on the SPDX License List (idstring: [A-Za-z0-9.-])."""
    if identifier.startswith("LicenseRef-"):
        return identifier
    return "LicenseRef-" + re.sub(r"[^A-Za-z0-9.-]+", "-", identifier).strip("-")


def _license_node(identifier: str, namespace: str) -> str:
    """The rdf:resource of one license: the SPDX License List URI, or the document's LicenseRef."""
    if identifier in LISTED_LICENSES:
        return SPDX_LICENSES + identifier
    return f"{namespace}#{license_ref(identifier)}"


def _license_concluded(licenses: set[str], namespace: str) -> str:
    """``spdx:licenseConcluded`` as SPDX 2.3 RDF writes it (spec clause 7.13 and the RDF ontology):
    a resource for one license, a ConjunctiveLicenseSet of members for several, noassertion for none."""
    if not licenses:
        return f'<spdx:licenseConcluded rdf:resource="{SPDX_TERMS}noassertion"/>'
    if len(licenses) == 1:
        return f'<spdx:licenseConcluded rdf:resource="{escape(_license_node(next(iter(licenses)), namespace))}"/>'
    members = "".join(
        f'\n                <spdx:member rdf:resource="{escape(_license_node(lic, namespace))}"/>'
        for lic in sorted(licenses)
    )
    return (
        "<spdx:licenseConcluded>\n              <spdx:ConjunctiveLicenseSet>"
        f"{members}\n              </spdx:ConjunctiveLicenseSet>\n            </spdx:licenseConcluded>"
    )


def _spdx_rdf(title: str, rows: list[dict[str, Any]]) -> bytes:
    namespace = f"https://fossid.sandbox.invalid/spdx/{uuid.uuid5(uuid.NAMESPACE_URL, title)}"
    components = sorted(_components(rows).items())
    packages = []
    for n, ((name, version), licenses) in enumerate(components):
        licenses = {lic for lic in licenses if lic}
        packages.append(f"""    <spdx:relationship>
      <spdx:Relationship>
        <spdx:relationshipType rdf:resource="{SPDX_TERMS}relationshipType_describes"/>
        <spdx:relatedSpdxElement>
          <spdx:Package rdf:about="{namespace}#SPDXRef-Package-{n}">
            <spdx:name>{escape(name)}</spdx:name>
            <spdx:versionInfo>{escape(version)}</spdx:versionInfo>
            <spdx:downloadLocation rdf:resource="{SPDX_TERMS}noassertion"/>
            {_license_concluded(licenses, namespace)}
            <spdx:licenseDeclared rdf:resource="{SPDX_TERMS}noassertion"/>
            <spdx:copyrightText rdf:resource="{SPDX_TERMS}noassertion"/>
            <spdx:filesAnalyzed rdf:datatype="http://www.w3.org/2001/XMLSchema#boolean">false</spdx:filesAnalyzed>
          </spdx:Package>
        </spdx:relatedSpdxElement>
      </spdx:Relationship>
    </spdx:relationship>""")
    unlisted = sorted({lic for _, lics in components for lic in lics if lic and lic not in LISTED_LICENSES})
    extracted = [
        f"""    <spdx:hasExtractedLicensingInfo>
      <spdx:ExtractedLicensingInfo rdf:about="{escape(namespace)}#{escape(license_ref(lic))}">
        <spdx:licenseId>{escape(license_ref(lic))}</spdx:licenseId>
        <spdx:name>{escape(lic)}</spdx:name>
        <spdx:extractedText>License {escape(lic)} as identified in FossID Workbench.</spdx:extractedText>
      </spdx:ExtractedLicensingInfo>
    </spdx:hasExtractedLicensingInfo>"""
        for lic in unlisted
    ]
    body = "\n".join(extracted + packages)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
         xmlns:rdfs="http://www.w3.org/2000/01/rdf-schema#"
         xmlns:spdx="{SPDX_TERMS}">
  <spdx:SpdxDocument rdf:about="{namespace}#SPDXRef-DOCUMENT">
    <spdx:specVersion>SPDX-2.3</spdx:specVersion>
    <spdx:dataLicense rdf:resource="{SPDX_LICENSES}CC0-1.0"/>
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
