"""The portfolio file: what an open-source program office scans every night.

PURE (no Airflow). A portfolio is YAML (or JSON, which is YAML) of this shape::

    name: acme-products            # optional; the report's title
    defaults:                      # optional; every item inherits these fields
      tools: [scancodeio, purldb, fossid]
      pipelines: [scan_single_package]
      owner: ospo@acme.example
    items:
      - id: attrs                  # unique; letters, digits, . _ -
        input: attrs-23.2.0-py3-none-any.whl   # a URL, a purl, or a file under the inputs folder
        pipelines: [scan_single_package]       # optional (defaults, then the DAG's param)
        tools: [scancodeio, purldb]            # optional; scancodeio is always part of it
        owner: web-team                         # optional
        tags: [python, runtime]                 # optional

An input may name environment variables, ``${ARTIFACTS_URL}/pkg-1.0.tgz``: each item's fetch
expands them, so a token kept in the environment never reaches the plan, XCom or the warehouse.
The whole file is checked before any scan starts; every problem is reported at once, each
naming its entry (``items[3] (id 'attrs')``) and field, with the nearest known name for a
misspelt one.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from packageurl import PackageURL

TOOLS = ("scancodeio", "purldb", "fossid")
ITEM_FIELDS = ("id", "input", "pipelines", "tools", "owner", "tags")
DEFAULT_FIELDS = ("pipelines", "tools", "owner", "tags")
TOP_FIELDS = ("name", "defaults", "items")
ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
PIPELINE_PATTERN = re.compile(r"^[a-z_]+(:[A-Za-z_]+(,[A-Za-z_]+)*)?$")
TAG_PATTERN = re.compile(r"^[^\s,][^,]{0,63}$")


class PortfolioError(ValueError):
    """The portfolio file is wrong; ``problems`` lists every one found, each naming its place."""

    def __init__(self, source: str, problems: Sequence[str]) -> None:
        self.source = source
        self.problems = list(problems)
        shown = "\n".join(f"  - {p}" for p in self.problems[:50])
        more = f"\n  … and {len(self.problems) - 50} more" if len(self.problems) > 50 else ""
        super().__init__(f"portfolio {source}: {len(self.problems)} problem(s):\n{shown}{more}")


@dataclass(frozen=True)
class PortfolioItem:
    id: str
    input: str
    pipelines: tuple[str, ...]
    tools: tuple[str, ...]
    owner: str | None = None
    tags: tuple[str, ...] = ()

    def uses(self, tool: str) -> bool:
        return tool in self.tools

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "input": self.input,
            "pipelines": list(self.pipelines),
            "tools": list(self.tools),
            "owner": self.owner,
            "tags": list(self.tags),
        }


@dataclass(frozen=True)
class Portfolio:
    name: str
    items: tuple[PortfolioItem, ...]
    source: str = ""
    ids: frozenset[str] = field(default=frozenset(), repr=False)

    def __len__(self) -> int:
        return len(self.items)


def _hint(key: str, known: Sequence[str]) -> str:
    near = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
    return f" (did you mean {near[0]!r}?)" if near else f" (known fields: {', '.join(known)})"


def _string_list(value: Any, where: str, what: str, pattern: re.Pattern[str], problems: list[str]) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        problems.append(f"{where}: {what} must be a list of strings, not {type(value).__name__}")
        return ()
    out = []
    for i, entry in enumerate(value):
        if not isinstance(entry, str) or not pattern.match(entry):
            problems.append(
                f"{where}: {what}[{i}] {entry!r} is not a valid {what[:-1] if what.endswith('s') else what}"
            )
        else:
            out.append(entry)
    return tuple(out)


def shown(value: str) -> str:
    """An input as it may appear in a message: a URL without its user:password and query (a
    presigned URL carries its token there)."""
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https", "ftp", "s3", "file") or not parsed.netloc:
        return value
    try:
        port = parsed.port
    except ValueError:
        port = None
    netloc = (parsed.hostname or "") + (f":{port}" if port else "")
    return parsed._replace(netloc=netloc, query="…" if parsed.query else "", fragment="").geturl()


def check_input(value: Any) -> str | None:
    """Why ``value`` cannot be an item's input (None: it can). Existence is the item's own fetch's
    business: an unreachable URL or a missing file fails that item, not the portfolio."""
    if not isinstance(value, str) or not value.strip():
        return "input must be a non-empty string (a URL, a purl, or a file under the inputs folder)"
    value = value.strip()
    if value.startswith("pkg:"):
        try:
            purl = PackageURL.from_string(value)
        except ValueError as exc:
            return f"input {value!r} is not a valid purl: {exc}"
        if not purl.version:
            return f"input {value!r}: a purl needs a version to be scanned"
        return None
    if "://" in value:
        parsed = urlparse(value)
        if parsed.scheme not in ("http", "https"):
            return f"input {shown(value)!r}: the URL scheme {parsed.scheme!r} is not supported; give an http(s) URL"
        if not parsed.hostname:
            return f"input {shown(value)!r}: the URL has no host"
        return None
    if value.startswith("/") or ".." in value.split("/"):
        return f"input {value!r}: a file must be named relative to the inputs folder, without '..'"
    return None


def _check_fields(entry: Mapping[str, Any], known: Sequence[str], where: str, problems: list[str]) -> None:
    for key in entry:
        if key not in known:
            problems.append(f"{where}: unknown field {key!r}{_hint(str(key), known)}")


def _tools(value: Any, where: str, problems: list[str]) -> tuple[str, ...]:
    tools = _string_list(value, where, "tools", re.compile(r".+"), problems)
    bad = [t for t in tools if t not in TOOLS]
    for tool in bad:
        problems.append(f"{where}: tools: unknown tool {tool!r}{_hint(tool, TOOLS)}")
    tools = tuple(t for t in TOOLS if t in tools)  # canonical order, no repeats
    if tools and "scancodeio" not in tools:
        problems.append(f"{where}: tools: scancodeio is required (PurlDB matches its results; the report needs it)")
    return tools


def parse_portfolio(
    document: Any,
    source: str,
    default_pipelines: Sequence[str] = ("scan_single_package",),
    default_tools: Sequence[str] = TOOLS,
) -> Portfolio:
    """Check a loaded portfolio document; raise ``PortfolioError`` listing every problem."""
    problems: list[str] = []
    if isinstance(document, list):  # a bare list of items is accepted
        document = {"items": document}
    if not isinstance(document, Mapping):
        raise PortfolioError(source, [f"the file must hold a mapping with 'items', not {type(document).__name__}"])
    _check_fields(document, TOP_FIELDS, "top level", problems)
    name = document.get("name") or source.rsplit("/", 1)[-1]
    if not isinstance(name, str):
        problems.append(f"top level: name must be a string, not {type(name).__name__}")
        name = str(name)
    defaults = document.get("defaults")
    defaults = {} if defaults is None else defaults
    if not isinstance(defaults, Mapping):
        problems.append(f"defaults: must be a mapping, not {type(defaults).__name__}")
        defaults = {}
    _check_fields(defaults, DEFAULT_FIELDS, "defaults", problems)
    base_pipelines = (
        _string_list(defaults["pipelines"], "defaults", "pipelines", PIPELINE_PATTERN, problems)
        if "pipelines" in defaults
        else tuple(default_pipelines)
    )
    base_tools = _tools(defaults["tools"], "defaults", problems) if "tools" in defaults else tuple(default_tools)
    base_owner = defaults.get("owner")
    base_tags = _string_list(defaults.get("tags", []), "defaults", "tags", TAG_PATTERN, problems)

    raw_items = document.get("items")
    if not isinstance(raw_items, list) or not raw_items:
        problems.append("items: must be a non-empty list of entries")
        raise PortfolioError(source, problems)
    items: list[PortfolioItem] = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(raw_items):
        where = f"items[{index}]"
        if not isinstance(entry, Mapping):
            problems.append(f"{where}: must be a mapping with at least 'id' and 'input', not {type(entry).__name__}")
            continue
        item_id = entry.get("id")
        if isinstance(item_id, str | int) and not isinstance(item_id, bool):
            item_id = str(item_id)
            where = f"items[{index}] (id {item_id!r})"
        _check_fields(entry, ITEM_FIELDS, where, problems)
        if not isinstance(item_id, str) or not ID_PATTERN.match(item_id):
            problems.append(
                f"{where}: id {entry.get('id')!r} is missing or invalid "
                "(1-100 letters, digits, '.', '_' or '-', starting with a letter or digit)"
            )
            item_id = None
        elif item_id in seen:
            problems.append(f"{where}: id {item_id!r} is already used by items[{seen[item_id]}]")
        else:
            seen[item_id] = index
        reason = check_input(entry.get("input"))
        if reason:
            problems.append(f"{where}: {reason}")
        pipelines = (
            _string_list(entry["pipelines"], where, "pipelines", PIPELINE_PATTERN, problems)
            if "pipelines" in entry
            else base_pipelines
        )
        if "pipelines" in entry and not pipelines:
            problems.append(f"{where}: pipelines must name at least one ScanCode.io pipeline")
        tools = _tools(entry["tools"], where, problems) if "tools" in entry else base_tools
        owner = entry.get("owner", base_owner)
        if owner is not None and not isinstance(owner, str):
            problems.append(f"{where}: owner must be a string, not {type(owner).__name__}")
            owner = None
        tags = _string_list(entry["tags"], where, "tags", TAG_PATTERN, problems) if "tags" in entry else base_tags
        if item_id and not reason:
            items.append(PortfolioItem(item_id, str(entry["input"]).strip(), pipelines, tools, owner, tags))
    if problems:
        raise PortfolioError(source, problems)
    return Portfolio(str(name), tuple(items), source, frozenset(seen))


VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def unset_variables(portfolio: Portfolio, environ: Mapping[str, str]) -> list[str]:
    """Every ``${NAME}`` an item's input names that the environment does not set (each fetch
    expands them; the plan checks them all first), as problems naming the item."""
    return [
        f"items[{index}] (id {item.id!r}): input names ${{{name}}}, which is not set in the worker's environment"
        for index, item in enumerate(portfolio.items)
        for name in VARIABLE.findall(item.input)
        if name not in environ
    ]


def load_portfolio_text(text: str, source: str, **defaults: Any) -> Portfolio:
    """Parse YAML (JSON is YAML) text; a syntax error names the line."""
    import yaml

    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise PortfolioError(source, [f"not valid YAML{where}: {problem}"]) from exc
    return parse_portfolio(document, source, **defaults)
