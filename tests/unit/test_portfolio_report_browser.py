"""The portfolio report opens in chromium offline: four charts drawn, nothing fetched."""

from __future__ import annotations

from pathlib import Path

from tests.browser import open_in_chromium
from tests.unit.test_portfolio_report import two_nights

CHART_IDS = ["chart-licenses", "chart-severity", "chart-trend", "chart-changes"]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_report_opens_offline_and_draws_every_chart(tmp_path: Path) -> None:
    report = two_nights()
    for name, data in report.files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(data)
    screenshot = tmp_path / "screenshot.png"

    seen = open_in_chromium(tmp_path / "portfolio.html", screenshot)

    assert seen["title"] == "Portfolio report: demo portfolio, night of 2026-03-02"
    assert seen["non_file_requests"] == []
    assert seen["requests"] == [(tmp_path / "portfolio.html").resolve().as_uri()]
    charts = {chart["id"]: chart for chart in seen["charts"]}
    assert sorted(charts) == sorted(CHART_IDS)
    for chart_id in CHART_IDS:
        chart = charts[chart_id]
        assert chart["width"] > 0, chart
        assert chart["height"] > 0, chart
        assert chart["marks"] > 0, chart
    # Licenses: mit (a, d), apache-2.0, gpl-3.0, isc; severity: three bars; trend: two nights of
    # findings, error, warning, missing and packages; changes: ten non-zero change types.
    assert [charts[i]["marks"] for i in CHART_IDS] == [4, 3, 10, 10]
    png = screenshot.read_bytes()
    assert png.startswith(PNG_MAGIC)
    assert len(png) > 20_000
