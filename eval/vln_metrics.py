"""VLN-CE metrics: pure functions of agent positions, geodesic distances, STOP flag and reference path.

The same code scores live runs and offline trajectory files. Definitions follow VLN-CE's
``habitat_extensions/measures.py`` and habitat-lab (distances in metres, success distance 3.0 m):

- NE (navigation error): geodesic distance to the goal at the end of the episode.
- SR (success): STOP called and NE < success distance (strict: NE == 3.0 fails). A timed-out episode scores 0.
- OSR (oracle success): NE < success distance at any recorded position (the start included).
- TL (trajectory length) L: sum of 3-D Euclidean distances between consecutive positions.
- SPL: success * d0 / max(d0, L), d0 = geodesic start -> goal.
- nDTW: exp(-DTW(P, R) / (|R| * success distance)) with 3-D Euclidean point cost, P = agent positions with
  consecutive repeats dropped (exact equality, as VLN-CE compares position lists), R = reference locations.
  ``dtw="exact"`` is the definition (full dynamic programme); ``dtw="fastdtw"`` reproduces VLN-CE's default,
  the ``fastdtw`` package with radius 1 (an upper bound on the exact DTW).
- sDTW: success * nDTW. Steps: actions taken, STOP included.

Non-finite geodesics (unreachable or off-navmesh points, ``inf``/``NaN``) are handled explicitly: such a final
NE is never a success, never counts towards OSR, and ``aggregate`` excludes it from the NE mean and counts
it in ``nonfinite_ne`` instead of letting it poison the average. A non-finite d0 gives SPL 0 (no shortest
path to weight by); d0 = L = 0 gives SPL = success (nothing to walk, nothing walked).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np
from scipy.spatial.distance import cdist

from navagent.envs.base import SUCCESS_DISTANCE

DtwMode = Literal["exact", "fastdtw"]
SUMMARY_KEYS = ("ne", "sr", "osr", "spl", "tl", "ndtw", "sdtw", "steps")


def _points(array: np.ndarray | Sequence, name: str) -> np.ndarray:
    """Validate and convert to a (N, 3) float64 array of finite points, N >= 1."""
    points = np.asarray(array, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 3 or points.shape[0] == 0:
        raise ValueError(f"{name}: expected a non-empty (N, 3) array, got shape {points.shape}")
    if not np.isfinite(points).all():
        raise ValueError(f"{name}: contains non-finite coordinates")
    return points


def path_length(positions: np.ndarray) -> float:
    """TL: sum of Euclidean distances between consecutive positions (T, 3)."""
    points = _points(positions, "positions")
    return float(np.linalg.norm(np.diff(points, axis=0), axis=1).sum())


def oracle_navigation_error(distances_to_goal: np.ndarray) -> float:
    """Smallest distance to the goal over the episode; NaN counts as inf (unknown is not close)."""
    distances = np.asarray(distances_to_goal, dtype=np.float64)
    return float(np.where(np.isnan(distances), np.inf, distances).min())


def run_success_distance(distances: Iterable[float]) -> float | list[float]:
    """The success distance a run reports: one number, or its sorted distinct per-episode goal radii."""
    distinct = sorted({float(distance) for distance in distances}) or [SUCCESS_DISTANCE]
    return distinct[0] if len(distinct) == 1 else distinct


def is_success(stopped: bool, final_distance: float, success_distance: float = SUCCESS_DISTANCE) -> bool:
    """STOP called and a finite final distance strictly below ``success_distance``."""
    return bool(stopped) and math.isfinite(final_distance) and final_distance < success_distance


def spl(success: bool, d0: float, trajectory_length: float) -> float:
    """Success weighted by (normalised inverse) path length: success * d0 / max(d0, L)."""
    if not success or not math.isfinite(d0):
        return 0.0
    longest = max(d0, trajectory_length)
    return 1.0 if longest == 0.0 else d0 / longest


def drop_repeated_positions(positions: np.ndarray) -> np.ndarray:
    """(T, 3) -> (K, 3): a position is kept only when it differs from the previous kept one."""
    points = _points(positions, "positions")
    changed = np.any(points[1:] != points[:-1], axis=1)
    return points[np.concatenate(([True], changed))]


def dtw_distance(path: np.ndarray, reference: np.ndarray) -> float:
    """Exact DTW between (N, 3) and (M, 3) point sequences with Euclidean cost, O(N*M) time.

    D[i, j] = c[i, j] + min(D[i-1, j], D[i, j-1], D[i-1, j-1]). Each row is computed in one vectorised pass:
    with t[j] = c[i, j] + min(D[i-1, j], D[i-1, j-1]) and C the running sum of row i's costs,
    D[i, j] = min_{k <= j} (t[k] + C[j] - C[k]) = C[j] + cummin(t - C)[j].
    """
    a, b = _points(path, "path"), _points(reference, "reference")
    if len(a) < len(b):  # DTW is symmetric; iterate over the shorter sequence
        a, b = b, a
    cost = cdist(b, a)  # (rows = shorter, cols = longer)
    row = np.cumsum(cost[0])
    for costs in cost[1:]:
        from_above = np.minimum(row, np.concatenate(([np.inf], row[:-1])))
        running = np.cumsum(costs)
        row = running + np.minimum.accumulate(costs + from_above - running)
    return float(row[-1])


def fastdtw_distance(path: np.ndarray, reference: np.ndarray, radius: int = 1) -> float:
    """VLN-CE's approximate DTW: ``fastdtw.fastdtw(path, reference, radius=1, dist=Euclidean)``."""
    try:
        from fastdtw import fastdtw
    except ImportError as error:
        raise ImportError(
            "dtw='fastdtw' needs the fastdtw package (pip install fastdtw); use dtw='exact' otherwise"
        ) from error
    distance, _ = fastdtw(_points(path, "path"), _points(reference, "reference"), radius=radius, dist=2)
    return float(distance)


