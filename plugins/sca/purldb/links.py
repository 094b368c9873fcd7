"""Operator extra link: the PurlDB package the scan matched most (else the matching), pushed to
XCom as ``purldb_url``."""

from __future__ import annotations

from sca.common.links import XComUrlLink

PURLDB_URL_XCOM_KEY = "purldb_url"


class PurlDBPackageLink(XComUrlLink):
    name = "PurlDB package"
    xcom_key = PURLDB_URL_XCOM_KEY
