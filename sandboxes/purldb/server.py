"""The PurlDB HTTP surface over a seeded index (see seed.py), as the real server's code defines it.

The reference is aboutcode-org/purldb at commit 076c188f918f3d2e824f147320b9f57be291ff6e (Django
6.0.6, DRF 3.17.1, django-filter 25.2, packageurl-python 0.17.6). Where that code and
../shared/specs/purldb-rest-api.rst disagree, the code wins; each such place names the real file.
README.md in this folder has the contract table (route, real source line, contract test).

- Routing: purldb/urls.py. ``PURLDB_PUBLIC_SETUP`` (``public_setup``) leaves only packages,
  resources, validate, to_purl and from_purl routed (urls.py:44-59); the rest answer Django's 404.
- Auth: ``Authorization: Token <key>``; an unknown key is 401 ``{"detail": "Invalid token."}``
  even on open endpoints (aboutcode.api_auth + DRF TokenAuthentication). ``require_authentication``
  emulates ``PURLDB_REQUIRE_AUTHENTICATION`` (settings.py:41, 272-273).
- Throttles: DRF ``SimpleRateThrottle`` semantics with anon 3600/h and user 10800/h
  (settings.py:245, 259-264); 429 ``{"message": "Your request has been throttled. Please contact
  support@nexb.com"}`` (packagedb/throttling.py:23-33).
- Pages: ``PageSizePagination`` (packagedb/api_custom.py:13-23): 20 per page, ``page_size`` capped
  at 20, links built like DRF's ``replace_query_param``/``remove_query_param``.
- Matching: a project with one ``matching`` run whose status follows the clock: not_started →
  queued → running → success (or failure). Results are served in any state (matchcode/api.py:623-630).
  ``/api/runs/{uuid}/`` has scanpipe's POST actions start_pipeline, stop_pipeline (→ stopped) and
  delete_pipeline (the run is gone, the project stays), as scanpipe handles them with
  ``SCANCODEIO_ASYNC`` on (SCIO:scanpipe/api/views.py:545-583, models.py:381-419).
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
import urllib.request
import uuid
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from email.parser import BytesParser
from email.policy import HTTP as HTTP_POLICY
from typing import Any
from urllib.parse import parse_qs, urlsplit

from packageurl import PackageURL
from packageurl.contrib.django.utils import purl_to_lookups
from packageurl.utils import get_golang_purl

from sandboxes.common.drf_urls import remove_query_param, replace_query_param
from sandboxes.common.server import Faults, SandboxHandler, SandboxServer

# packagedb/api_custom.py:13-23 (the docstring's "default 10" is wrong: page_size = 20).
PAGE_SIZE = 20
MAX_PAGE_SIZE = 20
# purldb/settings.py:245, 264 (REST_FRAMEWORK_DEFAULT_THROTTLE_RATES).
ANON_RATE_PER_HOUR = 3600
USER_RATE_PER_HOUR = 10800
THROTTLED_BODY = {"message": "Your request has been throttled. Please contact support@nexb.com"}
SCANCODEIO_VERSION = "38.0.0"  # purldb requirements.txt pins scancodeio 38.0.0
COUNTED_SWITCHES = ("fail_next_matchings", "stuck_next_matchings")
MATCHING_PIPELINE = "matching"  # MatchingSerializer.create (matchcode/api.py:426)
# Run.Status groups (SCIO:scanpipe/models.py:284-319): task_start_date set; task_end_date set;
# ``queued_or_running`` (task_id set, no task_end_date, models.py:2054-2056)
LOADED_STATUSES = ("running", "stopped", "success", "failure")
DONE_STATUSES = ("stopped", "success", "failure")
IN_PROGRESS_STATUSES = ("queued", "running")

# PackageContentType (packagedb/models.py:438-449).
PACKAGE_CONTENT = {
    "curation": 1,
    "patch": 2,
    "source_repo": 3,
    "source_archive": 4,
    "binary": 5,
    "test": 6,
    "doc": 7,
}
# PACKAGE_FILTER_SORT_FIELDS (packagedb/api.py:303-315).
SORT_FIELDS = (
    "type",
    "namespace",
    "name",
    "version",
    "qualifiers",
    "subpath",
    "package_content",
    "download_url",
    "filename",
    "size",
    "release_date",
)
# Meta.fields default ``exact`` filters (packagedb/api.py:354-370).
EXACT_PACKAGE_FILTERS = ("qualifiers", "subpath", "download_url", "filename", "sha256", "size", "release_date")
# packagedb/api.py:459 and :229-231.
PACKAGE_CHECKSUMS = ("md5", "sha1", "sha256", "sha512")
RESOURCE_CHECKSUMS = ("md5", "sha1")
# The types whose existence can be checked upstream (packagedb/api.py:1128-1129, 1211-1221); the
# sandbox has no network, so its index stands in for "upstream" for these types.
EXISTENCE_TYPES = ("cargo", "composer", "deb", "gem", "golang", "hex", "maven", "npm", "nuget", "pypi")
# UPDATEABLE_FIELDS (packagedb/api.py:594-618).
UPDATEABLE_FIELDS = (
    "primary_language",
    "copyright",
    "declared_license_expression",
    "declared_license_expression_spdx",
    "license_detections",
    "other_license_expression",
    "other_license_expression_spdx",
    "other_license_detections",
    "extracted_license_statement",
    "notice_text",
    "api_data_url",
    "bug_tracking_url",
    "code_view_url",
    "vcs_url",
    "source_packages",
    "repository_homepage_url",
    "dependencies",
    "parties",
    "homepage_url",
    "description",
)
# PackageAPISerializer.Meta.fields (packagedb/serializers.py:183-233).
PACKAGE_API_FIELDS = (
    "url",
    "uuid",
    "filename",
    "package_sets",
    "package_content",
    "purl",
    "type",
    "namespace",
    "name",
    "version",
    "qualifiers",
    "subpath",
    "primary_language",
    "description",
    "release_date",
    "parties",
    "keywords",
    "homepage_url",
    "download_url",
    "bug_tracking_url",
    "code_view_url",
    "vcs_url",
    "repository_homepage_url",
    "repository_download_url",
    "api_data_url",
    "size",
    "md5",
    "sha1",
    "sha256",
    "sha512",
    "copyright",
    "holder",
    "declared_license_expression",
    "declared_license_expression_spdx",
    "license_detections",
    "other_license_expression",
    "other_license_expression_spdx",
    "other_license_detections",
    "extracted_license_statement",
    "notice_text",
    "source_packages",
    "extra_data",
    "package_uid",
    "datasource_id",
    "file_references",
    "dependencies",
    "resources",
    "history",
)
# PackageMetadataSerializer.Meta.fields, i.e. Package.to_dict() (packagedb/serializers.py:281-325).
PACKAGE_METADATA_FIELDS = (
    "type",
    "namespace",
    "name",
    "version",
    "qualifiers",
    "subpath",
    "package_sets",
    "package_content",
    "primary_language",
    "description",
    "release_date",
    "parties",
    "keywords",
    "homepage_url",
    "download_url",
    "size",
    "md5",
    "sha1",
    "sha256",
    "sha512",
    "bug_tracking_url",
    "code_view_url",
    "vcs_url",
    "copyright",
    "holder",
    "declared_license_expression",
    "declared_license_expression_spdx",
    "license_detections",
    "other_license_expression",
    "other_license_expression_spdx",
    "other_license_detections",
    "extracted_license_statement",
    "notice_text",
    "source_packages",
    "extra_data",
    "dependencies",
    "package_uid",
    "datasource_id",
    "purl",
    "repository_homepage_url",
    "repository_download_url",
    "api_data_url",
    "file_references",
)
# ResourceAPISerializer.Meta.fields (packagedb/serializers.py:35-77).
RESOURCE_API_FIELDS = (
    "package",
    "purl",
    "path",
    "type",
    "name",
    "extension",
    "size",
    "md5",
    "sha1",
    "sha256",
    "sha512",
    "git_sha1",
    "mime_type",
    "file_type",
    "programming_language",
    "is_binary",
    "is_text",
    "is_archive",
    "is_media",
    "is_key_file",
    "detected_license_expression",
    "detected_license_expression_spdx",
    "license_detections",
    "license_clues",
    "percentage_of_license_text",
    "copyrights",
    "holders",
    "authors",
    "package_data",
    "emails",
    "urls",
    "extra_data",
)
RESOURCE_LIST_FIELDS = {
    "license_detections",
    "license_clues",
    "copyrights",
    "holders",
    "authors",
    "package_data",
    "emails",
    "urls",
}
# ScanCode.io CodebaseResource JSON output fields (scanpipe/pipes/output.py, as ScanCode.io
# 38 writes them; see a real scancodeio-results.json).
SCIO_FILE_DEFAULTS: dict[str, Any] = {
    "path": "",
    "type": "file",
    "name": "",
    "status": "",
    "for_packages": [],
    "tag": "",
    "extension": "",
    "size": None,
    "mime_type": "",
    "file_type": "",
    "programming_language": "",
    "detected_license_expression": "",
    "detected_license_expression_spdx": "",
    "license_detections": [],
    "license_clues": [],
    "percentage_of_license_text": None,
    "compliance_alert": "",
    "copyrights": [],
    "holders": [],
    "authors": [],
    "package_data": [],
    "emails": [],
    "urls": [],
    "md5": "",
    "sha1": "",
    "sha256": "",
    "sha512": "",
    "sha1_git": "",
    "is_binary": False,
    "is_text": False,
    "is_archive": False,
    "is_media": False,
    "is_legal": False,
    "is_manifest": False,
    "is_readme": False,
    "is_top_level": False,
    "is_key_file": False,
    "extra_data": {},
}
# ScanCode.io DiscoveredPackage JSON output fields.
SCIO_PACKAGE_FIELDS = (
    "purl",
    "type",
    "namespace",
    "name",
    "version",
    "qualifiers",
    "subpath",
    "tag",
    "primary_language",
    "description",
    "notes",
    "release_date",
    "parties",
    "keywords",
    "homepage_url",
    "download_url",
    "bug_tracking_url",
    "code_view_url",
    "vcs_url",
    "repository_homepage_url",
    "repository_download_url",
    "api_data_url",
    "size",
    "md5",
    "sha1",
    "sha256",
    "sha512",
    "copyright",
    "holder",
    "declared_license_expression",
    "declared_license_expression_spdx",
    "license_detections",
    "other_license_expression",
    "other_license_expression_spdx",
    "other_license_detections",
    "extracted_license_statement",
    "compliance_alert",
    "notice_text",
    "source_packages",
    "extra_data",
    "package_uid",
    "is_private",
    "is_virtual",
    "datasource_ids",
    "datafile_paths",
    "file_references",
    "missing_resources",
    "modified_resources",
    "affected_by_vulnerabilities",
)
SCIO_NOTICE = (
    'Generated with ScanCode.io and provided on an "AS IS" BASIS, WITHOUT WARRANTIES\n'
    "OR CONDITIONS OF ANY KIND, either express or implied.\n"
    "No content created from ScanCode.io should be considered or used as legal advice.\n"
    "Consult an Attorney for any legal advice.\n"
    "ScanCode.io is a free software code scanning tool from nexB Inc. and others\n"
    "licensed under the Apache License version 2.0.\n"
    "ScanCode is a trademark of nexB Inc.\n"
    "Visit https://github.com/nexB/scancode.io for support and download.\n"
)
MATCHING_DESCRIPTION = (
    "1. Match archive to Packages\n2. Match archive to Resources\n3. Match directory exactly\n"
    "4. Match files exactly\n5. Match directories approximately\n6. Match files approximately"
)
MATCHING_STEPS = (
    "get_inputs",
    "build_inventory_from_scans",
    "flag_empty_files",
    "match_archives_to_purldb_packages",
    "match_archives_to_purldb_resources",
    "fingerprint_codebase_directories",
    "match_directories_exact_to_purldb",
    "match_directories_to_purldb",
    "match_resources_to_purldb",
    "match_resources_approximately",
    "match_resources_snippets",
    "match_purldb_resources_post_process",
    "remove_packages_without_resources",
)  # matchcode/pipelines/matching.py:47-62

# Django's page when DEBUG is off (django/views/defaults.py ERROR_PAGE_TEMPLATE).
ERROR_PAGE = (
    '\n<!doctype html>\n<html lang="en">\n<head>\n  <title>{title}</title>\n</head>\n<body>\n'
    "  <h1>{title}</h1><p>{details}</p>\n</body>\n</html>\n"
)
NOT_FOUND_PAGE = ERROR_PAGE.format(title="Not Found", details="The requested resource was not found on this server.")
SERVER_ERROR_PAGE = ERROR_PAGE.format(title="Server Error (500)", details="")

# DRF BooleanField (rest_framework/fields.py) value sets.
TRUE_VALUES = {"t", "y", "yes", "true", "on", "1"}
FALSE_VALUES = {"f", "n", "no", "false", "off", "0"}
UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$")


class ApiReply(Exception):
    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(str(body))
        self.status, self.body, self.headers = status, body, headers or {}


class HtmlReply(Exception):
    """A Django (not DRF) answer: the unrouted 404 page, the 500 page, a redirect."""

    def __init__(self, status: int, body: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.status, self.body, self.headers = status, body, headers or {}


def not_found_page() -> HtmlReply:
    return HtmlReply(404, NOT_FOUND_PAGE)


def server_error() -> HtmlReply:
    return HtmlReply(500, SERVER_ERROR_PAGE)


def content_label(package: dict[str, Any]) -> str | None:
    """The package's PackageContentType label; older indexes lack it, so guess from the filename."""
    if "package_content" in package:
        return package["package_content"]
    filename = package.get("filename") or ""
    if filename.endswith((".whl", ".jar", ".egg", ".gem", ".nupkg", ".deb", ".rpm", ".apk")):
        return "binary"
    if filename.endswith((".tar.gz", ".tgz", ".zip", ".tar.bz2", ".tar.xz", ".tar")):
        return "source_archive"
    return None


