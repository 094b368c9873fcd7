"""The Airflow UI as a user meets it, in Debian's headless chromium (driven by Playwright with that
executable): log in; sca_scan's trigger form shows every param by its title; the connection form
of each of our three types shows its labels and hides what it hides; a finished run's ScanCode.io
extra link leads, after ScanCode.io's own login, to that project's page on the real server.
Screenshots of every step are kept under .run/screenshots/."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from sca.provider import connection_types
from tests.browser import CHROMIUM, _require_browser
from tests.conftest import ROOT, require_env

DAG_ID = "sca_scan"
WHEEL = "six-1.16.0-py2.py3-none-any.whl"
# The standard fields' own labels, shown unless the type hides or relabels them.
STANDARD_LABELS = {"host": "Host", "login": "Login", "password": "Password", "port": "Port", "schema": "Schema"}
TIMEOUT_MS = 30_000


def screenshot_dir() -> Path:
    folder = Path(os.environ.get("SCA_RUN_DIR", str(ROOT / ".run"))) / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def shoot(page: Any, name: str) -> None:
    page.screenshot(path=str(screenshot_dir() / f"ui-{name}.png"), full_page=True)


@pytest.fixture(scope="module")
def airflow_url() -> str:
    return require_env("AIRFLOW__API__BASE_URL").rstrip("/")


@pytest.fixture(scope="module")
def browser_context(airflow_url: str) -> Iterator[Any]:
    """A chromium context logged in to Airflow as the stack's admin, through the login form."""
    sync_playwright = _require_browser()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"])
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            context.set_default_timeout(TIMEOUT_MS)
            page = context.new_page()
            page.goto(airflow_url + "/", wait_until="load")
            page.get_by_text("Sign into Airflow").wait_for()
            shoot(page, "01-login")
            page.fill("input[name=username]", os.environ.get("SCA_AIRFLOW_USER", "admin"))
            page.fill("input[name=password]", require_env("SCA_AIRFLOW_PASSWORD"))
            page.click("button[type=submit]")
            page.get_by_role("link", name="Dags").first.wait_for()
            shoot(page, "02-home")
            page.close()
            yield context
        finally:
            browser.close()


def test_the_trigger_form_shows_every_param_by_its_title(browser_context, airflow_api, airflow_url) -> None:
    airflow_api.wait_for_dag(DAG_ID)
    params = airflow_api.http.get_json(f"dags/{DAG_ID}/details")["params"]
    titles = {name: spec["schema"]["title"] for name, spec in params.items()}
    assert len(titles) == 19 and all(titles.values()), titles
    page = browser_context.new_page()
    page.goto(f"{airflow_url}/dags/{DAG_ID}", wait_until="load")
    page.get_by_role("button", name="Trigger Dag").click()
    form = page.get_by_role("dialog")
    form.get_by_text("Run Parameters").wait_for()
    shoot(page, "03-trigger-form")
    labels = {text.strip().rstrip("*").strip() for text in form.locator("label").all_inner_texts()}
    assert {name: title for name, title in titles.items() if title not in labels} == {}
    page.close()


@pytest.mark.parametrize("conn_type", [item["connection-type"] for item in connection_types()])
def test_each_connection_form_has_its_labels(browser_context, airflow_url, conn_type: str) -> None:
    declared = next(item for item in connection_types() if item["connection-type"] == conn_type)
    behaviour = declared["ui-field-behaviour"]
    expected = set(behaviour["relabeling"].values()) | {f["label"] for f in declared["conn-fields"].values()}
    hidden = {STANDARD_LABELS[field] for field in behaviour["hidden-fields"] if field in STANDARD_LABELS}
    page = browser_context.new_page()
    page.goto(f"{airflow_url}/connections", wait_until="load")
    page.get_by_role("button", name="Add Connection").click()
    form = page.get_by_role("dialog")
    form.get_by_role("combobox").fill(declared["hook-name"])
    page.keyboard.press("Enter")
    form.get_by_text("Standard Fields").wait_for()
    form.get_by_text("Extra Fields", exact=True).click()  # the conn-fields live in this section
    shoot(page, f"04-connection-{conn_type}")
    labels = {text.strip().rstrip("*").strip() for text in form.locator("label").all_inner_texts()}
    assert expected - labels == set(), f"missing in the {conn_type} form: {sorted(expected - labels)}"
    assert hidden & labels == set(), f"shown though hidden in the {conn_type} form: {sorted(hidden & labels)}"
    page.close()


@pytest.fixture(scope="module")
def finished_run(airflow_api, inputs_base_url) -> dict[str, Any]:
    airflow_api.wait_for_dag(DAG_ID)
    conf = {"input": f"{inputs_base_url}/{WHEEL}", "run_fossid": False, "run_purldb": False}
    run_id = airflow_api.trigger(DAG_ID, conf)["dag_run_id"]
    run = airflow_api.wait(DAG_ID, run_id, timeout=900)
    assert run["state"] == "success", run
    links = airflow_api.http.get_json(f"dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/scan.scancodeio/links")
    tool = airflow_api.xcom(DAG_ID, run_id, "scan.scancodeio")
    return {"run_id": run_id, "project_url": links["extra_links"]["ScanCode.io project"], "name": tool["remote_name"]}


def test_the_scancodeio_extra_link_opens_the_project_on_the_real_server(
    browser_context, airflow_url, finished_run
) -> None:
    project_url = finished_run["project_url"]
    scio_ui = require_env("SCA_SCIO_DIRECT_URL").rstrip("/")
    assert project_url.startswith(scio_ui + "/project/"), project_url
    page = browser_context.new_page()
    page.goto(
        f"{airflow_url}/dags/{DAG_ID}/runs/{quote(finished_run['run_id'])}/tasks/scan.scancodeio", wait_until="load"
    )
    page.get_by_role("link", name="Details", exact=True).click()
    link = page.get_by_role("link", name="ScanCode.io project")
    link.wait_for()
    shoot(page, "05-task-details-extra-link")
    assert link.get_attribute("href") == project_url
    with browser_context.expect_page() as opened:
        link.click()
    scio_page = opened.value
    scio_page.wait_for_load_state("load")
    # ScanCode.io asks its own users to log in first, then sends them on to the project
    assert re.search(r"/accounts/login/\?next=/project/", scio_page.url), scio_page.url
    shoot(scio_page, "06-scancodeio-login")
    scio_page.fill("input[name=username]", require_env("SCA_SCIO_UI_USER"))
    scio_page.fill("input[name=password]", require_env("SCA_SCIO_UI_PASSWORD"))
    scio_page.locator("form button[type=submit], form input[type=submit]").first.click()
    scio_page.wait_for_url(project_url, timeout=TIMEOUT_MS)
    scio_page.wait_for_load_state("load")
    shoot(scio_page, "07-scancodeio-project")
    assert scio_page.url == project_url
    # the project's own page: its name as the page heading, in the browser tab's title too
    assert finished_run["name"] in scio_page.title(), scio_page.title()
    scio_page.get_by_text(finished_run["name"], exact=True).first.wait_for()
    page.close()
