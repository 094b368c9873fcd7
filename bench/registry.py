"""The benchmarks of issue 13, in table order. A placeholder (``run=None``) shows its rows as
"not measured yet", never as met, until its module is written."""

from __future__ import annotations

from bench.harness import Benchmark, Row


def _p1(smoke: bool) -> list[Row]:
    from bench import p1_portfolio

    return p1_portfolio.run(smoke)


def _p2(smoke: bool) -> list[Row]:
    from bench import p2_polling

    return p2_polling.run(smoke)


def _p3(smoke: bool) -> list[Row]:
    from bench import p3_purldb_batches

    return p3_purldb_batches.run(smoke)


def _p4(smoke: bool) -> list[Row]:
    from bench import p4_overhead

    return p4_overhead.run(smoke)


def _p5(smoke: bool) -> list[Row]:
    from bench import p5_parse

    return p5_parse.run(smoke)


def _p6(smoke: bool) -> list[Row]:
    from bench import p6_warehouse_load

    return p6_warehouse_load.run(smoke)


def _p7(smoke: bool) -> list[Row]:
    from bench import p7_results_memory

    return p7_results_memory.run(smoke)


BENCHMARKS: tuple[Benchmark, ...] = (
    Benchmark("P1", "portfolio throughput against the sandboxes", _p1),
    Benchmark("P2", "polling cost and end-of-scan delay", _p2),
    Benchmark("P3", "PurlDB requests for file checksums", _p3),
    Benchmark("P4", "sca_scan overhead vs a plain script", _p4),
    Benchmark("P5", "portfolio DAG parse time", _p5),
    Benchmark("P6", "warehouse load rate", _p6),
    Benchmark("P7", "memory of a task loading a big results file", _p7),
)