def text(value: Any) -> str:
    return "" if value is None else str(value)


def matches_lookups(package: dict[str, Any], lookups: dict[str, str]) -> bool:
    """Django ``Package.objects.filter(**purl_to_lookups(purl))``: exact, case-sensitive fields."""
    return all(text(package.get(field)) == value for field, value in lookups.items())


class Index:
    def __init__(self, data: dict[str, Any]) -> None:
        # insertion order stands for the ``id`` (Package.Meta.ordering = ["id"], models.py:543-544)
        self.packages: list[dict[str, Any]] = data.get("packages", [])
        self.package_sets: list[dict[str, Any]] = data.get("package_sets", [])
        self.by_uuid = {p["uuid"]: p for p in self.packages}
        self.position = {p["uuid"]: n for n, p in enumerate(self.packages)}
        # Resource.Meta.ordering = ("id",) (models.py:1208): package order, then file order
        self.resources = [(p, r) for p in self.packages for r in p.get("resources", [])]

    def sets_of(self, package: dict[str, Any]) -> list[dict[str, Any]]:
        return [s for s in self.package_sets if package["uuid"] in s["packages"]]


class Matching:
    """MatchCode matching projects with time-driven runs."""

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
        require_authentication: bool | None = None,
        public_setup: bool = False,
        throttle_per_hour: int | None = None,
        anon_throttle_per_hour: int = ANON_RATE_PER_HOUR,
        user_throttle_per_hour: int = USER_RATE_PER_HOUR,
        verbose: bool = False,
    ) -> None:
        super().__init__(address, PurlDBHandler, faults, verbose)
        self.index = index
        self.matching = Matching()
        self.settings: dict[str, Any] = {
            "token": token,
            # PURLDB_REQUIRE_AUTHENTICATION defaults to False upstream; a sandbox started with a
            # token emulates a deployment that sets it (the stack's), unless told otherwise.
            "require_authentication": bool(token) if require_authentication is None else require_authentication,
            "public_setup": public_setup,
            "throttle_anon_per_hour": anon_throttle_per_hour,
            "throttle_user_per_hour": user_throttle_per_hour,
            "queue_seconds": 0.5,
            "matching_seconds": 2.0,
            "fail_matching": False,
            "stuck_queued": False,
            # counted switches: the next N matchings created fail / stay queued, one less each time
            "fail_next_matchings": 0,
            "stuck_next_matchings": 0,
        }
        if throttle_per_hour is not None:
            self.settings["throttle_anon_per_hour"] = self.settings["throttle_user_per_hour"] = throttle_per_hour
        # DRF's LocMemCache throttle histories: key -> timestamps, newest first
        self.histories: dict[str, deque[float]] = {}
        self.histories_lock = threading.Lock()

    def configure(self, values: dict[str, Any]) -> None:
        values = dict(values)
        if "throttle_per_hour" in values:  # one switch for both rates; null restores the real ones
            both = values.pop("throttle_per_hour")
            values["throttle_anon_per_hour"] = ANON_RATE_PER_HOUR if both is None else int(both)
            values["throttle_user_per_hour"] = USER_RATE_PER_HOUR if both is None else int(both)
        for key in COUNTED_SWITCHES:
            if key in values:
                values[key] = max(0, int(values[key] or 0))
        with self.matching.lock:  # matching_create takes from the counts under this lock
            self.settings.update(values)
        if any(k.startswith("throttle_") for k in values):
            with self.histories_lock:
                self.histories.clear()

    def config_view(self) -> dict[str, Any]:
        view = {k: v for k, v in self.settings.items() if k != "token"}
        return {
            **view,
            "auth": bool(self.settings.get("token")),
            "packages": len(self.index.packages),
            "resources": len(self.index.resources),
        }

    def throttle(self, key: str, per_hour: int) -> float | None:
        """DRF ``SimpleRateThrottle.allow_request``: None when allowed (and recorded), else the wait."""
        duration = 3600.0
        now = time.time()
        with self.histories_lock:
            history = self.histories.setdefault(key, deque())
            while history and history[-1] <= now - duration:
                history.pop()
            if len(history) >= per_hour:
                remaining = duration - (now - history[-1]) if history else duration
                available = per_hour - len(history) + 1
                return remaining / available if available > 0 else remaining
            history.appendleft(now)
            return None


