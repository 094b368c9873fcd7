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


def test_back_to_back_runs_lose_nothing() -> None:
    # the sandbox's normal case: a run starts the instant it is queued or the previous one ends
    runs = [run(0, 0, 10), run(5, 10, 20), run(12, 20, 30)]
    lost = lost_time(runs, workers=1, began=0.0, ended=33.0)
    assert lost == Lost(before_first_queue=0.0, idle_starved=0.0, idle_other=0.0, after_last_end=3.0, max_waiting=1)


def test_a_run_still_open_at_the_end_counts_until_then() -> None:
    # C = 2: run a 0-10; run b started at 4 and never ended; run c queued at 6, never started.
    runs = [run(0, 0, 10), run(4, 4, None), run(6, None, None)]
    lost = lost_time(runs, workers=2, began=0.0, ended=20.0)
    # idle: 0-4 one worker, no run waiting (4); 10-20 one worker, c waiting (10)
    assert lost == Lost(before_first_queue=0.0, idle_starved=2.0, idle_other=5.0, after_last_end=0.0, max_waiting=1)


def test_a_run_stopped_while_queued_leaves_the_queue_at_its_end() -> None:
    # C = 1: run a 0-10; run b queued at 2, stopped at 8 without starting
    runs = [run(0, 0, 10), run(2, None, 8)]
    lost = lost_time(runs, workers=1, began=0.0, ended=12.0)
    assert lost == Lost(before_first_queue=0.0, idle_starved=0.0, idle_other=0.0, after_last_end=2.0, max_waiting=1)


def test_no_queued_run_means_the_whole_wall_came_before_one() -> None:
    assert lost_time([], workers=5, began=0.0, ended=9.0) == Lost(9.0, 0.0, 0.0, 0.0, 0)


def test_a_lot_holds_a_slot_for_waiting_scans_only_once_done_submitting() -> None:
    from bench.p1_portfolio import Sample, Window, waiting_in_slot

    # lots of 3: lot 0 = items 0-2, lot 1 = items 3-5. At t = 100:
    windows = {
        0: Window(80.0, None),  # lot 0 submitted its three runs by 90: done 10 s ago, still running
        1: Window(85.0, None),
        2: Window(90.0, None),
        3: Window(97.0, None),  # lot 1 still submitting (its latest run queued 3 s ago, item 5 not yet)
        4: Window(98.0, None),
    }
    running = [("lot.scancodeio", 0), ("lot.scancodeio", 1), ("lot.purldb", 0), ("lot.scancodeio", 2)]
    assert waiting_in_slot(Sample(100.0, running, 0), windows, after_s=5.0, lot_size=3) == 1
    # every run of lot 0 ended: its running task stores results, it does not wait
    ended = {i: Window(w.queued, 99.0) for i, w in windows.items() if i < 3}
    assert waiting_in_slot(Sample(100.0, running, 0), {**windows, **ended}, after_s=5.0, lot_size=3) == 0
