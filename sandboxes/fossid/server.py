"""The Workbench HTTP surface: ``POST /api.php`` (JSON group/action, or an upload when the
``FOSSID-SCAN-CODE`` header is present), ``GET /index.php?form=login`` with the version string.

Replies follow the documented envelope: HTTP 200 with ``status "1"`` and ``data``, or
``status "0"`` with ``error``, ``message``, ``message_parameters`` and ``data`` (a list of
``{code, message, message_parameters}`` for request-parsing issues). Empty lists are ``false``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import sys
import time
import traceback
from collections import Counter
from collections.abc import Callable
from typing import Any

from sandboxes.common.server import Faults, SandboxHandler, SandboxServer
from sandboxes.fossid.detect import ADVISORIES
from sandboxes.fossid.reports import (
    NOTICE_TYPES,
    REPORT_TYPES,
    SCAN_ONLY_REPORTS,
    render,
    render_notice,
    report_types_for,
)
from sandboxes.fossid.state import Project, Scan, User, Workbench, now_text

AUTH_ERROR = "Classes.FossID.user_not_found_or_api_key_is_not_correct"
PARSE_ERROR = "RequestData.Base.issues_while_parsing_request"
CHECK_TYPES = (
    "SCAN",
    "EXTRACT_ARCHIVES",
    "DEPENDENCY_ANALYSIS",
    "REPORT_GENERATION",
    "DELETE_SCAN",
    "REPORT_IMPORT",
    *NOTICE_TYPES,  # workbench-agent CE api/services/status_check_service.py:581-645
)
# Notice types by the version that added them (API change log: 24.3 "New notice file: component
# level", 25.1 "New notice file: aggregate level"; NOTICE_EXTRACT_FILE is the older default).
NOTICE_SINCE = {"NOTICE_EXTRACT_FILE": (0,), "NOTICE_EXTRACT_COMPONENT": (24, 3), "NOTICE_EXTRACT_AGGREGATE": (25, 1)}
RECORDS_PER_PAGE = 100  # workbench-agent CE api/clients/vulnerabilities_api.py:85-86 (the default)
# A cancelled process reports status FAILED with "The process was cancelled" in info and comment
# (workbench-agent CE tests/unit/utilities/test_scan_workflows.py:201-220, and the docstring of
# utilities/scan_workflows.py:97-101: "API responses that report cancellation as FAILED with
# cancellation text in the payload"); Workbench's own status list has no CANCELLED (workbench-agent
# workbench-agent.py:642-648, ORT model/status/ScanStatus.kt). The ``cancel_status`` switch can
# make it CANCELLED, the other word clients accept (CE api/services/status_check_service.py:205-206).
CANCELLED_TEXT = "The process was cancelled"
# An exception no handler expected: answered as a Workbench error envelope with HTTP 200, the way
# Workbench answers every error (notes b.1), so a client reads the cause at once instead of a
# dropped connection or a 5xx it would retry. The code is the sandbox's own, not Workbench's.
UNEXPECTED_ERROR = "Sandbox.unexpected_exception"


class ApiError(Exception):
    def __init__(self, error: str, message: str, data: Any = ..., parameters: Any = None) -> None:
        super().__init__(message)
        self.error, self.message = error, message
        self.data = [] if data is ... else data  # an explicit None answers ``data: null``
        self.parameters = [] if parameters is None else parameters


def field_issue(code: str, message: str, fieldname: str, **extra: Any) -> ApiError:
    return ApiError(
        PARSE_ERROR,
        "These issues were found while parsing the request:",
        [{"code": code, "message": message, "message_parameters": {"fieldname": fieldname, **extra}}],
    )


def required(data: dict[str, Any], *names: str) -> list[Any]:
    missing = [n for n in names if data.get(n) in (None, "")]
    if missing:
        raise ApiError(
            PARSE_ERROR,
            "These issues were found while parsing the request:",
            [
                {
                    "code": "RequestData.Base.mandatory_field_missing",
                    "message": f"Field {n} is mandatory.",
                    "message_parameters": {"fieldname": n},
                }
                for n in missing
            ],
        )
    return [data[n] for n in names]


def flag(value: Any) -> bool:
    """Workbench clients send "1"/"0", 1/0, true/false and "true"/"false"."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes")
    return bool(value)


def listing(rows: list[Any]) -> Any:
    return rows if rows else False


