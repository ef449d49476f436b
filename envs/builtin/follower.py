"""Oracle shortest-path follower: the low-level VLN-CE actions that walk the geodesic to a goal.

Each step it replans from the agent's current position (so sliding and heading quantisation never derail
it), looks at the first waypoint of the shortest path that is not under its feet, and turns toward it when
the heading error exceeds ``heading_tolerance_deg``, else moves forward. The default tolerance, 0.8 of a turn
step (12 degrees for 15-degree turns), is above half a step on purpose: with exactly half a step, a path whose
direction falls between two reachable headings makes the oracle zigzag (forward, left, forward, right, ...),
which halves its mid-level action lengths in training data; a turn still always lands within half a step.
Targets closer than 1 m are steered to within half a step, so the walk never orbits a waypoint. It stops when the geodesic distance to the
goal is below ``stop_distance``. ``follow_waypoints`` walks a list of points in order (e.g. an episode's
reference path), passing each intermediate point within ``waypoint_radius`` and stopping at the last one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from navagent.envs.base import Action, AgentState
from navagent.envs.builtin.geodesic import GeodesicPlanner
from navagent.envs.builtin.motion import MotionModel, wrap_angle

_UNDERFOOT = 1e-2  # metres: path waypoints closer than this to the agent are skipped when steering
_TIGHT_STEERING_RANGE = 1.0  # metres: closer targets are steered to within half a turn step


class ShortestPathFollower:
    """Emits the actions an oracle takes along geodesic shortest paths (``planner``) under ``motion``."""

    def __init__(
        self,
        planner: GeodesicPlanner,
        motion: MotionModel,
        stop_distance: float = 0.2,
        waypoint_radius: float | None = None,
        heading_tolerance_deg: float | None = None,
    ) -> None:
        if not stop_distance > 0.0:
            raise ValueError(f"stop_distance must be > 0, got {stop_distance}")
        self.planner = planner
        self.motion = motion
        self.stop_distance = float(stop_distance)
        # default: one forward step, so the walk passes through each intermediate point without circling it
        self.waypoint_radius = float(waypoint_radius) if waypoint_radius is not None else motion.forward_step
        if not self.waypoint_radius > 0.0:
            raise ValueError(f"waypoint_radius must be > 0, got {waypoint_radius}")
        tolerance = (
            0.8 * motion.turn_angle if heading_tolerance_deg is None else math.radians(heading_tolerance_deg)
        )
        if not motion.turn_angle / 2.0 <= tolerance < motion.turn_angle:
            raise ValueError(
                f"heading_tolerance_deg must be in [half a turn, one turn) = "
                f"[{math.degrees(motion.turn_angle) / 2:g}, {math.degrees(motion.turn_angle):g}), got {heading_tolerance_deg}"
            )
        self.heading_tolerance = tolerance

    def next_action(self, state: AgentState, goal: np.ndarray) -> Action:
        """STOP within ``stop_distance`` of ``goal`` (3,), else the action that heads along the shortest path.
        Raises ValueError when the goal cannot be reached from the agent's position."""
        goal = np.asarray(goal, dtype=np.float64)
        distance = self._checked_distance(state, goal)
        if distance < self.stop_distance:
            return Action.STOP
        return self._steer(state, goal)

    def follow(
        self, state: AgentState, goal: np.ndarray, max_steps: int = 500
    ) -> tuple[list[int], list[AgentState]]:
        """Walk to ``goal``: the actions (ending with STOP) and the state after each action.

        At most ``max_steps`` actions; if the goal is not reached by then, the last action is a forced STOP
        (check the final distance when that matters)."""
        return self.follow_waypoints(state, [goal], max_steps=max_steps)

    def follow_waypoints(
        self, state: AgentState, waypoints: Sequence[np.ndarray], max_steps: int = 500
    ) -> tuple[list[int], list[AgentState]]:
        """Walk through ``waypoints`` (each (3,)) in order and STOP at the last; same return as ``follow``.

        An intermediate waypoint counts as passed once within ``waypoint_radius`` (geodesic); a waypoint
        that cannot be reached raises ValueError naming its index."""
        if len(waypoints) == 0:
            raise ValueError("waypoints is empty")
        if max_steps < 1:
            raise ValueError(f"max_steps must be >= 1, got {max_steps}")
        points = [np.asarray(w, dtype=np.float64) for w in waypoints]
        actions: list[int] = []
        states: list[AgentState] = []
        index = 0
        while len(actions) < max_steps - 1:
            last = index == len(points) - 1
            try:
                distance = self._checked_distance(state, points[index])
            except ValueError as err:
                raise ValueError(f"waypoint {index}: {err}") from err
            if distance < (self.stop_distance if last else self.waypoint_radius):
                if last:
                    break
                index += 1
                continue
            action = self._steer(state, points[index])
            state, _ = self.motion.step(state, action)
            actions.append(int(action))
            states.append(state)
        actions.append(int(Action.STOP))
        states.append(state)
        return actions, states

    # ---------------------------------------------------------------- internals
    def _checked_distance(self, state: AgentState, goal: np.ndarray) -> float:
        distance = self.planner.distance_to_goal(state.position, goal)
        if not math.isfinite(distance):
            raise ValueError(
                f"goal {goal.tolist()} is unreachable from {np.asarray(state.position).tolist()} "
                "(off the navigable area or in another connected part)"
            )
        return distance

    def _steer(self, state: AgentState, goal: np.ndarray) -> Action:
        """TURN toward the next path waypoint when off by more than the heading tolerance, else MOVE_FORWARD."""
        position = np.asarray(state.position, dtype=np.float64)
        path = self.planner.path_to_goal(position, goal)
        target = next((p for p in path[1:] if math.hypot(*(p - position)[[0, 2]]) > _UNDERFOOT), path[-1])
        dx, dz = target[0] - position[0], target[2] - position[2]
        desired = math.atan2(-dx, -dz)  # heading whose forward vector (-sin h, -cos h) points at the target
        error = wrap_angle(desired - state.heading)
        # near the target (and around corners, where waypoints are close) steer tightly: no orbiting
        near = math.hypot(dx, dz) < _TIGHT_STEERING_RANGE
        if abs(error) > (self.motion.turn_angle / 2.0 if near else self.heading_tolerance):
            return Action.TURN_LEFT if error > 0 else Action.TURN_RIGHT
        return Action.MOVE_FORWARD
