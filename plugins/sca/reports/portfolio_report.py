"""The portfolio's nightly report: one self-contained ``portfolio.html`` (inline CSS and SVG, no
script, no external URL), ``portfolio.xlsx`` and one csv per table, built from pandas frames of
the night (and of the previous night, to say what changed). No Airflow.

The caller gathers the frames (``PortfolioFrames``, exact columns below) and the trend (one row
per night, see ``trend_row``); this module only computes and renders. Package data is untrusted:
every value is escaped in the html, and the xlsx never turns a string into a formula or a link.
"""

from __future__ import annotations

import html
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
import xlsxwriter
from pandas import DataFrame, Series

from sca.reports.charts import bar_chart, diverging_bar_chart, esc, fmt, line_chart
from sca.reports.scan_report import COLOURS

ITEM_COLUMNS = (
    "item_id",
    "input",
    "owner",
    "tags",
    "scan_id",
    "package",
    "input_sha256",
    "verdict",
    "state",
    "reused",
    "report_href",
)
PACKAGE_COLUMNS = ("item_id", "purl", "name", "version", "declared_license_expression")
LICENSE_COLUMNS = ("item_id", "license_expression", "files")
FINDING_COLUMNS = ("item_id", "tool", "severity", "policy", "subject")
FAILURE_COLUMNS = ("item_id", "stage", "reason")
FRAME_COLUMNS: dict[str, tuple[str, ...]] = {
    "items": ITEM_COLUMNS,
    "packages": PACKAGE_COLUMNS,
    "licenses": LICENSE_COLUMNS,
    "findings": FINDING_COLUMNS,
    "failures": FAILURE_COLUMNS,
}
CHANGE_COLUMNS = ("change", "item_id", "subject", "detail")
FAILED_ITEM_COLUMNS = ("item_id", "input", "owner", "stage", "reason")
TREND_COUNTS = (
    "items",
    "failed_items",
    "packages",
    "findings",
    "error",
    "warning",
    "missing",
    "pass",
    "warn",
    "fail",
    "incomplete",
)
TREND_COLUMNS = ("logical_date", "run_id", *TREND_COUNTS)
INT_COLUMNS = frozenset({"files", *TREND_COUNTS})

VERDICTS = ("pass", "warn", "fail", "incomplete")
SEVERITIES = ("error", "warning", "missing")
STATES = ("done", "failed")
CHANGE_TYPES = (
    "new_item",
    "removed_item",
    "changed_input",
    "new_package",
    "removed_package",
    "new_license",
    "removed_license",
    "new_finding",
    "resolved_finding",
    "newly_failed",
    "recovered",
)
# Rows of the changes chart: what area, which change takes away (left), which adds (right).
CHANGE_PAIRS = (
    ("items", "removed_item", "new_item"),
    ("inputs", None, "changed_input"),
    ("packages", "removed_package", "new_package"),
    ("licenses", "removed_license", "new_license"),
    ("findings", "resolved_finding", "new_finding"),
    ("failures", "recovered", "newly_failed"),
)
SHEETS = ("summary", "items", "packages", "licenses", "findings", "changes", "failed items", "trend")
REPORT_FILES = (
    "portfolio.html",
    "portfolio.xlsx",
    "csv/summary.csv",
    "csv/items.csv",
    "csv/packages.csv",
    "csv/licenses.csv",
    "csv/findings.csv",
    "csv/changes.csv",
    "csv/failed_items.csv",
    "csv/trend.csv",
)
SEVERITY_COLOURS = {"error": "#cf222e", "warning": "#9a6700", "missing": "#8250df"}
TOP_LICENSES = 15
ITEM_ROWS = 10_000  # the html lists at most this many items; the csv and xlsx hold all
TABLE_ROWS = 2_000  # and at most this many rows of every other long table
FIRST_NIGHT = "first night: nothing to compare"
NO_CHANGES = "nothing changed since the previous night"
XLSX_OPTIONS = {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}


def empty_frame(columns: Sequence[str]) -> DataFrame:
    """A frame with these columns and no rows (counts as int64, the rest as object)."""
    return DataFrame({c: Series(dtype="int64" if c in INT_COLUMNS else object) for c in columns})


