"""What every benchmark hands back, and how the harness shows it: one row per measure.

A row carries the figure, the same measure of the baseline it was run beside (same run, same
machine), the target and whether it was met. ``met`` is True or False for a judged row, None for a
row that is shown but not judged, and a placeholder row is ``NOT_MEASURED`` (never met).
Absolute times go in ``times``: printed, never judged.
"""

from __future__ import annotations

import json
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

NOT_MEASURED = "not measured yet"


@dataclass
class Row:
    id: str
    measure: str
    figure: float | None
    unit: str = ""
    baseline: float | None = None
    baseline_label: str = ""
    target: str = ""
    met: bool | None = None
    times: str = ""
    note: str = ""
    status: str = "measured"  # measured | not measured yet | error

    @property
    def ratio(self) -> float | None:
        if self.figure is None or not self.baseline:
            return None
        return self.figure / self.baseline

    def verdict(self) -> str:
        if self.status != "measured":
            return self.status
        if self.met is None:
            return "shown"
        return "yes" if self.met else "NO"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"ratio": self.ratio, "verdict": self.verdict()}


@dataclass(frozen=True)
class Benchmark:
    """One entry of the registry: ``run(smoke)`` returns its rows; None marks a placeholder."""

    id: str
    title: str
    run: Callable[[bool], list[Row]] | None
    placeholder_rows: Sequence[tuple[str, str, str]] = field(default_factory=tuple)  # (id, measure, target)


def placeholder(bench: Benchmark) -> list[Row]:
    rows = bench.placeholder_rows or ((bench.id, bench.title, ""),)
    return [Row(i, m, None, target=t, status=NOT_MEASURED, note="placeholder in bench/registry.py") for i, m, t in rows]


def failed(bench: Benchmark, exc: BaseException, seconds: float) -> list[Row]:
    message = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
    return [Row(bench.id, bench.title, None, met=False, status="error", note=message, times=f"{seconds:.1f} s")]


def number(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    if value == int(value) and abs(value) >= 1:
        text = f"{int(value):,}"
    elif abs(value) >= 100:
        text = f"{value:,.0f}"
    elif abs(value) >= 1:
        text = f"{value:.2f}"
    else:
        text = f"{value:.3g}"
    return f"{text} {unit}".strip()


def versus(row: Row) -> str:
    if row.baseline is None:
        return "-"
    ratio = row.ratio
    part = f"{number(row.baseline, row.unit)}" + (f" ({row.baseline_label})" if row.baseline_label else "")
    return part + (f"; ratio {ratio:.3g}" if ratio is not None else "")


HEADERS = ("id", "measure", "figure", "vs baseline (same run)", "target", "met", "absolute times (not judged)")


def cells(row: Row) -> tuple[str, ...]:
    measure = row.measure + (f" [{row.note}]" if row.note else "")
    return (row.id, measure, number(row.figure, row.unit), versus(row), row.target or "-", row.verdict(), row.times)


def text_table(rows: Sequence[Row]) -> str:
    table = [HEADERS, *(cells(r) for r in rows)]
    widths = [min(max(len(line[i]) for line in table), 70) for i in range(len(HEADERS))]
    lines = []
    for n, line in enumerate(table):
        lines.append("  ".join(value.ljust(widths[i]) for i, value in enumerate(line)).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown_table(rows: Sequence[Row]) -> str:
    def escape(value: str) -> str:
        return value.replace("|", "\\|")

    lines = ["| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    lines += ["| " + " | ".join(escape(c) for c in cells(r)) + " |" for r in rows]
    return "\n".join(lines)


def write_results(out_dir: Path, rows: Sequence[Row], smoke: bool, seconds: float, only: Sequence[str]) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    meta = {
        "smoke": smoke,
        "only": list(only),
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "total_seconds": round(seconds, 1),
        "machine": {"python": platform.python_version(), "cpus": _cpus(), "platform": platform.platform()},
    }
    (out_dir / "latest.json").write_text(json.dumps({**meta, "rows": [r.as_dict() for r in rows]}, indent=2) + "\n")
    header = (
        f"Benchmarks ({'smoke sizes' if smoke else 'full sizes'}), {meta['finished_at']}, "
        f"{meta['machine']['cpus']} CPUs, {seconds:.0f} s in all. Every figure is measured beside its "
        "baseline in the same run; absolute times are shown, not judged.\n\n"
    )
    (out_dir / "latest.md").write_text(header + markdown_table(rows) + "\n")


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0))
