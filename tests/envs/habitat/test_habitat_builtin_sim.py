"""The built-in simulator as a habitat-lab ``Simulator``: registry, config handling, queries."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from habitat.config import read_write
from habitat.core.registry import registry

from navagent.envs.base import Action, heading_to_quaternion
from navagent.envs.habitat import (
    BUILTIN_SIM_TYPE,
    BuiltinHabitatSim,
    HabitatEnvConfig,
    builtin_scene_id,
    habitat_lab_config,
)


def simulator_config(root, scene_id: str, depth: bool = False, **changes):
    config = habitat_lab_config(
        HabitatEnvConfig(episodes_dir=str(root), split="val_seen", simulator="builtin", depth=depth)
    )
    with read_write(config):
        config.habitat.simulator.scene = f"data/scene_datasets/{scene_id}.glb"
        for dotted, value in changes.items():
            node, _, key = dotted.rpartition(".")
            target = config.habitat.simulator
            for part in filter(None, node.split(".")):
                target = target[part]
            target[key] = value
    return config.habitat.simulator


@pytest.fixture(scope="module")
def placed(builtin_r2r):
    """A simulator with the agent at the first episode's start."""
    root, episodes, _ = builtin_r2r
    episode = episodes[0]
    sim = BuiltinHabitatSim(simulator_config(root, episode.scene_id))
    sim.set_agent_state(list(episode.start_position), list(episode.start_rotation))
    yield sim, episode
    sim.close()


def test_registered_under_its_name():
    assert registry.get_simulator(BUILTIN_SIM_TYPE) is BuiltinHabitatSim


def test_scene_ids_are_read_from_habitat_scene_paths():
    assert builtin_scene_id("data/scene_datasets/builtin/house_000012.glb") == "builtin/house_000012"
    assert builtin_scene_id("builtin/house_7000000") == "builtin/house_7000000"
    with pytest.raises(ValueError, match="'mp3d/zsNo4HB9uLZ/zsNo4HB9uLZ.glb' is not a built-in scene"):
        builtin_scene_id("mp3d/zsNo4HB9uLZ/zsNo4HB9uLZ.glb")


def test_agent_state_and_observations(placed):
    sim, episode = placed
    state = sim.get_agent_state()
    np.testing.assert_array_equal(state.position, np.asarray(episode.start_position))
    assert [state.rotation.x, state.rotation.y, state.rotation.z, state.rotation.w] == pytest.approx(
        list(episode.start_rotation)
    )
    start = state.position.copy()
    elsewhere = sim.sample_navigable_point()
    view = sim.get_observations_at(elsewhere, heading_to_quaternion(1.0))
    assert view["rgb"].shape == (224, 224, 3) and "depth" not in view
    np.testing.assert_array_equal(sim.get_agent_state().position, start)  # not kept
    sim.step(Action.MOVE_FORWARD)
    assert not np.array_equal(sim.get_agent_state().position, start) or sim.previous_step_collided
    sim.set_agent_state(list(start), list(episode.start_rotation))
    with pytest.raises(ValueError, match="invalid action 9"):
        sim.step(9)
    with pytest.raises(ValueError, match="not on the navigable area"):
        sim.set_agent_state([-40.0, 0.0, -40.0], [0.0, 0.0, 0.0, 1.0])


def test_geodesic_queries(placed):
    sim, episode = placed
    start, goal = list(episode.start_position), list(episode.goals[0].position)
    far = sim.sample_navigable_point()
    to_goal = sim.geodesic_distance(start, goal)
    assert to_goal == pytest.approx(episode.geodesic_distance, rel=1e-6)
    assert sim.geodesic_distance(start, [far, goal]) == min(to_goal, sim.geodesic_distance(start, far))
    assert math.isinf(sim.geodesic_distance(start, [-40.0, 0.0, -40.0]))
    path = sim.get_straight_shortest_path_points(start, goal)
    assert path[0] == pytest.approx(start) and path[-1] == pytest.approx(goal)
    length = sum(np.linalg.norm(np.subtract(b, a)) for a, b in itertools.pairwise(path))
    assert length == pytest.approx(to_goal, rel=1e-6)
    with pytest.raises(ValueError, match="position_b"):
        sim.geodesic_distance(start, [])


def test_seeded_sampling_is_reproducible(placed):
    sim, _ = placed
    sim.seed(11)
    first = [sim.sample_navigable_point() for _ in range(3)]
    sim.seed(11)
    assert [sim.sample_navigable_point() for _ in range(3)] == first
    assert all(sim.is_navigable(point) for point in first)


def test_config_the_builtin_simulator_cannot_honour_is_rejected(builtin_r2r):
    root, episodes, _ = builtin_r2r
    scene = episodes[0].scene_id
    with pytest.raises(ValueError, match="allow_sliding"):
        BuiltinHabitatSim(simulator_config(root, scene, **{"habitat_sim_v0.allow_sliding": False}))
    with pytest.raises(ValueError, match="one camera"):
        BuiltinHabitatSim(
            simulator_config(
                root, scene, depth=True, **{"agents.main_agent.sim_sensors.depth_sensor.width": 256}
            )
        )
    with pytest.raises(ValueError, match="HabitatSimSemanticSensor"):
        BuiltinHabitatSim(
            simulator_config(
                root, scene, **{"agents.main_agent.sim_sensors.rgb_sensor.type": "HabitatSimSemanticSensor"}
            )
        )
    with pytest.raises(ValueError, match="orientation"):
        BuiltinHabitatSim(
            simulator_config(
                root, scene, **{"agents.main_agent.sim_sensors.rgb_sensor.orientation": [0.3, 0.0, 0.0]}
            )
        )
