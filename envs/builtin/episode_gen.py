"""R2R-CE episodes and ground truth for the built-in houses: ``generate_split`` and ``write_split``.

Splits follow R2R's definition (``SPLIT_DEFINITION``): ``val_unseen`` differs from train only in its houses;
the held-out language is a split of its own. ``SPLIT_SPECS`` holds each split's house block, phrasing, random
stream and episode-id base. Scene ids (houses of ``generator``), from the seed's block of house indices
``base = (seed % 1000) * HOUSE_BLOCK``:

* ``train`` and ``val_seen``: houses ``base + k`` for ``k < num_scenes`` (at most 500,000), "seen" phrasing.
  Call both with the same seed (and val_seen's ``num_scenes`` at most train's) so val_seen's houses are
  train's; their episodes differ, since every split draws from its own random stream.
* ``val_unseen``: houses ``base + 500_000 + k`` (``k`` < 250,000), a block no train house of the same seed
  can reach; "seen" phrasing (the training styles and words), as in R2R.
* ``val_unseen_lang``: houses ``base + 750_000 + k`` (``k`` < 250,000), unseen houses disjoint from
  val_unseen's, with the held-out "unseen" phrasing (two held-out styles and their own words): language
  generalisation, reported on its own.

Every index stays below ``1000 * HOUSE_BLOCK`` (scene-QA's test houses start there). Each episode file
carries a top-level ``"split_definition"`` object (``split_definition(split)``: definition name, split,
houses, phrasing), which our reader and habitat-lab's R2R-CE reader ignore; ``file_split_definition`` reads
it back (None for files written before it existed, whose val_unseen used the held-out phrasing).

An episode is a start/goal pair on the largest connected part of the house's free space, ``min_geodesic``
to ``max_geodesic`` metres apart (rejection sampling; default 5-20 m), whose shortest path changes room at
least once. Goals lie near a piece of furniture most of the time (so the stop landmark is close), else
anywhere. The oracle ``ShortestPathFollower`` walks each episode from a random start heading; episodes it
does not finish within ``MAX_STEPS`` at under ``MAX_ORACLE_ERROR`` metres from the goal are rejected. The
reference path is the shortest path resampled to waypoints every ~2 m (1.5-2.5 m; start and goal
included, like R2R viewpoints); the ground truth is what the follower did: its positions (the start, then
the position after every action but the final STOP), its actions (ending with STOP = 0) and its
MOVE_FORWARD count. Episode ids (also the trajectory ids) are ``SPLIT_ID_BASE[split] + 1, 2, ...`` in
scene order. Everything derives from ``seed``: the same call gives equal episodes and byte-equal files.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from navagent.envs.base import Action, AgentState, Episode, Goal, heading_to_quaternion
from navagent.envs.builtin.follower import ShortestPathFollower
from navagent.envs.builtin.generator import generate_house, parse_scene_id, scene_id_for_index
from navagent.envs.builtin.geodesic import GeodesicPlanner
from navagent.envs.builtin.house import FurnitureObject, House
from navagent.envs.builtin.instructions import compose_instruction, instruction_vocab, tokenize_instruction
from navagent.envs.builtin.motion import MotionModel
from navagent.envs.builtin.navgrid import NavGrid
from navagent.envs.builtin.route import describe_route
from navagent.envs.episodes import (
    GroundTruth,
    load_metadata,
    r2r_episodes_path,
    r2r_gt_path,
    save_episodes,
    save_gt,
)


@dataclass(frozen=True)
class SplitSpec:
    """How one split is drawn: ``code`` separates its random stream, episode ids start after ``id_base``,
    its houses are indices ``house_offset + k`` (``k < max_scenes``) of the seed's block, its instructions
    use ``phrasing`` ("seen" or "unseen", see ``instructions``)."""

    code: int
    id_base: int
    house_offset: int
    max_scenes: int
    phrasing: str

    @property
    def houses(self) -> str:
        """ "seen" when the split's houses are train's, else "unseen"."""
        return "seen" if self.house_offset == 0 else "unseen"


HOUSE_BLOCK = 1_000_000  # house indices per seed
SPLIT_DEFINITION = "navagent-r2r-2"  # R2R's val_unseen (unseen houses, seen phrasing) + val_unseen_lang
SPLIT_SPECS = {
    "train": SplitSpec(code=0, id_base=0, house_offset=0, max_scenes=500_000, phrasing="seen"),
    "val_seen": SplitSpec(code=1, id_base=1_000_000, house_offset=0, max_scenes=500_000, phrasing="seen"),
    "val_unseen": SplitSpec(
        code=2, id_base=2_000_000, house_offset=500_000, max_scenes=250_000, phrasing="seen"
    ),
    "val_unseen_lang": SplitSpec(
        code=3, id_base=3_000_000, house_offset=750_000, max_scenes=250_000, phrasing="unseen"
    ),
}
SPLITS = tuple(SPLIT_SPECS)
SPLIT_CODES = {split: spec.code for split, spec in SPLIT_SPECS.items()}  # separates the random streams
SPLIT_ID_BASE = {split: spec.id_base for split, spec in SPLIT_SPECS.items()}
GOAL_RADIUS = 3.0  # metres, VLN-CE success distance
MAX_STEPS = 500  # VLN-CE episode step limit; the oracle must finish within it
MAX_ORACLE_ERROR = 0.5  # metres: the oracle's final geodesic distance to the goal must be below this
REFERENCE_SPACING = 2.0  # metres between reference-path waypoints (actual spacing 1.5-2.5 m)
INSTRUCTION_TOKENS_LENGTH = 200  # R2R-CE pads instruction_tokens to this length
NEAR_OBJECT_GOAL_PROBABILITY = 0.75
GOAL_OFFSET_RANGE = (0.3, 1.0)  # metres from a furniture footprint for goals sampled near it
STARTS_PER_GOAL = 8  # start points tried for each sampled goal
ATTEMPTS_PER_EPISODE = 60  # goals tried per wanted episode before giving up on a house


@dataclass
class _Scene:
    house: House
    navgrid: NavGrid
    component: int
    planner: GeodesicPlanner
    follower: ShortestPathFollower

    @classmethod
    def build(cls, scene_id: str, agent_radius: float = 0.1) -> _Scene:
        house = generate_house(scene_id)
        navgrid = NavGrid.from_house(house, agent_radius=agent_radius)
        planner = GeodesicPlanner(house, agent_radius=agent_radius, navgrid=navgrid)
        motion = MotionModel(house, agent_radius=agent_radius, free_space=navgrid.free_space)
        return cls(
            house, navgrid, navgrid.largest_component(), planner, ShortestPathFollower(planner, motion)
        )


@dataclass(frozen=True)
class _Draft:
    """One accepted episode before it gets its id."""

    start: np.ndarray  # (3,)
    heading: float
    goal: np.ndarray  # (3,)
    geodesic: float
    path: list[np.ndarray]  # shortest-path corners (3,) each
    actions: list[int]
    locations: list[np.ndarray]  # (3,) each


# ------------------------------------------------------------------------------------------ scene ids
def split_scene_ids(split: str, num_scenes: int, seed: int) -> list[str]:
    """The house scene ids of ``split`` (see the module docstring for the scheme)."""
    _check_split(split)
    spec = SPLIT_SPECS[split]
    if not 1 <= num_scenes <= spec.max_scenes:
        raise ValueError(f"num_scenes must be in 1..{spec.max_scenes} for {split}, got {num_scenes}")
    base = (seed % 1000) * HOUSE_BLOCK + spec.house_offset
    return [scene_id_for_index(base + k) for k in range(num_scenes)]


def split_definition(split: str) -> dict[str, str]:
    """The ``"split_definition"`` object written at the top of ``split``'s episode file, e.g. for val_unseen
    ``{"name": "navagent-r2r-2", "split": "val_unseen", "houses": "unseen", "phrasing": "seen"}``."""
    _check_split(split)
    spec = SPLIT_SPECS[split]
    return {"name": SPLIT_DEFINITION, "split": split, "houses": spec.houses, "phrasing": spec.phrasing}


def file_split_definition(path: str | os.PathLike) -> dict | None:
    """The ``"split_definition"`` object of an episode file; None when the file has none (written before
    splits were versioned: its val_unseen used the held-out phrasing, now val_unseen_lang's)."""
    return load_metadata(path).get("split_definition")


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")


# ------------------------------------------------------------------------------------------- sampling
def _point_near_object(scene: _Scene, obj: FurnitureObject, rng: np.random.Generator) -> np.ndarray | None:
    """A free point (3,) 0.3-1.0 m out from a random side of ``obj``'s footprint, on the main component."""
    box = obj.footprint
    side = int(rng.integers(4))
    offset = rng.uniform(*GOAL_OFFSET_RANGE)
    if side < 2:  # -x or +x side
        x = box.x0 - offset if side == 0 else box.x1 + offset
        z = rng.uniform(box.z0, box.z1)
    else:
        x = rng.uniform(box.x0, box.x1)
        z = box.z0 - offset if side == 2 else box.z1 + offset
    if scene.navgrid.component_id(x, z) != scene.component:
        return None
    return np.array([x, 0.0, z])


def _sample_goal(scene: _Scene, rng: np.random.Generator) -> np.ndarray:
    objects = scene.house.objects
    if objects and rng.uniform() < NEAR_OBJECT_GOAL_PROBABILITY:
        point = _point_near_object(scene, objects[int(rng.integers(len(objects)))], rng)
        if point is not None:
            return point
    return scene.navgrid.sample_navigable_point(rng, scene.component)


def reference_waypoints(path: list[np.ndarray], spacing: float = REFERENCE_SPACING) -> list[np.ndarray]:
    """Points (3,) at equal arc-length steps close to ``spacing`` along the polyline ``path``, ends included.

    With n = max(1, round(length / spacing)) steps the step is length / n, within [2/3, 2] * spacing (and
    within 1.5-2.5 m for the default 2 m once the path is 3 m or longer). y is taken from the start."""
    planar = np.asarray([[p[0], p[2]] for p in path], dtype=np.float64)
    arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(planar, axis=0), axis=1))])
    length = float(arc[-1])
    steps = max(1, round(length / spacing))
    targets = np.linspace(0.0, length, steps + 1)
    # interpolate on the path's own segments (free by construction), never on chords that cut its corners
    xs, zs = np.interp(targets, arc, planar[:, 0]), np.interp(targets, arc, planar[:, 1])
    y = float(path[0][1])
    return [np.array([x, y, z]) for x, z in zip(xs, zs, strict=True)]


