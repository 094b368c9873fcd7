"""``make run``: trigger the main DAG on the bundled demo inputs through the REST API and print
where the results are. Reads the stack's settings from the environment (stack/env.sh)."""

from __future__ import annotations

import argparse
import json
import os
import sys

from sca.cli.airflow_api import AirflowAPI

DEMO_DAG = "sca_scancodeio_smoke"
DEMO_CONF = {"archive": "six-1.16.0-py2.py3-none-any.whl"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dag", default=DEMO_DAG)
    parser.add_argument("--conf", default=json.dumps(DEMO_CONF), help="DAG run conf as JSON")
    parser.add_argument("--timeout", type=float, default=1800)
    args = parser.parse_args(argv)

    api = AirflowAPI(
        os.environ["AIRFLOW__API__BASE_URL"],
        os.environ.get("SCA_AIRFLOW_USER", "admin"),
        os.environ["SCA_AIRFLOW_PASSWORD"],
    )
    api.wait_for_dag(args.dag)
    run = api.trigger(args.dag, json.loads(args.conf))
    print(f"Triggered {args.dag} run {run['dag_run_id']}; waiting...", flush=True)
    run = api.wait(args.dag, run["dag_run_id"], timeout=args.timeout)
    for ti in sorted(api.task_instances(args.dag, run["dag_run_id"]), key=lambda t: t["start_date"] or ""):
        print(f"  {ti['task_id']:<24} {ti['state']}")
    if run["state"] != "success":
        print(
            f"DAG run {run['dag_run_id']} {run['state']}: see the Airflow UI at {os.environ['AIRFLOW__API__BASE_URL']}",
            file=sys.stderr,
        )
        return 1
    report = api.xcom(args.dag, run["dag_run_id"], "report")
    print(json.dumps(report, indent=2))
    print(f"\nResults are in {report['results_dir']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
