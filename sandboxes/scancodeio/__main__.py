"""Run the ScanCode.io sandbox: ``python -m sandboxes.scancodeio --port 8013 --workers 2 --scan-seconds uniform:3,8``.

``--token`` (or env ``SCA_SCIO_TOKEN``) turns token authentication on, as the stack's server runs
(``SCANCODEIO_REQUIRE_AUTHENTICATION``); ``--no-require-authentication`` gives the real default
(AllowAny, a wrong token still 401). ``<state-dir>/scancodeio-sandbox.json`` may hold any
``/_sandbox/config`` key (``scan_seconds_by_input``, ``fail_inputs``, ``workers`` …); it is read at start.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from sandboxes.common.server import add_fault_arguments, faults_from_arguments
from sandboxes.scancodeio.durations import DurationPolicy, parse_spec
from sandboxes.scancodeio.policies import Policies
from sandboxes.scancodeio.server import ScanCodeIOSandbox


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8013)
    parser.add_argument("--state-dir", default=os.environ.get("SANDBOX_STATE_DIR") or tempfile.mkdtemp())
    parser.add_argument("--workers", type=int, default=1, help="runs that may be running at once (RQ workers)")
    parser.add_argument(
        "--scan-seconds",
        type=parse_spec,
        default="2",
        help="run duration: seconds, uniform:A,B, normal:MEAN,SD, lognormal:MU,SIGMA or exp:MEAN",
    )
    parser.add_argument("--seed", type=int, default=7, help="seed of the duration draws")
    parser.add_argument("--token", default=os.environ.get("SCA_SCIO_TOKEN"), help="the API token to accept")
    parser.add_argument(
        "--require-authentication",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="SCANCODEIO_REQUIRE_AUTHENTICATION (default: on when a token is given)",
    )
    parser.add_argument("--policies", type=Path, help="a ScanCode.io policies.yml (SCANCODEIO_POLICIES_FILE)")
    parser.add_argument("--page-size", type=int, default=50, help="SCANCODEIO_REST_API_PAGE_SIZE")
    add_fault_arguments(parser)
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()

    state_dir = Path(args.state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    policy = DurationPolicy(default_spec=args.scan_seconds, seed=args.seed)
    require = bool(args.token) if args.require_authentication is None else args.require_authentication
    server = ScanCodeIOSandbox(
        (args.host, args.port),
        faults_from_arguments(args),
        workers=args.workers,
        policy=policy,
        policies=Policies.load(args.policies),
        token=args.token,
        require_authentication=require,
        page_size=args.page_size,
        verbose=args.verbose,
    )
    config = ScanCodeIOSandbox.load_config(state_dir)
    if config:
        server.configure(config)
    print(f"ScanCode.io sandbox on http://{args.host}:{args.port}/api/ ({server.pool.workers} workers)", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
