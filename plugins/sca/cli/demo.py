"""``make run``: run the ``sca_portfolio`` DAG once on the bundled demo portfolio
(``include/portfolio.yaml``) through the REST API, wait for it, and print one line per item
(verdict, what was reused, why it failed) and where the portfolio report is.

Reads the stack's settings from the environment (stack/env.sh). ``--portfolio`` names another
portfolio file (a path relative to the project, or a URL); ``--dag``/``--conf`` trigger one run of
any DAG instead (``--dag sca_scan --conf '{"input": "six-1.16.0.tar.gz"}'``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any
from urllib.parse import urlparse

from sca.cli.airflow_api import AirflowAPI

PORTFOLIO = "include/portfolio.yaml"
PORTFOLIO_DAG = "sca_portfolio"


def api_from_env() -> AirflowAPI:
    return AirflowAPI(
        os.environ["AIRFLOW__API__BASE_URL"],
        os.environ.get("SCA_AIRFLOW_USER", "admin"),
        os.environ["SCA_AIRFLOW_PASSWORD"],
    )


def run_all(api: AirflowAPI, dag_id: str, confs: list[dict[str, Any]], timeout: float) -> list[dict[str, Any]]:
    api.wait_for_dag(dag_id)
    runs = []
    for conf in confs:
        run = api.trigger(dag_id, conf)
        print(f"Triggered {dag_id} {run['dag_run_id']} for {conf.get('input', conf)}", flush=True)
        runs.append((conf, run["dag_run_id"]))
    finished = []
    for conf, run_id in runs:
        state = api.wait(dag_id, run_id, timeout=timeout)["state"]
        report = None
        if dag_id == "sca_scan":
            try:
                report = api.xcom(dag_id, run_id, "scan.report")
            except Exception:  # noqa: BLE001 - no report task result: the table says "-"
                report = None
        finished.append({"conf": conf, "run_id": run_id, "state": state, "report": report})
    return finished


def portfolio_table(dag_id: str, run_id: str) -> list[dict[str, Any]]:
    """The night's items from the warehouse, with their failures."""
    from sca.store import portfolio as ledger
    from sca.store.db import connect

    conn = connect()
    try:
        items = ledger.item_rows(conn, dag_id, run_id)
        failures: dict[str, list[str]] = {}
        for row in ledger.failure_rows(conn, dag_id, run_id):
            failures.setdefault(row["item_id"], []).append(f"{row['stage']}: {row['reason']}")
    finally:
        conn.close()
    return [{**item, "failures": failures.get(item["item_id"], [])} for item in items]


def run_portfolio(api: AirflowAPI, portfolio: str, timeout: float) -> int:
    api.wait_for_dag(PORTFOLIO_DAG)
    run_id = api.trigger(PORTFOLIO_DAG, {"portfolio": portfolio})["dag_run_id"]
    base = os.environ["AIRFLOW__API__BASE_URL"]
    print(f"Triggered {PORTFOLIO_DAG} {run_id} on {portfolio}; follow it at {base}/dags/{PORTFOLIO_DAG}", flush=True)
    state = api.wait(PORTFOLIO_DAG, run_id, timeout=timeout, interval=5)["state"]
    rows = portfolio_table(PORTFOLIO_DAG, run_id)
    print(f"\n{'item':<22} {'verdict':<11} {'reused':<26} problem")
    for row in rows:
        reused = row["reused"] or "-"
        problem = "; ".join(row["failures"])[:90] or "-"
        print(f"{row['item_id']:<22} {row['verdict'] or '-':<11} {reused:<26} {problem}")
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["verdict"] or "none"] = counts.get(row["verdict"] or "none", 0) + 1
    print(f"\n{len(rows)} items: " + ", ".join(f"{n} {verdict}" for verdict, n in sorted(counts.items())))
    try:
        summary = api.xcom(PORTFOLIO_DAG, run_id, "publish")
    except Exception:  # noqa: BLE001 - no report: say so below
        summary = None
    if state != "success" or not summary:
        print(f"\nThe portfolio run ended {state} without its report: see {base}/dags/{PORTFOLIO_DAG}", file=sys.stderr)
        return 1
    print(f"Changes since the previous night: {sum(summary['changes'].values())}")
    print(f"\nPortfolio report (html): {urlparse(summary['report']).path}")
    print(f"Merged SBOM (CycloneDX):  {urlparse(summary['sbom']).path}")
    for kind, uri in sorted(summary.get("fossid_project_reports", {}).items()):
        print(f"FossID project {kind}:     {urlparse(uri).path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--portfolio", default=PORTFOLIO, help="a path relative to the project, or a URL")
    parser.add_argument("--dag", help="trigger one run of this DAG instead of the portfolio")
    parser.add_argument("--conf", default="{}", help="the conf (JSON) of that one run")
    parser.add_argument("--timeout", type=float, default=3600)
    args = parser.parse_args(argv)

    api = api_from_env()
    if not args.dag:
        return run_portfolio(api, args.portfolio, args.timeout)
    results = run_all(api, args.dag, [json.loads(args.conf)], args.timeout)
    print(f"\n{'input':<36} {'run':<9} {'verdict':<11} {'reused':<26} report")
    for item in results:
        report = item["report"] or {}
        where = (report.get("reports") or {}).get("summary.md") or (
            f"see {os.environ['AIRFLOW__API__BASE_URL']}/dags/{args.dag}"
        )
        reused = ",".join(report.get("reused") or []) or "-"
        verdict = report.get("verdict", "-")
        print(f"{str(item['conf'].get('input', '-')):<36} {item['state']:<9} {verdict:<11} {reused:<26} {where}")
    failed = [item for item in results if item["state"] != "success"]
    if failed:
        print(f"\n{len(failed)} run(s) did not succeed: open the Airflow UI for their task logs.", file=sys.stderr)
        return 1
    return 0


def cli(argv: list[str] | None = None) -> int:
    """``main`` for a terminal: a failure prints its cause in one line, not a traceback."""
    from sca.common.errors import ServiceError

    try:
        return main(argv)
    except KeyError as exc:
        print(f"error: the environment variable {exc.args[0]} is not set: run through `make run`", file=sys.stderr)
    except (ServiceError, OSError, ValueError) as exc:
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
    except KeyboardInterrupt:
        print("interrupted: the DAG runs go on in Airflow", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(cli())
