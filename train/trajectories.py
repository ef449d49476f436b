"""NaVILA-format navigation training data from oracle walks: ``navagent data trajectories``.

For every episode of ``{episodes_dir}/{split}/{split}.json.gz`` (R2R-CE layout):

1. **Expert walk.** The route expert (`navagent.envs.builtin.expert.RouteExpert`: route choices, no heading
   jitter) walks the episode's ``reference_path`` points in order, then the (first) goal, ending with STOP
   within 0.2 m of the goal: low-level actions ``a_0 .. a_{T-1}`` (``a_{T-1}`` = STOP) and the pose before
   each, ``s_0`` (the start) .. ``s_{T-1}``. Points a hair off the navigable area are snapped onto it (at most
   ``expert.MAX_SNAP`` = 0.1 m, ``expert.snap_to_free``). Bad input (a route point off the navigable area or
   unreachable, a start in a wall, an id that cannot name a folder) is an error naming the episode. An episode
   whose walk does not end within `MAX_ORACLE_ERROR` of the goal in `MAX_STEPS` (the expert's failure, not
   the input's) is skipped with a `SkippedEpisodeWarning`; the run fails only when more than
   ``max_skipped_share`` (default `MAX_SKIPPED_SHARE`, 1 %) of the episodes are skipped. (The episode's ground
   truth, written by the generator with ``ShortestPathFollower``, is not used here and stays the
   benchmark's reference.)
2. **Frames.** One RGB frame per low-level step, the observation before the action: frame ``i`` is the view
   from ``s_i`` (frame 0 the start view, frame ``T-1`` the view in which the oracle stops), saved as JPEG
   under ``{out_dir}/frames/{video}/frame_{i}.jpg`` with ``video = "{split}_{episode_id}"``.
3. **Decision points.** Consecutive equal low-level actions merge into mid-level actions of at most 75 cm /
   45° (`navagent.agent.actions.merge_low_level_steps`); a decision point is the step where one starts. Its
   record is ``{"video_id": "{video}-{j}", "q": instruction, "a": action text, "frames": [...]}`` with
   ``frames`` = ``"{video}/frame_0.jpg" .. "{video}/frame_{k_j}.jpg"`` (all frames up to and including the
   decision step ``k_j``). ``q`` is the raw instruction (the dataset loader normalises it); ``a`` is one of
   the 10 canonical action sentences; the last record of each walk is the STOP sentence. ``"prev"`` is the
   move made since the previous decision point ("turn left 45 degree"; null for the first), which prompts
   of models with ``previous_action_in_prompt`` state (`previous_phrases`).
4. **Recovery** (``recovery_per_episode > 0``; `navagent.train.recovery`): records ``"{video}-r{k}"`` whose
   frames are the path frames ``0 .. p-1`` followed by the perturbed view ``"{video}/recovery_{k}.jpg"``, and
   whose answer is the expert's first decision from the perturbed pose (rejoining the route where it left).
5. **Goal-region STOP** (``stop_label_distance``, metres; None: off). The walk and its frames are unchanged (it
   still ends within 0.2 m of the goal), but every decision point and recovery pose from which the route
   expert with this larger stop distance would stop (every route point but the goal passed, the goal closer
   than the distance) is labelled STOP. The success radius is 3 m: without it the last metres of each walk are
   "forward" records whose views look like the STOP view, and STOP is one record per walk.
6. **View labels** (``view_labels``; off by default). Every record also carries ``"view"``: the simulator's
   labels of its current frame (`navagent.envs.builtin.view_labels`, `ViewLabels.to_json`: room, and per
   image sector doorways, the rooms behind them, objects, colours, depth), from which the navigation dataset
   can ask questions about the current observation inside the navigation prompt (registry ``view_questions``).
   Frames and the other fields are unchanged.
7. **Rebalancing.** Each record is written ``rebalance[label_key(a)]`` times in a row (default STOP ×3,
   30° and 45° turns ×2, anything unlisted ×1). Keys: `LABEL_KEYS`.

Output: ``{out_dir}/{split}_nav.json`` (a JSON list, sorted keys) whose frame paths are relative to the data
root ``{out_dir}/frames`` (`trajectory_data_root`), and ``{out_dir}/{split}_skipped.json`` (`skipped_path`:
``{"split", "episodes", "skipped": [{"episode_id", "scene_id", "reason"}]}``, written atomically on every run
that gets through the episodes, also one that fails for too many skips; a line on stderr names them). The
annotation is written last and atomically, so a killed run leaves no partial annotation (frames are rewritten
by the next run). The output is deterministic given the arguments (recovery draws use `recovery_rng`).
"""

