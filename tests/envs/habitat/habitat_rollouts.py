"""Rollout helpers shared by the habitat tests: drive a ``NavEnv`` with a policy and record what happened."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from navagent.envs.base import Action, AgentState, Episode, NavEnv
from navagent.envs.builtin.follower import ShortestPathFollower
from navagent.envs.builtin.sim import BuiltinNavEnv, Scene

Policy = Callable[[AgentState], int]


@dataclass
class Rollout:
    """positions: (T, 3), the start first, then one per action; actions: the T - 1 actions taken."""

    positions: list[np.ndarray] = field(default_factory=list)
    actions: list[int] = field(default_factory=list)
    stopped: bool = False
    collisions: int = 0

    @property
    def steps(self) -> int:
        return len(self.actions)

    def position_array(self) -> np.ndarray:
        return np.asarray(self.positions, dtype=np.float64)


def rollout(env: NavEnv, episode: Episode, policy: Policy) -> Rollout:
    """Run ``episode`` until the environment says it is done."""
    observation = env.reset(episode)
    record = Rollout(positions=[observation.position.copy()])
    while not observation.done:
        action = int(policy(env.agent_state()))
        observation = env.step(action)
        record.positions.append(observation.position.copy())
        record.actions.append(action)
        record.collisions += int(observation.collided)
    record.stopped = bool(record.actions) and record.actions[-1] == Action.STOP
    return record


_SCENES = BuiltinNavEnv(render=False)  # scene cache for the oracle (same settings as the environments')


def scene_of(episode: Episode) -> Scene:
    """The built-in scene (planner, motion model) of ``episode``, for planning outside the environment."""
    return _SCENES.load_scene(episode.scene_id)


def oracle_policy(scene: Scene, episode: Episode, stop_distance: float = 0.2) -> Policy:
    """navagent's shortest-path follower towards the episode's first goal, stopping within ``stop_distance``."""
    follower = ShortestPathFollower(scene.planner, scene.motion, stop_distance=stop_distance)
    goal = np.asarray(episode.goals[0].position, dtype=np.float64)
    return lambda state: follower.next_action(state, goal)


def replay_policy(actions: list[int]) -> Policy:
    """Plays back a fixed action sequence."""
    remaining = iter(actions)
    return lambda state: next(remaining)


def random_walk_actions(seed: int, length: int) -> list[int]:
    """``length`` random moves and turns, then STOP (seeded)."""
    rng = np.random.default_rng(seed)
    moves = rng.choice(
        [Action.MOVE_FORWARD, Action.TURN_LEFT, Action.TURN_RIGHT], size=length, p=[0.6, 0.2, 0.2]
    )
    return [int(a) for a in moves] + [int(Action.STOP)]


def doubled_habitat_env(config_fields: dict):
    """``make_habitat_env(HabitatEnvConfig(**config_fields))`` in a process of its own (an evaluation worker):
    installs the native test doubles there first when habitat-sim is missing, as the test process's conftest
    does for itself. Takes plain fields, not a ``HabitatEnvConfig``: unpickling one in a spawned worker would
    import ``navagent.envs.habitat`` before the doubles are in place (workers inherit ``sys.path``)."""
    from habitat_native_doubles import install_native_doubles

    install_native_doubles()
    from navagent.envs.habitat import HabitatEnvConfig, make_habitat_env

    return make_habitat_env(HabitatEnvConfig(**config_fields))