def _try_episode(
    scene: _Scene, rng: np.random.Generator, min_geodesic: float, max_geodesic: float
) -> _Draft | None:
    """Sample a goal and up to ``STARTS_PER_GOAL`` starts; the first pair that qualifies, else None."""
    goal = _sample_goal(scene, rng)
    for _ in range(STARTS_PER_GOAL):
        start = scene.navgrid.sample_navigable_point(rng, scene.component)
        geodesic = scene.planner.distance_to_goal(start, goal)
        if not min_geodesic <= geodesic <= max_geodesic:
            continue
        path = scene.planner.path_to_goal(start, goal)
        if len(path) < 2 or not describe_route(scene.house, path).room_changes:
            continue
        heading = float(rng.uniform(-math.pi, math.pi))
        state = AgentState(start.copy(), heading)
        actions, states = scene.follower.follow(state, goal, max_steps=MAX_STEPS)
        error = scene.planner.distance_to_goal(states[-1].position, goal)
        if not error < MAX_ORACLE_ERROR:
            continue
        locations = [start.copy()] + [np.asarray(s.position, dtype=np.float64) for s in states[:-1]]
        return _Draft(start, heading, goal, float(geodesic), path, actions, locations)
    return None


def _scene_drafts(
    scene: _Scene, per_scene: int, rng: np.random.Generator, min_geodesic: float, max_geodesic: float
) -> list[_Draft]:
    drafts: list[_Draft] = []
    attempts = 0
    while len(drafts) < per_scene:
        if attempts >= ATTEMPTS_PER_EPISODE * per_scene:
            raise RuntimeError(
                f"scene {scene.house.scene_id}: found only {len(drafts)} of {per_scene} episodes with a "
                f"{min_geodesic}-{max_geodesic} m geodesic and a room change after {attempts} goals"
            )
        attempts += 1
        draft = _try_episode(scene, rng, min_geodesic, max_geodesic)
        if draft is not None:
            drafts.append(draft)
    return drafts


