"""The portfolio report: what changed between two crafted nights, the summary, the xlsx and csv
files, the html (self-contained, escaped) and the charts, and a 5,000-item portfolio."""

from __future__ import annotations

import io
import re
from typing import Any

import openpyxl
import pandas as pd
import pytest

from sca.reports import charts
from sca.reports.portfolio_report import (
    CHANGE_COLUMNS,
    CHANGE_TYPES,
    FIRST_NIGHT,
    REPORT_FILES,
    TREND_COLUMNS,
    PortfolioFrames,
    PortfolioNight,
    build_portfolio_report,
    compute_changes,
    empty_frames,
    license_mix,
    trend_row,
)

SHA = {"a1": "a1" * 32, "a2": "a2" * 32, "b": "bb" * 32, "c": "cc" * 32, "d": "dd" * 32, "e": "ee" * 32, "f": "ff" * 32}
LAST_NIGHT = PortfolioNight("sca_portfolio", "scheduled__2026-03-01", "2026-03-01T02:00:00+00:00", "demo", "x")
TONIGHT = PortfolioNight(
    "sca_portfolio", "scheduled__2026-03-02", "2026-03-02T02:00:00+00:00", "demo portfolio", "2026-03-02T02:41:07+00:00"
)


def item(item_id: str, input_: str, sha: str | None, verdict: str | None, state: str = "done", **more: Any) -> dict:
    return {
        "item_id": item_id,
        "input": input_,
        "owner": "team-" + item_id,
        "tags": "demo,nightly",
        "scan_id": f"scan-{item_id}-{(sha or 'none')[:6]}",
        "package": input_.rsplit("/", 1)[-1],
        "input_sha256": sha,
        "verdict": verdict,
        "state": state,
        "reused": "",
        "report_href": f"scans/{item_id}/summary.html",
        **more,
    }


def frames(
    items: list[dict], packages: list[tuple], licenses: list[tuple], findings: list[tuple], failures: list[tuple]
) -> PortfolioFrames:
    return PortfolioFrames(
        items=pd.DataFrame(items),
        packages=pd.DataFrame(packages, columns=["item_id", "purl", "name", "version", "declared_license_expression"]),
        licenses=pd.DataFrame(licenses, columns=["item_id", "license_expression", "files"]),
        findings=pd.DataFrame(findings, columns=["item_id", "tool", "severity", "policy", "subject"]),
        failures=pd.DataFrame(failures, columns=["item_id", "stage", "reason"]),
    )


def last_night() -> PortfolioFrames:
    return frames(
        items=[
            item("a", "pkg-a-1.0.tar.gz", SHA["a1"], "pass"),
            item("b", "b-2.0.zip", SHA["b"], "warn", reused="scancodeio"),
            item("c", "c-1.jar", SHA["c"], "pass"),
            item("d", "d-0.1.gem", None, None, state="failed"),
            item("e", "e-5.tgz", SHA["e"], "pass"),
        ],
        packages=[
            ("a", "pkg:pypi/a@1.0", "a", "1.0", "mit"),
            ("b", "pkg:npm/b@2.0", "b", "2.0", "apache-2.0"),
            ("c", "pkg:maven/org.c/c@1", "c", "1", "bsd-new"),
            ("e", "pkg:npm/e@5", "e", "5", "zlib"),
        ],
        licenses=[("a", "mit", 3), ("b", "apache-2.0", 7), ("c", "bsd-new", 2), ("e", "zlib", 1)],
        findings=[("b", "scancodeio", "warning", "license-policy", "lib/x.js")],
        failures=[("d", "fetch", "HTTP 404 from the mirror")],
    )