from __future__ import annotations

import math
import os
import re
import sys
import warnings
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import numpy as np
from tqdm import tqdm

from navagent.agent.actions import MidLevelAction, merge_low_level_steps
from navagent.agent.prompts import PreviousAction
from navagent.envs.base import Action, AgentState, Episode
from navagent.envs.builtin.expert import RouteExpert, episode_route
from navagent.envs.builtin.free_space import FreeSpace
from navagent.envs.builtin.sim import BuiltinNavEnv, Scene, SimConfig
from navagent.envs.episodes import load_episodes, r2r_episodes_path
from navagent.fileio import json_bytes, write_bytes_atomic
from navagent.train.recovery import RecoverySample, sample_recoveries
from navagent.train.trajectory_frames import (  # noqa: F401  (encode_jpeg: re-exported for callers)
    encode_jpeg,
    frame_path,
    recovery_frame_path,
    render_frames,
)

SIMULATORS = ("builtin", "habitat")
LABEL_KEYS = ("stop", "forward_25", "forward_50", "forward_75", "turn_15", "turn_30", "turn_45")
DEFAULT_REBALANCE = MappingProxyType({"stop": 3, "turn_30": 2, "turn_45": 2})
MAX_ORACLE_ERROR = 0.5  # metres: the expert's walk must end this close (geodesic) to the goal
MAX_STEPS = 500  # VLN-CE's episode step limit
MAX_SKIPPED_SHARE = 0.01  # more skipped episodes (expert failures) than this share of the run is an error
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]*")


class TrajectoryDataError(ValueError):
    """Bad arguments or an episode that cannot be turned into training data (the message names it)."""


class ExpertWalkError(TrajectoryDataError):
    """The route expert did not finish an episode (its walk ended too far from the goal): skipped, counted."""


class SkippedEpisodeWarning(UserWarning):
    """An episode the route expert could not finish was left out of the trajectory data."""


class SimulatorNotAvailableError(ValueError):
    """The requested simulator backend cannot render trajectory data (yet)."""


@dataclass(frozen=True)
class OracleWalk:
    """The expert's walk through one episode.

    waypoints: the route walked (reference path, then the goal), each (3,). expert: the route expert that
    walked it (reused for recovery labels). actions: (T,) low-level actions, the last is STOP. states: (T,)
    the pose before each action.
    """

    waypoints: tuple[np.ndarray, ...]
    expert: RouteExpert
    actions: tuple[int, ...]
    states: tuple[AgentState, ...]


def annotation_path(out_dir: str | os.PathLike, split: str) -> Path:
    """``{out_dir}/{split}_nav.json``."""
    return Path(out_dir) / f"{split}_nav.json"


def skipped_path(out_dir: str | os.PathLike, split: str) -> Path:
    """``{out_dir}/{split}_skipped.json``: the episodes the expert could not finish."""
    return Path(out_dir) / f"{split}_skipped.json"


def trajectory_data_root(out_dir: str | os.PathLike) -> Path:
    """The data root the annotation's frame paths are relative to: ``{out_dir}/frames``."""
    return Path(out_dir) / "frames"


def label_key(action: MidLevelAction) -> str:
    """Rebalancing key of a label: "stop", "forward_{cm}" or "turn_{degrees}" (left and right alike)."""
    if action.kind == Action.STOP:
        return "stop"
    return f"{'forward' if action.kind == Action.MOVE_FORWARD else 'turn'}_{action.amount}"


