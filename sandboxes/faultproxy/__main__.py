"""Run the fault proxy: ``python -m sandboxes.faultproxy --listen-port 8002 --upstream http://127.0.0.1:8001``.

It binds 127.0.0.1 only and forwards to one loopback upstream; faults are off until
``--error-rate`` (or ``POST /_faultproxy/faults``) says otherwise. It logs to stderr only and
stops cleanly on SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

from sandboxes.common.server import Faults, parse_modes
from sandboxes.faultproxy.proxy import DEFAULT_MAX_BODY_BYTES, LISTEN_HOST, FaultProxy, log


async def serve(proxy: FaultProxy) -> None:
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    await proxy.start()
    log.info(
        "fault proxy on http://%s:%d -> %s (faults: %s)",
        proxy.listen_host,
        proxy.listen_port,
        proxy.upstream,
        proxy.faults.as_dict(),
    )
    try:
        await stopping.wait()
    finally:
        await proxy.stop()
    log.info("fault proxy stopped")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandboxes.faultproxy", description=__doc__)
    parser.add_argument("--listen-host", default=LISTEN_HOST, help="127.0.0.1, the only one accepted")
    parser.add_argument("--listen-port", type=int, required=True)
    parser.add_argument("--upstream", required=True, help="http://127.0.0.1:PORT")
    parser.add_argument("--error-rate", type=float, default=0.0, help="share of requests that get a fault")
    parser.add_argument(
        "--modes",
        type=parse_modes,
        default=["before"],
        help="comma list of before, after, drop_after, reset_mid, stall (default: before)",
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--stall-seconds", type=float, default=30.0)
    parser.add_argument("--error-status", type=int, default=503)
    parser.add_argument("--latency-ms", type=int, default=0)
    parser.add_argument(
        "--path", action="append", dest="paths", help="regex on the request path; only those get faults (repeatable)"
    )
    parser.add_argument(
        "--max-body-mib", type=int, default=DEFAULT_MAX_BODY_BYTES // 2**20, help="bodies are buffered up to this"
    )
    parser.add_argument("--upstream-timeout", type=float, default=600.0, help="seconds for the whole answer")
    parser.add_argument("--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)

    logging.basicConfig(
        stream=sys.stderr,
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    try:
        faults = Faults(
            args.latency_ms,
            args.error_rate,
            args.error_status,
            args.seed,
            modes=args.modes,
            stall_seconds=args.stall_seconds,
            paths=args.paths,
        )
        proxy = FaultProxy(
            args.upstream,
            faults,
            listen_host=args.listen_host,
            listen_port=args.listen_port,
            max_body_bytes=args.max_body_mib * 2**20,
            upstream_timeout=args.upstream_timeout,
        )
    except ValueError as exc:
        parser.error(str(exc))
    try:
        asyncio.run(serve(proxy))
    except OSError as exc:
        log.error("cannot listen on %s:%d: %s", args.listen_host, args.listen_port, exc)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