def tonight() -> PortfolioFrames:
    """a: new input with a GPL package, license and finding; b: its finding resolved (and a
    package without purl); c: removed; d: recovered; e: newly failed; f: new."""
    return frames(
        items=[
            item("a", "pkg-a-1.1.tar.gz", SHA["a2"], "fail"),
            item("b", "b-2.0.zip", SHA["b"], "pass", reused="scancodeio,fossid"),
            item("d", "d-0.1.gem", SHA["d"], "incomplete"),
            item("e", "e-5.tgz", SHA["e"], None, state="failed"),
            item("f", "f-2.0.tgz", SHA["f"], "warn"),
        ],
        packages=[
            ("a", "pkg:pypi/a@1.0", "a", "1.0", "mit"),
            ("a", "pkg:pypi/gplthing@3.0", "gplthing", "3.0", "gpl-3.0"),
            ("b", "pkg:npm/b@2.0", "b", "2.0", "apache-2.0"),
            ("b", None, "unknown", None, None),
            ("d", "pkg:gem/d@0.1", "d", "0.1", "mit"),
            ("f", "pkg:npm/f@2.0", "f", "2.0", "isc"),
        ],
        licenses=[("a", "mit", 3), ("a", "gpl-3.0", 4), ("b", "apache-2.0", 7), ("d", "mit", 1), ("f", "isc", 2)],
        findings=[
            ("a", "scancodeio", "error", "license-policy", "vendor/gplthing/COPYING"),
            ("d", "fossid", "missing", "tool result", "fossid: connection refused"),
            ("f", "fossid", "warning", "pending identification", "src/f.c"),
        ],
        failures=[("e", "scancodeio", "pipeline timed out after 3600 s")],
    )


def trend_of(*nights: tuple[PortfolioNight, PortfolioFrames]) -> pd.DataFrame:
    return pd.DataFrame([trend_row(night, f) for night, f in nights], columns=list(TREND_COLUMNS))


def build(previous: PortfolioFrames | None = None, current: PortfolioFrames | None = None):
    current = current if current is not None else tonight()
    nights = [(LAST_NIGHT, previous)] if previous is not None else []
    return build_portfolio_report(TONIGHT, current, previous, trend_of(*nights, (TONIGHT, current)))


def two_nights():
    """The report of the crafted second night (used by the browser test too)."""
    return build(last_night())


def test_changes_between_the_two_nights() -> None:
    changes = compute_changes(tonight(), last_night())

    assert list(changes.columns) == list(CHANGE_COLUMNS)
    assert list(changes.itertuples(index=False, name=None)) == [
        ("new_item", "f", "f-2.0.tgz", "done, verdict warn"),
        ("removed_item", "c", "c-1.jar", "was done, verdict pass"),
        ("changed_input", "a", "pkg-a-1.1.tar.gz", "sha256 a1a1a1a1a1a1 → a2a2a2a2a2a2"),
        ("new_package", "a", "pkg:pypi/gplthing@3.0", "gplthing 3.0 (gpl-3.0)"),
        ("new_license", "a", "gpl-3.0", "in 1 item(s)"),
        ("new_license", "f", "isc", "in 1 item(s)"),
        ("removed_license", "c", "bsd-new", "in 1 item(s)"),
        ("new_finding", "a", "vendor/gplthing/COPYING", "error from scancodeio: license-policy"),
        ("resolved_finding", "b", "lib/x.js", "warning from scancodeio: license-policy"),
        ("newly_failed", "e", "e-5.tgz", "scancodeio: pipeline timed out after 3600 s"),
        ("recovered", "d", "d-0.1.gem", "was: fetch: HTTP 404 from the mirror"),
    ]


def test_first_night_has_no_changes() -> None:
    changes = compute_changes(tonight(), None)

    assert list(changes.columns) == list(CHANGE_COLUMNS)
    assert len(changes) == 0
    report = build(None)
    assert report.summary["first_night"] is True
    assert report.summary["changes"] == dict.fromkeys(CHANGE_TYPES, 0)
    page = report.files["portfolio.html"].decode()
    assert FIRST_NIGHT == "first night: nothing to compare"
    assert page.count(FIRST_NIGHT) == 2  # the changes table and the changes chart


def test_same_night_twice_changes_nothing() -> None:
    report = build(tonight())

    assert report.summary["changes"] == dict.fromkeys(CHANGE_TYPES, 0)
    assert "nothing changed since the previous night" in report.files["portfolio.html"].decode()