def check_rebalance(rebalance: Mapping[str, int] | None) -> dict[str, int]:
    """Validated copy of a rebalancing table {label key: copies >= 1}; None means no rebalancing."""
    if rebalance is None:
        return {}
    if not isinstance(rebalance, Mapping):
        raise TrajectoryDataError(f"rebalance must be a mapping {{label: copies}}, got {rebalance!r}")
    table = {}
    for key, copies in rebalance.items():
        if key not in LABEL_KEYS:
            raise TrajectoryDataError(f"rebalance: unknown label {key!r}; known labels: {list(LABEL_KEYS)}")
        if isinstance(copies, bool) or not isinstance(copies, int) or copies < 1:
            raise TrajectoryDataError(f"rebalance[{key!r}] must be an int >= 1 (copies), got {copies!r}")
        table[key] = copies
    return table


def oracle_waypoints(episode: Episode, free_space: FreeSpace) -> list[np.ndarray]:
    """The route the expert walks: the reference path in order, then the episode's first goal, each snapped
    onto the free space (`snap_to_free`); TrajectoryDataError naming the point when that fails."""
    try:
        return episode_route(episode, free_space)
    except ValueError as error:
        raise TrajectoryDataError(str(error)) from error


def walk_episode(episode: Episode, scene: Scene, max_steps: int = MAX_STEPS) -> OracleWalk:
    """The route expert's walk from the episode's start through `oracle_waypoints` in ``scene`` (its
    house's planner and motion); TrajectoryDataError naming the episode when the route is unreachable, and
    its subclass ExpertWalkError when the walk ends `MAX_ORACLE_ERROR` or more from the goal."""
    start = AgentState(np.asarray(episode.start_position, dtype=np.float64), episode.start_heading)
    waypoints = oracle_waypoints(episode, scene.planner.free_space)
    where = f"episode {episode.episode_id!r} (scene {episode.scene_id})"
    if not scene.motion.is_free(start.position):
        raise TrajectoryDataError(f"{where}: start_position {list(episode.start_position)} is not navigable")
    try:
        expert = RouteExpert(scene.planner, scene.motion, waypoints)
        walk = expert.walk(start, max_steps=max_steps)
    except ValueError as error:
        raise TrajectoryDataError(f"{where}: the expert cannot walk the reference path: {error}") from error
    error = scene.planner.distance_to_goal(walk.end.position, waypoints[-1])
    if not error < MAX_ORACLE_ERROR:
        raise ExpertWalkError(
            f"{where}: the expert ended {error:.2f} m from the goal after {len(walk.actions)} steps "
            f"(must be < {MAX_ORACLE_ERROR} m within {max_steps} steps)"
        )
    return OracleWalk(tuple(waypoints), expert, walk.actions, walk.states)


def decision_points(actions: Sequence[int]) -> list[tuple[int, MidLevelAction]]:
    """(step where it starts, mid-level action) for each merged action of a low-level action sequence."""
    points, step = [], 0
    for action in merge_low_level_steps(actions):
        points.append((step, action))
        step += action.num_steps
    return points


def previous_phrases(actions: Sequence[int], steps: Sequence[int]) -> list[str | None]:
    """The ``"prev"`` of records whose current view is the one before low-level step ``steps[i]`` of a walk
    with ``actions``: the move made since the walk's last decision point before that step
    (`PreviousAction.after` the steps between), None at step 0. At a decision point
    that is the previous decision's action (as the walk executed it: a goal-region STOP label changes the
    label, not the walk)."""
    starts = [step for step, _ in decision_points(actions)]
    last_starts = (starts[max(0, int(np.searchsorted(starts, step)) - 1)] for step in steps)
    return [PreviousAction.after(actions[start:step]).phrase for start, step in zip(last_starts, steps)]


