"""The benchmark harness of issue 13: ``python -m bench.run [--smoke] [--only P3,P6] [--out-dir DIR]``.

Runs each benchmark of ``bench/registry.py`` (placeholders are listed as "not measured yet"),
prints one table and writes ``latest.json`` and ``latest.md`` (default ``bench/results/``).
Every figure is measured beside its baseline in the same run; absolute times are shown, not
judged. A missed target is a row with its figure, not a failure: the exit status is 1 only when a
benchmark could not produce its figures (its row says why). ``--smoke`` runs each at a small size.
The checkout's ``plugins/`` come first on the path, so the code measured is this tree's.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PLUGINS = ROOT / "plugins"


def use_checkout() -> None:
    """This tree's ``sca`` package, here and in every subprocess a benchmark starts."""
    for entry in (str(ROOT), str(PLUGINS)):
        if entry in sys.path:
            sys.path.remove(entry)
        sys.path.insert(0, entry)
    inherited = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    os.environ["PYTHONPATH"] = os.pathsep.join([str(PLUGINS), str(ROOT), *inherited])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="every benchmark at a small size (under 2 minutes)")
    parser.add_argument("--only", default="", help="comma-separated ids, e.g. P3,P6")
    parser.add_argument("--out-dir", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args(argv)
    use_checkout()

    from bench.harness import Row, failed, placeholder, text_table, write_results
    from bench.registry import BENCHMARKS

    wanted = [i.strip().upper() for i in args.only.split(",") if i.strip()]
    known = {b.id for b in BENCHMARKS} | {r[0] for b in BENCHMARKS for r in b.placeholder_rows}
    unknown = sorted(set(wanted) - known)
    if unknown:
        parser.error(f"unknown benchmark id(s) {unknown}; known: {sorted(known)}")
    started = time.perf_counter()
    rows: list[Row] = []
    for bench in BENCHMARKS:
        ids = {bench.id} | {r[0] for r in bench.placeholder_rows}
        if wanted and not ids & set(wanted):
            continue
        if bench.run is None:
            rows += placeholder(bench)
            continue
        print(f"--- {bench.id}: {bench.title} ({'smoke' if args.smoke else 'full'})", flush=True)
        began = time.perf_counter()
        try:
            rows += bench.run(args.smoke)
        except Exception as exc:  # noqa: BLE001 - the table says which benchmark failed and why
            rows += failed(bench, exc, time.perf_counter() - began)
        print(f"    {time.perf_counter() - began:.1f} s", flush=True)
    seconds = time.perf_counter() - started
    print()
    print(text_table(rows))
    write_results(args.out_dir, rows, args.smoke, seconds, wanted)
    print(f"\n{seconds:.0f} s in all; written {args.out_dir / 'latest.json'} and {args.out_dir / 'latest.md'}")
    return 1 if any(r.status == "error" for r in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())
