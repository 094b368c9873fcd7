"""Deterministic scan results from an input's name and bytes, in scanpipe's serializer shapes
(scanpipe/api/serializers.py:338-520). A tar or zip upload gives its real member paths, sizes and
checksums; anything else gives a few files derived from the name. A package comes from the file
name (``name-version`` + a PyPI or npm extension, else ``pkg:generic``), its license from a hash of
the name, so the same input always yields the same answer."""

from __future__ import annotations

import hashlib
import io
import re
import tarfile
import zipfile
from dataclasses import dataclass
from typing import Any

LICENSES = (("mit", "MIT"), ("apache-2.0", "Apache-2.0"), ("bsd-new", "BSD-3-Clause"), ("isc", "ISC"))
MAX_MEMBERS = 500
PACKAGE_NAME = re.compile(r"^(?P<name>.+?)-(?P<version>\d[^-]*?)(?:-py\d.*)?(?P<ext>\.whl|\.tar\.gz|\.tgz|\.zip)$")


@dataclass
class Member:
    path: str
    content: bytes


def digest(data: bytes, algorithm: str) -> str:
    return hashlib.new(algorithm, data).hexdigest()


def git_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()  # noqa: S324 (a checksum)


def members_of(filename: str, content: bytes | None) -> list[Member]:
    """The files of an archive upload; a few synthetic files when it is not one (or not here)."""
    if content:
        try:
            with tarfile.open(fileobj=io.BytesIO(content)) as archive:
                found = []
                for info in archive.getmembers()[:MAX_MEMBERS]:
                    if info.isfile():
                        data = archive.extractfile(info)
                        found.append(Member(info.name.lstrip("./"), data.read() if data else b""))
                return found
        except (tarfile.TarError, EOFError, OSError):
            pass
        if zipfile.is_zipfile(io.BytesIO(content)):
            with zipfile.ZipFile(io.BytesIO(content)) as archive:
                names = [n for n in archive.namelist() if not n.endswith("/")][:MAX_MEMBERS]
                return [Member(name, archive.read(name)) for name in names]
    stem = re.sub(r"(\.tar\.gz|\.tgz|\.whl|\.zip|\.tar)$", "", filename) or "input"
    seed = int(digest(filename.encode(), "sha256")[:8], 16)
    count = 3 + seed % 4
    files = [Member(f"{stem}/README.md", f"# {stem}\n".encode())]
    for i in range(count):
        files.append(Member(f"{stem}/src/module_{i}.py", f"# {stem} module {i}\nVALUE = {seed % 97 + i}\n".encode()))
    files.append(Member(f"{stem}/LICENSE", f"License text of {stem}\n".encode()))
    return files


def package_identity(filename: str) -> tuple[str, str, str]:
    """(type, name, version) read off an archive file name."""
    match = PACKAGE_NAME.match(filename)
    if not match:
        return "generic", filename, ""
    kind = "npm" if match["ext"] == ".tgz" else "pypi"
    name = match["name"].lower().replace("_", "-") if kind == "pypi" else match["name"]
    return kind, name, match["version"]


def license_for(name: str) -> tuple[str, str]:
    return LICENSES[int(digest(name.encode(), "sha256")[:4], 16) % len(LICENSES)]


def directories_of(paths: list[str]) -> list[str]:
    found: set[str] = set()
    for path in paths:
        parts = path.split("/")[:-1]
        found.update("/".join(parts[: i + 1]) for i in range(len(parts)))
    return sorted(found)


