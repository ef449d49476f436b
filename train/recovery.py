"""Recovery samples: perturbed poses next to an expert walk, labelled with the route expert's way back.

Imitation data from the reference walk alone never shows the agent off the path, so a closed-loop agent that
drifts has never seen how to come back. A recovery sample puts the agent at a pose near the walk and labels it
with the first decision of the route expert (`navagent.envs.builtin.expert.RouteExpert`) from there: the
expert rejoins the route where the agent left it (its progress comes from the positions visited before), so
the label follows the instruction's route, not a shortcut to the goal.

How one sample is drawn (all randomness from the ``rng`` the caller passes):

1. pick a perturbation step ``p`` uniformly among the walk's non-STOP steps (``0 .. T-2``; ``states[p]`` is
   the pose before step ``p``); the positions visited before it are ``states[0 .. p-1]``;
2. move sideways: ``lateral`` metres, uniform in `LATERAL_OFFSET_RANGE` (0.5-1.5 m), to the left or right of
   the local route direction (toward the expert's steering point at ``p``); turn the heading by an offset
   uniform in ±`HEADING_OFFSET_DEG` (60°) from the agent's heading at ``p``;
3. keep the pose only when: the straight segment from ``states[p]`` to it is free (so it is navigable and the
   agent could have drifted there without passing through a wall); it is at least `MIN_OFF_PATH` (0.4 m) from
   the whole walked polyline (it really is off the path); the expert, walking on from it, reaches the goal
   within ``max_steps`` and under ``max_goal_error`` without a loop (``ExpertWalk.loops == 0``: the label
   comes from the expert's rules, which a loop shows failing there); and its first decision is not STOP.
   Otherwise draw again, up to ``attempts`` times per sample (then the sample is skipped).

History carried by a recovery record (see `navagent.train.trajectories`): the on-path frames ``0 .. p-1``
followed by the perturbed view, i.e. the history of an on-path decision at step ``p`` whose current view is
replaced by the off-path one (the drift is treated as having happened during the last step). For ``p = 0``
the record holds the perturbed view alone.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from navagent.agent.actions import MidLevelAction, merge_low_level_steps
from navagent.envs.base import Action, AgentState, heading_to_forward
from navagent.envs.builtin.expert import RouteExpert
from navagent.envs.builtin.motion import wrap_angle

LATERAL_OFFSET_RANGE = (0.5, 1.5)  # metres, sideways from the path
HEADING_OFFSET_DEG = 60.0  # heading offset drawn uniformly in [-60°, 60°]
MIN_OFF_PATH = 0.4  # metres: minimum distance of a perturbed position from the walked polyline
DEFAULT_ATTEMPTS = 20  # draws per wanted sample before it is skipped
_DEGENERATE = 1e-2  # metres: shorter steering vectors do not define a direction


@dataclass(frozen=True)
class RecoverySample:
    """One perturbed pose and the expert's way back.

    step: ``p``, the index of the path observation the perturbation replaces (history = frames ``0 .. p-1``).
    state: the perturbed pose. on_path: the walk's pose before step ``p``.
    actions: the expert's low-level actions from ``state`` to its STOP (its walk, positions ``0 .. p-1``
    counted as visited). label: the expert's first decision at ``state`` (1-3 equal steps merged).
    """

    step: int
    state: AgentState
    on_path: AgentState
    actions: tuple[int, ...]
    label: MidLevelAction


def distance_to_polyline(point: np.ndarray, polyline: np.ndarray) -> float:
    """Planar (x-z) distance from ``point`` (3,) to the polyline through ``polyline`` (N, 3) points."""
    p = np.asarray(point, dtype=np.float64)[[0, 2]]
    vertices = np.asarray(polyline, dtype=np.float64)[:, [0, 2]]
    if len(vertices) == 1:
        return float(np.hypot(*(p - vertices[0])))
    a, b = vertices[:-1], vertices[1:]  # (N-1, 2) segment ends
    ab = b - a
    length2 = np.einsum("ij,ij->i", ab, ab)
    t = np.clip(np.einsum("ij,ij->i", p - a, ab) / np.where(length2 > 0, length2, 1.0), 0.0, 1.0)
    closest = a + t[:, None] * ab
    return float(np.min(np.hypot(*(p - closest).T)))


def route_direction(expert: RouteExpert, state: AgentState, progress: float) -> np.ndarray:
    """Unit planar direction (2,) ``[x, z]`` from ``state`` toward the expert's steering point at ``progress``
    (metres along the route); the agent's forward direction where that gives none (already there)."""
    position = np.asarray(state.position, dtype=np.float64)
    target, _ = expert.steering_point(position, progress)
    delta = target - position[[0, 2]]
    length = float(np.hypot(*delta))
    if length > _DEGENERATE:
        return delta / length
    return heading_to_forward(state.heading)[[0, 2]]


