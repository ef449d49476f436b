"""VectorNavEnv: subprocess simulators behave exactly like one in-process simulator; failures are reported
per environment (a bad scene does not take the worker down); a dead worker is an error, not a hang."""

from __future__ import annotations

import dataclasses
import functools
import math
import os

import numpy as np
import pytest

from navagent.envs.base import Action, Episode
from navagent.envs.builtin.episode_gen import generate_split
from navagent.envs.builtin.sim import BuiltinNavEnv, SimConfig
from navagent.envs.vector import EnvCommandError, EnvWorkerDiedError, VectorNavEnv

CONFIG = SimConfig(width=32, height=32, max_steps=50)
ACTIONS = [Action.MOVE_FORWARD] * 4 + [Action.TURN_LEFT] * 3 + [Action.MOVE_FORWARD] * 5 + [Action.TURN_RIGHT]


@pytest.fixture(scope="module")
def episodes() -> list[Episode]:
    generated, _ = generate_split("val_seen", num_scenes=1, per_scene=2, seed=3, progress=False)
    return generated


def _reference_rollout(episode: Episode) -> list[tuple[np.ndarray, float, np.ndarray]]:
    """(position, distance to goal, rgb) after reset and after each of ACTIONS, in this process."""
    with BuiltinNavEnv(CONFIG) as env:
        states = [env.reset(episode)]
        states += [env.step(int(a)) for a in ACTIONS]
        distances = [env.distance_to_goal(o.position) for o in states]
    return [(o.position, d, o.rgb) for o, d in zip(states, distances)]


def test_worker_processes_match_an_in_process_simulator(episodes):
    expected = [_reference_rollout(e) for e in episodes]
    with VectorNavEnv(2, functools.partial(BuiltinNavEnv, CONFIG)) as envs:
        assert not envs.in_process
        resets = envs.reset_many({0: episodes[0], 1: episodes[1]})
        got = [[resets[0]], [resets[1]]]
        for action in ACTIONS:
            replies = envs.step({0: int(action), 1: int(action)})
            got[0].append(replies[0])
            got[1].append(replies[1])
    for env_index in (0, 1):
        for step, (position, distance, rgb) in zip(got[env_index], expected[env_index]):
            np.testing.assert_array_equal(step.position, position)
            assert step.distance_to_goal == distance and math.isfinite(distance)
            np.testing.assert_array_equal(step.observation.rgb, rgb)
        assert got[env_index][-1].observation.step == len(ACTIONS)


def test_step_moves_only_the_addressed_environments(episodes):
    with VectorNavEnv(2, functools.partial(BuiltinNavEnv, CONFIG), in_process=True) as envs:
        start = envs.reset_many({0: episodes[0], 1: episodes[0]})
        replies = envs.step({1: int(Action.MOVE_FORWARD)})
        assert set(replies) == {1}
        assert replies[1].observation.step == 1
        still = envs.step({0: int(Action.STOP)})[0]
        np.testing.assert_array_equal(still.position, start[0].position)
        assert still.done


def test_bad_scene_is_reported_and_the_worker_stays_usable(episodes):
    broken = dataclasses.replace(episodes[0], episode_id="bad-1", scene_id="mp3d/missing/missing.glb")
    with VectorNavEnv(2, functools.partial(BuiltinNavEnv, CONFIG)) as envs:
        outcomes = envs.reset_many({0: broken, 1: episodes[1]})
        assert isinstance(outcomes[0], EnvCommandError)
        assert outcomes[0].error_type == "ValueError" and "bad-1" in str(outcomes[0])
        assert "cannot load scene" in outcomes[0].message
        assert not isinstance(outcomes[1], EnvCommandError)
        with pytest.raises(EnvCommandError, match="bad-1"):
            envs.reset(0, broken)
        assert envs.reset(0, episodes[0]).observation.episode_id == episodes[0].episode_id
        with pytest.raises(EnvCommandError, match="invalid action 7"):
            envs.step({0: 7})


def test_in_process_default_for_one_env_and_argument_checks(episodes):
    with VectorNavEnv(1, functools.partial(BuiltinNavEnv, CONFIG)) as envs:
        assert envs.in_process
        with pytest.raises(IndexError, match="env index 1"):
            envs.step({1: 0})
        with pytest.raises(EnvCommandError, match="step before reset"):
            envs.step({0: 1})
    with pytest.raises(ValueError, match="num_envs"):
        VectorNavEnv(0)


class ExitOnStepEnv(BuiltinNavEnv):
    """A simulator whose process dies on the first step (stands in for a crashed renderer)."""

    def step(self, action: int):
        os._exit(3)


def test_dead_worker_raises_instead_of_hanging(episodes):
    with VectorNavEnv(1, functools.partial(ExitOnStepEnv, CONFIG), in_process=False) as envs:
        envs.reset(0, episodes[0])
        with pytest.raises(EnvWorkerDiedError, match="exit code 3"):
            envs.step({0: int(Action.MOVE_FORWARD)})