def checked_frame(name: str, frame: DataFrame, columns: Sequence[str]) -> DataFrame:
    """The frame with exactly ``columns`` in that order; a missing or unexpected column is a
    ValueError naming the frame and the column."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(
            f"{name} frame: missing column(s) {', '.join(missing)} (it needs exactly {', '.join(columns)})"
        )
    extra = [str(c) for c in frame.columns if c not in columns]
    if extra:
        raise ValueError(
            f"{name} frame: unexpected column(s) {', '.join(extra)} (it takes exactly {', '.join(columns)})"
        )
    return frame.loc[:, list(columns)].reset_index(drop=True)


@dataclass(frozen=True)
class PortfolioNight:
    dag_id: str
    run_id: str
    logical_date: str  # ISO 8601
    portfolio: str  # its name or path
    generated_at: str  # ISO 8601


@dataclass
class PortfolioFrames:
    """One night of the portfolio, one frame per table; columns as in ``FRAME_COLUMNS``."""

    items: DataFrame
    packages: DataFrame
    licenses: DataFrame
    findings: DataFrame
    failures: DataFrame

    def __post_init__(self) -> None:
        for name, columns in FRAME_COLUMNS.items():
            setattr(self, name, checked_frame(name, getattr(self, name), columns))


def empty_frames() -> PortfolioFrames:
    return PortfolioFrames(**{name: empty_frame(columns) for name, columns in FRAME_COLUMNS.items()})


@dataclass
class PortfolioReport:
    files: dict[str, bytes]  # relative path -> bytes, keys as in REPORT_FILES
    summary: dict[str, Any]  # JSON-native
    changes: DataFrame  # CHANGE_COLUMNS


# ---------------------------------------------------------------------------------------------
# Computing


def text(column: Series) -> Series:
    """The column as strings, with None/NaN as ""."""
    return column.astype(object).fillna("").astype(str)


def trend_row(night: PortfolioNight, frames: PortfolioFrames) -> dict[str, Any]:
    """This night's row of the trend frame, counted the way the summary counts."""
    verdicts = frames.items["verdict"].value_counts()
    severities = frames.findings["severity"].value_counts()
    return {
        "logical_date": night.logical_date,
        "run_id": night.run_id,
        "items": len(frames.items),
        "failed_items": int((frames.items["state"] == "failed").sum()),
        "packages": len(frames.packages),
        "findings": len(frames.findings),
        **{s: int(severities.get(s, 0)) for s in SEVERITIES},
        **{v: int(verdicts.get(v, 0)) for v in VERDICTS},
    }


def _changes(change: str, item_id: Any, subject: Any, detail: Any) -> DataFrame:
    return DataFrame(
        {
            "change": change,
            "item_id": list(item_id),
            "subject": list(subject),
            "detail": list(detail),
        },
        columns=list(CHANGE_COLUMNS),
    )


def _only_in(frame: DataFrame, other: DataFrame, keys: list[str]) -> DataFrame:
    """Rows of ``frame`` (one per key, keys as strings) whose key is not in ``other``."""
    mine = frame.assign(**{k: text(frame[k]) for k in keys}).drop_duplicates(keys)
    theirs = other[keys].assign(**{k: text(other[k]) for k in keys}).drop_duplicates()
    merged = mine.merge(theirs, on=keys, how="left", indicator=True)
    return merged[merged["_merge"] == "left_only"].drop(columns="_merge")


def _reasons(failures: DataFrame) -> Series:
    """item_id -> "stage: reason; …"."""
    if failures.empty:
        return Series(dtype=object)
    lines = text(failures["stage"]) + ": " + text(failures["reason"])
    return lines.groupby(text(failures["item_id"])).agg("; ".join)


def _license_places(licenses: DataFrame, leave_out: pd.Index) -> DataFrame:
    """license_expression -> first item (by id) holding it and how many items hold it."""
    rows = licenses[licenses["license_expression"].notna() & ~licenses["item_id"].isin(leave_out)]
    rows = rows.assign(item_id=text(rows["item_id"]), license_expression=text(rows["license_expression"]))
    return rows.groupby("license_expression")["item_id"].agg(["min", "nunique"])


