"""Analytic free space of a house: where the centre of a disc-shaped agent may be, as a union of blocked boxes.

The agent's centre may be anywhere on the *floor* (the union of the room rectangles, plus the passage
through a doorway where two rooms do not share a border) and nowhere inside an obstacle footprint (walls and
furniture) inflated by the agent radius. Both parts are expressed as axis-aligned boxes, ``blocked``
(K, 4) rows ``[x0, z0, x1, z1]``: the inflated obstacles, and the complement of the floor inside a margin
around the house. A point is free when it lies in no box's *open* interior, so a point on a face is free.

This is the one definition of free space: the navigation grid rasterises it, the geodesic planner builds its
visibility graph over it and the motion model sweeps the agent against it, so all three agree exactly.
Inflating a box by the radius (rather than taking the disc's rounded Minkowski sum) treats the agent as a
square of half-width ``agent_radius`` for collisions; it is slightly conservative at obstacle corners.

Two clean-ups keep that union faithful: channels narrower than ``MIN_PASSAGE`` between two blocked boxes
(e.g. furniture 0.205 m apart leaves a 5 mm channel for the centre of a 0.1 m-radius agent) are closed with
filler boxes, so the 5 cm grid sees every passage the planner and the motion model use; and boxes that
merely touch (the tiles of the floor complement) get a filler over their seam, because a seam between two
open boxes would otherwise count as a free line.
"""

from __future__ import annotations

import numpy as np

from navagent.envs.builtin.house import Box2D, House

OUTER_MARGIN = 1.0  # metres of blocked ring around the house bounds, so nothing escapes the boxes
MIN_PASSAGE = 0.05  # metres: narrower channels for the agent's centre are closed (the default grid cell)
SEAM_PAD = 1e-6  # metres a gap filler reaches into the two boxes it joins


def floor_boxes(house: House) -> list[Box2D]:
    """Room rectangles plus, for each doorway between rooms separated by a wall gap, the passage box
    bridging that gap (nothing is added where the two rooms share a border)."""
    rooms = {room.index: room.bounds for room in house.rooms}
    boxes = list(rooms.values())
    for door in house.doorways:
        missing = [i for i in door.rooms if i not in rooms]
        if missing:
            raise ValueError(
                f"house {house.scene_id}: doorway at {door.center} names unknown room(s) {missing}"
            )
        a, b = (rooms[i] for i in door.rooms)
        cx, cz = door.center
        half = door.width / 2.0
        gap_x = (min(a.x1, b.x1), max(a.x0, b.x0))  # (lo, hi): hi > lo when separated along x
        gap_z = (min(a.z1, b.z1), max(a.z0, b.z0))
        if gap_x[1] > gap_x[0]:
            boxes.append(Box2D(gap_x[0], cz - half, gap_x[1], cz + half))
        elif gap_z[1] > gap_z[0]:
            boxes.append(Box2D(cx - half, gap_z[0], cx + half, gap_z[1]))
    return boxes


def complement_boxes(covered: list[Box2D], outer: Box2D) -> list[Box2D]:
    """Boxes tiling ``outer`` minus the union of ``covered`` (coordinate compression, then runs merged
    along x within each z-strip and identical runs merged across strips)."""
    xs = np.unique([outer.x0, outer.x1, *[b.x0 for b in covered], *[b.x1 for b in covered]])
    zs = np.unique([outer.z0, outer.z1, *[b.z0 for b in covered], *[b.z1 for b in covered]])
    xs = xs[(xs >= outer.x0) & (xs <= outer.x1)]
    zs = zs[(zs >= outer.z0) & (zs <= outer.z1)]
    cx, cz = (xs[:-1] + xs[1:]) / 2.0, (zs[:-1] + zs[1:]) / 2.0
    arr = np.array([[b.x0, b.z0, b.x1, b.z1] for b in covered]).reshape(-1, 4)
    inside_x = (arr[:, 0, None] <= cx) & (cx <= arr[:, 2, None])  # (B, nx)
    inside_z = (arr[:, 1, None] <= cz) & (cz <= arr[:, 3, None])  # (B, nz)
    cell_covered = np.einsum("bz,bx->zx", inside_z.astype(np.int64), inside_x.astype(np.int64)) > 0
    result: list[Box2D] = []
    open_runs: dict[tuple[int, int], int] = {}  # (x-run start, end) -> z index where the run began
    for k in range(len(cz) + 1):
        runs: set[tuple[int, int]] = set()
        if k < len(cz):  # the last pass (k == len(cz)) has no runs and closes every open one
            edges = np.flatnonzero(np.diff(np.concatenate([[0], (~cell_covered[k]).astype(np.int8), [0]])))
            runs = {(int(s), int(e)) for s, e in zip(edges[::2], edges[1::2])}
        for run in list(open_runs):
            if run not in runs:
                z_start = open_runs.pop(run)
                result.append(Box2D(xs[run[0]], zs[z_start], xs[run[1]], zs[k]))
        for run in runs:
            open_runs.setdefault(run, k)
    return result


