"""An HTTP/1.1 proxy (stdlib asyncio streams) in front of one loopback upstream, with fault modes.

Each request from a client (keep-alive is kept) is read whole (``Content-Length`` or chunked body),
sent to the upstream on a connection of its own with ``Connection: close`` and ``Host`` rewritten
to the upstream's, and the whole answer is read back (``Content-Length``, chunked, or until the
upstream closes) before anything goes to the client. Then the answer is passed on unchanged (the
body byte for byte, re-framed with a ``Content-Length``), or a fault is applied: the modes and the
JSON switches are the sandboxes' (see sandboxes/common/server.py), here on the wire of a real
server such as ScanCode.io. ``before`` answers ``error_status`` without forwarding; ``after``,
``drop_after``, ``reset_mid`` and ``stall`` forward first, so the upstream acts.

Control routes on the proxy itself (never forwarded, never faulted):
``GET``/``POST /_faultproxy/faults`` (the sandboxes' fault JSON plus ``injected`` counters) and
``GET /_faultproxy/requests`` (requests received, per ``METHOD path``; ``POST`` clears them).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import enum
import json
import logging
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sandboxes.common.server import (
    Faults,
    fault_page,
    reason_phrase,
    set_reset_on_close,
    split_half,
    unsent_bytes,
)

log = logging.getLogger("sandboxes.faultproxy")

LISTEN_HOST = "127.0.0.1"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
CONTROL_PREFIX = "/_faultproxy/"
MAX_HEAD_BYTES = 64 * 1024
DEFAULT_MAX_BODY_BYTES = 256 * 1024 * 1024
HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"}
)
HEX = re.compile(rb"[0-9A-Fa-f]+")
STATUS = re.compile(r"HTTP/1\.[01] (\d{3})(?: (.*))?")


class HttpError(Exception):
    """A request the proxy answers itself: ``status`` and a one-line ``detail``."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


class FramingError(Exception):
    """A message whose head or body framing cannot be read."""


class TooLarge(Exception):
    """A body above the proxy's buffering limit."""


@dataclass
class Message:
    """A request (``start`` = method, target, version) or a response (version, status, reason)."""

    start: tuple[str, str, str]
    headers: list[tuple[str, str]]
    body: bytes = b""

    def values(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key.lower() == name]

    def tokens(self, name: str) -> list[str]:
        """The comma-separated, lower-cased tokens of every ``name`` header, in order."""
        return [token.strip().lower() for value in self.values(name) for token in value.split(",") if token.strip()]


def parse_head(raw: bytes) -> tuple[str, list[tuple[str, str]]]:
    """The start line and the headers of a head that ends with an empty line."""
    lines = raw.decode("latin-1").split("\r\n")
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if not line:
            continue
        if line[0] in " \t":
            raise FramingError("obsolete line folding in a header")
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise FramingError(f"not a header line: {line[:80]!r}")
        headers.append((name, value.strip()))
    return lines[0], headers


def content_length(message: Message) -> int | None:
    values = {part.strip() for value in message.values("content-length") for part in value.split(",")}
    if not values:
        return None
    if len(values) > 1 or not all(v.isdigit() for v in values):
        raise FramingError(f"bad Content-Length: {sorted(values)}")
    return int(values.pop())


async def read_chunked(reader: asyncio.StreamReader, limit: int) -> bytes:
    parts: list[bytes] = []
    total = 0
    while True:
        line = await reader.readuntil(b"\r\n")
        size_text = line[:-2].split(b";", 1)[0].strip()
        if not HEX.fullmatch(size_text):
            raise FramingError(f"bad chunk size line: {line[:40]!r}")
        size = int(size_text, 16)
        if size == 0:
            while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers are dropped
                pass
            return b"".join(parts)
        total += size
        if total > limit:
            raise TooLarge(f"chunked body above {limit} bytes")
        parts.append(await reader.readexactly(size))
        if await reader.readexactly(2) != b"\r\n":
            raise FramingError("a chunk is not followed by CRLF")


async def read_to_eof(reader: asyncio.StreamReader, limit: int) -> bytes:
    parts: list[bytes] = []
    total = 0
    while block := await reader.read(256 * 1024):
        total += len(block)
        if total > limit:
            raise TooLarge(f"body above {limit} bytes")
        parts.append(block)
    return b"".join(parts)


