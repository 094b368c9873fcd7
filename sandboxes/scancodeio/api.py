"""The ScanCode.io REST routes (scanpipe/api/views.py, routed by scancodeio/urls.py's DefaultRouter)."""

from __future__ import annotations

import json
import re
import time
import uuid as uuid_module
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from sandboxes.scancodeio import catalog, formats, webhooks
from sandboxes.scancodeio.execution import file_stamp
from sandboxes.scancodeio.http_util import (
    ApiReply,
    FileReply,
    RequestData,
    not_found_page,
    paginate,
    server_error,
    status_error,
    to_bool,
)
from sandboxes.scancodeio.model import InputSource, Project, Run
from sandboxes.scancodeio.shapes import project_view, run_view

if TYPE_CHECKING:
    from sandboxes.scancodeio.server import ScanCodeIOSandbox

Query = dict[str, list[str]]
UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$")
LOOKUP = r"(?P<pk>[^/.]+)"
PROJECT_ACTIONS = {  # @action(detail=True, methods=...) in ProjectViewSet (views.py:158-549)
    "results": ("GET",),
    "results_download": ("GET",),
    "summary": ("GET",),
    "resources": ("GET",),
    "packages": ("GET",),
    "dependencies": ("GET",),
    "relations": ("GET",),
    "messages": ("GET",),
    "file_content": ("GET",),
    "add_pipeline": ("GET", "POST"),
    "add_input": ("GET", "POST"),
    "add_webhook": ("POST",),
    "archive": ("GET", "POST"),
    "reset": ("GET", "POST"),
    "outputs": ("GET",),
    "compliance": ("GET",),
    "license_clarity_compliance": ("GET",),
    "scorecard_compliance": ("GET",),
}
RUN_ACTIONS = ("start_pipeline", "stop_pipeline", "delete_pipeline")  # views.py:558-590
# (route template for the counters, pattern, {method: handler name})
ROUTES: list[tuple[str, re.Pattern[str], dict[str, str]]] = [
    ("/api/", re.compile(r"^/api/$"), {"GET": "api_root"}),
    ("/api/projects/", re.compile(r"^/api/projects/$"), {"GET": "project_list", "POST": "project_create"}),
    ("/api/projects/pipelines/", re.compile(r"^/api/projects/pipelines/$"), {"GET": "pipelines"}),
    ("/api/projects/report/", re.compile(r"^/api/projects/report/$"), {"GET": "report"}),
    (
        "/api/projects/{uuid}/",
        re.compile(rf"^/api/projects/{LOOKUP}/$"),
        {"GET": "project_detail", "DELETE": "project_delete"},
    ),
    ("/api/runs/{uuid}/", re.compile(rf"^/api/runs/{LOOKUP}/$"), {"GET": "run_detail"}),
]
for _name, _methods in PROJECT_ACTIONS.items():
    ROUTES.append(
        (
            f"/api/projects/{{uuid}}/{_name}/",
            re.compile(rf"^/api/projects/{LOOKUP}/{_name}/$"),
            {m: f"action_{_name}" for m in _methods},
        )
    )
for _name in RUN_ACTIONS:
    ROUTES.append((f"/api/runs/{{uuid}}/{_name}/", re.compile(rf"^/api/runs/{LOOKUP}/{_name}/$"), {"POST": _name}))


def resolve(path: str) -> tuple[str, dict[str, str], dict[str, str]] | None:
    for template, pattern, methods in ROUTES:
        match = pattern.match(path)
        if match:
            return template, methods, match.groupdict()
    return None