def test_summary_counts() -> None:
    report = two_nights()

    assert report.summary == {
        "portfolio": "demo portfolio",
        "dag_id": "sca_portfolio",
        "run_id": "scheduled__2026-03-02",
        "logical_date": "2026-03-02T02:00:00+00:00",
        "generated_at": "2026-03-02T02:41:07+00:00",
        "items": 5,
        "done": 4,
        "failed": 1,
        "verdicts": {"pass": 1, "warn": 1, "fail": 1, "incomplete": 1},
        "findings": {"error": 1, "warning": 1, "missing": 1},
        "packages": 6,
        "licenses": 4,
        "first_night": False,
        "changes": {
            "new_item": 1,
            "removed_item": 1,
            "changed_input": 1,
            "new_package": 1,
            "removed_package": 0,
            "new_license": 2,
            "removed_license": 1,
            "new_finding": 1,
            "resolved_finding": 1,
            "newly_failed": 1,
            "recovered": 1,
        },
    }
    assert list(report.files) == list(REPORT_FILES)


def test_a_frame_with_a_missing_column_is_refused() -> None:
    good = tonight()

    with pytest.raises(ValueError, match=r"^items frame: missing column\(s\) verdict "):
        PortfolioFrames(
            items=good.items.drop(columns="verdict"),
            packages=good.packages,
            licenses=good.licenses,
            findings=good.findings,
            failures=good.failures,
        )
    with pytest.raises(ValueError, match=r"^findings frame: unexpected column\(s\) extra "):
        PortfolioFrames(
            items=good.items,
            packages=good.packages,
            licenses=good.licenses,
            findings=good.findings.assign(extra=1),
            failures=good.failures,
        )
    with pytest.raises(ValueError, match=r"^trend frame: missing column\(s\) incomplete "):
        build_portfolio_report(TONIGHT, good, None, trend_of((TONIGHT, good)).drop(columns="incomplete"))


def test_empty_frames_build_a_report() -> None:
    report = build_portfolio_report(TONIGHT, empty_frames(), empty_frames(), trend_of())

    assert report.summary["items"] == 0
    assert report.summary["changes"] == dict.fromkeys(CHANGE_TYPES, 0)
    page = report.files["portfolio.html"].decode()
    assert page.count('class="empty"') == 3  # licenses, trend, changes; severity shows three zeros
    assert "The portfolio has no items." in page


def test_xlsx_sheets_and_cells() -> None:
    book = openpyxl.load_workbook(io.BytesIO(two_nights().files["portfolio.xlsx"]))

    assert book.sheetnames == [
        "summary",
        "items",
        "packages",
        "licenses",
        "findings",
        "changes",
        "failed items",
        "trend",
    ]
    summary = {row[0]: row[1] for row in book["summary"].iter_rows(min_row=2, values_only=True)}
    assert [c.value for c in book["summary"][1]] == ["key", "value"]
    assert summary["items"] == 5
    assert summary["verdicts.fail"] == 1
    assert summary["changes.new_license"] == 2
    assert summary["portfolio"] == "demo portfolio"
    assert [c.value for c in book["failed items"][1]] == ["item_id", "input", "owner", "stage", "reason"]
    assert [c.value for c in book["failed items"][2]] == [
        "e",
        "e-5.tgz",
        "team-e",
        "scancodeio",
        "pipeline timed out after 3600 s",
    ]
    assert [c.value for c in book["changes"][4]] == [
        "changed_input",
        "a",
        "pkg-a-1.1.tar.gz",
        "sha256 a1a1a1a1a1a1 → a2a2a2a2a2a2",
    ]
    assert book["trend"].max_row == 3
    assert [c.value for c in book["trend"][3]][:4] == ["2026-03-02T02:00:00+00:00", "scheduled__2026-03-02", 5, 1]
    assert book["items"].max_row == 6


def test_xlsx_keeps_formula_like_strings_as_text() -> None:
    current = tonight()
    current.items.loc[0, "input"] = '=HYPERLINK("http://evil.invalid","x")'
    book = openpyxl.load_workbook(io.BytesIO(build(None, current).files["portfolio.xlsx"]))

    cell = book["items"]["B2"]
    assert cell.data_type == "s"
    assert cell.value == '=HYPERLINK("http://evil.invalid","x")'
    assert cell.hyperlink is None


