"""A threaded HTTP server base for the sandboxes, with fault injection.

Fault switches (set at start from the command line, or at run time with
``POST /_sandbox/faults {"latency_ms": 200, "error_rate": 0.1, ...}``; ``GET`` shows them):
- ``latency_ms``: added to every API request;
- ``error_rate``: the share of API requests that get a fault (seeded, so reproducible);
- ``error_status``: the status of the injected error answer (default 503);
- ``modes``: the fault modes to choose from, uniformly (seeded), default ``["before"]``:
  - ``before``: answer ``error_status`` without acting on the request (nothing changes);
  - ``after``: handle the request fully (its state is committed), then throw the real answer
    away and send ``error_status`` instead;
  - ``drop_after``: handle the request fully, then close the connection without sending a byte;
  - ``reset_mid``: handle the request fully, send the status line, the headers (with the real
    ``Content-Length``) and about half of the body, then reset the connection (``SO_LINGER`` 0,
    so a TCP RST): the client reads a broken body. An answer with no body is sent whole, then reset;
  - ``stall``: handle the request fully, wait ``stall_seconds`` (default 30), then send the real
    answer; a client with a shorter read timeout gives up although the server acted;
- ``stall_seconds``: how long ``stall`` waits;
- ``paths``: a list of regular expressions (``re.search`` on the request path, without the query);
  only matching API paths get faults; ``null`` (the default) means every API path;
- ``seed``: the seed of the generator; every ``POST`` re-seeds it;
- ``reset_counters``: ``true`` in a ``POST`` sets the ``injected`` counters back to zero.
``GET`` (and every ``POST``) answers the switches plus ``injected``: the faults injected so far, per
mode (``{"before": 0, "after": 3, ...}``). A bad value gets a 400 and changes nothing.
The post-act modes buffer the handler's answer (``self.wfile`` is swapped for a buffer while the
request is handled) and apply the fault once the handler has returned, so a handler only calls
``inject_faults()`` before acting, as it always did.
Service-specific switches (stuck queues, failed runs, throttling) live in each sandbox's state.
The ``/_sandbox/`` routes are the sandbox's own, not part of any emulated API, and never get faults.
"""

from __future__ import annotations

import collections
import contextlib
import io
import json
import random
import re
import socket
import struct
import threading
import time
from dataclasses import asdict, dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

FAULT_MODES = ("before", "after", "drop_after", "reset_mid", "stall")
POST_ACT_MODES = frozenset(FAULT_MODES) - {"before"}


def parse_modes(value: Any) -> list[str]:
    """A list of mode names (or one comma-separated string); ValueError when empty or unknown."""
    names = [part.strip() for part in value.split(",")] if isinstance(value, str) else list(value or [])
    names = [str(name) for name in names if name]
    unknown = sorted(set(names) - set(FAULT_MODES))
    if not names or unknown:
        raise ValueError(f"not a non-empty list of {', '.join(FAULT_MODES)}: {value!r}")
    return names


def add_fault_arguments(parser: Any) -> None:
    """The fault switches every sandbox takes on its command line."""
    parser.add_argument("--latency-ms", type=int, default=0)
    parser.add_argument("--error-rate", type=float, default=0.0)
    parser.add_argument(
        "--fault-modes",
        type=parse_modes,
        default=["before"],
        help="comma list of before, after, drop_after, reset_mid, stall (see sandboxes/common/server.py)",
    )
    parser.add_argument("--stall-seconds", type=float, default=30.0, help="how long a stall fault waits")


def faults_from_arguments(args: Any) -> Faults:
    return Faults(args.latency_ms, args.error_rate, modes=args.fault_modes, stall_seconds=args.stall_seconds)


def compile_paths(value: Any) -> list[re.Pattern[str]] | None:
    if value is None:
        return None
    if isinstance(value, str) or not all(isinstance(item, str) for item in value):
        raise ValueError(f"not a list of regular expressions, nor null: {value!r}")
    try:
        return [re.compile(item) for item in value]
    except re.error as exc:
        raise ValueError(str(exc)) from None


def fault_page(status: int) -> bytes:
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    return f"<html><body>{phrase} (injected)</body></html>".encode()


