"""TopDownMap: pixel mapping, what the map shows, and the PNG it writes."""

import numpy as np
import pytest
from PIL import Image

from navagent.envs.builtin.generator import generate_house, scene_id_for_index
from navagent.envs.builtin.topdown import AGENT, GOAL, REFERENCE, START, WALL, TopDownMap


@pytest.fixture(scope="module")
def house():
    return generate_house(scene_id_for_index(5))


def _path(house) -> np.ndarray:
    """A path (4, 3) through the middles of the first three rooms (it may cross walls: only drawn)."""
    centres = [room.bounds.center for room in house.rooms[:3]]
    return np.array([[x, 0.0, z] for x, z in centres] + [[centres[0][0] + 0.5, 0.0, centres[0][1]]])


def test_world_to_pixel_is_linear_with_x_right_and_z_down(house):
    top = TopDownMap(house, px_per_m=20, margin_m=0.5)
    b = house.bounds
    corners = top.world_to_pixel(np.array([[b.x0, 1.0, b.z0], [b.x1, 0.0, b.z1]]))
    np.testing.assert_allclose(corners[0], [10.0, 10.0])
    np.testing.assert_allclose(corners[1], [10.0 + b.width * 20, 10.0 + b.depth * 20])
    assert top.world_to_pixel(np.zeros((2, 5, 3))).shape == (2, 5, 2)
    with pytest.raises(ValueError, match="shape"):
        top.world_to_pixel(np.zeros((4, 2)))


def test_map_shows_rooms_walls_and_objects(house):
    top = TopDownMap(house, px_per_m=30)
    image = top.draw()
    assert image.shape == (top.height, top.width, 3) and image.dtype == np.uint8

    def colour_at(x: float, z: float) -> np.ndarray:
        col, row = top.world_to_pixel(np.array([x, 0.0, z])).round().astype(int)
        return image[row, col].astype(int)

    # labels may cover a few pixels, so require most walls and objects to show their colours
    walls = [np.array_equal(colour_at(*w.footprint.center), WALL) for w in house.walls]
    assert np.mean(walls) > 0.8
    objects = [
        np.abs(
            colour_at(o.footprint.x0 + 0.06, o.footprint.z0 + 0.06)
            - np.array([int(255 * c) for c in o.color])
        ).max()
        <= 2
        for o in house.objects
    ]
    assert np.mean(objects) > 0.8
    room_colours = {tuple(colour_at(r.bounds.x0 + 0.2, r.bounds.z0 + 0.2)) for r in house.rooms}
    assert len(room_colours) > 1, "rooms have their own colours"


def test_paths_start_goal_and_png(tmp_path, house):
    top = TopDownMap(house, px_per_m=25)
    path = _path(house)
    agent = path[:2] + np.array([0.3, 0.0, 0.3])
    out = top.save_png(
        tmp_path / "maps" / "map.png",
        reference_path=path,
        agent_path=agent,
        start=path[0],
        goal=path[-2],
        goal_radius=3.0,
        agent_heading=0.5,
    )
    image = np.asarray(Image.open(out).convert("RGB"))
    assert image.shape == (top.height, top.width, 3)
    for colour in (REFERENCE, AGENT, START, GOAL):
        assert (image == np.array(colour)).all(axis=2).sum() > 10, colour
    mid = top.world_to_pixel((path[1] + path[2]) / 2).round().astype(int)
    assert tuple(image[mid[1], mid[0]]) == REFERENCE, "the reference path runs between its waypoints"
    plain = top.draw()
    assert not (plain == np.array(REFERENCE)).all(axis=2).any(), "no path drawn when none is given"
