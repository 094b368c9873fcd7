"""Build the sandbox's index from real package archives with scancode-toolkit.

``python -m sandboxes.purldb.seed --out index.json ARCHIVE...`` extracts each archive, runs
``scancode --package --license --info`` over it, and records one package per archive (the
package scancode detects at its root: purl, declared license, homepage …) with every file as a
resource (path, size, md5, sha1, sha256, detected license). The archive's own checksums and a
download URL (``--download-base-url``/filename, else the purl's registry URL) complete the package.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import uuid
import zipfile
from pathlib import Path
from typing import Any


def checksums(path: Path) -> dict[str, str]:
    digests = {name: hashlib.new(name) for name in ("md5", "sha1", "sha256", "sha512")}
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1024 * 1024), b""):
            for digest in digests.values():
                digest.update(block)
    return {name: digest.hexdigest() for name, digest in digests.items()}


def extract(archive: Path, target: Path) -> None:
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            for member in zf.infolist():
                if member.is_dir() or member.filename.startswith("/") or ".." in Path(member.filename).parts:
                    continue
                out = target / member.filename
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_bytes(zf.read(member))
    else:
        with tarfile.open(archive) as tf:
            tf.extractall(target, filter="data")


def scan(directory: Path) -> dict[str, Any]:
    scancode = shutil.which("scancode") or str(Path(sys.executable).parent / "scancode")
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        subprocess.run(
            [
                scancode,
                "--package",
                "--license",
                "--info",
                "--strip-root",
                "-n",
                "2",
                "--quiet",
                "--json",
                out.name,
                str(directory),
            ],
            check=True,
            timeout=900,
        )
        return json.loads(Path(out.name).read_text())


def package_content(filename: str) -> str | None:
    """The PackageContentType label (purldb packagedb/models.py:438-449) an archive stands for."""
    if filename.endswith((".whl", ".jar", ".egg", ".gem", ".nupkg", ".deb", ".rpm", ".apk")):
        return "binary"
    if filename.endswith((".tar.gz", ".tgz", ".zip", ".tar.bz2", ".tar.xz", ".tar")):
        return "source_archive"
    return None


def package_record(archive: Path, result: dict[str, Any], download_base_url: str | None) -> dict[str, Any]:
    detected = (result.get("packages") or [{}])[0]
    purl = detected.get("purl") or f"pkg:generic/{archive.name}"
    sums = checksums(archive)
    download_url = f"{download_base_url.rstrip('/')}/{archive.name}" if download_base_url else None
    if not download_url:
        from packageurl.contrib.purl2url import get_download_url

        download_url = get_download_url(purl) or ""
    package_uuid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{purl}#{archive.name}"))
    resources = []
    for item in result.get("files", []):
        if item.get("type") != "file":
            continue
        resources.append(
            {
                "path": item["path"],
                "type": "file",
                "name": item.get("name", ""),
                "extension": item.get("extension", ""),
                "size": item.get("size"),
                "md5": item.get("md5"),
                "sha1": item.get("sha1"),
                "sha256": item.get("sha256"),
                "sha512": None,
                "git_sha1": None,
                "mime_type": item.get("mime_type") or "",
                "file_type": item.get("file_type") or "",
                "programming_language": item.get("programming_language") or "",
                "is_binary": bool(item.get("is_binary")),
                "is_text": bool(item.get("is_text")),
                "is_archive": bool(item.get("is_archive")),
                "is_media": bool(item.get("is_media")),
                "is_key_file": bool(item.get("is_key_file")),
                "detected_license_expression": item.get("detected_license_expression") or "",
                "detected_license_expression_spdx": item.get("detected_license_expression_spdx") or "",
                "license_detections": [],
                "license_clues": [],
                "percentage_of_license_text": None,
                "copyrights": [],
                "holders": [],
                "authors": [],
                "package_data": [],
                "emails": [],
                "urls": [],
                "extra_data": {},
            }
        )
    return {
        "uuid": package_uuid,
        "filename": archive.name,
        "package_content": package_content(archive.name),
        "purl": purl,
        "type": detected.get("type") or "generic",
        "namespace": detected.get("namespace") or "",
        "name": detected.get("name") or archive.name,
        "version": detected.get("version") or "",
        "qualifiers": "",
        "subpath": "",
        "primary_language": detected.get("primary_language") or "",
        "description": detected.get("description") or "",
        "release_date": detected.get("release_date"),
        "parties": detected.get("parties") or [],
        "keywords": [],
        "homepage_url": detected.get("homepage_url"),
        "download_url": download_url,
        "bug_tracking_url": None,
        "code_view_url": None,
        "vcs_url": detected.get("vcs_url"),
        "repository_homepage_url": detected.get("repository_homepage_url"),
        "repository_download_url": None,
        "api_data_url": None,
        "size": archive.stat().st_size,
        **sums,
        "copyright": detected.get("copyright"),
        "holder": detected.get("holder"),
        "declared_license_expression": detected.get("declared_license_expression") or "",
        "declared_license_expression_spdx": detected.get("declared_license_expression_spdx") or "",
        "license_detections": [],
        "other_license_expression": None,
        "other_license_expression_spdx": None,
        "other_license_detections": [],
        "extracted_license_statement": detected.get("extracted_license_statement"),
        "notice_text": None,
        "source_packages": [],
        "extra_data": {},
        "package_uid": f"{purl}?uuid={package_uuid}",
        "datasource_id": detected.get("datasource_ids", [None])[0] if detected.get("datasource_ids") else None,
        "file_references": [],
        "dependencies": [
            {k: d.get(k) for k in ("purl", "extracted_requirement", "scope", "is_runtime", "is_optional")}
            | {"is_resolved": False}
            for d in result.get("dependencies", [])
        ],
        "history": [
            {
                "message": f"New Package created from {archive.name} by the sandbox seed (scancode-toolkit).",
                "timestamp": "2026-01-01-00:00:00",
            }
        ],
        "resources": resources,
    }


def metadata_record(entry: dict[str, Any], template: dict[str, Any]) -> dict[str, Any]:
    """A package PurlDB collected but never scanned: its metadata, no resources."""
    from packageurl import PackageURL

    purl = PackageURL.from_string(entry["purl"])
    package_uuid = str(uuid.uuid5(uuid.NAMESPACE_URL, "metadata:" + entry["purl"]))
    record = {
        key: ([] if isinstance(value, list) else {} if isinstance(value, dict) else None)
        for key, value in template.items()
    }
    record.update(
        {
            "uuid": package_uuid,
            "type": purl.type,
            "namespace": purl.namespace or "",
            "name": purl.name,
            "version": purl.version or "",
            "qualifiers": "",
            "subpath": "",
            "purl": entry["purl"],
            "package_uid": f"{entry['purl']}?uuid={package_uuid}",
            **{k: v for k, v in entry.items() if k != "purl"},
            "history": [{"message": "Package metadata collected (not scanned).", "timestamp": "2026-01-01-00:00:00"}],
            "resources": [],
        }
    )
    record["package_content"] = package_content(str(entry.get("filename") or ""))
    return record


def build_index(
    archives: list[Path], download_base_url: str | None, metadata: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    packages = []
    for archive in archives:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp) / archive.name
            root.mkdir()
            extract(archive, root)
            packages.append(package_record(archive, scan(root), download_base_url))
    if metadata and packages:  # metadata-only packages first: the scanned ones are not the first rows
        packages = [metadata_record(entry, packages[0]) for entry in metadata] + packages
    by_name: dict[str, list[str]] = {}
    for package in packages:
        by_name.setdefault(f"{package['type']}/{package['namespace']}/{package['name']}", []).append(package["uuid"])
    package_sets = [
        {"uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, key)), "packages": members}
        for key, members in sorted(by_name.items())
        if len(members) > 1
    ]
    return {
        "packages": packages,
        "package_sets": package_sets,
        "seeded_from": [{"filename": a.name, **checksums(a)} for a in archives],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("archives", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--download-base-url", default=os.environ.get("SCA_INPUTS_BASE_URL"))
    parser.add_argument("--metadata", type=Path, help="JSON {packages: [...]} of metadata-only packages")
    args = parser.parse_args()
    metadata = json.loads(args.metadata.read_text())["packages"] if args.metadata else None
    index = build_index(args.archives, args.download_base_url, metadata)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(index, indent=1))
    counts = sum(len(p["resources"]) for p in index["packages"])
    print(f"PurlDB sandbox index: {len(index['packages'])} packages, {counts} resources -> {args.out}")


if __name__ == "__main__":
    main()
