"""Geodesic planner: exact in open space, never shorter than Euclidean, through doorways, inf when cut off."""

import itertools
import math

import numpy as np
import pytest
import skfmm

from navagent.envs.builtin.generator import generate_house, scene_id_for_index
from navagent.envs.builtin.geodesic import GeodesicPlanner
from navagent.envs.builtin.navgrid import NavGrid


def _pairs(grid: NavGrid, count: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    return [(grid.sample_navigable_point(rng), grid.sample_navigable_point(rng)) for _ in range(count)]


def _path_length(path: list[np.ndarray]) -> float:
    return float(sum(np.linalg.norm(b - a) for a, b in itertools.pairwise(path)))


def test_open_room_distance_is_euclidean(open_house):
    grid = NavGrid.from_house(open_house)
    planner = GeodesicPlanner(open_house, navgrid=grid)
    for a, b in _pairs(grid, 300, seed=0):
        assert planner.distance(a, b) == pytest.approx(np.linalg.norm(a - b), rel=1e-12, abs=1e-12)
        assert len(planner.shortest_path(a, b)) == 2


def test_geodesic_is_never_shorter_than_euclidean_and_equal_when_the_line_is_free(two_rooms):
    grid = NavGrid.from_house(two_rooms)
    planner = GeodesicPlanner(two_rooms, navgrid=grid)
    detours = 0
    for a, b in _pairs(grid, 1000, seed=1):
        d, euclid = planner.distance(a, b), float(np.linalg.norm(a - b))
        assert math.isfinite(d) and d >= euclid - 1e-12  # up to rounding of the last bit
        if grid.free_space.segment_clear(a[[0, 2]], b[[0, 2]]):
            assert d == pytest.approx(euclid, rel=1e-12, abs=1e-12)
        else:
            detours += 1
            assert d > euclid
        assert planner.distance(b, a) == pytest.approx(d, abs=1e-9)
    assert detours > 100  # the sample really exercises paths around walls and furniture


def test_shortest_path_is_free_and_as_long_as_the_distance(two_rooms):
    grid = NavGrid.from_house(two_rooms)
    planner = GeodesicPlanner(two_rooms, navgrid=grid)
    for a, b in _pairs(grid, 200, seed=2):
        path = planner.shortest_path(a, b)
        np.testing.assert_array_equal(path[0], a)
        np.testing.assert_array_equal(path[-1], b)
        for p, q in itertools.pairwise(path):
            assert grid.free_space.segment_clear(p[[0, 2]], q[[0, 2]])
        assert _path_length(path) == pytest.approx(planner.distance(a, b), rel=1e-9)


def test_path_around_the_wall_goes_through_the_doorway(bare_rooms):
    planner = GeodesicPlanner(bare_rooms)
    a, b = np.array([2.0, 0.0, 0.5]), np.array([8.0, 0.0, 0.5])
    # inflated door jambs end at z = 1.6, their faces at x = 4.85 and 5.15
    expected = 2 * math.hypot(4.85 - 2.0, 1.6 - 0.5) + 0.3
    assert planner.distance(a, b) == pytest.approx(expected, abs=5e-3)
    assert planner.distance(a, b) >= expected
    inner = planner.shortest_path(a, b)[1:-1]
    assert len(inner) == 2
    for corner, x in zip(inner, (4.85, 5.15)):
        assert corner[[0, 2]] == pytest.approx([x, 1.6], abs=2e-3)


def test_gapped_rooms_connect_through_the_doorway_passage(gapped_rooms):
    planner = GeodesicPlanner(gapped_rooms)
    d = planner.distance(np.array([2.0, 0.0, 2.0]), np.array([8.0, 0.0, 2.0]))
    assert d == pytest.approx(6.0, abs=1e-9)  # straight through the 1 m doorway


def test_unreachable_and_off_navigable_points_are_inf(closed_rooms, two_rooms):
    planner = GeodesicPlanner(closed_rooms)
    left, right = np.array([2.0, 0.0, 0.5]), np.array([8.0, 0.0, 0.5])
    assert planner.distance(left, right) == math.inf and planner.shortest_path(left, right) == []
    assert planner.distance_to_goal(left, right) == math.inf
    assert planner.distance(left, np.array([1.0, 0.0, 0.5])) == pytest.approx(1.0)
    open_planner = GeodesicPlanner(two_rooms)
    in_table, outside = np.array([2.0, 0.0, 1.5]), np.array([-5.0, 0.0, 2.0])
    for point in (in_table, outside):
        assert open_planner.distance(left, point) == math.inf
        assert open_planner.distance(point, left) == math.inf
        assert open_planner.distance_to_goal(left, point) == math.inf
        assert open_planner.shortest_path(point, left) == []


def test_components_agree_with_reachability(closed_rooms, two_rooms):
    for house in (closed_rooms, two_rooms):
        grid = NavGrid.from_house(house)
        planner = GeodesicPlanner(house, navgrid=grid)
        for a, b in _pairs(grid, 200, seed=3):
            same = grid.component_id(a[0], a[2]) == grid.component_id(b[0], b[2])
            assert math.isfinite(planner.distance(a, b)) == same


def test_cached_goal_queries_match_plain_distance(two_rooms):
    grid = NavGrid.from_house(two_rooms)
    planner = GeodesicPlanner(two_rooms, navgrid=grid, max_cached_goals=2)
    rng = np.random.default_rng(4)
    goals = [grid.sample_navigable_point(rng) for _ in range(3)]
    for goal in goals + goals:  # the third goal evicts the first: answers must not change
        for _ in range(30):
            point = grid.sample_navigable_point(rng)
            assert planner.distance_to_goal(point, goal) == pytest.approx(
                planner.distance(point, goal), abs=1e-12
            )
            assert _path_length(planner.path_to_goal(point, goal)) == pytest.approx(
                planner.distance(point, goal), rel=1e-9
            )


@pytest.mark.parametrize("scene", ["two_rooms", "generated"])
def test_agrees_with_fast_marching_on_the_grid(scene, two_rooms):
    """An independent estimate: scikit-fmm's travel distance on the 5 cm grid, from one goal. First-order
    fast marching overestimates diagonal distances by a few per cent, so the exact value may be lower."""
    house = two_rooms if scene == "two_rooms" else generate_house(scene_id_for_index(1))
    grid = NavGrid.from_house(house, cell_size=0.05)
    planner = GeodesicPlanner(house, navgrid=grid)
    rng = np.random.default_rng(5)
    main_cells = np.flatnonzero(grid.labels == grid.largest_component())
    row, col = divmod(int(rng.choice(main_cells)), grid.cols)
    gx, gz = grid.cell_center(row, col)
    goal = np.array([gx, 0.0, gz])
    phi = np.ones(grid.occupancy.shape)
    phi[row, col] = -1.0
    field = skfmm.distance(np.ma.MaskedArray(phi, mask=grid.occupancy), dx=grid.cell_size)
    for _ in range(200):
        r, c = divmod(int(rng.choice(main_cells)), grid.cols)
        x, z = grid.cell_center(r, c)
        fmm = float(field[r, c]) + grid.cell_size / 2  # fmm measures to the zero contour half a cell out
        exact = planner.distance(np.array([x, 0.0, z]), goal)
        assert fmm * 0.93 - 0.05 <= exact <= fmm * 1.01 + 0.05


def test_bad_points_are_named(two_rooms):
    planner = GeodesicPlanner(two_rooms)
    with pytest.raises(ValueError, match="b must be a 3-D point"):
        planner.distance(np.zeros(3), np.zeros(2))
    with pytest.raises(ValueError, match="navgrid was built for agent_radius 0.2"):
        GeodesicPlanner(two_rooms, agent_radius=0.1, navgrid=NavGrid.from_house(two_rooms, agent_radius=0.2))


@pytest.mark.parametrize("index", [0, 2, 8])
def test_generated_houses(index):
    house = generate_house(scene_id_for_index(index))
    grid = NavGrid.from_house(house)
    planner = GeodesicPlanner(house, navgrid=grid)
    for a, b in _pairs(grid, 300, seed=index):
        d, euclid = planner.distance(a, b), float(np.linalg.norm(a - b))
        same_component = grid.component_id(a[0], a[2]) == grid.component_id(b[0], b[2])
        assert math.isfinite(d) == same_component
        if not same_component:
            continue
        assert d >= euclid - 1e-12
        if grid.free_space.segment_clear(a[[0, 2]], b[[0, 2]]):
            assert d == pytest.approx(euclid, rel=1e-12, abs=1e-12)
        path = planner.shortest_path(a, b)
        assert all(grid.free_space.segment_clear(p[[0, 2]], q[[0, 2]]) for p, q in itertools.pairwise(path))
        assert _path_length(path) == pytest.approx(d, rel=1e-9)