async def read_exactly(reader: asyncio.StreamReader, length: int, limit: int) -> bytes:
    if length > limit:
        raise TooLarge(f"Content-Length {length} above {limit} bytes")
    return await reader.readexactly(length) if length else b""


def parse_upstream(url: str) -> tuple[str, int, str]:
    """(host, port, Host header) of an ``http://`` loopback upstream; ValueError otherwise."""
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise ValueError(f"the upstream must be an http:// URL, not {url!r}")
    if parts.hostname not in LOOPBACK_HOSTS:
        raise ValueError(f"the upstream must be on the loopback interface, not {parts.hostname}")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(f"the upstream is a scheme, a host and a port only, not {url!r}")
    port = parts.port or 80
    return parts.hostname, port, parts.netloc


class KeepAlive(enum.IntEnum):
    """What becomes of a client connection after an answer (false: it is closed)."""

    CLOSE = 0
    HTTP11 = 1  # open, the HTTP/1.1 default
    HTTP10 = 2  # open, as an HTTP/1.0 client asked with ``Connection: keep-alive``


def connection_headers(keep_alive: KeepAlive) -> list[tuple[str, str]]:
    if keep_alive is KeepAlive.HTTP10:
        return [("Connection", "keep-alive")]
    return [] if keep_alive else [("Connection", "close")]


def render(start: str, headers: list[tuple[str, str]], body: bytes = b"") -> bytes:
    head = start + "\r\n" + "".join(f"{name}: {value}\r\n" for name, value in headers) + "\r\n"
    return head.encode("latin-1") + body