Query = dict[str, list[str]]
Route = tuple[str, "re.Pattern[str]", dict[str, str], str, bool]
# (name, pattern, {method: handler}, throttles, gated by PURLDB_PUBLIC_SETUP)
# throttles: "packages" = [StaffUserRateThrottle, AnonRateThrottle] (packagedb/api.py:202, 378),
# "default" = [StaffUserRateThrottle, AnonRateThrottle, UserRateThrottle] (settings.py:259-263).
LOOKUP = r"(?P<lookup>[^/.]+)"
ROUTES: list[Route] = [
    ("root", re.compile(r"^/api/$"), {"GET": "api_root"}, "default", False),
    ("packages", re.compile(r"^/api/packages/$"), {"GET": "package_list"}, "packages", False),
    (
        "packages-checksums",
        re.compile(r"^/api/packages/filter_by_checksums/$"),
        {"POST": "package_checksums"},
        "packages",
        False,
    ),
    ("package", re.compile(rf"^/api/packages/{LOOKUP}/$"), {"GET": "package_detail"}, "packages", False),
    (
        "package-action",
        re.compile(
            rf"^/api/packages/{LOOKUP}/(?P<action>history|resources|get_enhanced_package_data|reindex_package)/$"
        ),
        {"GET": "package_action"},
        "packages",
        False,
    ),
    ("resources", re.compile(r"^/api/resources/$"), {"GET": "resource_list"}, "packages", False),
    (
        "resources-checksums",
        re.compile(r"^/api/resources/filter_by_checksums/$"),
        {"POST": "resource_checksums"},
        "packages",
        False,
    ),
    ("resource", re.compile(rf"^/api/resources/{LOOKUP}/$"), {"GET": "resource_detail"}, "packages", False),
    ("validate", re.compile(r"^/api/validate/$"), {"GET": "validate"}, "default", False),
    ("to_purl-root", re.compile(r"^/api/to_purl/$"), {"GET": "to_purl_root"}, "default", False),
    ("to_purl-go", re.compile(r"^/api/to_purl/go/$"), {"GET": "to_purl_go"}, "default", False),
    ("from_purl-root", re.compile(r"^/api/from_purl/$"), {"GET": "from_purl_root"}, "default", False),
    ("from_purl-purl2git", re.compile(r"^/api/from_purl/purl2git/$"), {"GET": "purl2git"}, "default", False),
    ("package_sets", re.compile(r"^/api/package_sets/$"), {"GET": "package_set_list"}, "default", True),
    ("package_set", re.compile(rf"^/api/package_sets/{LOOKUP}/$"), {"GET": "package_set_detail"}, "default", True),
    ("collect", re.compile(r"^/api/collect/$"), {"GET": "collect"}, "default", True),
    (
        "matching",
        re.compile(r"^/api/matching/$"),
        {"GET": "matching_list", "POST": "matching_create"},
        "default",
        True,
    ),
    (
        "matching-detail",
        re.compile(rf"^/api/matching/{LOOKUP}/$"),
        {"GET": "matching_detail", "DELETE": "matching_delete"},
        "default",
        True,
    ),
    (
        "matching-results",
        re.compile(rf"^/api/matching/{LOOKUP}/results/$"),
        {"GET": "matching_results"},
        "default",
        True,
    ),
    # scanpipe's RunViewSet has no list action, so /api/runs/ itself is not routed.
    ("run", re.compile(rf"^/api/runs/{LOOKUP}/$"), {"GET": "run_detail"}, "default", True),
    # its three ``@action(detail=True, methods=["post"])`` (SCIO:scanpipe/api/views.py:551-583)
    (
        "run-action",
        re.compile(rf"^/api/runs/{LOOKUP}/(?P<action>start_pipeline|stop_pipeline|delete_pipeline)/$"),
        {"POST": "run_action"},
        "default",
        True,
    ),
]


