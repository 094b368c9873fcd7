"""Run the PurlDB sandbox: ``python -m sandboxes.purldb --port 8012 --index index.json``.

Without ``--index`` it seeds ``<state-dir>/index.json`` from ``--seed`` archives first (see seed.py).
``--public-setup`` emulates ``PURLDB_PUBLIC_SETUP`` (purldb/urls.py:44); ``--require-authentication``
emulates ``PURLDB_REQUIRE_AUTHENTICATION`` (purldb/settings.py:41, 272-273), on by default when a
token is given. Throttle rates default to the real 3600/h anonymous and 10800/h per token user
(purldb/settings.py:245, 264); ``--throttle-per-hour`` sets both at once.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

from sandboxes.common.server import add_fault_arguments, faults_from_arguments
from sandboxes.purldb.server import ANON_RATE_PER_HOUR, USER_RATE_PER_HOUR, Index, PurlDBServer


def env_flag(name: str) -> bool | None:
    """A django-environ style boolean environment variable; None when unset."""
    value = os.environ.get(name)
    if value is None or value == "":
        return None
    return value.strip().lower() in ("true", "on", "ok", "y", "yes", "1")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8012)
    parser.add_argument("--state-dir", default=os.environ.get("SANDBOX_STATE_DIR") or tempfile.mkdtemp())
    parser.add_argument("--index", type=Path, help="index built by sandboxes.purldb.seed")
    parser.add_argument("--seed", nargs="*", type=Path, default=[], help="archives to seed from when no index")
    parser.add_argument("--token", default=os.environ.get("SCA_PURLDB_TOKEN"), help="require this API token")
    parser.add_argument(
        "--require-authentication",
        action=argparse.BooleanOptionalAction,
        default=env_flag("PURLDB_REQUIRE_AUTHENTICATION"),
        help="PURLDB_REQUIRE_AUTHENTICATION (default: on when a token is given)",
    )
    parser.add_argument(
        "--public-setup",
        action=argparse.BooleanOptionalAction,
        default=bool(env_flag("PURLDB_PUBLIC_SETUP")),
        help="PURLDB_PUBLIC_SETUP: route only packages, resources, validate, to_purl and from_purl",
    )
    parser.add_argument("--throttle-per-hour", type=int, default=None, help="both rates at once")
    parser.add_argument("--anon-throttle-per-hour", type=int, default=ANON_RATE_PER_HOUR)
    parser.add_argument("--user-throttle-per-hour", type=int, default=USER_RATE_PER_HOUR)
    add_fault_arguments(parser)
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
        faults_from_arguments(args),
        token=args.token,
        require_authentication=args.require_authentication,
        public_setup=args.public_setup,
        throttle_per_hour=args.throttle_per_hour,
        anon_throttle_per_hour=args.anon_throttle_per_hour,
        user_throttle_per_hour=args.user_throttle_per_hour,
        verbose=args.verbose,
    )
    mode = " public setup" if args.public_setup else ""
    print(f"PurlDB sandbox{mode} on http://{args.host}:{args.port}/api/ ({len(index.packages)} packages)", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
