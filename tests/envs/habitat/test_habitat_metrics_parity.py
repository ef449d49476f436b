"""habitat-lab's Success / SPL / DistanceToGoal measures equal navagent's metrics on the same trajectories."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from habitat_rollouts import Rollout, oracle_policy, random_walk_actions, replay_policy, rollout, scene_of

from navagent.envs.base import Goal
from navagent.envs.builtin.sim import BuiltinNavEnv
from navagent.envs.episodes import r2r_episodes_path, save_episodes
from navagent.envs.habitat import HabitatEnvConfig, HabitatNavEnv, make_habitat_env
from navagent.eval.vln_metrics import EpisodeMetrics, aggregate, episode_metrics

SPLIT = "val_seen"


def make_policy(kind: str, episode, seed: int):
    if kind == "random_walk":
        return replay_policy(random_walk_actions(seed=seed, length=40))
    # early_stop: a success with a lower SPL than the oracle's; short_stop: stops 3-4 m out, a failure
    stop_distance = {"oracle": 0.2, "early_stop": 2.5, "short_stop": 4.0}[kind]
    return oracle_policy(scene_of(episode), episode, stop_distance=stop_distance)


def ours(env, record: Rollout, reference: np.ndarray) -> EpisodeMetrics:
    """navagent's metrics from the recorded positions and the environment's geodesic distances."""
    positions = record.position_array()
    distances = np.array([env.distance_to_goal(p) for p in positions])
    return episode_metrics(
        positions=positions,
        distances_to_goal=distances,
        stopped=record.stopped,
        d0=float(distances[0]),
        reference_locations=reference,
        steps=record.steps,
    )


def assert_parity(habitat: dict[str, float], metrics: EpisodeMetrics) -> None:
    assert habitat["success"] == float(metrics.success)
    assert habitat["spl"] == pytest.approx(metrics.spl, rel=1e-12, abs=1e-12)
    assert habitat["distance_to_goal"] == pytest.approx(metrics.ne, rel=1e-12, abs=1e-12)


@pytest.fixture(scope="module")
def env(builtin_r2r):
    root, _, _ = builtin_r2r
    with make_habitat_env(
        HabitatEnvConfig(episodes_dir=str(root), split=SPLIT, simulator="builtin")
    ) as environment:
        yield environment


@pytest.mark.parametrize(
    ("kind", "expect_success"),
    [("oracle", True), ("early_stop", True), ("short_stop", False), ("random_walk", False)],
)
def test_measures_equal_ours_on_the_same_trajectory(env, builtin_r2r, kind, expect_success):
    _, episodes, truth = builtin_r2r
    results = []
    for index, episode in enumerate(episodes):
        record = rollout(env, episode, make_policy(kind, episode, seed=index))
        metrics = ours(env, record, np.asarray(truth[episode.episode_id].locations))
        assert_parity(env.habitat_metrics(), metrics)
        results.append(metrics)
        if kind != "random_walk":
            assert metrics.success is expect_success
    assert aggregate(results)["nonfinite_ne"] == 0


def test_timeout_next_to_the_goal_is_a_failure_in_both(builtin_r2r):
    root, episodes, truth = builtin_r2r
    episode = episodes[0]
    oracle_actions = list(truth[episode.episode_id].actions)
    config = HabitatEnvConfig(
        episodes_dir=str(root), split=SPLIT, simulator="builtin", max_steps=len(oracle_actions) - 1
    )
    with make_habitat_env(config) as env:
        record = rollout(env, episode, replay_policy(oracle_actions))  # ends one step before its STOP
        metrics = ours(env, record, np.asarray(truth[episode.episode_id].locations))
        assert not record.stopped and metrics.ne < 3.0 and metrics.oracle_success
        assert_parity(env.habitat_metrics(), metrics)
        assert metrics.success is False and metrics.spl == 0.0


def test_ours_scored_on_the_builtin_simulator_equal_habitats_measures(env, builtin_r2r):
    """The same action sequence scored by navagent on BuiltinNavEnv gives habitat-lab's numbers."""
    _, episodes, truth = builtin_r2r
    builtin = BuiltinNavEnv(render=False)
    for episode in episodes:
        record = rollout(env, episode, oracle_policy(scene_of(episode), episode, stop_distance=1.5))
        replayed = rollout(builtin, episode, replay_policy(record.actions))
        np.testing.assert_array_equal(replayed.position_array(), record.position_array())
        assert_parity(
            env.habitat_metrics(), ours(builtin, replayed, np.asarray(truth[episode.episode_id].locations))
        )


def test_unreachable_goal_inf_distance(tmp_path, builtin_r2r):
    """A goal off the navigable area: both report NE = inf and no success; habitat-lab's SPL turns into NaN
    (0 * inf / inf) where navagent's is 0 and the episode is left out of the NE mean."""
    _, episodes, truth = builtin_r2r
    episode = dataclasses.replace(episodes[0], goals=(Goal(position=(-50.0, 0.0, -50.0), radius=3.0),))
    path = r2r_episodes_path(tmp_path, SPLIT)
    path.parent.mkdir(parents=True)
    save_episodes(path, [episode])
    with HabitatNavEnv(HabitatEnvConfig(episodes_dir=str(tmp_path), split=SPLIT, simulator="builtin")) as env:
        record = rollout(env, episode, replay_policy(random_walk_actions(seed=1, length=5)))
        metrics = ours(env, record, np.asarray(truth[episode.episode_id].locations))
        habitat = env.habitat_metrics()
    assert math.isinf(habitat["distance_to_goal"]) and math.isinf(metrics.ne)
    assert habitat["success"] == 0.0 and metrics.success is False
    assert math.isnan(habitat["spl"]) and metrics.spl == 0.0
    summary = aggregate([metrics])
    assert summary["nonfinite_ne"] == 1 and summary["ne"] is None and summary["spl"] == 0.0
