"""Operator extra link: the ScanCode.io project page, pushed to XCom as ``project_url``."""

from __future__ import annotations

from sca.common.links import XComUrlLink

PROJECT_URL_XCOM_KEY = "project_url"


class ScanCodeIOProjectLink(XComUrlLink):
    name = "ScanCode.io project"
    xcom_key = PROJECT_URL_XCOM_KEY
