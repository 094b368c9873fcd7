"""``make run``: scan the bundled demo portfolio with the ``sca_scan`` DAG through the REST API,
wait for every run, and print each package's verdict and where its report is.

Reads the stack's settings from the environment (stack/env.sh). ``--dag``/``--conf`` trigger one
run of any DAG instead.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from sca.cli.airflow_api import AirflowAPI

PORTFOLIO = Path(__file__).resolve().parents[3] / "include" / "demo" / "portfolio.json"


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--portfolio", type=Path, default=PORTFOLIO)
    parser.add_argument("--dag", default="sca_scan")
    parser.add_argument("--conf", help="one run with this conf (JSON) instead of the portfolio")
    parser.add_argument("--timeout", type=float, default=1800)
    args = parser.parse_args(argv)

    if args.conf:
        confs = [json.loads(args.conf)]
    else:
        portfolio = json.loads(args.portfolio.read_text())
        confs = [{**portfolio.get("defaults", {}), **item} for item in portfolio["packages"]]
    api = api_from_env()
    results = run_all(api, args.dag, confs, args.timeout)

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
    if args.dag == "sca_scan":
        print(f"\nArtefacts are under {os.environ.get('SCA_ARTEFACT_ROOT')}; the warehouse is the sca database.")
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
