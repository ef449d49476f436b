"""Free space and the navigation grid over hand-built houses."""

import numpy as np
import pytest

from navagent.envs.builtin.free_space import (
    MIN_PASSAGE,
    FreeSpace,
    complement_boxes,
    floor_boxes,
    gap_fillers,
)
from navagent.envs.builtin.generator import generate_house, scene_id_for_index
from navagent.envs.builtin.house import Box2D
from navagent.envs.builtin.navgrid import NavGrid


def _cell_centres(grid: NavGrid) -> np.ndarray:
    xs, zs = np.meshgrid(grid.cell_centers_x(), grid.cell_centers_z())
    return np.stack([xs.ravel(), zs.ravel()], axis=1)


def test_free_space_matches_the_obstacles_inflated_by_the_radius(two_rooms):
    free = FreeSpace.from_house(two_rooms, agent_radius=0.1)
    table = two_rooms.objects[0].footprint  # x in [1.5, 2.5], z in [1, 2]
    assert not free.is_free(2.0, 1.5)  # inside the table
    assert not free.is_free(1.45, 1.5)  # within the radius of it
    assert free.is_free(1.4, 1.5)  # exactly the radius away: on the inflated face
    assert free.is_free(1.39, 1.5)
    assert table.contains(2.0, 1.5)
    assert not free.is_free(0.1, 2.0) and free.is_free(0.16, 2.0)  # wall face at x = 0.05, radius 0.1
    assert not free.is_free(5.0, 1.0)  # the dividing wall
    assert free.is_free(5.0, 2.0)  # the doorway
    assert not free.is_free(5.0, 1.55) and free.is_free(5.0, 1.6)  # door jamb inflated by 0.1
    assert not free.is_free(-3.0, 2.0) and not free.is_free(12.0, 2.0) and not free.is_free(float("nan"), 1.0)


def test_floor_complement_tiles_exactly_the_uncovered_area():
    covered = [Box2D(0, 0, 4, 3), Box2D(4, 1, 6, 2), Box2D(6, 0, 9, 3)]
    outer = Box2D(-1, -1, 10, 4)
    holes = complement_boxes(covered, outer)
    rng = np.random.default_rng(0)
    for x, z in rng.uniform([-1, -1], [10, 4], size=(2000, 2)):
        in_floor = any(b.x0 < x < b.x1 and b.z0 < z < b.z1 for b in covered)
        in_holes = sum(b.x0 < x < b.x1 and b.z0 < z < b.z1 for b in holes)
        assert in_holes == (0 if in_floor else 1)  # a partition: no overlap, no gap
    area = sum(b.width * b.depth for b in holes)
    assert area == pytest.approx(11 * 5 - (12 + 2 + 9))
    assert len(holes) <= 6  # merged, not one box per compressed cell


def test_narrow_channels_and_seams_are_closed():
    left = [0.0, 0.0, 1.0, 1.0]
    for gap, closed in ((0.005, True), (0.0, True), (MIN_PASSAGE - 1e-3, True), (MIN_PASSAGE + 1e-3, False)):
        boxes = np.array([left, [1.0 + gap, 0.5, 2.0, 2.0]])  # side by side, overlapping in z on [0.5, 1]
        fillers = gap_fillers(boxes)
        free = FreeSpace(np.concatenate([boxes, fillers]), 0.1, Box2D(-5, -5, 5, 5))
        mid = 1.0 + gap / 2
        assert free.is_free(mid, 0.75) is not closed
        assert free.segment_clear(np.array([mid, -1.0]), np.array([mid, 3.0])) is not closed
    diagonal = np.array([left, [1.01, 1.02, 2.0, 2.0]])  # corner to corner, 1-2 cm apart
    free = FreeSpace(np.concatenate([diagonal, gap_fillers(diagonal)]), 0.1, Box2D(-5, -5, 5, 5))
    assert not free.segments_clear(np.array([[1.5, 0.5]]), np.array([[0.5, 1.5]]))[0]
    overlapping = np.array([left, [0.5, 0.5, 2.0, 2.0]])
    assert len(gap_fillers(overlapping)) == 0


def test_doorway_passage_bridges_rooms_that_do_not_share_a_border(gapped_rooms):
    passages = floor_boxes(gapped_rooms)[len(gapped_rooms.rooms) :]
    assert passages == [Box2D(5.0, 1.5, 5.1, 2.5)]
    grid = NavGrid.from_house(gapped_rooms)
    assert grid.num_components == 1
    assert grid.is_navigable(5.05, 2.0) and not grid.is_navigable(5.05, 1.0)


