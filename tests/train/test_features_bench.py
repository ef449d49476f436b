"""`navagent bench features` on a tiny workload: one row per worker count, the same features in each."""

from __future__ import annotations

import pytest

from navagent.benchmarks.features import BASELINE, run_features_benchmark


def test_features_benchmark_measures_in_process_decoding_and_each_worker_count():
    report = run_features_benchmark(houses=1, views_per_house=24, workers=(1, 2), batch_size=8)
    rows = {row.name: row for row in report.rows}
    assert list(rows) == [
        BASELINE,
        "1 decode worker",
        "2 decode workers",
    ]  # each checked against the baseline
    assert all(
        row.unit == "frames/s" and row.value > 0 and row.details["seconds"] > 0 for row in rows.values()
    )
    assert "48 frames (24 rendered views" in report.title  # plain and mirrored
    assert report.ratio(rows[BASELINE]) == 1.0


def test_features_benchmark_rejects_zero_workers():
    with pytest.raises(ValueError, match="workers must be >= 1"):
        run_features_benchmark(houses=1, views_per_house=2, workers=(0,))
