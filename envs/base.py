"""Core interfaces shared by every simulator backend.

Conventions (Habitat's): y is up, the floor is y = 0 in the built-in simulator, and an agent with heading 0
looks along -z. Heading is a yaw angle in radians about +y, counter-clockwise seen from above, so
TURN_LEFT increases it. The matching quaternion is ``[0, sin(h/2), 0, cos(h/2)]`` in ``[x, y, z, w]`` order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Protocol, runtime_checkable

import numpy as np

SUCCESS_DISTANCE = 3.0  # metres: VLN-CE's success distance, the default goal radius


class Action(IntEnum):
    """VLN-CE low-level actions (R2R-CE numbering)."""

    STOP = 0
    MOVE_FORWARD = 1
    TURN_LEFT = 2
    TURN_RIGHT = 3


def parse_action_id(action: object) -> Action:
    """An integer action id (int, numpy integer or ``Action``) -> ``Action``; anything else is a ValueError."""
    if (
        isinstance(action, (int, np.integer))
        and not isinstance(action, bool)
        and int(action) in Action._value2member_map_
    ):
        return Action(int(action))
    names = ", ".join(f"{a.value}={a.name}" for a in Action)
    raise ValueError(f"invalid action {action!r}: expected an integer action id ({names})")


def heading_to_quaternion(heading: float) -> list[float]:
    """Yaw (radians about +y) -> quaternion ``[x, y, z, w]``."""
    return [0.0, math.sin(heading / 2.0), 0.0, math.cos(heading / 2.0)]


def quaternion_to_heading(quaternion: list[float] | np.ndarray) -> float:
    """Quaternion ``[x, y, z, w]`` of a rotation about +y -> yaw in radians, in (-pi, pi]."""
    x, y, z, w = (float(v) for v in quaternion)
    # yaw of the rotated -z axis; robust to small x/z components
    forward_x = -(2.0 * (x * z + w * y))
    forward_z = -(1.0 - 2.0 * (x * x + y * y))
    return math.atan2(-forward_x, -forward_z)


def heading_to_forward(heading: float) -> np.ndarray:
    """Unit forward vector (3,) on the floor plane for a heading."""
    return np.array([-math.sin(heading), 0.0, -math.cos(heading)])


@dataclass(frozen=True)
class AgentState:
    """Pose of the agent: ``position`` (3,) float64 metres, ``heading`` radians."""

    position: np.ndarray
    heading: float

    @property
    def rotation(self) -> list[float]:
        return heading_to_quaternion(self.heading)


@dataclass
class Observation:
    """What an agent sees after ``reset`` or ``step``.

    rgb: (H, W, 3) uint8. depth: (H, W) float32 metres along the optical axis, or None when disabled.
    """

    rgb: np.ndarray
    depth: np.ndarray | None
    position: np.ndarray
    heading: float
    instruction: str
    episode_id: str
    step: int
    done: bool = False
    collided: bool = False


@dataclass(frozen=True)
class Goal:
    """A goal position; ``radius`` (metres) is the success distance (VLN-CE default ``SUCCESS_DISTANCE``)."""

    position: tuple[float, float, float]
    radius: float = SUCCESS_DISTANCE


@dataclass(frozen=True)
class Episode:
    """One VLN-CE episode, as stored in R2R-CE / RxR-CE files (see ``envs.episodes``)."""

    episode_id: str
    trajectory_id: int
    scene_id: str
    start_position: tuple[float, float, float]
    start_rotation: tuple[float, float, float, float]
    goals: tuple[Goal, ...]
    reference_path: tuple[tuple[float, float, float], ...]
    instruction_text: str
    instruction_tokens: tuple[int, ...] = ()
    geodesic_distance: float = float("nan")
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def start_heading(self) -> float:
        return quaternion_to_heading(self.start_rotation)

    @property
    def success_distance(self) -> float:
        """Metres from the goal within which STOP succeeds: the first goal's radius (VLN-CE default 3.0)."""
        return self.goals[0].radius if self.goals else SUCCESS_DISTANCE


@runtime_checkable
class NavEnv(Protocol):
    """A continuous VLN simulator. Both the built-in simulator and the Habitat backend implement it;
    the evaluation runner and the trajectory renderer see only this protocol."""

    def reset(self, episode: Episode) -> Observation: ...

    def step(self, action: int) -> Observation: ...

    def geodesic_distance(self, a: np.ndarray, b: np.ndarray) -> float:
        """Shortest navigable path length in metres between two points; ``inf`` when unreachable."""
        ...

    def agent_state(self) -> AgentState: ...

    def close(self) -> None: ...