def test_grid_is_the_analytic_free_space_sampled_at_cell_centres(two_rooms):
    grid = NavGrid.from_house(two_rooms, agent_radius=0.1, cell_size=0.05)
    assert grid.cell_size <= 0.05 and grid.occupancy.dtype == bool
    assert grid.occupancy.shape == (grid.rows, grid.cols)
    expected = grid.free_space.are_free(_cell_centres(grid)).reshape(grid.rows, grid.cols)
    np.testing.assert_array_equal(grid.navigable, expected)
    np.testing.assert_array_equal(grid.occupancy, ~expected)
    # the free area is the room area minus inflated walls and furniture, up to the cell size
    free_area = grid.navigable.sum() * grid.cell_size**2
    rooms = 2 * 4.7 * 3.7  # each room loses wall half-thickness 0.05 + radius 0.1 on every side
    furniture = 1.2 * 1.2 + 1.95 * 0.95 + 0.8 * 2.6 + 0.95 * 0.95  # inflated, clipped at the inflated walls
    door = 0.3 * 0.8
    assert free_area == pytest.approx(rooms - furniture + door, rel=0.01)


def test_components_split_when_the_door_is_closed(two_rooms, closed_rooms):
    assert NavGrid.from_house(two_rooms).num_components == 1
    grid = NavGrid.from_house(closed_rooms)
    assert grid.num_components == 2
    left, right = grid.component_id(1.0, 0.5), grid.component_id(8.0, 0.5)
    assert {left, right} == {0, 1}
    assert grid.component_id(2.0, 1.5) == -1  # inside the table
    assert grid.component_id(50.0, 50.0) == -1
    assert grid.labels[grid.occupancy].max() == -1 and grid.labels[grid.navigable].min() == 0


def test_component_of_a_point_hugging_an_obstacle(two_rooms):
    grid = NavGrid.from_house(two_rooms)
    # on the inflated face of the table: free, though the nearest cell centre may be blocked
    assert grid.is_navigable(1.4, 1.5)
    assert grid.component_id(1.4, 1.5) == grid.component_id(1.0, 0.5) == 0


def test_sampling_is_navigable_deterministic_and_respects_components(closed_rooms):
    grid = NavGrid.from_house(closed_rooms)
    points = [grid.sample_navigable_point(np.random.default_rng(7)) for _ in range(2)]
    np.testing.assert_array_equal(points[0], points[1])
    rng = np.random.default_rng(0)
    samples = np.array([grid.sample_navigable_point(rng) for _ in range(500)])
    assert samples.shape == (500, 3) and np.all(samples[:, 1] == 0.0)
    assert grid.free_space.are_free(samples[:, [0, 2]]).all()
    assert len(np.unique(samples, axis=0)) > 490  # jittered, not snapped to a few cells
    assert {grid.component_id(x, z) for x, _, z in samples} == {0, 1}
    right = grid.component_id(8.0, 0.5)
    for _ in range(50):
        x, _, z = grid.sample_navigable_point(rng, component=right)
        assert x > 5.0 and grid.component_id(x, z) == right
    with pytest.raises(ValueError, match="component 5"):
        grid.sample_navigable_point(rng, component=5)


def test_bad_arguments_are_named(two_rooms):
    with pytest.raises(ValueError, match="cell_size"):
        NavGrid.from_house(two_rooms, cell_size=0.0)
    with pytest.raises(ValueError, match="agent_radius"):
        NavGrid.from_house(two_rooms, agent_radius=-0.1)


@pytest.mark.parametrize("index", [0, 2, 8])
def test_generated_houses(index):
    house = generate_house(scene_id_for_index(index))
    grid = NavGrid.from_house(house)
    expected = grid.free_space.are_free(_cell_centres(grid)).reshape(grid.rows, grid.cols)
    np.testing.assert_array_equal(grid.navigable, expected)
    main = grid.largest_component()
    assert grid.component_sizes[main] * grid.cell_size**2 > 0.5 * sum(
        r.bounds.width * r.bounds.depth for r in house.rooms
    )
    rng = np.random.default_rng(index)
    for _ in range(200):
        x, _, z = grid.sample_navigable_point(rng, component=main)
        assert grid.is_navigable(x, z) and grid.component_id(x, z) == main
        assert house.room_at(x, z) is not None
        assert not any(b.inflate(0.1 - 1e-9).contains(x, z) for b in house.obstacle_footprints())