@pytest.mark.parametrize("name", ["items", "packages", "licenses", "findings"])
def test_csv_round_trips(name: str) -> None:
    frame = getattr(tonight(), name)
    back = pd.read_csv(io.BytesIO(two_nights().files[f"csv/{name}.csv"]), dtype=str, keep_default_na=False)

    assert list(back.columns) == list(frame.columns)
    assert back.to_dict("records") == frame.astype(object).fillna("").astype(str).to_dict("records")


def test_csv_changes_failed_items_summary_and_trend() -> None:
    files = two_nights().files
    changes = pd.read_csv(io.BytesIO(files["csv/changes.csv"]), dtype=str, keep_default_na=False)
    failed = pd.read_csv(io.BytesIO(files["csv/failed_items.csv"]), dtype=str, keep_default_na=False)
    summary = pd.read_csv(io.BytesIO(files["csv/summary.csv"]), dtype=str, keep_default_na=False)
    trend = pd.read_csv(io.BytesIO(files["csv/trend.csv"]))

    assert changes.equals(compute_changes(tonight(), last_night()))
    assert failed.to_dict("records") == [
        {
            "item_id": "e",
            "input": "e-5.tgz",
            "owner": "team-e",
            "stage": "scancodeio",
            "reason": "pipeline timed out after 3600 s",
        }
    ]
    assert dict(zip(summary["key"], summary["value"], strict=True))["findings.missing"] == "1"
    assert trend["packages"].tolist() == [4, 6]
    assert trend["findings"].tolist() == [1, 3]
    assert trend["failed_items"].tolist() == [1, 1]


def test_html_has_no_external_reference_but_the_items_own_links() -> None:
    current = tonight()
    current.items.loc[0, "report_href"] = "https://reports.internal.example/a/summary.html"
    current.items.loc[1, "report_href"] = "file:///store/reports/b/summary.html"
    current.items.loc[2, "report_href"] = " javascript:alert(1)"
    current.items.loc[3, "report_href"] = "java\tscript:alert(2)"
    current.items.loc[4, "report_href"] = None
    page = build(last_night(), current).files["portfolio.html"].decode()

    refs = re.findall(r"""\b(?:src|href|xlink:href|action)\s*=\s*["']?([^"' >]*)""", page, flags=re.IGNORECASE)
    assert sorted(r for r in refs if re.match(r"(?i)[a-z][a-z0-9+.-]*:", r)) == [
        "file:///store/reports/b/summary.html",
        "https://reports.internal.example/a/summary.html",
    ]
    assert len(refs) == 2 + len(REPORT_FILES) - 1  # the two item links and the other report files
    lowered = page.lower()
    for forbidden in ("<script", "<link", "<iframe", "<img", "@import", "url(", "javascript:", "@font-face"):
        assert forbidden not in lowered
    assert len(re.findall(r"https?://", page)) == 1


def test_html_escapes_untrusted_values() -> None:
    current = tonight()
    current.items.loc[0, "item_id"] = "<script>alert('id')</script>"
    current.items.loc[0, "input"] = '"><img src=x onerror=alert(1)>'
    current.licenses.loc[1, "item_id"] = "<script>alert('id')</script>"
    current.licenses.loc[1, "license_expression"] = "<script>alert('license')</script>"
    current.findings.loc[0, "subject"] = "</td></tr></table><script>alert('finding')</script>"
    page = build(last_night(), current).files["portfolio.html"].decode()

    assert "<script" not in page.lower()
    assert "<img" not in page.lower()
    assert "&lt;script&gt;alert(&#x27;license&#x27;)&lt;/script&gt;" in page
    assert "&lt;script&gt;alert(&#x27;id&#x27;)&lt;/script&gt;" in page
    assert "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in page
    assert "&lt;/td&gt;&lt;/tr&gt;&lt;/table&gt;&lt;script&gt;alert(&#x27;finding&#x27;)" in page