@dataclass(frozen=True)
class _Pair:
    """The two nights' items side by side, and which items each comparison may look at."""

    cur: DataFrame  # current items, indexed by item_id
    prev: DataFrame  # previous items, indexed by item_id
    added: pd.Index
    gone: pd.Index
    both: pd.Index
    done_both: pd.Index  # done on both nights: their contents can be compared
    failed_either: pd.Index  # in both, failed on at least one night: their contents are unknown

    @classmethod
    def of(cls, current: PortfolioFrames, previous: PortfolioFrames) -> _Pair:
        cur = current.items.drop_duplicates("item_id").set_index("item_id")
        prev = previous.items.drop_duplicates("item_id").set_index("item_id")
        both = cur.index.intersection(prev.index)
        now, before = cur.loc[both, "state"], prev.loc[both, "state"]
        return cls(
            cur=cur,
            prev=prev,
            added=cur.index.difference(prev.index),
            gone=prev.index.difference(cur.index),
            both=both,
            done_both=both[((now == "done") & (before == "done")).to_numpy()],
            failed_either=both[((now == "failed") | (before == "failed")).to_numpy()],
        )


def _state(rows: DataFrame, prefix: str = "") -> Series:
    return prefix + text(rows["state"]) + ", verdict " + text(rows["verdict"]).replace("", "none")


def _item_changes(pair: _Pair) -> list[DataFrame]:
    new_rows, gone_rows = pair.cur.loc[pair.added], pair.prev.loc[pair.gone]
    sha_now, sha_before = pair.cur.loc[pair.both, "input_sha256"], pair.prev.loc[pair.both, "input_sha256"]
    moved = (sha_now.notna() & sha_before.notna() & (sha_now != sha_before)).to_numpy()
    return [
        _changes("new_item", pair.added, text(new_rows["input"]), _state(new_rows)),
        _changes("removed_item", pair.gone, text(gone_rows["input"]), _state(gone_rows, "was ")),
        _changes(
            "changed_input",
            pair.both[moved],
            text(pair.cur.loc[pair.both[moved], "input"]),
            "sha256 " + text(sha_before[moved]).str[:12] + " → " + text(sha_now[moved]).str[:12],
        ),
    ]


def _package_changes(pair: _Pair, current: PortfolioFrames, previous: PortfolioFrames) -> list[DataFrame]:
    def packages(frames: PortfolioFrames) -> DataFrame:
        rows = frames.packages
        return rows[rows["item_id"].isin(pair.done_both) & rows["purl"].notna()]

    pieces = []
    for change, mine, theirs in (
        ("new_package", packages(current), packages(previous)),
        ("removed_package", packages(previous), packages(current)),
    ):
        rows = _only_in(mine, theirs, ["item_id", "purl"])
        licence = text(rows["declared_license_expression"]).replace("", "no declared license")
        detail = text(rows["name"]) + " " + text(rows["version"]) + " (" + licence + ")"
        pieces.append(_changes(change, rows["item_id"], rows["purl"], detail))
    return pieces


def _license_changes(pair: _Pair, current: PortfolioFrames, previous: PortfolioFrames) -> list[DataFrame]:
    now = _license_places(current.licenses, pair.failed_either)
    before = _license_places(previous.licenses, pair.failed_either)
    pieces = []
    for change, mine, theirs in (("new_license", now, before), ("removed_license", before, now)):
        rows = mine.loc[mine.index.difference(theirs.index)]
        pieces.append(_changes(change, rows["min"], rows.index, "in " + rows["nunique"].astype(str) + " item(s)"))
    return pieces


def _finding_changes(pair: _Pair, current: PortfolioFrames, previous: PortfolioFrames) -> list[DataFrame]:
    now = current.findings[current.findings["item_id"].isin(pair.done_both)]
    before = previous.findings[previous.findings["item_id"].isin(pair.done_both)]
    pieces = []
    for change, mine, theirs in (("new_finding", now, before), ("resolved_finding", before, now)):
        rows = _only_in(mine, theirs, list(FINDING_COLUMNS))
        detail = rows["severity"] + " from " + rows["tool"] + ": " + rows["policy"]
        pieces.append(_changes(change, rows["item_id"], rows["subject"], detail))
    return pieces


