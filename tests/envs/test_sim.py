"""BuiltinNavEnv: the NavEnv protocol over generated houses, with real rendering."""

import math

import numpy as np
import pytest

from navagent.envs.base import Action, Episode, Goal, NavEnv, heading_to_quaternion
from navagent.envs.builtin.generator import scene_id_for_index
from navagent.envs.builtin.sim import BuiltinNavEnv, SimConfig

SCENE = scene_id_for_index(3)


def _episode(env: BuiltinNavEnv, seed: int = 0, **overrides) -> Episode:
    scene = env.load_scene(SCENE)
    rng = np.random.default_rng(seed)
    start, goal = scene.navgrid.sample_navigable_point(rng), scene.navgrid.sample_navigable_point(rng)
    fields = {
        "episode_id": "7",
        "trajectory_id": 7,
        "scene_id": SCENE,
        "start_position": tuple(start),
        "start_rotation": tuple(heading_to_quaternion(0.3)),
        "goals": (Goal(tuple(goal)),),
        "reference_path": (tuple(start), tuple(goal)),
        "instruction_text": "walk to the kitchen",
    }
    fields.update(overrides)
    return Episode(**fields)


@pytest.fixture(scope="module")
def env():
    with BuiltinNavEnv(SimConfig(width=64, height=48, depth=True)) as sim:
        yield sim


def test_protocol_and_observation_shapes(env):
    assert isinstance(env, NavEnv)
    obs = env.reset(_episode(env))
    assert obs.rgb.shape == (48, 64, 3) and obs.rgb.dtype == np.uint8
    assert obs.depth.shape == (48, 64) and obs.depth.dtype == np.float32
    assert obs.instruction == "walk to the kitchen" and obs.episode_id == "7" and obs.step == 0
    assert math.isclose(obs.heading, 0.3, abs_tol=1e-9)


def test_turns_and_stop(env):
    env.reset(_episode(env))
    obs = env.step(Action.TURN_LEFT)
    assert math.isclose(obs.heading, 0.3 + math.radians(15), abs_tol=1e-9)
    obs = env.step(Action.TURN_RIGHT)
    assert math.isclose(obs.heading, 0.3, abs_tol=1e-9)
    obs = env.step(Action.STOP)
    assert obs.done and obs.step == 3
    with pytest.raises(RuntimeError, match="is over"):
        env.step(Action.MOVE_FORWARD)


def test_distance_to_goal_matches_planner(env):
    episode = _episode(env, seed=1)
    env.reset(episode)
    goal = np.asarray(episode.goals[0].position)
    expected = env.geodesic_distance(env.agent_state().position, goal)
    assert math.isclose(env.distance_to_goal(), expected, rel_tol=1e-6)
    assert expected >= np.linalg.norm(goal - env.agent_state().position) - 1e-9


def test_step_limit_ends_the_episode():
    with BuiltinNavEnv(SimConfig(render=False, max_steps=5)) as sim:
        sim.reset(_episode(sim))
        for _ in range(5):
            obs = sim.step(Action.TURN_LEFT)
        assert obs.done and obs.rgb.shape == (224, 224, 3)


@pytest.mark.parametrize("bad", [4, -1, "left", None, 1.5])
def test_invalid_action_is_a_clear_error(env, bad):
    env.reset(_episode(env))
    with pytest.raises(ValueError, match="invalid action"):
        env.step(bad)


def test_start_off_the_navigable_area_names_the_episode(env):
    house = env.load_scene(SCENE).house
    wall = house.walls[0].footprint
    with pytest.raises(ValueError, match=r"episode 7: start_position .* not on the navigable area"):
        env.reset(_episode(env, start_position=(*wall.center[:1], 0.0, wall.center[1])))


def test_unknown_scene_names_the_episode(env):
    with pytest.raises(ValueError, match="episode 7: cannot load scene"):
        env.reset(_episode(env, scene_id="mp3d/zsNo4HB9uLZ/zsNo4HB9uLZ.glb"))
