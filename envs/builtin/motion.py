"""VLN-CE motion in a house: discrete turns and forward steps that slide along walls and furniture.

MOVE_FORWARD sweeps the agent's centre along ``forward_step * heading_to_forward(heading)`` against the blocked
boxes of ``free_space`` (obstacles inflated by the agent radius, and everything off the floor). At the first
contact the agent stops a hair (``CONTACT_SKIN``) short along its path, drops the remaining motion's component
normal to the face it hit and continues with the tangential part (Habitat navmesh-style sliding), up to one
more contact; a corner hit head-on stops it. ``collided`` is True whenever a contact shortened the move.
Every position the sweep returns lies on a segment already proven free, so the agent never ends inside an
obstacle or off the floor. TURN_LEFT adds ``turn_angle`` to the heading, TURN_RIGHT subtracts it (heading is
kept in [-pi, pi]); STOP changes nothing.
"""

from __future__ import annotations

import math

import numpy as np

from navagent.envs.base import Action, AgentState, heading_to_forward
from navagent.envs.builtin.free_space import FreeSpace
from navagent.envs.builtin.house import House

CONTACT_SKIN = 1e-6  # metres the agent stops short of a contact, measured along its path
_MAX_CONTACTS = 3  # the hit itself, one slide, and a stop on the second face


def wrap_angle(angle: float) -> float:
    """Angle in radians wrapped to [-pi, pi]."""
    return math.remainder(angle, 2.0 * math.pi)


class MotionModel:
    """Applies VLN-CE actions to an ``AgentState`` inside one house."""

    def __init__(
        self,
        house: House,
        forward_step: float = 0.25,
        turn_angle_deg: float = 15.0,
        agent_radius: float = 0.1,
        free_space: FreeSpace | None = None,
    ) -> None:
        if not forward_step > 0.0:
            raise ValueError(f"forward_step must be > 0, got {forward_step}")
        if not 0.0 < turn_angle_deg <= 180.0:
            raise ValueError(f"turn_angle_deg must be in (0, 180], got {turn_angle_deg}")
        if free_space is not None and not math.isclose(free_space.agent_radius, agent_radius):
            raise ValueError(
                f"free_space was built for agent_radius {free_space.agent_radius}, not {agent_radius}"
            )
        self.house = house
        self.forward_step = float(forward_step)
        self.turn_angle = math.radians(turn_angle_deg)
        self.free_space = free_space if free_space is not None else FreeSpace.from_house(house, agent_radius)

    def is_free(self, position: np.ndarray) -> bool:
        """May the agent's centre be at ``position`` (3,)? (y is ignored.)"""
        return self.free_space.is_free(position[0], position[2])

    def step(self, state: AgentState, action: int) -> tuple[AgentState, bool]:
        """Apply ``action`` (an ``Action`` or its int); returns the new state and whether it collided."""
        if isinstance(action, bool) or not isinstance(action, (int, np.integer)) or not 0 <= action <= 3:
            raise ValueError(
                f"invalid action {action!r}: expected one of "
                + ", ".join(f"{a.name}={int(a)}" for a in Action)
            )
        action = Action(int(action))
        position = np.asarray(state.position, dtype=np.float64)
        if not self.is_free(position):
            raise ValueError(
                f"state.position {position.tolist()} is not on the free space of {self.house.scene_id}"
            )
        if action == Action.TURN_LEFT:
            return AgentState(position.copy(), wrap_angle(state.heading + self.turn_angle)), False
        if action == Action.TURN_RIGHT:
            return AgentState(position.copy(), wrap_angle(state.heading - self.turn_angle)), False
        if action == Action.STOP:
            return AgentState(position.copy(), state.heading), False
        forward = heading_to_forward(state.heading)[[0, 2]] * self.forward_step
        end, collided = self.slide(position[[0, 2]], forward)
        return AgentState(np.array([end[0], position[1], end[1]]), state.heading), collided

    def slide(self, start: np.ndarray, delta: np.ndarray) -> tuple[np.ndarray, bool]:
        """Move the planar point ``start`` (2,) by ``delta`` (2,) with sliding; returns (end (2,), collided)."""
        position, remaining, collided = (
            np.array(start, dtype=np.float64),
            np.array(delta, dtype=np.float64),
            False,
        )
        for _ in range(_MAX_CONTACTS):
            length = float(np.hypot(*remaining))
            if length == 0.0:
                break
            t, axis = self.free_space.first_contact(position, remaining)
            if t >= 1.0:
                candidate = position + remaining
                if self.free_space.is_free(*candidate):
                    position = candidate
                else:  # unreachable in exact arithmetic: the whole closed segment was found free
                    collided = True
                break
            collided = True
            t_stop = max(0.0, t - CONTACT_SKIN / length)
            candidate = position + t_stop * remaining
            if self.free_space.is_free(*candidate):  # guards against rounding at grazing contacts
                position = candidate
            remaining = (1.0 - t_stop) * remaining
            if axis < 0:
                break
            remaining[axis] = 0.0
        return position, collided
