"""Labels the simulator knows about one rendered view, for pretraining a vision tower (``view_labels``).

A view is the agent's camera at ``position`` with yaw ``heading`` and the renderer's depth output. Its labels:

* ``room``: the type of the room the agent stands in (``ROOM_TYPES``).
* per horizontal sector (``NUM_SECTORS`` equal bands of image columns, left to right, of the 90 degree field
  of view), all depth-checked from the depth buffer (``view_visibility.ViewCamera.surface_points``):

  - ``door``: a doorway is seen in the sector: at least ``MIN_DOOR_FRACTION`` of the sector's pixels look
    *through* its opening (the pixel's ray crosses the door plane inside the opening, below ``DOOR_HEIGHT``,
    and ends beyond the wall, so nothing hides the opening), crossing it at most ``DOOR_RANGE`` metres away.
  - ``through``: the type of the room behind the sector's most visible such doorway (None without one).
  - ``objects``: furniture categories with at least ``min_visible_pixels`` pixels in the sector (the
    scene-QA threshold, ``sceneqa.min_visible_pixels``); ``colors``: those objects' colour names.
  - ``depth``: free-space bin (``DEPTH_BIN_EDGES``) of the sector's median over columns of the horizontal
    distance to the nearest obstacle surface (walls, furniture: points between ``OBSTACLE_HEIGHTS``, so
    neither floor nor ceiling).

Mirroring the image left-right mirrors the world, so labels of a flipped image are ``ViewLabels.flipped()``:
the sectors in reverse order, everything else unchanged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from navagent.envs.builtin.furniture import CATALOG, COLORS
from navagent.envs.builtin.generator import FLOOR_PATTERNS, WALL_THICKNESS
from navagent.envs.builtin.house import Doorway, House
from navagent.envs.builtin.mesh import DOOR_HEIGHT
from navagent.envs.builtin.sceneqa import min_visible_pixels
from navagent.envs.builtin.view_visibility import ViewCamera, object_box, objects_in_frustum

ROOM_TYPES: tuple[str, ...] = tuple(sorted(FLOOR_PATTERNS))
CATEGORIES: tuple[str, ...] = tuple(sorted(CATALOG))
COLOR_NAMES: tuple[str, ...] = tuple(sorted(COLORS))
NUM_SECTORS = 4
DEPTH_BIN_EDGES: tuple[float, ...] = (1.0, 2.0, 4.0)  # metres: bins <1, 1-2, 2-4, >=4
DEPTH_BINS: tuple[str, ...] = ("<1m", "1-2m", "2-4m", ">=4m")
DOOR_RANGE = 6.0  # metres from the camera to where a pixel's ray crosses the doorway
MIN_DOOR_FRACTION = 0.03  # of a sector's pixels looking through one doorway
DOOR_PLANE_MARGIN = WALL_THICKNESS / 2 + 0.01  # a surface beyond this is past the wall (not a jamb)
MIN_EYE_TO_DOOR_PLANE = 0.15  # metres: a camera standing in the opening sees no doorway "ahead" of it
OBSTACLE_HEIGHTS = (0.1, 2.0)  # metres: surfaces between these heights block the way
LABEL_STRIDE = 2  # labels look at every second pixel row and column


@dataclass(frozen=True)
class ViewLabels:
    """Labels of one view (see the module docstring); every per-sector field has ``NUM_SECTORS`` entries,
    left to right. Category, colour and room names come from ``CATEGORIES``, ``COLOR_NAMES``, ``ROOM_TYPES``."""

    room: str
    door: tuple[bool, ...]
    through: tuple[str | None, ...]
    objects: tuple[tuple[str, ...], ...]
    colors: tuple[tuple[str, ...], ...]
    depth: tuple[int, ...]

    def flipped(self) -> ViewLabels:
        """The labels of the left-right mirrored image: sectors reversed."""
        return ViewLabels(
            self.room,
            self.door[::-1],
            self.through[::-1],
            self.objects[::-1],
            self.colors[::-1],
            self.depth[::-1],
        )

    def to_json(self) -> dict:
        """A JSON-ready dict (door as 0/1); ``from_json`` reads it back."""
        return {
            "room": self.room,
            "door": [int(d) for d in self.door],
            "through": list(self.through),
            "objects": [list(o) for o in self.objects],
            "colors": [list(c) for c in self.colors],
            "depth": list(self.depth),
        }

    @classmethod
    def from_json(cls, data: dict) -> ViewLabels:
        return cls(
            room=data["room"],
            door=tuple(bool(d) for d in data["door"]),
            through=tuple(data["through"]),
            objects=tuple(tuple(o) for o in data["objects"]),
            colors=tuple(tuple(c) for c in data["colors"]),
            depth=tuple(int(d) for d in data["depth"]),
        )


def sector_of_columns(width: int, num_sectors: int = NUM_SECTORS) -> np.ndarray:
    """(width,) sector index of each image column: equal bands, left to right."""
    return (np.arange(width) * num_sectors) // width


def depth_bin(distance: float) -> int:
    """Index into ``DEPTH_BINS`` of a free distance in metres (inf: the last bin)."""
    return int(np.searchsorted(DEPTH_BIN_EDGES, distance, side="right"))


def door_through_pixels(
    doorway: Doorway, eye: np.ndarray, points: np.ndarray, max_range: float = DOOR_RANGE
) -> np.ndarray:
    """(H, W) bool: pixels whose ray from ``eye`` (3,) to their surface point (``points`` (H, W, 3), NaN
    where nothing was drawn) passes through ``doorway``'s opening within ``max_range`` metres and ends past the
    wall. All False when the eye is within ``MIN_EYE_TO_DOOR_PLANE`` of the door plane."""
    across = 2 if doorway.axis == "x" else 0  # the opening spans x at fixed z (or z at fixed x)
    along = 0 if doorway.axis == "x" else 2
    plane = doorway.center[1] if doorway.axis == "x" else doorway.center[0]
    middle = doorway.center[0] if doorway.axis == "x" else doorway.center[1]
    eye_side = eye[across] - plane
    if abs(eye_side) < MIN_EYE_TO_DOOR_PLANE:
        return np.zeros(points.shape[:2], dtype=bool)
    with np.errstate(invalid="ignore", divide="ignore"):
        beyond = (points[..., across] - plane) * -np.sign(eye_side) > DOOR_PLANE_MARGIN
        t = (plane - eye[across]) / (points[..., across] - eye[across])  # ray parameter at the door plane
        crossing_along = eye[along] + t * (points[..., along] - eye[along])
        crossing_height = eye[1] + t * (points[..., 1] - eye[1])
        crossing_range = t * np.hypot(points[..., 0] - eye[0], points[..., 2] - eye[2])
        return (
            beyond
            & (np.abs(crossing_along - middle) <= doorway.width / 2)
            & (crossing_height >= 0.0)
            & (crossing_height <= DOOR_HEIGHT)
            & (crossing_range <= max_range)
        )


def _room_behind(house: House, doorway: Doorway, eye: np.ndarray) -> str:
    """Type of the doorway's room on the far side of its plane from ``eye``."""
    across = 1 if doorway.axis == "x" else 0  # index into Box2D.center (x, z)
    plane = doorway.center[across]
    first, second = (house.rooms[i] for i in doorway.rooms)
    eye_value = eye[2] if doorway.axis == "x" else eye[0]
    first_far = (first.bounds.center[across] - plane) * (eye_value - plane) < 0
    return (first if first_far else second).room_type


