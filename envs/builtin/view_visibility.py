"""What a rendered view of a built-in house shows: objects in the camera frustum, and the unoccluded pixels
of each object and room, from the renderer's depth output.

Every pixel's depth (distance along the optical axis, ``HouseRenderer``'s convention) is turned back into
the world point it shows (``ViewCamera.surface_points``). A pixel shows object ``o`` when that point lies in
``o``'s box (footprint grown by ``OBJECT_MARGIN``, from ``FLOOR_CLEARANCE`` above the floor up to its
height), and room ``r`` when the point lies in ``r``'s bounds (walls are centred on room borders, so a wall
face belongs to the room it faces). Pixels hidden behind a wall or another object show that one instead:
occlusion comes for free from the depth buffer. ``objects_in_frustum`` is the cheap geometric pre-test
(object box corners against the view frustum); an object in the frustum can still have zero pixels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from navagent.envs.builtin.house import FurnitureObject, House
from navagent.envs.builtin.renderer import HouseRenderer, perspective, view_matrix

OBJECT_MARGIN = 0.015  # metres around a footprint (objects stand >= 0.04 m apart, >= 0.03 m from walls)
FLOOR_CLEARANCE = 0.02  # floor pixels under a table are not the table
ROOM_TOLERANCE = 1e-3  # metres: points on a room's border count for it


@dataclass(frozen=True)
class ViewCamera:
    """Pinhole camera of ``HouseRenderer``: square pixels, horizontal field of view, eye above the feet."""

    width: int
    height: int
    hfov_deg: float
    camera_height: float
    near: float = 0.05
    far: float = 100.0

    @classmethod
    def of_renderer(cls, renderer: HouseRenderer) -> ViewCamera:
        return cls(renderer.width, renderer.height, renderer.hfov_deg, renderer.camera_height)

    def eye(self, position: np.ndarray) -> np.ndarray:
        """(3,) camera centre for the agent's feet at ``position`` (3,)."""
        return np.asarray(position, dtype=np.float64).reshape(3) + np.array([0.0, self.camera_height, 0.0])

    def view_projection(self, position: np.ndarray, heading: float) -> np.ndarray:
        """(4, 4) world -> clip matrix, the renderer's."""
        projection = perspective(self.hfov_deg, self.width / self.height, self.near, self.far)
        return projection @ view_matrix(self.eye(position), float(heading))

    def surface_points(self, position: np.ndarray, heading: float, depth: np.ndarray) -> np.ndarray:
        """World points (H, W, 3) seen at each pixel of ``depth`` (H, W) metres; NaN where nothing was drawn
        (depth <= 0). Row 0 is the top of the image, as the renderer returns it."""
        if depth.shape != (self.height, self.width):
            raise ValueError(f"depth has shape {depth.shape}, expected {(self.height, self.width)}")
        focal_x = 1.0 / math.tan(math.radians(self.hfov_deg) / 2.0)  # in NDC units, as in `perspective`
        focal_y = focal_x * self.width / self.height
        ndc_x = (np.arange(self.width) + 0.5) / self.width * 2.0 - 1.0
        ndc_y = 1.0 - (np.arange(self.height) + 0.5) / self.height * 2.0
        d = np.where(depth > 0, depth, np.nan).astype(np.float64)
        camera = np.stack(
            [ndc_x[None, :] * d / focal_x, ndc_y[:, None] * d / focal_y, -d], axis=-1
        )  # (H, W, 3) in camera axes (right, up, back)
        c, s = math.cos(heading), math.sin(heading)
        rotation = np.array([[c, 0.0, -s], [0.0, 1.0, 0.0], [s, 0.0, c]])  # rows: right, up, back (world)
        return camera @ rotation + self.eye(position)


def object_box(obj: FurnitureObject, margin: float = OBJECT_MARGIN) -> tuple[np.ndarray, np.ndarray]:
    """(low (3,), high (3,)) of the object's 3-D box: footprint grown by ``margin``, floor clearance to top."""
    fp = obj.footprint
    low = np.array([fp.x0 - margin, FLOOR_CLEARANCE, fp.z0 - margin])
    high = np.array([fp.x1 + margin, obj.height + margin, fp.z1 + margin])
    return low, high


def objects_in_frustum(house: House, camera: ViewCamera, position: np.ndarray, heading: float) -> list[int]:
    """Indices of the objects whose boxes are not entirely outside one plane of the view frustum (a
    conservative test: such an object may still be hidden, or just miss the view near a frustum corner)."""
    mvp = camera.view_projection(position, heading)
    inside = []
    for obj in house.objects:
        low, high = object_box(obj, margin=0.0)
        corners = np.array(
            [(x, y, z, 1.0) for x in (low[0], high[0]) for y in (0.0, high[1]) for z in (low[2], high[2])]
        )
        x, y, z, w = (corners @ mvp.T).T
        outside = (x < -w).all() or (x > w).all() or (y < -w).all() or (y > w).all() or (z < -w).all()
        if not outside:
            inside.append(obj.index)
    return inside


@dataclass(frozen=True)
class ViewContents:
    """What one view shows.

    object_pixels: {object index: pixels showing it}, only objects with at least one pixel.
    room_pixels: {room index: pixels whose surface lies in the room}, only rooms with at least one pixel.
    surface_pixels: pixels showing any surface (depth > 0).
    """

    object_pixels: dict[int, int]
    room_pixels: dict[int, int]
    surface_pixels: int

    def room_fraction(self, room_index: int) -> float:
        """Share of the surface pixels that lie in room ``room_index``."""
        return self.room_pixels.get(room_index, 0) / max(self.surface_pixels, 1)


def _inside(points: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """(N,) bool: points (N, 3) within [low, high] on every axis (NaN points are outside)."""
    return ((points >= low) & (points <= high)).all(axis=1)


def view_contents(
    house: House, camera: ViewCamera, position: np.ndarray, heading: float, depth: np.ndarray
) -> ViewContents:
    """Count the pixels of each object (in the frustum) and each room in a view rendered with ``depth``."""
    points = camera.surface_points(position, heading, depth).reshape(-1, 3)
    drawn = ~np.isnan(points).any(axis=1)
    points = points[drawn]
    by_index = {obj.index: obj for obj in house.objects}
    object_pixels = {}
    for index in objects_in_frustum(house, camera, position, heading):
        count = int(_inside(points, *object_box(by_index[index])).sum())
        if count:
            object_pixels[index] = count
    room_pixels = {}
    for room in house.rooms:
        b = room.bounds.inflate(ROOM_TOLERANCE)
        count = int(_inside(points, np.array([b.x0, -np.inf, b.z0]), np.array([b.x1, np.inf, b.z1])).sum())
        if count:
            room_pixels[room.index] = count
    return ViewContents(object_pixels, room_pixels, int(drawn.sum()))
