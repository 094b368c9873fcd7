"""bench/scheduler_load.py's arithmetic: scheduling rounds from queued stamps, and the rates."""

from __future__ import annotations

from bench.scheduler_load import Load, load_of, rounds_of


def test_stamps_less_than_half_a_second_apart_are_one_round() -> None:
    assert rounds_of([10.0, 10.2, 10.6, 30.0, 30.4, 30.8, 57.0]) == [10.0, 30.0, 57.0]
    # the gap is measured from the previous stamp: 0.6 s after it starts a new round
    assert rounds_of([30.0, 30.4, 31.0]) == [30.0, 31.0]


def test_rounds_need_no_sorted_input_and_may_be_empty() -> None:
    assert rounds_of([31.0, 5.0, 5.3]) == [5.0, 31.0]
    assert rounds_of([]) == []


def stamp(epoch_s: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(epoch_s, UTC).isoformat()


def test_load_counts_only_the_window() -> None:
    base = 1_800_000_000.0
    rows = [
        # before the window (plan): ignored
        {"task_id": "plan", "queued_when": stamp(base + 1), "start_date": stamp(base + 1.1)},
        # round at +20: a fetch and a scan start
        {"task_id": "lot.fetch", "queued_when": stamp(base + 20), "start_date": stamp(base + 20.5)},
        {"task_id": "lot.scancodeio", "queued_when": stamp(base + 20.1), "start_date": stamp(base + 21)},
        # round at +46 (26 s later), a scan starts
        {"task_id": "lot.scancodeio", "queued_when": stamp(base + 46), "start_date": stamp(base + 46.3)},
        # round at +80 (34 s later), a report starts
        {"task_id": "lot.report", "queued_when": stamp(base + 80), "start_date": stamp(base + 80.2)},
        # never queued
        {"task_id": "lot.purldb", "queued_when": None, "start_date": None},
    ]
    load = load_of(rows, "run-1", items=1, began=base, window=(base + 10, base + 130))
    assert load == Load(
        run_id="run-1",
        items=1,
        task_instances=6,
        window_s=120.0,
        rounds=3,
        round_gap_median_s=30.0,
        round_gap_max_s=34.0,
        started_per_min=2.0,
        scans_submitted_per_min=1.0,
        plan_done_after_s=10.0,
    )


def test_sampled_stamps_add_the_rounds_a_requeue_overwrote() -> None:
    base = 1_800_000_000.0
    # a scan queued at +20, deferred, queued again at +70: only +70 is left on the row
    rows = [{"task_id": "lot.scancodeio", "queued_when": stamp(base + 70), "start_date": stamp(base + 20.4)}]
    without = load_of(rows, "r", items=1, began=base, window=(base + 10, base + 130))
    with_samples = load_of(rows, "r", 1, base, (base + 10, base + 130), sampled_queued=[base + 20, base + 70])
    assert (without.rounds, with_samples.rounds) == (1, 2)
    assert with_samples.round_gap_median_s == 50.0
