"""Stage-0 view labels on a hand-built two-room house: room, depth-checked doorway sectors and the room behind,
object / colour sectors, free-depth bins, mirrored labels."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from navagent.envs.builtin.furniture import COLORS
from navagent.envs.builtin.house import Box2D, Doorway, FurnitureObject, House, Room, Wall
from navagent.envs.builtin.renderer import HouseRenderer
from navagent.envs.builtin.view_labels import (
    DEPTH_BIN_EDGES,
    NUM_SECTORS,
    ViewLabels,
    depth_bin,
    heading_towards,
    view_labels,
)
from navagent.envs.builtin.view_visibility import ViewCamera

GREY = (0.6, 0.6, 0.6)
HALF = 0.05  # half a wall's thickness


def _wall(x0: float, z0: float, x1: float, z1: float) -> Wall:
    return Wall(Box2D(x0, z0, x1, z1), 2.6, GREY)


def two_room_house() -> House:
    """A bedroom x in [0, 4] and a kitchen x in [4, 8] (z in [0, 4]), a 1 m doorway at (4, 2) in the wall
    between them, and a red sofa in the bedroom's corner at x in [3.2, 3.8], z in [0.3, 1.0]."""
    rooms = (
        Room(0, "bedroom", Box2D(0.0, 0.0, 4.0, 4.0), GREY, GREY, "wood", "plain"),
        Room(1, "kitchen", Box2D(4.0, 0.0, 8.0, 4.0), GREY, GREY, "tiles", "plain"),
    )
    walls = (
        _wall(-HALF, -HALF, 8 + HALF, HALF),
        _wall(-HALF, 4 - HALF, 8 + HALF, 4 + HALF),
        _wall(-HALF, -HALF, HALF, 4 + HALF),
        _wall(8 - HALF, -HALF, 8 + HALF, 4 + HALF),
        _wall(4 - HALF, -HALF, 4 + HALF, 1.5),
        _wall(4 - HALF, 2.5, 4 + HALF, 4 + HALF),
    )
    sofa = FurnitureObject(0, "sofa", "red", COLORS["red"], 0, Box2D(3.2, 0.3, 3.8, 1.0), 0.8, 90)
    return House("test/two_rooms", 0, rooms, (Doorway((0, 1), (4.0, 2.0), 1.0, "z"),), walls, (sofa,))


def blocked_doorway_house() -> House:
    """``two_room_house`` with a 2.2 m wardrobe standing in front of the doorway on the bedroom side."""
    house = two_room_house()
    wardrobe = FurnitureObject(1, "wardrobe", "brown", COLORS["brown"], 0, Box2D(3.0, 1.2, 3.6, 2.8), 2.2, 90)
    return dataclasses.replace(house, objects=(*house.objects, wardrobe))


@pytest.fixture(scope="module")
def renderer():
    with HouseRenderer(width=224, height=224, depth=True) as renderer:
        yield renderer


@pytest.fixture
def labelled(renderer):
    """labels(position, heading, house) of a view, 224 px as the data command renders (default house: the
    two-room house)."""
    houses = {}

    def labels(
        position: tuple[float, float, float], heading: float, house: House | None = None
    ) -> ViewLabels:
        house = house or houses.setdefault("two rooms", two_room_house())
        renderer.set_house(house)
        _, depth = renderer.render(np.array(position), heading)
        return view_labels(house, ViewCamera.of_renderer(renderer), np.array(position), heading, depth)

    return labels


def test_facing_the_doorway_puts_it_in_the_middle_sectors(labelled):
    position = (2.0, 0.0, 2.0)
    labels = labelled(position, heading_towards(np.array(position), (4.0, 2.0)))
    assert labels.room == "bedroom"
    assert labels.door == (False, True, True, False)
    assert labels.through == (None, "kitchen", "kitchen", None)
    assert labels.objects[0] == ("sofa",) and labels.colors[0] == ("red",)  # front left, ~39 degrees
    assert all(not objects for objects in labels.objects[1:])


def test_free_depth_looks_through_the_doorway(labelled):
    position = (3.0, 0.0, 2.0)  # 1 m before the 1 m doorway: it fills the two middle sectors
    labels = labelled(position, heading_towards(np.array(position), (4.0, 2.0)))
    assert labels.door == (False, True, True, False)
    assert labels.depth[1] == labels.depth[2] == depth_bin(5.0)  # the kitchen's far wall
    assert labels.depth[0] < depth_bin(5.0) and labels.depth[3] < depth_bin(5.0)  # the wall beside the door


def test_turning_moves_the_doorway_across_sectors(labelled):
    position = (2.0, 0.0, 2.0)
    towards = heading_towards(np.array(position), (4.0, 2.0))
    left = labelled(position, towards + math.radians(30))  # the doorway moves right in the image
    right = labelled(position, towards - math.radians(30))
    assert left.door[:2] == (False, False) and left.door[3]
    assert right.door[2:] == (False, False) and right.door[0]
    assert labelled(position, towards + math.pi).door == (False,) * NUM_SECTORS


def test_a_doorway_is_hidden_behind_a_wall_and_seen_from_the_other_side(labelled):
    position = (1.0, 0.0, 2.0)
    hidden = labelled(position, heading_towards(np.array(position), (4.0, 2.0)), blocked_doorway_house())
    assert not any(hidden.door)  # straight ahead, but the wardrobe hides the whole opening
    assert "wardrobe" in hidden.objects[1] and "wardrobe" in hidden.objects[2]
    position = (6.0, 0.0, 2.0)
    labels = labelled(position, heading_towards(np.array(position), (4.0, 2.0)))
    assert labels.room == "kitchen"
    assert labels.door == (False, True, True, False)
    assert labels.through[1:3] == ("bedroom", "bedroom")


def test_a_near_wall_gives_the_first_depth_bin(labelled):
    labels = labelled((3.5, 0.0, 3.5), math.pi)  # heading pi looks along +z, the wall 0.45 m ahead
    assert labels.depth == (0,) * NUM_SECTORS
    assert not any(labels.door)


def test_flipped_labels_reverse_the_sectors(labelled):
    position = (2.0, 0.0, 2.0)
    labels = labelled(position, heading_towards(np.array(position), (4.0, 2.0)) + math.radians(30))
    mirrored = labels.flipped()
    assert mirrored.room == labels.room
    assert mirrored.door == labels.door[::-1] and mirrored.objects == labels.objects[::-1]
    assert mirrored.through == labels.through[::-1] and mirrored.depth == labels.depth[::-1]
    assert mirrored.colors == labels.colors[::-1] and mirrored.flipped() == labels
    assert ViewLabels.from_json(labels.to_json()) == labels


def test_depth_bins():
    assert [depth_bin(d) for d in (0.2, *DEPTH_BIN_EDGES, math.inf)] == [0, 1, 2, 3, 3]