def _failure_changes(pair: _Pair, current: PortfolioFrames, previous: PortfolioFrames) -> list[DataFrame]:
    now, before = pair.cur.loc[pair.both, "state"], pair.prev.loc[pair.both, "state"]
    failing = pair.both[((now == "failed") & (before != "failed")).to_numpy()]
    healed = pair.both[((now != "failed") & (before == "failed")).to_numpy()]

    def why(ids: pd.Index, failures: DataFrame) -> Series:
        reasons = Series(ids.map(str), dtype=object).map(_reasons(failures))
        return text(reasons).replace("", "no reason recorded")

    return [
        _changes("newly_failed", failing, text(pair.cur.loc[failing, "input"]), why(failing, current.failures)),
        _changes("recovered", healed, text(pair.cur.loc[healed, "input"]), "was: " + why(healed, previous.failures)),
    ]


def compute_changes(current: PortfolioFrames, previous: PortfolioFrames | None) -> DataFrame:
    """What changed since the previous night, one row per change (``CHANGE_COLUMNS``), ordered by
    ``CHANGE_TYPES``, item and subject. ``previous`` None (the first night) gives no rows.

    Packages (by purl; rows without one are ignored) and findings are compared only for items
    done on both nights: a new or removed item is reported as such, not as all its contents, and
    a failed item's contents are unknown. Licenses are compared over the whole portfolio (an
    expression seen nowhere last night is new, even if a new item brought it), leaving out on
    both sides the items that failed on either night. ``changed_input`` needs both hashes."""
    if previous is None:
        return empty_frame(CHANGE_COLUMNS)
    pair = _Pair.of(current, previous)
    pieces = _item_changes(pair)
    for compare in (_package_changes, _license_changes, _finding_changes, _failure_changes):
        pieces += compare(pair, current, previous)
    changes = pd.concat([p for p in pieces if not p.empty] or [empty_frame(CHANGE_COLUMNS)], ignore_index=True)
    changes = changes.assign(**{c: text(changes[c]) for c in CHANGE_COLUMNS})
    rank = changes["change"].map({c: i for i, c in enumerate(CHANGE_TYPES)})
    order = changes.assign(_rank=rank).sort_values(["_rank", "item_id", "subject"], kind="stable").index
    return changes.loc[order].reset_index(drop=True)


def summarise(night: PortfolioNight, frames: PortfolioFrames, changes: DataFrame, first_night: bool) -> dict[str, Any]:
    """The night in numbers, JSON-native."""
    row = trend_row(night, frames)
    per_change = changes["change"].value_counts()
    return {
        "portfolio": night.portfolio,
        "dag_id": night.dag_id,
        "run_id": night.run_id,
        "logical_date": night.logical_date,
        "generated_at": night.generated_at,
        "items": row["items"],
        "done": int((frames.items["state"] == "done").sum()),
        "failed": row["failed_items"],
        "verdicts": {v: row[v] for v in VERDICTS},
        "findings": {s: row[s] for s in SEVERITIES},
        "packages": row["packages"],
        "licenses": int(frames.licenses["license_expression"].dropna().nunique()),
        "first_night": first_night,
        "changes": {c: int(per_change.get(c, 0)) for c in CHANGE_TYPES},
    }


def summary_frame(summary: Mapping[str, Any]) -> DataFrame:
    """The summary as a two-column key/value table; nested counts as ``verdicts.pass`` etc."""
    rows: list[tuple[str, Any]] = []
    for key, value in summary.items():
        if isinstance(value, Mapping):
            rows += [(f"{key}.{k}", v) for k, v in value.items()]
        else:
            rows.append((key, value))
    return DataFrame(rows, columns=["key", "value"], dtype=object)


def failed_items(frames: PortfolioFrames) -> DataFrame:
    """Failed items with the stage and reason of each failure (``FAILED_ITEM_COLUMNS``); a failed
    item with no failure row still appears, with "no reason recorded"."""
    items = frames.items
    named = frames.failures.merge(items[["item_id", "input", "owner"]], on="item_id", how="left")
    silent = items[(items["state"] == "failed") & ~items["item_id"].isin(frames.failures["item_id"])]
    silent = silent[["item_id", "input", "owner"]].assign(stage=None, reason="no reason recorded")
    parts = [p for p in (named, silent) if not p.empty]
    if not parts:
        return empty_frame(FAILED_ITEM_COLUMNS)
    out = pd.concat(parts, ignore_index=True).loc[:, list(FAILED_ITEM_COLUMNS)]
    return out.sort_values(["item_id", "stage"], key=text, kind="stable").reset_index(drop=True)


