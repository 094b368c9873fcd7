"""In-memory Workbench state with files on disk. Long operations are ``Process`` objects whose
state is computed from the clock: NEW → QUEUED → RUNNING (percentage_done) → FINISHED/FAILED."""

from __future__ import annotations

import hashlib
import itertools
import lzma
import re
import shutil
import tarfile
import threading
import time
import tomllib
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any

from sandboxes.fossid.detect import COPYLEFT, MAX_READ, component_of, detect

ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".tar", ".zip", ".whl", ".jar")
ZIP_SUFFIXES = (".zip", ".whl", ".jar")
# The tar compression each suffix promises: tried first, so the cause of a failure names it
# ("not a gzip file", not a list of every method tarfile tried).
TAR_MODES = ((".tar.gz", "r:gz"), (".tgz", "r:gz"), (".tar.bz2", "r:bz2"), (".tar.xz", "r:xz"), (".tar", "r:"))
# What a broken archive raises: truncated streams (EOFError, tarfile.ReadError), bad compressed
# data (zlib.error, lzma.LZMAError, gzip.BadGzipFile and bz2's errors are OSErrors), bad zips
# (zipfile.BadZipFile), encrypted or unsupported zip members (RuntimeError, NotImplementedError).
ARCHIVE_ERRORS = (
    tarfile.TarError,
    EOFError,
    zlib.error,
    lzma.LZMAError,
    zipfile.BadZipFile,
    OSError,
    ValueError,
    RuntimeError,
    NotImplementedError,
)


@dataclass
class Extraction:
    """What ``scans/extract_archives`` did: the uploaded archives extracted, why others could not
    be (``failures``: the extraction FAILED), and nested archives left as files (``skipped``: noted,
    not fatal, since source trees often carry broken archives as test data; inferred)."""

    extracted: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def message(self) -> str:
        if self.failures:
            return "; ".join(self.failures + self.skipped)
        return "; ".join([f"{len(self.extracted)} archive(s) extracted", *self.skipped])


