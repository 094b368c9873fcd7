"""A pure PurlDB client (no Airflow import): packages, resources, checksum lookups in batches,
validate, collect, package sets, to/from purl, and matching runs (MatchCode pipeline).

Purls are parsed and built with packageurl-python; an invalid purl is refused before any request.
Lists are DRF pages of at most 20; ``filter_by_checksums`` pages are followed by POSTing the same
body to the ``next`` URL (what PurlDB expects). 429 answers are retried after Retry-After.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packageurl import PackageURL
from packageurl.contrib.purl2url import get_download_url

from sca.common.errors import NotFoundError, PermanentServiceError
from sca.common.retry import RetryPolicy
from sca.common.transport import AsyncHttpTransport, HttpTransport

SERVICE = "PurlDB"
MAX_BATCH = 1000
PACKAGE_CHECKSUMS = ("md5", "sha1", "sha256", "sha512")
RESOURCE_CHECKSUMS = ("md5", "sha1")


class InvalidPurlError(ValueError):
    """A string that is not a Package URL (says which and why)."""


def parse_purl(purl: str) -> PackageURL:
    try:
        return PackageURL.from_string(purl)
    except ValueError as exc:
        raise InvalidPurlError(f"invalid Package URL {purl!r}: {exc}") from None


def api_base_url(base_url: str) -> str:
    base = base_url.rstrip("/")
    return base + "/" if base.endswith("/api") else base + "/api/"


@dataclass
class LookupStats:
    """What a batched checksum lookup cost: batch POSTs and follow-up page POSTs."""

    batches: int = 0
    pages: int = 0
    checksums: int = 0
    results: int = 0
    per_batch: list[int] = field(default_factory=list)


class PurlDBClient:
    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        timeout: float = 120.0,
        retry: RetryPolicy | None = None,
        transport: HttpTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        headers = {"Authorization": f"Token {token}"} if token else {}
        self.http = transport or HttpTransport(
            api_base_url(base_url), service=SERVICE, headers=headers, timeout=timeout, retry=retry
        )

    # -- packages ------------------------------------------------------------------------------
    def packages(self, *, purl: str | None = None, **filters: Any) -> Iterator[dict[str, Any]]:
        """Packages, every page (20 a page: the server caps ``page_size``).

        ``purl`` is validated and sent as the real filter ``purl`` (purldb packagedb/api.py
        ``PackageFilterSet``, MultiplePackageURLFilter ~L276-300): a purl without version matches
        every version, without qualifiers every variant. There is no ``package_url`` filter:
        django-filter ignores unknown parameters, so sending one returns the whole table.
        """
        params = {k: v for k, v in filters.items() if v is not None}
        if purl:
            params["purl"] = str(parse_purl(purl))
        return self.http.iter_pages("packages/", params or None)

    def get_package(self, uuid: str) -> dict[str, Any]:
        return dict(self.http.get_json(f"packages/{uuid}/"))

    def package_history(self, uuid: str) -> list[dict[str, Any]]:
        return list(self.http.get_json(f"packages/{uuid}/history/")["history"])

    def package_resources(self, uuid: str) -> list[dict[str, Any]]:
        """A package's resources, every page (the real action paginates: packagedb/api.py ~L400-409)."""
        return list(self.http.iter_pages(f"packages/{uuid}/resources/"))

    def enhanced_package_data(self, uuid: str) -> dict[str, Any]:
        return dict(self.http.get_json(f"packages/{uuid}/get_enhanced_package_data/"))

    def reindex_package(self, uuid: str) -> str:
        return str(self.http.get_json(f"packages/{uuid}/reindex_package/")["status"])

    # -- resources -----------------------------------------------------------------------------
    def resources(
        self, *, package: str | None = None, purl: str | None = None, **filters: Any
    ) -> Iterator[dict[str, Any]]:
        """Resources, every page. Filters are the real ResourceFilterSet's (packagedb/api.py
        ~L187-195): ``package`` (a package uuid), ``purl`` (one package), ``md5``, ``sha1``."""
        params = {k: v for k, v in filters.items() if v is not None}
        unknown = sorted(set(params) - {"md5", "sha1", "page"})
        if unknown:
            raise ValueError(f"PurlDB resources have no filter(s) {unknown}: use package, purl, md5 or sha1")
        if package:
            params["package"] = package
        if purl:
            params["purl"] = str(parse_purl(purl))
        return self.http.iter_pages("resources/", params or None)

    def get_resource(self, sha1: str) -> dict[str, Any]:
        """The resource with this sha1 (the real detail view's ``lookup_field`` is ``sha1``)."""
        return dict(self.http.get_json(f"resources/{sha1}/"))

    # -- checksum lookups ----------------------------------------------------------------------
    def _filter_pages(self, path: str, body: dict[str, Any], stats: LookupStats) -> Iterator[dict[str, Any]]:
        page = self.http.post_json(path, body, idempotent=True)  # a look-up: safe to repeat
        stats.batches += 1
        while True:
            results = page.get("results", [])
            stats.results += len(results)
            yield from results
            if not page.get("next"):
                return
            page = self.http.post_json(page["next"], body, idempotent=True)  # pages: the same body POSTed
            stats.pages += 1

    def _batched(
        self,
        path: str,
        checksums: Mapping[str, Iterable[str]],
        allowed: tuple[str, ...],
        batch_size: int,
        extra: Mapping[str, Any],
        stats: LookupStats | None,
    ) -> Iterator[dict[str, Any]]:
        unknown = sorted(set(checksums) - set(allowed))
        if unknown:
            raise ValueError(f"unsupported checksum field(s) {unknown}; {path} takes {allowed}")
        if not 0 < batch_size <= MAX_BATCH:
            raise ValueError(f"batch_size must be 1..{MAX_BATCH}")
        stats = stats if stats is not None else LookupStats()
        pairs = [(algo, value) for algo, values in checksums.items() for value in dict.fromkeys(values) if value]
        stats.checksums += len(pairs)
        for start in range(0, len(pairs), batch_size):
            body: dict[str, Any] = dict(extra)
            for algo, value in pairs[start : start + batch_size]:
                body.setdefault(algo, []).append(value)
            before = stats.results
            yield from self._filter_pages(path, body, stats)
            stats.per_batch.append(stats.results - before)

    def packages_by_checksums(
        self,
        checksums: Mapping[str, Iterable[str]],
        *,
        enhance_package_data: bool = False,
        batch_size: int = MAX_BATCH,
        stats: LookupStats | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Packages for many checksums: ≤ ``batch_size`` values per request, every page followed."""
        extra = {"enhance_package_data": True} if enhance_package_data else {}
        return self._batched("packages/filter_by_checksums/", checksums, PACKAGE_CHECKSUMS, batch_size, extra, stats)

    def resources_by_checksums(
        self, checksums: Mapping[str, Iterable[str]], *, batch_size: int = MAX_BATCH, stats: LookupStats | None = None
    ) -> Iterator[dict[str, Any]]:
        return self._batched("resources/filter_by_checksums/", checksums, RESOURCE_CHECKSUMS, batch_size, {}, stats)

    # -- purls ---------------------------------------------------------------------------------
    def validate(self, purl: str, check_existence: bool = False) -> dict[str, Any]:
        """``{valid, exists, message, purl}``. The real server answers an invalid purl with HTTP
        400 and that same body (packagedb/api.py PurlValidateViewSet ~L1183-1194): it is an
        answer, not an error."""
        params = {"purl": purl, "check_existence": "true" if check_existence else "false"}
        try:
            return dict(self.http.get_json("validate/", params=params))
        except PermanentServiceError as exc:
            if exc.status == 400 and isinstance(exc.detail, dict) and "valid" in exc.detail:
                return dict(exc.detail)
            raise

    def collect(self, purl: str) -> list[dict[str, Any]]:
        parsed = parse_purl(purl)
        if not parsed.version:
            raise InvalidPurlError(f"collect needs a versioned Package URL, not {purl!r}")
        return list(self.http.get_json("collect/", params={"purl": str(parsed)}))

    def package_sets(self) -> Iterator[dict[str, Any]]:
        return self.http.iter_pages("package_sets/")

    def to_purl(self, go_package: str) -> str:
        """A Go import or ``module version`` string → its purl (``/api/to_purl/go/``, answering
        ``package_url``: packagedb/to_purl.py ~L48-70)."""
        return str(self.http.get_json("to_purl/go/", params={"go_package": go_package})["package_url"])

    def from_purl(self, purl: str) -> str | None:
        """The package's source repository (``/api/from_purl/purl2git/``: packagedb/from_purl.py
        ~L37-55); None when PurlDB knows the package but found no repository (it answers the
        string "None"). A package PurlDB does not have is a NotFoundError naming the purl."""
        parsed = parse_purl(purl)
        try:
            repo = self.http.get_json("from_purl/purl2git/", params={"package_url": str(parsed)})["git_repo"]
        except NotFoundError as exc:
            raise NotFoundError(
                f"PurlDB at {self.base_url} does not have {parsed}: no source repository to look up",
                service=SERVICE,
                url=exc.url,
                status=404,
                detail=exc.detail,
            ) from exc
        return None if repo in (None, "", "None") else str(repo)

    def resolve_download_url(self, purl: str) -> tuple[str, str]:
        """(download URL, where it came from): PurlDB's packages, then collect, then purl2url.
        The purl needs a version: PurlDB matches a versionless purl to every version."""
        parsed = parse_purl(purl)
        if not parsed.version:
            raise InvalidPurlError(f"{purl} has no version: say which release to scan (pkg:type/name@version)")
        for package in self.packages(purl=str(parsed)):
            if package.get("download_url"):
                return str(package["download_url"]), "purldb"
        if parsed.version:
            try:
                for package in self.collect(str(parsed)):
                    if package.get("download_url"):
                        return str(package["download_url"]), "purldb-collect"
            except (PermanentServiceError, NotFoundError):
                pass
        url = get_download_url(str(parsed))
        if url:
            return url, "purl2url"
        raise PermanentServiceError(
            f"no download URL for {purl}: PurlDB at {self.base_url} has none and "
            "packageurl-python cannot infer one for this type",
            service=SERVICE,
        )

    # -- matching ------------------------------------------------------------------------------
    def submit_matching(self, scan_json: Path) -> dict[str, Any]:
        """Upload a ScanCode.io JSON scan; returns the matching project (with its run). A server
        set up with PURLDB_PUBLIC_SETUP does not route matching at all (purldb/urls.py ~L44-59)."""
        try:
            return dict(self.http.request("POST", "matching/", files={"upload_file": scan_json}).json())
        except NotFoundError as exc:
            raise PermanentServiceError(
                f"PurlDB at {self.base_url} has matching switched off (a PURLDB_PUBLIC_SETUP server "
                "routes only packages, resources and validate): point the purldb connection at a "
                "PurlDB with MatchCode, or switch PurlDB matching off for this scan",
                service=SERVICE,
                url=exc.url,
                status=404,
            ) from exc

    def get_matching(self, uuid: str) -> dict[str, Any]:
        return dict(self.http.get_json(f"matching/{uuid}/"))

    def find_matching(self, upload_name: str, pages: int = 2) -> dict[str, Any] | None:
        """The newest matching project whose uploaded input is named ``upload_name`` (list view,
        newest first; matchcode/api.py MatchingViewSet): how a submission whose answer was lost
        is found again, when the upload's name is unique to the scan."""
        page: Any = self.http.get_json("matching/")
        for _ in range(pages):
            for project in page.get("results", []) if isinstance(page, dict) else page:
                if any(s.get("filename") == upload_name for s in project.get("input_sources") or []):
                    return dict(project)
            if not isinstance(page, dict) or not page.get("next"):
                return None
            page = self.http.get_json(page["next"])
        return None

    def matching_results(self, uuid: str) -> dict[str, Any]:
        return dict(self.http.get_json(f"matching/{uuid}/results/"))

    def get_run(self, run_uuid: str) -> dict[str, Any]:
        return dict(self.http.get_json(f"runs/{run_uuid}/"))

    def delete_matching(self, uuid: str) -> bool:
        """Delete a matching project and its run (MatchingViewSet's DestroyModelMixin,
        matchcode/api.py:573-577). Idempotent: False when it was already gone."""
        try:
            self.http.request("DELETE", f"matching/{uuid}/", idempotent=True)
        except NotFoundError:
            return False
        return True

    def stop_run(self, run_uuid: str) -> dict[str, Any]:
        """Stop a running matching run (scanpipe's RunViewSet, which matchcode/api.py:337 extends;
        a run that is not running answers 400 "Pipeline is not running."). A repeat is harmless."""
        return dict(self.http.post_json(f"runs/{run_uuid}/stop_pipeline/", idempotent=True))

    def delete_run(self, run_uuid: str) -> dict[str, Any]:
        """Remove a matching run that has not started (not_started or queued) and its queued job."""
        return dict(self.http.post_json(f"runs/{run_uuid}/delete_pipeline/"))


