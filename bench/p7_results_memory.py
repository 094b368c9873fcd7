"""P7: peak memory of a task that downloads and loads a big ScanCode.io results file, vs the file.

A ScanCode.io-shaped results JSON (headers, packages, dependencies and files with license
detections, copyrights, …) of ≥ 100 MB is written here and served by ``bench/results_server.py``
as ``results_download`` on 127.0.0.1; ``bench/p7_task.py`` runs the project's download + store +
load path in its own process and reads its resident memory from ``/proc``. The figure is the
growth of the peak over the process's resident size after its imports; the file size is the
yardstick: a growth smaller than the file shows it was never read whole.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import IO, Any

from bench.harness import Row
from bench.pg import throwaway_schema, wait_for_database
from bench.processes import ROOT, server

MB = 1024 * 1024
TARGET_GROWTH_MB = 250


def file_entry(i: int) -> dict[str, Any]:
    digest = hashlib.sha256(str(i).encode()).hexdigest()
    path = f"bench-pkg/src/area_{i // 500:04d}/module_{i:07d}.py"
    return {
        "path": path,
        "type": "file",
        "name": path.rsplit("/", 1)[1],
        "base_name": f"module_{i:07d}",
        "extension": ".py",
        "size": 2000 + i % 9000,
        "date": "2026-01-01",
        "sha1": digest[:40],
        "md5": digest[:32],
        "sha256": digest,
        "sha1_git": digest[8:48],
        "mime_type": "text/x-script.python",
        "file_type": "Python script, ASCII text executable",
        "programming_language": "Python",
        "is_binary": False,
        "is_text": True,
        "is_archive": False,
        "is_media": False,
        "is_source": True,
        "is_script": True,
        "detected_license_expression": "apache-2.0",
        "detected_license_expression_spdx": "Apache-2.0",
        "license_detections": [
            {
                "license_expression": "apache-2.0",
                "license_expression_spdx": "Apache-2.0",
                "identifier": f"apache_2_0-{digest[:36]}",
                "matches": [
                    {
                        "license_expression": "apache-2.0",
                        "spdx_license_expression": "Apache-2.0",
                        "from_file": path,
                        "start_line": 1,
                        "end_line": 13,
                        "matcher": "2-aho",
                        "score": 100.0,
                        "matched_length": 85,
                        "match_coverage": 100.0,
                        "rule_relevance": 100,
                        "rule_identifier": "apache-2.0_7.RULE",
                        "rule_url": "https://github.com/aboutcode-org/scancode-toolkit/tree/develop/src/licensedcode/data/rules/apache-2.0_7.RULE",
                    }
                ],
            }
        ],
        "license_clues": [],
        "percentage_of_license_text": 41.2,
        "copyrights": [{"copyright": f"Copyright (c) 2026 Bench Authors {i % 97}", "start_line": 1, "end_line": 1}],
        "holders": [{"holder": f"Bench Authors {i % 97}", "start_line": 1, "end_line": 1}],
        "authors": [],
        "emails": [{"email": f"dev{i % 13}@example.org", "start_line": 3, "end_line": 3}],
        "urls": [{"url": "https://www.apache.org/licenses/LICENSE-2.0", "start_line": 7, "end_line": 7}],
        "for_packages": ["pkg:pypi/bench-pkg@1.0.0?uuid=00000000-0000-0000-0000-000000000001"],
        "scan_errors": [],
        "compliance_alert": "",
        "status": "scanned",
        "tag": "",
        "extra_data": {},
    }


def write_results(out: IO[str], min_bytes: int) -> int:
    """Stream a results JSON of at least ``min_bytes``; returns the number of files in it."""
    head = {
        "headers": [
            {"tool_name": "scanpipe", "tool_version": "38.2.0", "notice": "bench", "uuid": str(uuid.UUID(int=1))}
        ],
        "packages": [{"purl": "pkg:pypi/bench-pkg@1.0.0", "type": "pypi", "name": "bench-pkg", "version": "1.0.0"}],
        "dependencies": [],
    }
    out.write(json.dumps(head)[:-1] + ', "files": [')
    written, count = 0, 0
    while written < min_bytes:
        text = ("," if count else "") + json.dumps(file_entry(count))
        out.write(text)
        written += len(text)
        count += 1
    out.write("]}")
    return count


def run_task(url: str, schema: str, store_root: str) -> dict[str, Any]:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.p7_task",
            "--url",
            url,
            "--project",
            str(uuid.uuid4()),
            "--schema",
            schema,
            "--store-root",
            store_root,
        ],
        cwd=ROOT,
        env={**os.environ},
        capture_output=True,
        text=True,
        timeout=900,
    )
    if done.returncode != 0:
        raise RuntimeError(f"bench.p7_task failed: {done.stderr[-1500:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def run(smoke: bool) -> list[Row]:
    min_mb = 5 if smoke else 105
    wait_for_database(60 if smoke else 180)
    with tempfile.TemporaryDirectory(prefix="bench-p7-") as tmp:
        results = Path(tmp) / "results.json"
        with results.open("w") as out:
            files = write_results(out, min_mb * MB)
        with (
            server("bench.results_server", ["--file", str(results)], "/ready") as url,
            throwaway_schema("bench_p7") as schema,
        ):
            task = run_task(url, schema, Path(tmp, "store").as_uri())
    size_mb = task["size"] / MB
    base = task["baseline_kib"]
    stage1 = (task["stage1_peak_kib"] - base) / 1024
    stage2 = (task["stage2_peak_kib"] - base) / 1024
    growth = max(stage1, stage2)
    whole = f"< file ({size_mb:.0f} MB): not read whole"
    return [
        Row(
            "P7",
            f"peak RSS growth of a task downloading + loading a {size_mb:.0f} MB ScanCode.io results file "
            f"({files:,} files)",
            round(growth, 1),
            "MB",
            round(size_mb, 1),
            "file size",
            f"≤ {TARGET_GROWTH_MB} MB and {whole}",
            growth <= TARGET_GROWTH_MB and growth < size_mb,
            times=f"download+store {task['stage1_s']:.1f} s, load {task['stage2_s']:.1f} s",
            note=f"baseline RSS {base / 1024:.0f} MB after imports; ru_maxrss {task['ru_maxrss_kib'] / 1024:.0f} MB",
        ),
        Row(
            "P7",
            "  of which: download + store (ScanCodeIOClient.download_results → ArtefactStore.put_file)",
            round(stage1, 1),
            "MB",
            round(size_mb, 1),
            "file size",
            "shown",
            None,
        ),
        Row(
            "P7",
            "  of which: load (ArtefactStore.open → warehouse.load_scancodeio_file, streamed, as scan.report)",
            round(stage2, 1),
            "MB",
            round(size_mb, 1),
            "file size",
            "shown",
            None,
            note=f"rows loaded: {task['loaded']}",
        ),
    ]
