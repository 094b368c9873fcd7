"""bench P1's split of the wall time beyond Σ scan ÷ C (pure arithmetic on the sandbox's run clocks)."""

from __future__ import annotations

import pytest

from bench.p1_portfolio import Lost, lost_time


def run(queued: float, started: float | None, ended: float | None) -> dict[str, float | None]:
    return {"queued": queued, "started": started, "ended": ended}


def test_two_workers_fed_late_then_backlogged() -> None:
    # C = 2, trigger at 0. Run a: queued 10, runs 10-20. Run b: queued 14, runs 14-24.
    # Run c: queued 16, waits until a ends, runs 20-30. Run d: queued 26 (worker idle 24-26 with
    # nothing waiting), runs 26-36. DAG run ends at 40.
    runs = [run(10, 10, 20), run(14, 14, 24), run(16, 20, 30), run(26, 26, 36)]
    lost = lost_time(runs, workers=2, began=0.0, ended=40.0)
    # idle worker-seconds with no run waiting: 10-14 one idle (4), 24-26 one idle (2),
    # 30-36 one idle (6) = 12 → 6 s of wall time; none while c waited (both busy 16-20).
    assert lost == Lost(before_first_queue=10.0, idle_starved=6.0, idle_other=0.0, after_last_end=4.0, max_waiting=1)
    ideal = sum(r["ended"] - r["started"] for r in runs) / 2  # 20 s
    parts = lost.before_first_queue + lost.idle_starved + lost.idle_other + lost.after_last_end
    assert parts == pytest.approx(40.0 - ideal)


def test_idle_while_a_run_waits_is_the_sandboxs_own_latency() -> None:
    # C = 1: run a ends at 5, run b queued at 3 starts only at 6: 1 s idle with b waiting.
    runs = [run(0, 0, 5), run(3, 6, 11)]
    lost = lost_time(runs, workers=1, began=0.0, ended=11.0)
    assert lost == Lost(before_first_queue=0.0, idle_starved=0.0, idle_other=1.0, after_last_end=0.0, max_waiting=1)


def test_no_runs_means_nothing_to_split() -> None:
    assert lost_time([], workers=5, began=0.0, ended=9.0) == Lost(0.0, 0.0, 0.0, 0.0, 0)