def test_html_sections_and_links() -> None:
    page = two_nights().files["portfolio.html"].decode()

    assert "<title>Portfolio report: demo portfolio, night of 2026-03-02</title>" in page
    assert (
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline';" in page
    )
    assert "run <code>scheduled__2026-03-02</code>" in page
    assert "Generated 2026-03-02T02:41:07+00:00." in page
    for chart_id in ("chart-licenses", "chart-severity", "chart-trend", "chart-changes"):
        assert page.count(f'<svg class="chart" id="{chart_id}"') == 1
    for section in ("verdicts", "charts", "changes", "items", "failed", "licenses", "findings"):
        assert f'<section id="{section}">' in page
    assert '<a href="scans/a/summary.html">a</a>' in page
    assert '<td class="v v-fail">fail</td>' in page
    assert '<td class="s s-failed">failed</td>' in page
    assert "<td>scancodeio</td><td>pipeline timed out after 3600 s</td>" in page
    # The changes table names the items, the removed one by last night's input.
    assert "<code>c</code><br><small>c-1.jar</small>" in page
    assert "<td>newly_failed</td><td><code>e</code><br><small>e-5.tgz</small></td>" in page


def test_license_mix_keeps_the_top_fifteen_and_counts_the_others() -> None:
    rows: list[tuple[str, str | None, int]] = [(f"i{i}", f"lic-{n:02d}", 1) for n in range(18) for i in range(18 - n)]
    rows += [("i0", None, 5)]
    licenses = pd.DataFrame(rows, columns=["item_id", "license_expression", "files"])

    mix = license_mix(licenses)

    assert mix[:3] == [("lic-00", 18), ("lic-01", 17), ("lic-02", 16)]
    assert mix[14] == ("lic-14", 4)
    assert mix[15] == ("other (3 more)", 3)
    assert len(mix) == 16


def test_charts_have_one_mark_per_value_and_escape_labels() -> None:
    bars = charts.bar_chart("c1", "Bars <b>", [("<script>", 3), ("b", 0), ("c", 1.5)])
    lines = charts.line_chart(
        "c2", "Lines", ["2026-03-01T02:00:00", "2026-03-02T02:00:00"], [("p", {"x": [1, 2], "y": [0, 5]})]
    )
    split = charts.diverging_bar_chart("c3", "Split", [("a", ("gone", 2), ("added", 0)), ("b", ("g", 0), ("n", 0))])

    assert bars.startswith('<svg class="chart" id="c1" role="img" aria-labelledby="c1-title" viewBox="0 0 600 ')
    assert bars.count('class="mark"') == 3
    assert '<title id="c1-title">Bars &lt;b&gt;</title>' in bars
    assert "&lt;script&gt;" in bars and "<script" not in bars
    assert lines.count('<circle class="mark"') == 4
    assert lines.count('<path class="series"') == 2
    assert ">2026-03-01</text>" in lines
    assert split.count('<rect class="mark"') == 1
    for svg in (bars, lines, split):
        assert svg.endswith("</svg>")
        assert 'class="empty"' not in svg


def test_empty_charts_say_so() -> None:
    for svg in (
        charts.bar_chart("e1", "Bars", [], empty="no <data>"),
        charts.line_chart("e2", "Lines", [], []),
        charts.diverging_bar_chart("e3", "Split", [("a", ("gone", 0), ("added", 0))]),
    ):
        assert svg.startswith('<svg class="chart" id="e')
        assert svg.endswith("</svg>")
        assert 'class="mark"' not in svg
        assert svg.count('<text class="empty"') == 1
    assert ">no &lt;data&gt;</text>" in charts.bar_chart("e1", "Bars", [], empty="no <data>")


