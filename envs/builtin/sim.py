"""``BuiltinNavEnv``: the built-in continuous VLN simulator behind the ``NavEnv`` protocol.

It ties together a procedural house (``generator``), its navigation grid and geodesic planner, the sliding
motion model and the moderngl renderer. Scenes are cached per process, so consecutive episodes in the same
house reuse the uploaded meshes and the planner's corner graph.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from navagent.envs.base import Action, AgentState, Episode, Observation, parse_action_id
from navagent.envs.builtin.generator import generate_house
from navagent.envs.builtin.geodesic import GeodesicPlanner
from navagent.envs.builtin.house import House
from navagent.envs.builtin.motion import MotionModel
from navagent.envs.builtin.navgrid import NavGrid


@dataclass(frozen=True)
class SimConfig:
    """Settings of the built-in simulator; the defaults are VLN-CE's R2R settings."""

    width: int = 224
    height: int = 224
    hfov_deg: float = 90.0
    camera_height: float = 1.25
    depth: bool = False
    forward_step: float = 0.25
    turn_angle_deg: float = 15.0
    agent_radius: float = 0.1
    max_steps: int = 500
    device_index: int | None = None
    render: bool = True  # False skips rendering (rgb is then a black frame): for data-free rollouts


@dataclass
class Scene:
    """Everything the simulator keeps for one house."""

    house: House
    navgrid: NavGrid
    planner: GeodesicPlanner
    motion: MotionModel


class BuiltinNavEnv:
    """The built-in simulator. ``reset(episode)`` places the agent at the episode's start pose;
    ``step(action)`` moves it with VLN-CE's discrete actions and returns the new observation."""

    def __init__(self, config: SimConfig | None = None, max_cached_scenes: int = 4, **overrides) -> None:
        base = config or SimConfig()
        self.config = SimConfig(**{**base.__dict__, **overrides}) if overrides else base
        self._scenes: OrderedDict[str, Scene] = OrderedDict()
        self._max_cached_scenes = max_cached_scenes
        self._renderer = None
        self._rendered_scene: str | None = None
        self._scene: Scene | None = None
        self._episode: Episode | None = None
        self._state: AgentState | None = None
        self._steps = 0
        self._done = True

    # ------------------------------------------------------------------ scenes
    def load_scene(self, scene_id: str) -> Scene:
        """Build (or fetch from the cache) the house and navigation structures of ``scene_id``."""
        scene = self._scenes.get(scene_id)
        if scene is None:
            house = generate_house(scene_id)
            cfg = self.config
            navgrid = NavGrid.from_house(house, agent_radius=cfg.agent_radius)
            scene = Scene(
                house=house,
                navgrid=navgrid,
                planner=GeodesicPlanner(house, agent_radius=cfg.agent_radius, navgrid=navgrid),
                motion=MotionModel(
                    house,
                    forward_step=cfg.forward_step,
                    turn_angle_deg=cfg.turn_angle_deg,
                    agent_radius=cfg.agent_radius,
                ),
            )
            self._scenes[scene_id] = scene
            while len(self._scenes) > self._max_cached_scenes:
                self._scenes.popitem(last=False)
        self._scenes.move_to_end(scene_id)
        return scene

    def set_scene(self, scene_id: str) -> Scene:
        """Make ``scene_id`` the current scene without starting an episode (for rendering arbitrary poses)."""
        self._scene = self.load_scene(scene_id)
        return self._scene

    @property
    def scene(self) -> Scene:
        if self._scene is None:
            raise RuntimeError("no scene loaded: call reset(episode) first")
        return self._scene

    @property
    def episode(self) -> Episode:
        if self._episode is None:
            raise RuntimeError("no episode: call reset(episode) first")
        return self._episode

    # --------------------------------------------------------------- protocol
    def reset(self, episode: Episode) -> Observation:
        try:
            scene = self.load_scene(episode.scene_id)
        except ValueError as err:
            raise ValueError(f"episode {episode.episode_id}: cannot load scene: {err}") from err
        start = np.asarray(episode.start_position, dtype=np.float64)
        if not scene.motion.is_free(start):
            raise ValueError(
                f"episode {episode.episode_id}: start_position {list(episode.start_position)} is not on the "
                f"navigable area of scene {episode.scene_id}"
            )
        self._scene, self._episode = scene, episode
        self._state = AgentState(position=start, heading=episode.start_heading)
        self._steps, self._done = 0, False
        return self._observe(collided=False)

    def step(self, action: int) -> Observation:
        if self._done:
            raise RuntimeError(f"episode {self.episode.episode_id} is over: call reset(episode)")
        action = parse_action_id(action)
        collided = False
        if action != Action.STOP:
            self._state, collided = self.scene.motion.step(self._state, int(action))
        self._steps += 1
        self._done = action == Action.STOP or self._steps >= self.config.max_steps
        return self._observe(collided=collided)

    def geodesic_distance(self, a: np.ndarray, b: np.ndarray) -> float:
        return self.scene.planner.distance(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64))

    def distance_to_goal(self, position: np.ndarray | None = None) -> float:
        """Geodesic distance (m) from ``position`` (default: the agent) to the nearest goal of the episode."""
        point = self.agent_state().position if position is None else np.asarray(position, dtype=np.float64)
        return min(
            self.scene.planner.distance_to_goal(point, np.asarray(goal.position, dtype=np.float64))
            for goal in self.episode.goals
        )

    def agent_state(self) -> AgentState:
        if self._state is None:
            raise RuntimeError("no agent yet: call reset(episode) first")
        return self._state

    @property
    def steps(self) -> int:
        return self._steps

    @property
    def done(self) -> bool:
        return self._done

    def close(self) -> None:
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None
            self._rendered_scene = None

    # ---------------------------------------------------------------- helpers
    def render(self, position: np.ndarray, heading: float) -> tuple[np.ndarray, np.ndarray | None]:
        """Render the current scene from any pose: rgb (H, W, 3) uint8, depth (H, W) float32 or None."""
        cfg = self.config
        if not cfg.render:
            depth = np.zeros((cfg.height, cfg.width), np.float32) if cfg.depth else None
            return np.zeros((cfg.height, cfg.width, 3), np.uint8), depth
        if self._renderer is None:
            from navagent.envs.builtin.renderer import HouseRenderer

            self._renderer = HouseRenderer(
                width=cfg.width,
                height=cfg.height,
                hfov_deg=cfg.hfov_deg,
                camera_height=cfg.camera_height,
                depth=cfg.depth,
                device_index=cfg.device_index,
            )
        if self._rendered_scene != self.scene.house.scene_id:
            self._renderer.set_house(self.scene.house)
            self._rendered_scene = self.scene.house.scene_id
        return self._renderer.render(position, heading)

    def _observe(self, collided: bool) -> Observation:
        state = self.agent_state()
        rgb, depth = self.render(state.position, state.heading)
        return Observation(
            rgb=rgb,
            depth=depth,
            position=state.position.copy(),
            heading=float(state.heading),
            instruction=self.episode.instruction_text,
            episode_id=self.episode.episode_id,
            step=self._steps,
            done=self._done,
            collided=collided,
        )

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()
