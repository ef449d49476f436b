"""``HabitatNavEnv``: a habitat-lab ``Env`` (VLN-v0 task, VLN-CE settings) behind navagent's ``NavEnv`` protocol.

``reset(episode)`` looks the episode up by id in the dataset habitat-lab loaded (``R2RVLN-v1`` or
``RxR-VLN-CE-v0``), makes it habitat's current episode and resets; ``step(action)`` is habitat's step with
navagent's action ids (0 STOP, 1 MOVE_FORWARD, 2 TURN_LEFT, 3 TURN_RIGHT = the task's action order).
The episode ends on STOP or after ``max_steps`` actions, as in ``BuiltinNavEnv``.

Metrics: ``distance_to_goal(position)`` and ``geodesic_distance(a, b)`` are the simulator's geodesic
distances (habitat-sim's navmesh, or the built-in planner), which navagent's own metric code
(``navagent.eval.vln_metrics``) scores; ``habitat_metrics()`` returns habitat-lab's measures
(``distance_to_goal``, ``success``, ``spl``) for the same episode, for cross-checking.
"""

from __future__ import annotations

import math
from typing import Any

import habitat
import numpy as np

from navagent.envs.base import AgentState, Episode, Observation, parse_action_id, quaternion_to_heading
from navagent.envs.habitat.config import TASK_ACTIONS, HabitatEnvConfig, habitat_lab_config

_START_TOLERANCE = 1e-4  # metres / quaternion units between the runner's episode and habitat's


class HabitatNavEnv:
    """One habitat-lab environment. Build it in the process that steps it (habitat-sim is not fork-safe)."""

    def __init__(self, config: HabitatEnvConfig) -> None:
        self.config = config
        self.habitat_config = habitat_lab_config(config)
        self._env = habitat.Env(config=self.habitat_config)
        actions = tuple(self._env.task.actions)
        if actions != TASK_ACTIONS:
            self._env.close()
            raise ValueError(
                f"habitat task actions {actions} do not match navagent's action ids {TASK_ACTIONS}"
            )
        self._episodes: dict[str, Any] = {}
        for habitat_episode in self._env.episodes:
            episode_id = str(habitat_episode.episode_id)
            if episode_id in self._episodes:
                self._env.close()
                raise ValueError(
                    f"{self.habitat_config.habitat.dataset.data_path}: duplicate episode id {episode_id!r}"
                )
            self._episodes[episode_id] = habitat_episode
        self._episode: Episode | None = None
        self._steps = 0
        self._done = True

    # -------------------------------------------------------------------------------- protocol
    def reset(self, episode: Episode) -> Observation:
        habitat_episode = self._episodes.get(episode.episode_id)
        if habitat_episode is None:
            raise ValueError(
                f"episode {episode.episode_id!r} is not in the habitat dataset "
                f"{self.habitat_config.habitat.dataset.data_path} (split {self.config.split!r}, "
                f"{len(self._episodes)} episodes after the language filter)"
            )
        self._check_same_episode(episode, habitat_episode)
        self._env.current_episode = habitat_episode
        observations = self._env.reset()
        self._episode, self._steps, self._done = episode, 0, False
        return self._observation(observations, collided=False)

    def step(self, action: int) -> Observation:
        if self._done:
            raise RuntimeError(f"episode {self.episode.episode_id} is over: call reset(episode)")
        action = parse_action_id(action)
        observations = self._env.step(int(action))
        self._steps += 1
        self._done = self._env.episode_over
        return self._observation(observations, collided=self._previous_step_collided())

    def geodesic_distance(self, a: np.ndarray, b: np.ndarray) -> float:
        return float(self._env.sim.geodesic_distance(_point(a), _point(b)))

    def agent_state(self) -> AgentState:
        state = self._env.sim.get_agent_state()
        rotation = state.rotation
        coefficients = [*np.asarray(rotation.imag, dtype=np.float64), float(rotation.real)]
        return AgentState(
            position=np.asarray(state.position, dtype=np.float64), heading=quaternion_to_heading(coefficients)
        )

    def close(self) -> None:
        self._env.close()

    # ------------------------------------------------------------------------------ extras
    def distance_to_goal(self, position: np.ndarray | None = None) -> float:
        """Geodesic distance (m) from ``position`` (default: the agent) to the nearest goal of the episode."""
        point = self.agent_state().position if position is None else np.asarray(position, dtype=np.float64)
        goals = [_point(goal.position) for goal in self.episode.goals]
        return float(self._env.sim.geodesic_distance(_point(point), goals))

    def habitat_metrics(self) -> dict[str, float]:
        """habitat-lab's measures for the current episode (``distance_to_goal``, ``success``, ``spl``)."""
        return {name: float(value) for name, value in self._env.get_metrics().items()}

    @property
    def episode(self) -> Episode:
        if self._episode is None:
            raise RuntimeError("no episode: call reset(episode) first")
        return self._episode

    @property
    def steps(self) -> int:
        return self._steps

    @property
    def done(self) -> bool:
        return self._done

    @property
    def habitat_env(self) -> habitat.Env:
        """The underlying habitat-lab ``Env``."""
        return self._env

    # ----------------------------------------------------------------------------- helpers
    def _observation(self, observations: dict, collided: bool) -> Observation:
        state = self.agent_state()
        depth = observations.get("depth")
        return Observation(
            rgb=np.asarray(observations["rgb"], dtype=np.uint8),
            depth=None if depth is None else np.asarray(depth, dtype=np.float32)[..., 0],
            position=state.position,
            heading=state.heading,
            instruction=self.episode.instruction_text,
            episode_id=self.episode.episode_id,
            step=self._steps,
            done=self._done,
            collided=collided,
        )

    def _previous_step_collided(self) -> bool:
        collided = self._env.sim.previous_step_collided  # a property on habitat-sim's and the built-in sim
        return bool(collided() if callable(collided) else collided)

    def _check_same_episode(self, episode: Episode, habitat_episode: Any) -> None:
        pairs = {
            "start_position": (episode.start_position, habitat_episode.start_position),
            "start_rotation": (episode.start_rotation, habitat_episode.start_rotation),
            "goals[0].position": (episode.goals[0].position, habitat_episode.goals[0].position),
        }
        for field, (ours, theirs) in pairs.items():
            if not np.allclose(np.asarray(ours, float), np.asarray(theirs, float), atol=_START_TOLERANCE):
                raise ValueError(
                    f"episode {episode.episode_id!r}: field {field!r} differs between the episode passed to reset "
                    f"({list(ours)}) and the habitat dataset {self.habitat_config.habitat.dataset.data_path} "
                    f"({list(theirs)}): are they the same split and file?"
                )

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _point(value: Any) -> list[float]:
    point = [float(v) for v in np.asarray(value, dtype=np.float64).reshape(-1)]
    if len(point) != 3 or not all(map(math.isfinite, point)):
        raise ValueError(f"expected a finite point [x, y, z], got {value!r}")
    return point


def make_habitat_env(config: HabitatEnvConfig) -> HabitatNavEnv:
    """The ``NavEnv`` for ``--sim habitat``: call it inside the worker process that will step it."""
    return HabitatNavEnv(config)
