"""The FossID project-level report of a portfolio: every scan of the portfolio's Workbench project
in one report per type (project scope, generated asynchronously), kept in the artefact store
beside the portfolio report.

Each report is moved into the store as soon as it is downloaded, so a task that defers and
resumes on another worker never holds a local path across the deferral.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from airflow.sdk import Context
from airflow.sdk.exceptions import AirflowSkipException

from sca.fossid.operators import FossIDReportsOperator
from sca.store.artefacts import ArtefactStore


class FossIDProjectReportOperator(FossIDReportsOperator):
    """``projects/generate_report`` for each type, stored under ``<folder>/fossid-projects-<type>.<ext>``.
    Skipped when no item of the night uses FossID (the plan task's XCom, its lots, says which do)."""

    template_fields: Sequence[str] = (*FossIDReportsOperator.template_fields, "folder", "plan_task_id")

    def __init__(self, *, project_code: str, folder: str, plan_task_id: str, **kwargs: Any) -> None:
        super().__init__(project_code=project_code, output_dir=".", **kwargs)
        self.folder = folder
        self.plan_task_id = plan_task_id
        self._local: Path | None = None

    def target(self, report_type: str) -> Path:
        if self._local is None:
            self._local = Path(tempfile.mkdtemp(prefix="sca-fossid-project-report-"))
        self.output_dir = str(self._local)
        return super().target(report_type)

    def keep(self, report_type: str, path: Path) -> dict[str, Any]:
        ref = ArtefactStore().put_file(path, f"{self.folder}/{path.name}")
        path.unlink(missing_ok=True)
        self.log.info("Stored the FossID project %s report: %s (%d bytes)", report_type, ref.uri, ref.size)
        return {"uri": ref.uri, "bytes": ref.size, "sha256": ref.sha256}

    def execute(self, context: Context) -> dict[str, Any]:
        lots = context["ti"].xcom_pull(task_ids=self.plan_task_id) or []
        if not any(item.get("run_fossid") for lot in lots for item in lot.get("items", ())):
            raise AirflowSkipException("no item of this portfolio uses FossID")
        if not self.report_types:
            raise AirflowSkipException("no FossID project report type asked for")
        if self.client().get_project(str(self.project_code)) is None:
            # every FossID item reused a scan kept in the ledger, made before the project was
            # removed from the server (or by another Workbench): nothing there to report on
            raise AirflowSkipException(
                f"FossID has no project {self.project_code!r}: this night's FossID results all come from "
                "the ledger (see each item's report)"
            )
        return super().execute(context)
