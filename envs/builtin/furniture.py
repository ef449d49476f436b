"""Furniture catalog and placement: which objects a room of each type gets, their sizes and colours, and
where they go (mostly against walls, facing into the room, never in a doorway's clearance zone, never
overlapping, and always leaving the room's free floor connected).

Object frame: width along local x, depth along local z, the front faces local +z; a ``yaw_deg`` rotation
about +y turns the front towards ``(sin yaw, cos yaw)`` (see ``FurnitureObject.front_direction``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from navagent.envs.builtin.house import RGB, Box2D, Doorway, FurnitureObject, Room

WALL_THICKNESS = 0.1
WALL_GAP = 0.03  # between a wall's face and furniture standing against it
OBJECT_GAP = 0.04  # minimum distance between two objects
DOOR_CLEARANCE = 1.15  # metres from the wall's centre line (1.0 m from its face, plus margin)
DOOR_SIDE_MARGIN = 0.15
AGENT_RADIUS = 0.1  # the simulator's agent: no pocket of free floor may be out of its reach
FREE_SPACE_MARGIN = 0.25  # agent radius plus slack: the room's free floor must stay connected with it too

COLORS: dict[str, RGB] = {
    "red": (0.76, 0.17, 0.14),
    "green": (0.27, 0.55, 0.24),
    "blue": (0.20, 0.36, 0.70),
    "yellow": (0.92, 0.78, 0.22),
    "orange": (0.92, 0.50, 0.16),
    "purple": (0.50, 0.29, 0.60),
    "pink": (0.90, 0.56, 0.66),
    "brown": (0.46, 0.30, 0.18),
    "white": (0.93, 0.93, 0.91),
    "black": (0.11, 0.11, 0.12),
    "gray": (0.50, 0.51, 0.53),
    "beige": (0.85, 0.76, 0.60),
    "teal": (0.14, 0.50, 0.50),
    "silver": (0.76, 0.77, 0.80),
}


@dataclass(frozen=True)
class FurnitureSpec:
    """Size ranges (metres, (min, max)) and allowed colour names of one category."""

    width: tuple[float, float]
    depth: tuple[float, float]
    height: tuple[float, float]
    colors: tuple[str, ...]


_SOFT = ("gray", "blue", "green", "red", "brown", "beige", "teal", "orange", "black")
_WOOD = ("brown", "white", "black", "gray")
CATALOG: dict[str, FurnitureSpec] = {
    "bed": FurnitureSpec(
        (1.4, 1.8), (2.0, 2.1), (0.95, 1.05), ("blue", "white", "gray", "green", "red", "purple")
    ),
    "sofa": FurnitureSpec((1.8, 2.2), (0.85, 0.95), (0.8, 0.9), _SOFT),
    "armchair": FurnitureSpec((0.8, 0.9), (0.8, 0.9), (0.85, 0.95), _SOFT + ("yellow",)),
    "table": FurnitureSpec((1.2, 1.6), (0.8, 0.9), (0.74, 0.76), _WOOD),
    "coffee table": FurnitureSpec((0.9, 1.1), (0.5, 0.6), (0.4, 0.45), _WOOD),
    "chair": FurnitureSpec(
        (0.45, 0.5), (0.45, 0.5), (0.85, 0.95), ("brown", "black", "white", "red", "blue")
    ),
    "fridge": FurnitureSpec((0.7, 0.75), (0.65, 0.7), (1.75, 1.85), ("white", "silver", "black", "red")),
    "plant": FurnitureSpec((0.4, 0.5), (0.4, 0.5), (0.9, 1.3), ("green",)),
    "lamp": FurnitureSpec(
        (0.35, 0.4), (0.35, 0.4), (1.45, 1.6), ("white", "yellow", "orange", "red", "blue")
    ),
    "shelf": FurnitureSpec((0.8, 1.2), (0.3, 0.35), (0.8, 1.0), _WOOD),
    "bookshelf": FurnitureSpec((0.8, 1.1), (0.3, 0.35), (1.8, 2.0), _WOOD),
    "tv": FurnitureSpec((1.2, 1.5), (0.4, 0.45), (1.15, 1.25), ("black", "gray", "silver", "white")),
    "toilet": FurnitureSpec((0.4, 0.45), (0.65, 0.7), (0.75, 0.8), ("white",)),
    "sink": FurnitureSpec((0.6, 0.8), (0.45, 0.5), (0.85, 0.9), ("white", "gray", "blue", "brown")),
    "bathtub": FurnitureSpec((1.6, 1.7), (0.75, 0.8), (0.55, 0.6), ("white", "beige", "pink")),
    "desk": FurnitureSpec((1.1, 1.4), (0.6, 0.7), (0.74, 0.76), _WOOD),
    "wardrobe": FurnitureSpec((1.0, 1.4), (0.55, 0.6), (1.95, 2.1), ("brown", "white", "gray", "black")),
    "dresser": FurnitureSpec(
        (0.9, 1.2), (0.45, 0.5), (0.8, 0.9), ("brown", "white", "blue", "green", "gray")
    ),
    "counter": FurnitureSpec((1.6, 2.4), (0.6, 0.65), (0.9, 0.92), ("white", "gray", "blue", "green", "red")),
    "stove": FurnitureSpec((0.6, 0.6), (0.6, 0.65), (0.9, 0.92), ("white", "black", "silver")),
    "bench": FurnitureSpec((1.0, 1.3), (0.35, 0.4), (0.45, 0.48), ("brown", "black", "white", "red")),
    "nightstand": FurnitureSpec((0.45, 0.5), (0.4, 0.45), (0.5, 0.55), _WOOD),
}

# (category, mode, anchor category). Modes: wall, corner, center, front (faces the anchor's front),
# facing (in front of the anchor, same way), beside (next to the anchor along its wall), opposite (on the
# wall opposite the anchor, facing it), around (a chair at a table).
Item = tuple[str, str, str | None]
ROOM_FURNITURE: dict[str, tuple[tuple[Item, ...], tuple[Item, ...]]] = {
    "bedroom": (
        (("bed", "wall", None),),
        (
            ("nightstand", "beside", "bed"),
            ("wardrobe", "wall", None),
            ("dresser", "wall", None),
            ("lamp", "corner", None),
            ("plant", "corner", None),
            ("desk", "wall", None),
            ("chair", "front", "desk"),
            ("armchair", "corner", None),
            ("bookshelf", "wall", None),
            ("tv", "opposite", "bed"),
        ),
    ),
    "kitchen": (
        (("counter", "wall", None), ("stove", "beside", "counter"), ("fridge", "beside", "counter")),
        (
            ("table", "center", None),
            ("chair", "around", "table"),
            ("chair", "around", "table"),
            ("plant", "corner", None),
            ("shelf", "wall", None),
            ("sink", "wall", None),
            ("dresser", "wall", None),
        ),
    ),
    "bathroom": (
        (("toilet", "wall", None), ("sink", "wall", None)),
        (("bathtub", "corner", None), ("shelf", "wall", None), ("plant", "corner", None)),
    ),
    "living room": (
        (("sofa", "wall", None),),
        (
            ("coffee table", "facing", "sofa"),
            ("tv", "opposite", "sofa"),
            ("armchair", "corner", None),
            ("plant", "corner", None),
            ("lamp", "beside", "sofa"),
            ("bookshelf", "wall", None),
            ("shelf", "wall", None),
            ("armchair", "wall", None),
            ("dresser", "wall", None),
        ),
    ),
    "hallway": (
        (),
        (
            ("plant", "corner", None),
            ("shelf", "wall", None),
            ("lamp", "corner", None),
            ("bench", "wall", None),
            ("dresser", "wall", None),
            ("bookshelf", "wall", None),
        ),
    ),
    "office": (
        (("desk", "wall", None), ("chair", "front", "desk")),
        (
            ("bookshelf", "wall", None),
            ("lamp", "corner", None),
            ("plant", "corner", None),
            ("armchair", "corner", None),
            ("shelf", "wall", None),
            ("dresser", "wall", None),
            ("bookshelf", "wall", None),
        ),
    ),
    "dining room": (
        (("table", "center", None), ("chair", "around", "table"), ("chair", "around", "table")),
        (
            ("chair", "around", "table"),
            ("chair", "around", "table"),
            ("dresser", "wall", None),
            ("plant", "corner", None),
            ("lamp", "corner", None),
            ("shelf", "wall", None),
            ("bookshelf", "wall", None),
        ),
    ),
}
FALLBACK_ITEMS: tuple[Item, ...] = (
    ("plant", "corner", None),
    ("lamp", "corner", None),
    ("shelf", "wall", None),
)

# inward normal of each wall side of a room, and the yaw that faces along it
_SIDES = {"z0": ((0, 1), 0), "x1": ((-1, 0), 270), "z1": ((0, -1), 180), "x0": ((1, 0), 90)}


@dataclass(frozen=True)
class _Placed:
    category: str
    center: tuple[float, float]
    width: float
    depth: float
    yaw: int

    @property
    def front(self) -> tuple[int, int]:
        return _direction(self.yaw)


def _direction(yaw: int) -> tuple[int, int]:
    return (round(math.sin(math.radians(yaw))), round(math.cos(math.radians(yaw))))


def footprint(center: tuple[float, float], width: float, depth: float, yaw: int) -> Box2D:
    """Axis-aligned footprint of an object of ``width`` x ``depth`` rotated by ``yaw`` (multiple of 90)."""
    half_x, half_z = (width / 2, depth / 2) if yaw % 180 == 0 else (depth / 2, width / 2)
    return Box2D(center[0] - half_x, center[1] - half_z, center[0] + half_x, center[1] + half_z)


def inner_bounds(room: Room) -> Box2D:
    """The floor a piece of furniture may cover: the room minus half a wall and a small gap."""
    return room.bounds.inflate(-(WALL_THICKNESS / 2 + WALL_GAP))


def _against_wall(inner: Box2D, side: str, along: float, width: float, depth: float) -> tuple[tuple, int]:
    """Centre and yaw of an object with its back on ``side`` of ``inner``, ``along`` in [0, 1] of the wall."""
    (nx, nz), yaw = _SIDES[side]
    if nx == 0:  # wall along x
        x = inner.x0 + width / 2 + along * max(inner.width - width, 0.0)
        z = inner.z0 + depth / 2 if nz > 0 else inner.z1 - depth / 2
    else:
        z = inner.z0 + width / 2 + along * max(inner.depth - width, 0.0)
        x = inner.x0 + depth / 2 if nx > 0 else inner.x1 - depth / 2
    return (x, z), yaw


def _candidate(
    mode: str, anchor: _Placed | None, inner: Box2D, size: tuple[float, float], rng: np.random.Generator
) -> tuple[tuple[float, float], int] | None:
    """One random (centre, yaw) proposal for ``mode``; None when the mode needs a missing anchor."""
    width, depth = size
    sides = list(_SIDES)
    if mode in ("wall", "corner"):
        lengths = np.array([inner.width if s[0] == "z" else inner.depth for s in sides])
        side = sides[rng.choice(4, p=lengths / lengths.sum())]
        along = rng.uniform() if mode == "wall" else float(rng.integers(0, 2))
        return _against_wall(inner, side, along, width, depth)
    if mode == "center":
        yaw = 0 if inner.width >= inner.depth else 90
        cx, cz = inner.center
        return (cx + rng.uniform(-0.4, 0.4), cz + rng.uniform(-0.4, 0.4)), yaw + 180 * int(rng.integers(0, 2))
    if anchor is None:
        return None
    (fx, fz), (ax, az) = anchor.front, anchor.center
    if mode in ("front", "facing"):
        gap = OBJECT_GAP + 0.02 if mode == "front" else rng.uniform(0.35, 0.5)
        reach = anchor.depth / 2 + gap + depth / 2
        yaw = (anchor.yaw + 180) % 360 if mode == "front" else anchor.yaw
        return (ax + fx * reach, az + fz * reach), yaw
    if mode == "beside":
        sign = 1 if rng.uniform() < 0.5 else -1
        tx, tz = -fz * sign, fx * sign  # tangent along the anchor's back wall
        shift = anchor.width / 2 + OBJECT_GAP + 0.02 + width / 2
        back = depth / 2 - anchor.depth / 2  # align the backs
        return (ax + tx * shift + fx * back, az + tz * shift + fz * back), anchor.yaw
    if mode == "opposite":
        yaw = (anchor.yaw + 180) % 360
        jitter = rng.uniform(-0.3, 0.3)
        if fx == 0:
            z = inner.z1 - depth / 2 if fz > 0 else inner.z0 + depth / 2
            return (ax + jitter, z), yaw
        x = inner.x1 - depth / 2 if fx > 0 else inner.x0 + depth / 2
        return (x, az + jitter), yaw
    if mode == "around":
        slot = int(rng.integers(0, 6))
        local = [(-0.25, 1), (0.25, 1), (-0.25, -1), (0.25, -1), (-1, 0), (1, 0)][slot]
        ux, uz = fz, -fx  # the anchor's local +x in world: (1, 0) rotated by its yaw
        off_x = local[0] * (
            anchor.width if abs(local[0]) < 1 else anchor.width / 2 + OBJECT_GAP + 0.04 + depth / 2
        )
        off_z = local[1] * (anchor.depth / 2 + OBJECT_GAP + 0.04 + depth / 2)
        cx = ax + ux * off_x + fx * off_z
        cz = az + uz * off_x + fz * off_z
        facing = (-local[0] if local[1] == 0 else 0, -local[1])  # chair faces the table, local frame
        world = (ux * facing[0] + fx * facing[1], uz * facing[0] + fz * facing[1])
        yaw = round(math.degrees(math.atan2(world[0], world[1]))) % 360
        return (cx, cz), yaw
    raise ValueError(f"unknown furniture placement mode {mode!r}")


def _free_space_connected(inner: Box2D, boxes: list[Box2D], cell: float = 0.05) -> bool:
    """Whether the room's free floor is one connected region (4-neighbourhood on a ``cell``-metre grid),
    both for an agent of radius AGENT_RADIUS (no unreachable pockets) and with the roomier
    FREE_SPACE_MARGIN (passages stay comfortably wide)."""
    for margin in (AGENT_RADIUS, FREE_SPACE_MARGIN):
        free_area = inner.inflate(-margin + WALL_GAP)  # ``margin`` from the wall faces
        xs = np.arange(free_area.x0 + cell / 2, free_area.x1, cell)
        zs = np.arange(free_area.z0 + cell / 2, free_area.z1, cell)
        if len(xs) == 0 or len(zs) == 0:
            return False
        gx, gz = np.meshgrid(xs, zs)
        free = np.ones(gx.shape, bool)
        for b in boxes:
            grown = b.inflate(margin)
            free &= ~((gx > grown.x0) & (gx < grown.x1) & (gz > grown.z0) & (gz < grown.z1))
        if ndimage.label(free)[1] != 1:
            return False
    return True


def furnish_room(
    room: Room, doorways: list[Doorway], first_index: int, rng: np.random.Generator
) -> list[FurnitureObject]:
    """3 to 8 objects for ``room`` (fewer only if even the fallback items do not fit; callers then retry)."""
    required, optional = ROOM_FURNITURE[room.room_type]
    inner = inner_bounds(room)
    keep_out = [d.clearance_box(DOOR_CLEARANCE, DOOR_SIDE_MARGIN) for d in doorways if room.index in d.rooms]
    area = room.bounds.width * room.bounds.depth
    target = int(rng.integers(4, 9)) + (2 if area > 20.0 else 0)  # big rooms get more
    target = max(3, min(target, int(area / 2.2), 5 if room.room_type == "hallway" else 8))
    order = [optional[i] for i in rng.permutation(len(optional))]
    placed: list[_Placed] = []
    for category, mode, anchor in required:  # against any wall if the preferred spot is taken
        if not _try_place((category, mode, anchor), inner, keep_out, placed, rng) and mode != "wall":
            _try_place((category, "wall", None), inner, keep_out, placed, rng)
    for item in order:
        if len(placed) >= target:
            break
        _try_place(item, inner, keep_out, placed, rng)
    for item in FALLBACK_ITEMS * 2:  # small things for corners, until the room has three objects
        if len(placed) >= 3:
            break
        _try_place(item, inner, keep_out, placed, rng)
    objects = []
    for p in placed:
        spec = CATALOG[p.category]
        color_name = spec.colors[int(rng.integers(0, len(spec.colors)))]
        height = round(float(rng.uniform(*spec.height)), 2)
        objects.append(
            FurnitureObject(
                index=first_index + len(objects),
                category=p.category,
                color_name=color_name,
                color=COLORS[color_name],
                room_index=room.index,
                footprint=footprint(p.center, p.width, p.depth, p.yaw),
                height=height,
                yaw_deg=p.yaw,
            )
        )
    return objects


def _try_place(
    item: Item,
    inner: Box2D,
    keep_out: list[Box2D],
    placed: list[_Placed],
    rng: np.random.Generator,
    tries: int = 30,
) -> bool:
    category, mode, anchor_name = item
    anchor = next((p for p in placed if p.category == anchor_name), None)
    if anchor_name is not None and anchor is None:
        return False
    spec = CATALOG[category]
    size = (_round(rng.uniform(*spec.width)), _round(rng.uniform(*spec.depth)))
    for _ in range(tries):
        proposal = _candidate(mode, anchor, inner, size, rng)
        if proposal is None:
            return False
        center, yaw = (round(proposal[0][0], 3), round(proposal[0][1], 3)), proposal[1]
        box = footprint(center, size[0], size[1], yaw)
        if not _inside(box, inner) or any(box.intersects(k) for k in keep_out):
            continue
        others = [footprint(p.center, p.width, p.depth, p.yaw) for p in placed]
        if any(box.intersects(o.inflate(OBJECT_GAP)) for o in others):
            continue
        if not _free_space_connected(inner, others + [box]):
            continue
        placed.append(_Placed(category, center, size[0], size[1], yaw))
        return True
    return False


def _inside(box: Box2D, inner: Box2D) -> bool:
    eps = 1e-6
    return (
        box.x0 >= inner.x0 - eps
        and box.x1 <= inner.x1 + eps
        and box.z0 >= inner.z0 - eps
        and box.z1 <= inner.z1 + eps
    )


def _round(v: float) -> float:
    return round(float(v) * 20) / 20
