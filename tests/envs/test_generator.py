"""Procedural houses: ids, determinism, layout, doorways, walls and furniture placement rules."""

import itertools
from collections import deque

import numpy as np
import pytest

from navagent.envs.builtin.furniture import CATALOG, WALL_THICKNESS
from navagent.envs.builtin.generator import generate_house, parse_scene_id, scene_id_for_index
from navagent.envs.builtin.house import Box2D
from navagent.envs.builtin.navgrid import NavGrid

ROOM_TYPES = {"bedroom", "kitchen", "bathroom", "living room", "hallway", "office", "dining room"}
NUM_HOUSES = 30


@pytest.fixture(scope="module")
def houses():
    return [generate_house(scene_id_for_index(i)) for i in range(NUM_HOUSES)]


def test_scene_ids_round_trip():
    assert scene_id_for_index(7) == "builtin/house_000007"
    assert scene_id_for_index(1234567) == "builtin/house_1234567"
    for index in (0, 7, 999999, 1234567):
        assert parse_scene_id(scene_id_for_index(index)) == index


@pytest.mark.parametrize(
    "bad",
    [
        "builtin/house_7",
        "house_000007",
        "builtin/house_00000a",
        "",
        "builtin/house_0000007",
        "builtin/house_000007 ",
    ],
)
def test_malformed_scene_id_is_named_in_the_error(bad):
    with pytest.raises(ValueError, match="malformed built-in scene id") as error:
        generate_house(bad)
    assert repr(bad) in str(error.value)


def test_bad_index_is_rejected():
    with pytest.raises(ValueError, match="-1"):
        scene_id_for_index(-1)


def test_same_id_gives_equal_house_and_different_ids_differ():
    a, b = generate_house("builtin/house_000042"), generate_house("builtin/house_000042")
    assert a == b
    c = generate_house("builtin/house_000043")
    assert c != a and c.rooms != a.rooms


def test_room_counts_types_and_sizes(houses):
    for house in houses:
        assert 4 <= len(house.rooms) <= 10, house.scene_id
        types = [r.room_type for r in house.rooms]
        assert set(types) <= ROOM_TYPES and types.count("hallway") == 1
        for room in house.rooms:
            narrow = min(room.bounds.width, room.bounds.depth)
            assert narrow >= (1.5 if room.room_type == "hallway" else 2.5), (house.scene_id, room)
        bounds = house.bounds
        assert 10.0 <= max(bounds.width, bounds.depth) <= 22.0 and min(bounds.width, bounds.depth) >= 9.5
    assert {r.room_type for h in houses for r in h.rooms} == ROOM_TYPES


def test_rooms_tile_the_house_rectangle(houses):
    for house in houses:
        boxes = [r.bounds for r in house.rooms]
        outline = Box2D(
            min(b.x0 for b in boxes),
            min(b.z0 for b in boxes),
            max(b.x1 for b in boxes),
            max(b.z1 for b in boxes),
        )
        assert sum(b.width * b.depth for b in boxes) == pytest.approx(outline.width * outline.depth)
        for a, b in itertools.combinations(boxes, 2):
            assert not a.intersects(b), house.scene_id


def _connected(house) -> bool:
    neighbours = {r.index: set() for r in house.rooms}
    for door in house.doorways:
        i, j = door.rooms
        neighbours[i].add(j)
        neighbours[j].add(i)
    seen, queue = {0}, deque([0])
    while queue:
        for other in neighbours[queue.popleft()] - seen:
            seen.add(other)
            queue.append(other)
    return len(seen) == len(house.rooms)


def test_doorways_join_all_rooms_and_are_open(houses):
    for house in houses:
        assert _connected(house), house.scene_id
        for door in house.doorways:
            assert 0.9 <= door.width <= 1.2 + 1e-9
            a, b = (house.rooms[i].bounds for i in door.rooms)
            cx, cz = door.center
            assert a.contains(cx, cz) and b.contains(cx, cz), "a doorway lies on its rooms' shared border"
            half = door.width / 2 - 0.01
            opening = (
                Box2D(cx - half, cz - 0.2, cx + half, cz + 0.2)
                if door.axis == "x"
                else Box2D(cx - 0.2, cz - half, cx + 0.2, cz + half)
            )
            assert not any(w.footprint.intersects(opening) for w in house.walls), (house.scene_id, door)


def test_exterior_walls_enclose_the_house(houses):
    for house in houses[:10]:
        b = house.bounds.inflate(-WALL_THICKNESS / 2)  # the outline the exterior walls are centred on
        ts = np.arange(0.0, 1.0, 0.005)
        points = [(b.x0 + t * b.width, z) for t in ts for z in (b.z0, b.z1)]
        points += [(x, b.z0 + t * b.depth) for t in ts for x in (b.x0, b.x1)]
        for x, z in points:
            assert any(w.footprint.contains(x, z) for w in house.walls), (house.scene_id, x, z)


def test_furniture_counts_and_categories(houses):
    categories = set()
    for house in houses:
        for room in house.rooms:
            count = sum(o.room_index == room.index for o in house.objects)
            assert 3 <= count <= 8, (house.scene_id, room.room_type, count)
        for obj in house.objects:
            assert obj.category in CATALOG and obj.color_name in CATALOG[obj.category].colors
            assert len(obj.color) == 3 and all(0.0 <= c <= 1.0 for c in obj.color)
            categories.add(obj.category)
        assert [o.index for o in house.objects] == list(range(len(house.objects)))
    assert len(categories) >= 15, categories


def test_furniture_inside_rooms_not_overlapping_and_facing_in(houses):
    for house in houses:
        for obj in house.objects:
            room = house.rooms[obj.room_index].bounds.inflate(-WALL_THICKNESS / 2)
            fp = obj.footprint
            assert room.x0 <= fp.x0 and fp.x1 <= room.x1 and room.z0 <= fp.z0 and fp.z1 <= room.z1, obj
            assert obj.yaw_deg in (0, 90, 180, 270)
            fx, fz = obj.front_direction
            reach = (fp.depth if fx == 0 else fp.width) / 2 + 0.2
            assert room.contains(fp.center[0] + fx * reach, fp.center[1] + fz * reach), obj
        for a, b in itertools.combinations(house.objects, 2):
            assert not a.footprint.intersects(b.footprint), (house.scene_id, a, b)


def test_doorway_clearance_zones_are_free(houses):
    for house in houses:
        for door in house.doorways:
            zone = door.clearance_box()  # 1 m on both sides of the wall
            assert zone.depth == pytest.approx(2.0) or zone.width == pytest.approx(2.0)
            blocking = [o for o in house.objects if o.footprint.intersects(zone)]
            assert not blocking, (house.scene_id, door, blocking)


def test_navigable_space_is_one_connected_region(houses):
    for house in houses[:12]:
        grid = NavGrid.from_house(house, agent_radius=0.1, cell_size=0.05)
        assert grid.num_components == 1, (house.scene_id, grid.component_sizes)
        for room in house.rooms:  # every room has floor the agent can reach
            (r0, c0), (r1, c1) = (
                grid.world_to_cell(room.bounds.x0, room.bounds.z0),
                grid.world_to_cell(room.bounds.x1, room.bounds.z1),
            )
            assert grid.navigable[r0:r1, c0:c1].any(), (house.scene_id, room.room_type)
