"""`navagent bench train` on a tiny workload: rows, and the padding figures packing must improve."""

from __future__ import annotations

import pytest

from navagent.benchmarks.train import BASELINE, run_train_benchmark


def test_train_benchmark_reports_throughput_and_padding_with_and_without_packing():
    report = run_train_benchmark(episodes=1, vqa_questions=8, chats=6, batch_size=4, warmup_steps=1)
    rows = {row.name: row for row in report.rows}
    compact = "compact navigation prompt, no packing"
    assert list(rows) == [BASELINE, "length-grouped, no packing", "packing", compact]
    assert all(row.unit == "samples/s" and row.value > 0 for row in rows.values())
    assert rows[BASELINE].details["rows/batch"] == 4.0
    assert rows["packing"].details["rows/batch"] < 4.0
    assert rows["packing"].details["non-padding"] > rows[BASELINE].details["non-padding"]
    assert rows[compact].details["rows/batch"] == 4.0  # navigation samples without the fixed text: shorter
    assert rows[compact].details["real tok/sample"] < rows[BASELINE].details["real tok/sample"]
    assert report.ratio(rows[BASELINE]) == 1.0


def test_train_benchmark_rejects_a_mixture_too_small_for_timing():
    with pytest.raises(ValueError, match="steps of"):
        run_train_benchmark(episodes=1, vqa_questions=1, chats=1, batch_size=64)