def sample_recoveries(
    expert: RouteExpert,
    states: Sequence[AgentState],
    count: int,
    rng: np.random.Generator,
    *,
    max_steps: int = 500,
    max_goal_error: float = 0.5,
    attempts: int = DEFAULT_ATTEMPTS,
) -> list[RecoverySample]:
    """Up to ``count`` recovery samples around one expert walk (rules in the module docstring).

    states: the pose before each low-level action of the walk (T,), ``states[0]`` the start, the last one the
    pose where the walk stopped. A wanted sample that finds no valid pose in ``attempts`` draws is skipped,
    so fewer may come back."""
    if count < 0:
        raise ValueError(f"count must be >= 0, got {count}")
    if len(states) < 2 or count == 0:
        return []  # a walk that starts at the goal has no step to perturb
    walked = np.array([s.position for s in states], dtype=np.float64)
    samples = []
    for _ in range(count):
        for _ in range(attempts):
            step = int(rng.integers(len(states) - 1))
            sample = _try_recovery(expert, states[step], step, walked, rng, max_steps)
            if sample is not None and _reaches_goal(expert, sample, max_goal_error):
                samples.append(sample)
                break
    return samples


def _try_recovery(
    expert: RouteExpert,
    on_path: AgentState,
    step: int,
    walked: np.ndarray,
    rng: np.random.Generator,
    max_steps: int,
) -> RecoverySample | None:
    """Draw one perturbed pose next to ``on_path``; the sample, or None when the pose is not acceptable."""
    lateral = float(rng.uniform(*LATERAL_OFFSET_RANGE))
    side = 1.0 if rng.random() < 0.5 else -1.0
    heading_offset = math.radians(float(rng.uniform(-HEADING_OFFSET_DEG, HEADING_OFFSET_DEG)))
    visited = walked[:step]
    direction = route_direction(expert, on_path, expert.progress(walked[: step + 1]))
    normal = np.array([-direction[1], direction[0]])  # planar perpendicular of [x, z]
    start = np.asarray(on_path.position, dtype=np.float64)
    shifted = start[[0, 2]] + side * lateral * normal
    if not expert.planner.free_space.segment_clear(start[[0, 2]], shifted):
        return None
    position = np.array([shifted[0], start[1], shifted[1]])
    if distance_to_polyline(position, walked) < MIN_OFF_PATH:
        return None
    state = AgentState(position, wrap_angle(on_path.heading + heading_offset))
    try:
        first = expert.next_decision(state, visited)
        walk = expert.walk(state, visited, max_steps=max_steps)
    except ValueError:  # the route is unreachable from the perturbed pose
        return None
    label = merge_low_level_steps(first)[0]
    if label.kind == Action.STOP or walk.loops:
        return None
    return RecoverySample(step, state, on_path, walk.actions, label)


def _reaches_goal(expert: RouteExpert, sample: RecoverySample, max_goal_error: float) -> bool:
    """Does walking ``sample.actions`` from ``sample.state`` end within ``max_goal_error`` of the goal?"""
    state = sample.state
    for action in sample.actions[:-1]:
        state, _ = expert.motion.step(state, action)
    return expert.planner.distance_to_goal(state.position, expert.goal) < max_goal_error
