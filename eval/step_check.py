"""Checking an offline trajectory's steps against the simulator (``navagent eval score`` on built-in scenes).

A VLN-CE trajectory record holds the pose after each action. Between two records the agent either stayed
in place (a turn or STOP) or made one MOVE_FORWARD: ``forward_step`` metres along the earlier record's
heading, sliding along walls. ``BuiltinStepChecker`` replays every move with the scene's motion model and
reports each step that the simulator could not have produced:

* a position inside an obstacle or off the map;
* a move longer than the action allows (e.g. a 1,000 km jump);
* a move through an obstacle (the straight segment enters a blocked region);
* any other move that does not land where the simulator's MOVE_FORWARD (with sliding) would.

Positions within ``tolerance`` metres count as equal (records are rounded JSON floats).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from navagent.envs.base import heading_to_forward

StepChecker = Callable[[np.ndarray, np.ndarray], list[str]]  # (positions (T,3), headings (T,)) -> problems
MAX_REPORTED = 5


def _point(position: np.ndarray) -> str:
    return f"({position[0]:.2f}, {position[2]:.2f})"


class BuiltinStepChecker:
    """Replays a trajectory's moves with a built-in scene's ``MotionModel``."""

    def __init__(self, motion, tolerance: float = 0.02) -> None:
        self.motion = motion
        self.tolerance = float(tolerance)

    def _step_problem(self, index: int, start: np.ndarray, end: np.ndarray, heading: float) -> str | None:
        if not self.motion.is_free(end):
            return f"step {index}: {_point(end)} is inside an obstacle or off the map"
        delta = (end - start)[[0, 2]]
        length = float(np.hypot(*delta))
        if length <= self.tolerance:
            return None  # a turn or STOP
        limit = self.motion.forward_step
        expected, _ = self.motion.slide(start[[0, 2]], heading_to_forward(heading)[[0, 2]] * limit)
        if float(np.hypot(*(expected - end[[0, 2]]))) <= self.tolerance:
            return None  # exactly the simulator's MOVE_FORWARD
        if length > limit + self.tolerance:
            return f"step {index}: moved {length:.2f} m, more than the {limit:.2f} m one action allows"
        t, _ = self.motion.free_space.first_contact(start[[0, 2]], delta)
        if t < 1.0:
            return f"step {index}: {_point(start)} -> {_point(end)} passes through an obstacle"
        return (
            f"step {index}: {_point(start)} -> {_point(end)} is not where MOVE_FORWARD at heading "
            f"{heading:.3f} lands ({expected[0]:.2f}, {expected[1]:.2f})"
        )

    def __call__(self, positions: np.ndarray, headings: np.ndarray) -> list[str]:
        """Every impossible step of one trajectory (empty when the simulator could have produced it)."""
        positions = np.asarray(positions, dtype=np.float64)
        problems = []
        if not self.motion.is_free(positions[0]):
            problems.append(f"step 0: start {_point(positions[0])} is inside an obstacle or off the map")
        for index in range(1, len(positions)):
            problem = self._step_problem(
                index, positions[index - 1], positions[index], float(headings[index - 1])
            )
            if problem is not None:
                problems.append(problem)
        return problems


def step_report(problems_by_episode: dict[str, list[str]], checked: int) -> dict:
    """The summary's ``step_check`` entry: how many episodes were checked and which had impossible steps."""
    bad = {episode_id: problems for episode_id, problems in problems_by_episode.items() if problems}
    return {
        "checked_episodes": checked,
        "episodes_with_impossible_steps": len(bad),
        "impossible_steps": sum(len(problems) for problems in bad.values()),
    }
