"""Data model of a procedural house: rooms, doorways, walls and furniture on the x-z floor plane.

Everything is axis-aligned: rooms and furniture footprints are ``Box2D`` rectangles (furniture yaw is a
multiple of 90 degrees), walls are thin boxes with gaps at doorways. Heights are along +y, floor at y = 0.
This module holds data only; ``generator`` builds houses, ``mesh``/``renderer`` draw them, ``navgrid``
turns their obstacles into a navigation grid.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

RGB = tuple[float, float, float]  # linear 0..1

DOOR_CLEARANCE_DEPTH = 1.0  # metres kept free of furniture on each side of a doorway


@dataclass(frozen=True)
class Box2D:
    """Axis-aligned rectangle on the floor plane, ``x0 <= x1`` and ``z0 <= z1`` (metres)."""

    x0: float
    z0: float
    x1: float
    z1: float

    @property
    def center(self) -> tuple[float, float]:
        return ((self.x0 + self.x1) / 2.0, (self.z0 + self.z1) / 2.0)

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def depth(self) -> float:
        return self.z1 - self.z0

    def contains(self, x: float, z: float, margin: float = 0.0) -> bool:
        return self.x0 - margin <= x <= self.x1 + margin and self.z0 - margin <= z <= self.z1 + margin

    def inflate(self, r: float) -> Box2D:
        return Box2D(self.x0 - r, self.z0 - r, self.x1 + r, self.z1 + r)

    def intersects(self, other: Box2D) -> bool:
        return self.x0 < other.x1 and other.x0 < self.x1 and self.z0 < other.z1 and other.z0 < self.z1


@dataclass(frozen=True)
class Room:
    index: int
    room_type: str  # "bedroom", "kitchen", "living room", ...
    bounds: Box2D  # interior floor area (walls lie on its border)
    floor_color: RGB
    wall_color: RGB
    floor_pattern: str  # texture name understood by the renderer, e.g. "wood", "tiles", "carpet"
    wall_pattern: str


@dataclass(frozen=True)
class Doorway:
    """An opening in the wall between two rooms. ``axis`` is the floor axis the opening spans ("x" or "z")."""

    rooms: tuple[int, int]
    center: tuple[float, float]
    width: float
    axis: str

    def clearance_box(self, depth: float = DOOR_CLEARANCE_DEPTH, side_margin: float = 0.0) -> Box2D:
        """The zone kept free of furniture: the opening (widened by ``side_margin`` on each end) extended
        ``depth`` metres from the wall's centre line into both rooms."""
        cx, cz = self.center
        half = self.width / 2.0 + side_margin
        if self.axis == "x":
            return Box2D(cx - half, cz - depth, cx + half, cz + depth)
        return Box2D(cx - depth, cz - half, cx + depth, cz + half)


@dataclass(frozen=True)
class Wall:
    footprint: Box2D
    height: float
    color: RGB


@dataclass(frozen=True)
class FurnitureObject:
    index: int
    category: str  # "bed", "sofa", "table", ...
    color_name: str  # "green", used in instructions
    color: RGB
    room_index: int
    footprint: Box2D
    height: float
    yaw_deg: int  # 0, 90, 180 or 270: the direction the object's front faces (0 = +z)

    @property
    def front_direction(self) -> tuple[float, float]:
        """Unit (x, z) vector the front faces: +z rotated by ``yaw_deg`` about +y (90 -> +x, 180 -> -z)."""
        yaw = math.radians(self.yaw_deg)
        return (round(math.sin(yaw), 12), round(math.cos(yaw), 12))


@dataclass(frozen=True)
class House:
    scene_id: str
    seed: int
    rooms: tuple[Room, ...]
    doorways: tuple[Doorway, ...]
    walls: tuple[Wall, ...]
    objects: tuple[FurnitureObject, ...]
    wall_height: float = 2.6

    @property
    def bounds(self) -> Box2D:
        boxes = [r.bounds for r in self.rooms] + [w.footprint for w in self.walls]
        return Box2D(
            min(b.x0 for b in boxes),
            min(b.z0 for b in boxes),
            max(b.x1 for b in boxes),
            max(b.z1 for b in boxes),
        )

    def room_at(self, x: float, z: float) -> Room | None:
        for room in self.rooms:
            if room.bounds.contains(x, z):
                return room
        return None

    def obstacle_footprints(self) -> list[Box2D]:
        """Every footprint the agent cannot enter: walls and furniture."""
        return [w.footprint for w in self.walls] + [o.footprint for o in self.objects]
