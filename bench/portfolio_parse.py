"""Parse time of the portfolio DAG file (issue 11 / bench P5): ``python -m bench.portfolio_parse``.

Loads ``dags/sca_portfolio.py`` with Airflow's DagBag in a fresh interpreter, ``--runs`` times,
with a generated portfolio of ``--items`` entries as the nightly portfolio (``SCA_PORTFOLIO``), and
records every socket call made while parsing (none is allowed). The DAG never reads the portfolio
at parse time, so the size of the portfolio must not move the figure: the same file is also
parsed with the bundled 23-item portfolio, side by side. Prints a table; writes
``bench/results/portfolio-parse.json``. Times are this machine's, printed, not judged by a test.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "portfolio-parse.json"
TARGET_SECONDS = 0.5

MEASURE = r"""
import json, socket, sys, time
calls = []
def refuse(name):
    def guard(*args, **kwargs):
        calls.append(name)
        raise OSError("network call during parse: " + name)
    return guard
for name in ("connect", "connect_ex"):
    setattr(socket.socket, name, refuse("socket." + name))
socket.create_connection = refuse("socket.create_connection")
socket.getaddrinfo = refuse("socket.getaddrinfo")
import airflow.sdk  # the interpreter's own start-up is not the DAG file's parse
from airflow.dag_processing.dagbag import DagBag
started = time.perf_counter()
bag = DagBag(sys.argv[1])
seconds = time.perf_counter() - started
print(json.dumps({"seconds": seconds, "dags": sorted(bag.dag_ids), "errors": len(bag.import_errors), "calls": calls}))
"""


def parse_once(portfolio: Path) -> dict:
    env = {**os.environ, "SCA_PORTFOLIO": str(portfolio)}
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, str(ROOT / "dags" / "sca_portfolio.py")],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=300,
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(portfolio: Path, runs: int) -> dict:
    samples = [parse_once(portfolio) for _ in range(runs)]
    seconds = [s["seconds"] for s in samples]
    return {
        "median_s": round(statistics.median(seconds), 4),
        "min_s": round(min(seconds), 4),
        "max_s": round(max(seconds), 4),
        "network_calls": sum(len(s["calls"]) for s in samples),
        "import_errors": sum(s["errors"] for s in samples),
        "dags": samples[0]["dags"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / f"portfolio-{args.items}.json"
        items = [{"id": f"gen-{i:05d}", "input": f"gen-{i:05d}.tgz"} for i in range(args.items)]
        big.write_text(json.dumps({"name": "generated", "items": items}))
        rows = {
            f"generated, {args.items} items": measure(big, args.runs),
            "bundled demo, 23 items": measure(ROOT / "include" / "portfolio.yaml", args.runs),
        }
    result = {"target_s": TARGET_SECONDS, "runs": args.runs, "rows": rows}
    print(f"{'portfolio':<28} {'median s':>9} {'min s':>7} {'max s':>7} {'network':>8} {'target':>7}")
    for name, row in rows.items():
        verdict = "met" if row["median_s"] <= TARGET_SECONDS and row["network_calls"] == 0 else "MISSED"
        print(
            f"{name:<28} {row['median_s']:>9.3f} {row['min_s']:>7.3f} {row['max_s']:>7.3f} "
            f"{row['network_calls']:>8} {verdict:>7}"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
