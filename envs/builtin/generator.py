"""Procedural houses, deterministic from the scene id ``builtin/house_{index:06d}``.

Layout: a rectangle (about 11-21 m by 10-14.5 m) with a hallway along its long axis, an optional great room
(living room) across one end and an optional end room across the other; the strips on both sides of the
hallway are cut into rooms 2.6 m or wider, some of them split again into a front and a back room. Rooms
tile the rectangle, so everything inside the exterior walls belongs to a room. Doorways join every room
to the hallway or, for back rooms, to an already connected neighbour, plus a few extra doorways between
neighbours; then rooms get types, colours and floor/wall patterns, and furniture (``furniture``). A house
whose navigable floor for an agent of radius 0.1 m (``navgrid``) is not one connected region is redrawn.
"""

from __future__ import annotations

import itertools
import re
from collections import deque

import numpy as np

from navagent.envs.builtin.furniture import AGENT_RADIUS, WALL_THICKNESS, furnish_room
from navagent.envs.builtin.house import RGB, Box2D, Doorway, FurnitureObject, House, Room, Wall
from navagent.envs.builtin.navgrid import NavGrid

SCENE_PREFIX = "builtin/house_"
_SCENE_RE = re.compile(r"builtin/house_(\d{6,})")
_SEED_SALT = 0x4E415648  # keeps house seeds apart from other uses of the same small integers
WALL_HEIGHT = 2.6
MIN_ROOM = 2.6
DOOR_END_MARGIN = 0.3  # wall left between a doorway and the end of the shared wall
WALL_COLOR: RGB = (0.9, 0.89, 0.86)

FLOOR_PATTERNS = {
    "bedroom": ("wood", "carpet", "parquet"),
    "kitchen": ("tiles", "stone", "checker"),
    "bathroom": ("tiles", "checker", "stone"),
    "living room": ("wood", "parquet", "carpet"),
    "hallway": ("wood", "tiles", "stone"),
    "office": ("carpet", "wood", "parquet"),
    "dining room": ("wood", "parquet", "stone"),
}
WALL_PATTERNS = {
    "bedroom": ("plaster", "stripes", "wallpaper"),
    "kitchen": ("plaster", "wall tiles"),
    "bathroom": ("wall tiles", "wall tiles", "plaster"),
    "living room": ("plaster", "wallpaper", "stripes", "panels"),
    "hallway": ("plaster", "panels", "stripes"),
    "office": ("plaster", "stripes", "panels"),
    "dining room": ("wallpaper", "plaster", "panels"),
}
_FLOOR_COLORS = {
    "wood": ((0.62, 0.43, 0.26), (0.50, 0.33, 0.20), (0.72, 0.55, 0.36), (0.40, 0.27, 0.17)),
    "parquet": ((0.70, 0.50, 0.30), (0.58, 0.40, 0.24), (0.78, 0.62, 0.42)),
    "carpet": (
        (0.45, 0.50, 0.60),
        (0.70, 0.64, 0.54),
        (0.42, 0.52, 0.42),
        (0.60, 0.38, 0.34),
        (0.55, 0.55, 0.56),
    ),
    "tiles": ((0.86, 0.86, 0.84), (0.80, 0.76, 0.68), (0.70, 0.74, 0.78), (0.76, 0.50, 0.38)),
    "checker": ((0.88, 0.88, 0.86), (0.82, 0.80, 0.74)),
    "stone": ((0.66, 0.64, 0.60), (0.78, 0.74, 0.66), (0.56, 0.58, 0.60)),
}
_WALL_COLORS = (
    (0.93, 0.90, 0.82), (0.78, 0.86, 0.92), (0.80, 0.88, 0.78), (0.95, 0.82, 0.72), (0.96, 0.92, 0.70),
    (0.84, 0.80, 0.90), (0.86, 0.86, 0.86), (0.95, 0.95, 0.93), (0.74, 0.88, 0.84), (0.90, 0.76, 0.70),
)  # fmt: skip


def scene_id_for_index(index: int) -> str:
    """``7 -> "builtin/house_000007"``."""
    if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or index < 0:
        raise ValueError(f"house index must be a non-negative integer, got {index!r}")
    return f"{SCENE_PREFIX}{int(index):06d}"


def parse_scene_id(scene_id: str) -> int:
    """``"builtin/house_000007" -> 7``; ValueError naming ``scene_id`` if it is not of that form."""
    match = _SCENE_RE.fullmatch(scene_id) if isinstance(scene_id, str) else None
    if match is None or scene_id_for_index(int(match.group(1))) != scene_id:
        raise ValueError(f"malformed built-in scene id {scene_id!r}: expected 'builtin/house_NNNNNN'")
    return int(match.group(1))


