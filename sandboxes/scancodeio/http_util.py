"""Request parsing and answers the way Django REST framework 3.18 gives them to scanpipe's views."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP as HTTP_POLICY
from typing import Any

from sandboxes.common.drf_urls import remove_query_param, replace_query_param

# rest_framework/fields.py BooleanField.TRUE_VALUES / FALSE_VALUES
TRUE_VALUES = {"t", "T", "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON", "1", 1}
FALSE_VALUES = {"f", "F", "n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF", "0", 0}


class ApiReply(Exception):
    """A JSON answer raised from anywhere in a view."""

    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.status, self.body, self.headers = status, body, headers or {}
        self.route = "unrouted"


class HtmlReply(Exception):
    def __init__(self, status: int, body: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.status, self.body, self.headers = status, body, headers or {}
        self.route = "unrouted"


@dataclass
class FileReply:
    """A FileResponse: bytes, content type, and an attachment name or none."""

    content: bytes
    content_type: str
    filename: str | None = None


def not_found_page() -> HtmlReply:
    """Django's 404 page (DEBUG off) for a path no URL pattern takes."""
    return HtmlReply(
        404,
        "<!doctype html><html><head><title>Not Found</title></head><body><h1>Not Found</h1>"
        "<p>The requested resource was not found on this server.</p></body></html>",
    )


def server_error() -> HtmlReply:
    return HtmlReply(
        500,
        "<!doctype html><html><head><title>Server Error (500)</title></head>"
        "<body><h1>Server Error (500)</h1><p></p></body></html>",
    )


def status_error(message: Any) -> ApiReply:
    """scanpipe/api/views.py:69-78 ErrorResponse: 400, a string wrapped in ``{"status": …}``."""
    return ApiReply(400, message if isinstance(message, dict) else {"status": message})


@dataclass
class RequestData:
    """``request.data``: a JSON object (``json``) or a form/multipart QueryDict (``form`` pairs)."""

    json: dict[str, Any] | None = None
    form: list[tuple[str, str]] = field(default_factory=list)
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)

    def has(self, key: str) -> bool:
        if self.json is not None:
            return key in self.json
        return any(k == key for k, _ in self.form) or key in self.files

    def get(self, key: str, default: Any = None) -> Any:
        """QueryDict.get: the last value of a form field; a JSON value as is."""
        if self.json is not None:
            return self.json.get(key, default)
        values = [v for k, v in self.form if k == key]
        return values[-1] if values else default

    def getlist(self, key: str) -> list[Any] | Any:
        """Every value of a form field; a JSON value as is (a list, a string, …)."""
        if self.json is not None:
            return self.json.get(key)
        values = [v for k, v in self.form if k == key]
        return values or None


def parse_body(content_type: str, body: bytes) -> RequestData:
    """DRF's JSONParser, FormParser and MultiPartParser; a JSON error is DRF's ParseError text."""
    if "multipart/form-data" in content_type:
        message = BytesParser(policy=HTTP_POLICY).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
        data = RequestData()
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition") or ""
            raw = part.get_payload(decode=True)
            payload = raw if isinstance(raw, bytes) else b""
            if part.get_filename() is not None:
                data.files[str(name)] = (str(part.get_filename()), payload)
            else:
                data.form.append((str(name), payload.decode()))
        return data
    if "application/x-www-form-urlencoded" in content_type:
        return RequestData(form=[(k, v) for k, v in _pairs(body.decode())])
    if not body.strip():
        return RequestData(json={})
    try:
        value = json.loads(body)
    except ValueError as exc:
        raise ApiReply(400, {"detail": f"JSON parse error - {exc}"}) from None
    return RequestData(json=value if isinstance(value, dict) else {})


def _pairs(text: str) -> list[tuple[str, str]]:
    from urllib.parse import parse_qsl

    return parse_qsl(text, keep_blank_values=True)


def to_bool(value: Any) -> bool | None:
    """BooleanField.to_internal_value; None when the value is not a boolean."""
    try:
        if value in TRUE_VALUES:
            return True
        if value in FALSE_VALUES:
            return False
    except TypeError:
        return None
    return None


def paginate(url: str, query: dict[str, list[str]], items: list[Any], size: int) -> dict[str, Any]:
    """PageNumberPagination (PAGE_SIZE from SCANCODEIO_REST_API_PAGE_SIZE, scancodeio/settings.py:323-324;
    no ``page_size`` parameter): ``{count, next, previous, results}``; a bad page 404 ``Invalid page.``."""
    pages = max(1, -(-len(items) // size))
    raw = query.get("page", ["1"])[-1]
    try:
        number = pages if raw == "last" else int(raw)
    except ValueError:
        raise ApiReply(404, {"detail": "Invalid page."}) from None
    if number < 1 or number > pages:
        raise ApiReply(404, {"detail": "Invalid page."})
    previous = None
    if number == 2:
        previous = remove_query_param(url, "page")
    elif number > 2:
        previous = replace_query_param(url, "page", number - 1)
    return {
        "count": len(items),
        "next": replace_query_param(url, "page", number + 1) if number < pages else None,
        "previous": previous,
        "results": items[(number - 1) * size : number * size],
    }
