"""A pure ScanCode.io REST client (no Airflow import): every endpoint of the REST API that
ScanCode.io 38.2 serves, token auth, typed errors, pagination followed, streamed downloads.

Routes follow the server, not the older doc, where they differ: messages are at
``/projects/{uuid}/messages/`` (the doc's ``errors/`` is 404 in 38.2) and the pipelines list is at
``/projects/pipelines/``. Runs have no list route.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from sca.common.errors import PermanentServiceError
from sca.common.retry import RetryPolicy
from sca.common.transport import AsyncHttpTransport, HttpTransport

SERVICE = "ScanCode.io"
log = logging.getLogger(__name__)
# scanpipe/api/views.py ProjectViewSet.results_download (38.2): these formats, ort-package-list too.
OUTPUT_FORMATS = (
    "json",
    "xlsx",
    "spdx",
    "cyclonedx",
    "attribution",
    "ort-package-list",
    "all_formats",
    "all_outputs",
)
RESULT_SECTIONS = ("packages", "dependencies", "files", "relations")
# scanpipe/apps.py ScanPipeConfig.get_new_pipeline_name (38.2): old names the server still takes.
PIPELINE_OLD_NAMES = {
    "docker": "analyze_docker_image",
    "root_filesystems": "analyze_root_filesystem_or_vm_image",
    "docker_windows": "analyze_windows_docker_image",
    "inspect_manifest": "inspect_packages",
    "deploy_to_develop": "map_deploy_to_develop",
    "scan_package": "scan_single_package",
    "scan_codebase_packages": "inspect_packages",
    "collect_pygments_symbols": "collect_symbols_pygments",
    "collect_source_strings": "collect_strings_gettext",
    "collect_symbols": "collect_symbols_ctags",
    "collect_tree_sitter_symbols": "collect_symbols_tree_sitter",
}
DEFAULT_OUTPUT_NAMES = {
    "ort-package-list": "scancodeio-ort-package-list.yml",
    "json": "scancodeio-results.json",
    "xlsx": "scancodeio-results.xlsx",
    "spdx": "scancodeio-sbom.spdx.json",
    "cyclonedx": "scancodeio-sbom.cdx.json",
    "attribution": "scancodeio-attribution.html",
    "all_formats": "scancodeio-all-formats.zip",
    "all_outputs": "scancodeio-all-outputs.zip",
}
REPORT_MODELS = ("package", "dependency", "resource", "relation", "message", "todo")
FAIL_LEVELS = ("ERROR", "WARNING", "MISSING")
ALREADY_EXISTS = "project with this name already exists."


def api_base_url(base_url: str) -> str:
    """``http://host:port`` or ``http://host:port/api`` → ``http://host:port/api/``."""
    base = base_url.rstrip("/")
    return base + "/" if base.endswith("/api") else base + "/api/"


