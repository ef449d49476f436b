"""Motion model: VLN-CE actions, heading convention, sliding collisions, never leaving free space."""

import math

import numpy as np
import pytest

from navagent.envs.base import Action, AgentState, heading_to_forward
from navagent.envs.builtin.generator import generate_house, scene_id_for_index
from navagent.envs.builtin.motion import MotionModel
from navagent.envs.builtin.navgrid import NavGrid


def _state(x: float, z: float, heading: float = 0.0) -> AgentState:
    return AgentState(np.array([x, 0.0, z]), heading)


def _inside_an_obstacle(house, x: float, z: float, radius: float) -> bool:
    """Checked straight from the house records, independently of the free-space boxes."""
    return any(
        box.x0 - radius < x < box.x1 + radius and box.z0 - radius < z < box.z1 + radius
        for box in house.obstacle_footprints()
    )


def _random_walk_stays_free(house, start: AgentState, steps: int, seed: int) -> tuple[int, set[int]]:
    """Random actions (mostly forward) from ``start``; checks every pose against the house records and the
    grid. Returns (number of collisions, indices of the rooms visited)."""
    motion = MotionModel(house)
    grid = NavGrid.from_house(house)
    rng = np.random.default_rng(seed)
    state = start
    start_component = grid.component_id(start.position[0], start.position[2])
    collisions, rooms_visited = 0, set()
    for action in rng.choice([1, 2, 3], size=steps, p=[0.7, 0.15, 0.15]):
        state, collided = motion.step(state, int(action))
        collisions += collided
        x, z = state.position[0], state.position[2]
        assert not _inside_an_obstacle(house, x, z, radius=0.1)
        assert house.room_at(x, z) is not None
        assert grid.is_navigable(x, z) and grid.component_id(x, z) == start_component
        assert state.position[1] == start.position[1]
        rooms_visited.add(house.room_at(x, z).index)
    return collisions, rooms_visited


def test_ten_thousand_random_actions_never_leave_free_space(two_rooms):
    collisions, rooms = _random_walk_stays_free(two_rooms, _state(1.0, 0.5, heading=0.4), 10_000, seed=0)
    assert collisions > 500 and rooms == {0, 1}  # the walk really pressed against things and crossed the door


@pytest.mark.parametrize("index", [0, 8])
def test_random_actions_in_generated_houses_never_leave_free_space(index):
    house = generate_house(scene_id_for_index(index))
    grid = NavGrid.from_house(house)
    start = grid.sample_navigable_point(np.random.default_rng(index), component=grid.largest_component())
    collisions, rooms = _random_walk_stays_free(house, AgentState(start, 0.0), 5_000, seed=index)
    assert collisions > 200 and len(rooms) >= 2


def test_forward_and_turns_follow_the_heading_convention(open_house):
    motion = MotionModel(open_house)
    state, collided = motion.step(_state(5.0, 5.0, heading=0.0), Action.MOVE_FORWARD)
    assert not collided
    np.testing.assert_allclose(state.position, [5.0, 0.0, 4.75], atol=1e-12)  # heading 0 looks along -z
    state, _ = motion.step(state, Action.TURN_LEFT)
    assert state.heading == pytest.approx(math.radians(15))
    moved, _ = motion.step(state, Action.MOVE_FORWARD)
    np.testing.assert_allclose(
        moved.position - state.position, 0.25 * heading_to_forward(state.heading), atol=1e-12
    )
    assert moved.position[0] < state.position[0]  # turning left from -z swings toward -x
    for _ in range(24):
        state, _ = motion.step(state, Action.TURN_RIGHT)
    assert state.heading == pytest.approx(math.radians(15), abs=1e-9)
    stopped, collided = motion.step(state, Action.STOP)
    np.testing.assert_array_equal(stopped.position, state.position)
    assert stopped.heading == state.heading and not collided


def test_step_sizes_are_configurable(open_house):
    motion = MotionModel(open_house, forward_step=0.5, turn_angle_deg=30.0)
    state, _ = motion.step(_state(5.0, 5.0, heading=3.0), Action.TURN_LEFT)
    assert state.heading == pytest.approx(3.0 + math.radians(30) - 2 * math.pi)  # wrapped into [-pi, pi]
    state, _ = motion.step(_state(5.0, 5.0, heading=-math.pi / 2), Action.MOVE_FORWARD)
    np.testing.assert_allclose(state.position, [5.5, 0.0, 5.0], atol=1e-12)


def test_head_on_wall_stops_at_contact(open_house):
    motion = MotionModel(open_house)
    state, collided = motion.step(_state(3.0, 0.3, heading=0.0), Action.MOVE_FORWARD)
    # wall face at z = 0.05, inflated by the 0.1 radius
    assert collided and state.position[2] == pytest.approx(0.15, abs=1e-5) and state.position[0] == 3.0
    again, collided = motion.step(state, Action.MOVE_FORWARD)
    assert collided and np.allclose(again.position, state.position, atol=1e-5)


def test_sliding_along_a_wall_keeps_the_parallel_component(open_house):
    motion = MotionModel(open_house)
    heading = math.radians(30)  # forward = (-0.5, -0.866): into the z = 0.15 face, sliding toward -x
    state = _state(3.0, 0.16, heading)
    for step in range(1, 9):
        state, collided = motion.step(state, Action.MOVE_FORWARD)
        assert collided
        assert state.position[0] == pytest.approx(3.0 - 0.125 * step, abs=1e-5)
        assert 0.15 <= state.position[2] < 0.15 + 1e-5


def test_sliding_stops_in_a_concave_corner(open_house):
    motion = MotionModel(open_house)
    state = _state(0.3, 0.3, heading=math.radians(45))  # toward the (0.15, 0.15) inner corner
    for _ in range(4):
        state, collided = motion.step(state, Action.MOVE_FORWARD)
    assert collided
    np.testing.assert_allclose(state.position[[0, 2]], [0.15, 0.15], atol=1e-5)
    assert motion.is_free(state.position)


def test_sliding_around_furniture_and_through_the_doorway(two_rooms):
    motion = MotionModel(two_rooms)
    # walk along +x toward the door jamb's inflated face (x = 4.85) just below the opening
    state = _state(4.0, 1.55, heading=math.radians(-100))  # mostly +x, a little +z
    collisions = 0
    for _ in range(12):
        state, collided = motion.step(state, Action.MOVE_FORWARD)
        collisions += collided
    assert (
        collisions >= 1 and state.position[0] > 5.15
    )  # slid up the jamb's face into the opening and through it


@pytest.mark.parametrize("bad", [4, -1, "left", None, 1.5, True])
def test_invalid_action_is_named(open_house, bad):
    with pytest.raises(ValueError, match=rf"invalid action {bad!r}"):
        MotionModel(open_house).step(_state(5.0, 5.0), bad)


def test_start_off_the_free_space_is_an_error(two_rooms):
    motion = MotionModel(two_rooms)
    assert not motion.is_free(np.array([2.0, 0.0, 1.5]))
    with pytest.raises(ValueError, match=r"state.position \[2.0, 0.0, 1.5\] is not on the free space"):
        motion.step(_state(2.0, 1.5), Action.TURN_LEFT)
    with pytest.raises(ValueError, match="forward_step"):
        MotionModel(two_rooms, forward_step=0.0)
