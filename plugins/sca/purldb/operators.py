"""PurlDB operators: match a ScanCode.io project's results (deferrable), look up many checksums
in batches, validate purls, resolve a purl to a download URL."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from airflow.sdk import BaseOperator, Context

from sca.common.deferrable import DEFAULT_DEFERRABLE
from sca.common.errors import DeadlineExceededError
from sca.common.fail_fast import FailFastOnPermanentErrors
from sca.common.files import sha256_of
from sca.common.pipeline_run import RunStatus, raise_for_event, raise_for_run
from sca.common.polling import FIRST_POLL_DELAY, SYNC_GRACE_SECONDS, wait_briefly
from sca.purldb.client import SERVICE, LookupStats, PurlDBClient, matching_run_uuid, summarize_matches
from sca.purldb.hook import PurlDBHook
from sca.purldb.triggers import PurlDBMatchingTrigger

MARKER = "purldb-matching-submission.json"


class PurlDBBaseOperator(FailFastOnPermanentErrors, BaseOperator):
    def __init__(self, *, purldb_conn_id: str = PurlDBHook.default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.purldb_conn_id = purldb_conn_id

    def client(self) -> PurlDBClient:
        return PurlDBHook(self.purldb_conn_id).get_conn()


class PurlDBMatchOperator(PurlDBBaseOperator):
    """Match a ScanCode.io scan against PurlDB and save the matches.

    The scan is ``scan_results_path`` (a ScanCode.io JSON), or the results of
    ``scancodeio_project_uuid`` downloaded into ``output_dir``. PurlDB names matching projects
    itself, so the submission is recorded in ``output_dir`` (with the scan's sha256): a retried
    task re-attaches to that run instead of submitting again. Writes ``purldb-matches.json`` and
    returns the summary (matched packages with their files, coverage).
    """

    template_fields: Sequence[str] = (
        "scan_results_path",
        "scancodeio_project_uuid",
        "output_dir",
        "purldb_conn_id",
        "scancodeio_conn_id",
    )

    def __init__(
        self,
        *,
        output_dir: str,
        scan_results_path: str | None = None,
        scancodeio_project_uuid: str | None = None,
        scancodeio_conn_id: str = "scancodeio_default",
        deferrable: bool = DEFAULT_DEFERRABLE,
        poll_interval: float = 3.0,
        first_poll_delay: float = FIRST_POLL_DELAY,
        sync_grace_seconds: float = SYNC_GRACE_SECONDS,
        run_timeout: timedelta = timedelta(hours=2),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.output_dir = output_dir
        self.scan_results_path = scan_results_path
        self.scancodeio_project_uuid = scancodeio_project_uuid
        self.scancodeio_conn_id = scancodeio_conn_id
        self.deferrable = deferrable
        self.poll_interval = poll_interval
        self.first_poll_delay = first_poll_delay
        self.sync_grace_seconds = sync_grace_seconds
        self.run_timeout = run_timeout

    def scan_file(self) -> Path:
        if self.scan_results_path:
            return Path(self.scan_results_path)
        if not self.scancodeio_project_uuid:
            raise ValueError("give scan_results_path or scancodeio_project_uuid")
        from sca.scancodeio.hook import ScanCodeIOHook

        client = ScanCodeIOHook(self.scancodeio_conn_id).get_conn()
        return client.download_results(
            self.scancodeio_project_uuid, "json", Path(self.output_dir), filename="scancodeio-results-for-matching.json"
        )

    def execute(self, context: Context) -> dict[str, Any]:
        client = self.client()
        scan = self.scan_file()
        digest = sha256_of(scan)
        marker = Path(self.output_dir) / MARKER
        previous = json.loads(marker.read_text()) if marker.is_file() else {}
        if previous.get("scan_sha256") == digest:
            run_uuid = previous["run_uuid"]
            self.log.info("Re-attaching to PurlDB matching %s (run %s)", previous["project_uuid"], run_uuid)
        else:
            project = client.submit_matching(scan)
            run_uuid = matching_run_uuid(project)
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.write_text(
                json.dumps(
                    {"project_uuid": project["uuid"], "run_uuid": run_uuid, "scan_sha256": digest, "scan": str(scan)}
                )
            )
            self.log.info("Submitted %s to PurlDB matching %s (run %s)", scan.name, project["uuid"], run_uuid)
        deadline = time.time() + self.run_timeout.total_seconds()
        run = client.get_run(run_uuid)
        if self.deferrable and not RunStatus(run["status"]).is_terminal:
            wait_briefly(lambda: RunStatus(client.get_run(run_uuid)["status"]).is_terminal, self.sync_grace_seconds)
            run = client.get_run(run_uuid)
        if not RunStatus(run["status"]).is_terminal:
            if self.deferrable:
                self.defer(
                    trigger=PurlDBMatchingTrigger(
                        run_uuid=run_uuid,
                        conn_id=self.purldb_conn_id,
                        deadline=deadline,
                        poll_interval=self.poll_interval,
                        first_poll_delay=self.first_poll_delay,
                    ),
                    method_name="execute_complete",
                )
            run = self._wait_sync(client, run_uuid, deadline)
        raise_for_run(run, SERVICE)
        return self._results(client)

    def _wait_sync(self, client: PurlDBClient, run_uuid: str, deadline: float) -> dict[str, Any]:
        while True:
            run = client.get_run(run_uuid)
            if RunStatus(run["status"]).is_terminal:
                return run
            if time.time() >= deadline:
                raise DeadlineExceededError(f"PurlDB matching run {run_uuid} still {run['status']}", service=SERVICE)
            time.sleep(self.poll_interval)

    def _results(self, client: PurlDBClient) -> dict[str, Any]:
        submission = json.loads((Path(self.output_dir) / MARKER).read_text())
        results = client.matching_results(submission["project_uuid"])
        scan = json.loads(Path(submission["scan"]).read_text())
        summary = summarize_matches(scan, results)
        target = Path(self.output_dir) / "purldb-matches.json"
        target.write_text(json.dumps({"summary": summary, "results": results}, indent=2))
        self.log.info(
            "PurlDB matched %d of %d files to %d package(s)",
            summary["matched_files"],
            summary["scanned_files"],
            len(summary["packages"]),
        )
        return {**summary, "matching_uuid": submission["project_uuid"], "matches_path": str(target)}

    def execute_complete(self, context: Context, event: dict[str, Any]) -> dict[str, Any]:
        raise_for_event(event, SERVICE)
        return self._results(self.client())


class PurlDBChecksumLookupOperator(PurlDBBaseOperator):
    """Look up packages and resources for the files of a ScanCode.io JSON scan (or given sha1s),
    ≤ ``batch_size`` checksums per request, every page followed. Writes
    ``purldb-checksum-matches.json`` and returns counts and the request statistics."""

    template_fields: Sequence[str] = ("scan_results_path", "sha1s", "output_dir", "purldb_conn_id")

    def __init__(
        self,
        *,
        output_dir: str,
        scan_results_path: str | None = None,
        sha1s: Sequence[str] = (),
        batch_size: int = 1000,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.output_dir = output_dir
        self.scan_results_path = scan_results_path
        self.sha1s = sha1s
        self.batch_size = batch_size

    def execute(self, context: Context) -> dict[str, Any]:
        sha1s = list(self.sha1s or [])
        if self.scan_results_path:
            scan = json.loads(Path(self.scan_results_path).read_text())
            sha1s += [f["sha1"] for f in scan.get("files", []) if f.get("type") == "file" and f.get("sha1")]
        client = self.client()
        package_stats, resource_stats = LookupStats(), LookupStats()
        packages = list(client.packages_by_checksums({"sha1": sha1s}, batch_size=self.batch_size, stats=package_stats))
        resources = list(
            client.resources_by_checksums({"sha1": sha1s}, batch_size=self.batch_size, stats=resource_stats)
        )
        target = Path(self.output_dir) / "purldb-checksum-matches.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps({"packages": packages, "resources": resources}, indent=2))
        return {
            "checksums": len(set(sha1s)),
            "packages": sorted({p["purl"] for p in packages}),
            "resources": len(resources),
            "path": str(target),
            "requests": {
                "package_batches": package_stats.batches,
                "package_pages": package_stats.pages,
                "resource_batches": resource_stats.batches,
                "resource_pages": resource_stats.pages,
            },
        }


class PurlDBValidatePurlsOperator(PurlDBBaseOperator):
    """Validate purls with PurlDB (optionally checking existence); fails on an invalid one."""

    template_fields: Sequence[str] = ("purls", "purldb_conn_id")

    def __init__(
        self, *, purls: Sequence[str], check_existence: bool = False, fail_on_invalid: bool = True, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.purls = purls
        self.check_existence = check_existence
        self.fail_on_invalid = fail_on_invalid

    def execute(self, context: Context) -> list[dict[str, Any]]:
        client = self.client()
        answers = [client.validate(purl, self.check_existence) for purl in self.purls]
        invalid = [a["purl"] for a in answers if not a.get("valid")]
        if invalid and self.fail_on_invalid:
            raise ValueError(f"invalid Package URL(s): {', '.join(invalid)}")
        return answers


class PurlDBResolveDownloadURLOperator(PurlDBBaseOperator):
    """purl → download URL: PurlDB's package, then collect, then packageurl-python's purl2url."""

    template_fields: Sequence[str] = ("purl", "purldb_conn_id")

    def __init__(self, *, purl: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.purl = purl

    def execute(self, context: Context) -> dict[str, str]:
        url, source = self.client().resolve_download_url(self.purl)
        self.log.info("%s resolves to %s (from %s)", self.purl, url, source)
        return {"purl": self.purl, "download_url": url, "source": source}
