"""HouseRenderer: camera convention, depth, resolution/hfov, and frames that are not flat colour."""

import math

import numpy as np
import pytest

from navagent.envs.builtin.generator import generate_house, scene_id_for_index
from navagent.envs.builtin.house import Box2D, House, Room, Wall
from navagent.envs.builtin.renderer import HouseRenderer

WALL_FACE = 0.05  # walls are 0.1 m thick and centred on the room border
FLOOR = (0.8, 0.1, 0.1)


def _box_room() -> House:
    """One empty 4 m (x) by 6 m (z) room with a red floor."""
    room = Room(0, "bedroom", Box2D(0.0, 0.0, 4.0, 6.0), FLOOR, (0.8, 0.8, 0.8), "carpet", "plaster")
    walls = (
        Wall(Box2D(-0.05, -0.05, 4.05, 0.05), 2.6, (0.8, 0.8, 0.8)),
        Wall(Box2D(-0.05, 5.95, 4.05, 6.05), 2.6, (0.8, 0.8, 0.8)),
        Wall(Box2D(-0.05, -0.05, 0.05, 6.05), 2.6, (0.8, 0.8, 0.8)),
        Wall(Box2D(3.95, -0.05, 4.05, 6.05), 2.6, (0.8, 0.8, 0.8)),
    )
    return House("test/box_room", 0, (room,), (), walls, ())


@pytest.fixture(scope="module")
def box_renderer():
    with HouseRenderer(width=64, height=48, hfov_deg=90.0) as renderer:
        renderer.set_house(_box_room())
        yield renderer


@pytest.fixture(scope="module")
def house_renderer():
    with HouseRenderer(width=96, height=96) as renderer:
        house = generate_house(scene_id_for_index(2))
        renderer.set_house(house)
        yield renderer, house