def ndtw(
    positions: np.ndarray,
    reference: np.ndarray,
    success_distance: float = SUCCESS_DISTANCE,
    dtw: DtwMode = "exact",
) -> float:
    """exp(-DTW(P, R) / (|R| * success_distance)), P = ``positions`` (T, 3) without consecutive repeats."""
    if dtw not in ("exact", "fastdtw"):
        raise ValueError(f"dtw must be 'exact' or 'fastdtw', got {dtw!r}")
    agent_path = drop_repeated_positions(positions)
    reference_points = _points(reference, "reference")
    distance_fn = dtw_distance if dtw == "exact" else fastdtw_distance
    distance = distance_fn(agent_path, reference_points)
    return float(np.exp(-distance / (len(reference_points) * success_distance)))


@dataclass(frozen=True)
class EpisodeMetrics:
    """All metrics of one episode (distances in metres; ``ne``/``oracle_ne`` may be inf or NaN)."""

    ne: float
    success: bool
    oracle_success: bool
    spl: float
    tl: float
    ndtw: float
    sdtw: float
    steps: int
    oracle_ne: float

    def to_dict(self) -> dict:
        return asdict(self)


def episode_metrics(
    positions: np.ndarray,
    distances_to_goal: np.ndarray,
    stopped: bool,
    d0: float,
    reference_locations: np.ndarray,
    steps: int,
    success_distance: float = SUCCESS_DISTANCE,
    dtw: DtwMode = "exact",
) -> EpisodeMetrics:
    """Score one episode.

    positions: (T, 3) agent positions, the start first, one per step. distances_to_goal: (T,) geodesic
    distance to the (nearest) goal at each of those positions (may hold inf/NaN). stopped: whether the episode
    ended with STOP (False for a timeout). d0: geodesic start -> goal. reference_locations: (R, 3)
    ground-truth path. steps: actions taken, STOP included.
    """
    points = _points(positions, "positions")
    distances = np.asarray(distances_to_goal, dtype=np.float64)
    if distances.shape != (len(points),):
        raise ValueError(f"distances_to_goal: expected shape ({len(points)},), got {distances.shape}")
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"steps: expected an integer >= 0, got {steps!r}")
    if not (math.isfinite(success_distance) and success_distance > 0):
        raise ValueError(f"success_distance: expected a positive number, got {success_distance!r}")
    final = float(distances[-1])
    success = is_success(stopped, final, success_distance)
    oracle = oracle_navigation_error(distances)
    length = path_length(points)
    path_fidelity = ndtw(points, reference_locations, success_distance, dtw)
    return EpisodeMetrics(
        ne=final,
        success=success,
        oracle_success=oracle < success_distance,
        spl=spl(success, float(d0), length),
        tl=length,
        ndtw=path_fidelity,
        sdtw=path_fidelity if success else 0.0,
        steps=int(steps),
        oracle_ne=oracle,
    )


def aggregate(metrics: Sequence[EpisodeMetrics]) -> dict:
    """Average over episodes -> ``{ne, sr, osr, spl, tl, ndtw, sdtw, steps, episodes, nonfinite_ne}``.

    Rates are fractions in [0, 1], distances metres, ``steps`` the mean number of actions. ``ne`` is the mean
    over episodes with a finite NE only (None when there is none); those excluded are counted in
    ``nonfinite_ne`` and already score 0 in ``sr``/``spl``/``sdtw`` (and ``osr`` unless an earlier position
    was close enough), so every other mean is over all episodes.
    """
    if not metrics:
        raise ValueError("aggregate: no episodes to average")
    ne = np.array([m.ne for m in metrics], dtype=np.float64)
    finite = np.isfinite(ne)

    def mean(values: list[float]) -> float:
        return float(np.mean(np.asarray(values, dtype=np.float64)))

    return {
        "ne": float(ne[finite].mean()) if finite.any() else None,
        "sr": mean([m.success for m in metrics]),
        "osr": mean([m.oracle_success for m in metrics]),
        "spl": mean([m.spl for m in metrics]),
        "tl": mean([m.tl for m in metrics]),
        "ndtw": mean([m.ndtw for m in metrics]),
        "sdtw": mean([m.sdtw for m in metrics]),
        "steps": mean([m.steps for m in metrics]),
        "episodes": len(metrics),
        "nonfinite_ne": int((~finite).sum()),
    }
