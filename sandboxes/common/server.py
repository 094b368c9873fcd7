"""A threaded HTTP server base for the sandboxes, with fault injection.

Fault switches (set at start from the command line, or at run time with
``POST /_sandbox/faults {"latency_ms": 200, "error_rate": 0.1, ...}``; ``GET`` shows them):
- ``latency_ms``: added to every API request;
- ``error_rate``: the share of API requests answered with HTTP 503 (seeded, so reproducible);
- ``error_status``: the status used for those (default 503);
- service-specific switches (stuck queues, failed runs, throttling) live in each sandbox's state.
The ``/_sandbox/`` routes are the sandbox's own, not part of any emulated API.
"""

from __future__ import annotations

import collections
import json
import random
import threading
import time
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Faults:
    latency_ms: int = 0
    error_rate: float = 0.0
    error_status: int = 503
    seed: int = 7
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)
        self._lock = threading.Lock()

    def update(self, values: dict[str, Any]) -> None:
        with self._lock:
            for key, value in values.items():
                if key in ("latency_ms", "error_status", "seed"):
                    setattr(self, key, int(value))
                elif key == "error_rate":
                    self.error_rate = float(value)
                else:
                    self.extra[key] = value
            self._random = random.Random(self.seed)

    def should_fail(self) -> bool:
        with self._lock:
            return self.error_rate > 0 and self._random.random() < self.error_rate

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if not k.startswith("_")}


class SandboxHandler(BaseHTTPRequestHandler):
    """Base handler: body reading (Content-Length or chunked), JSON/file replies, faults."""

    protocol_version = "HTTP/1.1"
    server: SandboxServer

    def log_message(self, fmt: str, *args: Any) -> None:  # quiet by default, --verbose to see
        if self.server.verbose:
            super().log_message(fmt, *args)

    def read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            parts = []
            while True:
                size_line = self.rfile.readline().strip().split(b";", 1)[0]
                size = int(size_line or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                parts.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(parts)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def send_json(self, payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(payload).encode()
        self.send_bytes(body, "application/json", status, headers)

    def send_bytes(
        self, body: bytes, content_type: str, status: int = 200, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def inject_faults(self) -> bool:
        """Apply latency; answer an injected error. True when the request was answered."""
        faults = self.server.faults
        if faults.latency_ms:
            time.sleep(faults.latency_ms / 1000)
        if faults.should_fail():
            self.send_bytes(
                b"<html><body>Service Unavailable (injected)</body></html>", "text/html", faults.error_status
            )
            return True
        return False

    def handle_control(self, method: str, body: bytes) -> bool:
        """``/_sandbox/faults``, ``/_sandbox/config`` and ``/_sandbox/requests`` (GET/POST; POST
        to ``requests`` clears the counts). True if handled; other requests are counted."""
        path = self.path.split("?", 1)[0]
        if not path.startswith("/_sandbox/"):
            with self.server.counts_lock:
                self.server.request_counts[f"{method} {path}"] += 1
            return False
        if path == "/_sandbox/requests":
            with self.server.counts_lock:
                if method == "POST":
                    self.server.request_counts.clear()
                self.send_json(dict(sorted(self.server.request_counts.items())))
            return True
        if path == "/_sandbox/faults":
            if method == "POST":
                self.server.faults.update(json.loads(body or b"{}"))
            self.send_json(self.server.faults.as_dict())
        elif path == "/_sandbox/config":
            if method == "POST":
                self.server.configure(json.loads(body or b"{}"))
            self.send_json(self.server.config_view())
        else:
            self.send_json({"detail": "unknown sandbox route"}, 404)
        return True


class SandboxServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self, address: tuple[str, int], handler: type[SandboxHandler], faults: Faults, verbose: bool = False
    ) -> None:
        if address[0] not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError(f"sandboxes bind loopback only, not {address[0]}")
        super().__init__(address, handler)
        self.faults = faults
        self.verbose = verbose
        self.request_counts: collections.Counter[str] = collections.Counter()
        self.counts_lock = threading.Lock()

    def configure(self, values: dict[str, Any]) -> None:  # overridden by each sandbox
        raise NotImplementedError

    def config_view(self) -> dict[str, Any]:
        raise NotImplementedError
