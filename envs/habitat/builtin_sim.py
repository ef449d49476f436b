"""The built-in simulator registered as a habitat-lab ``Simulator`` (``NavagentBuiltinSim-v0``).

With it, habitat-lab's own ``Env``, VLN-v0 task, dataset loaders and measures (DistanceToGoal, Success,
SPL, ...) run on built-in houses and episodes, with no habitat-sim: this is how the habitat path is tested
where habitat-sim cannot be installed, and it lets habitat-lab tooling run on procedural houses.

It reads the same habitat-lab config as habitat-sim's ``Sim-v0``: ``scene`` (any path ending in a built-in
scene id, e.g. ``data/scene_datasets/builtin/house_000007``), ``forward_step_size``, ``turn_angle``, the
main agent's ``radius`` and start state, ``habitat_sim_v0.gpu_device_id`` (the EGL device it renders on)
and the agent's ``sim_sensors``: habitat-lab's own ``HabitatSimRGBSensor`` / ``HabitatSimDepthSensor``
classes turn the renderer's frames into observations (alpha dropped, depth clipped / normalised per config),
so observations have the shapes and value ranges habitat-sim's would have. Both sensors look through one
camera (same size, HFOV and mounting); the agent always slides along obstacles (``allow_sliding`` true).

Motion, geodesic distances and rendering are ``navagent.envs.builtin``'s (one ``BuiltinNavEnv`` holds the
scene cache and the renderer), so an action sequence gives the same poses here as in ``BuiltinNavEnv``.
Positions are float64 (habitat-sim's are float32).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import quaternion as numpy_quaternion
from gym import spaces
from habitat.config.default import get_agent_config
from habitat.core.registry import registry
from habitat.core.simulator import AgentState as HabitatAgentState
from habitat.core.simulator import DepthSensor, Observations, RGBSensor, SensorSuite, Simulator
from habitat.utils.geometry_utils import quaternion_from_coeff, quaternion_to_list

from navagent.envs.base import Action, AgentState, quaternion_to_heading
from navagent.envs.builtin.generator import parse_scene_id
from navagent.envs.builtin.sim import BuiltinNavEnv, Scene, SimConfig
from navagent.envs.habitat.config import BUILTIN_SIM_TYPE

if TYPE_CHECKING:
    from omegaconf import DictConfig

SUPPORTED_SENSOR_TYPES = ("HabitatSimRGBSensor", "HabitatSimDepthSensor")
_BUILTIN_SCENE = re.compile(r"builtin/house_[0-9]+")


def builtin_scene_id(scene: str) -> str:
    """The built-in scene id at the end of a habitat scene path (``.../builtin/house_000007[.glb]``)."""
    matches = _BUILTIN_SCENE.findall(str(scene))
    if not matches:
        raise ValueError(
            f"scene {scene!r} is not a built-in scene: expected a path ending in builtin/house_<index>"
        )
    parse_scene_id(matches[-1])
    return matches[-1]


def _camera_settings(agent_config: DictConfig) -> dict[str, Any]:
    """Renderer settings shared by every sensor of the agent (ValueError naming the odd sensor out)."""
    cameras = {}
    for name, sensor in agent_config.sim_sensors.items():
        if sensor.type not in SUPPORTED_SENSOR_TYPES:
            raise ValueError(
                f"sim_sensors.{name}: type {sensor.type!r} is not supported by the built-in simulator "
                f"(supported: {', '.join(SUPPORTED_SENSOR_TYPES)})"
            )
        if list(sensor.orientation) != [0.0, 0.0, 0.0] or sensor.position[0] != 0 or sensor.position[2] != 0:
            raise ValueError(
                f"sim_sensors.{name}: the built-in camera sits on the agent's axis looking ahead: "
                f"position must be [0, height, 0] and orientation [0, 0, 0]"
            )
        cameras[name] = (int(sensor.width), int(sensor.height), float(sensor.hfov), float(sensor.position[1]))
    if not cameras:
        raise ValueError("the agent has no sim_sensors: the built-in simulator needs an RGB sensor")
    if len(set(cameras.values())) > 1:
        raise ValueError(
            f"the built-in simulator renders every sensor from one camera: width, height, hfov and position "
            f"must match across sim_sensors, got {cameras}"
        )
    width, height, hfov, camera_height = next(iter(cameras.values()))
    return {"width": width, "height": height, "hfov_deg": hfov, "camera_height": camera_height}


@registry.register_simulator(name=BUILTIN_SIM_TYPE)
class BuiltinHabitatSim(Simulator):
    """habitat-lab ``Simulator`` over navagent's built-in houses (one agent, kinematic, no physics)."""

    def __init__(self, config: DictConfig) -> None:
        self.habitat_config = config
        agent_config = get_agent_config(config)
        if not config.habitat_sim_v0.allow_sliding:
            raise ValueError(
                "habitat_sim_v0.allow_sliding: the built-in simulator always slides (VLN-CE setting)"
            )
        self._sensor_suite = SensorSuite(
            registry.get_sensor(sensor.type)(sensor) for sensor in agent_config.sim_sensors.values()
        )
        depth = any(isinstance(s, DepthSensor) for s in self._sensor_suite.sensors.values())
        self._engine = BuiltinNavEnv(
            SimConfig(
                **_camera_settings(agent_config),
                depth=depth,
                forward_step=float(config.forward_step_size),
                turn_angle_deg=float(config.turn_angle),
                agent_radius=float(agent_config.radius),
                device_index=int(config.habitat_sim_v0.gpu_device_id),
            )
        )
        self._action_space = spaces.Discrete(len(Action))
        self._rng = np.random.default_rng(int(config.seed))
        self._start: AgentState | None = None
        self._state: AgentState | None = None
        self._collided = False
        self.reconfigure(config)

    # ----------------------------------------------------------------------------------- properties
    @property
    def sensor_suite(self) -> SensorSuite:
        return self._sensor_suite

    @property
    def action_space(self) -> spaces.Discrete:
        return self._action_space

    @property
    def scene(self) -> Scene:
        """The current built-in scene (house, navigation grid, geodesic planner, motion model)."""
        return self._engine.scene

    @property
    def previous_step_collided(self) -> bool:
        return self._collided

    @property
    def up_vector(self) -> np.ndarray:
        return np.array([0.0, 1.0, 0.0])

    @property
    def forward_vector(self) -> np.ndarray:
        return np.array([0.0, 0.0, -1.0])

    # ------------------------------------------------------------------------------------ lifecycle
    def reconfigure(
        self, config: DictConfig, ep_info: Any = None, should_close_on_new_scene: bool = True
    ) -> None:
        """Load ``config.scene`` (cached per scene) and take the agent's start state from the agent config."""
        self.habitat_config = config
        self._engine.set_scene(builtin_scene_id(config.scene))
        agent_config = get_agent_config(config)
        if agent_config.is_set_start_state:
            where = f"episode {ep_info.episode_id}" if ep_info is not None else "agent config"
            self._start = self._checked_state(agent_config.start_position, agent_config.start_rotation, where)
            self._state = self._start

    def reset(self) -> Observations:
        if self._start is None:
            raise RuntimeError("no start state: reconfigure with an agent start_position first")
        self._state, self._collided = self._start, False
        return self._observations()

    def step(self, action: int | None) -> Observations:
        """Apply a navigation action (``None``: observe without moving, as habitat-lab does after STOP)."""
        if action is not None:
            if isinstance(action, bool) or int(action) != action or int(action) not in range(len(Action)):
                raise ValueError(f"invalid action {action!r}: expected one of {[int(a) for a in Action]}")
            self._state, self._collided = self.scene.motion.step(self.agent_state, int(action))
        return self._observations()

    def step_physics(self, dt: float) -> None:
        """Nothing to integrate: motion is kinematic."""

    def seed(self, seed: int) -> None:
        self._rng = np.random.default_rng(seed)

    def close(self, destroy: bool = True) -> None:
        self._engine.close()

    # ------------------------------------------------------------------------------------- queries
    def geodesic_distance(
        self,
        position_a: Sequence[float] | np.ndarray,
        position_b: Sequence[float] | Sequence[Sequence[float]] | np.ndarray,
        episode: Any = None,
    ) -> float:
        """Shortest navigable path length (m) from ``position_a`` to ``position_b`` or, given a list of
        points, to the nearest of them; ``inf`` when unreachable or off the navigable area."""
        ends = np.asarray(position_b, dtype=np.float64)
        ends = ends.reshape(1, 3) if ends.shape == (3,) else ends
        if ends.ndim != 2 or ends.shape[1] != 3 or len(ends) == 0:
            raise ValueError(f"position_b: expected a point (3,) or points (N, 3), got shape {ends.shape}")
        start = np.asarray(position_a, dtype=np.float64)
        return min(self.scene.planner.distance_to_goal(start, end) for end in ends)

    @property
    def agent_state(self) -> AgentState:
        if self._state is None:
            raise RuntimeError("no agent yet: reconfigure with a start state and reset first")
        return self._state

    def get_agent_state(self, agent_id: int = 0) -> HabitatAgentState:
        """Position (3,) float64 and rotation as a ``quaternion.quaternion``, like habitat-sim's agent state."""
        self._check_agent(agent_id)
        state = self.agent_state
        return HabitatAgentState(
            position=state.position.copy(), rotation=quaternion_from_coeff(state.rotation)
        )

    def set_agent_state(
        self, position: Sequence[float], rotation: Any, agent_id: int = 0, reset_sensors: bool = True
    ) -> bool:
        self._check_agent(agent_id)
        self._state = self._checked_state(position, rotation, "set_agent_state")
        self._collided = False
        return True

    def get_observations_at(
        self, position: Sequence[float], rotation: Any, keep_agent_at_new_pose: bool = False
    ) -> Observations:
        previous = self._state
        self._state = self._checked_state(position, rotation, "get_observations_at")
        observations = self._observations()
        if not keep_agent_at_new_pose:
            self._state = previous
        return observations

    def sample_navigable_point(self) -> list[float]:
        return [float(v) for v in self.scene.navgrid.sample_navigable_point(self._rng)]

    def is_navigable(self, point: Sequence[float]) -> bool:
        return self.scene.motion.is_free(np.asarray(point, dtype=np.float64))

    def get_straight_shortest_path_points(
        self, position_a: Sequence[float], position_b: Sequence[float]
    ) -> list[list[float]]:
        path = self.scene.planner.shortest_path(np.asarray(position_a, float), np.asarray(position_b, float))
        return [[float(v) for v in point] for point in path]

    def render(self, mode: str = "rgb") -> np.ndarray:
        observations = self._observations()
        if mode not in observations:
            raise ValueError(f"render mode {mode!r}: no such sensor (have {sorted(observations)})")
        return observations[mode]

    # ------------------------------------------------------------------------------------- helpers
    def _observations(self) -> Observations:
        state = self.agent_state
        rgb, depth = self._engine.render(state.position, state.heading)
        raw = {
            uuid: (depth if isinstance(sensor, DepthSensor) else rgb)
            for uuid, sensor in self._sensor_suite.sensors.items()
            if isinstance(sensor, (RGBSensor, DepthSensor))
        }
        return self._sensor_suite.get_observations(raw)

    def _checked_state(self, position: Sequence[float], rotation: Any, where: str) -> AgentState:
        point = np.asarray([float(v) for v in position], dtype=np.float64)
        if isinstance(rotation, numpy_quaternion.quaternion):
            rotation = quaternion_to_list(rotation)
        coefficients = [float(v) for v in rotation]
        if (
            point.shape != (3,)
            or len(coefficients) != 4
            or not all(map(math.isfinite, [*point, *coefficients]))
        ):
            raise ValueError(f"{where}: expected a finite position [x, y, z] and rotation [x, y, z, w]")
        if not self.scene.motion.is_free(point):
            raise ValueError(
                f"{where}: position {point.tolist()} is not on the navigable area of {self.scene.house.scene_id}"
            )
        return AgentState(position=point, heading=quaternion_to_heading(coefficients))

    @staticmethod
    def _check_agent(agent_id: int) -> None:
        if agent_id != 0:
            raise ValueError(f"agent_id {agent_id}: the built-in simulator has one agent (id 0)")
