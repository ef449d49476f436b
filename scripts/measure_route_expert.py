"""Label quality and closed-loop figures of the route expert against the shortest-path follower.

    navagent data episodes --split train --scenes 10 --per-scene 10 --seed 0 --out data/expert_check
    python scripts/measure_route_expert.py data/expert_check/train/train.json.gz --recoveries 3

For every episode both labellers walk the route (reference path, then the goal) from the episode's start;
their low-level actions are merged into mid-level decisions as `navagent data trajectories` does. Reported:
the label distribution, the share of 15-degree turns that sit between two forward moves (heading jitter),
STOP share and decisions per episode; the share of decisions whose nearest other decision point of the same
walk (pose distance: metres + 0.5 m per radian of heading) has a different label; success (STOP under 3 m,
and under the 0.2 m stop distance) and SPL of the walks; recovery: the expert walked from perturbed poses
(0.5-1.5 m sideways of a random walk step, heading +-60 degrees, as `navagent.train.recovery` draws them, but
kept whatever happens next) with the success and the share that completed the route in order; and the
expert's decisions per second (``next_decision`` with the visited positions, and ``decide`` with a kept
progress). Single process; set OMP_NUM_THREADS=1 for stable timings. Episodes the expert does not finish
(its walk ends `MAX_ORACLE_ERROR` or more from the goal within `MAX_STEPS`, as `navagent data trajectories`
requires, or it raises) are listed by id; ``--walk-only`` checks just that (every episode, no follower, no
recovery, no timing: about a minute per 1,000 episodes).
"""

from __future__ import annotations

import argparse
import math
import time
from collections import Counter
from collections.abc import Sequence

import numpy as np

from navagent.agent.actions import merge_low_level_steps
from navagent.envs.base import Action, AgentState
from navagent.envs.builtin.expert import RouteExpert
from navagent.envs.builtin.follower import ShortestPathFollower
from navagent.envs.builtin.motion import wrap_angle
from navagent.envs.builtin.sim import BuiltinNavEnv
from navagent.envs.episodes import load_episodes
from navagent.train.recovery import HEADING_OFFSET_DEG, LATERAL_OFFSET_RANGE, route_direction
from navagent.train.trajectories import MAX_ORACLE_ERROR, MAX_STEPS, label_key, oracle_waypoints

SUCCESS_DISTANCE = 3.0  # metres, VLN-CE
HEADING_WEIGHT = 0.5  # metres per radian in the pose distance of the nearest-decision figure


def label_figures(walks: Sequence[tuple[Sequence[int], Sequence[AgentState]]]) -> dict[str, float]:
    """Label statistics of walks given as (low-level actions, pose before each action)."""
    keys, jitter, differ, total = Counter(), 0, 0, 0
    for actions, states in walks:
        decisions = merge_low_level_steps(actions)
        labels = [label_key(d) for d in decisions]
        keys.update(labels)
        total += len(decisions)
        for i in range(1, len(decisions) - 1):
            turn = decisions[i].kind in (Action.TURN_LEFT, Action.TURN_RIGHT) and decisions[i].amount == 15
            forwards = decisions[i - 1].kind == decisions[i + 1].kind == Action.MOVE_FORWARD
            jitter += int(turn and forwards)
        starts = np.cumsum([0] + [d.num_steps for d in decisions[:-1]])
        poses = [states[s] for s in starts]
        for i, pose in enumerate(poses):
            distances = [
                math.inf
                if j == i
                else np.hypot(*(pose.position - other.position)[[0, 2]])
                + HEADING_WEIGHT * abs(wrap_angle(pose.heading - other.heading))
                for j, other in enumerate(poses)
            ]
            differ += int(len(poses) > 1 and labels[int(np.argmin(distances))] != labels[i])
    figures = {f"share {key}": count / total for key, count in sorted(keys.items())}
    figures.update(
        {
            "decisions per episode": total / len(walks),
            "15-degree turn between two forwards": jitter / total,
            "nearest decision point has another label": differ / total,
        }
    )
    return figures


