"""Open a report in Debian's chromium, offline, and say what the page drew and what it tried to
fetch. Playwright drives the system browser (``executable_path``): no browser is downloaded."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
MEASURE_CHARTS = """() => Array.from(document.querySelectorAll('svg.chart')).map((svg) => {
  const box = svg.getBoundingClientRect();
  return {id: svg.id, width: box.width, height: box.height, marks: svg.querySelectorAll('.mark').length};
})"""


def _require_browser() -> Any:
    """playwright's sync API, or a RuntimeError saying what to install."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        raise RuntimeError(
            "the playwright Python package is missing: install it into the project venv with "
            "`pip install playwright==1.65.2` (bash stack/setup.sh does)"
        ) from exc
    if not CHROMIUM.is_file() or not shutil.which(str(CHROMIUM)):
        raise RuntimeError(
            f"chromium is missing at {CHROMIUM}: install Debian's package with `apt-get install chromium` "
            "(bash stack/setup.sh does); `playwright install` is not used"
        )
    return sync_playwright


def open_in_chromium(html_path: Path, screenshot: Path, *, javascript: bool = False) -> dict[str, Any]:
    """Load ``html_path`` from ``file://`` in headless chromium, with every other request aborted
    and (unless ``javascript``) the page's scripts switched off. Returns ``title``, ``charts``
    (``id``, ``width``, ``height``, ``marks`` of every ``svg.chart``), ``requests`` (every request
    the page made) and ``non_file_requests`` (those not to a ``file://`` URL), and saves a
    full-page PNG screenshot to ``screenshot``. The measuring goes through the DevTools protocol,
    which works with the page's scripts off."""
    sync_playwright = _require_browser()
    url = html_path.resolve().as_uri()
    seen: list[str] = []

    def only_files(route: Any) -> None:
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            route.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"])
        try:
            context = browser.new_context(
                viewport={"width": 1280, "height": 900}, java_script_enabled=javascript, service_workers="block"
            )
            page = context.new_page()
            page.on("request", lambda request: seen.append(request.url))
            page.route("**/*", only_files)
            page.goto(url, wait_until="load")
            charts = page.evaluate(MEASURE_CHARTS)
            title = page.title()
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(screenshot), full_page=True)
            context.close()
        finally:
            browser.close()
    return {
        "title": title,
        "charts": charts,
        "requests": seen,
        "non_file_requests": [r for r in seen if not r.startswith("file://")],
    }
