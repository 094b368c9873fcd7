"""The PurlDB HTTP surface over a seeded index (see seed.py).

DRF conventions: ``{count, next, previous, results}`` pages of at most 20 (``page_size`` is capped
at 20), ``Authorization: Token <key>`` when auth is on (401 ``{"detail": …}``), a per-client
throttle (429 ``{"detail": "Request was throttled. Expected available in N seconds."}`` with
Retry-After), 400 bodies as documented. Matching is a project with one ``matching`` run whose
status follows the clock: not_started → queued → running → success (or failure).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import deque
from email.parser import BytesParser
from email.policy import HTTP as HTTP_POLICY
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

from packageurl import PackageURL

from sandboxes.common.server import Faults, SandboxHandler, SandboxServer

MAX_PAGE_SIZE = 20
PACKAGE_FILTERS = (
    "type",
    "namespace",
    "name",
    "version",
    "qualifiers",
    "subpath",
    "download_url",
    "filename",
    "sha1",
    "sha256",
    "md5",
    "size",
    "release_date",
)
PACKAGE_CHECKSUMS = ("md5", "sha1", "sha256", "sha512")
RESOURCE_CHECKSUMS = ("md5", "sha1")
EXISTENCE_TYPES = ("cargo", "composer", "deb", "gem", "golang", "hex", "maven", "npm", "nuget", "pypi")
RUN_FIELDS = (
    "scancodeio_version",
    "task_id",
    "task_start_date",
    "task_end_date",
    "task_exitcode",
    "task_output",
    "log",
    "execution_time",
)


class ApiReply(Exception):
    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(str(body))
        self.status, self.body, self.headers = status, body, headers or {}


class Index:
    def __init__(self, data: dict[str, Any]) -> None:
        self.packages: list[dict[str, Any]] = data.get("packages", [])
        self.package_sets: list[dict[str, Any]] = data.get("package_sets", [])
        self.by_uuid = {p["uuid"]: p for p in self.packages}
        self.resources = [(p, r) for p in self.packages for r in p["resources"]]


class Matching:
    """MatchCode-style matching projects with time-driven runs."""

    def __init__(self) -> None:
        self.projects: dict[str, dict[str, Any]] = {}
        self.runs: dict[str, dict[str, Any]] = {}
        self.lock = threading.Lock()


class PurlDBServer(SandboxServer):
    def __init__(
        self,
        address: tuple[str, int],
        index: Index,
        faults: Faults,
        *,
        token: str | None,
        throttle_per_hour: int = 10800,
        verbose: bool = False,
    ) -> None:
        super().__init__(address, PurlDBHandler, faults, verbose)
        self.index = index
        self.matching = Matching()
        self.settings: dict[str, Any] = {
            "token": token,
            "throttle_per_hour": throttle_per_hour,
            "queue_seconds": 0.5,
            "matching_seconds": 2.0,
            "fail_matching": False,
            "stuck_queued": False,
        }
        self.calls: dict[str, deque[float]] = {}
        self.calls_lock = threading.Lock()

    def configure(self, values: dict[str, Any]) -> None:
        self.settings.update(values)
        if "throttle_per_hour" in values:
            with self.calls_lock:
                self.calls.clear()

    def config_view(self) -> dict[str, Any]:
        view = {k: v for k, v in self.settings.items() if k != "token"}
        return {
            **view,
            "auth": bool(self.settings.get("token")),
            "packages": len(self.index.packages),
            "resources": len(self.index.resources),
        }

    def throttle_wait(self, client: str) -> int:
        """Seconds until ``client`` may call again (0: go ahead); a sliding one-hour window."""
        limit = int(self.settings["throttle_per_hour"])
        now = time.time()
        with self.calls_lock:
            window = self.calls.setdefault(client, deque())
            while window and now - window[0] > 3600:
                window.popleft()
            if len(window) >= limit:
                return max(1, int(3600 - (now - window[0])))
            window.append(now)
            return 0


class PurlDBHandler(SandboxHandler):
    server: PurlDBServer

    # -- plumbing ------------------------------------------------------------------------------
    @property
    def base(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def do_GET(self) -> None:
        self._serve("GET", b"")

    def do_POST(self) -> None:
        self._serve("POST", self.read_body())

    def do_HEAD(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _serve(self, method: str, body: bytes) -> None:
        if self.handle_control(method, body):
            return
        if self.inject_faults():
            return
        try:
            self._check_auth()
            parsed = urlparse(self.path)
            query = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
            reply = self.route(method, parsed.path, query, body)
            self.send_json(reply, 201 if isinstance(reply, dict) and reply.pop("_created", False) else 200)
        except ApiReply as exc:
            self.send_json(exc.body, exc.status, exc.headers)

    def _check_auth(self) -> None:
        token = self.server.settings.get("token")
        header = self.headers.get("Authorization") or ""
        client = header or self.client_address[0]
        if token:
            if not header:
                raise ApiReply(
                    401, {"detail": "Authentication credentials were not provided."}, {"WWW-Authenticate": "Token"}
                )
            scheme, _, value = header.partition(" ")
            if scheme.lower() != "token" or value.strip() != token:
                raise ApiReply(401, {"detail": "Invalid token."}, {"WWW-Authenticate": "Token"})
        wait = self.server.throttle_wait(client)
        if wait:
            raise ApiReply(
                429,
                {"detail": f"Request was throttled. Expected available in {wait} seconds."},
                {"Retry-After": str(wait)},
            )

    def page(self, path: str, query: dict[str, str], items: list[Any]) -> dict[str, Any]:
        try:
            size = min(int(query.get("page_size", MAX_PAGE_SIZE)), MAX_PAGE_SIZE)
            number = int(query.get("page", 1))
        except ValueError:
            raise ApiReply(404, {"detail": "Invalid page."}) from None
        size = max(size, 1)
        pages = max(1, -(-len(items) // size))
        if number < 1 or number > pages:
            raise ApiReply(404, {"detail": "Invalid page."})

        def link(n: int) -> str | None:
            if n < 1 or n > pages:
                return None
            return f"{self.base}{path}?{urlencode({**query, 'page': n})}"

        return {
            "count": len(items),
            "next": link(number + 1),
            "previous": link(number - 1),
            "results": items[(number - 1) * size : number * size],
        }

    # -- shapes --------------------------------------------------------------------------------
    def package_view(self, package: dict[str, Any]) -> dict[str, Any]:
        url = f"{self.base}/api/packages/{package['uuid']}/"
        sets = [
            {"uuid": s["uuid"], "packages": [f"{self.base}/api/packages/{u}/" for u in s["packages"]]}
            for s in self.server.index.package_sets
            if package["uuid"] in s["packages"]
        ]
        view = {k: v for k, v in package.items() if k not in ("resources", "history")}
        return {
            "url": url,
            **view,
            "package_sets": sets,
            "package_content": "binary" if package["filename"].endswith((".whl", ".jar")) else "source_archive",
            "resources": f"{url}resources/",
            "history": f"{url}history/",
        }

    def resource_view(self, package: dict[str, Any], resource: dict[str, Any]) -> dict[str, Any]:
        return {"package": f"{self.base}/api/packages/{package['uuid']}/", "purl": package["purl"], **resource}

    # -- routes ----------------------------------------------------------------------------------
    def route(self, method: str, path: str, query: dict[str, str], body: bytes) -> Any:
        parts = [p for p in path.split("/") if p]
        if parts[:1] != ["api"]:
            raise ApiReply(404, {"detail": "Not found."})
        parts = parts[1:]
        index = self.server.index
        if not parts:
            return {
                name: f"{self.base}/api/{name}/"
                for name in (
                    "packages",
                    "resources",
                    "validate",
                    "collect",
                    "package_sets",
                    "to_purl",
                    "from_purl",
                    "matching",
                    "runs",
                )
            }
        head = parts[0]
        if head == "packages":
            if parts[1:] == ["filter_by_checksums"] and method == "POST":
                return self.filter_packages(path, query, body)
            if len(parts) == 1:
                return self.page(path, query, [self.package_view(p) for p in self.filter_package_list(query)])
            package = index.by_uuid.get(parts[1])
            if package is None:
                raise ApiReply(404, {"detail": "No Package matches the given query."})
            action = parts[2] if len(parts) > 2 else ""
            if action == "":
                return self.package_view(package)
            if action == "history":
                return {"history": package["history"]}
            if action == "resources":
                return [self.resource_view(package, r) for r in package["resources"]]
            if action == "get_enhanced_package_data":
                return self.enhanced(package)
            if action == "reindex_package":
                return {"status": f"{package['purl']} has been queued for reindexing"}
            raise ApiReply(404, {"detail": "Not found."})
        if head == "resources":
            if parts[1:] == ["filter_by_checksums"] and method == "POST":
                return self.filter_resources(path, query, body)
            return self.page(path, query, [self.resource_view(p, r) for p, r in self.filter_resource_list(query)])
        if head == "validate":
            return self.validate(query)
        if head == "collect":
            return self.collect(query)
        if head == "package_sets":
            views = [
                {"uuid": s["uuid"], "packages": [self.package_view(index.by_uuid[u]) for u in s["packages"]]}
                for s in index.package_sets
            ]
            if len(parts) > 1:
                match = [v for v in views if v["uuid"] == parts[1]]
                if not match:
                    raise ApiReply(404, {"detail": "Not found."})
                return match[0]
            return self.page(path, query, views)
        if head == "to_purl":
            return self.to_purl(query)
        if head == "from_purl":
            return self.from_purl(query)
        if head == "matching":
            return self.matching(method, parts[1:], body)
        if head == "runs" and len(parts) == 2:
            return self.run_view(parts[1])
        raise ApiReply(404, {"detail": "Not found."})

    def filter_package_list(self, query: dict[str, str]) -> list[dict[str, Any]]:
        packages = self.server.index.packages
        purl = query.get("package_url") or query.get("purl")
        if purl:
            packages = [p for p in packages if p["purl"] == purl]
        for key in PACKAGE_FILTERS:
            if key in query:
                packages = [p for p in packages if str(p.get(key) or "") == query[key]]
        return packages

    def filter_resource_list(self, query: dict[str, str]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        rows = self.server.index.resources
        if "package_uuid" in query:
            rows = [(p, r) for p, r in rows if p["uuid"] == query["package_uuid"]]
        if "package_url" in query:
            rows = [(p, r) for p, r in rows if p["purl"] == query["package_url"]]
        for key in RESOURCE_CHECKSUMS:
            if key in query:
                rows = [(p, r) for p, r in rows if r.get(key) == query[key]]
        return rows

    def checksum_request(self, body: bytes, allowed: tuple[str, ...]) -> dict[str, list[str]]:
        try:
            data = json.loads(body or b"{}")
        except ValueError:
            data = {k: v for k, v in parse_qs(body.decode()).items()}
        if not isinstance(data, dict):
            raise ApiReply(400, {"status": "No values provided"})
        extra = sorted(set(data) - set(allowed) - {"enhance_package_data"})
        if extra:
            raise ApiReply(400, {"status": f"Unsupported field(s) given: {', '.join(extra)}"})
        values = {k: [str(v) for v in data[k]] for k in allowed if data.get(k)}
        if not values:
            raise ApiReply(400, {"status": "No values provided"})
        return values

    def filter_packages(self, path: str, query: dict[str, str], body: bytes) -> dict[str, Any]:
        wanted = self.checksum_request(body, PACKAGE_CHECKSUMS)
        found = []
        for algorithm, values in wanted.items():
            for value in dict.fromkeys(values):
                matches = [p for p in self.server.index.packages if p.get(algorithm) == value]
                if matches:  # one per checksum: the earliest release
                    found.append(self.package_view(min(matches, key=lambda p: p.get("release_date") or "")))
        return self.page(path, query, found)

    def filter_resources(self, path: str, query: dict[str, str], body: bytes) -> dict[str, Any]:
        wanted = self.checksum_request(body, RESOURCE_CHECKSUMS)
        found = [
            self.resource_view(p, r)
            for p, r in self.server.index.resources
            if any(r.get(algorithm) in set(values) for algorithm, values in wanted.items())
        ]
        return self.page(path, query, found)

    def enhanced(self, package: dict[str, Any]) -> dict[str, Any]:
        view = self.package_view(package)
        for other_uuid in (
            u for s in self.server.index.package_sets if package["uuid"] in s["packages"] for u in s["packages"]
        ):
            other = self.server.index.by_uuid[other_uuid]
            for key, value in other.items():
                if key not in ("resources", "history") and view.get(key) in (None, "", [], {}) and value:
                    view[key] = value
        return view

    def validate(self, query: dict[str, str]) -> dict[str, Any]:
        if not query.get("purl"):
            raise ApiReply(400, {"errors": {"purl": ["This field is required."]}})
        purl = query["purl"]
        try:
            parsed = PackageURL.from_string(purl)
        except ValueError:
            return {"valid": False, "exists": None, "message": "The provided PackageURL is not valid.", "purl": purl}
        check = query.get("check_existence", "").lower() in ("true", "1")
        if not check:
            return {"valid": True, "exists": None, "message": "The provided Package URL is valid.", "purl": purl}
        if parsed.type not in EXISTENCE_TYPES:
            return {
                "valid": True,
                "exists": None,
                "purl": purl,
                "message": f"The existence check for '{parsed.type}' PURL type is not supported.",
            }
        exists = any(self._same(p, parsed) for p in self.server.index.packages)
        message = (
            "The provided Package URL is valid, and the package exists in the upstream repo."
            if exists
            else "The provided PackageURL is valid, but does not exist in the upstream repo."
        )
        return {"valid": True, "exists": exists, "message": message, "purl": purl}

    @staticmethod
    def _same(package: dict[str, Any], purl: PackageURL) -> bool:
        return (package["type"], package["namespace"] or None, package["name"]) == (
            purl.type,
            purl.namespace,
            purl.name,
        ) and (not purl.version or package["version"] == purl.version)

    def collect(self, query: dict[str, str]) -> list[dict[str, Any]]:
        if not query.get("purl"):
            raise ApiReply(400, {"errors": {"purl": ["This field is required."]}})
        try:
            parsed = PackageURL.from_string(query["purl"])
        except ValueError as exc:
            raise ApiReply(400, {"errors": {"purl": [f"Invalid Package URL: {exc}"]}}) from None
        if not parsed.version:
            raise ApiReply(400, {"errors": {"purl": ["Package URL must contain a version."]}})
        found = [self.package_view(p) for p in self.server.index.packages if self._same(p, parsed)]
        if not found:  # the sandbox has no network to collect from
            raise ApiReply(400, {"status": f"Failed to collect {query['purl']}: not found upstream."})
        return found

    def to_purl(self, query: dict[str, str]) -> dict[str, Any]:
        go_package = query.get("go_package", "").strip()
        if not go_package:
            raise ApiReply(400, {"errors": {"go_package": ["This field is required."]}})
        words = go_package.replace("require", "").split()
        name, version = words[0], (words[1] if len(words) > 1 else None)
        namespace, _, short = name.rpartition("/")
        return {"golang_purl": str(PackageURL("golang", namespace or None, short, version))}

    def from_purl(self, query: dict[str, str]) -> dict[str, Any]:
        try:
            purl = PackageURL.from_string(query.get("package_url", ""))
        except ValueError:
            raise ApiReply(400, {"errors": {"package_url": ["Enter a valid Package URL."]}}) from None
        hosts = {"github": "github.com", "gitlab": "gitlab.com", "bitbucket": "bitbucket.org"}
        if purl.type not in hosts or not purl.namespace:
            return {"git_repo": None}
        return {"git_repo": f"git+https://{hosts[purl.type]}/{purl.namespace}/{purl.name}.git"}

    # -- matching ---------------------------------------------------------------------------------
    def matching(self, method: str, parts: list[str], body: bytes) -> Any:
        store = self.server.matching
        if not parts and method == "POST":
            return self.create_matching(body)
        if not parts:
            return self.page("/api/matching/", {}, [self.project_view(p) for p in store.projects.values()])
        project = store.projects.get(parts[0])
        if project is None:
            raise ApiReply(404, {"detail": "Not found."})
        if parts[1:] == ["results"]:
            run = self.run_view(project["run_uuid"])
            if run["status"] != "success":
                raise ApiReply(400, {"status": f"Results are not available: the matching run is {run['status']}."})
            return project["results"]
        return self.project_view(project)

    def create_matching(self, body: bytes) -> dict[str, Any]:
        content_type = self.headers.get("Content-Type") or ""
        if "multipart/form-data" not in content_type:
            raise ApiReply(400, {"upload_file": ["No file was submitted."]})
        message = BytesParser(policy=HTTP_POLICY).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
        upload, filename = None, None
        for part in message.iter_parts():
            if part.get_param("name", header="content-disposition") == "upload_file":
                upload, filename = part.get_payload(decode=True), part.get_filename()
        if not upload:
            raise ApiReply(400, {"upload_file": ["No file was submitted."]})
        project_uuid, run_uuid = str(uuid.uuid4()), str(uuid.uuid4())
        try:
            scan = json.loads(upload)
            files = scan["files"]
            results, error = self.match(scan, files), ""
        except (ValueError, KeyError, TypeError) as exc:
            results = {}
            error = f"Traceback (most recent call last):\n  ...\nValueError: not a ScanCode JSON scan: {exc}"
        now = time.time()
        settings = self.server.settings
        with self.server.matching.lock:
            self.server.matching.projects[project_uuid] = {
                "uuid": project_uuid,
                "created": now,
                "filename": filename or "scan.json",
                "run_uuid": run_uuid,
                "results": results,
            }
            self.server.matching.runs[run_uuid] = {
                "uuid": run_uuid,
                "project_uuid": project_uuid,
                "created": now,
                "queue_seconds": float(settings["queue_seconds"]),
                "run_seconds": float(settings["matching_seconds"]),
                "failed": bool(error or settings.get("fail_matching")),
                "stuck": bool(settings.get("stuck_queued")),
                "error": error or "MatchingError: matching failed (injected fault)",
            }
        view = self.project_view(self.server.matching.projects[project_uuid])
        view["runs"][0]["status"] = "not_started"  # serialized before the commit, as upstream
        return {**view, "_created": True}

    def match(self, scan: dict[str, Any], files: list[dict[str, Any]]) -> dict[str, Any]:
        by_sha1: dict[str, list[tuple[dict[str, Any], dict[str, Any]]]] = {}
        for package, resource in self.server.index.resources:
            if resource.get("sha1"):
                by_sha1.setdefault(resource["sha1"], []).append((package, resource))
        matched_packages: dict[str, dict[str, Any]] = {}
        out_files = []
        for item in files:
            hits = by_sha1.get(item.get("sha1") or "") if item.get("type") == "file" else None
            for_packages = []
            for package, _resource in hits or []:
                matched_packages[package["package_uid"]] = {
                    k: package.get(k)
                    for k in (
                        "purl",
                        "type",
                        "namespace",
                        "name",
                        "version",
                        "qualifiers",
                        "subpath",
                        "download_url",
                        "declared_license_expression",
                        "declared_license_expression_spdx",
                        "homepage_url",
                        "package_uid",
                    )
                }
                for_packages.append(package["package_uid"])
            out_files.append(
                {
                    "path": item.get("path"),
                    "type": item.get("type"),
                    "name": item.get("name"),
                    "sha1": item.get("sha1"),
                    "md5": item.get("md5"),
                    "for_packages": for_packages,
                    "status": "matched-to-purldb-resource" if for_packages else "",
                }
            )
        headers = [
            {
                "tool_name": "matchcode.io-sandbox",
                "tool_version": "1.0",
                "notice": "",
                "options": {"pipeline": "matching"},
            }
        ]
        return {
            "headers": headers,
            "packages": list(matched_packages.values()),
            "dependencies": [],
            "files": out_files,
            "relations": [],
        }

    def run_state(self, run: dict[str, Any]) -> str:
        elapsed = time.time() - run["created"]
        if run["stuck"] or elapsed < run["queue_seconds"] / 2:
            return "queued" if elapsed >= run["queue_seconds"] / 2 or run["stuck"] else "not_started"
        if elapsed < run["queue_seconds"]:
            return "queued"
        if elapsed < run["queue_seconds"] + run["run_seconds"]:
            return "running"
        return "failure" if run["failed"] else "success"

    def run_view(self, run_uuid: str) -> dict[str, Any]:
        run = self.server.matching.runs.get(run_uuid)
        if run is None:
            raise ApiReply(404, {"detail": "Not found."})
        status = self.run_state(run)
        started = run["created"] + run["queue_seconds"]
        ended = started + run["run_seconds"]
        done = status in ("success", "failure")
        stamp = lambda t: time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + "Z"  # noqa: E731
        log = (
            ""
            if status in ("not_started", "queued")
            else (
                f"{stamp(started)} Pipeline [matching] starting\n{stamp(started)} Step [load_scancode_json] starting"
                + (
                    f"\n{stamp(ended)} Step [match_to_purldb] completed\n{stamp(ended)} Pipeline completed"
                    if done
                    else ""
                )
            )
        )
        return {
            "url": f"{self.base}/api/runs/{run_uuid}/",
            "pipeline_name": "matching",
            "status": status,
            "description": "Match codebase resources to Packages indexed in the PurlDB.",
            # upstream quirk kept on purpose: the run's project link uses the runs route
            "project": f"{self.base}/api/runs/{run['project_uuid']}/",
            "uuid": run_uuid,
            "created_date": stamp(run["created"]),
            "scancodeio_version": "sandbox",
            "task_id": run_uuid if status != "not_started" else None,
            "task_start_date": stamp(started) if status not in ("not_started", "queued") else None,
            "task_end_date": stamp(ended) if done else None,
            "task_exitcode": (1 if status == "failure" else 0) if done else None,
            "task_output": run["error"] if status == "failure" else "",
            "log": log,
            "execution_time": int(run["run_seconds"]) if done else None,
        }

    def project_view(self, project: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": f"{self.base}/api/matching/{project['uuid']}/",
            "uuid": project["uuid"],
            "created_date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(project["created"])),
            "input_sources": [
                {
                    "filename": project["filename"],
                    "download_url": "",
                    "is_uploaded": True,
                    "tag": "",
                    "exists": True,
                    "uuid": project["uuid"],
                }
            ],
            "runs": [self.run_view(project["run_uuid"])],
        }
