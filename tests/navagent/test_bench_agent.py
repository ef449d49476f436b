"""`navagent bench agent` on a tiny workload: the table's structure and its (deterministic) frame counts."""

from __future__ import annotations

import pytest

from navagent.benchmarks.agent import BASELINE, run_agent_benchmark


def test_agent_benchmark_rows_and_encoder_frame_counts():
    report = run_agent_benchmark(steps_per_episode=3, num_episodes=2, batch_sizes=(1, 2), frame_size=32)
    rows = {row.name: row for row in report.rows}
    assert list(rows) == [BASELINE, "batch 1, cache", "batch 2, cache", "batch 2, no cache"]
    assert all(row.value > 0 and row.unit == "episodes/h" for row in rows.values())
    # without the cache every step encodes all N = 8 frames; with it: black + first frame, then one per step
    assert rows[BASELINE].details["enc frames/step"] == 8.0
    assert rows["batch 2, no cache"].details["enc frames/step"] == 8.0
    assert rows["batch 1, cache"].details["enc frames/step"] == pytest.approx(4 / 3)
    assert rows["batch 2, cache"].details["enc frames/step"] == pytest.approx(4 / 3)
    assert report.ratio(rows[BASELINE]) == 1.0


def test_agent_benchmark_rejects_batches_larger_than_the_episode_count():
    with pytest.raises(ValueError, match="batch sizes \\[4\\]"):
        run_agent_benchmark(num_episodes=2, batch_sizes=(1, 4))