class Api:
    """One request's view of the sandbox: ``base`` is the scheme and host the client used."""

    def __init__(self, sandbox: ScanCodeIOSandbox, base: str, path: str, method: str) -> None:
        self.sandbox = sandbox
        self.method = method
        self.store = sandbox.store
        self.base = base
        self.url = base + path

    # -- lookups ---------------------------------------------------------------------------------
    def project(self, pk: str) -> Project:
        """GenericAPIView.get_object: a non-UUID is DRF's bare 404, an unknown one Django's message."""
        if not UUID_RE.match(pk):
            raise ApiReply(404, {"detail": "Not found."})
        project = self.store.projects.get(str(uuid_module.UUID(pk)))
        if project is None:
            raise ApiReply(404, {"detail": "No Project matches the given query."})
        return project

    def run(self, pk: str) -> Run:
        if not UUID_RE.match(pk):
            raise ApiReply(404, {"detail": "Not found."})
        run = self.store.runs.get(str(uuid_module.UUID(pk)))
        if run is None:
            raise ApiReply(404, {"detail": "No Run matches the given query."})
        return run

    def call(self, handler: str, query: Query, data: Callable[[], RequestData], params: dict[str, str]) -> Any:
        method: Callable[..., Any] = getattr(self, handler)
        return method(query=query, data=data, **params)

    # -- root, pipelines, list, create -----------------------------------------------------------------
    def api_root(self, query: Query, data: Callable[[], RequestData]) -> tuple[int, Any]:
        return 200, {"projects": f"{self.base}/api/projects/"}

    def pipelines(self, query: Query, data: Callable[[], RequestData]) -> tuple[int, Any]:
        return 200, catalog.pipelines_info()

    def filtered_projects(self, query: Query) -> list[Project]:
        """ProjectFilterSet (views.py:81-129); ordering ``-created_date`` (models.py:602-603)."""
        rows = sorted(self.store.projects.values(), key=lambda p: p.created, reverse=True)

        def value(key: str) -> str | None:
            found = query.get(key)
            return found[-1] if found and found[-1] != "" else None

        if (name := value("name")) is not None:
            rows = [p for p in rows if p.name == name]
        for key, test in (
            ("name__contains", str.__contains__),
            ("name__startswith", str.startswith),
            ("name__endswith", str.endswith),
        ):
            if (text := value(key)) is not None:
                rows = [p for p in rows if test(p.name, text)]
        if (names := value("names")) is not None:
            wanted = [n.strip() for n in names.split(",") if n.strip()]
            rows = [p for p in rows if any(n in p.name for n in wanted)]
        if (pk := value("uuid")) is not None:
            if not UUID_RE.match(pk):
                raise server_error()  # "badly formed hexadecimal UUID string", uncaught
            rows = [p for p in rows if p.uuid == str(uuid_module.UUID(pk))]
        archived = value("is_archived")
        if archived in ("true", "True", "1", "false", "False", "0"):
            rows = [p for p in rows if p.is_archived == (archived in ("true", "True", "1"))]
        if (label := value("label")) is not None:
            rows = [p for p in rows if label in p.labels]
        return rows

    def project_list(self, query: Query, data: Callable[[], RequestData]) -> tuple[int, Any]:
        with self.store.lock:
            views = [project_view(p, self.base, detail=False) for p in self.filtered_projects(query)]
        return 200, paginate(self.url, query, views, self.sandbox.page_size)

    def project_create(self, query: Query, data: Callable[[], RequestData]) -> tuple[int, Any, dict[str, str]]:
        """ProjectSerializer validation then ``create`` (serializers.py:295-335)."""
        body = data()
        errors: dict[str, list[str]] = {}
        name = body.get("name")
        with self.store.lock:
            if name is None:
                errors["name"] = ["This field is required."]
            elif str(name).strip() == "":
                errors["name"] = ["This field may not be blank."]
            elif len(str(name).strip()) > 100:
                errors["name"] = ["Ensure this field has no more than 100 characters."]
            elif self.store.project_by_name(str(name).strip()) is not None:
                errors["name"] = ["project with this name already exists."]
            pipelines = body.getlist("pipeline")
            if isinstance(pipelines, str):
                pipelines = [pipelines]
            pipelines = list(pipelines or [])
            for spec in pipelines:
                if catalog.resolve_pipeline(str(spec)) is None:
                    base_name = catalog.split_groups(str(spec))[0]
                    bad = catalog.OLD_PIPELINE_NAMES.get(base_name, base_name)
                    errors["pipeline"] = [f'"{bad}" is not a valid choice.']
                    break
            execute_now = False
            if body.has("execute_now"):
                parsed = to_bool(body.get("execute_now"))
                if parsed is None:
                    errors["execute_now"] = ["Must be a valid boolean."]
                execute_now = bool(parsed)
            raw_urls = body.getlist("input_urls") or []
            urls = raw_urls.split() if isinstance(raw_urls, str) else [str(u) for u in raw_urls]
            urls = [u for entry in urls for u in entry.split()]  # validate_input_urls (serializers.py:281-283)
            labels = body.getlist("labels") or []
            labels = [labels] if isinstance(labels, str) else [str(label) for label in labels]
            subscriptions, webhook_errors = webhooks.create_subscriptions(body)
            errors.update(webhook_errors)
            if errors:
                raise ApiReply(400, errors)
            project = Project(name=str(name).strip(), created=time.time())
            project.notes = str(body.get("notes") or "")
            project.purl = str(body.get("purl") or "")
            project.labels = sorted({label.strip() for label in labels if label.strip()})  # models.py:633
            upload = body.files.get("upload_file")
            if upload is not None:
                tag = str(body.get("upload_file_tag") or "")
                project.inputs.append(InputSource(filename=upload[0], is_uploaded=True, tag=tag, content=upload[1]))
            for url in urls:
                project.inputs.append(InputSource(filename="", download_url=url, tag=urlsplit(url).fragment[:50]))
            if upload is None and not project.purl and len(urls) == 1:
                # set_project_purl_from_input_url (pipes/fetch.py:517-521), url2purl's generic fallback
                file_name = urlsplit(urls[0]).path.rsplit("/", 1)[-1]
                project.purl = f"pkg:generic/{file_name}?download_url={urls[0]}" if file_name else ""
            project.webhooks.extend(subscriptions)  # serializers.py:329-333
            self.store.projects[project.uuid] = project
            for spec in pipelines:
                self.add_run(project, str(spec), execute_now=False)
            view = project_view(project, self.base, detail=False)  # serialized before on_commit
            if execute_now:
                for run in project.runs:
                    if project.can_start(run):
                        self.sandbox.pool.enqueue(run)
        return 201, view, {"Location": view["url"]}

    def add_run(self, project: Project, spec: str, *, execute_now: Any) -> Run:
        """Project.add_pipeline (models.py:1279-1307): a Run; started at commit when it can start."""
        resolved = catalog.resolve_pipeline(spec)
        assert resolved is not None
        name, groups = resolved
        info = catalog.pipeline_info(name) or {}
        run = Run(project.uuid, name, str(info.get("summary", "")), groups, time.time())
        project.runs.append(run)
        self.store.runs[run.uuid] = run
        if execute_now and project.can_start(run):
            self.sandbox.pool.enqueue(run)
        return run

    def report(self, query: Query, data: Callable[[], RequestData]) -> Any:
        """views.py:234-266: an XLSX over the filtered projects; ``model`` required."""
        choices = "package, dependency, resource, relation, message, todo"
        model = (query.get("model") or [""])[-1]
        if not model:
            message = "Specifies the model to include in the XLSX report. Using: ?model=MODEL"
            raise status_error({"error": message, "choices": choices})
        if model not in choices.split(", "):
            raise status_error({"error": f"{model} is not on of the valid choices", "choices": choices})
        with self.store.lock:
            names = [p.name for p in self.filtered_projects(query)]
        content = formats.zip_of({"[Content_Types].xml": b"<Types/>", "xl/projects.txt": "\n".join(names).encode()})
        return FileReply(content, formats.content_type(".xlsx"), f"scancodeio-report-{file_stamp(time.time())}.xlsx")

    # -- one project ---------------------------------------------------------------------------------
    def project_detail(self, query: Query, data: Callable[[], RequestData], pk: str) -> tuple[int, Any]:
        with self.store.lock:
            project = self.project(pk)
            project.detail_calls += 1
            return 200, project_view(project, self.base, detail=True)

    def project_delete(self, query: Query, data: Callable[[], RequestData], pk: str) -> tuple[int, Any]:
        """views.py:419-423 → Project.delete (models.py:725-735)."""
        with self.store.lock:
            project = self.project(pk)
            if project.run_in_progress():
                raise status_error("Cannot delete project while a run is in progress.")
            for run in project.runs:
                self.store.runs.pop(run.uuid, None)
                self.store.finished_runs.append(run)
            del self.store.projects[project.uuid]
        return 204, None

    def action_add_pipeline(self, query: Query, data: Callable[[], RequestData], pk: str) -> tuple[int, Any]:
        """views.py:345-366. ``execute_now`` is read raw (``request.data.get``), not as a boolean."""
        body = data()
        with self.store.lock:
            project = self.project(pk)
            spec = body.get("pipeline")
            if spec:
                if catalog.resolve_pipeline(str(spec)) is None:
                    raise status_error(f"{spec} is not a valid pipeline.")
                self.add_run(project, str(spec), execute_now=body.get("execute_now"))
                return 201, {"status": "Pipeline added."}
        raise status_error({"status": "Pipeline required.", "pipelines": catalog.pipeline_names()})

    def action_add_input(self, query: Query, data: Callable[[], RequestData], pk: str) -> tuple[int, Any]:
        """views.py:368-401."""
        body = data()
        with self.store.lock:
            project = self.project(pk)
            if not project.can_change_inputs:
                raise status_error("Cannot add inputs once a pipeline has started to execute.")
            upload = body.files.get("upload_file")
            raw = body.getlist("input_urls") or []
            urls = raw.split() if isinstance(raw, str) else [str(u) for u in raw]
            urls = [u for entry in urls for u in entry.split()]
            if not (upload or urls):
                raise status_error("upload_file or input_urls required.")
            if upload:
                tag = str(body.get("upload_file_tag") or "")
                project.inputs.append(InputSource(filename=upload[0], is_uploaded=True, tag=tag, content=upload[1]))
            for url in urls:
                project.inputs.append(InputSource(filename="", download_url=url, tag=urlsplit(url).fragment[:50]))
        return 201, {"status": "Input(s) added."}

    def action_add_webhook(self, query: Query, data: Callable[[], RequestData], pk: str) -> tuple[int, Any]:
        """views.py:403-417 with WebhookSubscriptionSerializer (serializers.py:150-159)."""
        body = data()
        with self.store.lock:
            project = self.project(pk)
            subscription, errors = webhooks.subscription_from_request(body)
            if subscription is None:
                raise status_error(errors)
            project.webhooks.append(subscription)
        return 201, {"status": "Webhook added."}

    def booleans(self, body: RequestData, defaults: dict[str, bool]) -> dict[str, bool]:
        """A Serializer of optional BooleanFields; 400 ``{field: ["Must be a valid boolean."]}``."""
        values, errors = dict(defaults), {}
        for key in defaults:
            if body.has(key):
                parsed = to_bool(body.get(key))
                if parsed is None:
                    errors[key] = ["Must be a valid boolean."]
                else:
                    values[key] = parsed
        if errors:
            raise status_error(errors)
        return values

    def action_archive(self, query: Query, data: Callable[[], RequestData], pk: str) -> tuple[int, Any]:
        return self.archive(self.method, data, pk)

    def action_reset(self, query: Query, data: Callable[[], RequestData], pk: str) -> tuple[int, Any]:
        return self.reset(self.method, data, pk)

    def archive(self, method: str, data: Callable[[], RequestData], pk: str) -> tuple[int, Any]:
        """views.py:425-452 → Project.archive (models.py:659-684)."""
        with self.store.lock:
            project = self.project(pk)
            if method == "GET":
                return 200, {
                    "status": "POST on this URL to archive the project. You can choose to remove workspace "
                    "directories by providing the following parameters: `remove_input=True`, "
                    "`remove_codebase=True`, `remove_output=True`."
                }
            options = self.booleans(data(), {"remove_input": False, "remove_codebase": False, "remove_output": False})
            if project.run_in_progress():
                raise status_error("Cannot archive project while a run is in progress.")
            if options["remove_input"]:
                for source in project.inputs:
                    source.content = None
            if options["remove_output"]:
                project.outputs = {}
            project.is_archived = True
            return 200, {"status": f"The project {project.name} has been archived."}

    def reset(self, method: str, data: Callable[[], RequestData], pk: str) -> tuple[int, Any]:
        """views.py:454-476 → Project.reset (models.py:737-787)."""
        with self.store.lock:
            project = self.project(pk)
            if method == "GET":
                return 200, {"status": "POST on this URL to reset the project."}
            options = self.booleans(
                data(), {"keep_input": True, "keep_webhook": True, "restore_pipelines": False, "execute_now": False}
            )
            if project.run_in_progress():
                raise status_error("Cannot reset project while a run is in progress.")
            restore = [(run.pipeline_name, run.selected_groups) for run in project.runs]
            for run in project.runs:
                self.store.runs.pop(run.uuid, None)
                self.store.finished_runs.append(run)
            project.runs = []
            project.clear_inventory()
            if not options["keep_input"]:
                project.inputs = []
            if not options["keep_webhook"]:
                project.webhooks = []
            if options["restore_pipelines"]:
                for name, groups in restore:
                    spec = name + (":" + ",".join(groups) if groups is not None else "")
                    self.add_run(project, spec, execute_now=options["execute_now"])
            return 200, {"status": f"The {project.name} project has been reset."}

    # -- results -------------------------------------------------------------------------------------
    def filtered(self, query: Query, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The django-filter FilterSets of the list actions, as exact matches on the serialized
        fields; ``size`` must be a number (views.py:268-283: 400 ``{"errors": …}``)."""
        reserved = {"page", "format", "search", "ordering"}
        for key, values in query.items():
            value = values[-1]
            if key in reserved or value == "" or not rows or key not in rows[0]:
                continue
            if key == "size":
                try:
                    number = int(value)
                except ValueError:
                    raise ApiReply(400, {"errors": {"size": ["Enter a number."]}}) from None
                rows = [r for r in rows if r.get("size") == number]
            else:
                rows = [r for r in rows if str(r.get(key)) == value]
        return rows

    def listing(self, query: Query, pk: str, pick: Callable[[Project], list[dict[str, Any]]]) -> tuple[int, Any]:
        with self.store.lock:
            rows = list(pick(self.project(pk)))
        return 200, paginate(self.url, query, self.filtered(query, rows), self.sandbox.page_size)

    def action_resources(self, query: Query, data: Callable[[], RequestData], pk: str) -> tuple[int, Any]:
        return self.listing(query, pk, lambda p: p.resources)

    def action_packages(self, query: Query, data: Callable[[], RequestData], pk: str) -> tuple[int, Any]:
        return self.listing(query, pk, lambda p: p.packages)

    def action_dependencies(self, query: Query, data: Callable[[], RequestData], pk: str) -> tuple[int, Any]:
        return self.listing(query, pk, lambda p: p.dependencies)

    def action_relations(self, query: Query, data: Callable[[], RequestData], pk: str) -> tuple[int, Any]:
        return self.listing(query, pk, lambda p: [])

    def action_messages(self, query: Query, data: Callable[[], RequestData], pk: str) -> tuple[int, Any]:
        return self.listing(query, pk, lambda p: p.messages)

    def action_results(self, query: Query, data: Callable[[], RequestData], pk: str) -> FileReply:
        """views.py:158-169 → project_results_json_response (views.py:1565-1584), any run state."""
        with self.store.lock:
            document = formats.results_document(self.project(pk), self.base, query.get("sections") or None)
        return FileReply(json.dumps(document, indent=2).encode(), "application/json")

    def action_results_download(self, query: Query, data: Callable[[], RequestData], pk: str) -> FileReply:
        """views.py:171-209: an attachment per ``output_format``; an unknown one 400."""
        output_format = (query.get("output_format") or ["json"])[-1]
        version = (query.get("version") or [""])[-1] or None
        with self.store.lock:
            project = self.project(pk)
            if output_format == "json":
                document = formats.results_document(project, self.base, query.get("sections") or None)
                name = formats.safe_filename(f"scancodeio_{project.name}.json")
                return FileReply(json.dumps(document, indent=2).encode(), "application/json", name)
            if output_format not in formats.DOWNLOAD_FORMATS:
                raise status_error(f"Format {output_format} not supported.")
            file_name, content = formats.render(project, self.base, output_format, version, file_stamp(time.time()))
            project.outputs[file_name] = content  # the output modules write into output/
            name = formats.safe_filename(f"scancodeio_{project.name}_{file_name}")
        return FileReply(content, formats.content_type(file_name), name)

    def action_summary(self, query: Query, data: Callable[[], RequestData], pk: str) -> tuple[int, Any]:
        """views.py:211-224: the latest ``*summary*.json`` output, else 400."""
        with self.store.lock:
            summary = formats.summary_document(self.project(pk), self.sandbox.policies)
        if summary is None:
            raise status_error({"error": "Summary file not available"})
        return 200, summary

    def action_outputs(self, query: Query, data: Callable[[], RequestData], pk: str) -> Any:
        """views.py:478-494."""
        with self.store.lock:
            project = self.project(pk)
            filename = (query.get("filename") or [""])[-1]
            if filename:
                if filename in project.outputs:
                    return FileReply(project.outputs[filename], formats.content_type(filename))
                raise status_error(f"Output file {filename} not found")
            action_url = f"{self.base}/api/projects/{project.uuid}/outputs/"
            return 200, [{"filename": n, "download_url": f"{action_url}?filename={n}"} for n in sorted(project.outputs)]

    def action_file_content(self, query: Query, data: Callable[[], RequestData], pk: str) -> tuple[int, Any]:
        """views.py:327-343; the content is synthesized (or the upload's member)."""
        path = (query.get("path") or [""])[-1]
        with self.store.lock:
            project = self.project(pk)
            found = next((r for r in project.resources if r["path"] == path), None)
            if found is None:
                raise status_error("Resource not found. Use ?path=<resource_path>")
            return 200, {"file_content": f"{found['name']} (sandbox content, sha1 {found['sha1']})\n"}

    def action_compliance(self, query: Query, data: Callable[[], RequestData], pk: str) -> tuple[int, Any]:
        """views.py:496-517; an unknown ``fail_level`` is a 500 upstream."""
        level = (query.get("fail_level") or ["error"])[-1].lower()
        with self.store.lock:
            project = self.project(pk)
            if level not in ("error", "warning", "missing"):
                raise server_error()
            alerts = self.sandbox.policies.project_alerts(project.packages, project.resources, level)
        return 200, {"compliance_alerts": alerts}

    def action_license_clarity_compliance(
        self, query: Query, data: Callable[[], RequestData], pk: str
    ) -> tuple[int, Any]:
        """views.py:519-533: the alert make_results_summary stored (pipes/scancode.py:1199-1206)."""
        with self.store.lock:
            project = self.project(pk)
            name = formats.latest_output(project, "summary")
            score = json.loads(project.outputs[name])["license_clarity_score"]["score"] if name else None
        return 200, {"license_clarity_compliance_alert": self.sandbox.policies.clarity_alert(score)}

    def action_scorecard_compliance(self, query: Query, data: Callable[[], RequestData], pk: str) -> tuple[int, Any]:
        with self.store.lock:
            self.project(pk)
        return 200, {"scorecard_compliance_alert": None}

    # -- runs ----------------------------------------------------------------------------------------
    def run_detail(self, query: Query, data: Callable[[], RequestData], pk: str) -> tuple[int, Any]:
        with self.store.lock:
            run = self.run(pk)
            run.status_calls += 1
            return 200, run_view(run, self.base)

    def start_pipeline(self, query: Query, data: Callable[[], RequestData], pk: str) -> tuple[int, Any]:
        """views.py:558-570; ``run.start`` at commit raises RunNotAllowedToStart (a 500) when an
        earlier run of the project has not ended (models.py:2112-2119)."""
        with self.store.lock:
            run = self.run(pk)
            if run.task_end is not None:
                raise status_error("Pipeline already executed.")
            if run.task_start is not None:
                raise status_error("Pipeline already started.")
            if run.task_id is not None:
                raise status_error("Pipeline already queued.")
            project = self.store.project_of(run)
            if project is None or not project.can_start(run):
                raise server_error()
            self.sandbox.pool.enqueue(run)
            return 200, {"status": f"Pipeline {run.pipeline_name} started."}

    def stop_pipeline(self, query: Query, data: Callable[[], RequestData], pk: str) -> tuple[int, Any]:
        """views.py:572-580 → stop_task (models.py:385-409): logged, the job stopped, exit code 99."""
        with self.store.lock:
            run = self.run(pk)
            if run.status != "running":
                raise status_error("Pipeline is not running.")
            run.append_to_log("Stop task requested")
            run.exitcode, run.task_end = 99, time.time()
            self.sandbox.pool.forget(run)
            return 200, {"status": f"Pipeline {run.pipeline_name} stopped."}

    def delete_pipeline(self, query: Query, data: Callable[[], RequestData], pk: str) -> tuple[int, Any]:
        """views.py:582-590 → delete_task (models.py:411-419): the job and the Run deleted."""
        with self.store.lock:
            run = self.run(pk)
            if run.status not in ("not_started", "queued"):
                raise status_error("Only non started or queued pipelines can be deleted.")
            self.sandbox.pool.forget(run)
            self.store.runs.pop(run.uuid, None)
            project = self.store.project_of(run)
            if project is not None:
                project.runs = [r for r in project.runs if r.uuid != run.uuid]
            return 200, {"status": f"Pipeline {run.pipeline_name} deleted."}


def parse_query(raw: str) -> Query:
    return parse_qs(raw, keep_blank_values=True)


__all__ = ["Api", "ApiReply", "FileReply", "not_found_page", "parse_query", "resolve"]
