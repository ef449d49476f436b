"""Planar geometry of the route expert (`navagent.envs.builtin.expert`): snapping route points onto the free
space, and the ray / segment tests its heading scores use. Pure NumPy."""

from __future__ import annotations

import numpy as np

from navagent.envs.builtin.free_space import FreeSpace

MAX_SNAP = 0.1  # metres a route point may be moved to reach the free space
_SNAP_SPACING = 0.005  # metres between the candidate points of a snap


def snap_to_free(free_space: FreeSpace, point: np.ndarray, max_offset: float = MAX_SNAP) -> np.ndarray | None:
    """``point`` (3,) when free, else the nearest free point of a 5 mm grid within ``max_offset`` metres
    (planar; y kept), None when there is none. Reference paths may graze obstacles: the built-in generator's
    resampling cuts path corners by about a millimetre, and R2R-CE paths come from another navmesh."""
    point = np.asarray(point, dtype=np.float64)
    if free_space.is_free(point[0], point[2]):
        return point
    steps = np.arange(-max_offset, max_offset + 1e-9, _SNAP_SPACING)
    offsets = np.stack(np.meshgrid(steps, steps, indexing="ij"), axis=-1).reshape(-1, 2)  # (M, 2)
    offsets = offsets[np.hypot(*offsets.T) <= max_offset + 1e-9]
    offsets = offsets[np.argsort(np.hypot(*offsets.T), kind="stable")]  # nearest first, fixed tie order
    free = free_space.are_free(point[[0, 2]] + offsets)
    if not free.any():
        return None
    dx, dz = offsets[int(np.argmax(free))]
    return np.array([point[0] + dx, point[1], point[2] + dz])


def lands_within(along: np.ndarray, miss: np.ndarray, step: float, radius: float) -> np.ndarray:
    """(H,) bool: does some forward step (0, 1, 2, ... steps of ``step`` metres) along each heading end within
    ``radius`` of a point ``along`` (H,) metres ahead and ``miss`` (H,) metres to the side?"""
    half_width = np.sqrt(np.maximum(radius**2 - miss**2, 0.0))
    first = np.ceil(np.maximum(along - half_width, 0.0) / step)  # first step count inside the window
    return (miss < radius) & (first * step < along + half_width)


def passes(start: np.ndarray, directions: np.ndarray, points: np.ndarray, radius: float) -> np.ndarray:
    """(H,) bool: does the ray from ``start`` (2,) along each unit direction (H, 2) pass within ``radius`` of
    every one of ``points`` (B, 2)?"""
    if len(points) == 0:
        return np.ones(len(directions), dtype=bool)
    offsets = points - start  # (B, 2)
    along = np.maximum(directions @ offsets.T, 0.0)  # (H, B) metres along each ray to the closest approach
    closest = start + along[..., None] * directions[:, None, :]  # (H, B, 2)
    return np.all(np.linalg.norm(closest - points, axis=-1) <= radius, axis=1)


def within_corridor(start: np.ndarray, end: np.ndarray, between: np.ndarray, radius: float) -> bool:
    """Do all points ``between`` (N, 2) lie within ``radius`` of the segment ``start -> end`` (2,)?"""
    ab = end - start
    length2 = float(ab @ ab)
    if length2 == 0.0:
        return bool(np.all(np.linalg.norm(between - start, axis=1) <= radius))
    t = np.clip((between - start) @ ab / length2, 0.0, 1.0)
    return bool(np.all(np.linalg.norm(start + t[:, None] * ab - between, axis=1) <= radius))