def resource(path: str, content: bytes | None, license_key: str, license_spdx: str, package_uid: str) -> dict[str, Any]:
    """CodebaseResourceSerializer fields (serializers.py:338-385), in its order."""
    name = path.rsplit("/", 1)[-1]
    is_file = content is not None
    data = content or b""
    extension = ("." + name.rsplit(".", 1)[-1]) if is_file and "." in name.lstrip(".") else ""
    is_legal = name.upper().startswith(("LICENSE", "COPYING"))
    licensed = is_file and (is_legal or extension == ".py")
    detection = {
        "license_expression": license_key,
        "license_expression_spdx": license_spdx,
        "matches": [
            {
                "license_expression": license_key,
                "license_expression_spdx": license_spdx,
                "from_file": path,
                "start_line": 1,
                "end_line": 1,
                "matcher": "2-aho",
                "score": 100.0,
                "matched_length": 3,
                "match_coverage": 100.0,
                "rule_relevance": 100,
                "rule_identifier": f"{license_key}_1.RULE",
                "rule_url": None,
            }
        ],
        "identifier": f"{license_key}-{digest(path.encode(), 'md5')[:12]}",
    }
    return {
        "path": path,
        "type": "file" if is_file else "directory",
        "name": name,
        "status": ("application-package" if package_uid else "scanned") if is_file else "",
        "for_packages": [package_uid] if is_file and package_uid else [],
        "tag": "",
        "extension": extension,
        "size": len(data) if is_file else None,
        "mime_type": ("text/plain" if is_file else None),
        "file_type": ("ASCII text" if is_file else None),
        "programming_language": "Python" if extension == ".py" else "",
        "detected_license_expression": license_key if licensed else "",
        "detected_license_expression_spdx": license_spdx if licensed else "",
        "license_detections": [detection] if licensed else [],
        "license_clues": [],
        "percentage_of_license_text": 100.0 if licensed and is_legal else 0.0,
        "compliance_alert": "",
        "copyrights": [],
        "holders": [],
        "authors": [],
        "package_data": [],
        "emails": [],
        "urls": [],
        "md5": digest(data, "md5") if is_file else "",
        "sha1": digest(data, "sha1") if is_file else "",
        "sha256": digest(data, "sha256") if is_file else "",
        "sha512": digest(data, "sha512") if is_file else "",
        "sha1_git": git_sha1(data) if is_file else "",
        "is_binary": False,
        "is_text": is_file,
        "is_archive": False,
        "is_media": False,
        "is_legal": is_legal,
        "is_manifest": False,
        "is_readme": name.upper().startswith("README"),
        "is_top_level": path.count("/") <= 1,
        "is_key_file": is_legal and path.count("/") <= 1,
        "extra_data": {},
    }


def package(
    kind: str, name: str, version: str, license_key: str, license_spdx: str, filename: str, paths: list[str]
) -> dict[str, Any]:
    """DiscoveredPackageSerializer fields (serializers.py:388-444), in its order."""
    purl = f"pkg:{kind}/{name}" + (f"@{version}" if version else "")
    return {
        "purl": purl,
        "type": kind,
        "namespace": "",
        "name": name,
        "version": version,
        "qualifiers": "",
        "subpath": "",
        "tag": "",
        "primary_language": "Python" if kind == "pypi" else ("JavaScript" if kind == "npm" else ""),
        "description": f"{name} (sandbox)",
        "notes": "",
        "release_date": None,
        "parties": [],
        "keywords": [],
        "homepage_url": "",
        "download_url": "",
        "bug_tracking_url": "",
        "code_view_url": "",
        "vcs_url": "",
        "repository_homepage_url": "",
        "repository_download_url": "",
        "api_data_url": "",
        "size": None,
        "md5": "",
        "sha1": "",
        "sha256": "",
        "sha512": "",
        "copyright": "",
        "holder": "",
        "declared_license_expression": license_key,
        "declared_license_expression_spdx": license_spdx,
        "license_detections": [],
        "other_license_expression": "",
        "other_license_expression_spdx": "",
        "other_license_detections": [],
        "extracted_license_statement": license_spdx,
        "compliance_alert": "",
        "notice_text": "",
        "source_packages": [],
        "extra_data": {},
        "package_uid": f"{purl}?uuid={package_uuid(filename)}",
        "is_private": False,
        "is_virtual": False,
        "datasource_ids": [f"{kind}_sandbox"],
        "datafile_paths": paths[:1],
        "file_references": [],
        "missing_resources": [],
        "modified_resources": [],
        "affected_by_vulnerabilities": [],
    }