def gap_fillers(boxes: np.ndarray, min_passage: float = MIN_PASSAGE, pad: float = SEAM_PAD) -> np.ndarray:
    """Boxes (F, 4) closing every gap narrower than ``min_passage`` between two of ``boxes`` (K, 4).

    Two boxes whose extents overlap along one axis and are ``0 <= gap < min_passage`` apart along the other
    get a filler spanning the gap over the overlap; two boxes diagonally within ``min_passage`` on both
    axes get one spanning the rectangle between their corners. Fillers reach ``pad`` into both boxes so
    the union's interior is connected across the seam. Fillers inside an existing box are dropped.
    """
    if len(boxes) < 2:
        return np.zeros((0, 4))
    i, j = np.triu_indices(len(boxes), k=1)
    a, b = boxes[i], boxes[j]
    lo = np.minimum(a[:, 2:], b[:, 2:])  # (P, 2) the nearer far-edges, x and z
    hi = np.maximum(a[:, :2], b[:, :2])  # (P, 2) the nearer near-edges
    gap = hi - lo  # >= 0: separated (or touching) along that axis; < 0: extents overlap
    narrow = (gap >= 0.0) & (gap < min_passage)
    overlap = gap < 0.0
    straight_x, straight_z = narrow[:, 0] & overlap[:, 1], narrow[:, 1] & overlap[:, 0]
    diagonal = narrow[:, 0] & narrow[:, 1]
    pad_x = np.where(straight_x | diagonal, pad, 0.0)
    pad_z = np.where(straight_z | diagonal, pad, 0.0)
    x0, x1 = np.minimum(lo[:, 0], hi[:, 0]) - pad_x, np.maximum(lo[:, 0], hi[:, 0]) + pad_x
    z0, z1 = np.minimum(lo[:, 1], hi[:, 1]) - pad_z, np.maximum(lo[:, 1], hi[:, 1]) + pad_z
    fillers = np.stack([x0, z0, x1, z1], axis=1)[straight_x | straight_z | diagonal]
    if not len(fillers):
        return fillers
    contained = (
        (boxes[None, :, 0] <= fillers[:, None, 0])
        & (boxes[None, :, 1] <= fillers[:, None, 1])
        & (fillers[:, None, 2] <= boxes[None, :, 2])
        & (fillers[:, None, 3] <= boxes[None, :, 3])
    ).any(axis=1)
    return np.unique(fillers[~contained], axis=0)


