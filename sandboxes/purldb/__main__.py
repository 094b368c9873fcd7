"""Run the PurlDB sandbox: ``python -m sandboxes.purldb --port 8012 --index index.json``.

Without ``--index`` it seeds ``<state-dir>/index.json`` from ``--seed`` archives first (see seed.py).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

from sandboxes.common.server import Faults
from sandboxes.purldb.server import Index, PurlDBServer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8012)
    parser.add_argument("--state-dir", default=os.environ.get("SANDBOX_STATE_DIR") or tempfile.mkdtemp())
    parser.add_argument("--index", type=Path, help="index built by sandboxes.purldb.seed")
    parser.add_argument("--seed", nargs="*", type=Path, default=[], help="archives to seed from when no index")
    parser.add_argument("--token", default=os.environ.get("SCA_PURLDB_TOKEN"), help="require this API token")
    parser.add_argument("--throttle-per-hour", type=int, default=10800)
    parser.add_argument("--latency-ms", type=int, default=0)
    parser.add_argument("--error-rate", type=float, default=0.0)
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()

    index_path = args.index or Path(args.state_dir) / "index.json"
    if not index_path.is_file():
        from sandboxes.purldb.seed import build_index

        index_path.parent.mkdir(parents=True, exist_ok=True)
        index_path.write_text(json.dumps(build_index(args.seed, os.environ.get("SCA_INPUTS_BASE_URL"))))
    index = Index(json.loads(index_path.read_text()))
    server = PurlDBServer(
        (args.host, args.port),
        index,
        Faults(args.latency_ms, args.error_rate),
        token=args.token,
        throttle_per_hour=args.throttle_per_hour,
        verbose=args.verbose,
    )
    print(f"PurlDB sandbox on http://{args.host}:{args.port}/api/ ({len(index.packages)} packages)", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
