"""Small hand-built houses for the navigation tests (walls 0.1 m thick, centred on the room borders)."""

from __future__ import annotations

import pytest

from navagent.envs.builtin.house import Box2D, Doorway, FurnitureObject, House, Room, Wall

WALL_T = 0.1
GREY = (0.5, 0.5, 0.5)


def make_room(index: int, bounds: Box2D) -> Room:
    return Room(index, "living room", bounds, GREY, GREY, "wood", "plain")


def make_wall(x0: float, z0: float, x1: float, z1: float) -> Wall:
    return Wall(Box2D(x0, z0, x1, z1), 2.6, GREY)


def make_object(index: int, room: int, box: Box2D, category: str = "table") -> FurnitureObject:
    return FurnitureObject(index, category, "grey", GREY, room, box, 0.8, 0)


def perimeter_walls(b: Box2D) -> list[Wall]:
    h = WALL_T / 2
    return [
        make_wall(b.x0 - h, b.z0 - h, b.x1 + h, b.z0 + h),
        make_wall(b.x0 - h, b.z1 - h, b.x1 + h, b.z1 + h),
        make_wall(b.x0 - h, b.z0 - h, b.x0 + h, b.z1 + h),
        make_wall(b.x1 - h, b.z0 - h, b.x1 + h, b.z1 + h),
    ]


def open_room_house() -> House:
    """One empty 10 x 10 m room, x and z in [0, 10]."""
    bounds = Box2D(0.0, 0.0, 10.0, 10.0)
    return House("test/open", 0, (make_room(0, bounds),), (), tuple(perimeter_walls(bounds)), ())


def two_room_house(door: bool = True, furniture: bool = True) -> House:
    """Rooms x in [0, 5] and [5, 10], z in [0, 4]; the dividing wall at x = 5 has a 1 m doorway at
    z in [1.5, 2.5] (closed when ``door`` is False). ``furniture`` adds a table and a sofa to each room."""
    left, right = Box2D(0.0, 0.0, 5.0, 4.0), Box2D(5.0, 0.0, 10.0, 4.0)
    h = WALL_T / 2
    walls = perimeter_walls(Box2D(0.0, 0.0, 10.0, 4.0))
    if door:
        walls += [make_wall(5 - h, 0 - h, 5 + h, 1.5), make_wall(5 - h, 2.5, 5 + h, 4 + h)]
    else:
        walls += [make_wall(5 - h, 0 - h, 5 + h, 4 + h)]
    doorways = (Doorway((0, 1), (5.0, 2.0), 1.0, "z"),) if door else ()
    objects = ()
    if furniture:
        objects = (
            make_object(0, 0, Box2D(1.5, 1.0, 2.5, 2.0)),
            make_object(1, 0, Box2D(0.05, 3.0, 2.0, 3.95), "sofa"),
            make_object(2, 1, Box2D(7.0, 0.8, 7.6, 3.2)),
            make_object(3, 1, Box2D(9.0, 0.05, 9.95, 1.0), "bed"),
        )
    return House(
        "test/two_rooms", 1, (make_room(0, left), make_room(1, right)), doorways, tuple(walls), objects
    )


def gapped_two_room_house() -> House:
    """Two rooms whose bounds stop at the wall faces (x in [0, 5] and [5.1, 10]): the doorway passage at
    x in [5, 5.1], z in [1.5, 2.5] belongs to neither room and must come from the doorway record."""
    left, right = Box2D(0.0, 0.0, 5.0, 4.0), Box2D(5.1, 0.0, 10.0, 4.0)
    walls = [
        make_wall(-0.1, -0.1, 10.1, 0.0),
        make_wall(-0.1, 4.0, 10.1, 4.1),
        make_wall(-0.1, 0.0, 0.0, 4.0),
        make_wall(10.0, 0.0, 10.1, 4.0),
        make_wall(5.0, 0.0, 5.1, 1.5),
        make_wall(5.0, 2.5, 5.1, 4.0),
    ]
    doorways = (Doorway((0, 1), (5.05, 2.0), 1.0, "z"),)
    return House("test/gapped", 2, (make_room(0, left), make_room(1, right)), doorways, tuple(walls), ())


@pytest.fixture(scope="session")
def open_house() -> House:
    return open_room_house()


@pytest.fixture(scope="session")
def two_rooms() -> House:
    return two_room_house()


@pytest.fixture(scope="session")
def bare_rooms() -> House:
    return two_room_house(furniture=False)


@pytest.fixture(scope="session")
def closed_rooms() -> House:
    return two_room_house(door=False)


@pytest.fixture(scope="session")
def gapped_rooms() -> House:
    return gapped_two_room_house()
