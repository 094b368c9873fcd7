"""A ScanCode.io stand-in for P7 that serves one results file: ``GET
/api/projects/<uuid>/results_download/?output_format=json`` streams it (Content-Length, the real
server's ``scancodeio_<project>_<file>`` attachment name); ``GET /ready`` answers 200.
``python -m bench.results_server --host 127.0.0.1 --port N --file results.json``."""

from __future__ import annotations

import argparse
import re
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

CHUNK = 1024 * 1024
ROUTE = re.compile(r"^/api/projects/[0-9a-f-]+/results_download/(\?.*)?$")


def handler_for(results: Path) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            if self.path == "/ready":
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if not ROUTE.match(self.path) or "output_format=json" not in self.path:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(results.stat().st_size))
            self.send_header("Content-Disposition", 'attachment; filename="scancodeio_bench_results.json"')
            self.end_headers()
            with results.open("rb") as handle:
                while chunk := handle.read(CHUNK):
                    self.wfile.write(chunk)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - http.server's name
            return

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--file", type=Path, required=True)
    args = parser.parse_args()
    ThreadingHTTPServer((args.host, args.port), handler_for(args.file)).serve_forever()


if __name__ == "__main__":
    main()
