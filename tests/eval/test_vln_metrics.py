"""VLN metrics on hand-computed cases."""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest

from navagent.envs.base import SUCCESS_DISTANCE, Episode, Goal
from navagent.eval.vln_metrics import (
    SUMMARY_KEYS,
    EpisodeMetrics,
    aggregate,
    drop_repeated_positions,
    dtw_distance,
    episode_metrics,
    fastdtw_distance,
    ndtw,
    path_length,
    run_success_distance,
    spl,
)


def line(*xs: float, z: float = 0.0) -> np.ndarray:
    """Points (N, 3) on the floor along x."""
    return np.array([[x, 0.0, z] for x in xs], dtype=np.float64)


def test_path_length_is_3d_euclidean_sum():
    positions = np.array([[0.0, 0.0, 0.0], [3.0, 0.0, 4.0], [3.0, 0.0, 4.0], [3.0, 2.0, 4.0]])
    assert path_length(positions) == pytest.approx(7.0)
    assert path_length(positions[:1]) == 0.0


def test_dtw_hand_computed_cases():
    # parallel lines 1 m apart: the diagonal alignment costs 1 per pair
    assert dtw_distance(line(0, 1, 2), line(0, 1, 2, z=1.0)) == pytest.approx(3.0)
    # one point against a 3 m segment: both reference points align with it
    assert dtw_distance(line(0), line(0, 3)) == pytest.approx(3.0)
    assert dtw_distance(line(0, 3), line(0)) == pytest.approx(3.0)
    assert dtw_distance(line(0, 1, 2, 3), line(0, 1, 2, 3)) == 0.0
    # path 0,1,2,3,4 against reference 0,2,4: 1 and 3 each pay 1 m
    assert dtw_distance(line(0, 1, 2, 3, 4), line(0, 2, 4)) == pytest.approx(2.0)


def test_exact_dtw_matches_the_textbook_recurrence_on_random_paths():
    rng = np.random.default_rng(7)
    for n, m in [(1, 4), (5, 5), (9, 3), (12, 17)]:
        a, b = rng.normal(size=(n, 3)), rng.normal(size=(m, 3))
        table = np.full((n + 1, m + 1), np.inf)
        table[0, 0] = 0.0
        for i in range(1, n + 1):
            for j in range(1, m + 1):
                step = np.linalg.norm(a[i - 1] - b[j - 1])
                table[i, j] = step + min(table[i - 1, j], table[i, j - 1], table[i - 1, j - 1])
        assert dtw_distance(a, b) == pytest.approx(table[n, m], rel=1e-12)
        assert dtw_distance(b, a) == pytest.approx(table[n, m], rel=1e-12)


def test_ndtw_normalises_by_reference_length_and_success_distance():
    assert ndtw(line(0, 1, 2), line(0, 1, 2, z=1.0)) == pytest.approx(math.exp(-3.0 / (3 * 3.0)))
    assert ndtw(line(0, 1, 2), line(0, 1, 2, z=1.0), success_distance=1.5) == pytest.approx(
        math.exp(-3.0 / 4.5)
    )
    assert ndtw(line(0, 1, 2), line(0, 1, 2)) == 1.0


def test_repeated_positions_are_dropped_for_ndtw():
    standing_still = line(1, 1, 1)
    assert drop_repeated_positions(standing_still).tolist() == [[1.0, 0.0, 0.0]]
    # kept once: DTW = |1-0| + |1-2| = 2; all three copies would cost 3
    assert ndtw(standing_still, line(0, 2)) == pytest.approx(math.exp(-2.0 / (2 * 3.0)))
    # only consecutive repeats go; a revisit stays
    assert drop_repeated_positions(line(0, 0, 1, 0)).tolist() == line(0, 1, 0).tolist()


def test_fastdtw_mode_agrees_with_exact_on_simple_paths():
    pytest.importorskip("fastdtw")
    cases = [
        (line(0, 1, 2), line(0, 1, 2, z=1.0)),
        (line(*range(10)), line(*range(10), z=0.5)),
        (line(*range(10)), line(*range(10))),
        (line(0), line(0, 3)),
        (line(0, 1, 2, 3, 4), line(0, 2, 4)),
    ]
    for path, reference in cases:
        assert fastdtw_distance(path, reference) == pytest.approx(dtw_distance(path, reference))
        assert ndtw(path, reference, dtw="fastdtw") == pytest.approx(ndtw(path, reference, dtw="exact"))


def test_fastdtw_never_beats_exact_dtw():
    pytest.importorskip("fastdtw")
    rng = np.random.default_rng(3)
    for _ in range(5):
        a = np.cumsum(rng.normal(size=(30, 3)), axis=0)
        b = np.cumsum(rng.normal(size=(20, 3)), axis=0)
        assert fastdtw_distance(a, b) >= dtw_distance(a, b) - 1e-9


def test_fastdtw_mode_without_the_package_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "fastdtw", None)  # makes `import fastdtw` raise ImportError
    with pytest.raises(ImportError, match="pip install fastdtw"):
        ndtw(line(0, 1), line(0, 1), dtw="fastdtw")