def failure_cause(exc: BaseException) -> str:
    """One line naming why an archive could not be read, e.g. "Compressed file ended before the
    end-of-stream marker was reached" or "not a gzip file"."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{text} ({type(exc).__name__})" if text else type(exc).__name__


def now_text(ts: float | None = None) -> str:
    return datetime.fromtimestamp(ts if ts is not None else time.time()).strftime("%Y-%m-%d %H:%M:%S")


@dataclass
class Timings:
    queue_seconds: float = 1.0
    scan_seconds: float = 4.0
    extract_seconds: float = 1.0
    dependency_seconds: float = 2.0
    report_seconds: float = 2.0
    delete_seconds: float = 1.0


@dataclass
class Process:
    """A long operation. ``outcome`` is applied when the clock passes its end."""

    id: int
    kind: str  # SCAN, EXTRACT_ARCHIVES, DEPENDENCY_ANALYSIS, REPORT_GENERATION, DELETE_SCAN
    created: float
    queue_seconds: float
    run_seconds: float
    outcome: str = "FINISHED"
    comment: str = ""
    stuck_queued: bool = False
    cancelled: bool = False
    payload: dict[str, Any] = field(default_factory=dict)
    ended_at: float | None = None  # set when cancelled: the process stopped then, not at ``finished``
    started_at: float | None = None  # when a cancelled process had started running (None: it never ran)
    hung: bool = False  # a scanner that hangs: RUNNING until cancelled, its progress frozen at 50 %

    def cancel(self, status: str, comment: str, at: float | None = None) -> None:
        """Stop a QUEUED or RUNNING process: it ends now with ``status`` and ``comment``."""
        at = at or time.time()
        self.started_at = self.started if self.status(at)[0] == "RUNNING" else None
        self.cancelled, self.ended_at, self.outcome, self.comment = True, at, status, comment

    def status(self, at: float | None = None) -> tuple[str, int]:
        """(status, percentage_done) at time ``at``."""
        elapsed = (at or time.time()) - self.created
        if self.cancelled:
            return self.outcome, 0
        if self.stuck_queued or elapsed < self.queue_seconds:
            return "QUEUED", 0
        if self.hung:
            done = int(100 * (elapsed - self.queue_seconds) / max(self.run_seconds, 0.001))
            return "RUNNING", min(done, 50)
        if elapsed < self.queue_seconds + self.run_seconds:
            done = int(100 * (elapsed - self.queue_seconds) / max(self.run_seconds, 0.001))
            return "RUNNING", min(done, 99)
        return self.outcome, 100 if self.outcome == "FINISHED" else 0

    @property
    def started(self) -> float:
        return self.created + self.queue_seconds

    @property
    def finished(self) -> float:
        if self.ended_at is not None:
            return self.ended_at
        return self.created + self.queue_seconds + self.run_seconds


@dataclass
class User:
    username: str
    key: str
    key_created: float
    user_id: int


@dataclass
class Project:
    id: int
    code: str
    name: str
    description: str = ""
    comment: str = ""
    product_code: str = ""
    product_name: str = ""
    created: float = field(default_factory=time.time)
    creator: int = 0


@dataclass
class Scan:
    id: int
    code: str
    name: str
    project_code: str
    description: str = ""
    comment: str = ""
    target_path: str = ""
    created: float = field(default_factory=time.time)
    processes: dict[str, Process] = field(default_factory=dict)  # latest process per kind
    results: dict[str, Any] = field(default_factory=dict)  # published when the SCAN finishes
    dependencies: list[dict[str, Any]] | None = None
    run_options: dict[str, Any] = field(default_factory=dict)
    run_history: list[dict[str, Any]] = field(default_factory=list)  # every scans/run's options, in order
    creator: str | None = None  # the user who created it: get_information's ``username``
    creator_id: int | None = None


class Workbench:
    """All state of one sandbox; every public method takes the lock."""

    def __init__(
        self, root: Path, version: str = "26.1.0", timings: Timings | None = None, api_key_valability_days: int = 90
    ) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self.version = version
        self.timings = timings or Timings()
        self.api_key_valability_days = api_key_valability_days
        self.lock = threading.RLock()
        self.ids = itertools.count(1000)
        self.users: dict[str, User] = {}
        self.projects: dict[str, Project] = {}
        self.scans: dict[str, Scan] = {}
        self.processes: dict[int, Process] = {}
        self.policy_denied = set(COPYLEFT)
        self.switches: dict[str, Any] = {
            "stuck_queued": False,
            "fail_scans": False,
            "fail_comment": "Scan failed: scanner process exited with code 137",
            "fail_next_scans": 0,
            "hang_next_scans": 0,
            "delete_any_users": [],  # users granted SCAN_DELETE_ANY (users/get_user_permissions_list)
        }

    def take(self, switch: str) -> bool:
        """Use one of a counting switch (``fail_next_scans``: the next N runs fail): True while
        the count lasts, and the count goes down by one."""
        with self.lock:
            left = int(self.switches.get(switch) or 0)
            if left <= 0:
                return False
            self.switches[switch] = left - 1
            return True

    # -- users ------------------------------------------------------------------------------
    def add_user(self, username: str, key: str, key_age_days: float = 0) -> None:
        with self.lock:
            self.users[username] = User(username, key, time.time() - key_age_days * 86400, next(self.ids))

    def authenticate(self, username: str | None, key: str | None) -> User | None:
        """The user, or None for unknown users, wrong keys and keys past their valability."""
        user = self.users.get(username or "")
        if user is None or not key or user.key != key:
            return None
        if self.api_key_valability_days and time.time() - user.key_created > self.api_key_valability_days * 86400:
            return None
        return user

    def key_expiry(self, user: User) -> str | None:
        if not self.api_key_valability_days:
            return None
        return now_text(user.key_created + self.api_key_valability_days * 86400)

    def renew_key(self, user: User) -> str:
        with self.lock:
            user.key = hashlib.sha1(f"{user.username}{time.time()}".encode()).hexdigest()
            user.key_created = time.time()
            return user.key

    # -- processes -------------------------------------------------------------------------
    def new_process(
        self,
        kind: str,
        run_seconds: float,
        *,
        queue_seconds: float | None = None,
        outcome: str = "FINISHED",
        comment: str = "",
        stuck: bool = False,
        hung: bool = False,
        payload: dict[str, Any] | None = None,
    ) -> Process:
        with self.lock:
            process = Process(
                next(self.ids),
                kind,
                time.time(),
                self.timings.queue_seconds if queue_seconds is None else queue_seconds,
                run_seconds,
                outcome,
                comment,
                stuck,
                payload=payload or {},
                hung=hung,
            )
            self.processes[process.id] = process
            return process

    # -- files -------------------------------------------------------------------------------
    def scan_dir(self, scan: Scan) -> Path:
        return self.root / "scans" / re.sub(r"[^A-Za-z0-9._-]", "_", scan.code)

    def append_upload(self, scan: Scan, filename: str, data: bytes) -> None:
        name = PurePosixPath(filename.replace("\\", "/")).name
        if not name or name in (".", ".."):
            raise ValueError("filename_is_not_valid")
        target = self.scan_dir(scan) / "uploads" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        with self.lock, open(target, "ab") as handle:
            handle.write(data)

    def remove_uploaded(self, scan: Scan, filename: str | None) -> bool:
        base = self.scan_dir(scan)
        if not filename:
            shutil.rmtree(base, ignore_errors=True)
            return True
        rel = PurePosixPath(filename.replace("\\", "/"))
        if rel.is_absolute() or ".." in rel.parts:
            return False
        for folder in ("uploads", "extracted"):
            target = base / folder / rel
            if target.is_dir():
                shutil.rmtree(target)
                return True
            if target.is_file():
                target.unlink()
                return True
        return False

    def extract(self, scan: Scan, filename: str | None, recursive: bool) -> Extraction:
        """Extract uploaded archives (one, or all) into ``extracted/<archive>/``, safely. An archive
        that cannot be read (truncated, not an archive at all, empty) is not extracted: it stays an
        uploaded file, and the failure names it and its cause. Never raises for archive content."""
        uploads = self.scan_dir(scan) / "uploads"
        names = [filename] if filename else sorted(p.name for p in uploads.glob("*"))
        outcome = Extraction()
        for name in names:
            source = uploads / PurePosixPath(name).name
            if source.is_file() and source.name.endswith(ARCHIVE_SUFFIXES):
                target = self.scan_dir(scan) / "extracted" / source.name
                try:
                    self._extract_one(source, target, recursive, outcome.skipped, source.name)
                except ARCHIVE_ERRORS as exc:
                    shutil.rmtree(target, ignore_errors=True)
                    outcome.failures.append(f"Archive {source.name} could not be extracted: {failure_cause(exc)}")
                else:
                    outcome.extracted.append(source.name)
        return outcome

    def _extract_one(
        self, archive: Path, target: Path, recursive: bool, skipped: list[str], label: str, depth: int = 0
    ) -> None:
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as zf:
                for member in zf.infolist():
                    rel = PurePosixPath(member.filename)
                    if rel.is_absolute() or ".." in rel.parts or member.is_dir():
                        continue
                    out = target / rel
                    out.parent.mkdir(parents=True, exist_ok=True)
                    out.write_bytes(zf.read(member))
        elif archive.name.endswith(ZIP_SUFFIXES):
            raise zipfile.BadZipFile("File is not a zip file")
        else:
            with _open_tar(archive) as tf:
                for member in tf:  # a truncated stream raises here, after the members before it
                    try:
                        tf.extract(member, target, filter="data")
                    except tarfile.FilterError:
                        continue  # absolute paths, links out of the tree, devices: skipped like the zip case
        if recursive and depth < 2:
            for inner in sorted(target.rglob("*")):
                if inner.is_file() and inner.name.endswith(ARCHIVE_SUFFIXES):
                    inner_target = inner.with_name(inner.name + "-extract")
                    inner_label = f"{label}/{inner.relative_to(target).as_posix()}"
                    try:
                        self._extract_one(inner, inner_target, True, skipped, inner_label, depth + 1)
                    except ARCHIVE_ERRORS as exc:
                        shutil.rmtree(inner_target, ignore_errors=True)
                        skipped.append(f"Nested archive {inner_label} was left unextracted: {failure_cause(exc)}")

    def walk(self, scan: Scan) -> list[tuple[str, Path]]:
        """(scan path, file) for every file: extracted trees, plus uploads not extracted."""
        base = self.scan_dir(scan)
        extracted = {p.name for p in (base / "extracted").glob("*")} if (base / "extracted").is_dir() else set()
        files: list[tuple[str, Path]] = []
        for upload in sorted((base / "uploads").glob("*")) if (base / "uploads").is_dir() else []:
            if upload.name not in extracted and upload.is_file():
                files.append((upload.name, upload))
        for root in sorted(extracted):
            for path in sorted((base / "extracted" / root).rglob("*")):
                if path.is_file():
                    files.append((f"{root}/{path.relative_to(base / 'extracted' / root).as_posix()}", path))
        return files

    # -- scanning ----------------------------------------------------------------------------
    def compute_results(self, scan: Scan, auto_identify: bool) -> dict[str, Any]:
        """What a scan finds: identified files (auto-identified declarations) and pending files."""
        identified: dict[str, dict[str, Any]] = {}
        pending: dict[str, str] = {}
        no_match: list[str] = []
        for n, (path, file) in enumerate(self.walk(scan)):
            data = file.read_bytes()[:MAX_READ]
            licenses, kind = detect(data.decode("utf-8", "replace"))
            row_id = str(scan.id * 100000 + n)
            if not licenses:
                no_match.append(path)
                continue
            if not auto_identify or kind != "declaration":
                pending[row_id] = path
                continue
            name, version = component_of(path)
            identified[row_id] = {
                "row_id": row_id,
                "file_path": path,
                "file_id": row_id,
                "file_md5": hashlib.md5(data).hexdigest(),
                "file_sha1": hashlib.sha1(data).hexdigest(),
                "file_sha256": hashlib.sha256(data).hexdigest(),
                "file_size": file.stat().st_size,
                "component_name": name,
                "component_version": version,
                "file_license_identifier": licenses[0],
                "file_license_name": licenses[0],
                "file_license_is_copyleft": licenses[0] in COPYLEFT,
                "file_license_match_type": "FILE",
                "file_licenses": {
                    str(i): {"identifier": lic, "name": lic, "is_foss": True} for i, lic in enumerate(licenses)
                },
            }
        return {
            "identified": identified,
            "pending": pending,
            "no_match": no_match,
            "total_files": len(identified) + len(pending) + len(no_match),
        }

    def dependency_analysis(self, scan: Scan) -> list[dict[str, Any]]:
        """Declared dependencies from manifests: requirements*.txt, pyproject.toml, package.json,
        PKG-INFO/METADATA Requires-Dist."""
        found: list[dict[str, Any]] = []
        for path, file in self.walk(scan):
            name = PurePosixPath(path).name
            text = file.read_bytes()[:MAX_READ].decode("utf-8", "replace")
            specs: list[tuple[str, str, str]] = []
            if re.fullmatch(r"requirements.*\.txt", name):
                specs = [
                    ("pypi", *_split_req(line))
                    for line in text.splitlines()
                    if line.strip() and not line.startswith(("#", "-"))
                ]
            elif name == "pyproject.toml":
                try:
                    deps = tomllib.loads(text).get("project", {}).get("dependencies", [])
                except tomllib.TOMLDecodeError:
                    deps = []
                specs = [("pypi", *_split_req(d)) for d in deps]
            elif name in ("PKG-INFO", "METADATA"):
                specs = [("pypi", *_split_req(m)) for m in re.findall(r"^Requires-Dist:\s*(.+)$", text, re.M)]
            elif name == "package.json":
                import json

                try:
                    deps = json.loads(text).get("dependencies", {})
                except ValueError:
                    deps = {}
                specs = [("npm", k, str(v)) for k, v in deps.items()]
            for kind, dep, version in specs:
                found.append(
                    {
                        "id": len(found) + 1,
                        "name": dep,
                        "version": version,
                        "type": kind,
                        "scope": "runtime",
                        "file_path": path,
                        "license_identifier": "",
                        "purl": f"pkg:{kind}/{dep}",
                    }
                )
        return found

    def policy_warnings(self, scan: Scan) -> list[dict[str, Any]]:
        rows = []
        for row in (scan.results.get("identified") or {}).values():
            if row["file_license_identifier"] in self.policy_denied:
                rows.append(
                    {
                        "type": "license",
                        "license_identifier": row["file_license_identifier"],
                        "file_path": row["file_path"],
                        "scan_code": scan.code,
                        "rule": f"License {row['file_license_identifier']} is not allowed (deny)",
                    }
                )
        for dep in scan.dependencies or []:
            if dep.get("license_identifier") in self.policy_denied:
                rows.append(
                    {
                        "type": "dependency",
                        "license_identifier": dep["license_identifier"],
                        "file_path": dep["file_path"],
                        "scan_code": scan.code,
                        "rule": "denied license",
                    }
                )
        return rows

    def settle(self, scan: Scan) -> None:
        """Publish a finished scan's results (called on every read: state follows the clock)."""
        process = scan.processes.get("SCAN")
        if process and process.status()[0] == "FINISHED" and not scan.results.get("published"):
            scan.results = {**process.payload["results"], "published": True}


def _open_tar(archive: Path) -> tarfile.TarFile:
    """The tar file, opened with the compression its suffix names; when that fails, with any
    compression tarfile recognises; when both fail, the first error (the one the suffix explains)."""
    mode = next((m for suffix, m in TAR_MODES if archive.name.endswith(suffix)), "r:*")
    try:
        return tarfile.open(archive, mode)
    except tarfile.ReadError as first:
        if mode == "r:*":
            raise
        try:
            return tarfile.open(archive, "r:*")
        except tarfile.ReadError:
            raise first from None


def _split_req(spec: str) -> tuple[str, str]:
    spec = spec.split(";", 1)[0].strip()
    match = re.match(r"^([A-Za-z0-9._-]+)\s*(\[.*?\])?\s*(.*)$", spec)
    return (match.group(1), match.group(3).strip()) if match else (spec, "")
