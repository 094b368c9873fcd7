"""A pure FossID Workbench client (no Airflow import).

Every call is ``POST {base}/api.php`` with ``{"group", "action", "data": {"username", "key", …}}``;
errors come back as HTTP 200 with ``status "0"``. This client turns those into typed errors
that carry the server's ``error`` code and message — and never the key, which travels in the
body and is kept out of every message and log line. Uploads use the same endpoint with
``FOSSID-SCAN-CODE``/``FOSSID-FILE-NAME`` headers, Basic auth and a raw (optionally chunked) body.
"""

from __future__ import annotations

import base64
import functools
import itertools
import json
import logging
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import requests

from sca.common.errors import AuthenticationError, NotFoundError, PermanentServiceError, TransientServiceError
from sca.common.retry import RetryPolicy, act_once
from sca.common.transport import AsyncHttpTransport, HttpTransport
from sca.fossid.status import CHECK_TYPES, CheckStatus, parse_check_status

log = logging.getLogger(__name__)

SERVICE = "FossID"
AUTH_ERRORS = {"Classes.FossID.user_not_found_or_api_key_is_not_correct"}
NOT_FOUND_ERRORS = {
    "Classes.TableRepository.row_not_found",
    "Project does not exist",
    "Scan not found",
    "Project code does not exist",
}
REPORT_TYPES = ("html", "xlsx", "spdx", "spdx_lite", "cyclone_dx", "string_match", "dynamic_top_matched_components")
SYNC_ONLY_REPORTS = ("html", "string_match", "dynamic_top_matched_components")
# Report types by server version (ORT clients/fossid-webapp/src/main/kotlin/model/report/Model.kt
# ~L24-29): before 24.2 the same types plus "dynamic" and "basic", which 24.2 removed.
LEGACY_REPORT_TYPES = ("dynamic", "basic")


def version_tuple(version: str) -> tuple[int, ...]:
    """``"24.2.1"`` → ``(2024, 2, 1)``: Workbench numbered its releases 2020.1, 2021.2, then 22.x …
    26.x; the two-digit years are read as 20YY so both kinds compare (workbench-agent CE compares
    with "2026.1.0", api/services/results_service.py:22)."""
    parts = [int(part) for part in re.findall(r"\d+", version)[:3]]
    if parts and parts[0] < 100:
        parts[0] += 2000
    return tuple(parts)


NUI_SINCE = (2026, 1)  # Workbench 2026.1 moved scan pages to /nui/ (workbench-agent CE results_service.py:22)


def scan_ui_url(base_url: str, scan_id: int | str, server_version: str | None = None) -> str:
    """The scan's page in Workbench's UI: ``/nui/scans/<id>/audit/all`` from 2026.1, else the
    ``index.html?form=main_interface&action=scanview&sid=<id>`` page (workbench-agent CE
    api/services/results_service.py:74-95)."""
    base = base_url.rstrip("/").removesuffix("/api.php")
    if server_version and version_tuple(server_version) >= NUI_SINCE:
        return f"{base}/nui/scans/{scan_id}/audit/all"
    return f"{base}/index.html?form=main_interface&action=scanview&sid={scan_id}"


def check_report_type(report_type: str, server_version: str | None = None) -> None:
    """Refuse a report type this server cannot make, naming the version that has it."""
    known = (*REPORT_TYPES, *LEGACY_REPORT_TYPES)
    if report_type not in known:
        raise ValueError(f"unknown FossID report type {report_type!r}; Workbench has {known}")
    if server_version is None:
        if report_type in LEGACY_REPORT_TYPES:
            raise ValueError(f"FossID report type {report_type!r} exists before Workbench 24.2 only: give the version")
        return
    if version_tuple(server_version) >= (2024, 2) and report_type in LEGACY_REPORT_TYPES:
        raise ValueError(f"FossID {server_version} has no {report_type!r} reports (removed in Workbench 24.2)")


CHUNK_THRESHOLD = 8 * 1024 * 1024
CHUNK_SIZE = 5 * 1024 * 1024