def score(
    positions: np.ndarray, distances: list[float], stopped: bool = True, d0: float = 4.0, reference=None
) -> EpisodeMetrics:
    reference = positions if reference is None else reference
    return episode_metrics(positions, np.array(distances), stopped, d0, reference, steps=len(positions) - 1)


def test_spl_with_a_detour():
    # start (0,0,0), goal (4,0,0); the agent walks 3 + 4 + 3 = 10 m around
    positions = np.array([[0.0, 0, 0], [0, 0, 3], [4, 0, 3], [4, 0, 0]])
    metrics = score(positions, [4.0, 5.0, 3.0, 0.0], d0=4.0)
    assert metrics.success and metrics.ne == 0.0
    assert metrics.tl == pytest.approx(10.0)
    assert metrics.spl == pytest.approx(0.4)
    # a shorter-than-geodesic path (e.g. the geodesic goes round a wall) is capped at 1
    assert spl(True, 6.0, 4.0) == 1.0
    assert spl(False, 6.0, 4.0) == 0.0


def test_success_boundary_is_strict():
    positions = line(0, 1)
    at_boundary = score(positions, [4.0, 3.0])
    assert not at_boundary.success and not at_boundary.oracle_success
    assert at_boundary.spl == 0.0 and at_boundary.sdtw == 0.0
    inside = score(positions, [4.0, 2.999])
    assert inside.success and inside.oracle_success
    assert inside.sdtw == inside.ndtw


def test_timeout_scores_zero_even_at_the_goal():
    metrics = score(line(0, 1, 2), [2.0, 1.0, 0.0], stopped=False, d0=2.0)
    assert metrics.ne == 0.0
    assert not metrics.success and metrics.spl == 0.0 and metrics.sdtw == 0.0
    assert metrics.oracle_success and metrics.ndtw == 1.0


def test_oracle_success_uses_the_closest_point_and_steps_are_passed_through():
    metrics = episode_metrics(line(0, 1, 2), np.array([5.0, 2.0, 6.0]), True, 5.0, line(0, 2), steps=7)
    assert metrics.oracle_ne == 2.0 and metrics.oracle_success and not metrics.success
    assert metrics.steps == 7


def test_nonfinite_geodesics_are_failures():
    unreachable = score(line(0, 1), [4.0, math.inf])
    unknown = score(line(0, 1), [math.nan, math.nan])
    for metrics in (unreachable, unknown):
        assert not metrics.success and metrics.spl == 0.0 and metrics.sdtw == 0.0
        assert not metrics.oracle_success
    assert unknown.oracle_ne == math.inf
    # a non-finite d0 cannot weight a success: SPL 0, success itself stands
    lost_start = score(line(0, 1), [math.inf, 1.0], d0=math.inf)
    assert lost_start.success and lost_start.spl == 0.0
    # nothing to walk and nothing walked: SPL = success
    assert spl(True, 0.0, 0.0) == 1.0


def test_aggregate_excludes_nonfinite_ne_from_the_mean_only():
    good = score(line(0, 3), [3.0, 2.0], d0=3.0)  # success, SPL 1, TL 3
    lost = score(line(0, 1), [3.5, math.inf], d0=3.5)  # failure, TL 1
    summary = aggregate([good, lost])
    assert set(summary) == {*SUMMARY_KEYS, "episodes", "nonfinite_ne"}
    assert summary["ne"] == pytest.approx(2.0)
    assert summary["nonfinite_ne"] == 1 and summary["episodes"] == 2
    assert summary["sr"] == 0.5 and summary["spl"] == 0.5 and summary["osr"] == 0.5
    assert summary["tl"] == pytest.approx(2.0) and summary["steps"] == 1.0
    assert summary["sdtw"] == pytest.approx(0.5 * good.ndtw)
    assert aggregate([lost])["ne"] is None


def test_bad_inputs_are_rejected():
    with pytest.raises(ValueError, match="positions"):
        episode_metrics(np.zeros((3, 2)), np.zeros(3), True, 1.0, line(0), steps=2)
    with pytest.raises(ValueError, match="distances_to_goal"):
        episode_metrics(line(0, 1), np.zeros(3), True, 1.0, line(0), steps=1)
    with pytest.raises(ValueError, match="reference"):
        episode_metrics(line(0, 1), np.zeros(2), True, 1.0, np.array([[0.0, math.nan, 0.0]]), steps=1)
    with pytest.raises(ValueError, match="dtw"):
        ndtw(line(0), line(0), dtw="approximate")
    with pytest.raises(ValueError, match="no episodes"):
        aggregate([])


def test_success_distance_is_the_goal_radius_with_the_vln_ce_default():
    def episode(*goals: Goal) -> Episode:
        return Episode("1", 1, "s", (0.0, 0.0, 0.0), (0.0, 0.0, 0.0, 1.0), goals, (), "go")

    assert episode(Goal((1.0, 0.0, 1.0), radius=1.5)).success_distance == 1.5
    assert episode(Goal((1.0, 0.0, 1.0))).success_distance == SUCCESS_DISTANCE == 3.0
    assert episode().success_distance == SUCCESS_DISTANCE
    assert run_success_distance([3.0, 3.0]) == 3.0 and run_success_distance([]) == SUCCESS_DISTANCE
    assert run_success_distance([3.0, 1.5, 3.0]) == [1.5, 3.0]