def license_mix(licenses: DataFrame, top: int = TOP_LICENSES) -> list[tuple[str, int]]:
    """The ``top`` license expressions by number of items holding them (ties by name), then
    ``other (N more)``: how many items hold any of the N remaining expressions."""
    rows = licenses[licenses["license_expression"].notna()]
    rows = rows.assign(item_id=text(rows["item_id"]), license_expression=text(rows["license_expression"]))
    per = rows.groupby("license_expression")["item_id"].nunique().rename("items").reset_index()
    per = per.sort_values(["items", "license_expression"], ascending=[False, True], kind="stable")
    head, tail = per.iloc[:top], per.iloc[top:]
    mix = [(str(name), int(n)) for name, n in zip(head["license_expression"], head["items"], strict=True)]
    if not tail.empty:
        others = rows.loc[rows["license_expression"].isin(tail["license_expression"]), "item_id"].nunique()
        mix.append((f"other ({len(tail)} more)", int(others)))
    return mix


# ---------------------------------------------------------------------------------------------
# Files


def to_csv(frame: DataFrame) -> bytes:
    return frame.to_csv(index=False, lineterminator="\n").encode("utf-8")


def _write_column(sheet: Any, col: int, column: Series) -> None:
    """One column under its header; empty cells stay blank, numbers stay numbers, everything
    else is written as a plain string (never a formula or a link)."""
    for row, value in enumerate(column.astype(object).where(column.notna(), None).tolist(), start=1):
        if value is None:
            continue
        if isinstance(value, bool):
            sheet.write_boolean(row, col, value)
        elif isinstance(value, int | float) and math.isfinite(value):
            sheet.write_number(row, col, value)
        else:
            sheet.write_string(row, col, str(value))