def reason_phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def split_half(response: bytes) -> bytes:
    """The status line, the headers and the first half of the body of a raw HTTP response."""
    end = response.find(b"\r\n\r\n")
    if end < 0:
        return response[: len(response) // 2]
    head, body = response[: end + 4], response[end + 4 :]
    return head + body[: len(body) // 2]


def unsent_bytes(sock: Any) -> int | None:
    """Bytes the kernel still holds for ``sock`` (sent but not acknowledged, or not sent yet):
    Linux ``SIOCOUTQ``. None where that cannot be asked."""
    try:
        import fcntl
        import termios

        raw = fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0\0\0\0")
    except (ImportError, AttributeError, OSError, ValueError):
        return None
    return int(struct.unpack("i", raw)[0])


def set_reset_on_close(sock: Any) -> None:
    """``SO_LINGER`` on with a zero timeout: closing the socket sends a RST, not a FIN."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


@dataclass
class Faults:
    latency_ms: int = 0
    error_rate: float = 0.0
    error_status: int = 503
    seed: int = 7
    modes: list[str] = field(default_factory=lambda: ["before"])
    stall_seconds: float = 30.0
    paths: list[str] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.modes = parse_modes(self.modes)
        self._patterns = compile_paths(self.paths)
        self._random = random.Random(self.seed)
        self._lock = threading.Lock()
        self._injected: collections.Counter[str] = collections.Counter()

    def update(self, values: dict[str, Any]) -> None:
        """Apply a ``POST /_sandbox/faults`` body; ValueError (and nothing changed) on a bad value."""
        if not isinstance(values, dict):
            raise ValueError("the body must be a JSON object")
        with self._lock:
            staged: dict[str, Any] = {}
            extra: dict[str, Any] = {}
            reset = False
            for key, value in values.items():
                try:
                    if key in ("latency_ms", "error_status", "seed"):
                        staged[key] = int(value)
                    elif key in ("error_rate", "stall_seconds"):
                        staged[key] = float(value)
                        if staged[key] < 0:
                            raise ValueError(f"negative: {value!r}")
                    elif key == "modes":
                        staged[key] = parse_modes(value)
                    elif key == "paths":
                        staged["_patterns"] = compile_paths(value)
                        staged[key] = None if value is None else list(value)
                    elif key == "reset_counters":
                        reset = bool(value)
                    else:
                        extra[key] = value
                except (TypeError, ValueError) as exc:
                    raise ValueError(f"{key}: {exc}") from None
            for key, value in staged.items():
                setattr(self, key, value)
            self.extra.update(extra)
            if reset:
                self._injected.clear()
            self._random = random.Random(self.seed)

    def should_fail(self) -> bool:
        with self._lock:
            return self.error_rate > 0 and self._random.random() < self.error_rate

    def choose(self, path: str) -> str | None:
        """The fault mode for one API request on ``path``, or None for no fault."""
        with self._lock:
            if self.error_rate <= 0:
                return None
            if self._patterns is not None and not any(p.search(path) for p in self._patterns):
                return None
            if self._random.random() >= self.error_rate:
                return None
            # one draw per request, as before modes existed, when there is nothing to choose
            return self.modes[0] if len(self.modes) == 1 else self._random.choice(self.modes)

    def record(self, mode: str) -> None:
        with self._lock:
            self._injected[mode] += 1

    def as_dict(self) -> dict[str, Any]:
        with self._lock:
            view = {k: v for k, v in asdict(self).items() if not k.startswith("_")}
            view["injected"] = {mode: self._injected[mode] for mode in FAULT_MODES}
        return view


class SandboxHandler(BaseHTTPRequestHandler):
    """Base handler: body reading (Content-Length or chunked), JSON/file replies, faults."""

    protocol_version = "HTTP/1.1"
    server: SandboxServer
    planned_fault: str | None = None  # a post-act mode chosen for the request being handled
    socket_wfile: io.BufferedIOBase | None = None  # the real wfile while the answer is buffered

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
        """Apply latency and choose a fault. True when the request was answered (``before``):
        the handler returns without acting. For a post-act mode the answer the handler writes is
        buffered and replaced, cut or delayed once it returns (see ``handle_one_request``)."""
        faults = self.server.faults
        if faults.latency_ms:
            time.sleep(faults.latency_ms / 1000)
        path = self.path.split("?", 1)[0]
        if path.startswith("/_sandbox/"):
            return False
        mode = faults.choose(path)
        if mode is None:
            return False
        if mode == "before":
            faults.record(mode)
            self.send_fault_page(mode)
            return True
        self.planned_fault = mode
        self.socket_wfile = self.wfile
        self.wfile = io.BytesIO()
        return False

    def send_fault_page(self, mode: str) -> None:
        status = self.server.faults.error_status
        body = fault_page(status)
        self.send_response(status)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Injected-Fault", mode)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def handle_one_request(self) -> None:
        self.planned_fault = None
        try:
            super().handle_one_request()
        finally:
            mode, self.planned_fault = self.planned_fault, None
            answer = self.take_buffered_answer()
        if mode is not None:
            self.apply_post_act_fault(mode, answer)

    def take_buffered_answer(self) -> bytes:
        """Put the socket's wfile back; what the handler wrote meanwhile."""
        if self.socket_wfile is None:
            return b""
        buffered = self.wfile
        self.wfile, self.socket_wfile = self.socket_wfile, None
        return buffered.getvalue() if isinstance(buffered, io.BytesIO) else b""

    def apply_post_act_fault(self, mode: str, answer: bytes) -> None:
        faults = self.server.faults
        faults.record(mode)
        try:
            if mode == "after":
                self.send_fault_page(mode)
            elif mode == "drop_after":
                self.close_connection = True  # finish() and shutdown_request() close it: a FIN
            elif mode == "reset_mid":
                self.close_connection = True
                self.wfile.write(split_half(answer))
                self.reset_connection()
            elif mode == "stall":
                time.sleep(faults.stall_seconds)
                self.wfile.write(answer)
        except OSError:  # the client went away meanwhile (a stalled one gives up)
            self.close_connection = True

    def reset_connection(self) -> None:
        """Close the connection with a RST once the kernel has sent what was written (2 s at most)."""
        deadline = time.monotonic() + 2
        while (pending := unsent_bytes(self.connection)) and time.monotonic() < deadline:
            time.sleep(0.005)
        if pending is None:
            time.sleep(0.05)
        set_reset_on_close(self.connection)
        self.rfile.close()  # the makefile() reference would delay the real close
        self.connection.close()

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
                try:
                    self.server.faults.update(json.loads(body or b"{}"))
                except ValueError as exc:  # json.JSONDecodeError is one
                    self.send_json({"detail": str(exc)}, 400)
                    return True
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