def matching_run_uuid(project: Mapping[str, Any]) -> str:
    """The matching run's uuid, from ``runs[0]`` (not from the run's ``project`` link, which
    PurlDB builds with the runs route: ``/api/runs/<project-uuid>/``)."""
    return str(project["runs"][0]["uuid"])


# A file this small is no evidence of where code came from: a lone newline, an empty
# ``__init__.py`` or a one-line stub has the same sha1 in thousands of unrelated packages (one
# such match once named ``six`` as vendored inside ``requests``). Such matches are not counted.
MIN_EVIDENCE_BYTES = 32


def summarize_matches(scan: Mapping[str, Any], results: Mapping[str, Any]) -> dict[str, Any]:
    """Matched files per package (by purl: a wheel and an sdist of one release are one package)
    and the share of the scanned files of substance that matched. Files under
    ``MIN_EVIDENCE_BYTES`` (by the size in the results, else in the scan) never count as a match
    nor in the coverage; ``trivial_matches`` says how many matches were set aside."""
    scanned = [f for f in scan.get("files", []) if f.get("type") == "file"]
    sizes = {f.get("path"): f.get("size") for f in scanned}

    def size_of(item: Mapping[str, Any]) -> int:
        value = item.get("size") if item.get("size") is not None else sizes.get(item.get("path"))
        return int(value) if value is not None else MIN_EVIDENCE_BYTES

    candidates = [f for f in results.get("files", []) if f.get("type") == "file"]
    files = [f for f in candidates if size_of(f) >= MIN_EVIDENCE_BYTES]
    trivial = sum(1 for f in candidates if f.get("for_packages") and size_of(f) < MIN_EVIDENCE_BYTES)
    substantive = [f for f in scanned if size_of(f) >= MIN_EVIDENCE_BYTES]
    by_uid = {p["package_uid"]: p for p in results.get("packages", []) if p.get("package_uid")}
    matched: dict[str, dict[str, Any]] = {}
    for item in files:
        for uid in item.get("for_packages") or []:
            package = by_uid.get(uid, {})
            purl = str(package.get("purl") or uid)
            entry = matched.setdefault(
                purl,
                {
                    "purl": purl,
                    "package_uids": [],
                    "declared_license_expression": package.get("declared_license_expression"),
                    "download_url": package.get("download_url"),
                    "files": [],
                },
            )
            if uid not in entry["package_uids"]:
                entry["package_uids"].append(uid)
            if item["path"] not in entry["files"]:
                entry["files"].append(item["path"])
    matched_files = {path for entry in matched.values() for path in entry["files"]}
    return {
        "scanned_files": len(scanned),
        "matched_files": len(matched_files),
        # the share of the files of substance that matched (trivial ones can match nothing)
        "coverage": round(len(matched_files) / len(substantive), 4) if substantive else 0.0,
        "packages": [matched[purl] for purl in sorted(matched)],
        "trivial_matches": trivial,
    }


class AsyncPurlDBClient:
    def __init__(
        self, base_url: str, token: str | None = None, *, timeout: float = 60.0, retry: RetryPolicy | None = None
    ) -> None:
        headers = {"Authorization": f"Token {token}"} if token else {}
        self.http = AsyncHttpTransport(
            api_base_url(base_url), service=SERVICE, headers=headers, timeout=timeout, retry=retry
        )

    async def get_run(self, run_uuid: str) -> dict[str, Any]:
        return dict(await self.http.get_json(f"runs/{run_uuid}/"))

    async def stop_run(self, run_uuid: str) -> dict[str, Any]:
        return dict(await self.http.post_json(f"runs/{run_uuid}/stop_pipeline/", idempotent=True))

    async def delete_run(self, run_uuid: str) -> dict[str, Any]:
        return dict(await self.http.post_json(f"runs/{run_uuid}/delete_pipeline/"))
