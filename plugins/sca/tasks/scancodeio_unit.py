"""The scan unit's ScanCode.io task: one project per scan key, reused while fresh.

ledger → (reuse) or find/create the project named after the key → record it → upload the input
(streamed from the artefact store, sha256 checked) unless the project has it → add the missing
pipelines → run them in order, deferring while one runs → outputs into the store (the JSON once,
hashed once as it is written) → typed ``ScanCodeIOResult`` into the store → ledger finished.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence
from typing import Any

from airflow.sdk import Context

from sca.common.errors import NotFoundError, PermanentServiceError, RunFailedError, TransientServiceError
from sca.common.pipeline_run import raise_for_event, run_failure_message
from sca.common.polling import wait_briefly
from sca.common.retry import act_once
from sca.core.keys import ScanKey, scancodeio_settings
from sca.core.results import ArtefactRef, FlaggedResource, InputRef, ScanCodeIOResult
from sca.hints.settings import task_settings
from sca.hints.signing import callback_url
from sca.scancodeio.client import (
    DEFAULT_OUTPUT_NAMES,
    SERVICE,
    ScanCodeIOClient,
    is_name_taken,
    pipeline_specs,
)
from sca.scancodeio.hook import ScanCodeIOHook
from sca.scancodeio.links import PROJECT_URL_XCOM_KEY, ScanCodeIOProjectLink
from sca.scancodeio.operators import _run_matches, collect_results
from sca.scancodeio.status import RunStatus
from sca.scancodeio.triggers import ScanCodeIORunTrigger
from sca.store.ledger import LedgerEntry
from sca.tasks.unit_base import MAX_LEDGER_ATTEMPTS, LedgerToolOperator, WorkFolder

REQUIRED_FORMATS = ("json",)
HINT_SERVICE = "scancodeio"


def _transient(error: BaseException) -> bool:
    return isinstance(error, TransientServiceError)


def _has_upload(project: dict[str, Any]) -> bool:
    return any(source.get("is_uploaded") for source in project.get("input_sources") or [])


def _pipeline_added(client: ScanCodeIOClient, uuid: str, spec: str) -> dict[str, Any] | None:
    return {} if any(_run_matches(run, spec) for run in client.get_project(uuid).get("runs", [])) else None


def _run_started(client: ScanCodeIOClient, run_uuid: str) -> dict[str, Any] | None:
    return None if RunStatus(client.get_run(run_uuid)["status"]) is RunStatus.NOT_STARTED else {}


class ScanCodeIOScanOperator(LedgerToolOperator):
    tool = "scancodeio"
    operator_extra_links = (ScanCodeIOProjectLink(),)
    template_fields: Sequence[str] = (
        *LedgerToolOperator.template_fields,
        "pipelines",
        "formats",
        "scancodeio_conn_id",
        "stall_minutes",
    )

    def __init__(
        self,
        *,
        pipelines: Sequence[str] | str = ("scan_single_package",),
        formats: Sequence[str] | str = ("json", "spdx", "cyclonedx", "xlsx", "attribution"),
        labels: Sequence[str] = (),
        scancodeio_conn_id: str = ScanCodeIOHook.default_conn_name,
        stall_minutes: float | str | None = 30,
        max_recoveries: int = 2,
        pipelines_checked: bool = False,
        **kwargs: Any,
    ) -> None:
        """``stall_minutes``: a run that writes no log line for this long (its worker was killed
        with its job) is stopped and run again; ``max_recoveries``: how many times a run that
        ended failure, stale or stopped, or stalled, is reset and run again before the task fails;
        ``pipelines_checked``: the DAG checked the pipelines against the server already (the
        portfolio's plan, once for every item), so this task does not ask the server again."""
        kwargs.setdefault("pool", "scancodeio")
        kwargs.setdefault("max_poll_interval", 30.0)
        super().__init__(**kwargs)
        self.pipelines = pipelines
        self.formats = formats
        self.labels = labels
        self.scancodeio_conn_id = scancodeio_conn_id
        self.stall_minutes = stall_minutes
        self.max_recoveries = max_recoveries
        self.pipelines_checked = pipelines_checked
        self._active_run: str | None = None

    @property
    def hook(self) -> ScanCodeIOHook:
        return ScanCodeIOHook(self.scancodeio_conn_id)

    def run(self, context: Context) -> dict[str, Any]:
        started = time.time()
        fetched = self.input_ref(context)
        if fetched is None:
            raise RunFailedError("no input: the fetch task did not produce one", service=SERVICE)
        client = self.hook.get_conn()
        specs = pipeline_specs(self.pipelines) if self.pipelines_checked else client.validate_pipelines(self.pipelines)
        key = ScanKey(self.tool, fetched.sha256, scancodeio_settings(specs, None))
        self._key = key
        with self.key_lock(key):
            return self._run_locked(context, client, key, specs, fetched, started)

    def _run_locked(
        self,
        context: Context,
        client: ScanCodeIOClient,
        key: ScanKey,
        specs: list[str],
        fetched: InputRef,
        started: float,
    ) -> dict[str, Any]:
        entry = self.ledger_get(key)
        current_version = str(self.server_version) if self.server_version else client.server_version()
        version_changed = (
            f"the server is now {current_version}, the scan was made by {entry.server_version}"
            if entry and entry.server_version and current_version and entry.server_version != current_version
            else None
        )
        if entry is not None and not version_changed and self.reusable(entry):
            # a scan made for a DAG that asked for fewer outputs (the portfolio takes json and
            # cyclonedx) gets the missing ones from its project; a project gone makes it stale
            version_changed = self._complete_outputs(client, key, entry)
        if entry is not None and self.reusable(entry, version_changed):
            return self.reuse(context, key, entry)
        if entry is not None and entry.has_results:  # stale: delete it, then scan under a new name
            if entry.remote_id:
                self.log.info("Deleting the outdated project %s before scanning again", entry.remote_name)
                try:
                    client.delete_project(entry.remote_id)
                except NotFoundError:
                    pass
            self.ledger("restart", key.tool, key.value)
        entry = self.ledger("begin", key, key.remote_name(fetched.filename), context["ti"].dag_id, context["ti"].run_id)
        name = entry.remote_name  # the ledger's name: the same bytes under another file name re-attach
        project, subscribed = self._find_or_create(client, name, specs)
        ui_url = self.hook.project_ui_url(project)
        context["ti"].xcom_push(key=PROJECT_URL_XCOM_KEY, value=ui_url)
        self.ledger("submitted", key.tool, key.value, project["uuid"], ui_url)
        self._upload_once(client, project, fetched)
        for spec in specs:
            if not any(_run_matches(run, spec) for run in project.get("runs", [])):
                act_once(
                    client.http.retry,
                    functools.partial(client.add_pipeline, project["uuid"], spec, execute_now=False),
                    functools.partial(_pipeline_added, client, project["uuid"], spec),
                    is_transient=_transient,
                    what=f"adding pipeline {spec} to {name}",
                )
                self.log.info("Added pipeline %s to %s", spec, name)
        state = {
            "project_uuid": project["uuid"],
            "key": key.value,
            "settings": dict(key.settings),
            "sha256": fetched.sha256,
            "started": started,
            "deadline": started + self.wait_timeout.total_seconds(),
            "attempt": entry.attempts,
            # the project posts its runs' ends to our receiver: the waits can sleep until told
            "hints": subscribed,
        }
        return self._advance(context, client, state)

    def _find_or_create(self, client: ScanCodeIOClient, name: str, specs: list[str]) -> tuple[dict[str, Any], bool]:
        """The project, and whether this task subscribed it to run-end webhooks (a project it
        re-attaches to may predate them, or have another secret's URL: its waits only poll)."""
        project = client.find_project(name)
        if project is not None:
            self.log.info("Re-attached to ScanCode.io project %s (%s)", name, project["uuid"])
            return project, False
        webhooks = self._webhooks(name)
        try:
            created = act_once(
                client.http.retry,
                lambda: client.create_project(name, labels=list(self.labels or ()), webhooks=webhooks),
                lambda: client.find_project(name),
                is_transient=_transient,
                what=f"creating ScanCode.io project {name}",
            )
        except PermanentServiceError as exc:
            if not is_name_taken(exc):
                raise
            found = client.find_project(name)
            if found is None:
                raise
            return found, False
        self.log.info("Created ScanCode.io project %s (%s)", name, created["uuid"])
        return client.get_project(created["uuid"]), bool(webhooks)

    def _webhooks(self, name: str) -> list[dict[str, Any]]:
        """The project's run-end webhook (``sca.hints``), after each run: the unit runs its
        pipelines one by one, and without ``trigger_on_each_run`` ScanCode.io only posts once no
        run is left to start (scanpipe/models.py ``deliver_project_subscriptions``)."""
        settings = task_settings()
        if settings is None:
            return []
        target = callback_url(settings.base_url, settings.secret, HINT_SERVICE, name)
        return [{"target_url": target, "trigger_on_each_run": True}]

    def _upload_once(self, client: ScanCodeIOClient, project: dict[str, Any], fetched: InputRef) -> None:
        sources = project.get("input_sources") or []
        uploaded = [s.get("filename") for s in sources if s.get("is_uploaded")]
        if uploaded:  # the project is named after these bytes: any upload in it is them
            self.log.info("Project %s already has its input (%s)", project["name"], ", ".join(map(str, uploaded)))
            return
        with WorkFolder(self.task_id) as folder:
            local = self.store.copy_to_local(fetched.artefact, folder, fetched.filename)
            act_once(
                client.http.retry,
                lambda: client.add_input(project["uuid"], upload_file=local),
                lambda: {} if _has_upload(client.get_project(project["uuid"])) else None,
                is_transient=_transient,
                what=f"uploading {fetched.filename} to {project['name']}",
            )
        self.log.info("Uploaded %s (%d bytes) to %s", fetched.filename, fetched.artefact.size, project["name"])

    def _advance(self, context: Context, client: ScanCodeIOClient, state: dict[str, Any]) -> dict[str, Any]:
        """Start or wait for the first run that has not succeeded; finish when all have. A run
        that ended failure, stale or stopped is recovered (reset, run again) within the budget."""
        uuid = state["project_uuid"]
        while True:
            runs = sorted(client.get_project(uuid).get("runs", []), key=lambda r: r.get("created_date") or "")
            pending = next((r for r in runs if RunStatus(r["status"]) is not RunStatus.SUCCESS), None)
            if pending is None:
                self._active_run = None
                return self._finish(context, client, state, runs)
            run = client.get_run(pending["uuid"])
            status = RunStatus(run["status"])
            if status.is_failed:
                self._recover(client, state, run, f"ended {status.value}")
                continue
            if status is RunStatus.NOT_STARTED:
                act_once(
                    client.http.retry,
                    functools.partial(client.start_pipeline, run["uuid"]),
                    functools.partial(_run_started, client, run["uuid"]),
                    is_transient=_transient,
                    what=f"starting run {run['uuid']}",
                )
                self.log.info("Started %s run %s", run["pipeline_name"], run["uuid"])
            self._active_run = run["uuid"]
            if self._ends_within_grace(client, run["uuid"]):
                continue
            stall = None if self.stall_minutes in (None, "", "None") else float(self.stall_minutes) * 60
            self.defer(
                trigger=ScanCodeIORunTrigger(
                    run_uuid=run["uuid"],
                    conn_id=self.scancodeio_conn_id,
                    deadline=state["deadline"],
                    poll_interval=self.poll_interval,
                    max_poll_interval=self.max_poll_interval,
                    first_poll_delay=self.first_poll_delay,
                    stall_budget=stall,
                    hint_service=HINT_SERVICE if state.get("hints") else None,
                ),
                method_name="execute_complete",
                kwargs={"state": state},
            )

    def _recover(self, client: ScanCodeIOClient, state: dict[str, Any], run: dict[str, Any], why: str) -> None:
        """Stop the run if it still counts as running, reset the project (inputs kept, pipelines
        restored) so every pipeline runs again; after ``max_recoveries`` the run's failure is raised."""
        done = int(state.get("recoveries", 0))
        if done >= self.max_recoveries or int(state.get("attempt", 1)) > MAX_LEDGER_ATTEMPTS:
            what = why if run["uuid"] in why else f"ScanCode.io run {run['uuid']} ({run.get('pipeline_name')}) {why}"
            # the run's own output (its traceback's tail) follows the one-line reason
            output = run_failure_message(run, SERVICE).split("\n", 1)[1:] if RunStatus(run["status"]).is_failed else []
            raise RunFailedError(
                f"{what}; not recovered again ({done} recoveries in this try, "
                f"try {state.get('attempt')} of the key in this DAG run)" + "".join("\n" + o for o in output),
                service=SERVICE,
                detail={"status": run["status"], "run": run["uuid"]},
            )
        state["recoveries"] = done + 1
        self.log.warning(
            "ScanCode.io %s run %s %s: recovering (%d of %d): reset the project and run its pipelines again",
            run.get("pipeline_name"),
            run["uuid"],
            why,
            done + 1,
            self.max_recoveries,
        )
        if RunStatus(run["status"]) is RunStatus.RUNNING:
            try:
                client.stop_pipeline(run["uuid"])
            except PermanentServiceError as exc:  # 400 "Pipeline is not running.": it just ended
                self.log.info("stop_pipeline: %s", exc.detail)
            time.sleep(2)  # the worker kills a live job asynchronously: let it go before the reset
        uuid = state["project_uuid"]
        deadline = time.monotonic() + 60
        in_progress = (RunStatus.QUEUED, RunStatus.RUNNING)
        while any(RunStatus(r["status"]) in in_progress for r in client.get_project(uuid)["runs"]):
            if time.monotonic() > deadline:
                raise RunFailedError(f"ScanCode.io project {uuid} still has a run in progress 60 s after a stop")
            time.sleep(2)
        client.reset(uuid, restore_pipelines=True)
        self._active_run = None

    def _ends_within_grace(self, client: ScanCodeIOClient, run_uuid: str) -> bool:
        """Wait in the worker for a short run (no deferral round trip); a run the server keeps in
        its queue (busy: a portfolio's scans ahead of it) frees the slot after a few seconds."""
        seen: list[RunStatus] = []

        def ended() -> bool:
            seen.append(RunStatus(client.get_run(run_uuid)["status"]))
            return seen[-1].is_terminal

        def in_queue() -> bool:
            return seen[-1] in (RunStatus.NOT_STARTED, RunStatus.QUEUED)

        return wait_briefly(ended, self.sync_grace_seconds, behind=in_queue)

    def resume(self, context: Context, event: dict[str, Any], state: dict[str, Any]) -> dict[str, Any]:
        client = self.hook.get_conn()
        if event["status"] == "stalled" or event["status"] in {s.value for s in RunStatus if s.is_failed}:
            self._recover(client, state, client.get_run(event["run_uuid"]), event["message"].split("\n", 1)[0])
            return self._advance(context, client, state)
        raise_for_event(event, SERVICE)
        return self._advance(context, client, state)

    def wanted_formats(self) -> list[str]:
        return list(dict.fromkeys([*REQUIRED_FORMATS, *list(self.formats)]))

    def _complete_outputs(self, client: ScanCodeIOClient, key: ScanKey, entry: LedgerEntry) -> str | None:
        """Download the outputs this task wants that the reused result lacks into its folder, and
        rewrite the result with them. Returns why the scan cannot be reused (its project is gone
        from the server, so they cannot be made), or None."""
        result_uri = str(entry.result_uri)
        stored = self.store.read_json(result_uri)
        missing = [fmt for fmt in self.wanted_formats() if fmt not in (stored.get("outputs") or {})]
        if not missing:
            return None
        folder_rel = result_uri[len(self.store.uri_for("")) :].rsplit("/", 1)[0]
        try:
            with WorkFolder(self.task_id) as folder:
                for fmt in missing:
                    local = client.download_results(
                        str(entry.remote_id), fmt, folder, filename=DEFAULT_OUTPUT_NAMES.get(fmt)
                    )
                    ref = self.store.put_file(local, f"{folder_rel}/{local.name}")
                    stored.setdefault("outputs", {})[fmt] = ref.as_dict()
                    self.log.info("Added the %s output to the reused scan %s: %s", fmt, entry.remote_name, ref.uri)
        except NotFoundError:
            gone = f"its project {entry.remote_name} is gone from the server"
            return f"{gone}, so its {', '.join(missing)} output(s) cannot be made"
        rewritten = self.store.put_json(stored, f"{folder_rel}/{result_uri.rsplit('/', 1)[1]}")
        if rewritten.uri != result_uri:  # the store's root moved: keep the ledger pointing at it
            self.ledger("finished", key.tool, key.value, rewritten.uri, entry.server_version)
        return None

    def on_kill(self) -> None:
        """Marked failed while waiting in the worker: stop the run it waits for. (While deferred,
        the trigger's ``on_kill`` does this.)"""
        if self._active_run:
            try:
                self.hook.get_conn().stop_pipeline(self._active_run)
                self.log.info("Stopped ScanCode.io run %s", self._active_run)
            except Exception as exc:  # noqa: BLE001 - the task is ending anyway
                self.log.warning("Could not stop ScanCode.io run %s: %s", self._active_run, exc)

    def _finish(
        self, context: Context, client: ScanCodeIOClient, state: dict[str, Any], runs: list[dict[str, Any]]
    ) -> dict[str, Any]:
        key = ScanKey(self.tool, state["sha256"], state["settings"])
        uuid = state["project_uuid"]
        folder_rel = f"tools/scancodeio/{key.short}"
        outputs: dict[str, ArtefactRef] = {}
        formats = self.wanted_formats()
        with WorkFolder(self.task_id) as folder:
            for fmt in formats:
                local = client.download_results(uuid, fmt, folder, filename=DEFAULT_OUTPUT_NAMES.get(fmt))
                if local.stat().st_size == 0:
                    raise RunFailedError(f"ScanCode.io returned an empty {fmt} output for {uuid}", service=SERVICE)
                outputs[fmt] = self.store.put_file(local, f"{folder_rel}/{local.name}")
                local.unlink()
                self.log.info("Stored %s output: %s (%d bytes)", fmt, outputs[fmt].uri, outputs[fmt].size)
        # every alert level is collected: the result is reused under any fail level, the gate judges
        collected = collect_results(client, uuid, "MISSING")
        version = next((r.get("scancodeio_version") for r in reversed(runs) if r.get("scancodeio_version")), None)
        result = ScanCodeIOResult(
            project_uuid=uuid,
            project_name=collected["project"]["name"],
            ui_url=self.hook.project_ui_url(client.get_project(uuid)),
            server_version=version,
            pipelines=list(key.settings["pipelines"]),
            runs=[
                {
                    "uuid": r["uuid"],
                    "pipeline": r["pipeline_name"],
                    "status": r["status"],
                    "execution_time": r.get("execution_time"),
                }
                for r in runs
            ],
            counts=collected["counts"],
            declared_license_expression=collected["declared_license_expression"],
            license_clarity_score=collected["license_clarity_score"],
            license_clarity_compliance=collected["license_clarity_compliance"],
            other_license_expressions=collected["other_license_expressions"] or [],
            declared_holder=collected["declared_holder"],
            primary_language=collected["primary_language"],
            fail_level=collected["fail_level"],
            compliance_alerts=collected["compliance_alerts"],
            flagged_resources=[FlaggedResource(**r) for r in collected["flagged_resources"]],
            declared_purls=collected["declared_purls"],
            messages=collected["messages"],
            outputs=outputs,
        )
        stored = self.store.put_json(result.as_dict(), f"{folder_rel}/scancodeio-result.json")
        return self.succeed(context, key, stored.uri, state["started"], version)