def _centre_depth(depth: np.ndarray) -> float:
    h, w = depth.shape
    return float(depth[h // 2 - 1 : h // 2 + 1, w // 2 - 1 : w // 2 + 1].mean())


@pytest.mark.parametrize(
    ("heading", "distance"),
    [
        (0.0, 4.0 - WALL_FACE),  # heading 0 looks along -z
        (math.pi / 2, 1.5 - WALL_FACE),  # turning left (counter-clockwise from above) looks along -x
        (math.pi, 6.0 - WALL_FACE - 4.0),
        (-math.pi / 2, 4.0 - WALL_FACE - 1.5),
    ],
)
def test_centre_depth_is_the_distance_to_the_wall_faced(box_renderer, heading, distance):
    rgb, depth = box_renderer.render(np.array([1.5, 0.0, 4.0]), heading)
    assert rgb.shape == (48, 64, 3) and rgb.dtype == np.uint8
    assert depth.shape == (48, 64) and depth.dtype == np.float32
    assert _centre_depth(depth) == pytest.approx(distance, abs=0.02)


def test_depth_is_along_the_optical_axis(box_renderer):
    """Facing a wall squarely, every pixel on it has the same depth (not the distance to the camera)."""
    _, depth = box_renderer.render(np.array([2.0, 0.0, 3.0]), 0.0)
    middle_row = depth[depth.shape[0] // 2]
    on_wall = np.abs(middle_row - (3.0 - WALL_FACE)) < 0.02
    assert on_wall[16:48].all()


@pytest.mark.parametrize("hfov", [60.0, 90.0, 110.0])
def test_field_of_view_aspect_and_camera_height(hfov):
    """The left and right room corners and the floor line land where a pinhole camera puts them."""
    width, height, distance = 80, 60, 4.0 - WALL_FACE
    with HouseRenderer(width=width, height=height, hfov_deg=hfov) as renderer:
        renderer.set_house(_box_room())
        rgb, depth = renderer.render(np.array([1.5, 0.0, 4.0]), 0.0)
    tan_h = math.tan(math.radians(hfov) / 2)
    tan_v = tan_h * height / width
    on_front_wall = np.abs(depth[height // 2] - distance) < 0.02
    columns = np.flatnonzero(on_front_wall)
    left, right = (-(1.5 - WALL_FACE), 4.0 - WALL_FACE - 1.5)
    expected_left = max((left / distance / tan_h + 1) / 2 * width, 0.0)  # at the image border if outside
    expected_right = min((right / distance / tan_h + 1) / 2 * width, width)
    assert abs(columns[0] - expected_left) <= 1.5 and abs(columns[-1] + 1 - expected_right) <= 1.5
    on_wall_column = np.abs(depth[:, width // 2] - distance) < 0.02
    floor_row = np.flatnonzero(on_wall_column)[-1] + 1  # first row (from the top) showing the floor
    expected_floor_row = (1 + 1.25 / distance / tan_v) / 2 * height
    assert abs(floor_row - expected_floor_row) <= 1.5
    assert rgb[-1, width // 2, 0] > 2 * rgb[-1, width // 2, 1], (
        "row 0 is the top: the red floor is at the bottom"
    )


def test_depth_disabled_returns_none():
    with HouseRenderer(width=32, height=24, depth=False) as renderer:
        renderer.set_house(_box_room())
        rgb, depth = renderer.render(np.array([2.0, 0.0, 3.0]), 0.3)
    assert depth is None and rgb.shape == (24, 32, 3)


def test_generated_house_frames_are_textured_and_shaded(house_renderer):
    renderer, house = house_renderer
    room = max(house.rooms, key=lambda r: r.bounds.width * r.bounds.depth)
    cx, cz = room.bounds.center
    strong_steps = []
    for heading in np.linspace(0.0, 2 * math.pi, 4, endpoint=False):
        rgb, depth = renderer.render(np.array([cx, 0.0, cz]), heading)
        colours = np.unique(rgb.reshape(-1, 3), axis=0)
        assert len(colours) > 250, "shading and textures give many distinct colours"
        luma = rgb.astype(np.float32).mean(axis=2)
        assert luma.std() > 10
        strong_steps.append((np.abs(np.diff(luma, axis=1)) > 12).mean())
        assert np.isfinite(depth).all() and (depth > 0.05).all() and depth.max() < 25.0
    assert np.mean(strong_steps) > 0.03, "edges, patterns and furniture give strong local gradients"


def test_rendering_is_deterministic_and_heading_changes_the_view(house_renderer):
    renderer, house = house_renderer
    cx, cz = house.rooms[0].bounds.center
    position = np.array([cx, 0.0, cz])
    a, depth_a = renderer.render(position, 0.4)
    b, depth_b = renderer.render(position, 0.4)
    c, _ = renderer.render(position, 0.4 + math.radians(15))
    assert np.array_equal(a, b) and np.array_equal(depth_a, depth_b)
    assert np.abs(a.astype(int) - c.astype(int)).mean() > 5
    with HouseRenderer(width=96, height=96) as other:  # a fresh context draws the same frame
        other.set_house(house)
        d, _ = other.render(position, 0.4)
    assert np.array_equal(a, d)


def test_bad_arguments_and_missing_house():
    with pytest.raises(ValueError, match="hfov_deg"):
        HouseRenderer(hfov_deg=180.0)
    with pytest.raises(ValueError, match="width/height"):
        HouseRenderer(width=0)
    with HouseRenderer(width=16, height=16) as renderer, pytest.raises(RuntimeError, match="set_house"):
        renderer.render(np.zeros(3), 0.0)


def test_raster_threads_come_from_the_renderer_not_the_environment():
    """A fresh process gets llvmpipe's LP_NUM_THREADS from the renderer's default; an explicit one wins."""
    import os
    import subprocess
    import sys

    code = (
        "import os; from navagent.envs.builtin.renderer import HouseRenderer; HouseRenderer(16, 16); "
        "print(os.environ['LP_NUM_THREADS'])"
    )
    clean = {k: v for k, v in os.environ.items() if k != "LP_NUM_THREADS"}
    for environment, expected in ((clean, "0"), ({**clean, "LP_NUM_THREADS": "2"}, "2")):
        run = subprocess.run(
            [sys.executable, "-c", code], check=False, env=environment, capture_output=True, text=True
        )
        assert run.returncode == 0, run.stderr
        assert run.stdout.split()[-1] == expected
