"""Exact any-angle geodesic distances in a house: a visibility graph over the corners of the blocked boxes.

Free space (``free_space``) is the plane minus a union of axis-aligned boxes, so a shortest path is a
polyline that bends only at convex corners of that union. The planner keeps those corners, pushed
``CORNER_OFFSET`` outward along their diagonal so paths through them stay strictly free, links every pair
that sees each other (vectorised segment-vs-box tests) and runs Dijkstra from every corner once per house.

A query from ``p`` to ``g`` is then ``|p - g|`` when the segment is free, else
``min over corners u visible from p of |p - u| + cost_g[u]``, where ``cost_g`` (N,) is the geodesic from each
corner to ``g`` (built once per goal and cached). Every returned distance is the length of a real free
polyline, so ``distance >= euclidean`` holds exactly, with equality whenever the straight segment is free;
the corner offset makes paths around corners longer than the true geodesic by at most ~2e-3 m per corner.

Distances are planar (x-z); ``y`` is ignored. Points off the free space, and pairs in different connected
parts, get ``inf`` (never NaN); ``shortest_path`` then returns ``[]``.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import shortest_path as graph_shortest_path

from navagent.envs.builtin.free_space import FreeSpace
from navagent.envs.builtin.house import House
from navagent.envs.builtin.navgrid import NavGrid

CORNER_OFFSET = 1e-3  # metres each graph corner sits outside its box, along the corner's diagonal
_VISIBILITY_CHUNK = 16  # candidate corners tested per batch when looking for the best visible one
_PAIR_BLOCK = 4096  # corner pairs tested per vectorised batch while building the graph


def convex_corners(free_space: FreeSpace, offset: float = CORNER_OFFSET) -> np.ndarray:
    """(N, 2) graph nodes: box corners that are convex corners of the blocked union, moved ``offset`` out.

    A corner qualifies when the three quadrants around it outside its own box are free at distance
    ``offset`` (so corners buried in other boxes, or lying on a straight run of abutting boxes, are dropped).
    """
    boxes = free_space.blocked
    nodes = []
    for sx, sz, xi, zi in ((-1, -1, 0, 1), (1, -1, 2, 1), (-1, 1, 0, 3), (1, 1, 2, 3)):
        corner = np.stack([boxes[:, xi], boxes[:, zi]], axis=1)  # (K, 2)
        probes = [corner + offset * np.array(s) for s in ((sx, sz), (sx, -sz), (-sx, sz))]
        keep = np.logical_and.reduce([free_space.are_free(p) for p in probes])
        nodes.append(probes[0][keep])
    nodes = np.concatenate(nodes, axis=0) if nodes else np.zeros((0, 2))
    return np.unique(nodes, axis=0)


def _visibility_graph(free_space: FreeSpace, corners: np.ndarray) -> csr_matrix:
    """(N, N) sparse symmetric matrix of segment lengths between mutually visible corners."""
    n = len(corners)
    i_idx, j_idx = np.triu_indices(n, k=1)
    visible = np.zeros(i_idx.size, dtype=bool)
    for s in range(0, i_idx.size, _PAIR_BLOCK):
        a, b = corners[i_idx[s : s + _PAIR_BLOCK]], corners[j_idx[s : s + _PAIR_BLOCK]]
        visible[s : s + _PAIR_BLOCK] = free_space.segments_clear(a, b)
    i_idx, j_idx = i_idx[visible], j_idx[visible]
    lengths = np.linalg.norm(corners[i_idx] - corners[j_idx], axis=1)
    rows, cols = np.concatenate([i_idx, j_idx]), np.concatenate([j_idx, i_idx])
    return csr_matrix((np.concatenate([lengths, lengths]), (rows, cols)), shape=(n, n))


@dataclass(frozen=True)
class GoalField:
    """Geodesic field of one goal: ``cost`` (N,) metres from each corner to the goal (inf if cut off), and
    ``exit`` (N,) int, the last corner before the goal on that corner's shortest path (-1 if none)."""

    goal: np.ndarray  # (2,) x, z
    reachable: bool  # the goal is on the free space
    cost: np.ndarray
    exit: np.ndarray


def _planar(point: np.ndarray, name: str) -> np.ndarray:
    p = np.asarray(point, dtype=np.float64)
    if p.shape != (3,):
        raise ValueError(f"{name} must be a 3-D point [x, y, z], got shape {p.shape}")
    return p[[0, 2]]


