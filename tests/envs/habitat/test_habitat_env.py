"""habitat-lab's own Env + VLN-v0 task + R2RVLN-v1 loader + measures, run end to end on built-in episodes."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from habitat_rollouts import oracle_policy, random_walk_actions, replay_policy, rollout, scene_of

from navagent.envs.base import Action, NavEnv
from navagent.envs.builtin.sim import BuiltinNavEnv
from navagent.envs.episodes import r2r_episodes_path, save_episodes
from navagent.envs.habitat import (
    BUILTIN_SIM_TYPE,
    R2R_DATASET_TYPE,
    BuiltinHabitatSim,
    HabitatEnvConfig,
    HabitatNavEnv,
    make_habitat_env,
)

SPLIT = "val_seen"


def builtin_config(root, **overrides) -> HabitatEnvConfig:
    return HabitatEnvConfig(episodes_dir=str(root), split=SPLIT, simulator="builtin", **overrides)


@pytest.fixture(scope="module")
def env(builtin_r2r):
    root, _, _ = builtin_r2r
    with make_habitat_env(builtin_config(root, depth=True)) as environment:
        yield environment


def test_habitat_lab_runs_the_vln_task_with_vlnce_settings(env):
    habitat_env = env.habitat_env
    config = habitat_env._config  # the composed config habitat-lab's Env holds
    assert isinstance(env, NavEnv)
    assert type(habitat_env.task).__name__ == "VLNTask"
    assert config.dataset.type == R2R_DATASET_TYPE and type(habitat_env._dataset).__name__ == "VLNDatasetV1"
    assert isinstance(habitat_env.sim, BuiltinHabitatSim) and config.simulator.type == BUILTIN_SIM_TYPE
    assert list(habitat_env.task.measurements.measures) == ["distance_to_goal", "success", "spl"]
    assert config.task.measurements.success.success_distance == 3.0  # not habitat-lab's 0.2
    assert config.environment.max_episode_steps == 500
    assert (config.simulator.forward_step_size, config.simulator.turn_angle) == (0.25, 15)
    assert config.simulator.habitat_sim_v0.allow_sliding
    agent = config.simulator.agents.main_agent
    assert (agent.radius, agent.height) == (0.1, 1.5)
    rgb = agent.sim_sensors.rgb_sensor
    assert (rgb.width, rgb.height, rgb.hfov, list(rgb.position)) == (224, 224, 90, [0.0, 1.25, 0.0])


def test_oracle_succeeds_on_every_builtin_episode_through_habitat_lab(env, builtin_r2r):
    _, episodes, truth = builtin_r2r
    for episode in episodes:
        record = rollout(env, episode, oracle_policy(scene_of(episode), episode))
        metrics = env.habitat_metrics()
        assert record.stopped and env.done
        assert metrics["success"] == 1.0, episode.episode_id
        assert metrics["distance_to_goal"] < 0.5
        assert 0.5 < metrics["spl"] <= 1.0
        # habitat's motion is the built-in motion: the oracle repeats the ground-truth actions exactly
        assert record.actions == list(truth[episode.episode_id].actions)


def test_observations_and_poses_match_the_builtin_simulator(env, builtin_r2r):
    _, episodes, _ = builtin_r2r
    episode = episodes[1]
    actions = random_walk_actions(seed=3, length=25)
    builtin = BuiltinNavEnv(depth=True)
    try:
        first_habitat, first_builtin = env.reset(episode), builtin.reset(episode)
        assert first_habitat.rgb.shape == (224, 224, 3) and first_habitat.rgb.dtype == np.uint8
        assert first_habitat.depth.shape == (224, 224) and first_habitat.depth.dtype == np.float32
        np.testing.assert_array_equal(first_habitat.rgb, first_builtin.rgb)
        np.testing.assert_allclose(first_habitat.depth, np.clip(first_builtin.depth, 0.0, 10.0))
        assert first_habitat.instruction == episode.instruction_text and first_habitat.step == 0
        for action in actions:
            ours, theirs = env.step(action), builtin.step(action)
            np.testing.assert_array_equal(ours.position, theirs.position)
            assert ours.heading == pytest.approx(theirs.heading, abs=1e-9)
            assert (ours.collided, ours.done, ours.step) == (theirs.collided, theirs.done, theirs.step)
        assert env.distance_to_goal() == builtin.distance_to_goal()
        assert env.geodesic_distance(first_habitat.position, episode.goals[0].position) == pytest.approx(
            builtin.geodesic_distance(first_builtin.position, np.asarray(episode.goals[0].position))
        )
    finally:
        builtin.close()


def test_episode_ends_on_stop_and_after_max_steps(builtin_r2r):
    root, episodes, _ = builtin_r2r
    with make_habitat_env(builtin_config(root, max_steps=4)) as short:
        record = rollout(short, episodes[0], replay_policy([int(Action.TURN_LEFT)] * 10))
        assert record.steps == 4 and not record.stopped and short.done
        assert short.habitat_metrics()["success"] == 0.0
        with pytest.raises(RuntimeError, match="is over"):
            short.step(Action.TURN_LEFT)
        short.reset(episodes[0])
        assert short.step(Action.STOP).done and short.steps == 1
        short.reset(episodes[0])
        with pytest.raises(ValueError, match="invalid action"):
            short.step(7)


def test_reset_rejects_episodes_habitat_did_not_load(env, builtin_r2r):
    _, episodes, _ = builtin_r2r
    with pytest.raises(ValueError, match="'999' is not in the habitat dataset"):
        env.reset(dataclasses.replace(episodes[0], episode_id="999"))
    moved = dataclasses.replace(episodes[0], start_position=(0.0, 0.0, 0.0))
    with pytest.raises(ValueError, match="start_position"):
        env.reset(moved)


def test_bad_scene_or_start_in_the_file_is_reported(tmp_path, builtin_r2r):
    _, episodes, _ = builtin_r2r
    off_grid = dataclasses.replace(episodes[0], start_position=(-40.0, 0.0, -40.0))
    path = r2r_episodes_path(tmp_path, SPLIT)
    path.parent.mkdir(parents=True)
    save_episodes(path, [off_grid])
    not_navigable = f"episode {off_grid.episode_id}: position .* not on the navigable area"
    with HabitatNavEnv(builtin_config(tmp_path)) as env, pytest.raises(ValueError, match=not_navigable):
        env.reset(off_grid)
    save_episodes(path, [dataclasses.replace(episodes[0], scene_id="mp3d/abc/abc.glb")])
    with pytest.raises(ValueError, match="not a built-in scene"):
        HabitatNavEnv(builtin_config(tmp_path))


def test_config_validation_names_the_argument(tmp_path):
    with pytest.raises(ValueError, match="rgb_size"):
        HabitatEnvConfig(episodes_dir=str(tmp_path), rgb_size=256)
    with pytest.raises(ValueError, match="simulator"):
        HabitatEnvConfig(episodes_dir=str(tmp_path), simulator="isaac")
    with pytest.raises(TypeError, match="languages"):
        HabitatEnvConfig(episodes_dir=str(tmp_path), languages="en-US")
    with pytest.raises(FileNotFoundError, match="no R2R-CE file"):
        HabitatEnvConfig(episodes_dir=str(tmp_path), split="val_unseen").episode_paths()


def test_gpu_device_follows_the_local_rank_unless_given(monkeypatch, tmp_path):
    monkeypatch.setenv("LOCAL_RANK", "3")
    assert HabitatEnvConfig(episodes_dir=str(tmp_path)).resolved_gpu_device_id() == 3
    assert HabitatEnvConfig(episodes_dir=str(tmp_path), gpu_device_id=1).resolved_gpu_device_id() == 1
    monkeypatch.delenv("LOCAL_RANK")
    assert HabitatEnvConfig(episodes_dir=str(tmp_path)).resolved_gpu_device_id() == 0