class FaultProxy:
    def __init__(
        self,
        upstream: str,
        faults: Faults,
        *,
        listen_host: str = LISTEN_HOST,
        listen_port: int = 0,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        upstream_timeout: float = 600.0,
        idle_timeout: float = 300.0,
    ) -> None:
        if listen_host != LISTEN_HOST:
            raise ValueError(f"the fault proxy binds {LISTEN_HOST} only, not {listen_host}")
        self.upstream = upstream
        self.upstream_host, self.upstream_port, self.upstream_netloc = parse_upstream(upstream)
        self.faults = faults
        self.listen_host = listen_host
        self.listen_port = listen_port
        self.max_body_bytes = max_body_bytes
        self.upstream_timeout = upstream_timeout
        self.idle_timeout = idle_timeout
        self.request_counts: collections.Counter[str] = collections.Counter()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- lifecycle ---------------------------------------------------------------------------------
    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self.handle_client, self.listen_host, self.listen_port, limit=MAX_HEAD_BYTES
        )
        self.listen_port = int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._server is None:
            return
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._server.wait_closed(), 5)
        self._server = None

    # -- one client connection ---------------------------------------------------------------------
    async def handle_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            while await self.serve_one(reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError, TimeoutError):
            pass
        except Exception:
            log.exception("client connection failed")
        finally:
            if task is not None:
                self._tasks.discard(task)
            writer.close()

    async def serve_one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Read and answer one request; True when the connection stays open for another."""
        try:
            async with asyncio.timeout(self.idle_timeout):
                raw = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as exc:
            if exc.partial.strip():
                await self.send(writer, self.simple(400, "incomplete request head", KeepAlive.CLOSE))
            return False
        except asyncio.LimitOverrunError:
            await self.send(writer, self.simple(431, "request head too large", KeepAlive.CLOSE))
            return False
        try:
            request, keep_alive = await self.read_request(raw, reader, writer)
        except HttpError as exc:
            await self.send(writer, self.simple(exc.status, exc.detail, KeepAlive.CLOSE))
            return False
        method, target, _version = request.start
        path = target.split("?", 1)[0]
        if path.startswith(CONTROL_PREFIX):
            await self.send(writer, self.control(method, path, request.body, keep_alive))
            return bool(keep_alive)
        self.request_counts[f"{method} {path}"] += 1
        log.debug("%s %s", method, target)
        if self.faults.latency_ms:
            await asyncio.sleep(self.faults.latency_ms / 1000)
        mode = self.faults.choose(path)
        if mode == "before":
            self.injected(mode, method, target)
            await self.send(writer, self.fault_answer(mode, method, keep_alive))
            return bool(keep_alive)
        try:
            response = await self.forward(request)
        except HttpError as exc:
            log.warning("%s %s: %s", method, target, exc.detail)
            await self.send(writer, self.simple(exc.status, exc.detail, keep_alive))
            return bool(keep_alive)
        answer = self.client_answer(response, method, keep_alive)
        if mode is None:
            await self.send(writer, answer)
            return bool(keep_alive)
        self.injected(mode, method, target)
        if mode == "after":
            await self.send(writer, self.fault_answer(mode, method, keep_alive))
            return bool(keep_alive)
        if mode == "drop_after":
            return False  # handle_client closes the connection: a FIN, not a byte of answer
        if mode == "reset_mid":
            await self.reset_after(writer, split_half(answer))
            return False
        await asyncio.sleep(self.faults.stall_seconds)  # stall
        await self.send(writer, answer)
        return bool(keep_alive)

    async def read_request(
        self, raw: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> tuple[Message, KeepAlive]:
        try:
            start, headers = parse_head(raw)
        except FramingError as exc:
            raise HttpError(400, str(exc)) from None
        parts = start.split(" ")
        if len(parts) != 3 or not parts[0].isalpha():
            raise HttpError(400, f"bad request line: {start[:80]!r}")
        method, target, version = parts
        if version not in ("HTTP/1.0", "HTTP/1.1"):
            raise HttpError(505, f"{version} is not supported")
        if target.startswith(("http://", "https://")):  # absolute-form: keep the origin-form
            split = urlsplit(target)
            target = (split.path or "/") + (f"?{split.query}" if split.query else "")
        request = Message((method, target, version), headers)
        connection = request.tokens("connection")
        if version == "HTTP/1.1":
            keep_alive = KeepAlive.CLOSE if "close" in connection else KeepAlive.HTTP11
        else:
            keep_alive = KeepAlive.HTTP10 if "keep-alive" in connection else KeepAlive.CLOSE
        encodings = request.tokens("transfer-encoding")
        try:
            length = content_length(request)
            if encodings and encodings[-1] != "chunked":
                raise HttpError(400, "a request body must end with the chunked coding")
            has_body = bool(encodings) or bool(length)
            if has_body and version == "HTTP/1.1" and "100-continue" in request.tokens("expect"):
                writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                await writer.drain()
            if encodings:
                request.body = await read_chunked(reader, self.max_body_bytes)
            elif length:
                request.body = await read_exactly(reader, length, self.max_body_bytes)
        except FramingError as exc:
            raise HttpError(400, str(exc)) from None
        except TooLarge as exc:
            raise HttpError(413, str(exc)) from None
        except asyncio.LimitOverrunError:
            raise HttpError(400, "chunk size line too long") from None
        return request, keep_alive

    # -- the upstream ------------------------------------------------------------------------------
    async def forward(self, request: Message) -> Message:
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(self.upstream_host, self.upstream_port, limit=MAX_HEAD_BYTES), 10
            )
        except (OSError, TimeoutError) as exc:
            raise HttpError(502, f"upstream {self.upstream} unreachable: {exc!r}") from None
        try:
            async with asyncio.timeout(self.upstream_timeout):
                writer.write(self.upstream_request(request))
                await writer.drain()
                return await self.read_response(reader, request.start[0])
        except TimeoutError:
            raise HttpError(504, f"upstream {self.upstream} did not answer in {self.upstream_timeout} s") from None
        except TooLarge as exc:
            raise HttpError(502, f"upstream answer too large to buffer: {exc}") from None
        except (OSError, FramingError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
            raise HttpError(502, f"bad upstream answer: {exc!r}") from None
        finally:
            writer.close()

    def upstream_request(self, request: Message) -> bytes:
        method, target, _version = request.start
        dropped = HOP_BY_HOP | set(request.tokens("connection")) | {"host", "content-length", "expect"}
        headers = [("Host", self.upstream_netloc)]
        headers += [(name, value) for name, value in request.headers if name.lower() not in dropped]
        if request.body or request.values("content-length") or request.values("transfer-encoding"):
            headers.append(("Content-Length", str(len(request.body))))
        headers.append(("Connection", "close"))
        return render(f"{method} {target} HTTP/1.1", headers, request.body)

    async def read_response(self, reader: asyncio.StreamReader, method: str) -> Message:
        while True:
            start, headers = parse_head(await reader.readuntil(b"\r\n\r\n"))
            matched = STATUS.fullmatch(start)
            if not matched:
                raise FramingError(f"bad status line: {start[:80]!r}")
            status = int(matched.group(1))
            if status == 101:
                raise FramingError("protocol upgrades are not proxied")
            if status >= 200:
                break  # 1xx interim answers (100 Continue, 103 Early Hints) are skipped
        response = Message(("HTTP/1.1", str(status), matched.group(2) or reason_phrase(status)), headers)
        encodings = response.tokens("transfer-encoding")
        if method == "HEAD" or status in (204, 304):
            return response
        if encodings and encodings[-1] == "chunked":
            response.body = await read_chunked(reader, self.max_body_bytes)
        elif encodings:
            response.body = await read_to_eof(reader, self.max_body_bytes)
        elif (length := content_length(response)) is not None:
            response.body = await read_exactly(reader, length, self.max_body_bytes)
        else:
            response.body = await read_to_eof(reader, self.max_body_bytes)
        return response

    # -- answers to the client ---------------------------------------------------------------------
    def client_answer(self, response: Message, method: str, keep_alive: KeepAlive) -> bytes:
        _version, status_text, reason = response.start
        status = int(status_text)
        dropped = HOP_BY_HOP | set(response.tokens("connection")) | {"content-length"}
        headers = [(name, value) for name, value in response.headers if name.lower() not in dropped]
        if method == "HEAD" or status == 304:  # no body; the length is the one a GET would get
            headers += [("Content-Length", value) for value in response.values("content-length")[:1]]
        elif status != 204:
            headers.append(("Content-Length", str(len(response.body))))
        headers += connection_headers(keep_alive)
        return render(f"HTTP/1.1 {status} {reason}", headers, response.body)

    def simple(
        self,
        status: int,
        payload: Any,
        keep_alive: KeepAlive,
        *,
        content_type: str = "application/json",
        headers: list[tuple[str, str]] | None = None,
        head_only: bool = False,
    ) -> bytes:
        if isinstance(payload, bytes):
            body = payload
        else:
            body = json.dumps({"detail": payload} if isinstance(payload, str) else payload).encode()
        all_headers = [("Content-Type", content_type), ("Content-Length", str(len(body))), *(headers or [])]
        all_headers += connection_headers(keep_alive)
        return render(f"HTTP/1.1 {status} {reason_phrase(status)}", all_headers, b"" if head_only else body)

    def fault_answer(self, mode: str, method: str, keep_alive: KeepAlive) -> bytes:
        status = self.faults.error_status
        return self.simple(
            status,
            fault_page(status),
            keep_alive,
            content_type="text/html",
            headers=[("X-Injected-Fault", mode)],
            head_only=method == "HEAD",
        )

    def control(self, method: str, path: str, body: bytes, keep_alive: KeepAlive) -> bytes:
        if path == "/_faultproxy/faults":
            if method == "POST":
                try:
                    self.faults.update(json.loads(body or b"{}"))
                except ValueError as exc:  # json.JSONDecodeError is one
                    return self.simple(400, str(exc), keep_alive)
                log.info("faults: %s", json.dumps(self.faults.as_dict()))
            elif method != "GET":
                return self.simple(405, f"{method} is not allowed here", keep_alive)
            return self.simple(200, self.faults.as_dict(), keep_alive)
        if path == "/_faultproxy/requests":
            if method == "POST":
                self.request_counts.clear()
            elif method != "GET":
                return self.simple(405, f"{method} is not allowed here", keep_alive)
            return self.simple(200, dict(sorted(self.request_counts.items())), keep_alive)
        return self.simple(404, "unknown fault proxy route", keep_alive)

    def injected(self, mode: str, method: str, target: str) -> None:
        self.faults.record(mode)
        log.info("injected %s on %s %s", mode, method, target)

    @staticmethod
    async def send(writer: asyncio.StreamWriter, data: bytes) -> None:
        writer.write(data)
        await writer.drain()

    @staticmethod
    async def reset_after(writer: asyncio.StreamWriter, data: bytes) -> None:
        """Write ``data``, wait (2 s at most) until the kernel has sent it, then close with a RST."""
        transport = writer.transport
        transport.write(data)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 2
        sock = writer.get_extra_info("socket")
        while loop.time() < deadline:
            pending = unsent_bytes(sock) if sock is not None else None
            if transport.get_write_buffer_size() == 0 and not pending:
                break
            await asyncio.sleep(0.005)
        if sock is not None:
            set_reset_on_close(sock)
        transport.abort()