class FossIDError(PermanentServiceError):
    """A ``status "0"`` reply: ``error`` is Workbench's code, ``issues`` its per-field list."""

    def __init__(self, message: str, *, error: str, action: str, issues: Any = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.error = error
        self.action = action
        self.issues = issues


class FossIDAuthenticationError(FossIDError, AuthenticationError):
    pass


class FossIDNotFoundError(FossIDError, NotFoundError):
    pass


def api_url(base_url: str) -> str:
    base = base_url.rstrip("/")
    return base if base.endswith("/api.php") else base + "/api.php"


def envelope_data(reply: Any, *, group: str, action: str, url: str, username: str) -> Any:
    """``data`` of a success envelope, or the typed error of a ``status "0"`` one."""
    if not isinstance(reply, dict) or "status" not in reply:
        raise PermanentServiceError(
            f"FossID {group}/{action} at {url}: not a Workbench reply: {str(reply)[:200]}", service=SERVICE, url=url
        )
    if str(reply["status"]) == "1":
        return reply.get("data")
    error = str(reply.get("error") or "")
    issues = reply.get("data") if isinstance(reply.get("data"), list) else None
    details = "; ".join(str(i.get("message")) for i in issues or [] if isinstance(i, dict))
    text = f"FossID {group}/{action} at {url} failed: {reply.get('message') or error} [{error}]"
    if details:
        text += f": {details}"
    if error in AUTH_ERRORS:
        text += (
            f". User {username!r}: the user is unknown, the API key is wrong, or the key has expired "
            "(Workbench 26.1+ rejects keys older than webapp_api_key_valability days; renew it with "
            "users/renew_api_key)"
        )
        raise FossIDAuthenticationError(
            text, error=error, action=f"{group}/{action}", issues=issues, service=SERVICE, url=url, detail=error
        )
    cls = FossIDNotFoundError if error in NOT_FOUND_ERRORS else FossIDError
    raise cls(
        text,
        error=error,
        action=f"{group}/{action}",
        issues=issues,
        service=SERVICE,
        url=url,
        detail=reply.get("message_parameters"),
    )


def is_read_action(action: str) -> bool:
    """Workbench actions that only read (get_*, list_*, check_status, getConfig): retried like
    GETs. (Not even a removal is repeatable: removing a file that is gone is an error.)"""
    return action.startswith(("get", "list", "check_status"))


def workbench_error_in(head: bytes) -> dict[str, Any] | None:
    """The Workbench envelope in the first bytes of a "file", when that is what they are: a JSON
    object with ``operation`` and ``status`` (a report never has both at its top level)."""
    text = head.lstrip()
    if not text.startswith(b"{") or len(head) >= 1024 * 1024:
        return None
    try:
        reply = json.loads(head)
    except ValueError:
        return None
    if isinstance(reply, dict) and "status" in reply and ("operation" in reply or "error" in reply):
        return reply
    return None


def as_rows(data: Any) -> list[dict[str, Any]]:
    """Workbench lists come as ``false``, a list, or a dict keyed by id: always a list here."""
    if not data:
        return []
    if isinstance(data, dict):
        return [row if isinstance(row, dict) else {"id": key, "value": row} for key, row in data.items()]
    return list(data)


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


class FossIDClient:
    def __init__(
        self,
        base_url: str,
        username: str,
        api_key: str,
        *,
        timeout: float = 1800.0,
        retry: RetryPolicy | None = None,
        transport: HttpTransport | None = None,
    ) -> None:
        self.url = api_url(base_url)
        self.base_url = self.url.removesuffix("/api.php")
        self.username = username
        self._key = api_key
        self.http = transport or HttpTransport(
            self.url, service=SERVICE, timeout=timeout, retry=retry, headers={"Accept": "*/*"}
        )

    def __repr__(self) -> str:
        return f"FossIDClient({self.base_url!r}, user={self.username!r})"

    # -- transport -----------------------------------------------------------------------------
    def _body(self, group: str, action: str, data: dict[str, Any]) -> dict[str, Any]:
        clean = {k: v for k, v in data.items() if v is not None}
        return {"group": group, "action": action, "data": {"username": self.username, "key": self._key, **clean}}

    def call(self, group: str, action: str, **data: Any) -> Any:
        """One API call. Every call is a POST; the ones that only read are retried like GETs."""
        response = self.http.request(
            "POST", self.url, json=self._body(group, action, data), idempotent=is_read_action(action)
        )
        try:
            reply = response.json()
        except ValueError:
            reply = response.text
        return envelope_data(reply, group=group, action=action, url=self.url, username=self.username)

    def call_for_file(self, group: str, action: str, destination: Path, **data: Any) -> Path:
        """Actions that answer a file (sync reports, download_report). A Workbench error envelope
        in place of the file raises, whatever its content type: older servers send every JSON as
        text/html, so the body itself is looked at, not the header."""
        from sca.common.files import write_stream_atomically

        # a download, or a synchronous report rendered on request: nothing is created, safe to
        # repeat, so a body that breaks off mid-stream is fetched again whole
        def attempt() -> Path:
            response = self.http.request(
                "POST", self.url, json=self._body(group, action, data), stream=True, idempotent=True
            )
            with response:
                try:
                    chunks = response.iter_content(1024 * 1024)
                    first = next(chunks, b"")
                    error = workbench_error_in(first)
                    if error is not None:
                        envelope_data(error, group=group, action=action, url=self.url, username=self.username)
                        raise PermanentServiceError(
                            f"FossID {group}/{action} answered a reply, not a file", service=SERVICE
                        )
                    write_stream_atomically(itertools.chain([first], chunks), destination)
                except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
                    raise TransientServiceError(
                        f"FossID {group}/{action} at {self.url}: the file broke off mid-stream ({exc})",
                        service=SERVICE,
                        url=self.url,
                    ) from exc
            return destination

        return self.http.retry.call(
            attempt, retry_if=lambda error: isinstance(error, TransientServiceError), sleep=self.http.sleep
        )

    # -- server ----------------------------------------------------------------------------------
    def version(self) -> str:
        """The Workbench version: ``internal/getConfig``, else the login page's ``fossid.css?v=``."""
        try:
            return str(self.call("internal", "getConfig")["version"])
        except AuthenticationError:
            raise
        except (PermanentServiceError, KeyError, TypeError):  # an error, or not a Workbench envelope
            page = self.http.request("GET", f"{self.base_url}/index.php", params={"form": "login"}).text
            match = re.search(r"fossid\.css\?v=([0-9.]+)", page)
            if not match:
                raise PermanentServiceError(
                    f"FossID at {self.base_url}: no version on the login page", service=SERVICE
                ) from None
            return match.group(1)

    # -- projects --------------------------------------------------------------------------------
    def get_project(self, project_code: str) -> dict[str, Any] | None:
        try:
            return dict(self.call("projects", "get_information", project_code=project_code))
        except FossIDNotFoundError:
            return None

    def _create_or_find(self, create: Callable[[], Any], find: Callable[[], dict[str, Any] | None]) -> dict[str, Any]:
        """A create is not repeated blindly: after a transient failure, look the object up first
        (the server may have made it before the failure) and send the create again only if it
        is not there."""
        return act_once(
            self.http.retry,
            lambda: dict(create() or {}),
            find,
            is_transient=lambda error: isinstance(error, TransientServiceError),
            sleep=self.http.sleep,
            what="a FossID create",
        )

    def create_project(self, project_code: str, project_name: str, description: str = "") -> dict[str, Any]:
        return self._create_or_find(
            lambda: self.call(
                "projects", "create", project_code=project_code, project_name=project_name, description=description
            ),
            lambda: self.get_project(project_code),
        )

    def list_projects(self) -> list[dict[str, Any]]:
        return as_rows(self.call("projects", "list_projects"))

    def get_all_scans(self, project_code: str) -> list[dict[str, Any]]:
        return as_rows(self.call("projects", "get_all_scans", project_code=project_code))

    def project_policy_warnings(self, project_code: str, warning_type: str | None = None) -> dict[str, Any]:
        return dict(self.call("projects", "get_policy_warnings_info", project_code=project_code, type=warning_type))

    def generate_project_report(self, project_code: str, report_type: str, **options: Any) -> str:
        data = self.call(
            "projects",
            "generate_report",
            project_code=project_code,
            report_type=report_type,
            **{"async": "1"},
            **options,
        )
        return str(data["process_queue_id"])

    def project_check_status(self, process_id: str) -> CheckStatus:
        return parse_check_status(
            self.call("projects", "check_status", process_id=str(process_id), type="REPORT_GENERATION")
        )

    # -- scans -------------------------------------------------------------------------------------
    def get_scan(self, scan_code: str) -> dict[str, Any] | None:
        try:
            return dict(self.call("scans", "get_information", scan_code=scan_code))
        except FossIDNotFoundError:
            return None

    def create_scan(
        self,
        project_code: str,
        scan_code: str,
        scan_name: str | None = None,
        description: str = "",
        target_path: str | None = None,
    ) -> dict[str, Any]:
        return self._create_or_find(
            lambda: self.call(
                "scans",
                "create",
                project_code=project_code,
                scan_code=scan_code,
                scan_name=scan_name or scan_code,
                description=description,
                target_path=target_path,
            ),
            lambda: self.get_scan(scan_code),
        )

    def remove_uploaded_content(self, scan_code: str, filename: str | None = None) -> bool:
        return bool(self.call("scans", "remove_uploaded_content", scan_code=scan_code, filename=filename))

    def remove_upload_once(self, scan_code: str, filename: str) -> None:
        """Remove one uploaded file; after a lost answer, the scan's file list says if it is gone."""

        def gone() -> bool | None:
            return True if filename not in ((self.get_scan(scan_code) or {}).get("uploaded_files") or []) else None

        act_once(
            self.http.retry,
            lambda: self.remove_uploaded_content(scan_code, filename),
            gone,
            is_transient=lambda error: isinstance(error, TransientServiceError),
            sleep=self.http.sleep,
            what=f"removing {filename} from FossID scan {scan_code}",
        )

    def upload(
        self, scan_code: str, path: Path, *, chunk_threshold: int = CHUNK_THRESHOLD, chunk_size: int = CHUNK_SIZE
    ) -> int:
        """Upload a file; above ``chunk_threshold`` in ``chunk_size`` appends. Returns requests made.

        Appends are not idempotent: a chunk that failed after reaching the server may have been
        stored, so it is never sent again on its own. A transient failure mid-upload removes what
        the scan holds under this name and uploads the whole file again (bounded by the retry
        policy); only a chunk that never reached the server (refused, 429) is resent, rebuilt
        from its bytes."""
        attempts = 0

        def whole_upload() -> int:
            nonlocal attempts
            attempts += 1
            if attempts > 1:
                held = (self.get_scan(scan_code) or {}).get("uploaded_files") or []
                log.warning(
                    "FossID upload of %s to %s broke off (the scan holds %s): uploading it again",
                    path.name,
                    scan_code,
                    ", ".join(map(str, held)) or "nothing",
                )
                if path.name in held:  # removing a file that is not there is an error in Workbench
                    self.remove_upload_once(scan_code, path.name)
            return self._upload_once(scan_code, path, chunk_threshold, chunk_size)

        return self.http.retry.call(
            whole_upload, retry_if=lambda error: isinstance(error, TransientServiceError), sleep=self.http.sleep
        )

    def _upload_once(self, scan_code: str, path: Path, chunk_threshold: int, chunk_size: int) -> int:
        auth = base64.b64encode(f"{self.username}:{self._key}".encode()).decode()
        headers = {
            "FOSSID-SCAN-CODE": _b64(scan_code),
            "FOSSID-FILE-NAME": _b64(path.name),
            "Authorization": f"Basic {auth}",
            "Content-Type": "application/octet-stream",
        }
        size = path.stat().st_size
        requests_made = 0
        with open(path, "rb") as handle:
            if size <= chunk_threshold:
                chunks: Iterator[bytes] = iter([handle.read()])
            else:
                chunks = iter(lambda: handle.read(chunk_size), b"")
            for chunk in chunks:
                body = functools.partial(_one_chunk, chunk) if size > chunk_threshold else chunk
                reply = self.http.request_json("POST", self.url, data=body, headers=headers)
                envelope_data(reply, group="upload", action=path.name, url=self.url, username=self.username)
                requests_made += 1
        return requests_made

    def extract_archives(
        self, scan_code: str, filename: str | None = None, *, recursive: bool = True, jar_extraction: bool = False
    ) -> bool:
        return bool(
            self.call(
                "scans",
                "extract_archives",
                scan_code=scan_code,
                filename=filename,
                recursively_extract_archives="1" if recursive else "0",
                jar_file_extraction="1" if jar_extraction else "0",
            )
        )

    def run_scan(self, scan_code: str, **options: Any) -> None:
        """Start a scan. Options as Workbench takes them (limit, sensitivity, auto_identification_*,
        delta_only, reuse_identification, identification_reuse_type, specific_code, …); booleans are
        sent as "1"/"0"."""
        values = {k: ("1" if v else "0") if isinstance(v, bool) else v for k, v in options.items()}
        self.call("scans", "run", scan_code=scan_code, **values)

    def check_status(
        self, scan_code: str | None, status_type: str = "SCAN", process_id: str | None = None
    ) -> CheckStatus:
        if status_type not in CHECK_TYPES:
            raise ValueError(f"status_type must be one of {CHECK_TYPES}, not {status_type!r}")
        return parse_check_status(
            self.call(
                "scans",
                "check_status",
                scan_code=scan_code,
                type=status_type,
                process_id=str(process_id) if process_id else None,
            )
        )

    def run_dependency_analysis(self, scan_code: str, import_only: bool = False) -> None:
        self.call("scans", "run_dependency_analysis", scan_code=scan_code, import_only="1" if import_only else "0")

    def get_dependency_analysis_results(self, scan_code: str) -> list[dict[str, Any]]:
        return as_rows(self.call("scans", "get_dependency_analysis_results", scan_code=scan_code))

    def get_pending_files(self, scan_code: str) -> dict[str, str]:
        data = self.call("scans", "get_pending_files", scan_code=scan_code)
        return {str(k): str(v) for k, v in (data or {}).items()} if isinstance(data, dict) else {}

    def get_identified_files(self, scan_code: str) -> list[dict[str, Any]]:
        return as_rows(self.call("scans", "get_identified_files", scan_code=scan_code))

    def get_identified_licenses(self, scan_code: str) -> list[dict[str, Any]]:
        return as_rows(self.call("scans", "get_scan_identified_licenses", scan_code=scan_code, unique="1"))

    def get_policy_warnings_counter(self, scan_code: str) -> dict[str, Any]:
        return dict(self.call("scans", "get_policy_warnings_counter", scan_code=scan_code))

    def generate_report(
        self, scan_code: str, report_type: str, *, server_version: str | None = None, **options: Any
    ) -> str:
        """Start an asynchronous scan report; returns its process id. ``server_version`` allows the
        pre-24.2 types (dynamic, basic) on servers that have them."""
        check_report_type(report_type, server_version)
        if report_type in SYNC_ONLY_REPORTS:
            raise ValueError(f"{report_type} reports are synchronous: use download_sync_report")
        data = self.call(
            "scans", "generate_report", scan_code=scan_code, report_type=report_type, **{"async": "1"}, **options
        )
        return str(data["process_queue_id"])

    def download_sync_report(self, scan_code: str, report_type: str, destination: Path, **options: Any) -> Path:
        return self.call_for_file(
            "scans",
            "generate_report",
            destination,
            scan_code=scan_code,
            report_type=report_type,
            **{"async": "0"},
            **options,
        )

    def download_report(self, entity: str, process_id: str, destination: Path) -> Path:
        """``download/download_report`` for ``scans`` or ``projects``; streamed to ``destination``."""
        if entity not in ("scans", "projects"):
            raise ValueError("entity must be 'scans' or 'projects'")
        return self.call_for_file(
            "download", "download_report", destination, report_entity=entity, process_id=str(process_id)
        )

    def cancel_run(self, scan_code: str) -> None:
        """``scans/cancel_run``: stop a queued or running scan."""
        self.call("scans", "cancel_run", scan_code=scan_code)

    def delete_scan(self, scan_code: str, delete_identifications: bool = True) -> str | None:
        data = self.call(
            "scans", "delete", scan_code=scan_code, delete_identifications="1" if delete_identifications else "0"
        )
        return str(data["process_id"]) if isinstance(data, dict) and "process_id" in data else None


def _one_chunk(chunk: bytes) -> Iterator[bytes]:
    """A generator body makes requests send ``Transfer-Encoding: chunked`` (no Content-Length)."""
    yield chunk


class AsyncFossIDClient:
    """check_status over aiohttp, for the triggerer."""

    def __init__(
        self, base_url: str, username: str, api_key: str, *, timeout: float = 60.0, retry: RetryPolicy | None = None
    ) -> None:
        self.url = api_url(base_url)
        self.username = username
        self._key = api_key
        self.http = AsyncHttpTransport(self.url, service=SERVICE, timeout=timeout, retry=retry)

    async def cancel_run(self, scan_code: str) -> Any:
        """``scans/cancel_run``: stop a queued or running scan (as the agents expose it)."""
        data = {"username": self.username, "key": self._key, "scan_code": scan_code}
        reply = await self.http.post_json(self.url, {"group": "scans", "action": "cancel_run", "data": data})
        return envelope_data(reply, group="scans", action="cancel_run", url=self.url, username=self.username)

    async def check_status(
        self, scan_code: str | None, status_type: str = "SCAN", process_id: str | None = None, entity: str = "scans"
    ) -> CheckStatus:
        data: dict[str, Any] = {"username": self.username, "key": self._key, "type": status_type}
        if scan_code:
            data["scan_code"] = scan_code
        if process_id:
            data["process_id"] = str(process_id)
        reply = await self.http.post_json(
            self.url, {"group": entity, "action": "check_status", "data": data}, idempotent=True
        )
        return parse_check_status(
            envelope_data(reply, group=entity, action="check_status", url=self.url, username=self.username)
        )
