"""The scene-QA set: questions about views rendered inside built-in houses (``write_sceneqa``).

Houses, from the seed's block ``base = (seed % 1000) * HOUSE_BLOCK`` as in ``episode_gen``:

* ``train``: houses ``base + k``, the navigation train (and val_seen) houses of the same seed.
* ``test``: houses ``SCENEQA_TEST_BASE + base + k`` with ``SCENEQA_TEST_BASE = 1000 * HOUSE_BLOCK``. No
  navigation split of any seed reaches these indices (all stay below ``1000 * HOUSE_BLOCK``), so the test
  houses are unseen by navigation training (and by scene-QA training) whatever seeds those used.

Views: ``per_scene`` per house. View ``v`` stands in room ``order[v % rooms]`` (``order`` a random permutation
of the rooms); its pose is a navigable point at least ``EDGE_MARGIN`` inside the room's borders, in the outer
part of the room, looking at the room's centre (+- ``HEADING_JITTER``). A pose is kept when at least
``MIN_ROOM_FRACTION`` of the picture lies in that room and an object of the room is clearly visible (at least
``MIN_VISIBLE_FRACTION`` of the image's pixels, counted by ``view_visibility`` from the depth output);
otherwise up to ``POSE_TRIES`` poses are tried before moving on to the next room. Questions per view:
``sceneqa_questions``. Everything derives from the arguments (one random stream per house); the same call
on the same machine writes byte-equal files (GPU drivers may differ from Mesa's llvmpipe in edge pixels).

Files (``write_sceneqa``), under ``{out_dir}/{split}/``:

* ``sceneqa_{split}.json``: a JSON list of records, one per question, views in order::

    {"id": "test_1000000000_00/count", "image": "images/test_1000000000_00.png",
     "question": "How many chairs are there in the image?", "answer": "2", "answers": ["2", "two"],
     "type": "room" | "color" | "count" | "existence", "category": "chair" | null,
     "pope_config": "random" | "popular" | "adversarial" | null, "object_indices": [3, 4],
     "scene_id": "builtin/house_1000000000", "room_index": 2, "room_type": "kitchen",
     "position": [x, y, z], "heading": radians}

  ``image`` is relative to the split folder; ``answer`` is ``answers[0]``; ``object_indices`` index
  ``House.objects`` of ``scene_id``. The ``id``/``image``/``question``/``answer`` fields make the file a VQA
  training source as well.
* ``images/{view_id}.png``: the RGB view, ``image_size`` x ``image_size`` (90 degree field of view, camera
  1.25 m above the floor, like the simulator's).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from navagent.envs.builtin.episode_gen import HOUSE_BLOCK, split_scene_ids
from navagent.envs.builtin.generator import generate_house, parse_scene_id, scene_id_for_index
from navagent.envs.builtin.house import House, Room
from navagent.envs.builtin.navgrid import NavGrid
from navagent.envs.builtin.renderer import HouseRenderer
from navagent.envs.builtin.sceneqa_questions import CategoryStats, Question, ViewFacts, view_questions
from navagent.envs.builtin.view_visibility import ViewCamera, ViewContents, view_contents
from navagent.fileio import write_bytes_atomic

SPLITS = ("train", "test")
SPLIT_CODES = {"train": 10, "test": 11}  # separates the splits' random streams
SCENEQA_TEST_BASE = 1000 * HOUSE_BLOCK
EDGE_MARGIN = 0.35  # metres between a camera position and the room's borders (keeps it out of doorways)
OUTER_FRACTION = 0.4  # positions at least this share of the largest centre distance away from the centre
HEADING_JITTER = math.radians(20.0)
MIN_ROOM_FRACTION = 0.75
MIN_VISIBLE_FRACTION = 0.004  # of the image's pixels: 200 px at 224 x 224
POSE_TRIES = 12
ROOM_TRIES_PER_VIEW = 4  # rooms tried per wanted view before giving up on a house
DEFAULT_IMAGE_SIZE = 224


def annotations_path(out_dir: str | os.PathLike, split: str) -> Path:
    """``{out_dir}/{split}/sceneqa_{split}.json``."""
    return Path(out_dir) / split / f"sceneqa_{split}.json"


def sceneqa_scene_ids(split: str, num_scenes: int, seed: int) -> list[str]:
    """The house scene ids of ``split`` (see the module docstring)."""
    _check_split(split)
    if split == "train":
        return split_scene_ids("train", num_scenes, seed)
    if not 1 <= num_scenes <= HOUSE_BLOCK:
        raise ValueError(f"num_scenes must be in 1..{HOUSE_BLOCK}, got {num_scenes}")
    base = SCENEQA_TEST_BASE + (seed % 1000) * HOUSE_BLOCK
    return [scene_id_for_index(base + k) for k in range(num_scenes)]


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise ValueError(f"scene-QA split must be one of {SPLITS}, got {split!r}")


@dataclass(frozen=True)
class SceneView:
    """One accepted view: ``rgb`` (H, W, 3) uint8 seen from ``position`` (3,) with yaw ``heading``."""

    view_id: str
    scene_id: str
    room_index: int
    position: np.ndarray
    heading: float
    rgb: np.ndarray
    contents: ViewContents


def min_visible_pixels(width: int, height: int) -> int:
    """Pixels an object needs to count as clearly visible."""
    return max(1, round(MIN_VISIBLE_FRACTION * width * height))


def pose_candidates(navgrid: NavGrid, room: Room) -> np.ndarray:
    """(K, 2) x, z of navigable cell centres at least ``EDGE_MARGIN`` inside ``room`` and in its outer part
    (at least ``OUTER_FRACTION`` of the farthest such point's distance from the centre); K may be 0."""
    inner = room.bounds.inflate(-EDGE_MARGIN)
    xs, zs = navgrid.cell_centers_x(), navgrid.cell_centers_z()
    in_x = (xs >= inner.x0) & (xs <= inner.x1)
    in_z = (zs >= inner.z0) & (zs <= inner.z1)
    rows, cols = np.nonzero(navgrid.navigable & in_z[:, None] & in_x[None, :])
    points = np.stack([xs[cols], zs[rows]], axis=1)
    if len(points) == 0:
        return points
    distance = np.linalg.norm(points - np.asarray(room.bounds.center), axis=1)
    return points[distance >= OUTER_FRACTION * distance.max()]


def find_view(
    house: House,
    room: Room,
    candidates: np.ndarray,
    renderer: HouseRenderer,
    rng: np.random.Generator,
) -> tuple[np.ndarray, float, np.ndarray, ViewContents] | None:
    """(position (3,), heading, rgb (H, W, 3), contents) of the first acceptable pose of up to ``POSE_TRIES``
    drawn in ``room`` from ``candidates`` (see the module docstring), or None."""
    camera = ViewCamera.of_renderer(renderer)
    min_pixels = min_visible_pixels(camera.width, camera.height)
    in_room = {obj.index for obj in house.objects if obj.room_index == room.index}
    cx, cz = room.bounds.center
    for _ in range(POSE_TRIES if len(candidates) else 0):
        x, z = candidates[int(rng.integers(len(candidates)))]
        heading = math.atan2(-(cx - x), -(cz - z)) + rng.uniform(-HEADING_JITTER, HEADING_JITTER)
        heading = math.remainder(heading, 2 * math.pi)
        position = np.array([float(x), 0.0, float(z)])
        rgb, depth = renderer.render(position, heading)
        contents = view_contents(house, camera, position, heading, depth)
        clear_in_room = any(contents.object_pixels.get(i, 0) >= min_pixels for i in in_room)
        if contents.room_fraction(room.index) >= MIN_ROOM_FRACTION and clear_in_room:
            return position, heading, rgb, contents
    return None


def house_views(
    house: House, split: str, per_scene: int, renderer: HouseRenderer, rng: np.random.Generator
) -> Iterator[SceneView]:
    """``per_scene`` views of ``house`` (the renderer must show it); RuntimeError when rooms run out."""
    navgrid = NavGrid.from_house(house)
    order = [house.rooms[i] for i in rng.permutation(len(house.rooms))]
    candidates = {room.index: pose_candidates(navgrid, room) for room in house.rooms}
    index = parse_scene_id(house.scene_id)
    made = tries = 0
    while made < per_scene:
        if tries >= ROOM_TRIES_PER_VIEW * per_scene:
            raise RuntimeError(
                f"scene {house.scene_id}: found only {made} of {per_scene} views after trying {tries} rooms"
            )
        room = order[tries % len(order)]
        tries += 1
        found = find_view(house, room, candidates[room.index], renderer, rng)
        if found is not None:
            position, heading, rgb, contents = found
            view_id = f"{split}_{index:06d}_{made:02d}"
            yield SceneView(view_id, house.scene_id, room.index, position, heading, rgb, contents)
            made += 1


def iter_sceneqa(
    split: str,
    num_scenes: int,
    per_scene: int,
    seed: int,
    image_size: int = DEFAULT_IMAGE_SIZE,
    progress: bool = True,
) -> Iterator[tuple[SceneView, House, list[Question]]]:
    """Every view of the split with its house and questions, in order (deterministic given the arguments)."""
    if per_scene < 1:
        raise ValueError(f"per_scene must be >= 1, got {per_scene}")
    if image_size < 16:
        raise ValueError(f"image_size must be >= 16 pixels, got {image_size}")
    scene_ids = sceneqa_scene_ids(split, num_scenes, seed)
    houses = [generate_house(scene_id) for scene_id in scene_ids]
    stats = CategoryStats.of_houses(houses)
    min_pixels = min_visible_pixels(image_size, image_size)
    with HouseRenderer(width=image_size, height=image_size, depth=True) as renderer:
        for house in tqdm(houses, desc=f"sceneqa {split} scenes", disable=not progress, unit="scene"):
            rng = np.random.default_rng([seed, SPLIT_CODES[split], parse_scene_id(house.scene_id)])
            renderer.set_house(house)
            for view in house_views(house, split, per_scene, renderer, rng):
                facts = ViewFacts.of_view(house, view.room_index, view.contents.object_pixels, min_pixels)
                yield view, house, view_questions(facts, stats, rng)


def question_record(view: SceneView, house: House, image: str, question: Question) -> dict:
    """The JSON record of one question (format in the module docstring)."""
    return {
        "id": f"{view.view_id}/{question.key}",
        "image": image,
        "question": question.question,
        "answer": question.answers[0],
        "answers": list(question.answers),
        "type": question.type,
        "category": question.category,
        "pope_config": question.pope_config,
        "object_indices": list(question.object_indices),
        "scene_id": view.scene_id,
        "room_index": view.room_index,
        "room_type": house.rooms[view.room_index].room_type,
        "position": [round(float(v), 6) for v in view.position],
        "heading": round(float(view.heading), 6),
    }


def write_sceneqa(
    out_dir: str | os.PathLike,
    split: str,
    num_scenes: int,
    per_scene: int,
    seed: int,
    image_size: int = DEFAULT_IMAGE_SIZE,
    progress: bool = True,
) -> Path:
    """Generate the split's views and questions; write the PNGs, then the records file (atomically, last);
    return the records file's path (``annotations_path(out_dir, split)``)."""
    _check_split(split)
    path = annotations_path(out_dir, split)
    image_dir = path.parent / "images"
    image_dir.mkdir(parents=True, exist_ok=True)
    records = []
    for view, house, questions in iter_sceneqa(split, num_scenes, per_scene, seed, image_size, progress):
        image = f"images/{view.view_id}.png"
        Image.fromarray(view.rgb).save(path.parent / image)
        records += [question_record(view, house, image, question) for question in questions]
    write_bytes_atomic(path, (json.dumps(records, indent=1) + "\n").encode("utf-8"))
    return path