def path_records(
    video: str,
    instruction: str,
    actions: Sequence[int],
    rebalance: Mapping[str, int],
    stops: frozenset[int] = frozenset(),
    views: Sequence[dict] = (),
) -> list[dict]:
    """The records of every decision point of a walk, each repeated ``rebalance[label]`` times; the decision
    points numbered in ``stops`` are labelled STOP (goal-region labels, `goal_region_stops`); ``views``: the
    labels of each decision point's view (stored as ``"view"``; empty: none)."""
    records = []
    points = decision_points(actions)
    previous = previous_phrases(actions, [step for step, _ in points])
    for number, (step, action) in enumerate(points):
        if number in stops:
            action = MidLevelAction(Action.STOP)
        record = {
            "video_id": f"{video}-{number}",
            "q": instruction,
            "a": action.to_text(),
            "frames": [frame_path(video, i) for i in range(step + 1)],
            "prev": previous[number],
        }
        if views:
            record["view"] = views[number]
        records.extend(dict(record) for _ in range(rebalance.get(label_key(action), 1)))
    return records


def recovery_records(
    video: str,
    instruction: str,
    walk_actions: Sequence[int],
    samples: Sequence[RecoverySample],
    rebalance: Mapping[str, int],
    stops: frozenset[int] = frozenset(),
    views: Sequence[dict] = (),
) -> list[dict]:
    """One record per recovery sample (path frames before the perturbation, then the perturbed view; ``"prev"``
    the walk's move before it, `previous_phrases` of ``walk_actions``); the samples numbered in ``stops`` are
    labelled STOP; ``views``: the labels of each perturbed view (empty: none)."""
    records = []
    previous = previous_phrases(walk_actions, [sample.step for sample in samples])
    for number, sample in enumerate(samples):
        label = MidLevelAction(Action.STOP) if number in stops else sample.label
        record = {
            "video_id": f"{video}-r{number}",
            "q": instruction,
            "a": label.to_text(),
            "frames": [frame_path(video, i) for i in range(sample.step)]
            + [recovery_frame_path(video, number)],
            "prev": previous[number],
        }
        if views:
            record["view"] = views[number]
        records.extend(dict(record) for _ in range(rebalance.get(label_key(label), 1)))
    return records


def goal_region_stops(
    walk: OracleWalk, samples: Sequence[RecoverySample], stop_label_distance: float
) -> tuple[frozenset[int], frozenset[int]]:
    """(decision points, recovery samples) of a walk from which the route expert with stop distance
    ``stop_label_distance`` (metres) would stop: every route point but the goal passed, the goal closer."""
    expert = RouteExpert(walk.expert.planner, walk.expert.motion, walk.waypoints, stop_label_distance)
    stop = [int(Action.STOP)]
    walked = np.array([s.position for s in walk.states], dtype=np.float64)  # (T, 3)
    path, progress, done = set(), 0.0, 0
    for number, (step, _) in enumerate(decision_points(walk.actions)):
        for position in walked[done : step + 1]:
            progress = expert.advance(progress, position)
        done = step + 1
        if expert.decide(walk.states[step], progress) == stop:
            path.add(number)
    recovery = {
        number
        for number, sample in enumerate(samples)
        if expert.next_decision(sample.state, walked[: sample.step]) == stop
    }
    return frozenset(path), frozenset(recovery)


def recovery_rng(recovery_seed: int, video: str) -> np.random.Generator:
    """The random stream of one episode's recovery draws: ``default_rng([recovery_seed, crc32(video)])``
    (independent of the episode's position in the file and of ``max_episodes``)."""
    return np.random.default_rng([recovery_seed, zlib.crc32(video.encode("utf-8"))])


