"""The benchmark suite's own logic, with nothing timed: its options, and which way each row's ratio reads.

Speed claims live in bench/ and are never asserted here; these tests check that a row says "met" exactly
when its ratio is on the right side of its target, and that the suite refuses a part it does not have.
"""
from __future__ import annotations

import pytest

from bench.common import cost_row, format_table, percentile, speedup_row
from bench.suite import PARTS, SCALE, main


def test_a_cost_row_is_met_only_at_or_under_its_bound() -> None:
    under, over = cost_row("click", 1.0, 1.05, 1.1), cost_row("click", 1.0, 1.2, 1.1)
    assert under["ratio"] == pytest.approx(1.05) and under["ok"]
    assert over["ratio"] == pytest.approx(1.2) and not over["ok"]


def test_a_speedup_row_is_met_only_at_or_over_its_bound() -> None:
    fast, slow = speedup_row("batch", 3.0, 0.5, 3.0), speedup_row("batch", 3.0, 1.5, 3.0)
    assert fast["ratio"] == pytest.approx(6.0) and fast["ok"]
    assert slow["ratio"] == pytest.approx(2.0) and not slow["ok"]


def test_the_table_states_each_target_in_its_own_direction() -> None:
    table = format_table([cost_row("a cost", 0.020, 0.030, 1.2), speedup_row("a speed-up", 12.0, 3.0, 3.0)])
    cost_line, speed_line = table.splitlines()[2:]
    assert "1.50x" in cost_line and "<= 1.20x" in cost_line and cost_line.endswith("NO")
    assert "4.00x" in speed_line and ">= 3.00x" in speed_line and speed_line.endswith("yes")
    assert "12.00s" in speed_line and "20.0ms" in cost_line


def test_percentile_is_the_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.95) == 95.0 and percentile(values, 0.5) in (50.0, 51.0)


def test_the_heavy_parts_run_only_when_asked_and_an_unknown_part_is_refused(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert set(SCALE) <= set(PARTS)
    with pytest.raises(SystemExit) as exit_:
        main(["--only", "engine,nope"])
    assert exit_.value.code == 2
    assert "unknown part(s) nope; choose from engine" in capsys.readouterr().err


def test_a_cost_row_shows_bytes_and_counts_in_their_own_units() -> None:
    table = format_table([cost_row("a store", 5_780_000, 1_540_000, 0.5, unit="B"),
                          cost_row("rounds", 6, 7, 1.0, unit=""), cost_row("small", 20_000, 900, 1.0, unit="B")])
    store, rounds, small = table.splitlines()[2:]
    assert "5.78MB" in store and "1.54MB" in store and store.endswith("yes")
    assert " 6 " in rounds and " 7 " in rounds and "1.17x" in rounds and rounds.endswith("NO")
    assert "20.0kB" in small and "0.9kB" in small


def test_the_lone_call_line_splits_the_overhead_into_the_hop_and_the_rest() -> None:
    from bench.engine_bench import describe

    line = describe({"bare_call_s": 0.010, "bare_call_on_worker_s": 0.0102, "engine_call_s": 0.0107})
    assert "bare 10.00 ms" in line and "worker thread 10.20 ms (1.020x, the hop)" in line
    assert "the engine 10.70 ms (1.049x the hop)" in line
