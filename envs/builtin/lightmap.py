"""Baked brightness of floors and ceilings: a soft light at each room's ceiling centre, darkening near
walls (ambient occlusion) and soft contact shadows around furniture.

Floors and ceilings are then single quads per room (few triangles: the CPU rasteriser's cost is mostly per
triangle) whose fragment shader multiplies in this map. One texture holds both: floor texels in the left
half, ceiling texels in the right half; values are brightness factors scaled by ``1 / LIGHTMAP_RANGE``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from navagent.envs.builtin.furniture import WALL_THICKNESS
from navagent.envs.builtin.house import Box2D, House, Room

LIGHTMAP_TEXEL = 0.05  # metres per texel
LIGHTMAP_RANGE = 1.6  # texel value 255 means brightness x1.6


@dataclass
class Lightmap:
    """``image`` (rows, 2 * cols) uint8; texel (r, c) of the floor half covers x from
    ``origin[0] + c * texel``, z from ``origin[1] + r * texel``."""

    image: np.ndarray
    origin: tuple[float, float]
    texel: float
    cols: int
    rows: int

    def uv(self, x: np.ndarray, z: np.ndarray, ceiling: bool) -> np.ndarray:
        """Texture coordinates (n, 2) of floor (or ceiling) points (x, z), each (n,)."""
        u = (np.asarray(x) - self.origin[0]) / (self.texel * self.cols)
        v = (np.asarray(z) - self.origin[1]) / (self.texel * self.rows)
        return np.column_stack([(u + (1.0 if ceiling else 0.0)) / 2.0, v])


def room_light(
    room: Room, x: np.ndarray, y: np.ndarray | float, z: np.ndarray, wall_height: float
) -> np.ndarray:
    """Brightness factor of a lamp at ``room``'s ceiling centre at points (x, y, z) (same shapes)."""
    cx, cz = room.bounds.center
    sigma = 0.45 * max(room.bounds.width, room.bounds.depth)
    r2 = (x - cx) ** 2 + (z - cz) ** 2 + 0.3 * (wall_height - y) ** 2
    return 0.82 + 0.33 * np.exp(-r2 / (2 * sigma**2))


def box_distance(x: np.ndarray, z: np.ndarray, box: Box2D) -> np.ndarray:
    """Distance from points (x, z) to ``box`` on the floor plane (0 inside)."""
    dx = np.maximum(np.maximum(box.x0 - x, x - box.x1), 0.0)
    dz = np.maximum(np.maximum(box.z0 - z, z - box.z1), 0.0)
    return np.hypot(dx, dz)


def bake_lightmap(house: House, texel: float = LIGHTMAP_TEXEL) -> Lightmap:
    bounds = house.bounds
    cols, rows = math.ceil(bounds.width / texel), math.ceil(bounds.depth / texel)
    floor = np.ones((rows, cols))
    ceiling = np.ones((rows, cols))
    for room in house.rooms:
        b = room.bounds
        c0, c1 = int((b.x0 - bounds.x0) / texel), min(cols, math.ceil((b.x1 - bounds.x0) / texel))
        r0, r1 = int((b.z0 - bounds.z0) / texel), min(rows, math.ceil((b.z1 - bounds.z0) / texel))
        x = bounds.x0 + (np.arange(c0, c1) + 0.5) * texel
        z = bounds.z0 + (np.arange(r0, r1) + 0.5) * texel
        gx, gz = np.meshgrid(x, z)  # (r1 - r0, c1 - c0)
        inner = b.inflate(-WALL_THICKNESS / 2)
        to_wall = np.maximum(
            np.minimum.reduce([gx - inner.x0, inner.x1 - gx, gz - inner.z0, inner.z1 - gz]), 0.0
        )
        shade = room_light(room, gx, 0.0, gz, house.wall_height) * (1.0 - 0.3 * np.exp(-to_wall / 0.12))
        for obj in house.objects:
            if obj.room_index == room.index:
                shade *= 1.0 - 0.5 * np.exp(-box_distance(gx, gz, obj.footprint.inflate(-0.04)) / 0.1)
        floor[r0:r1, c0:c1] = shade
        top = room_light(room, gx, house.wall_height, gz, house.wall_height)
        ceiling[r0:r1, c0:c1] = 1.45 * top * (1.0 - 0.25 * np.exp(-to_wall / 0.25))
    image = np.concatenate([floor, ceiling], axis=1) / LIGHTMAP_RANGE
    return Lightmap(
        np.clip(image * 255.0 + 0.5, 0, 255).astype(np.uint8), (bounds.x0, bounds.z0), texel, cols, rows
    )
