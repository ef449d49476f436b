"""Oracle follower: reaches goals along geodesic paths and replays waypoint lists in order."""

import math

import numpy as np
import pytest

from navagent.envs.base import Action, AgentState
from navagent.envs.builtin.follower import ShortestPathFollower
from navagent.envs.builtin.generator import generate_house, scene_id_for_index
from navagent.envs.builtin.geodesic import GeodesicPlanner
from navagent.envs.builtin.motion import MotionModel
from navagent.envs.builtin.navgrid import NavGrid


def _setup(house):
    grid = NavGrid.from_house(house)
    planner = GeodesicPlanner(house, navgrid=grid)
    motion = MotionModel(house)
    return grid, planner, motion, ShortestPathFollower(planner, motion, stop_distance=0.2)


def _replay(motion: MotionModel, start: AgentState, actions: list[int]) -> AgentState:
    state = start
    for action in actions:
        state, _ = motion.step(state, action)
    return state


def _reaches_goals(house, episodes: int, seed: int) -> None:
    grid, planner, motion, follower = _setup(house)
    main = grid.largest_component()
    rng = np.random.default_rng(seed)
    for _ in range(episodes):
        start = AgentState(grid.sample_navigable_point(rng, main), float(rng.uniform(-math.pi, math.pi)))
        goal = grid.sample_navigable_point(rng, main)
        d0 = planner.distance(start.position, goal)
        actions, states = follower.follow(start, goal, max_steps=500)
        assert actions[-1] == Action.STOP and Action.STOP not in actions[:-1]
        assert len(states) == len(actions)
        assert planner.distance(states[-1].position, goal) < 0.2  # NE well under the 0.5 m requirement
        final = _replay(motion, start, actions)  # the actions alone reproduce the walk
        np.testing.assert_array_equal(final.position, states[-1].position)
        forward = actions.count(Action.MOVE_FORWARD)
        assert forward * motion.forward_step <= d0 * 1.3 + 1.0  # close to the shortest path, no wandering


def test_reaches_the_goal_from_random_starts(two_rooms):
    _reaches_goals(two_rooms, episodes=40, seed=0)


@pytest.mark.parametrize("index", [0, 2, 8, 11])
def test_reaches_the_goal_in_generated_houses(index):
    _reaches_goals(generate_house(scene_id_for_index(index)), episodes=15, seed=index)


def test_next_action_turns_toward_the_path_then_moves(open_house):
    *_, follower = _setup(open_house)
    goal = np.array([5.0, 0.0, 2.0])  # straight ahead along -z from (5, 5)
    assert follower.next_action(AgentState(np.array([5.0, 0.0, 5.0]), 0.0), goal) == Action.MOVE_FORWARD
    assert follower.next_action(AgentState(np.array([5.0, 0.0, 5.0]), 0.5), goal) == Action.TURN_RIGHT
    assert follower.next_action(AgentState(np.array([5.0, 0.0, 5.0]), -0.5), goal) == Action.TURN_LEFT
    assert follower.next_action(AgentState(np.array([5.0, 0.0, 2.1]), 0.0), goal) == Action.STOP
    # within half a turn (7.5 degrees) it moves rather than dithering
    assert (
        follower.next_action(AgentState(np.array([5.0, 0.0, 5.0]), math.radians(7)), goal)
        == Action.MOVE_FORWARD
    )


def test_goes_around_the_wall_through_the_doorway(closed_rooms, two_rooms):
    _, planner, _, follower = _setup(two_rooms)
    start, goal = AgentState(np.array([2.0, 0.0, 0.5]), 0.0), np.array([8.0, 0.0, 0.5])
    _, states = follower.follow(start, goal)
    xs = np.array([s.position[0] for s in states])
    crossing = states[int(np.argmax(xs > 5.0))].position
    assert 1.5 < crossing[2] < 2.5  # crossed x = 5 inside the doorway
    assert planner.distance(states[-1].position, goal) < 0.2
    _, _, _, closed = _setup(closed_rooms)
    with pytest.raises(ValueError, match="unreachable"):
        closed.next_action(start, goal)


def test_follows_waypoints_in_order(two_rooms):
    _, planner, _, follower = _setup(two_rooms)
    waypoints = [np.array(p) for p in ([1.0, 0.0, 0.5], [4.0, 0.0, 2.6], [8.0, 0.0, 3.6], [6.0, 0.0, 0.4])]
    start = AgentState(waypoints[0], 0.0)
    actions, states = follower.follow_waypoints(start, waypoints)
    assert actions[-1] == Action.STOP and Action.STOP not in actions[:-1]
    assert planner.distance(states[-1].position, waypoints[-1]) < 0.2
    # each waypoint is passed within the waypoint radius, and in the given order
    passed = []
    for w in waypoints[1:-1]:
        gaps = [planner.distance(s.position, w) for s in states]
        assert min(gaps) < follower.waypoint_radius
        passed.append(int(np.argmin(gaps)))
    assert passed == sorted(passed)
    # the direct walk to the last point is much shorter than the tour
    direct, _ = follower.follow(start, waypoints[-1])
    assert len(direct) < len(actions) / 2


def test_budget_ends_with_a_forced_stop(open_house):
    _, _, _, follower = _setup(open_house)
    actions, states = follower.follow(
        AgentState(np.array([1.0, 0.0, 1.0]), 0.0), np.array([9.0, 0.0, 9.0]), 10
    )
    assert len(actions) == 10 and actions[-1] == Action.STOP and len(states) == 10


def test_bad_waypoints_are_named(two_rooms):
    _, _, _, follower = _setup(two_rooms)
    start = AgentState(np.array([1.0, 0.0, 0.5]), 0.0)
    with pytest.raises(ValueError, match="waypoint 1: goal .* is unreachable"):
        follower.follow_waypoints(start, [np.array([3.0, 0.0, 0.5]), np.array([2.0, 0.0, 1.5])])
    with pytest.raises(ValueError, match="waypoints is empty"):
        follower.follow_waypoints(start, [])