def package_uuid(filename: str) -> str:
    h = digest(filename.encode(), "md5")
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def dependency(kind: str, requirement_name: str, for_package: dict[str, Any], datafile: str) -> dict[str, Any]:
    """DiscoveredDependencySerializer fields (serializers.py:447-471)."""
    return {
        "purl": f"pkg:{kind}/{requirement_name}",
        "extracted_requirement": ">=1.0",
        "scope": "install",
        "is_runtime": True,
        "is_optional": False,
        "is_pinned": False,
        "is_direct": True,
        "dependency_uid": f"pkg:{kind}/{requirement_name}?uuid={package_uuid(requirement_name + datafile)}",
        "for_package_uid": for_package["package_uid"],
        "resolved_to_package_uid": None,
        "datafile_path": datafile,
        "datasource_id": f"{kind}_sandbox",
        "package_type": kind,
        "affected_by_vulnerabilities": [],
    }


@dataclass
class Inventory:
    resources: list[dict[str, Any]]
    packages: list[dict[str, Any]]
    dependencies: list[dict[str, Any]]
    summary: dict[str, Any]
    extra_data: dict[str, Any]


def scan_inputs(inputs: list[tuple[str, bytes | None]], *, extract_prefix: bool) -> Inventory:
    """The inventory of a scan of ``inputs`` ((file name, bytes or None)). ``extract_prefix``:
    scan_codebase keeps each archive and extracts it under ``<name>-extract/``; scan_single_package
    extracts the one input straight into the codebase."""
    resources: list[dict[str, Any]] = []
    packages: list[dict[str, Any]] = []
    dependencies: list[dict[str, Any]] = []
    for filename, content in inputs:
        kind, name, version = package_identity(filename)
        license_key, license_spdx = license_for(name)
        members = members_of(filename, content)
        prefix = f"{filename}-extract/" if extract_prefix else ""
        paths = [prefix + m.path for m in members]
        found = package(kind, name, version, license_key, license_spdx, filename, paths) if version else None
        uid = found["package_uid"] if found else ""
        entries = [resource(d, None, license_key, license_spdx, uid) for d in directories_of(paths)]
        entries += [resource(prefix + m.path, m.content, license_key, license_spdx, uid) for m in members]
        if extract_prefix:
            entries.append(resource(filename, content or b"", license_key, license_spdx, ""))
        resources.extend(entries)
        if found:
            packages.append(found)
            seed = int(digest(name.encode(), "sha256")[:2], 16)
            for i in range(seed % 3):
                dependencies.append(dependency(kind, f"{name}-dep{i}", found, paths[0] if paths else filename))
    resources.sort(key=lambda r: r["path"])
    first = inputs[0][0] if inputs else ""
    license_key, _ = license_for(package_identity(first)[1])
    summary = {
        "declared_license_expression": license_key if packages else None,
        "license_clarity_score": {
            "score": 0,
            "declared_license": False,
            "identification_precision": False,
            "has_license_text": False,
            "declared_copyrights": False,
            "conflicting_license_categories": False,
            "ambiguous_compound_licensing": False,
        },
        "declared_holder": "",
        "primary_language": "Python",
        "other_license_expressions": [],
        "other_holders": [],
        "other_languages": [],
        "license_matches": {},
        "key_files": [r for r in resources if r["is_key_file"]],
        "key_files_packages": [],
    }
    extra: dict[str, Any] = {}
    if inputs:
        data = inputs[0][1] or b""
        # collect_input_information: filename, size and commoncode's multi_checksums
        extra = {
            "filename": first,
            "size": len(data),
            "md5": digest(data, "md5"),
            "sha1": digest(data, "sha1"),
            "sha256": digest(data, "sha256"),
            "sha512": digest(data, "sha512"),
            "sha1_git": git_sha1(data),
        }
    return Inventory(resources, packages, dependencies, summary, extra)