def path_length(states: Sequence[AgentState], end: AgentState) -> float:
    points = np.array([s.position for s in states] + [end.position])[:, [0, 2]]
    return float(np.linalg.norm(np.diff(points, axis=0), axis=1).sum())


def perturbed_pose(
    expert: RouteExpert, states: Sequence[AgentState], rng: np.random.Generator
) -> tuple[AgentState, int] | None:
    """A pose 0.5-1.5 m sideways of a random walk step (free straight drift), heading +-60 deg; or None."""
    step = int(rng.integers(len(states) - 1))
    on_path = states[step]
    visited = np.array([s.position for s in states[: step + 1]])
    direction = route_direction(expert, on_path, expert.progress(visited))
    side = 1.0 if rng.random() < 0.5 else -1.0
    lateral = float(rng.uniform(*LATERAL_OFFSET_RANGE))
    start = np.asarray(on_path.position)[[0, 2]]
    shifted = start + side * lateral * np.array([-direction[1], direction[0]])
    if not expert.planner.free_space.segment_clear(start, shifted):
        return None
    heading = wrap_angle(on_path.heading + math.radians(rng.uniform(-HEADING_OFFSET_DEG, HEADING_OFFSET_DEG)))
    return AgentState(np.array([shifted[0], on_path.position[1], shifted[1]]), heading), step