def generate_house(scene_id: str, max_attempts: int = 50) -> House:
    """The house of ``scene_id`` (same id -> equal House)."""
    index = parse_scene_id(scene_id)
    rng = np.random.default_rng([_SEED_SALT, index])
    for _ in range(max_attempts):
        house = _try_generate(scene_id, index, rng)
        if house is not None:
            return house
    raise RuntimeError(f"could not generate {scene_id!r} in {max_attempts} attempts")  # not seen in practice


def _try_generate(scene_id: str, index: int, rng: np.random.Generator) -> House | None:
    tagged = _layout(rng)
    if not 4 <= len(tagged) <= 10:
        return None
    boxes = [box for _, box in tagged]
    edges = _adjacency(boxes)
    hallway = next(i for i, (tag, _) in enumerate(tagged) if tag == "hallway")
    links = _spanning_links(len(boxes), edges, hallway)
    types = _room_types(tagged, links, rng)
    links |= _extra_links(types, edges, links, rng)
    doorways = tuple(_doorway(i, j, edges[(i, j)], rng) for i, j in sorted(links))
    rooms = tuple(_room(i, types[i], boxes[i], rng) for i in range(len(boxes)))
    objects: list[FurnitureObject] = []
    for room in rooms:
        furnished = furnish_room(room, list(doorways), len(objects), rng)
        if len(furnished) < 3:
            return None
        objects += furnished
    walls = tuple(_walls(boxes, edges, doorways))
    house = House(scene_id, index, rooms, doorways, walls, tuple(objects), WALL_HEIGHT)
    # the exact test: no pocket of floor out of the agent's reach (e.g. behind a nightstand in a corner)
    if NavGrid.from_house(house, agent_radius=AGENT_RADIUS).num_components != 1:
        return None
    return house


def _snap(v: float) -> float:
    return round(float(v) * 20) / 20