class FreeSpace:
    """Blocked boxes ``blocked`` (K, 4) float64 ``[x0, z0, x1, z1]``; free = outside every open box."""

    def __init__(self, blocked: np.ndarray, agent_radius: float, bounds: Box2D) -> None:
        self.blocked = np.ascontiguousarray(blocked, dtype=np.float64).reshape(-1, 4)
        self.agent_radius = float(agent_radius)
        self.bounds = bounds  # the blocked ring's outer edge; everything outside it is blocked too
        self._lo, self._hi = self.blocked[:, :2].copy(), self.blocked[:, 2:].copy()  # (K, 2) each

    @classmethod
    def from_house(cls, house: House, agent_radius: float = 0.1) -> FreeSpace:
        if not agent_radius >= 0.0:
            raise ValueError(f"agent_radius must be >= 0, got {agent_radius}")
        if not house.rooms:
            raise ValueError(f"house {house.scene_id} has no rooms")
        obstacles = [box.inflate(agent_radius) for box in house.obstacle_footprints()]
        hb = house.bounds
        outer = Box2D(hb.x0 - OUTER_MARGIN, hb.z0 - OUTER_MARGIN, hb.x1 + OUTER_MARGIN, hb.z1 + OUTER_MARGIN)
        outside_floor = complement_boxes(floor_boxes(house), outer)
        boxes = np.array([[b.x0, b.z0, b.x1, b.z1] for b in obstacles + outside_floor], dtype=np.float64)
        boxes = boxes.reshape(-1, 4)
        boxes = boxes[(boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])]  # drop empty boxes
        return cls(np.concatenate([boxes, gap_fillers(boxes)]), agent_radius, outer)

    # ------------------------------------------------------------------ points
    def are_free(self, points: np.ndarray) -> np.ndarray:
        """points (M, 2) ``[x, z]`` -> (M,) bool."""
        p = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        q = p[:, None, :]
        inside_axes = (self._lo < q) & (q < self._hi)  # (M, K, 2)
        inside = inside_axes[..., 0] & inside_axes[..., 1]  # (M, K)
        b = self.bounds
        within = (b.x0 <= p[:, 0]) & (p[:, 0] <= b.x1) & (b.z0 <= p[:, 1]) & (p[:, 1] <= b.z1)
        return within & ~inside.any(axis=1)

    def is_free(self, x: float, z: float) -> bool:
        x, z = float(x), float(z)
        b = self.bounds
        if not (b.x0 <= x <= b.x1 and b.z0 <= z <= b.z1):  # also False for NaN
            return False
        lo, hi = self._lo, self._hi
        inside = (lo[:, 0] < x) & (x < hi[:, 0]) & (lo[:, 1] < z) & (z < hi[:, 1])
        return not inside.any()

    # ---------------------------------------------------------------- segments
    def _slab_times(self, starts: np.ndarray, deltas: np.ndarray) -> tuple[np.ndarray, ...]:
        """Entry/exit parameters of segments ``start + t * delta`` against every open box.

        starts, deltas: (M, 2). Returns (t_in, t_enter, t_exit): ``t_in`` (M, K, 2) the entry parameter of
        each axis slab, ``t_enter``/``t_exit`` (M, K); a segment enters a box's open interior iff
        ``max(t_enter, 0) < min(t_exit, 1)``.
        """
        p, d = starts[:, None, :], deltas[:, None, :]  # (M, 1, 2)
        still = d == 0.0  # parallel to a slab: inside it for every t, or never
        inv = 1.0 / np.where(still, 1.0, d)
        t1, t2 = (self._lo - p) * inv, (self._hi - p) * inv  # (M, K, 2)
        t_in, t_out = np.minimum(t1, t2), np.maximum(t1, t2)
        if still.any():
            inside = (self._lo < p) & (p < self._hi)
            t_in = np.where(still, np.where(inside, -np.inf, np.inf), t_in)
            t_out = np.where(still, np.where(inside, np.inf, -np.inf), t_out)
        # binary ufuncs over the two axes: much faster than reductions along a length-2 axis
        return t_in, np.maximum(t_in[..., 0], t_in[..., 1]), np.minimum(t_out[..., 0], t_out[..., 1])

    def segments_clear(self, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """starts, ends (M, 2) -> (M,) bool: the closed segment meets no open blocked box (touching a face
        or a corner is allowed). The endpoints must be inside ``bounds`` for the answer to mean free."""
        starts = np.asarray(starts, dtype=np.float64).reshape(-1, 2)
        ends = np.asarray(ends, dtype=np.float64).reshape(-1, 2)
        _, t_enter, t_exit = self._slab_times(starts, ends - starts)
        hits = np.maximum(t_enter, 0.0) < np.minimum(t_exit, 1.0)
        return ~hits.any(axis=1)

    def segment_clear(self, a: np.ndarray, b: np.ndarray) -> bool:
        """a, b (2,) ``[x, z]``: True if both ends are free and the segment between them is free."""
        if not (self.is_free(a[0], a[1]) and self.is_free(b[0], b[1])):
            return False
        return bool(self.segments_clear(np.asarray(a)[None], np.asarray(b)[None])[0])

    def first_contact(self, start: np.ndarray, delta: np.ndarray) -> tuple[float, int]:
        """Sweep the point ``start`` (2,) (free) along ``delta`` (2,).

        Returns ``(t, axis)``: the fraction of ``delta`` travelled before entering a blocked box (1.0 when
        nothing is hit) and the axis of the face hit (0: a face of constant x, 1: constant z, -1: nothing
        hit or a corner hit head-on).
        """
        t_in, t_enter, t_exit = self._slab_times(
            np.asarray(start, dtype=np.float64).reshape(1, 2),
            np.asarray(delta, dtype=np.float64).reshape(1, 2),
        )
        hits = (np.maximum(t_enter, 0.0) < np.minimum(t_exit, 1.0))[0]
        if not hits.any():
            return 1.0, -1
        candidates = np.flatnonzero(hits)
        k = candidates[np.argmin(t_enter[0, candidates])]
        t = max(float(t_enter[0, k]), 0.0)
        tx, tz = float(t_in[0, k, 0]), float(t_in[0, k, 1])
        axis = 0 if tx > tz else 1 if tz > tx else -1
        return t, axis
