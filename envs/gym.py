"""Gymnasium wrappers around the built-in simulator.

``BuiltinVLNEnv`` is registered as ``navagent/BuiltinVLN-v0`` when ``navagent.envs`` is imported::

    import gymnasium, navagent.envs
    env = gymnasium.make("navagent/BuiltinVLN-v0")                       # a small generated episode set
    env = gymnasium.make("navagent/BuiltinVLN-v0", episodes="data/r2r", split="val_unseen", width=384, height=384)
    obs, info = env.reset(seed=0)                                        # the seed picks the episode

Observations are a dict: ``rgb`` (H, W, 3) uint8, ``depth`` (H, W, 1) float32 metres (when enabled),
``position`` (3,) float32, ``heading`` (1,) float32 radians in [-pi, pi], ``instruction`` text.
Reward follows VLN-CE's RL setup: decrease of the geodesic distance to the goal, a slack of -0.01 per
step and +2.5 for a successful STOP. ``terminated`` when STOP is called, ``truncated`` at the step limit.
Several simulators stepped together: ``navagent.envs.vector.VectorNavEnv`` (the one vectorised env API).
"""

from __future__ import annotations

import math
import string
from pathlib import Path
from typing import Any, ClassVar

import gymnasium
import numpy as np
from gymnasium import spaces

from navagent.envs.base import Action, Episode
from navagent.envs.builtin.sim import BuiltinNavEnv, SimConfig

SUCCESS_REWARD = 2.5
SLACK_REWARD = -0.01
INSTRUCTION_CHARSET = string.ascii_letters + string.digits + string.punctuation + " "
MAX_INSTRUCTION_LENGTH = 2048
POSITION_LIMIT = 1e4  # metres; houses span tens of metres
DEPTH_LIMIT = 100.0  # the renderer's far plane
DEFAULT_EPISODES = {"split": "val_seen", "num_scenes": 1, "per_scene": 8, "seed": 0}


def load_episode_set(episodes: str | Path | None, split: str | None) -> list[Episode]:
    """Episodes for the gym env: a ``.json.gz`` file, an R2R-CE data directory + split, or (None) a small
    deterministic set generated on the fly (one val_seen house, 8 episodes)."""
    from navagent.envs.episodes import load_episodes

    if episodes is None:
        from navagent.envs.builtin.episode_gen import generate_split

        kwargs = {**DEFAULT_EPISODES, **({"split": split} if split else {})}
        generated, _ = generate_split(kwargs.pop("split"), progress=False, **kwargs)
        return generated
    path = Path(episodes)
    if path.is_dir():
        if not split:
            raise ValueError(f"episodes={str(path)!r} is a directory: also pass split=")
        path = path / split / f"{split}.json.gz"
    return load_episodes(path)


class BuiltinVLNEnv(gymnasium.Env):
    """One built-in simulator as a ``gymnasium.Env`` (see the module docstring)."""

    metadata: ClassVar[dict] = {"render_modes": ["rgb_array"], "render_fps": 10}

    def __init__(
        self,
        episodes: str | Path | None = None,
        split: str | None = None,
        width: int = 224,
        height: int = 224,
        depth: bool = False,
        hfov_deg: float = 90.0,
        max_steps: int = 500,
        device_index: int | None = None,
        render_mode: str | None = "rgb_array",
    ) -> None:
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode={render_mode!r}: only 'rgb_array' is supported")
        self.render_mode = render_mode
        self.episodes = load_episode_set(episodes, split)
        if not self.episodes:
            raise ValueError(f"no episodes in {episodes!r} (split={split!r})")
        self._index = {ep.episode_id: i for i, ep in enumerate(self.episodes)}
        self.sim = BuiltinNavEnv(
            SimConfig(
                width=width,
                height=height,
                hfov_deg=hfov_deg,
                depth=depth,
                max_steps=max_steps,
                device_index=device_index,
            )
        )
        obs_spaces: dict[str, spaces.Space] = {
            "rgb": spaces.Box(0, 255, (height, width, 3), np.uint8),
            "position": spaces.Box(-POSITION_LIMIT, POSITION_LIMIT, (3,), np.float32),
            "heading": spaces.Box(-math.pi, math.pi, (1,), np.float32),
            "instruction": spaces.Text(MAX_INSTRUCTION_LENGTH, min_length=0, charset=INSTRUCTION_CHARSET),
        }
        if depth:
            obs_spaces["depth"] = spaces.Box(0.0, DEPTH_LIMIT, (height, width, 1), np.float32)
        self.observation_space = spaces.Dict(obs_spaces)
        self.action_space = spaces.Discrete(len(Action))
        self._last_rgb: np.ndarray | None = None
        self._last_distance = math.nan

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict, dict[str, Any]]:
        """``options={"episode_id": ...}`` or ``{"episode_index": i}`` selects an episode; otherwise the
        env's seeded generator picks one, so ``reset(seed=s)`` is deterministic."""
        super().reset(seed=seed)
        options = options or {}
        if "episode_id" in options:
            key = str(options["episode_id"])
            if key not in self._index:
                raise KeyError(f"episode_id {key!r} is not in this env's {len(self.episodes)} episodes")
            index = self._index[key]
        elif "episode_index" in options:
            index = int(options["episode_index"])
            if not 0 <= index < len(self.episodes):
                raise IndexError(f"episode_index {index} out of range [0, {len(self.episodes)})")
        else:
            index = int(self.np_random.integers(len(self.episodes)))
        obs = self.sim.reset(self.episodes[index])
        self._last_distance = self.sim.distance_to_goal()
        return self._to_gym(obs), self._info(obs.collided)

    def step(self, action: int) -> tuple[dict, float, bool, bool, dict[str, Any]]:
        if not self.action_space.contains(int(action)):
            raise ValueError(f"invalid action {action!r}: expected an int in [0, {len(Action)})")
        obs = self.sim.step(int(action))
        distance = self.sim.distance_to_goal()
        terminated = int(action) == Action.STOP
        truncated = obs.done and not terminated
        success = terminated and distance < self.sim.episode.success_distance
        progress = self._last_distance - distance if math.isfinite(distance) else 0.0
        reward = float(progress + SLACK_REWARD + (SUCCESS_REWARD if success else 0.0))
        self._last_distance = distance
        info = self._info(obs.collided)
        if terminated or truncated:
            info["success"] = bool(success)
        return self._to_gym(obs), reward, terminated, truncated, info

    def render(self) -> np.ndarray | None:
        return None if self.render_mode is None else self._last_rgb

    def close(self) -> None:
        self.sim.close()

    def _to_gym(self, obs) -> dict:
        self._last_rgb = obs.rgb
        heading = math.atan2(math.sin(obs.heading), math.cos(obs.heading))
        out = {
            "rgb": obs.rgb,
            "position": np.asarray(obs.position, dtype=np.float32),
            "heading": np.array([heading], dtype=np.float32),
            "instruction": obs.instruction[:MAX_INSTRUCTION_LENGTH],
        }
        if obs.depth is not None:
            out["depth"] = obs.depth[..., None]
        return out

    def _info(self, collided: bool) -> dict[str, Any]:
        return {
            "episode_id": self.sim.episode.episode_id,
            "distance_to_goal": float(self._last_distance),
            "collided": bool(collided),
        }
