"""Operator extra link: the FossID scan in Workbench's UI, pushed to XCom as ``fossid_scan_url``."""

from __future__ import annotations

from sca.common.links import XComUrlLink

SCAN_URL_XCOM_KEY = "fossid_scan_url"


class FossIDScanLink(XComUrlLink):
    name = "FossID scan"
    xcom_key = SCAN_URL_XCOM_KEY
