"""P5: parse time of the portfolio DAG file with a 5,000-item portfolio, and network calls while
parsing; through ``bench/portfolio_parse.py`` (a fresh interpreter per parse, sockets refused).
The baseline is the same file parsed with the bundled 23-item portfolio, in the same run."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from bench import portfolio_parse
from bench.harness import Row

ITEMS = 5_000


def run(smoke: bool) -> list[Row]:
    runs = 1 if smoke else 5
    with tempfile.TemporaryDirectory(prefix="bench-p5-") as tmp:
        big = Path(tmp) / f"portfolio-{ITEMS}.json"
        items = [{"id": f"gen-{i:05d}", "input": f"gen-{i:05d}.tgz"} for i in range(ITEMS)]
        big.write_text(json.dumps({"name": "generated", "items": items}))
        large = portfolio_parse.measure(big, runs)
        bundled = portfolio_parse.measure(portfolio_parse.ROOT / "include" / "portfolio.yaml", runs)
    if large["import_errors"] or large["dags"] != ["sca_portfolio"]:
        raise RuntimeError(f"the DAG file did not parse cleanly: {large}")
    return [
        Row(
            "P5",
            f"parse time of dags/sca_portfolio.py, {ITEMS:,}-item portfolio (median of {runs})",
            large["median_s"],
            "s",
            bundled["median_s"],
            "bundled 23 items",
            f"≤ {portfolio_parse.TARGET_SECONDS:g} s",
            large["median_s"] <= portfolio_parse.TARGET_SECONDS,
            times=f"min {large['min_s']:.3f} s, max {large['max_s']:.3f} s",
        ),
        Row(
            "P5",
            f"network calls while parsing ({runs} parses of each portfolio)",
            float(large["network_calls"]),
            "calls",
            float(bundled["network_calls"]),
            "bundled 23 items",
            "0",
            large["network_calls"] == 0,
        ),
    ]