def auth_headers(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Token {token}"} if token else {}


def _bool(value: bool) -> str:
    return "true" if value else "false"


def pipeline_specs(pipelines: Iterable[str]) -> list[str]:
    """Pipelines as the API takes them: ``name`` or ``name:group1,group2``, blanks dropped, old
    names (``scan_package``) replaced by the current ones, as the server itself does."""
    specs = []
    for raw in pipelines:
        spec = (raw or "").strip()
        if not spec:
            continue
        name, sep, groups = spec.partition(":")
        new = PIPELINE_OLD_NAMES.get(name.strip())
        if new:
            log.warning("ScanCode.io pipeline %s is now named %s: using %s", name.strip(), new, new)
            spec = new + sep + groups
        specs.append(spec)
    return specs


def pipeline_base_name(spec: str) -> str:
    return spec.split(":", 1)[0].strip()


# A project's settings file among its inputs (scanpipe/settings.py CONFIG_FILE, 38.2).
CONFIG_FILE = "scancode-config.yml"


def _sections(sections: Sequence[str]) -> dict[str, list[str]]:
    unknown = sorted(set(sections) - set(RESULT_SECTIONS))
    if unknown:
        raise ValueError(f"unknown results section(s) {unknown}: one of {RESULT_SECTIONS}")
    return {"sections": list(sections)} if sections else {}


def is_name_taken(error: PermanentServiceError) -> bool:
    detail = error.detail
    return isinstance(detail, dict) and ALREADY_EXISTS in (detail.get("name") or [])


class ScanCodeIOClient:
    """Synchronous client. ``base_url`` is the server root (``http://host:port``)."""

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        timeout: float = 300.0,
        retry: RetryPolicy | None = None,
        transport: HttpTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = transport or HttpTransport(
            api_base_url(base_url),
            service=SERVICE,
            headers=auth_headers(token),
            timeout=timeout,
            retry=retry,
        )

    # -- pipelines ------------------------------------------------------------------------
    def list_pipelines(self) -> list[dict[str, Any]]:
        return list(self.http.get_json("projects/pipelines/"))

    def validate_pipelines(self, pipelines: Iterable[str]) -> list[str]:
        """The specs, checked against the server's pipelines list (and their groups)."""
        specs = pipeline_specs(pipelines)
        if not specs:
            raise ValueError("at least one ScanCode.io pipeline is required")
        known = {p["name"]: p for p in self.list_pipelines()}
        for spec in specs:
            name = pipeline_base_name(spec)
            if name not in known:
                raise ValueError(
                    f"unknown ScanCode.io pipeline {name!r}; the server at {self.base_url} has: "
                    + ", ".join(sorted(known))
                )
            wanted = {g.strip() for g in spec.partition(":")[2].split(",") if g.strip()}
            groups = {g for step in known[name].get("steps", []) for g in step.get("groups") or []}
            if wanted - groups:
                raise ValueError(
                    f"pipeline {name!r} has no group(s) {sorted(wanted - groups)}; "
                    f"its groups are {sorted(groups) or 'none'}"
                )
        return specs

    def server_version(self) -> str | None:
        """The server's version as its newest run states it (``scancodeio_version``); ScanCode.io
        has no version endpoint, so a server without any run yet answers None."""
        page = self.http.get_json("projects/")
        runs = [r for project in page.get("results") or [] for r in project.get("runs") or []]
        runs.sort(key=lambda r: r.get("created_date") or "", reverse=True)
        return next((str(r["scancodeio_version"]) for r in runs if r.get("scancodeio_version")), None)

    # -- projects -------------------------------------------------------------------------
    def list_projects(self, **filters: Any) -> Iterator[dict[str, Any]]:
        """Projects, every page; filters: name, name__contains, uuid, is_archived, label, ..."""
        params = {k: (_bool(v) if isinstance(v, bool) else v) for k, v in filters.items() if v is not None}
        return self.http.iter_pages("projects/", params)

    def find_project(self, name: str) -> dict[str, Any] | None:
        """The project with exactly this name (detail view), or None."""
        for project in self.list_projects(name=name):
            if project.get("name") == name:
                return self.get_project(project["uuid"])
        return None

    def get_project(self, uuid: str) -> dict[str, Any]:
        return dict(self.http.get_json(f"projects/{uuid}/"))

    def create_project(
        self,
        name: str,
        *,
        pipelines: Sequence[str] = (),
        input_urls: Sequence[str] = (),
        upload_file: Path | None = None,
        upload_file_tag: str | None = None,
        execute_now: bool = False,
        labels: Sequence[str] = (),
        notes: str | None = None,
        webhook_url: str | None = None,
        webhooks: Sequence[Mapping[str, Any]] = (),
        purl: str | None = None,
        settings: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Create a project; multipart when uploading a file, JSON otherwise. ``purl`` names what
        the project is. ``settings`` (``ignored_patterns``, ``product_name``, ``policies`` …) are
        given the way the server reads them: 38.2's create answers 201 to a ``settings`` field but
        stores ``{}`` (measured on the stack's server), and the project API has no update; a
        project's env comes from a ``scancode-config.yml`` among its inputs
        (scanpipe/models.py ``get_env``, ``get_input_config_file``), so that file is uploaded before
        any pipeline runs."""
        if settings:
            single = [p for p in pipelines if p.split(":", 1)[0] in ("scan_single_package", "scan_package")]
            if single:
                raise ValueError(
                    f"ScanCode.io settings travel as a second input ({CONFIG_FILE}), and {single[0]} takes "
                    "exactly one input file (scanpipe get_package_input: 'Only 1 input file supported'): "
                    "use scan_codebase, or give no settings"
                )
            project = self.create_project(
                name,
                pipelines=pipelines,
                input_urls=input_urls,
                upload_file=upload_file,
                upload_file_tag=upload_file_tag,
                execute_now=False,
                labels=labels,
                notes=notes,
                webhook_url=webhook_url,
                webhooks=webhooks,
                purl=purl,
            )
            self.add_settings(project["uuid"], settings)
            if execute_now and project.get("runs"):
                self.start_pipeline(project["runs"][0]["uuid"])
            return dict(self.get_project(project["uuid"]))
        if upload_file is None:
            payload: dict[str, Any] = {"name": name, "execute_now": execute_now}
            if purl:
                payload["purl"] = purl
            if pipelines:
                payload["pipeline"] = list(pipelines)
            if input_urls:
                payload["input_urls"] = list(input_urls)
            if labels:
                payload["labels"] = list(labels)
            for key, value in (("notes", notes), ("webhook_url", webhook_url)):
                if value:
                    payload[key] = value
            if webhooks:
                payload["webhooks"] = [dict(w) for w in webhooks]
            return dict(self.http.post_json("projects/", payload))
        if webhooks:
            raise ValueError("webhooks (a list of objects) need a JSON create: use webhook_url, or add_webhook")
        form: list[tuple[str, Any]] = [("name", name), ("execute_now", _bool(execute_now))]
        if purl:
            form.append(("purl", purl))
        form += [("pipeline", p) for p in pipelines]
        form += [("input_urls", u) for u in input_urls]
        form += [("labels", label) for label in labels]
        for key, value in (("upload_file_tag", upload_file_tag), ("notes", notes), ("webhook_url", webhook_url)):
            if value:
                form.append((key, value))
        return dict(self.http.request("POST", "projects/", data=form, files={"upload_file": upload_file}).json())

    def delete_project(self, uuid: str) -> None:
        self.http.request("DELETE", f"projects/{uuid}/")

    def add_input(
        self,
        uuid: str,
        *,
        input_urls: Sequence[str] = (),
        upload_file: Path | None = None,
        upload_file_tag: str | None = None,
    ) -> dict[str, Any]:
        if upload_file is None:
            return dict(self.http.post_json(f"projects/{uuid}/add_input/", {"input_urls": list(input_urls)}))
        form: list[tuple[str, Any]] = [("input_urls", u) for u in input_urls]
        if upload_file_tag:
            form.append(("upload_file_tag", upload_file_tag))
        return dict(
            self.http.request(
                "POST", f"projects/{uuid}/add_input/", data=form, files={"upload_file": upload_file}
            ).json()
        )

    def add_settings(self, uuid: str, settings: Mapping[str, Any]) -> dict[str, Any]:
        """Upload ``settings`` as the project's ``scancode-config.yml`` input, which the pipelines
        read as the project's env (scanpipe_settings.CONFIG_FILE)."""
        import tempfile

        import yaml

        with tempfile.TemporaryDirectory() as folder:
            config = Path(folder) / CONFIG_FILE
            config.write_text(yaml.safe_dump(dict(settings), sort_keys=True))
            return self.add_input(uuid, upload_file=config)

    def add_pipeline(self, uuid: str, pipeline: str, *, execute_now: bool = False) -> dict[str, Any]:
        return dict(
            self.http.post_json(f"projects/{uuid}/add_pipeline/", {"pipeline": pipeline, "execute_now": execute_now})
        )

    def add_webhook(
        self,
        uuid: str,
        target_url: str,
        *,
        trigger_on_each_run: bool = False,
        include_summary: bool = False,
        include_results: bool = False,
        is_active: bool = True,
    ) -> dict[str, Any]:
        return dict(
            self.http.post_json(
                f"projects/{uuid}/add_webhook/",
                {
                    "target_url": target_url,
                    "trigger_on_each_run": trigger_on_each_run,
                    "include_summary": include_summary,
                    "include_results": include_results,
                    "is_active": is_active,
                },
            )
        )

    def archive(
        self, uuid: str, *, remove_input: bool = False, remove_codebase: bool = False, remove_output: bool = False
    ) -> dict[str, Any]:
        return dict(
            self.http.post_json(
                f"projects/{uuid}/archive/",
                {
                    "remove_input": remove_input,
                    "remove_codebase": remove_codebase,
                    "remove_output": remove_output,
                },
            )
        )

    def reset(
        self,
        uuid: str,
        *,
        keep_input: bool = True,
        keep_webhook: bool = True,
        restore_pipelines: bool = False,
        execute_now: bool = False,
    ) -> dict[str, Any]:
        """Delete the project's runs and results (scanpipe ProjectResetSerializer, 38.2)."""
        return dict(
            self.http.post_json(  # a second reset deletes and restores the same runs again: retried
                f"projects/{uuid}/reset/",
                {
                    "keep_input": keep_input,
                    "keep_webhook": keep_webhook,
                    "restore_pipelines": restore_pipelines,
                    "execute_now": execute_now,
                },
                idempotent=True,
            )
        )

    # -- results --------------------------------------------------------------------------
    def compliance(self, uuid: str, fail_level: str = "ERROR") -> dict[str, Any]:
        level = fail_level.upper()
        if level not in FAIL_LEVELS:  # the server answers 500 to an unknown level
            raise ValueError(f"fail_level must be one of {FAIL_LEVELS}, not {fail_level!r}")
        return dict(self.http.get_json(f"projects/{uuid}/compliance/", params={"fail_level": level}))

    def license_clarity_compliance(self, uuid: str) -> str | None:
        body = self.http.get_json(f"projects/{uuid}/license_clarity_compliance/")
        return body.get("license_clarity_compliance_alert")

    def scorecard_compliance(self, uuid: str) -> str | None:
        body = self.http.get_json(f"projects/{uuid}/scorecard_compliance/")
        return body.get("scorecard_compliance_alert")

    def messages(self, uuid: str) -> list[dict[str, Any]]:
        """The project's messages (errors and warnings logged by pipelines), every page."""
        return list(self.http.iter_pages(f"projects/{uuid}/messages/"))

    def file_content(self, uuid: str, path: str) -> str:
        return str(self.http.get_json(f"projects/{uuid}/file_content/", params={"path": path})["file_content"])

    def packages(self, uuid: str, **filters: Any) -> Iterator[dict[str, Any]]:
        return self.http.iter_pages(f"projects/{uuid}/packages/", filters or None)

    def resources(self, uuid: str, **filters: Any) -> Iterator[dict[str, Any]]:
        return self.http.iter_pages(f"projects/{uuid}/resources/", filters or None)

    def dependencies(self, uuid: str, **filters: Any) -> Iterator[dict[str, Any]]:
        return self.http.iter_pages(f"projects/{uuid}/dependencies/", filters or None)

    def relations(self, uuid: str, **filters: Any) -> Iterator[dict[str, Any]]:
        return self.http.iter_pages(f"projects/{uuid}/relations/", filters or None)

    def summary(self, uuid: str) -> dict[str, Any]:
        return dict(self.http.get_json(f"projects/{uuid}/summary/"))

    def results(self, uuid: str, sections: Sequence[str] = ()) -> dict[str, Any]:
        """The ScanCode-format results; ``sections`` limits them (packages, dependencies, files, relations)."""
        return dict(self.http.get_json(f"projects/{uuid}/results/", params=_sections(sections)))

    def outputs(self, uuid: str) -> list[dict[str, Any]]:
        return list(self.http.get_json(f"projects/{uuid}/outputs/"))

    def download_output(self, uuid: str, filename: str, destination_dir: Path) -> Path:
        return self.http.download(
            f"projects/{uuid}/outputs/", destination_dir, params={"filename": filename}, filename=filename
        )

    def download_results(
        self,
        uuid: str,
        output_format: str,
        destination_dir: Path,
        *,
        version: str | None = None,
        filename: str | None = None,
        sections: Sequence[str] = (),
    ) -> Path:
        """Stream one results format to disk; named ``filename``, else the server's name (sanitised).
        ``sections`` (json only) limits the results to some of packages/dependencies/files/relations."""
        if output_format not in OUTPUT_FORMATS:
            raise ValueError(f"output_format must be one of {OUTPUT_FORMATS}, not {output_format!r}")
        if sections and output_format != "json":
            raise ValueError("sections apply to the json output only")
        params: dict[str, Any] = {"output_format": output_format} | ({"version": version} if version else {})
        params |= _sections(sections)
        # The two zip formats share one server filename: keep them apart.
        prefix = f"{output_format}-" if output_format.startswith("all_") else ""
        return self.http.download(
            f"projects/{uuid}/results_download/",
            destination_dir,
            params=params,
            default_name=DEFAULT_OUTPUT_NAMES[output_format],
            name_prefix=prefix,
            filename=filename,
        )

    def projects_report(self, model: str, destination_dir: Path, **filters: Any) -> Path:
        """The cross-project XLSX report for projects matching ``filters``."""
        if model not in REPORT_MODELS:
            raise ValueError(f"model must be one of {REPORT_MODELS}, not {model!r}")
        return self.http.download(
            "projects/report/", destination_dir, params={"model": model, **filters}, default_name=f"report-{model}.xlsx"
        )

    # -- runs ------------------------------------------------------------------------------
    def get_run(self, run_uuid: str) -> dict[str, Any]:
        return dict(self.http.get_json(f"runs/{run_uuid}/"))

    def start_pipeline(self, run_uuid: str) -> dict[str, Any]:
        return dict(self.http.post_json(f"runs/{run_uuid}/start_pipeline/"))

    def stop_pipeline(self, run_uuid: str) -> dict[str, Any]:
        """Repeating a stop is harmless (the second answers 400 "not running"): retried."""
        return dict(self.http.post_json(f"runs/{run_uuid}/stop_pipeline/", idempotent=True))

    def delete_pipeline(self, run_uuid: str) -> dict[str, Any]:
        return dict(self.http.post_json(f"runs/{run_uuid}/delete_pipeline/"))


class AsyncScanCodeIOClient:
    """The read side a trigger needs, over aiohttp."""

    def __init__(
        self, base_url: str, token: str | None = None, *, timeout: float = 60.0, retry: RetryPolicy | None = None
    ) -> None:
        self.http = AsyncHttpTransport(
            api_base_url(base_url), service=SERVICE, headers=auth_headers(token), timeout=timeout, retry=retry
        )

    async def get_run(self, run_uuid: str) -> dict[str, Any]:
        return dict(await self.http.get_json(f"runs/{run_uuid}/"))

    async def get_project(self, uuid: str) -> dict[str, Any]:
        return dict(await self.http.get_json(f"projects/{uuid}/"))

    async def stop_pipeline(self, run_uuid: str) -> dict[str, Any]:
        """Repeating a stop is harmless (the second answers 400 "not running"): retried."""
        return dict(await self.http.post_json(f"runs/{run_uuid}/stop_pipeline/", idempotent=True))