class Api:
    """group/action handlers over one Workbench state."""

    def __init__(self, wb: Workbench) -> None:
        self.wb = wb

    @property
    def version(self) -> tuple[int, ...]:
        """The advertised version as numbers; the year-based 2020.x/2021.x become 20.x/21.x."""
        parts = [int(x) for x in re.findall(r"\d+", self.wb.version)[:3]] or [0]
        if parts[0] >= 2000:
            parts[0] -= 2000
        return tuple(parts)

    def action_not_found(self, group: str, action: str) -> ApiError:
        return ApiError("RequestData.Base.action_not_found", f"Action {group}->{action} does not exist.")

    @property
    def modern(self) -> bool:
        """2021.2 and later (and the year-less 22.x … 26.x) use the typed check_status shape."""
        major, minor = (int(x) for x in (re.findall(r"\d+", self.wb.version) + ["0", "0"])[:2])
        return major < 2000 or (major, minor) >= (2021, 2)

    # -- lookups -------------------------------------------------------------------------------
    def project(self, code: str) -> Project:
        project = self.wb.projects.get(code)
        if project is None:
            raise ApiError(
                "Classes.TableRepository.row_not_found",
                f"Row {code} in table projects not found",
                parameters={"rowidentifier": code, "table": "projects"},
            )
        return project

    def scan(self, code: str) -> Scan:
        scan = self.wb.scans.get(code)
        if scan is None:
            raise ApiError(
                "Classes.TableRepository.row_not_found",
                f"Row {code} in table scans not found",
                parameters={"rowidentifier": code, "table": "scans"},
            )
        self.wb.settle(scan)
        return scan

    def project_row(self, p: Project) -> dict[str, Any]:
        scans = [s for s in self.wb.scans.values() if s.project_code == p.code]
        return {
            "id": p.id,
            "creator": p.creator,
            "project_code": p.code,
            "project_name": p.name,
            "limit_date": None,
            "product_code": p.product_code,
            "product_name": p.product_name,
            "description": p.description,
            "comment": p.comment,
            "is_archived": False,
            "jira_project_key": "",
            "created": now_text(p.created),
            "updated": now_text(p.created),
            "scans": len(scans),
            "policy_rules": len(self.wb.policy_denied),
            "warnings": sum(len(self.wb.policy_warnings(s)) for s in scans),
        }

    def scan_row(self, s: Scan) -> dict[str, Any]:
        uploads = self.wb.scan_dir(s) / "uploads"
        return {
            "id": s.id,
            "code": s.code,
            "name": s.name,
            "description": s.description,
            "comment": s.comment,
            "project_id": self.wb.projects[s.project_code].id if s.project_code in self.wb.projects else None,
            "project_code": s.project_code,
            "is_archived": False,
            "target_path": s.target_path,
            "is_blind_audit": False,
            "is_from_report": False,
            "files_not_scanned": 0,
            "pending_items": len(s.results.get("pending") or {}),
            "git_repo_url": None,
            "git_branch": None,
            "jar_extraction": "if_no_fullmatch",
            "any_archives_expanded": any((self.wb.scan_dir(s) / "extracted").glob("*")),
            "uploaded_files": sorted(p.name for p in uploads.glob("*")) if uploads.is_dir() else [],
            "created": now_text(s.created),
            "updated": now_text(s.created),
            "last_run": now_text(s.processes["SCAN"].created) if "SCAN" in s.processes else None,
            "fid_version": self.wb.version,
            # the user who created the scan: workbench-agent CE lets that user delete it without the
            # SCAN_DELETE_ANY permission (api/services/user_permissions.py:89-94; its tests'
            # test_user_permissions_service.py:58-70 state get_information exposes ``username``)
            "username": s.creator,
            "user_id": s.creator_id,
        }

    # -- internal / users ---------------------------------------------------------------------------
    def internal_getConfig(self, data: dict[str, Any], user: User | None) -> Any:
        return {"version": self.wb.version, "product": "FossID Workbench (sandbox)"}

    def users_get_api_key(self, data: dict[str, Any], user: User) -> Any:
        return {"api_key": user.key, "api_key_expiry_date": self.wb.key_expiry(user)}

    def users_get_user_permissions_list(self, data: dict[str, Any], user: User) -> Any:
        """``{searched_username}`` or ``{user_id}`` → the user's permission rows ``{id, group, code,
        name, description, created, updated, role_id, status}`` (workbench-agent CE
        api/clients/users_api.py:98-140 and its tests' row shape, test_user_permissions_service.py:14-25);
        an unknown user is the error "User not found" with ``data`` null. Every user may access and
        create scans; ``SCAN_DELETE_ANY`` goes to the users in the ``delete_any_users`` switch."""
        wanted = data.get("searched_username")
        wanted_id = data.get("user_id")

        def matches(u: User) -> bool:
            return u.username == wanted if wanted is not None else str(u.user_id) == str(wanted_id)

        found = next((u for u in self.wb.users.values() if matches(u)), None)
        if found is None:
            raise ApiError("Classes.Users.user_not_found", "User not found", data=None)
        codes = ["SCAN_ACCESS", "SCAN_CREATE"]
        if found.username in (self.wb.switches.get("delete_any_users") or []):
            codes.append("SCAN_DELETE_ANY")
        stamp = now_text(found.key_created)
        return [
            {
                "id": n,
                "group": "Scans",
                "code": code,
                "name": code.replace("_", " ").title(),
                "description": "",
                "created": stamp,
                "updated": stamp,
                "role_id": 1,
                "status": None,
            }
            for n, code in enumerate(codes, 1)
        ]

    def users_renew_api_key(self, data: dict[str, Any], user: User) -> Any:
        key = self.wb.renew_key(user)
        return {"api_key": key, "api_key_expiry_date": self.wb.key_expiry(user)}

    # -- projects ------------------------------------------------------------------------------
    def projects_create(self, data: dict[str, Any], user: User) -> Any:
        (name,) = required(data, "project_name")
        code = data.get("project_code") or re.sub(r"[^A-Za-z0-9_-]", "_", name)[:60] + f"_{int(time.time())}"
        with self.wb.lock:
            if code in self.wb.projects:
                raise field_issue(
                    "RequestData.Base.field_must_be_unique", "Project code already exists.", "project_code"
                )
            project = Project(
                next(self.wb.ids),
                code,
                name,
                data.get("description", ""),
                data.get("comment", ""),
                data.get("product_code", ""),
                data.get("product_name", ""),
                creator=user.user_id,
            )
            self.wb.projects[code] = project
        return {"project_id": project.id, "project_code": code}, f"Project {name} has been created."

    def projects_get_information(self, data: dict[str, Any], user: User) -> Any:
        (code,) = required(data, "project_code")
        if code not in self.wb.projects:
            raise ApiError("Project does not exist", "Project does not exist")
        row = self.project_row(self.wb.projects[code])
        return {
            **row,
            "owner_username": user.username,
            "user_id": user.user_id,
            "creation_date": row["created"][:10],
            "date_limit_date": None,
        }

    def projects_list_projects(self, data: dict[str, Any], user: User) -> Any:
        return listing([self.project_row(p) for p in self.wb.projects.values()])

    def projects_get_all_scans(self, data: dict[str, Any], user: User) -> Any:
        (code,) = required(data, "project_code")
        self.project(code)
        return listing([self.scan_row(s) for s in self.wb.scans.values() if s.project_code == code])

    def projects_get_policy_warnings_info(self, data: dict[str, Any], user: User) -> Any:
        (code,) = required(data, "project_code")
        self.project(code)
        warnings = [
            w
            for s in self.wb.scans.values()
            if s.project_code == code
            for w in self.wb.policy_warnings(self.scan(s.code))
        ]
        wanted = (data.get("type") or "").lower()
        if wanted:
            warnings = [w for w in warnings if w["type"] == wanted]
        return {
            "policy_warnings_total": len(warnings),
            "identified_files_with_warnings": sum(w["type"] == "license" for w in warnings),
            "dependencies_with_warnings": sum(w["type"] == "dependency" for w in warnings),
            "policy_warnings_list": warnings,
        }

    def projects_generate_report(self, data: dict[str, Any], user: User) -> Any:
        code, report_type = required(data, "project_code", "report_type")
        project = self.project(code)
        scans = [self.scan(s.code) for s in list(self.wb.scans.values()) if s.project_code == code]
        return self._report("projects", code, project.name, report_type, scans, data)

    def projects_check_status(self, data: dict[str, Any], user: User) -> Any:
        (process_id,) = required(data, "process_id")
        return self._progress(process_id, "REPORT_GENERATION")

    # -- scans --------------------------------------------------------------------------------
    def scans_create(self, data: dict[str, Any], user: User) -> Any:
        project_code, name = required(data, "project_code", "scan_name")
        self.project(project_code)
        code = data.get("scan_code") or re.sub(r"[^A-Za-z0-9_-]", "_", name)[:60] + f"_{int(time.time() * 1000)}"
        with self.wb.lock:
            if code in self.wb.scans:
                raise field_issue("RequestData.Base.field_must_be_unique", "Scan code already exists.", "scan_code")
            scan = Scan(
                next(self.wb.ids),
                code,
                name,
                project_code,
                data.get("description", ""),
                data.get("comment", ""),
                data.get("target_path", ""),
                creator=user.username,
                creator_id=user.user_id,
            )
            self.wb.scans[code] = scan
        return {"scan_id": scan.id, "scan_code": code}, f"Scan {name} has been created."

    def scans_get_information(self, data: dict[str, Any], user: User) -> Any:
        (code,) = required(data, "scan_code")
        return self.scan_row(self.scan(code))

    def scans_list_scans(self, data: dict[str, Any], user: User) -> Any:
        return {str(s.id): self.scan_row(s) for s in self.wb.scans.values()} or False

    def scans_remove_uploaded_content(self, data: dict[str, Any], user: User) -> Any:
        (code,) = required(data, "scan_code")
        scan = self.scan(code)
        if not self.wb.remove_uploaded(scan, data.get("filename")):
            raise ApiError(
                PARSE_ERROR,
                "These issues were found while parsing the request:",
                [
                    {
                        "code": "RequestData.Traits.PathTrait.filename_is_not_valid",
                        "message": "The filename is not valid",
                        "message_parameters": [],
                    }
                ],
            )
        return True

    def scans_extract_archives(self, data: dict[str, Any], user: User) -> Any:
        (code,) = required(data, "scan_code")
        scan = self.scan(code)
        self._refuse_if_busy(scan, "EXTRACT_ARCHIVES")
        # An archive that cannot be read does not fail the call (it answered data: true before the
        # work ran): the EXTRACT_ARCHIVES process ends FAILED, naming the archive and the cause in
        # info and comment, which is where clients read a failure (workbench-agent CE
        # api/utils/process_waiter.py:123-128 reads error, message, then info; handlers/scan.py:132-141
        # stops on FAILED with that text; ORT model/status/ScanDescription2021dot2.kt:51-54 has info
        # and comment).
        outcome = self.wb.extract(scan, data.get("filename"), flag(data.get("recursively_extract_archives")))
        scan.processes["EXTRACT_ARCHIVES"] = self.wb.new_process(
            "EXTRACT_ARCHIVES",
            self.wb.timings.extract_seconds,
            queue_seconds=0,
            outcome="FAILED" if outcome.failures else "FINISHED",
            comment=outcome.message,
        )
        return True

    def scans_run(self, data: dict[str, Any], user: User) -> Any:
        (code,) = required(data, "scan_code")
        scan = self.scan(code)
        self._refuse_if_busy(scan, "SCAN")
        extraction = scan.processes.get("EXTRACT_ARCHIVES")
        wait_extract = max(0.0, extraction.finished - time.time()) if extraction else 0.0
        auto = flag(data.get("auto_identification_detect_declaration", "1"))
        scan.run_options = {k: v for k, v in data.items() if k not in ("username", "key")}
        scan.run_history.append(dict(scan.run_options))
        results = self.wb.compute_results(scan, auto)
        # fail_scans: every run fails; fail_next_scans / hang_next_scans: the next N runs fail, or
        # hang RUNNING until cancelled (a scanner that never ends), then runs are normal again
        failing = self.wb.switches.get("fail_scans") or self.wb.take("fail_next_scans")
        hung = not failing and self.wb.take("hang_next_scans")
        with_da = flag(data.get("run_dependency_analysis"))
        if with_da:
            self._refuse_if_busy(scan, "DEPENDENCY_ANALYSIS")
        scan.results = {}
        process = scan.processes["SCAN"] = self.wb.new_process(
            "SCAN",
            self.wb.timings.scan_seconds,
            queue_seconds=self.wb.timings.queue_seconds + wait_extract,
            outcome="FAILED" if failing else "FINISHED",
            comment=self.wb.switches.get("fail_comment", "")
            if failing
            else f"Scan finished. {results['total_files']} files scanned. 0 files ignored. 0 files failed.",
            stuck=bool(self.wb.switches.get("stuck_queued")),
            hung=hung,
            payload={"results": results},
        )
        if with_da:
            # run_dependency_analysis="1" (workbench-agent CE api/services/scan_operations_service.py:166-170):
            # Workbench starts dependency analysis when the KB scan completes (scan_workflows.py:606-610,
            # "Dependency Analysis will start when KB scan completes."), and the client then waits on
            # check_status type=DEPENDENCY_ANALYSIS (scan_workflows.py:627-629). The process is queued
            # behind the scan; it fails when the scan fails and is cancelled with it.
            deps = self.wb.dependency_analysis(scan)
            scan.processes["DEPENDENCY_ANALYSIS"] = self.wb.new_process(
                "DEPENDENCY_ANALYSIS",
                self.wb.timings.dependency_seconds,
                queue_seconds=process.queue_seconds + process.run_seconds,
                outcome=process.outcome,
                comment=f"{len(deps)} dependencies found"
                if not failing
                else "Scan failed: dependency analysis not run",
                stuck=process.stuck_queued or process.hung,
                payload={"dependencies": deps, "after_scan": process.id},
            )
        return None, "Scan has been launched"

    def scans_cancel_run(self, data: dict[str, Any], user: User) -> Any:
        """``{scan_code}`` answers status "1" (workbench-agent workbench-agent.py:614-632); a QUEUED or
        RUNNING scan then ends FAILED with "The process was cancelled" (see CANCELLED_TEXT), and a
        dependency analysis chained behind it with it. A scan that is not running has nothing to
        cancel: an error envelope (inferred; no client shows that reply)."""
        (code,) = required(data, "scan_code")
        scan = self.scan(code)
        process = scan.processes.get("SCAN")
        state = process.status()[0] if process else "NEW"
        if process is None or state not in ("QUEUED", "RUNNING"):
            raise ApiError(
                "Classes.Scans.scan_not_running",
                f"Scan {code} is not running (status {state}); there is no run to cancel.",
                parameters={"scan_code": code, "status": state},
            )
        status = str(self.wb.switches.get("cancel_status") or "FAILED").upper()
        now = time.time()
        process.cancel(status, CANCELLED_TEXT, now)
        chained = scan.processes.get("DEPENDENCY_ANALYSIS")
        if chained and chained.payload.get("after_scan") == process.id and not chained.cancelled:
            chained.cancel(status, CANCELLED_TEXT, now)
        return True

    def scans_check_status(self, data: dict[str, Any], user: User) -> Any:
        kind = (data.get("type") or "SCAN").upper()
        if kind not in CHECK_TYPES or self.version < NOTICE_SINCE.get(kind, (0,)):
            raise field_issue(
                "RequestData.Base.field_not_valid_option",
                "Field type has a value that is not valid.",
                "type",
                options=list(CHECK_TYPES),
            )
        if kind in ("REPORT_GENERATION", "DELETE_SCAN"):
            (process_id,) = required(data, "process_id")
            return self._progress(process_id, kind)
        (code,) = required(data, "scan_code")
        scan = self.scan(code)
        return self._scan_status(scan, kind)

    def scans_run_dependency_analysis(self, data: dict[str, Any], user: User) -> Any:
        (code,) = required(data, "scan_code")
        scan = self.scan(code)
        self._refuse_if_busy(scan, "DEPENDENCY_ANALYSIS")
        deps = self.wb.dependency_analysis(scan)
        scan.processes["DEPENDENCY_ANALYSIS"] = self.wb.new_process(
            "DEPENDENCY_ANALYSIS",
            self.wb.timings.dependency_seconds,
            comment=f"{len(deps)} dependencies found",
            payload={"dependencies": deps},
        )
        return None, "Dependency analysis has been started."

    def scans_get_dependency_analysis_results(self, data: dict[str, Any], user: User) -> Any:
        (code,) = required(data, "scan_code")
        process = self.scan(code).processes.get("DEPENDENCY_ANALYSIS")
        if process is None or process.status()[0] != "FINISHED":
            raise ApiError("Dependency analysis has not been run", "Dependency analysis has not been run")
        return listing(process.payload["dependencies"])

    def scans_get_pending_files(self, data: dict[str, Any], user: User) -> Any:
        (code,) = required(data, "scan_code")
        return self.scan(code).results.get("pending") or False

    def scans_get_identified_files(self, data: dict[str, Any], user: User) -> Any:
        (code,) = required(data, "scan_code")
        return self.scan(code).results.get("identified") or False

    def scans_get_scan_identified_licenses(self, data: dict[str, Any], user: User) -> Any:
        (code,) = required(data, "scan_code")
        rows = (self.scan(code).results.get("identified") or {}).values()
        unique = sorted({r["file_license_identifier"] for r in rows})
        return listing([{"identifier": lic, "name": lic} for lic in unique])

    def scans_get_scan_identified_components(self, data: dict[str, Any], user: User) -> Any:
        (code,) = required(data, "scan_code")
        rows = (self.scan(code).results.get("identified") or {}).values()
        components = {(r["component_name"], r["component_version"]): r["file_license_identifier"] for r in rows}
        return {
            str(n): {"name": k[0], "version": k[1], "license_identifier": v}
            for n, (k, v) in enumerate(sorted(components.items()))
        } or False

    def scans_get_policy_warnings_counter(self, data: dict[str, Any], user: User) -> Any:
        (code,) = required(data, "scan_code")
        warnings = self.wb.policy_warnings(self.scan(code))
        return {
            "policy_warnings_total": len(warnings),
            "identified_files_with_warnings": sum(w["type"] == "license" for w in warnings),
            "dependencies_with_warnings": sum(w["type"] == "dependency" for w in warnings),
        }

    def scans_get_folder_metrics(self, data: dict[str, Any], user: User) -> Any:
        """Request ``scan_code`` (workbench-agent CE api/clients/scans_api.py:163-167); the client
        reads ``total``, ``identified_files``, ``pending_identification``, ``without_matches``
        (utilities/scan_workflows.py:319-328). Values are strings, and before 24.2 each also came
        under its numeric column index "0".."3" (API change log 24.2, "removed values with numeric
        keys", get_folder_metrics)."""
        (code,) = required(data, "scan_code")
        scan = self.scan(code)
        results = scan.results
        metrics = {
            "total": str(len(self.wb.walk(scan))),
            "pending_identification": str(len(results.get("pending") or {})),
            "identified_files": str(len(results.get("identified") or {})),
            "without_matches": str(len(results.get("no_match") or [])),
        }
        if self.version < (24, 2):
            metrics = {**{str(i): v for i, v in enumerate(metrics.values())}, **metrics}
        return metrics, "Success"

    def vulnerabilities_list_vulnerabilities(self, data: dict[str, Any], user: User) -> Any:
        """workbench-agent CE api/clients/vulnerabilities_api.py: ``{scan_code, count_results: 1}``
        answers ``data.count_results`` (:52-75); ``{scan_code, page: N}`` answers ``data.list``,
        100 records a page (:85-121). Rows carry ``cve``, ``severity``, ``component_name``,
        ``component_version`` (utilities/result_utilities.py:264-267, :292-295, :331-332;
        handlers/evaluate_gates.py:267-268). The action came with 24.3 (API change log 24.3,
        "Vulnerabilities ... equivalent API actions")."""
        if self.version < (24, 3):
            raise self.action_not_found("vulnerabilities", "list_vulnerabilities")
        (code,) = required(data, "scan_code")
        rows = self._vulnerabilities(self.scan(code))
        if flag(data.get("count_results")):
            return {"count_results": len(rows)}
        per_page = int(data.get("records_per_page") or RECORDS_PER_PAGE)
        page = max(1, int(data.get("page") or 1))
        return {"list": rows[(page - 1) * per_page : page * per_page]}

    def scans_notice_extract_run(self, data: dict[str, Any], user: User) -> Any:
        """``{scan_code, type}``, type defaulting to NOTICE_EXTRACT_FILE (API change log 24.3 and
        25.1); answers ``data: true`` (workbench-agent CE api/clients/scans_api.py:1249-1275) and
        is polled with check_status type=<same type> (scans_api.py:1231-1232)."""
        (code,) = required(data, "scan_code")
        kind = (data.get("type") or "NOTICE_EXTRACT_FILE").upper()
        if kind not in NOTICE_SINCE or self.version < NOTICE_SINCE[kind]:
            raise field_issue(
                "RequestData.Base.field_not_valid_option",
                "Field type has a value that is not valid.",
                "type",
                options=[k for k, since in NOTICE_SINCE.items() if self.version >= since],
            )
        scan = self.scan(code)
        self._refuse_if_busy(scan, kind)
        body, content_type = render_notice(kind, scan)
        scan.processes[kind] = self.wb.new_process(
            kind,
            self.wb.timings.report_seconds,
            queue_seconds=0,
            payload={"body": body, "content_type": content_type},
        )
        return True

    def scans_notice_extract_download(self, data: dict[str, Any], user: User) -> Any:
        """The notice file as a raw (non-JSON) body (scans_api.py:1285-1310)."""
        (code,) = required(data, "scan_code")
        kind = (data.get("type") or "NOTICE_EXTRACT_FILE").upper()
        process = self.scan(code).processes.get(kind)
        state = process.status()[0] if process else "NEW"
        if process is None or state != "FINISHED":
            raise ApiError("Notice file is not ready", f"Notice extraction is {state}")
        extension = "xlsx" if kind == "NOTICE_EXTRACT_AGGREGATE" else "txt"
        return FileReply(process.payload["body"], process.payload["content_type"], f"{code}-{kind.lower()}.{extension}")

    def scans_generate_report(self, data: dict[str, Any], user: User) -> Any:
        code, report_type = required(data, "scan_code", "report_type")
        scan = self.scan(code)
        return self._report("scans", code, scan.name, report_type, [scan], data)

    def scans_delete(self, data: dict[str, Any], user: User) -> Any:
        (code,) = required(data, "scan_code")
        scan = self.scan(code)
        with self.wb.lock:
            del self.wb.scans[code]
        self.wb.remove_uploaded(scan, None)
        process = self.wb.new_process("DELETE_SCAN", self.wb.timings.delete_seconds, queue_seconds=0)
        return {"process_id": str(process.id)}, f"Scan: {code} was added in the queue to delete"

    def download_download_report(self, data: dict[str, Any], user: User) -> Any:
        entity, process_id = required(data, "report_entity", "process_id")
        process = self.wb.processes.get(int(process_id)) if str(process_id).isdigit() else None
        if process is None or process.kind != "REPORT_GENERATION" or process.payload.get("entity") != entity:
            raise ApiError(
                "Classes.TableRepository.row_not_found",
                f"Row {process_id} in table processes not found",
                parameters={"rowidentifier": str(process_id), "table": "processes"},
            )
        state = process.status()[0]
        if state != "FINISHED":
            raise ApiError("Report is not ready", f"Report generation is {state}")
        return FileReply(process.payload["body"], process.payload["content_type"], process.payload["filename"])

    # -- helpers ---------------------------------------------------------------------------------
    def _refuse_if_busy(self, scan: Scan, kind: str) -> None:
        process = scan.processes.get(kind)
        if process and process.status()[0] in ("QUEUED", "RUNNING"):
            raise ApiError(
                f"Classes.Scans.{kind.lower()}_already_running", f"{kind} is already running for scan {scan.code}."
            )

    def _vulnerabilities(self, scan: Scan) -> list[dict[str, Any]]:
        """Advisories (detect.ADVISORIES) of identified components and of exactly pinned
        dependencies found by a finished dependency analysis."""
        components: list[tuple[str, str]] = []
        for row in (scan.results.get("identified") or {}).values():
            components.append((row["component_name"], row["component_version"]))
        da = scan.processes.get("DEPENDENCY_ANALYSIS")
        if da and da.status()[0] == "FINISHED":
            for dep in da.payload["dependencies"]:
                version = re.sub(r"^(==|===)\s*", "", dep["version"].strip())
                if re.fullmatch(r"[0-9][0-9A-Za-z.+-]*", version):
                    components.append((dep["name"], version))
        rows: list[dict[str, Any]] = []
        for name, version in sorted(set(components)):
            for cve, severity, score in ADVISORIES.get((name.lower(), version), ()):
                rows.append(
                    {
                        "id": len(rows) + 1,
                        "cve": cve,
                        "severity": severity,
                        "base_score": str(score),
                        "component_name": name,
                        "component_version": version,
                    }
                )
        return rows

    def _scan_status(self, scan: Scan, kind: str) -> dict[str, Any]:
        """One ``check_status`` row. ``total_files`` is the number of files the scan covers (0 for
        a scan of nothing), as the 2021.2+ shape names it (ORT model/status/ScanDescription2021dot2.kt:48;
        workbench-agent CE api/services/status_check_service.py:854-876 shows "File n/total"); the
        legacy shape says it in ``comment`` ("… 40 files scanned. …", ORT fixture
        new-project/mappings/apiphp-check_scan_status.json). A failed or cancelled process puts its
        reason in ``info`` (modern) and ``comment``."""
        process = scan.processes.get(kind)
        status, pct = process.status() if process else ("NEW", 0)
        finished = status in ("FINISHED", "FAILED", "CANCELLED")
        comment = process.comment if process and finished else None
        info = comment if status in ("FAILED", "CANCELLED") else None
        ran = process is not None and status != "QUEUED" and not (process.cancelled and process.started_at is None)
        started = now_text(process.started) if process and ran else None
        end = now_text(process.finished) if process and finished else None
        total = (process.payload.get("results") or {}).get("total_files") if process else None
        if self.modern:
            return {
                "id": process.id if process else None,
                "scan_id": scan.id,
                "scan_name": scan.name,
                "scan_code": scan.code,
                "type": kind,
                "pid": process.id if process else None,
                "status": status,
                "state": {"FINISHED": "SCAN_COMPLETE"}.get(status, status),
                "current_file": None,
                "ignored_files": None,
                "failed_files": None,
                "is_finished": finished,
                "percentage_done": pct,
                "current_step": "scanCleanup" if finished else None,
                "info": info,
                "comment": comment,
                "current_filename": None,
                "comment_2": None,
                "comment_3": None,
                "blind_source": None,
                "started": started,
                "finished": end,
                "total_files": total,
            }
        return {
            "scan_id": str(scan.id),
            "scan_name": scan.name,
            "scan_code": scan.code,
            "pid": json.dumps({"primary": process.id if process else 0}),
            "type": kind,
            "status": status,
            "is_finished": "1" if finished else "0",
            "percentage_done": f"{pct}%",
            "comment": comment or "",
            "comment_2": "",
            "comment_3": "",
            "started": started,
            "finished": end,
        }

    def _progress(self, process_id: Any, kind: str) -> dict[str, Any]:
        process = self.wb.processes.get(int(process_id)) if str(process_id).isdigit() else None
        if process is None or process.kind != kind:
            raise ApiError(
                "Classes.TableRepository.row_not_found",
                f"Row {process_id} in table processes not found",
                parameters={"rowidentifier": str(process_id), "table": "processes"},
            )
        status, pct = process.status()
        return {"process_id": process.id, "progress_state": status, "percentage_done": pct, "type": kind}

    def _report(
        self, entity: str, code: str, title: str, report_type: str, scans: list[Scan], data: dict[str, Any]
    ) -> Any:
        accepted = [t for t in report_types_for(self.version) if entity == "scans" or t not in SCAN_ONLY_REPORTS]
        if report_type not in accepted:
            raise field_issue(
                "RequestData.Base.field_not_valid_option",
                "Field report_type has a value that is not valid.",
                "report_type",
                options=sorted(accepted),
            )
        extension, content_type, can_async = REPORT_TYPES[report_type]
        body = render(report_type, f"{entity}-{title}-{report_type}", scans)
        filename = f"{code}-{report_type}.{extension}"
        if flag(data.get("async")) and can_async:
            process = self.wb.new_process(
                "REPORT_GENERATION",
                self.wb.timings.report_seconds,
                payload={"entity": entity, "body": body, "content_type": content_type, "filename": filename},
            )
            return {"process_queue_id": str(process.id)}, "Report generation started."
        if report_type == "html":
            return FileReply(body, content_type, None)
        return FileReply(body, content_type, filename)


