"""Operator extra link: the ScanCode.io project page, pushed to XCom as ``project_url``."""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseOperatorLink

PROJECT_URL_XCOM_KEY = "project_url"


class ScanCodeIOProjectLink(BaseOperatorLink):
    name = "ScanCode.io project"

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        from airflow.sdk.execution_time.xcom import XCom

        return XCom.get_value(ti_key=ti_key, key=PROJECT_URL_XCOM_KEY) or ""
