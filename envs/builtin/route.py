"""What a path through a house looks like to a person giving directions: rooms, doorways, turns, landmarks.

``describe_route(house, path_points)`` reads a path (the planner's corner waypoints or any denser polyline)
and returns a ``Route``: the room it starts in, each room change (with the turn taken at that doorway, if
any), turns away from doorways (with a landmark to turn at, if one is close), distinctive furniture passed on
the way, and where to stop (the nearest distinctive object to the goal, or a place in the goal room). The
instruction writer (``instructions``) only phrases a ``Route``; all geometry lives here.

Geometry is planar (x, z). Heading follows ``envs.base``: heading 0 looks along -z and a left turn increases
it, so the signed heading change between two path segments is positive for a left turn.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from navagent.envs.builtin.house import Box2D, FurnitureObject, House, Room

RESAMPLE_STEP = 0.1  # metres between the points the path is resampled to
SIMPLIFY_TOLERANCE = 0.15  # metres: Douglas-Peucker tolerance when finding the path's corners
MIN_TURN_DEG = 35.0  # a heading change smaller than this (after merging) is "going straight"
MAX_MERGED_TURN_DEG = 135.0  # corners are merged into one turn only up to this total
TURN_MERGE_GAP = 1.0  # metres: corners closer than this (same sense) form one turn
MIN_ROOM_RUN = 0.2  # metres: shorter stretches inside a room are ignored (grazing a doorway)
DOOR_TURN_RADIUS = 1.5  # metres: a turn this close to a room change is "the turn at that doorway"
DOOR_TURN_AT = 0.5  # metres: within this of the doorway the turn is "into" the room, else before/after
TURN_LANDMARK_RADIUS = 1.2  # metres from the turn point to a landmark footprint
PASS_RADIUS = 1.0  # metres from the path to a passed object's footprint
PASS_END_MARGIN = 1.0  # metres: objects passed closer than this to either end are not "passed"
NEXT_TO_RADIUS = 1.0  # metres from the goal to the stop landmark for "next to" / "in front of"
STOP_LANDMARK_RADIUS = 3.0  # metres: beyond this the stop is described by the room alone
INSIDE_DOOR_RADIUS = 1.5  # metres after the last doorway that count as "just inside" the goal room


@dataclass(frozen=True)
class Turn:
    direction: str  # "left" or "right"
    arc: float  # metres along the path where the turn happens
    angle_deg: float  # signed heading change, positive = left
    landmark: FurnitureObject | None = None  # something to turn at, when not at a doorway


@dataclass(frozen=True)
class RoomChange:
    from_room: Room
    to_room: Room
    arc: float  # metres along the path of the doorway crossing
    turn: Turn | None  # the turn taken at this doorway, None when going straight through
    timing: str  # where that turn is: "before" the doorway, "at" it, "after" it, "" without a turn


@dataclass(frozen=True)
class Passing:
    landmark: FurnitureObject
    side: str  # "left" or "right" of the walker
    arc: float  # metres along the path of the closest approach


@dataclass(frozen=True)
class StopPoint:
    room: Room | None
    landmark: FurnitureObject | None
    relation: str  # "next_to", "in_front_of" or "near" with a landmark; "" without
    placement: str  # without a landmark: "inside" (just past the door), "middle", "corner" or "" (anywhere)


@dataclass(frozen=True)
class Route:
    start_room: Room | None
    room_changes: tuple[RoomChange, ...]
    turns: tuple[Turn, ...]  # turns not taken at a doorway
    passings: tuple[Passing, ...]
    stop: StopPoint
    length: float  # metres

    def events(self) -> list[RoomChange | Turn | Passing]:
        """Room changes, free turns and passed landmarks in the order they happen along the path."""
        return sorted([*self.room_changes, *self.turns, *self.passings], key=lambda event: event.arc)

    def all_turn_directions(self) -> list[str]:
        """Directions of every turn, at doorways or not, in path order."""
        turns = [c.turn for c in self.room_changes if c.turn is not None] + list(self.turns)
        return [t.direction for t in sorted(turns, key=lambda t: t.arc)]


# ---------------------------------------------------------------------------------------- geometry helpers
def heading_of(delta: np.ndarray) -> float:
    """Heading (radians) of a planar direction ``delta`` (2,) = (dx, dz); heading 0 looks along -z."""
    return math.atan2(-float(delta[0]), -float(delta[1]))


def box_distance(box: Box2D, points: np.ndarray) -> np.ndarray:
    """Distance from each planar point (N, 2) to the rectangle ``box`` (0 inside); returns (N,)."""
    dx = np.maximum(np.maximum(box.x0 - points[:, 0], points[:, 0] - box.x1), 0.0)
    dz = np.maximum(np.maximum(box.z0 - points[:, 1], points[:, 1] - box.z1), 0.0)
    return np.hypot(dx, dz)


def resample(points: np.ndarray, step: float = RESAMPLE_STEP) -> tuple[np.ndarray, np.ndarray]:
    """Points every ``step`` metres along the polyline ``points`` (M, 2), both ends kept.

    Returns (dense (N, 2), arc (N,) metres from the start)."""
    seg = np.linalg.norm(np.diff(points, axis=0), axis=1)
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    arc = np.unique(np.concatenate([np.arange(0.0, cum[-1], step), [cum[-1]]]))
    dense = np.stack([np.interp(arc, cum, points[:, 0]), np.interp(arc, cum, points[:, 1])], axis=1)
    return dense, arc


def simplify(points: np.ndarray, tolerance: float = SIMPLIFY_TOLERANCE) -> np.ndarray:
    """Indices of the points (N, 2) that Ramer-Douglas-Peucker keeps (sorted, both ends included)."""
    keep = np.zeros(len(points), dtype=bool)
    keep[[0, -1]] = True
    stack = [(0, len(points) - 1)]
    while stack:
        i, j = stack.pop()
        if j - i < 2:
            continue
        a, b = points[i], points[j]
        ab = b - a
        rel = points[i + 1 : j] - a
        norm = float(np.hypot(*ab))
        if norm < 1e-12:
            dist = np.hypot(rel[:, 0], rel[:, 1])
        else:
            dist = np.abs(ab[0] * rel[:, 1] - ab[1] * rel[:, 0]) / norm
        k = int(np.argmax(dist))
        if dist[k] > tolerance:
            keep[i + 1 + k] = True
            stack += [(i, i + 1 + k), (i + 1 + k, j)]
    return np.flatnonzero(keep)


def is_distinctive(house: House, obj: FurnitureObject) -> bool:
    """No other object in the same room has the same category and colour."""
    return not any(
        other.index != obj.index
        and other.room_index == obj.room_index
        and other.category == obj.category
        and other.color_name == obj.color_name
        for other in house.objects
    )


# ------------------------------------------------------------------------------------------ path analysis
def _room_runs(house: House, dense: np.ndarray, arc: np.ndarray) -> list[tuple[Room, float, float]]:
    """Stretches of the path inside one room: (room, arc where it begins, arc where it ends)."""
    room_ids = np.full(len(dense), -1, dtype=np.int64)
    for position in range(len(house.rooms) - 1, -1, -1):  # reverse, so the first room listed wins (room_at)
        b = house.rooms[position].bounds
        x, z = dense[:, 0], dense[:, 1]
        inside = (b.x0 <= x) & (x <= b.x1) & (b.z0 <= z) & (z <= b.z1)
        room_ids[inside] = position
    runs: list[tuple[int, float, float]] = []
    start = 0
    for k in range(1, len(dense) + 1):
        if k == len(dense) or room_ids[k] != room_ids[start]:
            if room_ids[start] >= 0:
                runs.append((int(room_ids[start]), float(arc[start]), float(arc[k - 1])))
            start = k
    kept = [r for r in runs if r[2] - r[1] >= MIN_ROOM_RUN] or runs[:1]
    merged: list[tuple[int, float, float]] = []
    for run in kept:
        if merged and merged[-1][0] == run[0]:
            merged[-1] = (run[0], merged[-1][1], run[2])
        else:
            merged.append(run)
    return [(house.rooms[i], s0, s1) for i, s0, s1 in merged]


def _turns(dense: np.ndarray, arc: np.ndarray) -> list[Turn]:
    """Heading changes of at least ``MIN_TURN_DEG``, nearby corners of the same sense merged into one."""
    corners = simplify(dense)
    raw: list[tuple[float, float]] = []  # (arc, signed degrees)
    for prev, here, nxt in zip(corners[:-2], corners[1:-1], corners[2:]):
        change = math.remainder(
            heading_of(dense[nxt] - dense[here]) - heading_of(dense[here] - dense[prev]), math.tau
        )
        if abs(math.degrees(change)) >= 5.0:
            raw.append((float(arc[here]), math.degrees(change)))
    groups: list[list[tuple[float, float]]] = []
    for corner in raw:
        last = groups[-1] if groups else None
        if (
            last is not None
            and corner[0] - last[-1][0] < TURN_MERGE_GAP
            and math.copysign(1.0, corner[1]) == math.copysign(1.0, last[0][1])
            and abs(sum(c[1] for c in last) + corner[1]) <= MAX_MERGED_TURN_DEG
        ):
            last.append(corner)
        else:
            groups.append([corner])
    turns = []
    for group in groups:
        total = sum(c[1] for c in group)
        if abs(total) >= MIN_TURN_DEG:
            where = sum(c[0] for c in group) / len(group)
            turns.append(Turn("left" if total > 0 else "right", where, total))
    return turns


def _attach_turns(
    runs: list[tuple[Room, float, float]], turns: list[Turn]
) -> tuple[list[RoomChange], list[Turn]]:
    """Room changes, each with the nearest unclaimed turn within ``DOOR_TURN_RADIUS``; the other turns."""
    free = list(turns)
    changes = []
    for (room_a, _, end_a), (room_b, start_b, _) in itertools.pairwise(runs):
        door = (end_a + start_b) / 2.0
        near = [t for t in free if abs(t.arc - door) <= DOOR_TURN_RADIUS]
        turn = min(near, key=lambda t: abs(t.arc - door)) if near else None
        timing = ""
        if turn is not None:
            free.remove(turn)
            offset = turn.arc - door
            timing = "before" if offset < -DOOR_TURN_AT else "after" if offset > DOOR_TURN_AT else "at"
        changes.append(RoomChange(room_a, room_b, door, turn, timing))
    return changes, free


def _turn_landmarks(house: House, turns: list[Turn], dense: np.ndarray, arc: np.ndarray) -> list[Turn]:
    """Give each free turn the nearest distinctive object within ``TURN_LANDMARK_RADIUS`` of its corner."""
    result = []
    for turn in turns:
        point = dense[int(np.argmin(np.abs(arc - turn.arc)))][None]
        room = house.room_at(float(point[0, 0]), float(point[0, 1]))
        candidates = [
            (float(box_distance(o.footprint, point)[0]), o.index, o)
            for o in house.objects
            if room is not None and o.room_index == room.index and is_distinctive(house, o)
        ]
        candidates = [c for c in candidates if c[0] <= TURN_LANDMARK_RADIUS]
        landmark = min(candidates, key=lambda c: (c[0], c[1]))[2] if candidates else None
        result.append(Turn(turn.direction, turn.arc, turn.angle_deg, landmark))
    return result


def _passings(
    house: House, runs: list[tuple[Room, float, float]], dense: np.ndarray, arc: np.ndarray, exclude: set[int]
) -> list[Passing]:
    """At most one distinctive object per room stretch that the path passes within ``PASS_RADIUS``: the path
    comes closest to it strictly inside the stretch (not where the stretch, or the path, begins or ends)."""
    passings = []
    length = float(arc[-1])
    for room, s0, s1 in runs:
        window = (arc >= max(s0, PASS_END_MARGIN)) & (arc <= min(s1, length - PASS_END_MARGIN))
        if window.sum() < 2:
            continue
        points, where = dense[window], arc[window]
        best = None
        for obj in house.objects:
            if obj.room_index != room.index or obj.index in exclude or not is_distinctive(house, obj):
                continue
            dist = box_distance(obj.footprint, points)
            k = int(np.argmin(dist))
            passed = 0 < k < len(points) - 1  # closest in the middle of the stretch: approached, then left
            if passed and dist[k] <= PASS_RADIUS and (best is None or (dist[k], obj.index) < best[:2]):
                best = (float(dist[k]), obj.index, obj, k)
        if best is None:
            continue
        _, _, obj, k = best
        global_k = int(np.flatnonzero(window)[k])
        ahead = dense[min(global_k + 1, len(dense) - 1)] - dense[max(global_k - 1, 0)]
        to_obj = np.array(obj.footprint.center) - dense[global_k]
        left = np.array([ahead[1], -ahead[0]])  # left of the walking direction (heading + 90 degrees)
        side = "left" if float(to_obj @ left) > 0.0 else "right"
        passings.append(Passing(obj, side, float(where[k])))
    return passings


def _stop_point(
    house: House, runs: list[tuple[Room, float, float]], goal: np.ndarray, length: float
) -> StopPoint:
    """The nearest distinctive object of the goal room within ``STOP_LANDMARK_RADIUS``, or a place in it."""
    room = house.room_at(float(goal[0]), float(goal[1])) or (runs[-1][0] if runs else None)
    if room is None:
        return StopPoint(None, None, "", "")
    candidates = sorted(
        (float(box_distance(o.footprint, goal[None])[0]), o.index, o)
        for o in house.objects
        if o.room_index == room.index and is_distinctive(house, o)
    )
    if candidates and candidates[0][0] <= STOP_LANDMARK_RADIUS:
        dist, _, obj = candidates[0]
        relation = "near"
        if dist <= NEXT_TO_RADIUS:
            offset = goal - np.array(obj.footprint.center)
            front = np.array(obj.front_direction)
            half_depth = (obj.footprint.depth if abs(front[1]) > 0.5 else obj.footprint.width) / 2.0
            half_width = (obj.footprint.width if abs(front[1]) > 0.5 else obj.footprint.depth) / 2.0
            lateral = abs(float(offset @ np.array([front[1], -front[0]])))
            in_front = float(offset @ front) > half_depth and lateral <= half_width
            relation = "in_front_of" if in_front else "next_to"
        return StopPoint(room, obj, relation, "")
    bounds = room.bounds
    cx, cz = bounds.center
    walls_near = int(min(goal[0] - bounds.x0, bounds.x1 - goal[0]) < 1.0) + int(
        min(goal[1] - bounds.z0, bounds.z1 - goal[1]) < 1.0
    )
    if len(runs) > 1 and length - runs[-1][1] <= INSIDE_DOOR_RADIUS:
        placement = "inside"
    elif abs(goal[0] - cx) <= bounds.width / 4.0 and abs(goal[1] - cz) <= bounds.depth / 4.0:
        placement = "middle"
    elif walls_near == 2:
        placement = "corner"
    else:
        placement = ""
    return StopPoint(room, None, "", placement)


def describe_route(house: House, path_points) -> Route:
    """Analyse a path (sequence of (3,) points ``[x, y, z]``, at least two, start first) through ``house``."""
    points = np.asarray([np.asarray(p, dtype=np.float64).reshape(-1) for p in path_points])
    if points.ndim != 2 or points.shape[0] < 2 or points.shape[1] != 3:
        raise ValueError(f"path_points must be at least two 3-D points [x, y, z], got shape {points.shape}")
    if not np.isfinite(points).all():
        raise ValueError("path_points contains a non-finite coordinate")
    planar = points[:, [0, 2]]
    moving = np.concatenate([[True], np.linalg.norm(np.diff(planar, axis=0), axis=1) > 1e-9])
    planar = planar[moving]
    if len(planar) < 2:
        raise ValueError("path_points has zero length: start and goal coincide")
    dense, arc = resample(planar)
    runs = _room_runs(house, dense, arc)
    changes, free_turns = _attach_turns(runs, _turns(dense, arc))
    free_turns = _turn_landmarks(house, free_turns, dense, arc)
    stop = _stop_point(house, runs, dense[-1], float(arc[-1]))
    used = {t.landmark.index for t in free_turns if t.landmark is not None}
    if stop.landmark is not None:
        used.add(stop.landmark.index)
    passings = _passings(house, runs, dense, arc, used)
    return Route(
        start_room=runs[0][0] if runs else None,
        room_changes=tuple(changes),
        turns=tuple(free_turns),
        passings=tuple(passings),
        stop=stop,
        length=float(arc[-1]),
    )