class FileReply:
    def __init__(self, body: bytes, content_type: str, filename: str | None) -> None:
        self.body, self.content_type, self.filename = body, content_type, filename


PUBLIC_ACTIONS = {("internal", "getConfig")}


class WorkbenchHandler(SandboxHandler):
    server: WorkbenchServer

    def do_GET(self) -> None:
        if self.handle_control("GET", b""):
            return
        if self.path.startswith("/index.php"):
            page = (
                f"<html><head><link rel='stylesheet' href='css/fossid.css?v={self.server.wb.version}'>"
                f"<title>FossID Workbench</title></head><body>WebApp. v{self.server.wb.version}</body></html>"
            )
            self.send_bytes(page.encode(), "text/html; charset=UTF-8")
        else:
            self.send_bytes(b"Not Found", "text/plain", 404)

    def do_POST(self) -> None:
        body = self.read_body()
        if self.handle_control("POST", body):
            return
        if self.path.split("?", 1)[0] != "/api.php":
            self.send_bytes(b"Not Found", "text/plain", 404)
            return
        if self.inject_faults():
            return
        if self.headers.get("FOSSID-SCAN-CODE"):
            self.upload(body)
            return
        try:
            request = json.loads(body or b"{}")
            group, action = str(request.get("group", "")), str(request.get("action", ""))
            data = request.get("data") or {}
        except (ValueError, AttributeError):
            self.send_json(
                {
                    "operation": "",
                    "status": "0",
                    "data": [],
                    "error": "RequestData.Base.invalid_json",
                    "message": "The request is not valid JSON.",
                    "message_parameters": [],
                }
            )
            return
        self.dispatch(group, action, data)

    def dispatch(self, group: str, action: str, data: dict[str, Any]) -> None:
        operation = f"{group}_{action}"
        api = self.server.api
        handler: Callable[..., Any] | None = getattr(api, operation, None)
        try:
            user = api.wb.authenticate(data.get("username"), data.get("key"))
            if (group, action) not in PUBLIC_ACTIONS and user is None:
                raise ApiError(AUTH_ERROR, "User is not found or API key is incorrect")
            if handler is None:
                raise ApiError("RequestData.Base.action_not_found", f"Action {group}->{action} does not exist.")
            with api.wb.lock:
                result = handler(data, user)
        except ApiError as exc:
            self.send_error_envelope(operation, exc)
            return
        except Exception as exc:  # never a dropped connection (UNEXPECTED_ERROR)
            self.send_error_envelope(operation, self.unexpected(f"{group}/{action}", exc))
            return
        if isinstance(result, FileReply):
            headers = {"Content-Disposition": f"attachment; filename={result.filename}"} if result.filename else {}
            self.send_bytes(result.body, result.content_type, headers=headers)
            return
        message = None
        if isinstance(result, tuple):
            result, message = result
        reply: dict[str, Any] = {"operation": operation, "status": "1", "data": result}
        if message:
            reply["message"] = message
        self.send_json(reply)

    @staticmethod
    def unexpected(what: str, exc: Exception) -> ApiError:
        """The envelope for an exception no handler expected; the traceback goes to stderr."""
        traceback.print_exception(exc, file=sys.stderr)
        return ApiError(
            UNEXPECTED_ERROR,
            f"Unexpected error in {what}: {type(exc).__name__}: {exc}",
            parameters={"exception": type(exc).__name__},
        )

    def send_error_envelope(self, operation: str, exc: ApiError) -> None:
        self.send_json(
            {
                "operation": operation,
                "status": "0",
                "data": exc.data,
                "error": exc.error,
                "message": exc.message,
                "message_parameters": exc.parameters,
            }
        )

    def upload(self, body: bytes) -> None:
        """Raw-body upload: headers name the scan and file (base64), Basic auth; bodies append."""
        api = self.server.api
        try:
            try:
                scan_code = base64.b64decode(self.headers["FOSSID-SCAN-CODE"]).decode()
                filename = base64.b64decode(self.headers.get("FOSSID-FILE-NAME") or "").decode()
                user_key = base64.b64decode((self.headers.get("Authorization") or "").removeprefix("Basic ")).decode()
            except (ValueError, UnicodeDecodeError):
                raise ApiError("RequestData.Base.invalid_headers", "Upload headers are not valid.") from None
            username, _, key = user_key.partition(":")
            if api.wb.authenticate(username, key) is None:
                raise ApiError(AUTH_ERROR, "User is not found or API key is incorrect")
            with api.wb.lock:
                scan = api.scan(scan_code)
            try:
                api.wb.append_upload(scan, filename, body)
            except ValueError:
                raise ApiError(
                    PARSE_ERROR,
                    "The filename is not valid",
                    [
                        {
                            "code": "RequestData.Traits.PathTrait.filename_is_not_valid",
                            "message": "The filename is not valid",
                            "message_parameters": [],
                        }
                    ],
                ) from None
        except ApiError as exc:
            self.send_error_envelope("Upload_apiUpload", exc)
            return
        except Exception as exc:  # never a dropped connection (UNEXPECTED_ERROR)
            self.send_error_envelope("Upload_apiUpload", self.unexpected("upload", exc))
            return
        self.send_json({"operation": "Upload_apiUpload", "status": 1, "data": None})


