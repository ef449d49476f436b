"""Route expert: labels route choices, not heading jitter, from any pose, following an episode's route.

The expert walks a *route*: the episode's reference-path points in order, ending with the goal (R2R's
instruction path). Unlike ``ShortestPathFollower`` it does not re-aim at the next path corner after every step
(which makes 15-degree corrections between forward moves whenever the path direction falls between two of the
24 reachable headings); it keeps a heading for as long as that heading still carries it to its steering point.

**Progress** along the route is the furthest arc length the agent has come within ``PROGRESS_RADIUS`` of, in
sight (free straight segment), over all positions it has visited (``progress``; ``advance`` adds one
position). It never goes backwards, so an agent that drifts off the route rejoins it where it left it,
and a route that passes a spot twice is walked in order.

**Steering points** (``steering_points``), from the current position ``p`` and the progress ``s``: the next
route point ``j0`` (the first with arc length > ``s``); if it is in sight of ``p``, the route points
``j0 .. j`` furthest first, ``j`` the furthest route point in sight such that every route point between
``j0`` and ``j`` lies within ``ROUTE_CORRIDOR`` of the straight line ``p -> j`` (so a straight stretch is one
target, and skipped points are still passed within the progress radius: the route is never cut); if ``j0``
is out of sight (behind a corner or a wall), the first corner of the geodesic path to it at least
``CORNER_PASS_RADIUS`` away, then the corner passed over before it if any (which decides when the far one
cannot be steered for, e.g. from beside a wall end: without it the expert circled such an end forever).

**Decision** (one mid-level action, as its low-level steps): STOP when every route point but the goal has
been passed and the goal is closer (geodesic) than ``stop_distance``. Otherwise the 24 headings reachable by
turning are scored against a steering point: *usable* when the error is at most ``MAX_HEADING_ERROR`` and
the line along the heading is free up to ``LINE_MARGIN`` short of the point's closest approach (at least
one step); the current heading is *kept* when usable and its line passes within ``MISS_TOLERANCE`` of the
point or its error is at most ``KEEP_ERROR``; a new heading is *chosen* only under the stricter rule (miss
within ``MISS_TOLERANCE`` or error within half a turn step). On the final ``FINAL_APPROACH`` metres to the
goal, both rules become "some forward step along the line ends within the stop distance". Steering points
are tried furthest first: the first that the current heading keeps means MOVE_FORWARD (repeated while kept
and not stopping, up to ``MAX_STEPS_PER_DECISION`` steps: 75 cm); the first that some heading is chosen for
means turning to the chosen heading with the smallest error (``MAX_STEPS_PER_DECISION`` turn steps per
decision, so 90 degrees is two decisions of 45); when none, the smallest-error heading whose first step is
free. A chosen heading is always kept on the next step (no back-and-forth), and while the agent walks
straight at a fixed point its miss distance does not change: a correction on a straight stretch happens
only once the error reaches ``KEEP_ERROR`` (the quantised headings can be up to 7.5 degrees off a corridor).

**Turn hysteresis** (for labelling another agent's states, e.g. DAgger): told the agent's last move was a
turn (``previous_turn``), the expert turns back the other way only when the heading it wants is within
``TURN_HYSTERESIS`` (90 degrees) of the current one; further round it keeps turning the agent's way (45
degrees). With the wanted heading behind the agent, which way is shorter cannot be seen in its view, and
shortest-turn labels there flip with a few degrees of heading: a policy cloned from them undoes its own turns
(left, right, left, ...); "keep turning the way you turned" is a rule it can follow from its previous move.

**Walks** (``walk``) repeat decisions up to STOP; a loop of the rules (a decision pose met again without
progress) is cut out and replaced by tight geodesic steering to the next route point (safety net; never
needed on the r1 episode sets). Pure Python/NumPy and deterministic: equal inputs give equal decisions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from navagent.envs.base import Action, AgentState, Episode
from navagent.envs.builtin.free_space import FreeSpace
from navagent.envs.builtin.geodesic import GeodesicPlanner
from navagent.envs.builtin.motion import MotionModel, wrap_angle
from navagent.envs.builtin.route_geometry import MAX_SNAP, lands_within, passes, snap_to_free, within_corridor

PROGRESS_RADIUS = 0.75  # metres: route points this close to (and in sight of) a visited position are reached
ROUTE_CORRIDOR = PROGRESS_RADIUS  # metres: skipped route points lie this close to the line (so are reached)
MISS_TOLERANCE = 0.7  # metres: a heading carries when its line passes this close to the steering point
FINAL_APPROACH = 1.5  # metres from the goal where headings must land a step within the stop distance
MAX_HEADING_ERROR = math.radians(60.0)  # a heading further off its steering point never carries
KEEP_ERROR = math.radians(30.0)  # the current heading is kept up to this error to the steering point
LINE_MARGIN = 0.5  # metres short of the closest approach where the free-line check ends (passed by then)
MAX_STEPS_PER_DECISION = 3  # low-level steps in one mid-level action (75 cm / 45 degrees)
# after the agent's turn, a wanted heading further than this round the other way: keep turning its way
TURN_HYSTERESIS = math.radians(90.0)
_ANGLE_EPS = math.radians(0.5)  # slack on "within half a turn step" for rounding
_STOP_MARGIN = 0.01  # metres inside the stop distance a landing step must be
_UNDERFOOT = 0.05  # metres: route points closer than this are passed over
CORNER_PASS_RADIUS = 0.25  # metres: geodesic corners closer than this are passed over (steer past them)
_MIN_SEGMENT = 1e-3  # metres: route points closer than this to the previous one are dropped
PASS_RADIUS = (
    PROGRESS_RADIUS - 0.05
)  # metres: a kept heading's ray passes every skipped route point this close
_NONE = np.zeros((0, 2))


def episode_route(episode: Episode, free_space: FreeSpace) -> list[np.ndarray]:
    """The route of an episode: its ``reference_path`` in order, then its first goal, each (3,) snapped onto
    the free space (``snap_to_free``); ValueError naming the point when one is more than ``MAX_SNAP`` off."""
    raw = [*episode.reference_path, episode.goals[0].position]
    points = []
    for index, point in enumerate(raw):
        snapped = snap_to_free(free_space, np.asarray(point, dtype=np.float64))
        if snapped is None:
            what = "goals[0].position" if index == len(raw) - 1 else f"reference_path[{index}]"
            raise ValueError(
                f"episode {episode.episode_id!r} (scene {episode.scene_id}): {what} {list(point)} is more "
                f"than {MAX_SNAP} m from the navigable area"
            )
        points.append(snapped)
    return points


class SteeringPoint(NamedTuple):
    """A point the expert may steer for: ``point`` (2,) planar, ``is_goal`` whether it is the goal, and
    ``skipped`` (B, 2) the route points before it that a heading toward it must pass (within the radius)."""

    point: np.ndarray
    is_goal: bool
    skipped: np.ndarray


@dataclass(frozen=True)
class ExpertWalk:
    """A walk of the expert: ``actions`` (T,) low-level actions ending with STOP, ``states`` (T,) the pose
    before each action (``states[0]`` the start), ``end`` the final pose, ``collisions`` the number of forward
    steps shortened by a contact, ``loops`` the number of loops cut out (see ``RouteExpert.walk``)."""

    actions: tuple[int, ...]
    states: tuple[AgentState, ...]
    end: AgentState
    collisions: int
    loops: int = 0


class RouteExpert:
    """The route expert of one episode (see the module docstring).

    planner / motion: the house's geodesic planner and motion model. route: the points to follow (each (3,),
    on the free space), ending with the goal (e.g. ``reference_path`` then ``goals[0].position``).
    stop_distance: metres (geodesic) from the goal at which the expert stops.
    """

    def __init__(
        self,
        planner: GeodesicPlanner,
        motion: MotionModel,
        route: Sequence[np.ndarray],
        stop_distance: float = 0.2,
    ) -> None:
        if len(route) == 0:
            raise ValueError("route is empty")
        if not stop_distance > 0.0:
            raise ValueError(f"stop_distance must be > 0, got {stop_distance}")
        points = np.asarray([np.asarray(p, dtype=np.float64)[[0, 2]] for p in route])  # (M, 2)
        for index, point in enumerate(points):
            if not planner.free_space.is_free(point[0], point[1]):
                raise ValueError(f"route point {index} {route[index]} is not on the free space")
        # a point that sits on the next one is dropped, so the goal stays last
        distinct = np.append(np.linalg.norm(np.diff(points, axis=0), axis=1) >= _MIN_SEGMENT, True)
        self.planner = planner
        self.motion = motion
        self.stop_distance = float(stop_distance)
        self.points = points[distinct]  # (M, 2) planar route points, the goal last
        self.arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(self.points, axis=0), axis=1))])
        self.goal = np.asarray(route[-1], dtype=np.float64)  # (3,)

    @classmethod
    def for_episode(
        cls, episode: Episode, planner: GeodesicPlanner, motion: MotionModel, stop_distance: float = 0.2
    ) -> RouteExpert:
        """The expert of ``episode`` in its house (``planner`` / ``motion``): route = ``episode_route``."""
        return cls(planner, motion, episode_route(episode, planner.free_space), stop_distance)

    # ------------------------------------------------------------------ progress
    def progress(self, positions: Sequence[np.ndarray] | np.ndarray) -> float:
        """Furthest route arc length (metres) reached in sight within ``PROGRESS_RADIUS`` of any of
        ``positions`` (K, 3); 0.0 for none."""
        points = np.asarray(positions, dtype=np.float64).reshape(-1, 3)[:, [0, 2]]
        return self._reach(points, 0.0)

    def advance(self, progress: float, position: np.ndarray) -> float:
        """``progress`` updated with one more visited ``position`` (3,)."""
        return self._reach(np.asarray(position, dtype=np.float64)[[0, 2]][None], progress)

    def _reach(self, points: np.ndarray, progress: float) -> float:
        """max(``progress``, furthest arc length reached from any of ``points`` (K, 2))."""
        if len(self.points) == 1 or len(points) == 0:
            return progress
        a, ab = self.points[:-1], np.diff(self.points, axis=0)  # (S, 2) segment starts and vectors
        length = np.linalg.norm(ab, axis=1)  # (S,)
        rel = points[:, None, :] - a  # (K, S, 2)
        t = np.clip(np.einsum("ksj,sj->ks", rel, ab) / length**2, 0.0, 1.0)  # (K, S)
        offset = np.linalg.norm(rel - t[..., None] * ab, axis=-1)  # (K, S)
        k, seg = np.nonzero(offset <= PROGRESS_RADIUS)
        if k.size == 0:
            return progress
        # the furthest point of each near segment within the radius; the best of those in sight
        along = np.minimum(
            length[seg], t[k, seg] * length[seg] + np.sqrt(PROGRESS_RADIUS**2 - offset[k, seg] ** 2)
        )
        reach = self.arc[seg] + along
        better = reach > progress
        if not better.any():
            return progress
        k, seg, along, reach = k[better], seg[better], along[better], reach[better]
        ends = a[seg] + (along / length[seg])[:, None] * ab[seg]
        seen = self.planner.free_space.segments_clear(points[k], ends)
        return max(progress, float(reach[seen].max())) if seen.any() else progress

    # ------------------------------------------------------------------ decisions
    def next_decision(
        self,
        state: AgentState,
        visited: Sequence[np.ndarray] | np.ndarray = (),
        previous_turn: Action | None = None,
    ) -> list[int]:
        """The low-level steps (``Action`` ints) of the expert's next mid-level action at ``state``, given the
        positions visited before it (K, 3) (any order; the current position is added): ``[STOP]``, 1-3 equal
        turns or 1-3 forward steps. ``previous_turn``: TURN_LEFT / TURN_RIGHT when the agent's last move was
        that turn (turn hysteresis, module docstring), None otherwise. Raises ValueError when the route is
        unreachable from the state."""
        progress = self.advance(self.progress(visited), state.position)
        return self.decide(state, progress, previous_turn)

    def decide(self, state: AgentState, progress: float, previous_turn: Action | None = None) -> list[int]:
        """``next_decision`` with the progress (metres, see ``progress``, current position included) given."""
        if previous_turn not in (None, Action.TURN_LEFT, Action.TURN_RIGHT):
            raise ValueError(f"previous_turn must be TURN_LEFT, TURN_RIGHT or None, got {previous_turn!r}")
        action, count = self._choice(state, progress, previous_turn)
        if action != Action.MOVE_FORWARD:
            return [int(action)] * count
        steps = [int(Action.MOVE_FORWARD)]
        while len(steps) < MAX_STEPS_PER_DECISION:
            state, collided = self.motion.step(state, Action.MOVE_FORWARD)
            progress = self.advance(progress, state.position)
            if collided or self._choice(state, progress)[0] != Action.MOVE_FORWARD:
                break
            steps.append(int(Action.MOVE_FORWARD))
        return steps

    def walk(
        self, state: AgentState, visited: Sequence[np.ndarray] | np.ndarray = (), max_steps: int = 500
    ) -> ExpertWalk:
        """The expert's walk from ``state`` (after ``visited`` positions) to its STOP: at most ``max_steps``
        actions, the last a STOP (forced at the limit: check the final distance when that matters).

        Safety net: a decision pose met again with no progress since (to 0.1 mm / 1e-4 rad) means the
        decision rules loop forever; the loop is cut out (the walk goes back to that pose) and from there the
        expert follows the geodesic to the next unreached route point with tight steering (``_follow``, as
        the shortest-path follower), one step per decision, until it is reached (the goal: until STOP)."""
        if max_steps < 1:
            raise ValueError(f"max_steps must be >= 1, got {max_steps}")
        progress = self.advance(self.progress(visited), state.position)
        actions: list[int] = []
        states: list[AgentState] = []
        contacts: list[bool] = []
        seen: dict[tuple[float, ...], int] = {}  # decision pose + progress -> its step
        towards, loops = None, 0  # the route point index followed to after a loop
        while len(actions) < max_steps - 1:
            key = (
                round(state.position[0], 4),
                round(state.position[2], 4),
                round(state.heading, 4),
                progress,
            )
            if towards is None and key in seen:
                cut = seen[key]
                state = states[cut]
                del actions[cut:], states[cut:], contacts[cut:]
                towards = min(int(np.searchsorted(self.arc, progress, side="right")), len(self.points) - 1)
                loops += 1
            seen.setdefault(key, len(actions))
            steps = self.decide(state, progress) if towards is None else self._follow(state, towards)
            if steps == [int(Action.STOP)]:
                break
            for action in steps[: max_steps - 1 - len(actions)]:
                actions.append(action)
                states.append(state)
                state, collided = self.motion.step(state, action)
                contacts.append(collided)
                progress = self.advance(progress, state.position)
            if towards is not None and towards < len(self.points) - 1 and progress >= self.arc[towards]:
                towards = None
                seen.clear()
        actions.append(int(Action.STOP))
        states.append(state)
        return ExpertWalk(tuple(actions), tuple(states), state, sum(contacts), loops)

    def _follow(self, state: AgentState, index: int) -> list[int]:
        """The walk's fallback after a loop: one step along the geodesic to route point ``index`` with tight
        steering (turn when more than half a turn step off the next path corner; STOP near the goal)."""
        target = np.array([self.points[index][0], self.goal[1], self.points[index][1]])
        last = index == len(self.points) - 1
        if last and self.planner.distance_to_goal(state.position, self.goal) < self.stop_distance:
            return [int(Action.STOP)]
        path = self.planner.path_to_goal(np.asarray(state.position, dtype=np.float64), target)
        if not path:
            raise ValueError(
                f"route point {index} {target.tolist()} is unreachable from {state.position.tolist()}"
            )
        p = np.asarray(state.position, dtype=np.float64)[[0, 2]]
        corner = next((c[[0, 2]] for c in path[1:] if np.hypot(*(c[[0, 2]] - p)) > 0.01), path[-1][[0, 2]])
        error = wrap_angle(math.atan2(p[0] - corner[0], p[1] - corner[1]) - state.heading)
        if abs(error) > self.motion.turn_angle / 2.0:
            return [int(Action.TURN_LEFT if error > 0 else Action.TURN_RIGHT)]
        return [int(Action.MOVE_FORWARD)]

    # ------------------------------------------------------------------ internals
    def steering_points(self, position: np.ndarray, progress: float) -> list[SteeringPoint]:
        """The points the expert may steer for from ``position`` (3,) at ``progress``, furthest first
        (module docstring): the route points ``j0 .. j`` in sight (``j`` the furthest one whose stretch stays
        in the corridor), or the first geodesic corner toward ``j0`` not passed over (then the one passed over
        before it) when ``j0`` is out of sight. Raises ValueError when ``j0`` is unreachable."""
        p = np.asarray(position, dtype=np.float64)[[0, 2]]
        last = len(self.points) - 1
        first = min(int(np.searchsorted(self.arc, progress, side="right")), last)
        ahead = self.points[first:]  # (A, 2)
        seen = self.planner.free_space.segments_clear(np.broadcast_to(p, ahead.shape), ahead)
        if seen[0]:
            best = 0
            for j in range(1, len(ahead)):
                if not seen[j] or not within_corridor(p, ahead[j], ahead[:j], ROUTE_CORRIDOR):
                    break
                best = j
            points = [
                SteeringPoint(ahead[j], first + j == last, ahead[:j])
                for j in range(best, -1, -1)
                if np.linalg.norm(ahead[j] - p) >= _UNDERFOOT or first + j == last
            ]
            if points:
                return points
        target3 = np.array([ahead[0][0], self.goal[1], ahead[0][1]])
        path = self.planner.path_to_goal(np.asarray(position, dtype=np.float64), target3)
        if not path:
            raise ValueError(
                f"route point {first} {target3.tolist()} is unreachable from {np.asarray(position).tolist()}"
            )
        ahead_far = [np.linalg.norm(c[[0, 2]] - p) >= CORNER_PASS_RADIUS for c in path[1:]] + [True]
        far = min(len(path) - 1, 1 + ahead_far.index(True))  # the first corner not passed over
        points = [SteeringPoint(path[far][[0, 2]], first == last and far == len(path) - 1, _NONE)]
        if far > 1:  # a passed-over corner stays a fallback when the corner beyond it cannot be steered for
            points.append(SteeringPoint(path[far - 1][[0, 2]], False, _NONE))
        return points

    def steering_point(self, position: np.ndarray, progress: float) -> tuple[np.ndarray, bool]:
        """The furthest of ``steering_points``: planar point (2,) and whether it is the goal."""
        furthest = self.steering_points(position, progress)[0]
        return furthest.point, furthest.is_goal

    def _finished_route(self, progress: float) -> bool:
        return len(self.points) == 1 or progress >= self.arc[-2]

    def _chosen_turn(self, state: AgentState, progress: float) -> int:
        """Signed number of turn steps (+ left) to the heading the expert wants; 0 keeps the current heading.

        The steering points are tried furthest first; the first one that the current heading keeps, or that
        some heading carries to, decides (``_score``). The current heading is kept under a looser rule
        (``KEEP_ERROR``) than a new one is chosen under (half a turn step), so a chosen heading is kept on
        the next step: no back-and-forth. When no point is carried to, the nearest decides: the smallest
        error among headings whose first step is free."""
        turn = self.motion.turn_angle
        count = max(1, round(2.0 * math.pi / turn))
        ks = np.arange(-(count // 2) + 1, count // 2 + 1)  # (24,) 0 is the current heading
        zero = int(np.flatnonzero(ks == 0)[0])
        headings = state.heading + ks * turn
        for target in self.steering_points(state.position, progress):
            errors, keep, choose, step_free = self._score(state.position, headings, target)
            if keep[zero]:
                return 0
            if choose.any():
                break
        else:
            choose = step_free if step_free.any() else np.ones_like(choose)
        candidates = np.flatnonzero(choose)
        # smallest error, then the smallest turn (the current heading first), then left before right
        best = min(candidates, key=lambda i: (round(float(errors[i]), 9), abs(int(ks[i])), -int(ks[i])))
        return int(ks[best])

    def _score(
        self, position: np.ndarray, headings: np.ndarray, target: SteeringPoint
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """For each heading (H,) radians against ``target``: its absolute error (H,) radians, whether it is
        kept / chosen (H,) bool (module docstring) and whether its first forward step is free (H,) bool."""
        p = np.asarray(position, dtype=np.float64)[[0, 2]]
        delta = target.point - p
        distance = float(np.hypot(*delta))
        desired = math.atan2(-delta[0], -delta[1])
        errors = np.abs(np.array([wrap_angle(desired - h) for h in headings]))
        forward = np.stack([-np.sin(headings), -np.cos(headings)], axis=1)  # (H, 2) planar unit vectors
        step = self.motion.forward_step
        along = distance * np.cos(errors)  # metres to the closest approach (negative: behind)
        miss = distance * np.sin(errors)
        free_space = self.planner.free_space
        starts = np.broadcast_to(p, forward.shape)
        step_free = free_space.segments_clear(starts, p + step * forward)
        reach = np.maximum(along - LINE_MARGIN, step)
        line_free = free_space.segments_clear(starts, p + reach[:, None] * forward)
        usable = line_free & (errors <= MAX_HEADING_ERROR) & passes(p, forward, target.skipped, PASS_RADIUS)
        if (
            target.is_goal and distance <= FINAL_APPROACH
        ):  # only a line whose steps land near the goal will do
            keep = choose = usable & lands_within(along, miss, step, self.stop_distance - _STOP_MARGIN)
        else:
            close = miss <= MISS_TOLERANCE
            keep = usable & (close | (errors <= KEEP_ERROR))
            choose = usable & (close | (errors <= self.motion.turn_angle / 2.0 + _ANGLE_EPS))
        return errors, keep, choose, step_free

    def _choice(
        self, state: AgentState, progress: float, previous_turn: Action | None = None
    ) -> tuple[Action, int]:
        """The next low-level action and how many of it make the decision: (STOP, 1), (a turn toward the
        wanted heading, 1-3 steps; after a ``previous_turn`` the other way only within ``TURN_HYSTERESIS``)
        or (MOVE_FORWARD, 1; the caller extends forward runs)."""
        if self._finished_route(progress):
            distance = self.planner.distance_to_goal(state.position, self.goal)
            if not math.isfinite(distance):
                raise ValueError(
                    f"goal {self.goal.tolist()} is unreachable from {np.asarray(state.position).tolist()}"
                )
            if distance < self.stop_distance:
                return Action.STOP, 1
        turn = self._chosen_turn(state, progress)
        if turn == 0:
            return Action.MOVE_FORWARD, 1
        if previous_turn is not None:
            side = 1 if previous_turn == Action.TURN_LEFT else -1
            if turn * side < 0 and abs(turn) * self.motion.turn_angle > TURN_HYSTERESIS + _ANGLE_EPS:
                turn = side * MAX_STEPS_PER_DECISION
        return (Action.TURN_LEFT if turn > 0 else Action.TURN_RIGHT), min(abs(turn), MAX_STEPS_PER_DECISION)
