"""Page links built the way Django REST framework builds them (rest_framework/utils/urls.py):
the query re-encoded with its keys sorted. PurlDB and ScanCode.io are both DRF servers."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit


def _with_query(url: str, change: Any) -> str:
    scheme, netloc, path, query, fragment = urlsplit(url)
    params = parse_qs(query, keep_blank_values=True)
    change(params)
    return urlunsplit((scheme, netloc, path, urlencode(sorted(params.items()), doseq=True), fragment))


def replace_query_param(url: str, key: str, value: Any) -> str:
    return _with_query(url, lambda params: params.__setitem__(key, [str(value)]))


def remove_query_param(url: str, key: str) -> str:
    return _with_query(url, lambda params: params.pop(key, None))