def unfinished_episodes(env: BuiltinNavEnv, episodes: Sequence) -> list[str]:
    """One line per episode whose expert walk (``MAX_STEPS``) ends ``MAX_ORACLE_ERROR`` or more from the goal
    or raises, as `navagent data trajectories` would skip or reject it, or needed the loop fallback."""
    failed = []
    for episode in episodes:
        scene = env.load_scene(episode.scene_id)
        start = AgentState(np.asarray(episode.start_position, dtype=np.float64), episode.start_heading)
        try:
            expert = RouteExpert.for_episode(episode, scene.planner, scene.motion)
            walk = expert.walk(start, max_steps=MAX_STEPS)
        except ValueError as error:
            failed.append(f"{episode.episode_id} ({episode.scene_id}): {error}")
            continue
        error = scene.planner.distance_to_goal(walk.end.position, expert.goal)
        if walk.loops:
            failed.append(
                f"{episode.episode_id} ({episode.scene_id}): {walk.loops} loop(s) cut out, {error:.2f} m"
            )
        elif not error < MAX_ORACLE_ERROR:
            failed.append(
                f"{episode.episode_id} ({episode.scene_id}): {error:.2f} m after {len(walk.actions)} steps"
            )
    return failed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("episodes", help="R2R-CE episode file of built-in houses ({split}.json.gz)")
    parser.add_argument("--max-episodes", type=int, default=None)
    parser.add_argument("--recoveries", type=int, default=3, help="perturbed starts per episode")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--walk-only", action="store_true", help="only list the episodes the expert fails")
    args = parser.parse_args()
    episodes = load_episodes(args.episodes)[: args.max_episodes]
    rng = np.random.default_rng(args.seed)
    env = BuiltinNavEnv(render=False)
    failed = unfinished_episodes(env, episodes)
    print(f"expert finishes {len(episodes) - len(failed)} of {len(episodes)} episodes without a loop")
    for line in failed:
        print(f"  {line}")
    if args.walk_only:
        return
    follower_walks, expert_walks = [], []
    scores = {"follower": [], "expert": []}
    recoveries = []  # (success under 3 m, under MAX_ORACLE_ERROR, under the stop distance, route completed)
    timing_states = []
    for episode in episodes:
        scene = env.load_scene(episode.scene_id)
        route = oracle_waypoints(episode, scene.planner.free_space)
        start = AgentState(np.asarray(episode.start_position, dtype=np.float64), episode.start_heading)
        follower = ShortestPathFollower(scene.planner, scene.motion)
        actions, after = follower.follow_waypoints(start, route)
        follower_walks.append((actions, [start, *after[:-1]]))
        expert = RouteExpert(scene.planner, scene.motion, route)
        walk = expert.walk(start)
        expert_walks.append((walk.actions, walk.states))
        for name, states, end in (
            ("follower", [start, *after[:-1]], after[-1]),
            ("expert", walk.states, walk.end),
        ):
            error = scene.planner.distance_to_goal(end.position, route[-1])
            spl = (
                (error < SUCCESS_DISTANCE)
                * episode.geodesic_distance
                / max(episode.geodesic_distance, path_length(states, end))
            )
            scores[name].append((error < SUCCESS_DISTANCE, error < expert.stop_distance, spl))
        for _ in range(args.recoveries):
            drawn = perturbed_pose(expert, walk.states, rng)
            if drawn is None:
                continue
            state, step = drawn
            visited = np.array([s.position for s in walk.states[:step]]).reshape(-1, 3)
            back = expert.walk(state, visited)
            error = scene.planner.distance_to_goal(back.end.position, route[-1])
            completed = expert.progress(np.concatenate([visited, [s.position for s in back.states]])) >= (
                expert.arc[-2] if len(expert.arc) > 1 else 0.0
            )
            recoveries.append(
                (error < SUCCESS_DISTANCE, error < MAX_ORACLE_ERROR, error < expert.stop_distance, completed)
            )
            timing_states.append((expert, back.states[0], visited))
    print(f"{len(episodes)} episodes from {args.episodes}")
    for name, walks in (("follower", follower_walks), ("expert", expert_walks)):
        figures = label_figures(walks)
        sr, stop, spl = np.mean(np.array(scores[name], dtype=float), axis=0)
        print(f"\n{name}: SR {sr:.1%}  STOP under 0.2 m {stop:.1%}  SPL {spl:.3f}")
        for key, value in figures.items():
            print(f"  {key}: {value:.1%}" if key != "decisions per episode" else f"  {key}: {value:.1f}")
    sr, finished, stop, completed = np.mean(np.array(recoveries, dtype=float), axis=0)
    print(
        f"\nexpert from {len(recoveries)} perturbed poses: SR {sr:.1%}  under {MAX_ORACLE_ERROR} m "
        f"{finished:.1%}  STOP under 0.2 m {stop:.1%}  "
        f"route completed in order {completed:.1%}"
    )
    began = time.perf_counter()
    for expert, state, visited in timing_states:
        expert.next_decision(state, visited)
    per_call = (time.perf_counter() - began) / max(1, len(timing_states))
    progresses = [expert.advance(expert.progress(v), state.position) for expert, state, v in timing_states]
    began = time.perf_counter()
    for (expert, state, _), progress in zip(timing_states, progresses, strict=True):
        expert.decide(state, progress)
    per_decide = (time.perf_counter() - began) / max(1, len(timing_states))
    print(
        f"expert next_decision: {1.0 / per_call:.0f} calls/s (mean "
        f"{np.mean([len(v) for _, _, v in timing_states]):.0f} visited positions); decide with a kept "
        f"progress: {1.0 / per_decide:.0f} calls/s"
    )
    expert_steps = sum(len(a) for a, _ in expert_walks)
    began = time.perf_counter()
    for episode in episodes[:20]:
        scene = env.load_scene(episode.scene_id)
        RouteExpert(scene.planner, scene.motion, oracle_waypoints(episode, scene.planner.free_space)).walk(
            AgentState(np.asarray(episode.start_position, dtype=np.float64), episode.start_heading)
        )
    walked = sum(len(a) for a, _ in expert_walks[:20])
    print(
        f"expert walk: {walked / (time.perf_counter() - began):.0f} low-level steps/s "
        f"({expert_steps} steps in all walks)"
    )


if __name__ == "__main__":
    main()