class PurlDBHandler(SandboxHandler):
    server: PurlDBServer

    # -- plumbing ------------------------------------------------------------------------------
    @property
    def base(self) -> str:
        """``request.build_absolute_uri('/')`` without the slash: the Host the client used."""
        host = self.headers.get("Host")
        if not host:
            address, port = self.server.server_address[:2]
            host = f"{address}:{port}"
        return f"http://{host}"

    def do_GET(self) -> None:
        self._serve("GET", b"")

    def do_HEAD(self) -> None:
        self._serve("HEAD", b"")

    def do_POST(self) -> None:
        self._serve("POST", self.read_body())

    def do_PUT(self) -> None:
        self._serve("PUT", self.read_body())

    def do_PATCH(self) -> None:
        self._serve("PATCH", self.read_body())

    def do_DELETE(self) -> None:
        self._serve("DELETE", self.read_body())

    def _serve(self, method: str, body: bytes) -> None:
        if self.handle_control(method, body):
            return
        if self.inject_faults():
            return
        head = method == "HEAD"
        try:
            status, payload = self.dispatch(method, body)
            if status == 204:
                self.send_bytes(b"", "application/json", 204)
            else:
                self.send_json_or_head(payload, status, head)
        except ApiReply as exc:
            self.send_json_or_head(exc.body, exc.status, head, exc.headers)
        except HtmlReply as exc:
            data = exc.body.encode()
            self.send_bytes(b"" if head else data, "text/html; charset=utf-8", exc.status, exc.headers)

    def send_json_or_head(self, payload: Any, status: int, head: bool, headers: dict[str, str] | None = None) -> None:
        if head:
            self.send_bytes(b"", "application/json", status, headers)
        else:
            self.send_json(payload, status, headers)

    def dispatch(self, method: str, body: bytes) -> tuple[int, Any]:
        parsed = urlsplit(self.path)
        path, query = parsed.path, parse_qs(parsed.query, keep_blank_values=True)
        if path == "/":  # RedirectView(url="api/") (purldb/urls.py:69)
            raise HtmlReply(302, "", {"Location": "api/"})
        found = self.resolve(path)
        if found is None:
            # Django's CommonMiddleware (APPEND_SLASH): a path that resolves with a slash redirects.
            if not path.endswith("/") and self.resolve(path + "/") is not None:
                target = path + "/" + (f"?{parsed.query}" if parsed.query else "")
                raise HtmlReply(301, "", {"Location": target})
            raise not_found_page()
        route, params = found
        _name, _pattern, methods, throttles, _gated = route
        authenticated = self.authenticate()
        if self.server.settings.get("require_authentication") and not authenticated:
            raise ApiReply(
                401, {"detail": "Authentication credentials were not provided."}, {"WWW-Authenticate": "Token"}
            )
        self.check_throttles(throttles, authenticated)
        handler_name = methods.get("GET" if method == "HEAD" else method)
        if handler_name is None:
            allowed = ", ".join([*methods, "HEAD", "OPTIONS"] if "GET" in methods else [*methods, "OPTIONS"])
            raise ApiReply(405, {"detail": f'Method "{method}" not allowed.'}, {"Allow": allowed})
        handler: Callable[..., tuple[int, Any]] = getattr(self, handler_name)
        return handler(query=query, body=body, **params)

    def resolve(self, path: str) -> tuple[Route, dict[str, str]] | None:
        public = bool(self.server.settings.get("public_setup"))
        for route in ROUTES:
            if public and route[4]:
                continue
            match = route[1].match(path)
            if match:
                return route, match.groupdict()
        return None

    def authenticate(self) -> bool:
        """DRF ``TokenAuthentication.authenticate`` with keyword ``Token`` (aboutcode.api_auth)."""
        header = (self.headers.get("Authorization") or "").encode("latin-1", "replace").split()
        if not header or header[0].lower() != b"token":
            return False  # no header, or another scheme (e.g. Bearer): anonymous
        challenge = {"WWW-Authenticate": "Token"}
        if len(header) == 1:
            raise ApiReply(401, {"detail": "Invalid token header. No credentials provided."}, challenge)
        if len(header) > 2:
            raise ApiReply(401, {"detail": "Invalid token header. Token string should not contain spaces."}, challenge)
        token = self.server.settings.get("token")
        if not token or header[1].decode("latin-1") != token:
            raise ApiReply(401, {"detail": "Invalid token."}, challenge)
        return True

    def client_ident(self) -> str:
        """DRF ``BaseThrottle.get_ident``: the X-Forwarded-For header (spaces removed) or REMOTE_ADDR."""
        forwarded = self.headers.get("X-Forwarded-For")
        return "".join(forwarded.split()) if forwarded else self.client_address[0]

    def check_throttles(self, kind: str, authenticated: bool) -> None:
        """DRF ``APIView.check_throttles``: every throttle runs, so on endpoints with the default
        list StaffUserRateThrottle and UserRateThrottle both record on the ``throttle_user_*`` key."""
        settings = self.server.settings
        user_key = "throttle_user_" + ("token-user" if authenticated else self.client_ident())
        user_rate = int(settings["throttle_user_per_hour"])
        checks: list[tuple[str, int]] = [(user_key, user_rate)]  # StaffUserRateThrottle (no staff here)
        if not authenticated:
            checks.append(("throttle_anon_" + self.client_ident(), int(settings["throttle_anon_per_hour"])))
        if kind == "default":
            checks.append((user_key, user_rate))  # UserRateThrottle
        waits = [w for w in (self.server.throttle(key, rate) for key, rate in checks) if w is not None]
        if waits:
            raise ApiReply(429, THROTTLED_BODY, {"Retry-After": str(math.ceil(max(waits)))})

    def page(self, query: Query, items: list[Any]) -> dict[str, Any]:
        """DRF ``PageNumberPagination.paginate_queryset`` + ``get_paginated_response``."""
        size = PAGE_SIZE
        if query.get("page_size"):
            try:
                wanted = int(query["page_size"][-1])
                if wanted > 0:
                    size = min(wanted, MAX_PAGE_SIZE)
            except ValueError:
                pass
        pages = max(1, -(-len(items) // size))
        raw = query.get("page", ["1"])[-1]
        try:
            number = pages if raw == "last" else int(raw)
        except ValueError:
            raise ApiReply(404, {"detail": "Invalid page."}) from None
        if number < 1 or number > pages:
            raise ApiReply(404, {"detail": "Invalid page."})
        url = self.base + self.path
        return {
            "count": len(items),
            "next": replace_query_param(url, "page", number + 1) if number < pages else None,
            "previous": (
                None
                if number == 1
                else remove_query_param(url, "page")
                if number == 2
                else replace_query_param(url, "page", number - 1)
            ),
            "results": items[(number - 1) * size : number * size],
        }

    # -- shapes --------------------------------------------------------------------------------
    def package_url(self, package: dict[str, Any]) -> str:
        return f"{self.base}/api/packages/{package['uuid']}/"

    def package_view(self, package: dict[str, Any]) -> dict[str, Any]:
        """PackageAPISerializer (packagedb/serializers.py:172-235)."""
        url = self.package_url(package)
        computed = {
            "url": url,
            "package_sets": [
                {"uuid": s["uuid"], "packages": [f"{self.base}/api/packages/{u}/" for u in s["packages"]]}
                for s in self.server.index.sets_of(package)
            ],
            "package_content": content_label(package),
            "resources": f"{url}resources/",
            "history": f"{url}history/",
        }
        return {field: computed[field] if field in computed else package.get(field) for field in PACKAGE_API_FIELDS}

    def package_dict(self, package: dict[str, Any]) -> dict[str, Any]:
        """``Package.to_dict()``: PackageMetadataSerializer (packagedb/serializers.py:266-328)."""
        by_uuid = self.server.index.by_uuid
        computed = {
            "package_sets": [
                {"uuid": s["uuid"], "packages": [by_uuid[u]["package_uid"] for u in s["packages"]]}
                for s in self.server.index.sets_of(package)
            ],
            "package_content": content_label(package),
            "extra_data": json.loads(json.dumps(package.get("extra_data") or {})),
        }
        return {
            field: computed[field] if field in computed else package.get(field) for field in PACKAGE_METADATA_FIELDS
        }

    def resource_view(self, package: dict[str, Any], resource: dict[str, Any]) -> dict[str, Any]:
        """ResourceAPISerializer (packagedb/serializers.py:35-77)."""
        view: dict[str, Any] = {"package": self.package_url(package), "purl": package["purl"]}
        for field in RESOURCE_API_FIELDS[2:]:
            value = resource.get(field)
            if value is None and field in RESOURCE_LIST_FIELDS:
                value = []
            if value is None and field == "extra_data":
                value = {}
            view[field] = value
        return view

    def get_package(self, lookup: str) -> dict[str, Any]:
        """DRF ``get_object_or_404`` on uuid: a non-UUID is a ValidationError, hence a bare 404."""
        if not UUID_RE.match(lookup):
            raise ApiReply(404, {"detail": "Not found."})
        package = self.server.index.by_uuid.get(str(uuid.UUID(lookup)))
        if package is None:
            raise ApiReply(404, {"detail": "No Package matches the given query."})
        return package

    # -- root views ------------------------------------------------------------------------------
    def api_root(self, query: Query, body: bytes) -> tuple[int, Any]:
        """DRF DefaultRouter's API root: the routes with a list action (not ``runs``)."""
        names = ["packages", "resources", "validate"]
        if not self.server.settings.get("public_setup"):
            names += ["package_sets", "collect", "matching"]
        return 200, {name: f"{self.base}/api/{name}/" for name in names}

    def to_purl_root(self, query: Query, body: bytes) -> tuple[int, Any]:
        return 200, {"go": f"{self.base}/api/to_purl/go/"}

    def from_purl_root(self, query: Query, body: bytes) -> tuple[int, Any]:
        return 200, {"purl2git": f"{self.base}/api/from_purl/purl2git/"}

    # -- packages ----------------------------------------------------------------------------------
    def package_list(self, query: Query, body: bytes) -> tuple[int, Any]:
        packages = self.filter_packages(query)
        return 200, self.page(query, [self.package_view(p) for p in packages])

    def filter_packages(self, query: Query) -> list[dict[str, Any]]:
        """PackageFilterSet (packagedb/api.py:318-370). There is no ``package_url`` filter:
        django-filter ignores unknown parameters, so ``?package_url=`` lists everything."""
        rows = list(self.server.index.packages)

        def multi(name: str) -> list[str]:
            # CharMultipleWidget (api.py:82-94): absent or [""] means no filtering
            values = query.get(name, [])
            return [] if not values or values == [""] else values

        for name in ("type", "namespace"):  # CharFilter(lookup_expr="iexact"), last value wins
            value = query.get(name, [""])[-1]
            if value:
                rows = [p for p in rows if text(p.get(name)).lower() == value.lower()]
        if names := multi("name"):  # MultipleCharFilter(lookup_expr="iexact"), OR
            wanted = {n.lower() for n in names}
            rows = [p for p in rows if text(p.get("name")).lower() in wanted]
        if versions := multi("version"):  # MultipleCharFilter(), exact and case-sensitive, OR
            rows = [p for p in rows if text(p.get("version")) in set(versions)]
        for name in ("md5", "sha1"):  # MultipleCharInFilter: field__in
            if values := multi(name):
                rows = [p for p in rows if p.get(name) in set(values)]
        if purls := multi("purl"):  # MultiplePackageURLFilter (api.py:276-300)
            if not all(v == "" for v in purls):
                lookups = [found for v in purls if (found := purl_to_lookups(v))]
                rows = [p for p in rows if any(matches_lookups(p, lk) for lk in lookups)] if lookups else []
        for name in EXACT_PACKAGE_FILTERS:  # Meta.fields default exact filters
            value = query.get(name, [""])[-1]
            if value:
                rows = [p for p in rows if text(p.get(name)) == value]
        if value := query.get("package_content", [""])[-1]:
            labels = {str(v): k for k, v in PACKAGE_CONTENT.items()}
            if value not in labels:
                raise ApiReply(
                    400,
                    {"package_content": [f"Select a valid choice. {value} is not one of the available choices."]},
                )
            rows = [p for p in rows if content_label(p) == labels[value]]
        if value := query.get("search", [""])[-1]:
            rows = self.search(rows, value)
        if value := query.get("sort", [""])[-1]:
            rows = self.sort(rows, value)
        return rows

    def search(self, rows: list[dict[str, Any]], value: str) -> list[dict[str, Any]]:
        """PackageSearchFilter (packagedb/filters.py:82-93): ``pkg:`` → the loose purl lookup,
        otherwise an ``icontains`` OR over type, namespace, name, version and download_url. The
        ``field:value`` query syntax (filters.py:20-55) is not emulated."""
        if value.startswith("pkg:"):
            lookups = purl_to_lookups(value)
            return [p for p in rows if lookups and matches_lookups(p, lookups)]
        needle = value.lower()
        fields = ("type", "namespace", "name", "version", "download_url")
        return [p for p in rows if any(needle in text(p.get(f)).lower() for f in fields)]

    def sort(self, rows: list[dict[str, Any]], value: str) -> list[dict[str, Any]]:
        """OrderingFilter(fields=PACKAGE_FILTER_SORT_FIELDS) (packagedb/api.py:350)."""
        keys = [k.strip() for k in value.split(",") if k.strip()]
        bad = [k for k in keys if k.lstrip("-") not in SORT_FIELDS]
        if bad:
            raise ApiReply(400, {"sort": [f"Select a valid choice. {bad[0]} is not one of the available choices."]})
        for key in reversed(keys):
            field, descending = key.lstrip("-"), key.startswith("-")

            def order(p: dict[str, Any], field: str = field) -> tuple[int, Any]:
                value = PACKAGE_CONTENT.get(content_label(p) or "") if field == "package_content" else p.get(field)
                return (1, "") if value is None else (0, value)  # Postgres: NULLs sort last ascending

            rows = sorted(rows, key=order, reverse=descending)
        return rows

    def package_detail(self, query: Query, body: bytes, lookup: str) -> tuple[int, Any]:
        return 200, self.package_view(self.get_package(lookup))

    def package_action(self, query: Query, body: bytes, lookup: str, action: str) -> tuple[int, Any]:
        package = self.get_package(lookup)
        if action == "history":  # api.py:394-398
            return 200, {"history": package.get("history", [])}
        if action == "resources":  # api.py:400-409: paginated
            resources = [self.resource_view(package, r) for r in package.get("resources", [])]
            return 200, self.page(query, resources)
        if action == "get_enhanced_package_data":  # api.py:411-416
            return 200, self.enhanced(package)
        # reindex_package (api.py:511-518)
        return 200, {"status": f"{package['purl']} has been queued for reindexing"}

    def enhanced(self, package: dict[str, Any]) -> dict[str, Any]:
        """``get_enhanced_package`` (packagedb/api.py:643-721)."""
        data = self.package_dict(package)
        content = PACKAGE_CONTENT.get(content_label(package) or "")
        sets = self.server.index.sets_of(package)
        if not sets or not content or content not in (PACKAGE_CONTENT["binary"], PACKAGE_CONTENT["source_archive"]):
            return data
        by_uuid = self.server.index.by_uuid
        # PackageSet.get_package_set_members: ordered by package_content (models.py:1470-1474)
        peers = sorted(
            (by_uuid[u] for u in sets[0]["packages"]),
            key=lambda p: PACKAGE_CONTENT.get(content_label(p) or "", 99),
        )
        if content == PACKAGE_CONTENT["source_archive"]:
            peers = [p for p in peers if content_label(p) == "source_repo"]
        for peer in peers:
            peer_content = PACKAGE_CONTENT.get(content_label(peer) or "") or PACKAGE_CONTENT["binary"]
            if peer_content >= content:
                continue
            enhanced = False
            for field in UPDATEABLE_FIELDS:
                if not data.get(field) and peer.get(field):
                    data[field] = peer[field]
                    enhanced = True
            if enhanced:
                extra = data.get("extra_data") or {}
                extra.setdefault("enhanced_by", []).append(peer["purl"])
                data["extra_data"] = extra
        return data

    def checksum_body(self, body: bytes, allowed: tuple[str, ...]) -> dict[str, Any]:
        """``dict(request.data)``: JSON as given; a form body gives lists for every key."""
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        if content_type == "application/x-www-form-urlencoded":
            data: Any = parse_qs(body.decode(), keep_blank_values=True)
        else:
            try:
                data = json.loads(body) if body.strip() else {}
            except ValueError as exc:
                raise ApiReply(400, {"detail": f"JSON parse error - {exc}"}) from None
        if not isinstance(data, dict):
            raise server_error()  # dict(<list>) raises in the view
        unsupported = [field for field in data if field not in allowed]
        if unsupported:  # in request order (api.py:464-467, 247-250)
            raise ApiReply(400, {"status": f"Unsupported field(s) given: {', '.join(unsupported)}"})
        return data

    def package_checksums(self, query: Query, body: bytes) -> tuple[int, Any]:
        """POST /api/packages/filter_by_checksums/ (packagedb/api.py:418-501): per checksum value,
        the package with the earliest release_date (NULLs last; ties: lowest id)."""
        data = self.checksum_body(body, (*PACKAGE_CHECKSUMS, "enhance_package_data"))
        enhance = data.pop("enhance_package_data", False)
        if not data:
            raise ApiReply(400, {"status": "No values provided"})
        packages = self.server.index.packages
        chosen: set[int] = set()
        for field, values in data.items():
            wanted = set(values or [])
            for value in wanted:
                sharing = [n for n, p in enumerate(packages) if p.get(field) == value]
                if sharing:
                    chosen.add(
                        min(
                            sharing,
                            key=lambda n: (
                                packages[n].get("release_date") is None,
                                packages[n].get("release_date") or "",
                                n,
                            ),
                        )
                    )
        found = [packages[n] for n in sorted(chosen)]  # .order_by(): unordered upstream; id order here
        page = self.page(query, found)
        view = self.enhanced if enhance else self.package_view
        page["results"] = [view(p) for p in page["results"]]
        return 200, page

    def resource_list(self, query: Query, body: bytes) -> tuple[int, Any]:
        rows = self.filter_resources(query)
        return 200, self.page(query, [self.resource_view(p, r) for p, r in rows])

    def filter_resources(self, query: Query) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """ResourceFilterSet (packagedb/api.py:157-195): package (uuid), purl, md5, sha1."""
        rows = self.server.index.resources
        if value := query.get("package", [""])[-1]:  # PackageResourceUUIDFilter
            valid = UUID_RE.match(value)
            target = str(uuid.UUID(value)) if valid else None
            rows = [(p, r) for p, r in rows if p["uuid"] == target]
        if value := query.get("purl", [""])[-1]:  # PackageResourcePurlFilter
            lookups = purl_to_lookups(value)
            if lookups:  # an invalid purl does not filter at all
                hits = [p for p in self.server.index.packages if matches_lookups(p, lookups)]
                if len(hits) > 1:
                    raise server_error()  # Package.objects.get(): MultipleObjectsReturned is uncaught
                rows = [(p, r) for p, r in rows if hits and p is hits[0]]
        for name in RESOURCE_CHECKSUMS:
            values = query.get(name, [])
            if values and values != [""]:
                rows = [(p, r) for p, r in rows if r.get(name) in set(values)]
        return rows

    def resource_detail(self, query: Query, body: bytes, lookup: str) -> tuple[int, Any]:
        """``lookup_field = "sha1"`` (packagedb/api.py:203)."""
        hits = [(p, r) for p, r in self.server.index.resources if r.get("sha1") == lookup]
        if not hits:
            raise ApiReply(404, {"detail": "No Resource matches the given query."})
        if len(hits) > 1:
            raise server_error()  # .get(): MultipleObjectsReturned
        return 200, self.resource_view(*hits[0])

    def resource_checksums(self, query: Query, body: bytes) -> tuple[int, Any]:
        """POST /api/resources/filter_by_checksums/ (packagedb/api.py:205-273): every match."""
        data = self.checksum_body(body, RESOURCE_CHECKSUMS)
        if not data:
            raise ApiReply(400, {"status": "No values provided"})
        wanted = {field: set(values or []) for field, values in data.items()}
        rows = [
            (p, r) for p, r in self.server.index.resources if any(r.get(f) in values for f, values in wanted.items())
        ]
        page = self.page(query, rows)
        page["results"] = [self.resource_view(p, r) for p, r in page["results"]]
        return 200, page

    # -- validate ------------------------------------------------------------------------------------
    def validate(self, query: Query, body: bytes) -> tuple[int, Any]:
        """PurlValidateViewSet.list (packagedb/api.py:1124-1234). The spec's 200 for an invalid
        purl is wrong: the real view answers 400 with the full body (api.py:1188-1190)."""
        errors: dict[str, list[str]] = {}
        if "purl" not in query:
            errors["purl"] = ["This field is required."]
        elif query["purl"][-1] == "":
            errors["purl"] = ["This field may not be blank."]
        check = False
        if "check_existence" in query:
            raw = query["check_existence"][-1].lower()
            if raw in TRUE_VALUES:
                check = True
            elif raw not in FALSE_VALUES:
                errors["check_existence"] = ["Must be a valid boolean."]
        if errors:
            raise ApiReply(400, {"errors": errors})
        purl = query["purl"][-1]
        try:
            package_url = PackageURL.from_string(purl)
        except ValueError:
            body_ = {"valid": False, "exists": None, "message": "The provided PackageURL is not valid.", "purl": purl}
            raise ApiReply(400, body_) from None
        if not check:
            return 200, {"valid": True, "exists": None, "message": "The provided PackageURL is valid.", "purl": purl}
        lookups = purl_to_lookups(purl) or {}
        exists: bool | None = any(matches_lookups(p, lookups) for p in self.server.index.packages)
        unsupported = False
        if not exists:
            if package_url.type in EXISTENCE_TYPES:
                # "upstream" is the index: any version for a versionless purl, else that version
                versionless = PackageURL(package_url.type, package_url.namespace, package_url.name)
                name_lookups = purl_to_lookups(str(versionless)) or {}
                versions = {
                    text(p.get("version")) for p in self.server.index.packages if matches_lookups(p, name_lookups)
                }
                exists = bool(versions) and (not package_url.version or package_url.version in versions)
            else:
                unsupported = True
        if exists:
            message = "The provided Package URL is valid, and the package exists in the upstream repo."
        elif unsupported:
            exists = None
            message = "The provided PackageURL is valid, but `check_existence` is not supported for this package type."
        else:
            message = "The provided PackageURL is valid, but does not exist in the upstream repo."
        return 200, {"valid": True, "exists": exists, "message": message, "purl": purl}

    # -- to_purl / from_purl ---------------------------------------------------------------------------
    def to_purl_go(self, query: Query, body: bytes) -> tuple[int, Any]:
        """GolangPurlViewSet.list (packagedb/to_purl.py:48-66)."""
        if "go_package" not in query:
            raise ApiReply(400, {"errors": {"go_package": ["This field is required."]}})
        value = query["go_package"][-1].strip()  # CharField trims whitespace
        if not value:
            raise ApiReply(400, {"errors": {"go_package": ["This field may not be blank."]}})
        try:
            purl = get_golang_purl(value)
        except Exception:
            raise ApiReply(400, {"errors": "`@` is not supported either in import or go.mod string"}) from None
        return 200, {"package_url": str(purl)}

    def purl2git(self, query: Query, body: bytes) -> tuple[int, Any]:
        """FromPurlToGitRepoViewSet.list (packagedb/from_purl.py:37-55). The git lookup itself
        (purl2vcs ``get_source_repo``) needs the network: the sandbox answers a package's
        ``source_repo`` index field, else the real ``str(None)``."""
        if "package_url" not in query:
            raise ApiReply(400, {"errors": {"package_url": ["This field is required."]}})
        value = query["package_url"][-1].strip()
        if not value:
            raise ApiReply(400, {"errors": {"package_url": ["This field may not be blank."]}})
        lookups = purl_to_lookups(value)
        if lookups is None:
            raise server_error()  # filter(**None): TypeError (purl2vcs find_source_repo.py:491-492)
        hits = [p for p in self.server.index.packages if matches_lookups(p, lookups)]
        package = hits[0] if len(hits) == 1 else None
        if len(hits) > 1:
            plain = [p for p in hits if not p.get("qualifiers")]
            if len(plain) > 1:
                raise server_error()  # get_or_none(qualifiers=""): MultipleObjectsReturned
            package = plain[0] if plain else None
        if package is None:
            raise ApiReply(404, {"errors": f"{value} does not exist in this database"})
        return 200, {"git_repo": str(package.get("source_repo"))}

    # -- package sets and collect (not in a public setup) -----------------------------------------------
    def package_set_view(self, package_set: dict[str, Any]) -> dict[str, Any]:
        by_uuid = self.server.index.by_uuid
        return {
            "uuid": package_set["uuid"],
            "packages": [self.package_view(by_uuid[u]) for u in package_set["packages"]],
        }

    def package_set_list(self, query: Query, body: bytes) -> tuple[int, Any]:
        return 200, self.page(query, [self.package_set_view(s) for s in self.server.index.package_sets])

    def package_set_detail(self, query: Query, body: bytes, lookup: str) -> tuple[int, Any]:
        """PackageSetViewSet has the default ``pk`` lookup (packagedb/api.py:724-726): the set's
        integer id (1-based, index order), not its uuid; a non-integer is DRF's bare 404."""
        if not lookup.isdigit():
            raise ApiReply(404, {"detail": "Not found."})
        sets = self.server.index.package_sets
        if not 1 <= int(lookup) <= len(sets):
            raise ApiReply(404, {"detail": "No PackageSet matches the given query."})
        return 200, self.package_set_view(sets[int(lookup) - 1])

    def collect(self, query: Query, body: bytes) -> tuple[int, Any]:
        """CollectViewSet.list (packagedb/api.py:750-855): the loose purl lookup, sorted by
        ``-version``, as a plain list. The sandbox cannot fetch from upstream."""
        if "purl" not in query:
            raise ApiReply(400, {"errors": {"purl": ["This field is required."]}})
        purl = query["purl"][-1]
        if not purl:
            raise ApiReply(400, {"errors": {"purl": ["This field may not be blank."]}})
        try:
            PackageURL.from_string(purl)
        except ValueError as exc:
            raise ApiReply(400, {"errors": {"purl": [f"purl validation error: {exc}"]}}) from None
        lookups = purl_to_lookups(purl) or {}
        found = [p for p in self.server.index.packages if matches_lookups(p, lookups)]
        found.sort(key=lambda p: text(p.get("version")), reverse=True)
        if not found:
            raise ApiReply(
                400,
                {"status": f"error(s) occurred when fetching metadata for {purl}: the sandbox has no upstream access"},
            )
        return 200, [self.package_view(p) for p in found]

    # -- matching (matchcode/api.py) -------------------------------------------------------------------
    def get_project(self, lookup: str) -> dict[str, Any]:
        if not UUID_RE.match(lookup):
            raise ApiReply(404, {"detail": "Not found."})
        project = self.server.matching.projects.get(str(uuid.UUID(lookup)))
        if project is None:
            raise ApiReply(404, {"detail": "No Project matches the given query."})
        return project

    def matching_list(self, query: Query, body: bytes) -> tuple[int, Any]:
        projects = sorted(self.server.matching.projects.values(), key=lambda p: p["created"], reverse=True)
        return 200, self.page(query, [self.project_view(p, detail=False) for p in projects])

    def matching_detail(self, query: Query, body: bytes, lookup: str) -> tuple[int, Any]:
        return 200, self.project_view(self.get_project(lookup), detail=True)

    def matching_delete(self, query: Query, body: bytes, lookup: str) -> tuple[int, Any]:
        """DestroyModelMixin → ``Project.delete`` (SCIO:scanpipe/models.py:724-734), which first
        calls ``_raise_if_run_in_progress`` (models.py:826-835): a run with a ``task_id`` and no
        ``task_end_date`` (queued or running, ``queued_or_running``, models.py:2054-2056) raises
        RunInProgressError. Nothing handles it (packagedb/throttling.py:23-33 falls back to DRF's
        handler), so it is Django's 500 page, and ATOMIC_REQUESTS (purldb/settings.py:118) keeps
        the project. Delete (or stop) the run first."""
        project = self.get_project(lookup)
        matching = self.server.matching
        with matching.lock:
            run = matching.runs.get(project["run_uuid"] or "")
            if run is not None and self.run_state(run) in IN_PROGRESS_STATUSES:
                raise server_error()
            matching.projects.pop(project["uuid"], None)
            if project["run_uuid"]:
                matching.runs.pop(project["run_uuid"], None)
        return 204, None

    def matching_form(self, body: bytes) -> tuple[list[tuple[str, bytes]], list[str], str | None]:
        """(uploads, input_urls, webhook_url) from a multipart, form or JSON body."""
        content_type = self.headers.get("Content-Type") or ""
        uploads: list[tuple[str, bytes]] = []
        urls: list[str] = []
        webhook = None
        if "multipart/form-data" in content_type:
            message = BytesParser(policy=HTTP_POLICY).parsebytes(
                f"Content-Type: {content_type}\r\n\r\n".encode() + body
            )
            for part in message.iter_parts():
                name = part.get_param("name", header="content-disposition")
                payload = part.get_payload(decode=True) or b""
                if name == "upload_file" and part.get_filename():
                    uploads.append((part.get_filename() or "upload", payload))
                elif name == "input_urls":
                    urls.append(payload.decode())
                elif name == "webhook_url":
                    webhook = payload.decode()
        elif "application/json" in content_type:
            data = json.loads(body or b"{}")
            raw = data.get("input_urls") or []
            urls = [raw] if isinstance(raw, str) else [str(u) for u in raw]
            webhook = data.get("webhook_url")
        else:
            form = parse_qs(body.decode(), keep_blank_values=True)
            urls = form.get("input_urls", [])
            webhook = (form.get("webhook_url") or [None])[-1]
        # MatchingSerializer.validate_input_urls splits every entry on whitespace (api.py:422-424)
        return uploads, [u for entry in urls for u in entry.split()], webhook

    def matching_create(self, query: Query, body: bytes) -> tuple[int, Any]:
        """MatchingSerializer.create (matchcode/api.py:426-451): every field optional."""
        uploads, urls, _webhook = self.matching_form(body)
        inputs: list[dict[str, Any]] = []
        for filename, content in uploads:
            inputs.append({"filename": filename, "download_url": "", "is_uploaded": True, "content": content})
        errors = []
        for url in urls:  # fetch_urls runs synchronously; a failure is a 400 list body
            try:
                with urllib.request.urlopen(url, timeout=15) as response:  # noqa: S310
                    content = response.read()
                name = urlsplit(url).path.rsplit("/", 1)[-1] or "download"
                inputs.append({"filename": name, "download_url": url, "is_uploaded": False, "content": content})
            except Exception:
                errors.append(url)
        if errors:
            raise ApiReply(400, ["Could not fetch: " + "\n".join(errors)])
        project_uuid, run_uuid = str(uuid.uuid4()), str(uuid.uuid4())
        results, error = self.match(inputs)
        now = time.time()
        settings = self.server.settings
        for item in inputs:
            item["uuid"] = str(uuid.uuid4())
            item["size"] = len(item.pop("content"))
        with self.server.matching.lock:
            # every matching created takes one from each counted switch that is not at 0
            fail_next = int(settings.get("fail_next_matchings") or 0)
            stuck_next = int(settings.get("stuck_next_matchings") or 0)
            settings["fail_next_matchings"] = max(0, fail_next - 1)
            settings["stuck_next_matchings"] = max(0, stuck_next - 1)
            queue_seconds = float(settings["queue_seconds"])
            started = None if settings.get("stuck_queued") or stuck_next > 0 else now + queue_seconds
            project = {
                "uuid": project_uuid,
                "created": now,
                "inputs": inputs,
                "run_uuid": run_uuid,  # None once delete_pipeline removed the run
                "results": results,
            }
            self.server.matching.projects[project_uuid] = project
            self.server.matching.runs[run_uuid] = {
                "uuid": run_uuid,
                "project_uuid": project_uuid,
                "created": now,
                # the run's clock: task_id set (queued), task_start_date (None: stuck in the
                # queue for good), the pipeline's end; stop_pipeline sets stopped_at
                "queued_at": now + queue_seconds / 2,
                "started_at": started,
                "ended_at": None if started is None else started + float(settings["matching_seconds"]),
                "stopped_at": None,
                "failed": bool(error or settings.get("fail_matching") or fail_next > 0),
                "error": error or "MatchingError: matching failed (injected fault)",
            }
        view = self.project_view(project, detail=False)
        # serialized before ATOMIC_REQUESTS commits, so before on_commit(run.start) (matchcode/api.py:426-451)
        view["runs"] = [self.run_view(run_uuid, fresh=True)]
        return 201, view

    def match(self, inputs: list[dict[str, Any]]) -> tuple[dict[str, Any], str]:
        """Exact sha1 matching of the uploaded ScanCode JSON files to the index (the archive →
        package and file → resource steps of matchcode/pipelines/matching.py)."""
        if not inputs:
            return {"packages": [], "files": []}, (
                "Traceback (most recent call last):\n  ...\nException: No input files provided."
            )
        files_in: list[dict[str, Any]] = []
        for item in inputs:
            try:
                scan = json.loads(item["content"])
                files_in.extend(scan["files"])
            except (ValueError, KeyError, TypeError) as exc:
                return {"packages": [], "files": []}, (
                    "Traceback (most recent call last):\n  ...\n"
                    f"Exception: Input not supported: {item['filename']} is not a ScanCode JSON scan ({exc})"
                )
        by_sha1: dict[str, list[dict[str, Any]]] = {}
        for package, resource in self.server.index.resources:
            if resource.get("sha1"):
                by_sha1.setdefault(resource["sha1"], []).append(package)
        package_by_sha1: dict[str, list[dict[str, Any]]] = {}
        for package in self.server.index.packages:
            if package.get("sha1"):
                package_by_sha1.setdefault(package["sha1"], []).append(package)
        matched: dict[str, dict[str, Any]] = {}
        files = []
        for item in files_in:
            entry = {
                **json.loads(json.dumps(SCIO_FILE_DEFAULTS)),
                **{k: v for k, v in item.items() if k in SCIO_FILE_DEFAULTS},
            }
            entry["sha1_git"] = entry["sha1_git"] or item.get("git_sha1") or ""
            for key in ("md5", "sha1", "sha256", "sha512"):
                entry[key] = entry[key] or ""
            entry["for_packages"], entry["status"] = [], ""
            sha1 = item.get("sha1") or ""
            if item.get("type", "file") == "file" and sha1:
                hits, status = package_by_sha1.get(sha1), "matched-to-purldb-package"
                if not hits:
                    hits, status = by_sha1.get(sha1), "matched-to-purldb-resource"
                for package in hits or []:
                    matched.setdefault(package["package_uid"], package)
                    entry["for_packages"].append(package["package_uid"])
                if hits:
                    entry["status"] = status
            files.append(entry)
        packages = []
        for package in matched.values():
            out = {field: package.get(field) for field in SCIO_PACKAGE_FIELDS}
            for field in ("tag", "notes", "compliance_alert"):
                out[field] = ""
            out["is_private"] = out["is_virtual"] = False
            out["datasource_ids"] = [package["datasource_id"]] if package.get("datasource_id") else []
            for field in ("datafile_paths", "missing_resources", "modified_resources", "affected_by_vulnerabilities"):
                out[field] = []
            for field, default in (("parties", []), ("keywords", []), ("license_detections", []), ("extra_data", {})):
                out[field] = out[field] if out[field] is not None else default
            packages.append(out)
        return {"packages": packages, "files": files}, ""

    def matching_results(self, query: Query, body: bytes, lookup: str) -> tuple[int, Any]:
        """``project_results_json_response`` (matchcode/api.py:623-630): no run-status check,
        so the results are served in any state, partial while the run is not done."""
        project = self.get_project(lookup)
        runs = self.project_runs(project)
        status = runs[0]["status"] if runs else "not_started"  # no run: delete_pipeline took it
        results = project["results"]
        if status not in LOADED_STATUSES:
            files: list[dict[str, Any]] = []
            packages: list[dict[str, Any]] = []
        elif status == "success":
            files, packages = results["files"], results["packages"]
        else:  # running, stopped or failed: the inventory is loaded, no match recorded
            files = [{**f, "status": "", "for_packages": []} for f in results["files"]]
            packages = []
        header_runs = []
        for run in runs:  # scanpipe's RunSerializer without url and project (SCIO:scanpipe/pipes/output.py:234-235)
            rest = {k: v for k, v in run.items() if k not in ("url", "project")}
            header_runs.append(
                {
                    "pipeline_name": rest.pop("pipeline_name"),
                    "status": rest.pop("status"),
                    "description": rest.pop("description"),
                    "selected_groups": None,
                    "selected_steps": None,
                    **rest,
                }
            )
        headers = [
            {
                "tool_name": "scanpipe",
                "tool_version": SCANCODEIO_VERSION,
                "other_tools": [],
                "notice": SCIO_NOTICE,
                "uuid": project["uuid"],
                "created_date": self.stamp(project["created"]),
                "notes": "",
                "settings": {},
                "input_sources": self.input_sources(project),
                "runs": header_runs,
                "messages": [],
                "extra_data": {},
            }
        ]
        return 200, {"headers": headers, "packages": packages, "dependencies": [], "files": files, "relations": []}

    @staticmethod
    def stamp(moment: float) -> str:
        """DRF DateTimeField: ISO 8601 with microseconds, ``Z`` for UTC."""
        return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    @staticmethod
    def log_stamp(moment: float) -> str:
        return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]

    def run_state(self, run: dict[str, Any], now: float | None = None) -> str:
        """``AbstractTaskFieldsModel.status`` (SCIO:scanpipe/models.py:296-319) read off the
        run's clock: stopped (exit code 99) before anything else, then task_start_date
        (running, or success/failure once the pipeline's end has passed), then task_id (queued)."""
        moment = time.time() if now is None else now
        if run["stopped_at"] is not None:
            return "stopped"
        if moment < run["queued_at"]:
            return "not_started"
        if run["started_at"] is None or moment < run["started_at"]:
            return "queued"
        if moment < run["ended_at"]:
            return "running"
        return "failure" if run["failed"] else "success"

    def get_run(self, lookup: str) -> dict[str, Any]:
        """RunViewSet ``get_object`` (pk lookup): a non-UUID is DRF's bare 404."""
        if not UUID_RE.match(lookup):
            raise ApiReply(404, {"detail": "Not found."})
        run = self.server.matching.runs.get(str(uuid.UUID(lookup)))
        if run is None:
            raise ApiReply(404, {"detail": "No Run matches the given query."})
        return run

    def run_detail(self, query: Query, body: bytes, lookup: str) -> tuple[int, Any]:
        return 200, self.serialize_run(self.get_run(lookup))

    def run_action(self, query: Query, body: bytes, lookup: str, action: str) -> tuple[int, Any]:
        """RunViewSet's POST actions (SCIO:scanpipe/api/views.py:551-583 in scancodeio 38.0.0,
        unchanged in 38.2.0); refusals are ``ErrorResponse`` (views.py:69-78): 400 ``{"status": …}``.
        The run is handled as scanpipe does with ``SCANCODEIO_ASYNC`` on (an RQ job per run)."""
        matching = self.server.matching
        with matching.lock:
            run = self.get_run(lookup)
            now = time.time()
            status = self.run_state(run, now)
            if action == "start_pipeline":  # views.py:551-563: task_end_date, task_start_date, task_id in turn
                if status in DONE_STATUSES:
                    raise ApiReply(400, {"status": "Pipeline already executed."})
                if status == "running":
                    raise ApiReply(400, {"status": "Pipeline already started."})
                if status == "queued":
                    raise ApiReply(400, {"status": "Pipeline already queued."})
                # on_commit(run.start) → execute_task_async: enqueued, set_task_queued (models.py:2111-2147);
                # the job is then taken on the run's own clock (or never, for a stuck run)
                run["queued_at"] = now
                return 200, {"status": f"Pipeline {MATCHING_PIPELINE} started."}
            if action == "stop_pipeline":  # views.py:565-573
                if status != "running":
                    raise ApiReply(400, {"status": "Pipeline is not running."})
                # stop_task (models.py:385-409): "Stop task requested" logged, the job stopped,
                # set_task_stopped: exit code 99, task_end_date now; the project and its inventory stay
                run["stopped_at"] = now
                return 200, {"status": f"Pipeline {MATCHING_PIPELINE} stopped."}
            # delete_pipeline (views.py:575-583): delete_task deletes the job and the Run itself
            # (models.py:411-419); the project stays, with no run
            if status not in ("not_started", "queued"):
                raise ApiReply(400, {"status": "Only non started or queued pipelines can be deleted."})
            matching.runs.pop(run["uuid"], None)
            project = matching.projects.get(run["project_uuid"])
            if project is not None and project["run_uuid"] == run["uuid"]:
                project["run_uuid"] = None
            return 200, {"status": f"Pipeline {MATCHING_PIPELINE} deleted."}

    def run_view(self, run_uuid: str, *, fresh: bool = False) -> dict[str, Any]:
        run = self.server.matching.runs.get(run_uuid)
        if run is None:
            raise ApiReply(404, {"detail": "No Run matches the given query."})
        return self.serialize_run(run, fresh=fresh)

    def serialize_run(self, run: dict[str, Any], *, fresh: bool = False) -> dict[str, Any]:
        """RunSerializer (matchcode/api.py:307-334). ``fresh``: as serialized right after
        ``add_pipeline``, before any task field is set."""
        run_uuid = run["uuid"]
        status = "not_started" if fresh else self.run_state(run)
        started = run["started_at"]
        ended = run["stopped_at"] if status == "stopped" else run["ended_at"]
        loaded = status in LOADED_STATUSES  # task_start_date set
        done = status in DONE_STATUSES  # task_end_date set
        log_lines = []
        if loaded:
            log_lines.append(f"{self.log_stamp(started)} Pipeline [{MATCHING_PIPELINE}] starting")
            if status in ("success", "failure"):
                for step in MATCHING_STEPS:
                    log_lines.append(f"{self.log_stamp(started)} Step [{step}] starting")
                    log_lines.append(f"{self.log_stamp(ended)} Step [{step}] completed in 0 seconds")
            else:  # running, or stopped while running: the second step is under way
                first, second = MATCHING_STEPS[:2]
                log_lines.append(f"{self.log_stamp(started)} Step [{first}] starting")
                log_lines.append(f"{self.log_stamp(started)} Step [{first}] completed in 0 seconds")
                log_lines.append(f"{self.log_stamp(started)} Step [{second}] starting")
            if status == "success":
                log_lines.append(f"{self.log_stamp(ended)} Pipeline completed")
            if status == "stopped":
                log_lines.append("Stop task requested")  # append_to_log, no timestamp (models.py:387)
        exitcodes = {"success": 0, "failure": 1, "stopped": 99}  # set_task_stopped: 99 (models.py:381-383)
        return {
            "url": f"{self.base}/api/runs/{run_uuid}/",
            "pipeline_name": MATCHING_PIPELINE,
            "status": status,
            "description": MATCHING_DESCRIPTION,
            # upstream bug kept on purpose: the project link uses api:run-detail (matchcode/api.py:308)
            "project": f"{self.base}/api/runs/{run['project_uuid']}/",
            "uuid": run_uuid,
            "created_date": self.stamp(run["created"]),
            # set_scancodeio_version runs when the task starts (SCIO:scanpipe/tasks.py:55-63)
            "scancodeio_version": SCANCODEIO_VERSION if loaded else "",
            "task_id": run_uuid if status != "not_started" else None,
            "task_start_date": self.stamp(started) if loaded else None,
            "task_end_date": self.stamp(ended) if done else None,
            "task_exitcode": exitcodes[status] if done else None,
            "task_output": run["error"] if status == "failure" else "",
            "log": "\n".join(log_lines),
            # int((task_end_date - task_start_date).total_seconds()) (models.py:321-327)
            "execution_time": int(ended - started) if done else None,
        }

    def project_runs(self, project: dict[str, Any]) -> list[dict[str, Any]]:
        """The project's runs: its matching run, or none once delete_pipeline removed it."""
        run = self.server.matching.runs.get(project["run_uuid"] or "")
        return [self.serialize_run(run)] if run is not None else []

    def input_sources(self, project: dict[str, Any]) -> list[dict[str, Any]]:
        """InputSourceSerializer items (matchcode test_api.py:109-127)."""
        return [
            {
                "filename": item["filename"],
                "download_url": item["download_url"],
                "is_uploaded": item["is_uploaded"],
                "tag": "",
                "exists": True,
                "uuid": item["uuid"],
            }
            for item in project["inputs"]
        ]

    def project_view(self, project: dict[str, Any], *, detail: bool) -> dict[str, Any]:
        """MatchingSerializer (matchcode/api.py:341-395); the counts and summaries are
        ``exclude_from_list_view``, so list and create answers lack them."""
        view: dict[str, Any] = {
            "url": f"{self.base}/api/matching/{project['uuid']}/",
            "uuid": project["uuid"],
            "created_date": self.stamp(project["created"]),
            "input_sources": self.input_sources(project),
            "runs": self.project_runs(project),
        }
        if not detail:
            return view
        status = view["runs"][0]["status"] if view["runs"] else "not_started"
        results = project["results"]
        files = results["files"] if status in LOADED_STATUSES else []
        packages = results["packages"] if status == "success" else []
        statuses: dict[str, int] = {}
        for item in files:
            key = item["status"] if status == "success" else ""
            statuses[key] = statuses.get(key, 0) + 1
        # the counts are stored fields that Project.update_counts() sets once the pipeline has
        # returned (SCIO:scanpipe/pipelines/__init__.py:234-238, models.py:1520-1528): 0 while
        # it runs and after a stop; the summaries are live queries
        counted = status in ("success", "failure")
        return {
            **view,
            "resource_count": len(files) if counted else 0,
            "package_count": len(packages) if counted else 0,
            "dependency_count": 0,
            "relation_count": 0,
            "codebase_resources_summary": dict(sorted(statuses.items())),
            "discovered_packages_summary": {
                "total": len(packages),
                "with_missing_resources": 0,
                "with_modified_resources": 0,
            },
            "discovered_dependencies_summary": {"total": 0, "is_runtime": 0, "is_optional": 0, "is_pinned": 0},
            "codebase_relations_summary": {},
        }
