"""The HTTP server: authentication, routing, answers, ``/_sandbox/`` control and stats routes."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sandboxes.common.server import Faults, SandboxHandler, SandboxServer
from sandboxes.scancodeio.api import Api, parse_query, resolve
from sandboxes.scancodeio.durations import DurationPolicy
from sandboxes.scancodeio.execution import Executor
from sandboxes.scancodeio.http_util import ApiReply, FileReply, HtmlReply, RequestData, not_found_page, parse_body
from sandboxes.scancodeio.model import EXIT_STALE, Store
from sandboxes.scancodeio.policies import Policies
from sandboxes.scancodeio.scheduler import WorkerPool
from sandboxes.scancodeio.stats import RequestCounter, stats_view
from sandboxes.scancodeio.webhooks import WebhookSender

CONFIG_FILE = "scancodeio-sandbox.json"
CHALLENGE = {"WWW-Authenticate": "Token"}


class ScanCodeIOSandbox(SandboxServer):
    def __init__(
        self,
        address: tuple[str, int],
        faults: Faults,
        *,
        workers: int,
        policy: DurationPolicy,
        policies: Policies,
        token: str | None,
        require_authentication: bool,
        page_size: int = 50,
        verbose: bool = False,
    ) -> None:
        super().__init__(address, ScanCodeIOHandler, faults, verbose)
        self.store = Store()
        self.policy = policy
        self.policies = policies
        self.token = token
        self.require_authentication = require_authentication
        self.page_size = page_size
        self.counter = RequestCounter()
        self.webhooks = WebhookSender()
        self.executor = Executor(self.store, policy, policies, self.webhooks)
        self.pool = WorkerPool(self.store, workers, self.executor.start_run, self.executor.end_run)
        self.executor.pool = self.pool

    @staticmethod
    def load_config(state_dir: Path) -> dict[str, Any]:
        path = state_dir / CONFIG_FILE
        return dict(json.loads(path.read_text())) if path.is_file() else {}

    def configure(self, values: dict[str, Any]) -> None:
        """``POST /_sandbox/config``: ``workers``, ``scan_seconds``, ``scan_seconds_by_input``,
        ``fail_inputs``, ``seed``, ``require_authentication``, and ``stale_runs`` (run uuids: a
        running one ends ``stale``, exit code 88, as a worker's sync does when its job vanished,
        scanpipe/models.py:2150-2215)."""
        with self.store.lock:
            self.policy.update(values)
            if "workers" in values:
                self.pool.resize(int(values["workers"]))
            if "require_authentication" in values:
                self.require_authentication = bool(values["require_authentication"])
            for run_uuid in values.get("stale_runs") or []:
                run = self.store.runs.get(str(run_uuid))
                if run is not None and run.status == "running":
                    run.exitcode, run.task_end = EXIT_STALE, time.time()
                    self.pool.forget(run)

    def config_view(self) -> dict[str, Any]:
        return {
            **self.policy.as_dict(),
            "workers": self.pool.workers,
            "require_authentication": self.require_authentication,
            "page_size": self.page_size,
        }

    def server_close(self) -> None:
        self.pool.shutdown()
        super().server_close()


class ScanCodeIOHandler(SandboxHandler):
    server: ScanCodeIOSandbox

    def do_GET(self) -> None:
        self.serve("GET", b"")

    def do_HEAD(self) -> None:
        self.serve("HEAD", b"")

    def do_POST(self) -> None:
        self.serve("POST", self.read_body())

    def do_PUT(self) -> None:
        self.serve("PUT", self.read_body())

    def do_PATCH(self) -> None:
        self.serve("PATCH", self.read_body())

    def do_DELETE(self) -> None:
        self.serve("DELETE", self.read_body())

    @property
    def base(self) -> str:
        host = self.headers.get("Host") or "{}:{}".format(*self.server.server_address[:2])
        return f"http://{host}"

    def serve(self, method: str, body: bytes) -> None:
        parsed = urlsplit(self.path)
        if parsed.path == "/_sandbox/stats":
            if method == "POST":
                self.server.counter.clear()
            server = self.server
            pool = server.pool
            self.send_json(stats_view(server.store, server.counter, pool.workers, pool.max_running, server.webhooks))
            return
        if self.handle_control(method, body):
            return
        if self.inject_faults():
            return
        route = "unrouted"
        try:
            route, result = self.dispatch(method, parsed.path, parsed.query, body)
        except ApiReply as exc:
            self.answer(method, exc.route, exc.status, exc.body, exc.headers)
            return
        except HtmlReply as exc:
            self.server.counter.record(f"{method} {exc.route}", exc.status)
            page = b"" if method == "HEAD" else exc.body.encode()
            self.send_bytes(page, "text/html; charset=utf-8", exc.status, exc.headers)
            return
        if isinstance(result, FileReply):
            headers = {"Content-Disposition": f'attachment; filename="{result.filename}"'} if result.filename else {}
            self.server.counter.record(f"{method} {route}", 200)
            self.send_bytes(b"" if method == "HEAD" else result.content, result.content_type, 200, headers)
            return
        status, payload, *extra = result
        self.answer(method, route, status, payload, extra[0] if extra else None)

    def answer(self, method: str, route: str, status: int, payload: Any, headers: dict[str, str] | None) -> None:
        self.server.counter.record(f"{method} {route}", status)
        if status == 204:
            self.send_bytes(b"", "application/json", 204, headers)
        elif method == "HEAD":
            self.send_bytes(b"", "application/json", status, headers)
        else:
            self.send_json(payload, status, headers)

    def dispatch(self, method: str, path: str, raw_query: str, body: bytes) -> tuple[str, Any]:
        found = resolve(path)
        if found is None:
            if not path.endswith("/") and resolve(path + "/") is not None:  # Django APPEND_SLASH
                raise HtmlReply(301, "", {"Location": path + "/" + (f"?{raw_query}" if raw_query else "")})
            raise not_found_page()
        template, methods, params = found
        route = template
        try:
            self.authenticate()
            handler = methods.get("GET" if method == "HEAD" else method)
            if handler is None:
                allowed = [*methods, *(["HEAD"] if "GET" in methods else []), "OPTIONS"]
                raise ApiReply(405, {"detail": f'Method "{method}" not allowed.'}, {"Allow": ", ".join(allowed)})
            content_type = self.headers.get("Content-Type") or ""
            cache: list[RequestData] = []

            def data() -> RequestData:
                if not cache:
                    cache.append(parse_body(content_type, body))
                return cache[0]

            api = Api(self.server, self.base, self.path, method)
            return route, api.call(handler, parse_query(raw_query), data, params)
        except (ApiReply, HtmlReply) as exc:
            exc.route = route
            raise

    def authenticate(self) -> None:
        """DRF TokenAuthentication (keyword ``Token``, aboutcode.api_auth APITokenAuthentication)
        then IsAuthenticated when authentication is required (scancodeio/settings.py:311-331)."""
        header = (self.headers.get("Authorization") or "").encode("latin-1", "replace").split()
        if header and header[0].lower() == b"token":
            if len(header) == 1:
                raise ApiReply(401, {"detail": "Invalid token header. No credentials provided."}, CHALLENGE)
            if len(header) > 2:
                message = "Invalid token header. Token string should not contain spaces."
                raise ApiReply(401, {"detail": message}, CHALLENGE)
            if not self.server.token or header[1].decode("latin-1") != self.server.token:
                raise ApiReply(401, {"detail": "Invalid token."}, CHALLENGE)
            return
        if self.server.require_authentication:
            raise ApiReply(401, {"detail": "Authentication credentials were not provided."}, CHALLENGE)