class WorkbenchServer(SandboxServer):
    def __init__(self, address: tuple[str, int], wb: Workbench, faults: Faults, verbose: bool = False) -> None:
        super().__init__(address, WorkbenchHandler, faults, verbose)
        self.wb = wb
        self.api = Api(wb)

    def configure(self, values: dict[str, Any]) -> None:
        """Timings (``scan_seconds`` …), ``version``, ``api_key_valability_days``, switches
        (``stuck_queued``, ``fail_scans``, ``fail_comment``, ``cancel_status``, and the counting
        ``fail_next_scans`` and ``hang_next_scans``) and ``users``
        ({name: key})."""
        with self.wb.lock:
            for key, value in values.items():
                if hasattr(self.wb.timings, key):
                    setattr(self.wb.timings, key, float(value))
                elif key == "version":
                    self.wb.version = str(value)
                elif key == "api_key_valability_days":
                    self.wb.api_key_valability_days = int(value)
                elif key == "users":
                    for name, spec in value.items():
                        spec = spec if isinstance(spec, dict) else {"key": spec}
                        self.wb.add_user(name, spec["key"], float(spec.get("key_age_days", 0)))
                else:
                    self.wb.switches[key] = value

    def config_view(self) -> dict[str, Any]:
        return {
            "version": self.wb.version,
            "timings": vars(self.wb.timings),
            "switches": self.wb.switches,
            "api_key_valability_days": self.wb.api_key_valability_days,
            "users": sorted(self.wb.users),
            # for fault drills: how many processes of each kind were ever started, and the sha256
            # of every stored upload (what the server holds, byte for byte)
            "processes": dict(sorted(Counter(p.kind for p in list(self.wb.processes.values())).items())),
            "uploads": {
                scan.code: {
                    "project": scan.project_code,
                    "files": {
                        f.name: hashlib.sha256(f.read_bytes()).hexdigest()
                        for f in sorted((self.wb.scan_dir(scan) / "uploads").glob("*"))
                        if f.is_file()
                    },
                }
                for scan in list(self.wb.scans.values())
            },
            # the options of every scans/run, per scan (a recovery re-run shows here)
            "runs": {scan.code: scan.run_history for scan in list(self.wb.scans.values()) if scan.run_history},
        }
