"""Operator extra links whose URL a task pushed to XCom while it ran (through the public SDK).

A unit task pushes the page of what it created (the ScanCode.io project, the FossID scan, the
PurlDB package or matching) under its link's ``xcom_key``; the link reads it back for the UI.
"""

from __future__ import annotations

from typing import Any, ClassVar

from airflow.sdk import BaseOperatorLink, BaseXCom


class XComUrlLink(BaseOperatorLink):
    """A link to the URL the task pushed under ``xcom_key`` (empty until it has)."""

    xcom_key: ClassVar[str]

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        return str(BaseXCom.get_value(ti_key=ti_key, key=self.xcom_key) or "")
