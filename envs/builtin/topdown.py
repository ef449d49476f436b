"""Top-down map of a house (PIL): rooms in their floor colours with type labels, dark walls, doorways,
furniture in its colours with short labels, and optionally the reference path, the agent's path and pose,
the start, and the goal with its success radius.

Image axes: column = x, row = z (both increasing), i.e. the view from above with -z (heading 0) up and
-x (heading pi/2, a left turn) to the left.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from navagent.envs.builtin.house import Box2D, House

BACKGROUND = (235, 235, 232)
WALL = (45, 45, 50)
DOOR = (200, 170, 120)
REFERENCE = (40, 100, 230)
AGENT = (235, 90, 20)
START = (30, 160, 60)
GOAL = (215, 30, 40)
_SHORT = {
    "coffee table": "c.table",
    "bookshelf": "books",
    "nightstand": "n.stand",
    "armchair": "armchr",
    "wardrobe": "wardrb",
    "bathtub": "tub",
    "counter": "countr",
}


def _font(size: int) -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow without FreeType: a fixed bitmap font
        return ImageFont.load_default()


class TopDownMap:
    """Draws ``house`` at ``px_per_m`` pixels per metre with ``margin_m`` metres around it."""

    def __init__(self, house: House, px_per_m: float = 40.0, margin_m: float = 0.5) -> None:
        if px_per_m <= 0:
            raise ValueError(f"px_per_m must be positive, got {px_per_m}")
        self.house = house
        self.px_per_m = float(px_per_m)
        bounds = house.bounds
        self.origin = np.array([bounds.x0 - margin_m, bounds.z0 - margin_m])
        self.width = math.ceil((bounds.width + 2 * margin_m) * self.px_per_m)
        self.height = math.ceil((bounds.depth + 2 * margin_m) * self.px_per_m)
        self._base: Image.Image | None = None

    def world_to_pixel(self, points: np.ndarray) -> np.ndarray:
        """World points (..., 3) (x, y, z) -> pixel coordinates (..., 2) (column, row), float."""
        points = np.asarray(points, dtype=np.float64)
        if points.shape[-1] != 3:
            raise ValueError(f"world_to_pixel expects points of shape (..., 3), got {points.shape}")
        return (points[..., [0, 2]] - self.origin) * self.px_per_m

    def _box(self, box: Box2D) -> list[float]:
        (c0, r0), (c1, r1) = self.world_to_pixel(np.array([[box.x0, 0, box.z0], [box.x1, 0, box.z1]]))
        return [c0, r0, c1, r1]

    def base_image(self) -> Image.Image:
        """The static part (rooms, walls, doorways, objects, labels), drawn once and cached."""
        if self._base is not None:
            return self._base
        image = Image.new("RGB", (self.width, self.height), BACKGROUND)
        draw = ImageDraw.Draw(image)
        for room in self.house.rooms:
            fill = tuple(int(255 * (0.35 + 0.65 * c)) for c in room.floor_color)  # lightened
            draw.rectangle(self._box(room.bounds), fill=fill)
        for wall in self.house.walls:
            draw.rectangle(self._box(wall.footprint), fill=WALL)
        for door in self.house.doorways:
            cx, cz = door.center
            half, thick = door.width / 2, 0.06
            opening = (
                Box2D(cx - half, cz - thick, cx + half, cz + thick)
                if door.axis == "x"
                else Box2D(cx - thick, cz - half, cx + thick, cz + half)
            )
            draw.rectangle(self._box(opening), fill=DOOR)
        small = _font(max(8, round(self.px_per_m * 0.22)))
        for obj in self.house.objects:
            color = tuple(int(255 * c) for c in obj.color)
            draw.rectangle(self._box(obj.footprint), fill=color, outline=(30, 30, 30))
            (col, row) = self.world_to_pixel(np.array([obj.footprint.center[0], 0, obj.footprint.center[1]]))
            label = _SHORT.get(obj.category, obj.category)
            draw.text(
                (col, row),
                label,
                fill=(0, 0, 0),
                font=small,
                anchor="mm",
                stroke_width=1,
                stroke_fill=(255, 255, 255),
            )
        big = _font(max(10, round(self.px_per_m * 0.34)))
        for room in self.house.rooms:
            cx, cz = room.bounds.center
            (col, row) = self.world_to_pixel(np.array([cx, 0, cz]))
            draw.text(
                (col, row),
                room.room_type,
                fill=(20, 20, 20),
                font=big,
                anchor="mm",
                stroke_width=2,
                stroke_fill=(255, 255, 255),
            )
        self._base = image
        return image

    def draw(
        self,
        reference_path: np.ndarray | None = None,
        agent_path: np.ndarray | None = None,
        goal: np.ndarray | None = None,
        start: np.ndarray | None = None,
        goal_radius: float | None = None,
        agent_heading: float | None = None,
    ) -> np.ndarray:
        """The map (H, W, 3) uint8 with paths ((N, 3) world points), start and goal ((3,) points), the goal
        radius (metres, a circle around the goal) and, with ``agent_heading``, an arrow at the last point
        of ``agent_path``."""
        image = self.base_image().copy()
        draw = ImageDraw.Draw(image)
        line = max(2, round(self.px_per_m * 0.07))
        dot = max(4, round(self.px_per_m * 0.15))
        if goal is not None and goal_radius is not None:
            (col, row), r = self.world_to_pixel(np.asarray(goal, float)), goal_radius * self.px_per_m
            draw.ellipse([col - r, row - r, col + r, row + r], outline=GOAL, width=max(1, line // 2))
        for path, color in ((reference_path, REFERENCE), (agent_path, AGENT)):
            if path is not None and len(path) > 0:
                pixels = [tuple(p) for p in self.world_to_pixel(np.asarray(path, float).reshape(-1, 3))]
                if len(pixels) > 1:
                    draw.line(pixels, fill=color, width=line, joint="curve")
                else:
                    draw.ellipse(_disc(pixels[0], line), fill=color)
        if start is not None:
            draw.ellipse(
                _disc(self.world_to_pixel(np.asarray(start, float)), dot), fill=START, outline=(0, 0, 0)
            )
        if goal is not None:
            draw.ellipse(
                _disc(self.world_to_pixel(np.asarray(goal, float)), dot), fill=GOAL, outline=(0, 0, 0)
            )
        if agent_heading is not None and agent_path is not None and len(agent_path) > 0:
            tip = np.asarray(agent_path, float).reshape(-1, 3)[-1]
            draw.polygon(self._arrow(tip, agent_heading, dot * 1.6), fill=AGENT, outline=(0, 0, 0))
        return np.asarray(image, dtype=np.uint8).copy()

    def _arrow(self, position: np.ndarray, heading: float, size: float) -> list[tuple[float, float]]:
        """Triangle pointing along the heading: forward (-sin h, -cos h) in (x, z) is (col, row) here."""
        center = self.world_to_pixel(position)
        forward = np.array([-math.sin(heading), -math.cos(heading)])
        side = np.array([-forward[1], forward[0]])
        points = [center + forward * size, center - forward * size * 0.6 + side * size * 0.6]
        points.append(center - forward * size * 0.6 - side * size * 0.6)
        return [tuple(p) for p in points]

    def save_png(self, path: str | Path, **draw_kwargs) -> Path:
        """Write ``draw(**draw_kwargs)`` to ``path`` (parent folders are created); returns the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(self.draw(**draw_kwargs)).save(path)
        return path


def _disc(center, radius: float) -> list[float]:
    col, row = center
    return [col - radius, row - radius, col + radius, row + radius]