def _cuts(start: float, end: float, rng: np.random.Generator) -> list[float]:
    """Cut positions splitting [start, end] into pieces between MIN_ROOM and ~7 m."""
    length = end - start
    most, fewest = int(length // MIN_ROOM), int(np.ceil(length / 7.0))
    count = max(1, min(int(rng.integers(fewest, fewest + 3)), most))
    widths = MIN_ROOM + (length - MIN_ROOM * count) * rng.dirichlet(np.full(count, 3.0))
    return [start] + [_snap(start + w) for w in np.cumsum(widths)[:-1]] + [end]


def _layout(rng: np.random.Generator) -> list[tuple[str, Box2D]]:
    """Tagged room rectangles ("hallway", "great", "end" or "side") tiling the house rectangle."""
    long_len, short_len = _snap(rng.uniform(11.0, 21.0)), _snap(rng.uniform(10.0, 14.5))
    along_x = bool(rng.integers(0, 2))
    rects: list[tuple[str, float, float, float, float]] = []  # (tag, u0, v0, u1, v1), u along the hallway
    hall_width = _snap(rng.uniform(1.5, 2.0))
    sides = short_len - hall_width  # shared by the strips on both sides of the hallway, 30-70 % each
    hall_v0 = _snap(rng.uniform(max(MIN_ROOM, 0.3 * sides), min(sides - MIN_ROOM, 0.7 * sides)))
    hall_v1 = hall_v0 + hall_width
    u0, u1 = 0.0, long_len
    if (
        rng.uniform() < 0.55
    ):  # a great room across one end (usually split in two), maybe another room across the other
        great = _snap(rng.uniform(3.5, 5.5))
        rects += _end_rooms(0.0, great, short_len, hall_v0, hall_v1, "great", rng)
        u0 = great
    if u1 - u0 >= 10.0 and rng.uniform() < 0.35:
        end = _snap(rng.uniform(3.0, 4.5))
        rects += _end_rooms(u1 - end, u1, short_len, hall_v0, hall_v1, "end", rng)
        u1 -= end
    rects.append(("hallway", u0, hall_v0, u1, hall_v1))
    for v_near, v_far in ((hall_v0, 0.0), (hall_v1, short_len)):  # each side, from the hallway outwards
        cuts = _cuts(u0, u1, rng)
        for a, b in itertools.pairwise(cuts):
            depth = abs(v_far - v_near)
            spans = [(v_near, v_far)]
            if depth >= 2 * MIN_ROOM + 0.2 and rng.uniform() < 0.5:  # a front room and a back room
                split = _snap(v_near + np.sign(v_far - v_near) * rng.uniform(MIN_ROOM, depth - MIN_ROOM))
                spans = [(v_near, split), (split, v_far)]
            rects += [("side", a, min(v), b, max(v)) for v in spans]
    to_box = (
        (lambda u0, v0, u1, v1: Box2D(u0, v0, u1, v1))
        if along_x
        else (lambda u0, v0, u1, v1: Box2D(v0, u0, v1, u1))
    )
    return [(tag, to_box(*coords)) for tag, *coords in rects]


def _end_rooms(u0: float, u1: float, short_len: float, hall_v0: float, hall_v1: float, tag: str,
               rng: np.random.Generator) -> list[tuple[str, float, float, float, float]]:  # fmt: skip
    """A room across an end of the house (u in [u0, u1]), usually cut across outside the hallway's span
    into the part the hallway opens into (tagged ``tag``) and another room ("side")."""
    if rng.uniform() < 0.25:
        return [(tag, u0, 0.0, u1, short_len)]
    below, above = hall_v0 - MIN_ROOM, short_len - MIN_ROOM - hall_v1  # room left for the cut on each side
    if rng.uniform() * (below + above) < below:
        cut = _snap(rng.uniform(MIN_ROOM, hall_v0))
        return [("side", u0, 0.0, u1, cut), (tag, u0, cut, u1, short_len)]
    cut = _snap(rng.uniform(hall_v1, short_len - MIN_ROOM))
    return [(tag, u0, 0.0, u1, cut), ("side", u0, cut, u1, short_len)]


def _adjacency(boxes: list[Box2D]) -> dict[tuple[int, int], tuple[str, float, float, float]]:
    """Shared walls: (i, j) with i < j -> (axis the wall runs along, fixed coordinate, start, end)."""
    eps = 1e-6
    edges = {}
    for i, a in enumerate(boxes):
        for j in range(i + 1, len(boxes)):
            b = boxes[j]
            x_lo, x_hi, z_lo, z_hi = max(a.x0, b.x0), min(a.x1, b.x1), max(a.z0, b.z0), min(a.z1, b.z1)
            if abs(a.z1 - b.z0) < eps or abs(b.z1 - a.z0) < eps:
                if x_hi - x_lo > eps:
                    edges[(i, j)] = ("x", a.z1 if abs(a.z1 - b.z0) < eps else a.z0, x_lo, x_hi)
            elif (abs(a.x1 - b.x0) < eps or abs(b.x1 - a.x0) < eps) and z_hi - z_lo > eps:
                edges[(i, j)] = ("z", a.x1 if abs(a.x1 - b.x0) < eps else a.x0, z_lo, z_hi)
    min_len = 0.9 + 2 * DOOR_END_MARGIN
    return {k: v for k, v in edges.items() if v[3] - v[2] >= min_len}


def _spanning_links(count: int, edges: dict, hub: int) -> set[tuple[int, int]]:
    """Breadth-first tree from the hallway over shared walls: every room reachable, rooms on the hallway
    open onto it."""
    neighbours: dict[int, list[int]] = {i: [] for i in range(count)}
    for i, j in edges:
        neighbours[i].append(j)
        neighbours[j].append(i)
    links, seen, queue = set(), {hub}, deque([hub])
    while queue:
        room = queue.popleft()
        for other in sorted(neighbours[room]):
            if other not in seen:
                seen.add(other)
                links.add((min(room, other), max(room, other)))
                queue.append(other)
    if len(seen) != count:
        raise AssertionError("room tiling is not connected")  # rooms tile a rectangle, so this cannot happen
    return links


def _room_types(tagged: list[tuple[str, Box2D]], links: set, rng: np.random.Generator) -> list[str]:
    degree = [sum(i in link for link in links) for i in range(len(tagged))]
    area = [b.width * b.depth for _, b in tagged]
    types = ["hallway" if t == "hallway" else "living room" if t == "great" else "" for t, _ in tagged]
    free = [i for i, t in enumerate(types) if not t]
    leaves = sorted((i for i in free if degree[i] == 1), key=lambda i: area[i])
    wanted = ["bathroom"] + ([] if "living room" in types else ["living room"]) + ["kitchen", "bedroom"]
    extra_pool = ["bedroom", "bedroom", "office", "dining room", "bathroom", "bedroom", "office"]
    for kind in wanted + [extra_pool[k] for k in rng.permutation(len(extra_pool))]:
        if not free:
            break
        if kind == "bathroom":
            choices = [i for i in leaves if i in free and area[i] <= 16.0]
            if not choices:
                continue
            pick = choices[0]
        elif kind == "living room":
            pick = max(free, key=lambda i: area[i])
        else:
            pick = free[int(rng.integers(0, len(free)))]
        types[pick] = kind
        free.remove(pick)
    for i in free:  # pool exhausted (not expected with <= 10 rooms)
        types[i] = "bedroom"
    return types


def _extra_links(types: list[str], edges: dict, links: set, rng: np.random.Generator) -> set[tuple[int, int]]:
    """A few more doorways between neighbours (never into bathrooms), e.g. kitchen <-> dining room."""
    extra = set()
    for i, j in sorted(edges):
        if (i, j) in links or "bathroom" in (types[i], types[j]):
            continue
        social = {types[i], types[j]} <= {"kitchen", "dining room", "living room", "hallway"}
        if rng.uniform() < (0.6 if social else 0.15):
            extra.add((i, j))
    return extra


def _doorway(i: int, j: int, edge: tuple[str, float, float, float], rng: np.random.Generator) -> Doorway:
    axis, fixed, lo, hi = edge
    width = np.floor(min(rng.uniform(0.9, 1.2), hi - lo - 2 * DOOR_END_MARGIN) * 20) / 20
    first, last = lo + DOOR_END_MARGIN + width / 2, hi - DOOR_END_MARGIN - width / 2
    center = min(max(_snap(first + rng.uniform() * max(last - first, 0.0)), first), last)
    position = (center, fixed) if axis == "x" else (fixed, center)
    return Doorway(rooms=(i, j), center=position, width=float(width), axis=axis)


def _room(index: int, room_type: str, bounds: Box2D, rng: np.random.Generator) -> Room:
    floor_pattern = _pick(FLOOR_PATTERNS[room_type], rng)
    wall_pattern = _pick(WALL_PATTERNS[room_type], rng)
    floor = _jitter(_pick(_FLOOR_COLORS[floor_pattern], rng), rng)
    wall = _jitter(_pick(_WALL_COLORS, rng), rng)
    return Room(index, room_type, bounds, floor, wall, floor_pattern, wall_pattern)


def _pick(options, rng: np.random.Generator):
    return options[int(rng.integers(0, len(options)))]


def _jitter(color: RGB, rng: np.random.Generator, amount: float = 0.03) -> RGB:
    return tuple(round(float(np.clip(c + rng.uniform(-amount, amount), 0.0, 1.0)), 3) for c in color)


def _walls(boxes: list[Box2D], edges: dict, doorways: tuple[Doorway, ...]) -> list[Wall]:
    """Wall boxes (WALL_THICKNESS thick, centred on room borders) with gaps at doorways: every shared
    border (also those too short for a door) and the exterior outline."""
    segments: list[tuple[str, float, float, float]] = []
    for box in boxes:
        for axis, fixed, lo, hi in (("x", box.z0, box.x0, box.x1), ("x", box.z1, box.x0, box.x1),
                                    ("z", box.x0, box.z0, box.z1), ("z", box.x1, box.z0, box.z1)):  # fmt: skip
            segments.append((axis, round(fixed, 6), round(lo, 6), round(hi, 6)))
    walls = []
    for axis, fixed, lo, hi in _merge(segments):
        gaps = sorted(
            (d.center[0] if axis == "x" else d.center[1], d.width)
            for d in doorways
            if d.axis == axis
            and abs((d.center[1] if axis == "x" else d.center[0]) - fixed) < 1e-6
            and lo < (d.center[0] if axis == "x" else d.center[1]) < hi
        )
        start = lo - WALL_THICKNESS / 2
        for center, width in gaps + [(hi + WALL_THICKNESS / 2, 0.0)]:
            end = center - width / 2
            if end - start > 1e-6:
                walls.append(Wall(_wall_box(axis, fixed, start, end), WALL_HEIGHT, WALL_COLOR))
            start = center + width / 2
    return walls


def _merge(segments: list[tuple[str, float, float, float]]) -> list[tuple[str, float, float, float]]:
    """Union of collinear room-border segments (each border appears once per room that has it)."""
    by_line: dict[tuple[str, float], list[tuple[float, float]]] = {}
    for axis, fixed, lo, hi in segments:
        by_line.setdefault((axis, fixed), []).append((lo, hi))
    merged = []
    for (axis, fixed), spans in sorted(by_line.items()):
        spans.sort()
        cur_lo, cur_hi = spans[0]
        for lo, hi in spans[1:]:
            if lo <= cur_hi + 1e-6:
                cur_hi = max(cur_hi, hi)
            else:
                merged.append((axis, fixed, cur_lo, cur_hi))
                cur_lo, cur_hi = lo, hi
        merged.append((axis, fixed, cur_lo, cur_hi))
    return merged


def _wall_box(axis: str, fixed: float, start: float, end: float) -> Box2D:
    half = WALL_THICKNESS / 2
    if axis == "x":
        return Box2D(start, fixed - half, end, fixed + half)
    return Box2D(fixed - half, start, fixed + half, end)