def _check_arguments(
    sim: str, split: str, frame_size: int, jpeg_quality: int, counts: dict[str, object]
) -> None:
    if sim == "habitat":
        raise SimulatorNotAvailableError(
            "--sim habitat is not available yet for trajectory data: the Habitat backend cannot render "
            "training frames in this version; use --sim builtin"
        )
    if sim not in SIMULATORS:
        raise TrajectoryDataError(f"sim must be one of {SIMULATORS}, got {sim!r}")
    if not isinstance(split, str) or not _SAFE_NAME.fullmatch(split):
        raise TrajectoryDataError(f"split must be a plain name like 'train', got {split!r}")
    for name, value, low, high in (
        ("frame_size", frame_size, 8, 4096),
        ("jpeg_quality", jpeg_quality, 1, 100),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise TrajectoryDataError(f"{name} must be an int in [{low}, {high}], got {value!r}")
    for name, value in counts.items():
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise TrajectoryDataError(f"{name} must be an int >= 0, got {value!r}")


def _load_split(episodes_dir: str | os.PathLike, split: str, max_episodes: int | None) -> list[Episode]:
    path = r2r_episodes_path(episodes_dir, split)
    if not Path(episodes_dir).is_dir():
        raise FileNotFoundError(f"episodes directory {episodes_dir} does not exist")
    if not path.is_file():
        raise FileNotFoundError(
            f"episodes file {path} does not exist "
            f"(expected the R2R-CE layout {{episodes_dir}}/{split}/{split}.json.gz)"
        )
    episodes = load_episodes(path)[:max_episodes]
    if not episodes:
        raise TrajectoryDataError(f"{path}: no episodes to turn into trajectory data")
    return episodes


def _episode_video(split: str, episode: Episode) -> str:
    video = f"{split}_{episode.episode_id}"
    if not _SAFE_NAME.fullmatch(video):
        raise TrajectoryDataError(
            f"episode {episode.episode_id!r}: the id cannot name a frame folder "
            "(allowed: letters, digits, '_', '.', '-')"
        )
    if not episode.instruction_text.strip():
        raise TrajectoryDataError(f"episode {episode.episode_id!r}: empty instruction_text")
    return video


def episode_records(
    env: BuiltinNavEnv,
    episode: Episode,
    video: str,
    frames_root: Path,
    jpeg_quality: int,
    rebalance: Mapping[str, int],
    recovery_per_episode: int,
    recovery_seed: int,
    stop_label_distance: float | None = None,
    with_view_labels: bool = False,
) -> list[dict]:
    """Walk one episode, write its frames under ``frames_root/video`` and return its records (with the labels
    of each record's current view when ``with_view_labels``; ``env`` must then render depth)."""
    try:
        scene: Scene = env.set_scene(episode.scene_id)
    except ValueError as error:
        raise TrajectoryDataError(
            f"episode {episode.episode_id!r}: cannot load its scene: {error}"
        ) from error
    walk = walk_episode(episode, scene)
    rng = recovery_rng(recovery_seed, video)
    samples = sample_recoveries(walk.expert, walk.states, recovery_per_episode, rng)
    folder = frames_root / video
    folder.mkdir(parents=True, exist_ok=True)
    points = [step for step, _ in decision_points(walk.actions)] if with_view_labels else []
    path_names = [frame_path(video, i) for i in range(len(walk.states))]
    path_views = render_frames(env, folder, path_names, walk.states, jpeg_quality, scene.house, points)
    names = [recovery_frame_path(video, k) for k in range(len(samples))]
    recovery_states = [s.state for s in samples]
    sampled = range(len(samples)) if with_view_labels else ()
    recovery_views = render_frames(env, folder, names, recovery_states, jpeg_quality, scene.house, sampled)
    text = episode.instruction_text
    path_stops, recovery_stops = (
        goal_region_stops(walk, samples, stop_label_distance)
        if stop_label_distance is not None
        else (frozenset(), frozenset())
    )
    return path_records(video, text, walk.actions, rebalance, path_stops, path_views) + recovery_records(
        video, text, walk.actions, samples, rebalance, recovery_stops, recovery_views
    )


def generate_trajectory_data(
    episodes_dir: str | os.PathLike,
    split: str,
    out_dir: str | os.PathLike,
    sim: str = "builtin",
    frame_size: int = 224,
    jpeg_quality: int = 90,
    rebalance: Mapping[str, int] | None = DEFAULT_REBALANCE,
    recovery_per_episode: int = 0,
    recovery_seed: int = 0,
    max_episodes: int | None = None,
    progress: bool = True,
    max_skipped_share: float = MAX_SKIPPED_SHARE,
    stop_label_distance: float | None = None,
    view_labels: bool = False,
) -> Path:
    """Write NaVILA navigation records and their JPEG frames for one split (see the module docstring);
    returns the annotation path ``{out_dir}/{split}_nav.json`` (data root: `trajectory_data_root`).

    ``rebalance`` maps `LABEL_KEYS` to copies (None: every record once); ``max_episodes`` keeps the first
    episodes of the file; ``progress`` shows a tqdm bar over episodes; ``max_skipped_share`` in [0, 1]: the
    share of episodes the expert may fail on (skipped, listed in `skipped_path`) before the run fails;
    ``stop_label_distance``: goal-region STOP labels (module docstring, item 5), metres > 0.2, or None;
    ``view_labels``: each record carries its current view's labels (item 6)."""
    _check_arguments(
        sim,
        split,
        frame_size,
        jpeg_quality,
        {
            "recovery_per_episode": recovery_per_episode,
            "recovery_seed": recovery_seed,
            "max_episodes": max_episodes,
        },
    )
    if max_episodes == 0:
        raise TrajectoryDataError("max_episodes must be >= 1 or None, got 0")
    if stop_label_distance is not None and not (
        isinstance(stop_label_distance, (int, float)) and 0.2 < stop_label_distance < 3.0
    ):
        raise TrajectoryDataError(
            f"stop_label_distance must be in (0.2, 3.0) metres (the walk's stop distance, the success radius) "
            f"or None, got {stop_label_distance!r}"
        )
    if isinstance(max_skipped_share, bool) or not 0.0 <= max_skipped_share <= 1.0:
        raise TrajectoryDataError(f"max_skipped_share must be in [0, 1], got {max_skipped_share!r}")
    table = check_rebalance(rebalance)
    episodes = _load_split(episodes_dir, split, max_episodes)
    frames_root = trajectory_data_root(out_dir)
    frames_root.mkdir(parents=True, exist_ok=True)
    records: list[dict] = []
    skipped: list[dict] = []
    allowed = math.floor(max_skipped_share * len(episodes) + 1e-9)
    config = SimConfig(width=frame_size, height=frame_size, max_steps=MAX_STEPS, depth=view_labels)
    with BuiltinNavEnv(config) as env:
        for episode in tqdm(episodes, desc=f"{split} trajectories", unit="episode", disable=not progress):
            video = _episode_video(split, episode)
            try:
                records += episode_records(
                    env,
                    episode,
                    video,
                    frames_root,
                    jpeg_quality,
                    table,
                    recovery_per_episode,
                    recovery_seed,
                    stop_label_distance,
                    view_labels,
                )
            except ExpertWalkError as error:
                skipped.append(
                    {"episode_id": episode.episode_id, "scene_id": episode.scene_id, "reason": str(error)}
                )
                warnings.warn(
                    f"skipped episode {len(skipped)} (at most {allowed} of {len(episodes)}): {error}",
                    SkippedEpisodeWarning,
                    stacklevel=2,
                )
                if len(skipped) > allowed:
                    break
    listing = skipped_path(out_dir, split)
    write_bytes_atomic(listing, json_bytes({"episodes": len(episodes), "skipped": skipped, "split": split}))
    if skipped:
        ids = ", ".join(repr(s["episode_id"]) for s in skipped)
        print(
            f"skipped {len(skipped)} of {len(episodes)} {split} episodes (the expert did not finish them: "
            f"{ids}): {listing}",
            file=sys.stderr,
        )
    if len(skipped) > allowed:
        raise TrajectoryDataError(
            f"{split}: the expert could not finish {len(skipped)} of {len(episodes)} episodes, more than "
            f"{max_skipped_share:.1%}: stopped (list: {listing}); first: {skipped[0]['reason']}"
        )
    path = annotation_path(out_dir, split)
    write_bytes_atomic(path, json_bytes(records))
    return path
