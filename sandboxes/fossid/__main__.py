"""Run the FossID Workbench sandbox: ``python -m sandboxes.fossid --port 8011``."""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from sandboxes.common.server import add_fault_arguments, faults_from_arguments
from sandboxes.fossid.server import WorkbenchServer
from sandboxes.fossid.state import Timings, Workbench


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8011)
    parser.add_argument("--state-dir", default=os.environ.get("SANDBOX_STATE_DIR") or tempfile.mkdtemp())
    parser.add_argument("--version", default="26.1.0", help="Workbench version to advertise")
    parser.add_argument(
        "--user",
        action="append",
        default=[],
        help="user:key (repeatable); default sca-bot:$SCA_FOSSID_KEY or fossid-local-key",
    )
    parser.add_argument(
        "--expired-user",
        default="expired-bot:fossid-expired-key",
        help="user:key whose key is older than the valability (for tests)",
    )
    parser.add_argument("--api-key-valability-days", type=int, default=90)
    parser.add_argument("--scan-seconds", type=float, default=4.0)
    parser.add_argument("--queue-seconds", type=float, default=1.0)
    add_fault_arguments(parser)
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()

    timings = Timings(queue_seconds=args.queue_seconds, scan_seconds=args.scan_seconds)
    wb = Workbench(Path(args.state_dir), args.version, timings, args.api_key_valability_days)
    users = args.user or [f"sca-bot:{os.environ.get('SCA_FOSSID_KEY', 'fossid-local-key')}"]
    for spec in users:
        name, _, key = spec.partition(":")
        wb.add_user(name, key)
    if args.expired_user:
        name, _, key = args.expired_user.partition(":")
        wb.add_user(name, key, key_age_days=args.api_key_valability_days + 30)
    faults = faults_from_arguments(args)
    server = WorkbenchServer((args.host, args.port), wb, faults, args.verbose)
    print(f"FossID Workbench sandbox {args.version} on http://{args.host}:{args.port}/api.php", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