def _obstacle_distance_per_column(eye: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(W,) horizontal distance from ``eye`` to the nearest obstacle surface in each column (inf if none)."""
    height = points[..., 1]
    with np.errstate(invalid="ignore"):
        obstacle = (height >= OBSTACLE_HEIGHTS[0]) & (height <= OBSTACLE_HEIGHTS[1])
    distance = np.hypot(points[..., 0] - eye[0], points[..., 2] - eye[2])
    return np.where(obstacle, distance, np.inf).min(axis=0)


def _object_sector_pixels(
    house: House,
    camera: ViewCamera,
    position: np.ndarray,
    heading: float,
    points: np.ndarray,
    sectors: np.ndarray,
) -> dict[int, np.ndarray]:
    """{object index: (K,) pixels of ``points`` (H', W', 3) inside its box per sector}, objects with any.
    ``sectors`` (W',) is each column's sector. Points are sorted by x once, so each object only tests the
    points within its x range."""
    flat = points.reshape(-1, 3)
    flat_sectors = np.broadcast_to(sectors, points.shape[:2]).reshape(-1)
    drawn = ~np.isnan(flat).any(axis=1)
    flat, flat_sectors = flat[drawn], flat_sectors[drawn]
    order = np.argsort(flat[:, 0], kind="stable")
    flat, flat_sectors = flat[order], flat_sectors[order]
    by_index = {obj.index: obj for obj in house.objects}
    counts = {}
    for index in objects_in_frustum(house, camera, position, heading):
        low, high = object_box(by_index[index])
        start = np.searchsorted(flat[:, 0], low[0], side="left")
        stop = np.searchsorted(flat[:, 0], high[0], side="right")
        candidates = flat[start:stop]
        inside = ((candidates[:, 1:] >= low[1:]) & (candidates[:, 1:] <= high[1:])).all(axis=1)
        if inside.any():
            counts[index] = np.bincount(flat_sectors[start:stop][inside], minlength=NUM_SECTORS)
    return counts


def view_labels(
    house: House,
    camera: ViewCamera,
    position: np.ndarray,
    heading: float,
    depth: np.ndarray,
    stride: int = LABEL_STRIDE,
) -> ViewLabels:
    """The labels of the view from ``position`` (3,) with yaw ``heading`` rendered with ``depth`` (H, W).

    Pixels are sampled every ``stride`` rows and columns (their exact surface points); pixel thresholds are
    fractions of the sampled pixels."""
    position = np.asarray(position, dtype=np.float64).reshape(3)
    room = house.room_at(float(position[0]), float(position[2]))
    if room is None:
        raise ValueError(f"position {position.tolist()} is in no room of {house.scene_id}")
    eye = camera.eye(position)
    points = camera.surface_points(position, heading, depth)[::stride, ::stride]  # (H', W', 3)
    sectors = sector_of_columns(camera.width)[::stride]  # (W',)
    sector_pixels = np.bincount(sectors, minlength=NUM_SECTORS) * points.shape[0]  # (K,)

    best_door = np.zeros(NUM_SECTORS)
    through: list[str | None] = [None] * NUM_SECTORS
    for doorway in house.doorways:
        if math.dist((eye[0], eye[2]), doorway.center) > DOOR_RANGE + doorway.width / 2:
            continue
        per_column = door_through_pixels(doorway, eye, points).sum(axis=0)  # (W',)
        fraction = np.bincount(sectors, weights=per_column, minlength=NUM_SECTORS) / sector_pixels
        for k in np.flatnonzero((fraction >= MIN_DOOR_FRACTION) & (fraction > best_door)):
            best_door[k] = fraction[k]
            through[k] = _room_behind(house, doorway, eye)

    min_pixels = min_visible_pixels(points.shape[1], points.shape[0])
    by_index = {obj.index: obj for obj in house.objects}
    objects: list[set[str]] = [set() for _ in range(NUM_SECTORS)]
    colors: list[set[str]] = [set() for _ in range(NUM_SECTORS)]
    for index, per_sector in _object_sector_pixels(house, camera, position, heading, points, sectors).items():
        for k in np.flatnonzero(per_sector >= min_pixels):
            objects[k].add(by_index[index].category)
            colors[k].add(by_index[index].color_name)

    column_free = _obstacle_distance_per_column(eye, points)
    depth_bins = tuple(depth_bin(float(np.median(column_free[sectors == k]))) for k in range(NUM_SECTORS))
    return ViewLabels(
        room=room.room_type,
        door=tuple(bool(b > 0) for b in best_door),
        through=tuple(through),
        objects=tuple(tuple(sorted(o, key=CATEGORIES.index)) for o in objects),
        colors=tuple(tuple(sorted(c, key=COLOR_NAMES.index)) for c in colors),
        depth=depth_bins,
    )


def heading_towards(position: np.ndarray, target: tuple[float, float]) -> float:
    """Yaw (radians, the simulator's convention: 0 looks along -z, left turns increase it) from ``position``
    (3,) towards the floor point ``target`` (x, z)."""
    dx, dz = target[0] - float(position[0]), target[1] - float(position[2])
    return math.atan2(-dx, -dz)
