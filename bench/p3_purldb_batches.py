"""P3: PurlDB requests for N file checksums, batched as the client sends them vs one per file.

The PurlDB sandbox runs as a real process over an index written here (40 packages of 50 files);
N sha1s are asked for, of which N/40 are files of the index and N/1000 package archives (so
answers run to more than one page of 20), the rest unknown. Both ways go through
``PurlDBClient.packages_by_checksums`` and ``resources_by_checksums`` (what
``PurlDBChecksumLookupOperator`` calls): the default batch size (``MAX_BATCH``) vs
``batch_size=1``. Requests are counted by the sandbox (``/_sandbox/requests``), and both ways must
find the same packages and files. The sandbox's throttle is lifted for the per-file way (3,600
requests an hour is the real anonymous rate).

The per-file way costs about 45 ms a request against the sandbox on this machine, so it is run on
an evenly spread sample of the checksums (every k-th) and its request count scaled to N (it is one
request per checksum and endpoint, plus pages, which a single checksum does not fill); the
batched way runs on all N, and both must agree on the sample.
"""

from __future__ import annotations

import hashlib
import json
import math
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import requests

from bench.harness import Row
from bench.processes import server

PACKAGES = 40
FILES_PER_PACKAGE = 50
PAGE = 20


def sha1(text: str) -> str:
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()


def build_index() -> dict[str, Any]:
    packages = []
    for n in range(PACKAGES):
        name = f"bench-lib-{n:02d}"
        packages.append(
            {
                "uuid": str(uuid.UUID(int=n + 1)),
                "purl": f"pkg:pypi/{name}@1.{n}.0",
                "type": "pypi",
                "namespace": "",
                "name": name,
                "version": f"1.{n}.0",
                "qualifiers": "",
                "subpath": "",
                "filename": f"{name}-1.{n}.0.tar.gz",
                "package_content": "source_archive",
                "download_url": f"https://example.org/{name}-1.{n}.0.tar.gz",
                "release_date": f"2020-01-{n % 28 + 1:02d}",
                "sha1": sha1(f"archive {n}"),
                "md5": hashlib.md5(f"archive {n}".encode(), usedforsecurity=False).hexdigest(),
                "declared_license_expression": "mit",
                "resources": [
                    {
                        "path": f"{name}/module_{f:03d}.py",
                        "type": "file",
                        "name": f"module_{f:03d}.py",
                        "extension": ".py",
                        "size": 100 + f,
                        "sha1": sha1(f"file {n} {f}"),
                        "md5": hashlib.md5(f"file {n} {f}".encode(), usedforsecurity=False).hexdigest(),
                    }
                    for f in range(FILES_PER_PACKAGE)
                ],
            }
        )
    return {"packages": packages}


def wanted_checksums(index: dict[str, Any], n: int) -> list[str]:
    files = [r["sha1"] for p in index["packages"] for r in p["resources"]]
    known_files = files[: max(1, n // 40)]
    archives = [p["sha1"] for p in index["packages"]][: max(1, n // 1000)]
    unknown = [sha1(f"unknown {i}") for i in range(n - len(known_files) - len(archives))]
    mixed = unknown + known_files + archives
    mixed.sort()  # known ones spread over the batches
    return mixed


def counted(url: str) -> dict[str, int]:
    return {k: v for k, v in requests.get(url + "/_sandbox/requests", timeout=30).json().items() if "/api/" in k}


def lookup(url: str, sha1s: list[str], batch_size: int) -> dict[str, Any]:
    from sca.purldb.client import LookupStats, PurlDBClient

    client = PurlDBClient(url)
    requests.post(url + "/_sandbox/requests", timeout=30).raise_for_status()
    package_stats, resource_stats = LookupStats(), LookupStats()
    began = time.perf_counter()
    packages = list(client.packages_by_checksums({"sha1": sha1s}, batch_size=batch_size, stats=package_stats))
    resources = list(client.resources_by_checksums({"sha1": sha1s}, batch_size=batch_size, stats=resource_stats))
    seconds = time.perf_counter() - began
    return {
        "seconds": seconds,
        "requests": sum(counted(url).values()),
        "packages": {p["sha1"] for p in packages},
        "resources": {r["sha1"] for r in resources},
        "stats": (package_stats, resource_stats),
    }


def allowed(n: int, batched: dict[str, Any]) -> tuple[int, int]:
    """(batches, extra result pages) the target allows: ⌈N/1000⌉ batches an endpoint, and the
    pages beyond the first that each batch's answer needs at 20 a page."""
    batches = 2 * math.ceil(n / 1000)
    extra = sum(max(0, math.ceil(found / PAGE) - 1) for stats in batched["stats"] for found in stats.per_batch)
    return batches, extra


def run(smoke: bool) -> list[Row]:
    from sca.purldb.client import MAX_BATCH

    n, sample_size = (1_000, 100) if smoke else (10_000, 500)
    index = build_index()
    sha1s = wanted_checksums(index, n)
    sample = sha1s[:: n // sample_size]
    with tempfile.TemporaryDirectory(prefix="bench-p3-") as tmp:
        index_path = Path(tmp) / "index.json"
        index_path.write_text(json.dumps(index))
        args = ["--index", str(index_path), "--state-dir", tmp, "--throttle-per-hour", "1000000000"]
        with server("sandboxes.purldb", args, "/_sandbox/config") as url:
            batched = lookup(url, sha1s, MAX_BATCH)
            per_file = lookup(url, sample, 1)
    in_sample = set(sample)
    if (batched["packages"] & in_sample, batched["resources"] & in_sample) != (
        per_file["packages"],
        per_file["resources"],
    ):
        raise RuntimeError("the batched and the per-file lookups found different packages or files")
    batches, extra = allowed(n, batched)
    per_file_requests = per_file["requests"] * n / len(sample)
    return [
        Row(
            "P3",
            f"PurlDB requests for {n:,} file sha1s (packages + resources filter_by_checksums), counted by the sandbox",
            float(batched["requests"]),
            "requests",
            per_file_requests,
            f"one per file and endpoint: {per_file['requests']:,} for a {len(sample)} sample, × {n // len(sample)}",
            f"≤ {batches + extra} ({batches} batches + {extra} result pages)",
            batched["requests"] <= batches + extra,
            times=f"{batched['seconds']:.1f} s for all vs {per_file['seconds']:.1f} s for the sample",
            note=(
                f"{len(batched['packages'])} packages and {len(batched['resources'])} files found; "
                f"the same on the sample both ways ({len(per_file['resources'])} files in it)"
            ),
        )
    ]