class GeodesicPlanner:
    """Shortest free paths between points of one house (see the module docstring)."""

    def __init__(
        self,
        house: House,
        agent_radius: float = 0.1,
        navgrid: NavGrid | None = None,
        max_cached_goals: int = 256,
    ) -> None:
        if navgrid is not None and not math.isclose(navgrid.agent_radius, agent_radius):
            raise ValueError(f"navgrid was built for agent_radius {navgrid.agent_radius}, not {agent_radius}")
        self.house = house
        self.free_space = (
            navgrid.free_space if navgrid is not None else FreeSpace.from_house(house, agent_radius)
        )
        self.corners = convex_corners(self.free_space)
        n = len(self.corners)
        if n:
            graph = _visibility_graph(self.free_space, self.corners)
            dist, pred = graph_shortest_path(graph, method="D", directed=False, return_predecessors=True)
        else:
            dist, pred = np.zeros((0, 0)), np.zeros((0, 0), dtype=np.int32)
        self.corner_distances = dist  # (N, N) geodesic between corners, inf across disconnected parts
        self._predecessors = pred  # (N, N): pred[i, j] = node before j on the path i -> j
        self._fields: OrderedDict[tuple[float, float], GoalField] = OrderedDict()
        self._max_cached_goals = max_cached_goals

    # -------------------------------------------------------------- public API
    def distance(self, a: np.ndarray, b: np.ndarray) -> float:
        """Geodesic distance in metres from ``a`` (3,) to ``b`` (3,); inf if unreachable or off the free space."""
        return self._query(_planar(a, "a"), self._field(_planar(b, "b"), cache=False))[0]

    def shortest_path(self, a: np.ndarray, b: np.ndarray) -> list[np.ndarray]:
        """Waypoints (3,) from ``a`` to ``b`` inclusive (y taken from ``a``); ``[]`` if unreachable."""
        a3 = np.asarray(a, dtype=np.float64)
        _, route = self._query(_planar(a, "a"), self._field(_planar(b, "b"), cache=False))
        return self._lift(route, a3, np.asarray(b, dtype=np.float64))

    def distance_to_goal(self, point: np.ndarray, goal: np.ndarray) -> float:
        """``distance(point, goal)`` with the goal's field cached: cheap for repeated queries to one goal."""
        return self._query(_planar(point, "point"), self._field(_planar(goal, "goal"), cache=True))[0]

    def path_to_goal(self, point: np.ndarray, goal: np.ndarray) -> list[np.ndarray]:
        """``shortest_path(point, goal)`` with the goal's field cached."""
        p3 = np.asarray(point, dtype=np.float64)
        _, route = self._query(_planar(point, "point"), self._field(_planar(goal, "goal"), cache=True))
        return self._lift(route, p3, np.asarray(goal, dtype=np.float64))

    def is_navigable(self, point: np.ndarray) -> bool:
        p = _planar(point, "point")
        return self.free_space.is_free(p[0], p[1])

    # ---------------------------------------------------------------- internals
    def _field(self, goal: np.ndarray, cache: bool) -> GoalField:
        key = (float(goal[0]), float(goal[1]))
        field = self._fields.get(key)
        if field is not None:
            self._fields.move_to_end(key)
            return field
        field = self._build_field(goal)
        if cache:
            self._fields[key] = field
            while len(self._fields) > self._max_cached_goals:
                self._fields.popitem(last=False)
        return field

    def _build_field(self, goal: np.ndarray) -> GoalField:
        n = len(self.corners)
        cost, exit_corner = np.full(n, np.inf), np.full(n, -1, dtype=np.int64)
        reachable = self.free_space.is_free(goal[0], goal[1])
        if reachable and n:
            seen = np.flatnonzero(self.free_space.segments_clear(self.corners, np.broadcast_to(goal, (n, 2))))
            if seen.size:
                hop = np.linalg.norm(self.corners[seen] - goal, axis=1)
                totals = hop[:, None] + self.corner_distances[seen]  # (V, N) via each visible corner
                best = np.argmin(totals, axis=0)
                cost = totals[best, np.arange(n)]
                exit_corner = np.where(np.isfinite(cost), seen[best], -1)
        return GoalField(goal=goal, reachable=reachable, cost=cost, exit=exit_corner)

    def _query(self, point: np.ndarray, field: GoalField) -> tuple[float, list[np.ndarray]]:
        """Distance and planar route (list of (2,) points, both ends included) from ``point`` to the goal."""
        free = self.free_space
        if not (field.reachable and free.is_free(point[0], point[1])):
            return math.inf, []
        totals = np.linalg.norm(self.corners - point, axis=1) + field.cost  # (N,)
        order = np.argsort(totals)
        order = order[np.isfinite(totals[order])]
        # the goal itself is tested with the first batch: seen directly, the straight line is the answer
        targets = np.concatenate([field.goal[None], self.corners[order[: _VISIBILITY_CHUNK - 1]]])
        seen = free.segments_clear(np.broadcast_to(point, targets.shape), targets)
        if seen[0]:
            return float(np.linalg.norm(point - field.goal)), [point, field.goal]
        candidates, seen = order[: _VISIBILITY_CHUNK - 1], seen[1:]
        start = candidates.size
        while not seen.any():  # walk the corners by total length until one is visible
            if start >= order.size:
                return math.inf, []
            candidates = order[start : start + _VISIBILITY_CHUNK]
            start += candidates.size
            seen = free.segments_clear(np.broadcast_to(point, (candidates.size, 2)), self.corners[candidates])
        first = int(candidates[np.argmax(seen)])
        return float(totals[first]), [point, *self._corner_route(first, int(field.exit[first])), field.goal]

    def _corner_route(self, start: int, end: int) -> list[np.ndarray]:
        """Corner positions along the graph's shortest path from corner ``start`` to corner ``end``."""
        route, node = [start], start
        while node != end:
            node = int(self._predecessors[end, node])
            route.append(node)
        return [self.corners[i] for i in route]

    @staticmethod
    def _lift(route: list[np.ndarray], start: np.ndarray, end: np.ndarray) -> list[np.ndarray]:
        """Planar route -> 3-D waypoints; the ends are the caller's points, inner corners take start's y."""
        if not route:
            return []
        inner = [np.array([p[0], start[1], p[1]]) for p in route[1:-1]]
        return [start.copy(), *inner, end.copy()]