def big_night(count: int, shift: int) -> PortfolioFrames:
    """``count`` items; ``shift`` moves which items exist and which inputs changed."""
    ids = pd.Series([f"item-{i:05d}" for i in range(shift, count + shift)])
    n = len(ids)
    index = pd.Series(range(n))
    failed = index % 50 == 0
    items = pd.DataFrame(
        {
            "item_id": ids,
            "input": "https://files.example/" + ids + ".tar.gz",
            "owner": "team-" + (index % 7).astype(str),
            "tags": "bulk",
            "scan_id": "scan-" + ids,
            "package": ids + ".tar.gz",
            "input_sha256": ids.str[-5:].str.rjust(64, "0"),
            "verdict": pd.Series(["pass", "warn", "fail", "incomplete"])[index % 4].to_numpy(),
            "state": failed.map({True: "failed", False: "done"}),
            "reused": "",
            "report_href": "scans/" + ids + "/summary.html",
        }
    )
    items.loc[failed, "verdict"] = None
    if shift:
        items.loc[index < 100, "input_sha256"] = "f" * 64
    done = ids[~failed]
    packages = pd.DataFrame(
        {
            "item_id": pd.concat([done] * 4, ignore_index=True),
            "purl": pd.concat([("pkg:generic/" + done + f"-dep{k}@1.{shift}") for k in range(4)], ignore_index=True),
            "name": "dep",
            "version": f"1.{shift}",
            "declared_license_expression": "mit",
        }
    )
    licenses = pd.DataFrame(
        {
            "item_id": pd.concat([done, done], ignore_index=True),
            "license_expression": pd.concat(
                ["lic-" + (done.str[-2:]), pd.Series(["mit"] * len(done))], ignore_index=True
            ),
            "files": 2,
        }
    )
    findings = pd.DataFrame(
        {"item_id": done, "tool": "scancodeio", "severity": "warning", "policy": "license-policy", "subject": "x.c"}
    )
    failures = pd.DataFrame({"item_id": ids[failed], "stage": "fetch", "reason": "timed out"})
    return PortfolioFrames(items, packages, licenses, findings, failures)


def test_five_thousand_items_build() -> None:
    previous, current = big_night(5_000, 0), big_night(5_000, 10)

    report = build_portfolio_report(TONIGHT, current, previous, trend_of((LAST_NIGHT, previous), (TONIGHT, current)))

    summary = report.summary
    assert summary["items"] == 5_000
    assert summary["failed"] == 100
    assert summary["done"] == 4_900
    assert summary["verdicts"] == {"pass": 1_200, "warn": 1_250, "fail": 1_200, "incomplete": 1_250}
    assert summary["packages"] == 19_600
    assert summary["findings"] == {"error": 0, "warning": 4_900, "missing": 0}
    # lic-10 and lic-60 belong to tonight's failed items only, so 98 of lic-NN plus mit.
    assert summary["licenses"] == 99
    # Kept: item-00010..04999. Failed tonight: ids 10 mod 50; last night: 0 mod 50. Done both
    # nights: 4,990 - 100 - 99 = 4,791 items, each with four purls whose version moved.
    assert summary["changes"] == {
        "new_item": 10,
        "removed_item": 10,
        "changed_input": 100,
        "new_package": 4 * 4_791,
        "removed_package": 4 * 4_791,
        "new_license": 1,  # lic-00, from the new item-05000 (the other holders failed last night)
        "removed_license": 0,
        "new_finding": 0,
        "resolved_finding": 0,
        "newly_failed": 100,
        "recovered": 99,
    }
    assert report.changes.loc[report.changes["change"] == "new_license"].values.tolist() == [
        ["new_license", "item-05000", "lic-00", "in 1 item(s)"]
    ]
    page = report.files["portfolio.html"].decode()
    assert page.count('<a href="scans/item-') == 5_000
    assert len(page) < 5_000_000
    assert "Showing the first 2,000 of 4,900 rows" in page
    book = openpyxl.load_workbook(io.BytesIO(report.files["portfolio.xlsx"]), read_only=True)
    assert book["packages"].max_row == 19_601


def test_trend_axis_labels_show_the_time_when_nights_share_a_day() -> None:
    from sca.reports.charts import date_labels

    assert date_labels(["2026-11-25T02:00:00+00:00", "2026-11-26T02:00:00+00:00"]) == ["2026-11-25", "2026-11-26"]
    assert date_labels(["2026-11-26T01:03:22+00:00", "2026-11-26T09:30:53+00:00"]) == [
        "2026-11-26 01:03",
        "2026-11-26 09:30",
    ]
