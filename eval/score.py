"""Offline scoring of VLN-CE "r2r" inference trajectory files against an episode file and its ground truth.

Trajectory file (plain or gzipped JSON), as VLN-CE's ``inference`` writes with ``INFERENCE.FORMAT r2r``::

    {episode_id: [{"position": [x, y, z], "heading": float, "stop": bool}, ...]}

VLN-CE records the state at reset first, then one record after every action, so ``steps = len(records) - 1``
(STOP included) and ``stop`` may be true only on the last record; a last record with ``stop`` false is an
episode that ran out of steps (success 0). Other keys in a record are ignored.

Geodesic distances come from the caller: ``distance_fn_for_scene(scene_id)`` returns
``distance(point (3,), goal (3,)) -> float`` (``inf`` when unreachable). NE at each record is the minimum over
the episode's goals; d0 is that distance at the first record (the agent's actual start pose, as habitat's SPL
measures it at reset). Distances need not be symmetric; the agent's point always comes first.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from navagent.envs.base import Episode
from navagent.envs.episodes import (
    EpisodeFileError,
    GroundTruth,
    load_any_episodes,
    load_gt,
    read_json,
)
from navagent.eval.step_check import MAX_REPORTED, StepChecker, step_report
from navagent.eval.vln_metrics import (
    SUCCESS_DISTANCE,
    DtwMode,
    EpisodeMetrics,
    aggregate,
    episode_metrics,
    run_success_distance,
)

DistanceFn = Callable[[np.ndarray, np.ndarray], float]
_SHOWN_IDS = 10


@dataclass(frozen=True)
class Trajectory:
    """One episode of an inference file. positions: (T, 3) metres, start first; headings: (T,) radians."""

    positions: np.ndarray
    headings: np.ndarray
    stopped: bool

    @property
    def steps(self) -> int:
        return len(self.positions) - 1


def _parse_trajectory(records: Any, path: str, episode_id: str) -> Trajectory:
    where = f"{path}: episode {episode_id!r}"
    if not isinstance(records, list) or not records:
        raise EpisodeFileError(f"{where}: expected a non-empty list of records, got {records!r:.80}")
    positions, headings, stops = [], [], []
    for index, record in enumerate(records):
        field = f"{where}: record {index}"
        if not isinstance(record, Mapping) or not {"position", "heading", "stop"} <= record.keys():
            raise EpisodeFileError(f"{field}: expected an object with 'position', 'heading' and 'stop'")
        position, heading, stop = record["position"], record["heading"], record["stop"]
        if not (
            isinstance(position, list)
            and len(position) == 3
            and all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in position
            )
        ):
            raise EpisodeFileError(f"{field}: field 'position': expected 3 finite numbers, got {position!r}")
        if isinstance(heading, bool) or not isinstance(heading, (int, float)) or not math.isfinite(heading):
            raise EpisodeFileError(f"{field}: field 'heading': expected a finite number, got {heading!r}")
        if not isinstance(stop, bool):
            raise EpisodeFileError(f"{field}: field 'stop': expected true/false, got {stop!r}")
        if stop and index != len(records) - 1:
            raise EpisodeFileError(f"{field}: field 'stop': STOP before the last record")
        positions.append(position)
        headings.append(heading)
        stops.append(stop)
    return Trajectory(
        np.asarray(positions, dtype=np.float64), np.asarray(headings, dtype=np.float64), stops[-1]
    )


def load_trajectories(path: str | os.PathLike) -> dict[str, Trajectory]:
    """Read a VLN-CE r2r-format inference file into ``{episode_id: Trajectory}`` (validated)."""
    document = read_json(path)
    if not isinstance(document, Mapping):
        raise EpisodeFileError(
            f"{path}: expected an object keyed by episode id, got {type(document).__name__}"
        )
    return {str(key): _parse_trajectory(records, str(path), str(key)) for key, records in document.items()}


def _id_list(ids: set[str]) -> str:
    shown = sorted(ids)[:_SHOWN_IDS]
    more = f" and {len(ids) - len(shown)} more" if len(ids) > len(shown) else ""
    return ", ".join(shown) + more


def _episodes_to_score(
    episodes: Mapping[str, Episode],
    trajectories: Mapping[str, Trajectory],
    paths: tuple[str, str],
    strict: bool,
) -> list[str]:
    unknown = set(trajectories) - set(episodes)
    missing = set(episodes) - set(trajectories)
    if strict and unknown:
        raise ValueError(f"{paths[1]}: {len(unknown)} trajectories not in {paths[0]}: {_id_list(unknown)}")
    if strict and missing:
        raise ValueError(
            f"{paths[0]}: {len(missing)} episodes have no trajectory in {paths[1]}: {_id_list(missing)}"
        )
    selected = [episode_id for episode_id in episodes if episode_id in trajectories]
    if not selected:
        raise ValueError(f"{paths[1]}: no trajectory matches an episode of {paths[0]}")
    return selected


def score_episode(
    episode: Episode,
    truth: GroundTruth,
    trajectory: Trajectory,
    distance_fn: DistanceFn,
    success_distance: float | None = None,
    dtw: DtwMode = "exact",
) -> EpisodeMetrics:
    """Metrics of one recorded trajectory; ``distance_fn(point, goal)`` is the scene's geodesic distance.

    ``success_distance`` None: the episode's goal radius (``Episode.success_distance``).
    """
    goals = [np.asarray(goal.position, dtype=np.float64) for goal in episode.goals]
    distances = np.array(
        [min(float(distance_fn(point, goal)) for goal in goals) for point in trajectory.positions],
        dtype=np.float64,
    )
    return episode_metrics(
        positions=trajectory.positions,
        distances_to_goal=distances,
        stopped=trajectory.stopped,
        d0=float(distances[0]),
        reference_locations=np.asarray(truth.locations, dtype=np.float64),
        steps=trajectory.steps,
        success_distance=episode.success_distance if success_distance is None else success_distance,
        dtw=dtw,
    )


def _json_safe(metrics: EpisodeMetrics) -> dict:
    """Per-episode metrics for JSON: non-finite distances become null."""
    return {
        key: (None if isinstance(value, float) and not math.isfinite(value) else value)
        for key, value in metrics.to_dict().items()
    }


def score_trajectories(
    episodes_path: str | os.PathLike,
    gt_path: str | os.PathLike,
    trajectories_path: str | os.PathLike,
    distance_fn_for_scene: Callable[[str], DistanceFn],
    success_distance: float | None = None,
    dtw: DtwMode = "exact",
    strict: bool = True,
    step_checker_for_scene: Callable[[str], StepChecker | None] | None = None,
) -> dict:
    """Score an inference file -> ``{"summary": {...}, "episodes": {episode_id: {...}}}``.

    ``summary`` is ``vln_metrics.aggregate`` (``ne, sr, osr, spl, tl, ndtw, sdtw, steps, episodes,
    nonfinite_ne``) plus ``dtw`` and ``success_distance`` (None: each episode's goal radius). ``strict``
    (default) requires the trajectory file and the episode file to cover the same ids; ``strict=False`` scores
    their intersection. Episodes or
    R2R-CE/RxR-CE files are detected from the file (``load_any_episodes``); every scored episode needs a
    ground-truth entry.

    ``step_checker_for_scene`` (e.g. ``eval.step_check.BuiltinStepChecker`` of a built-in scene; None for a
    scene it cannot check) replays each trajectory's steps: an episode's ``step_problems`` lists its first
    impossible steps (``impossible_steps`` counts them) and ``summary["step_check"]`` says how many episodes
    were checked and how many had impossible steps.
    """
    episodes = {episode.episode_id: episode for episode in load_any_episodes(episodes_path)}
    truths = load_gt(gt_path)
    trajectories = load_trajectories(trajectories_path)
    selected = _episodes_to_score(
        episodes, trajectories, (str(episodes_path), str(trajectories_path)), strict
    )
    if no_truth := set(selected) - set(truths):
        raise ValueError(f"{gt_path}: no ground truth for {len(no_truth)} episodes: {_id_list(no_truth)}")
    distance_fns: dict[str, DistanceFn] = {}
    checkers: dict[str, StepChecker | None] = {}
    problems: dict[str, list[str]] = {}
    results: dict[str, EpisodeMetrics] = {}
    for episode_id in selected:
        episode = episodes[episode_id]
        if episode.scene_id not in distance_fns:
            distance_fns[episode.scene_id] = distance_fn_for_scene(episode.scene_id)
            checkers[episode.scene_id] = step_checker_for_scene and step_checker_for_scene(episode.scene_id)
        if (checker := checkers[episode.scene_id]) is not None:
            trajectory = trajectories[episode_id]
            problems[episode_id] = checker(trajectory.positions, trajectory.headings)
        results[episode_id] = score_episode(
            episode,
            truths[episode_id],
            trajectories[episode_id],
            distance_fns[episode.scene_id],
            success_distance,
            dtw,
        )
    summary = {
        **aggregate(list(results.values())),
        "dtw": dtw,
        "success_distance": (
            success_distance
            if success_distance is not None
            else run_success_distance(episodes[i].success_distance for i in selected)
        ),
    }
    summary["step_check"] = step_report(problems, len(problems))
    scored = {key: _json_safe(value) for key, value in results.items()}
    for episode_id, found in problems.items():
        scored[episode_id].update(impossible_steps=len(found), step_problems=found[:MAX_REPORTED])
    return {"summary": summary, "episodes": scored}


_TABLE_ROWS: Sequence[tuple[str, str, str]] = (
    # key, label, format: "m" metres, "%" fraction shown as percent, "f" plain number, "d" count
    ("episodes", "Episodes", "d"),
    ("tl", "TL (trajectory length)", "m"),
    ("ne", "NE (navigation error)", "m"),
    ("osr", "OSR (oracle success)", "%"),
    ("sr", "SR (success rate)", "%"),
    ("spl", "SPL", "%"),
    ("ndtw", "nDTW", "%"),
    ("sdtw", "sDTW", "%"),
    ("steps", "Steps (mean)", "f"),
    ("nonfinite_ne", "Non-finite NE (excluded from NE)", "d"),
)


def format_metric_value(value: Any, kind: str) -> str:
    """One metric for display: kind "%" (a fraction shown as a percentage), "m" (metres), "f" (one decimal,
    thousands separators), "f2" (two decimals), anything else as ``str``; None is "n/a"."""
    if value is None:
        return "n/a"
    if kind == "m":
        return f"{value:.2f} m"
    if kind == "%":
        return f"{100.0 * value:.1f} %"
    if kind == "f":
        return f"{value:,.1f}"
    if kind == "f2":
        return f"{value:.2f}"
    return str(value)


def format_summary_table(summary: Mapping[str, Any], title: str = "VLN-CE metrics") -> str:
    """Render a summary (``aggregate`` / ``score_trajectories()["summary"]``) as a plain-text rich table."""
    table = Table(title=title)
    table.add_column("Metric")
    table.add_column("Value", justify="right")
    for key, label, kind in _TABLE_ROWS:
        if key in summary:
            table.add_row(label, format_metric_value(summary[key], kind))
    if "dtw" in summary:
        table.caption = (
            f"DTW: {summary['dtw']}; success distance {summary.get('success_distance', SUCCESS_DISTANCE)} m"
        )
    buffer = io.StringIO()
    Console(file=buffer, width=72, color_system=None, force_terminal=False).print(table)
    return buffer.getvalue()
