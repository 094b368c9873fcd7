"""P7's task-like process: the real download and load path of one ScanCode.io results file, with
its memory read from ``/proc/self/status`` around each stage.

Stage 1 (as the ScanCode.io tool task stores its outputs): ``ScanCodeIOClient.download_results``
streams the json output to a work folder, ``ArtefactStore.put_file`` streams it into the store.
Stage 2 (as ``scan.report`` loads it): ``warehouse.load_scancodeio_file(conn, scan_id,
lambda: store.open(uri))``, streamed, into a throwaway schema. The baseline is the resident size after every
import and the database connection; the peak (VmHWM) is reset before each stage
(``/proc/self/clear_refs``), so each stage's peak is its own. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import tempfile
import time
from pathlib import Path
from typing import Any


def status_kib(field: str) -> int:
    text = Path("/proc/self/status").read_text()
    match = re.search(rf"^{field}:\s+(\d+) kB", text, re.MULTILINE)
    if not match:
        raise RuntimeError(f"/proc/self/status has no {field}")
    return int(match.group(1))


def reset_peak() -> None:
    Path("/proc/self/clear_refs").write_text("5")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--project", required=True)
    parser.add_argument("--schema", required=True)
    parser.add_argument("--store-root", required=True)
    args = parser.parse_args()

    from bench.pg import connect_in
    from sca.scancodeio.client import ScanCodeIOClient
    from sca.store import warehouse
    from sca.store.artefacts import ArtefactStore

    client = ScanCodeIOClient(args.url, "bench-token")
    store = ArtefactStore(args.store_root)
    conn = connect_in(args.schema)
    out: dict[str, Any] = {}
    try:
        reset_peak()
        out["baseline_kib"] = status_kib("VmRSS")
        began = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="bench-p7-task-") as work:
            local = client.download_results(args.project, "json", Path(work))
            ref = store.put_file(local, "tools/scancodeio/bench-p7/results.json")
        out["stage1_s"] = time.perf_counter() - began
        out["stage1_peak_kib"] = status_kib("VmHWM")
        out["size"] = ref.size
        reset_peak()
        began = time.perf_counter()
        loaded = warehouse.load_scancodeio_file(conn, "bench-p7", lambda: store.open(ref.uri))
        out["stage2_s"] = time.perf_counter() - began
        out["stage2_peak_kib"] = status_kib("VmHWM")
        out["loaded"] = loaded
        out["ru_maxrss_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    finally:
        conn.close()
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