# ------------------------------------------------------------------------------------------ assembling
def _point(p: np.ndarray) -> tuple[float, float, float]:
    return (float(p[0]), float(p[1]), float(p[2]))


def _episode(
    draft: _Draft, number: int, scene_id: str, text: str, style: str, vocab: list[str]
) -> tuple[Episode, GroundTruth]:
    episode = Episode(
        episode_id=str(number),
        trajectory_id=number,
        scene_id=scene_id,
        start_position=_point(draft.start),
        start_rotation=tuple(float(v) for v in heading_to_quaternion(draft.heading)),
        goals=(Goal(position=_point(draft.goal), radius=GOAL_RADIUS),),
        reference_path=tuple(_point(p) for p in reference_waypoints(draft.path)),
        instruction_text=text,
        instruction_tokens=tuple(tokenize_instruction(text, vocab, pad_to=INSTRUCTION_TOKENS_LENGTH)),
        geodesic_distance=draft.geodesic,
        extra={"info": {"instruction_style": style}},
    )
    truth = GroundTruth(
        locations=tuple(_point(p) for p in draft.locations),
        actions=tuple(int(a) for a in draft.actions),
        forward_steps=sum(1 for a in draft.actions if a == Action.MOVE_FORWARD),
    )
    return episode, truth


def generate_split(
    split: str,
    num_scenes: int,
    per_scene: int,
    seed: int,
    progress: bool = True,
    min_geodesic: float = 5.0,
    max_geodesic: float = 20.0,
) -> tuple[list[Episode], dict[str, GroundTruth]]:
    """``per_scene`` episodes in each of the split's ``num_scenes`` houses, and their ground truth keyed by
    episode id. ``progress`` shows a tqdm bar over scenes. Deterministic given the arguments."""
    _check_split(split)
    if per_scene < 1:
        raise ValueError(f"per_scene must be >= 1, got {per_scene}")
    if not 3.0 <= min_geodesic < max_geodesic:
        raise ValueError(f"need 3.0 <= min_geodesic < max_geodesic, got {min_geodesic}, {max_geodesic}")
    phrasing = SPLIT_SPECS[split].phrasing
    vocab = instruction_vocab()
    episodes: list[Episode] = []
    gt: dict[str, GroundTruth] = {}
    number = SPLIT_ID_BASE[split]
    scene_ids = split_scene_ids(split, num_scenes, seed)
    for scene_id in tqdm(scene_ids, desc=f"{split} scenes", disable=not progress, unit="scene"):
        scene = _Scene.build(scene_id)
        rng = np.random.default_rng([seed, SPLIT_CODES[split], parse_scene_id(scene_id)])
        for draft in _scene_drafts(scene, per_scene, rng, min_geodesic, max_geodesic):
            number += 1
            composed = compose_instruction(scene.house, draft.path, rng, phrasing)
            episode, truth = _episode(draft, number, scene_id, composed.text, composed.style, vocab)
            episodes.append(episode)
            gt[episode.episode_id] = truth
    return episodes, gt


def write_split(
    out_dir: str | os.PathLike,
    split: str,
    num_scenes: int,
    per_scene: int,
    seed: int,
    progress: bool = True,
    min_geodesic: float = 5.0,
    max_geodesic: float = 20.0,
) -> tuple[Path, Path]:
    """Generate a split and write ``{out_dir}/{split}/{split}.json.gz`` (with the instruction vocab and the
    ``"split_definition"``) and ``{out_dir}/{split}/{split}_gt.json.gz``; returns the two paths."""
    episodes, gt = generate_split(split, num_scenes, per_scene, seed, progress, min_geodesic, max_geodesic)
    episodes_path, gt_path = r2r_episodes_path(out_dir, split), r2r_gt_path(out_dir, split)
    episodes_path.parent.mkdir(parents=True, exist_ok=True)
    save_episodes(
        episodes_path, episodes, instruction_vocab(), metadata={"split_definition": split_definition(split)}
    )
    save_gt(gt_path, gt)
    return episodes_path, gt_path