def to_xlsx(sheets: Mapping[str, DataFrame]) -> bytes:
    """One sheet per frame: a bold, frozen header row and the rows under it. XlsxWriter is driven
    directly, column by column (pandas' ``to_excel`` styles every cell on its own and takes five
    times as long). Rows past Excel's limit (1,048,575) are left out; the csv files hold all."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, **XLSX_OPTIONS})
    bold = book.add_format({"bold": True})
    for name, frame in sheets.items():
        sheet = book.add_worksheet(name)
        sheet.write_row(0, 0, [str(c) for c in frame.columns], bold)
        for col, column in enumerate(frame.columns):
            _write_column(sheet, col, frame[column])
        sheet.set_column(0, max(len(frame.columns) - 1, 0), 20)
        sheet.freeze_panes(1, 0)
    book.close()
    return buffer.getvalue()


def build_portfolio_report(
    night: PortfolioNight,
    current: PortfolioFrames,
    previous: PortfolioFrames | None,
    trend: DataFrame,
    attachments: Sequence[str] = (),
) -> PortfolioReport:
    """Everything the night's portfolio report is made of; ``trend`` has ``TREND_COLUMNS``, one
    row per night, oldest first, this night included. ``attachments``: other files stored beside
    the report (the merged SBOM, FossID's project reports), linked from the page by name."""
    trend = checked_frame("trend", trend, TREND_COLUMNS)
    changes = compute_changes(current, previous)
    summary = summarise(night, current, changes, first_night=previous is None)
    sheets = {
        "summary": summary_frame(summary),
        "items": current.items,
        "packages": current.packages,
        "licenses": current.licenses,
        "findings": current.findings,
        "changes": changes,
        "failed items": failed_items(current),
        "trend": trend,
    }
    page = render_html(night, current, previous, changes, trend, summary, sheets["failed items"], attachments)
    files = {"portfolio.html": page.encode("utf-8"), "portfolio.xlsx": to_xlsx(sheets)}
    files.update({f"csv/{name.replace(' ', '_')}.csv": to_csv(frame) for name, frame in sheets.items()})
    return PortfolioReport(files={name: files[name] for name in REPORT_FILES}, summary=summary, changes=changes)


# ---------------------------------------------------------------------------------------------
# Html

CSS = """body{font-family:sans-serif;margin:1.5em auto;max-width:80em;padding:0 1em;color:#1f2328}
table{border-collapse:collapse;width:100%;font-size:.9em}td,th{border:1px solid #d0d7de;padding:.25em .4em;
text-align:left;vertical-align:top}th{background:#f6f8fa}td.n{text-align:right}
.cards{display:flex;flex-wrap:wrap;gap:.6em}.card{border:1px solid #d0d7de;border-radius:6px;padding:.4em .8em}
.card b{display:block;font-size:1.4em}.charts{display:flex;flex-wrap:wrap;gap:1em;align-items:flex-start}
svg.chart{max-width:100%;height:auto;border:1px solid #d0d7de;border-radius:6px;background:#fff}
.note{color:#57606a}small{color:#57606a}code{font-size:.95em}"""
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"
BAD_HREF = r"[\x00-\x20\x7f\\]"  # browsers drop or rewrite these, so "java\tscript:" could slip by
ANY_SCHEME = r"[A-Za-z][A-Za-z0-9+.\-]*:"
SAFE_SCHEME = r"(?i)(?:https?|file):"


def escaped(column: Series) -> list[str]:
    return [html.escape(value) for value in text(column).tolist()]


def linked(labels: Series, hrefs: Series) -> list[str]:
    """Escaped labels, each a link to its href when that is relative or http(s)/file:// (so no
    ``javascript:`` or ``data:`` link can come from the data)."""
    href = text(hrefs).str.strip()
    scheme = href.str.match(ANY_SCHEME)
    ok = (href != "") & ~href.str.contains(BAD_HREF) & (~scheme | href.str.match(SAFE_SCHEME))
    return [
        f'<a href="{html.escape(h)}">{label}</a>' if good else label
        for label, h, good in zip(escaped(labels), href.tolist(), ok.tolist(), strict=True)
    ]


def coloured(values: Series, known: Sequence[str], prefix: str) -> list[str]:
    """Table cells whose class names the value (only known values give a class)."""
    words = text(values)
    classes = words.where(words.isin(list(known)), "none")
    return [
        f'<td class="{prefix} {prefix}-{c}">{html.escape(w)}</td>'
        for w, c in zip(words.tolist(), classes.tolist(), strict=True)
    ]


def table(header: Sequence[str], columns: Sequence[Sequence[str]], empty: str) -> str:
    """A table of pre-escaped cells, one list per column; a cell that is not already a ``<td>``
    gets one."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    if not columns or not len(columns[0]):
        return f'<p class="note">{html.escape(empty)}</p>'
    rows = "".join(
        "<tr>" + "".join(c if c.startswith("<td") else f"<td>{c}</td>" for c in row) + "</tr>"
        for row in zip(*columns, strict=True)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def shown(frame: DataFrame, limit: int, csv_name: str) -> tuple[DataFrame, str]:
    """The first ``limit`` rows, and a note pointing at the full csv when rows were left out."""
    if len(frame) <= limit:
        return frame, ""
    return frame.iloc[:limit], (
        f'<p class="note">Showing the first {fmt(limit)} of {fmt(len(frame))} rows; all of them are in '
        f'<a href="csv/{csv_name}">csv/{csv_name}</a> and portfolio.xlsx.</p>'
    )


def numbers(values: Series) -> list[str]:
    return [f'<td class="n">{fmt(v)}</td>' for v in values.fillna(0).astype("int64").tolist()]


def _counts_per_item(ids: Series, frame: DataFrame) -> Series:
    return ids.map(frame["item_id"].value_counts()).fillna(0)


def items_section(frames: PortfolioFrames) -> str:
    items = frames.items
    state_rank = (items["state"] == "failed").map({True: 0, False: 1})
    verdict_rank = items["verdict"].map({"fail": 0, "incomplete": 1, "warn": 2, "pass": 3}).fillna(4)
    items = items.assign(_s=state_rank, _v=verdict_rank, _id=text(items["item_id"]))
    items = items.sort_values(["_s", "_v", "_id"], kind="stable")
    items, note = shown(items, ITEM_ROWS, "items.csv")
    per_severity = frames.findings.groupby(["item_id", "severity"]).size().unstack(fill_value=0)
    finding_cells = [
        f'<td class="n">{fmt(e)} / {fmt(w)} / {fmt(m)}</td>'
        for e, w, m in zip(
            *(items["item_id"].map(per_severity.get(s, Series(dtype="int64"))).fillna(0).tolist() for s in SEVERITIES),
            strict=True,
        )
    ]
    columns = [
        linked(items["item_id"], items["report_href"]),
        escaped(items["input"]),
        escaped(items["owner"]),
        escaped(items["tags"]),
        coloured(items["verdict"], VERDICTS, "v"),
        coloured(items["state"], STATES, "s"),
        numbers(_counts_per_item(items["item_id"], frames.packages)),
        finding_cells,
        escaped(items["reused"]),
    ]
    header = ["Item", "Input", "Owner", "Tags", "Verdict", "State", "Packages", "Error / warning / missing", "Reused"]
    return note + table(header, columns, "The portfolio has no items.")


def changes_section(changes: DataFrame, current: PortfolioFrames, previous: PortfolioFrames | None) -> str:
    if previous is None:
        return f'<p class="note">{FIRST_NIGHT}.</p>'
    names = pd.concat(
        [current.items[["item_id", "input"]], previous.items[["item_id", "input"]]], ignore_index=True
    ).drop_duplicates("item_id")
    names = Series(text(names["input"]).to_numpy(), index=text(names["item_id"]).to_numpy())
    changes, note = shown(changes, TABLE_ROWS, "changes.csv")
    item_cells = [
        f"<code>{html.escape(i)}</code><br><small>{html.escape(n)}</small>"
        for i, n in zip(changes["item_id"].tolist(), text(changes["item_id"].map(names)).tolist(), strict=True)
    ]
    columns = [escaped(changes["change"]), item_cells, escaped(changes["subject"]), escaped(changes["detail"])]
    return note + table(["Change", "Item", "What", "Detail"], columns, NO_CHANGES + ".")


def failed_section(failed: DataFrame) -> str:
    failed, note = shown(failed, TABLE_ROWS, "failed_items.csv")
    columns = [
        [f"<code>{i}</code>" for i in escaped(failed["item_id"])],
        escaped(failed["input"]),
        escaped(failed["owner"]),
        escaped(failed["stage"]),
        escaped(failed["reason"]),
    ]
    return note + table(["Item", "Input", "Owner", "Stage", "Reason"], columns, "No item failed.")


def licenses_section(licenses: DataFrame) -> str:
    rows = licenses[licenses["license_expression"].notna()]
    rows = rows.assign(item_id=text(rows["item_id"]), license_expression=text(rows["license_expression"]))
    groups = rows.groupby("license_expression")
    per = DataFrame(
        {
            "items": groups["item_id"].nunique(),
            "files": groups["files"].sum(),
            "examples": groups["item_id"].agg(lambda ids: ", ".join(sorted(set(ids))[:5])),
        }
    ).reset_index()
    per = per.sort_values(["items", "license_expression"], ascending=[False, True], kind="stable")
    per, note = shown(per, TABLE_ROWS, "licenses.csv")
    columns = [
        [f"<code>{e}</code>" for e in escaped(per["license_expression"])],
        numbers(per["items"]),
        numbers(per["files"]),
        escaped(per["examples"]),
    ]
    return note + table(["License expression", "Items", "Files", "Items (first 5)"], columns, "No license found.")


def findings_section(findings: DataFrame) -> str:
    rank = findings["severity"].map({s: i for i, s in enumerate(SEVERITIES)}).fillna(len(SEVERITIES))
    keys = {c: text(findings[c]) for c in ("item_id", "tool", "policy", "subject")}
    findings = findings.assign(_r=rank, **{f"_{k}": v for k, v in keys.items()})
    findings = findings.sort_values(["_r", "_item_id", "_tool", "_policy", "_subject"], kind="stable")
    findings, note = shown(findings, TABLE_ROWS, "findings.csv")
    columns = [
        coloured(findings["severity"], SEVERITIES, "f"),
        [f"<code>{i}</code>" for i in escaped(findings["item_id"])],
        escaped(findings["tool"]),
        escaped(findings["policy"]),
        escaped(findings["subject"]),
    ]
    return note + table(["Severity", "Item", "Tool", "Policy", "Where"], columns, "No findings.")


def charts_section(summary: Mapping[str, Any], licenses: DataFrame, trend: DataFrame) -> str:
    changes = summary["changes"]
    rows = [(area, (left or "", changes.get(left, 0)), (right, changes[right])) for area, left, right in CHANGE_PAIRS]
    dates = text(trend["logical_date"]).tolist()

    def series(column: str) -> list[float]:
        return trend[column].fillna(0).astype(float).tolist()

    charts = [
        bar_chart(
            "chart-licenses",
            "License mix: items per license expression",
            license_mix(licenses),
            value_label="items",
            empty="no license found",
        ),
        bar_chart(
            "chart-severity",
            "Findings by severity",
            [(s, summary["findings"][s]) for s in SEVERITIES],
            value_label="findings",
            colours=[SEVERITY_COLOURS[s] for s in SEVERITIES],
        ),
        line_chart(
            "chart-trend",
            "Findings and packages over the nights",
            dates,
            [
                ("findings", {"findings": series("findings"), **{s: series(s) for s in SEVERITIES}}),
                ("packages", {"packages": series("packages")}),
            ],
        ),
        diverging_bar_chart(
            "chart-changes",
            "Changes since the previous night",
            rows,
            left_label="removed, resolved, recovered",
            right_label="new, changed, failed",
            empty=FIRST_NIGHT if summary["first_night"] else NO_CHANGES,
        ),
    ]
    return '<div class="charts">' + "".join(charts) + "</div>"


def verdict_cards(summary: Mapping[str, Any]) -> str:
    cards = [("items", summary["items"], "#1f2328"), ("done", summary["done"], "#1f2328")]
    cards.append(("failed", summary["failed"], COLOURS["fail"]))
    cards += [(v, summary["verdicts"][v], COLOURS[v]) for v in VERDICTS]
    cards += [(f"{s} findings", summary["findings"][s], SEVERITY_COLOURS[s]) for s in SEVERITIES]
    cards += [("packages", summary["packages"], "#1f2328"), ("licenses", summary["licenses"], "#1f2328")]
    return (
        '<div class="cards">'
        + "".join(
            f'<div class="card" style="color:{colour}"><b>{fmt(n)}</b>{html.escape(label)}</div>'
            for label, n, colour in cards
        )
        + "</div>"
    )


def render_html(
    night: PortfolioNight,
    current: PortfolioFrames,
    previous: PortfolioFrames | None,
    changes: DataFrame,
    trend: DataFrame,
    summary: Mapping[str, Any],
    failed: DataFrame,
    attachments: Sequence[str] = (),
) -> str:
    """The one-page report: inline CSS and SVG only, so it opens offline and with scripts off."""
    verdict_css = "".join(f".v-{v}{{color:{c};font-weight:bold}}" for v, c in COLOURS.items())
    severity_css = "".join(f".f-{s}{{color:{c};font-weight:bold}}" for s, c in SEVERITY_COLOURS.items())
    name = esc(night.portfolio)
    day = esc(night.logical_date[:10])
    files = " · ".join(f'<a href="{esc(f)}">{esc(f)}</a>' for f in (*attachments, *REPORT_FILES[1:]))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Portfolio report: {name}, night of {day}</title>
<style>{CSS}{verdict_css}.s-failed{{color:{COLOURS["fail"]};font-weight:bold}}{severity_css}</style>
</head><body>
<header><h1>Portfolio report: {name}</h1>
<p>Night of <b>{esc(night.logical_date)}</b>: DAG <code>{esc(night.dag_id)}</code>,
run <code>{esc(night.run_id)}</code>. Generated {esc(night.generated_at)}.</p></header>
<section id="verdicts"><h2>Verdicts</h2>{verdict_cards(summary)}</section>
<section id="charts"><h2>Charts</h2>{charts_section(summary, current.licenses, trend)}</section>
<section id="changes"><h2>Changed since last night</h2>{changes_section(changes, current, previous)}</section>
<section id="items"><h2>Items</h2>{items_section(current)}</section>
<section id="failed"><h2>Failed items</h2>{failed_section(failed)}</section>
<section id="licenses"><h2>Licenses</h2>{licenses_section(current.licenses)}</section>
<section id="findings"><h2>Findings</h2>{findings_section(current.findings)}</section>
<footer><p class="note">Also in this report: {files}</p></footer>
</body></html>
"""
