"""Stage-0 vision data: rendered views of built-in houses with the labels the simulator knows
(``navagent data views``; labels: ``navagent.envs.builtin.view_labels``).

Houses are a navigation split's (``episode_gen.split_scene_ids``): ``train`` views come from the train houses,
``val_unseen`` views from houses no train split of the same seed reaches, so probes measure unseen houses.
Per house, ``per_scene`` poses on the largest navigable component, drawn from one random stream per house
(``default_rng([seed, VIEW_STREAM + split code, house index])``):

* ``path`` poses (a share ``on_path_fraction``): a point at a uniform distance along the shortest path between
  two random navigable points (at least ``MIN_PATH_LENGTH`` apart), heading along the path there plus a normal
  error of ``PATH_HEADING_NOISE`` (what an agent following a route sees);
* ``free`` poses: a random navigable point with a uniform heading.

Files, under ``{out_dir}/{split}/``: ``images/{house index:07d}_{view:03d}.jpg`` (RGB, ``image_size`` square,
the simulator's camera) and ``views_{split}.json``, written last and atomically::

    {"format": "navagent-views-1", "split": "train", "seed": 0, "num_sectors": 4,
     "vocab": {"room_types": [...], "categories": [...], "colors": [...], "depth_bins": [...]},
     "views": [{"id": "train_0000003_017", "image": "images/0000003_017.jpg", "scene_id": "builtin/...",
                "kind": "path" | "free", "position": [x, y, z], "heading": radians,
                "labels": {"room": ..., "door": [0, 1, 0, 0], "through": [...], "objects": [[...], ...],
                           "colors": [[...], ...], "depth": [bin, ...]}}, ...]}

The same arguments give the same poses, labels and bytes (on the same renderer).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from navagent.envs.builtin.episode_gen import SPLIT_CODES, split_scene_ids
from navagent.envs.builtin.generator import generate_house, parse_scene_id
from navagent.envs.builtin.geodesic import GeodesicPlanner
from navagent.envs.builtin.house import House
from navagent.envs.builtin.navgrid import NavGrid
from navagent.envs.builtin.renderer import HouseRenderer
from navagent.envs.builtin.view_labels import (
    CATEGORIES,
    COLOR_NAMES,
    DEPTH_BINS,
    NUM_SECTORS,
    ROOM_TYPES,
    ViewLabels,
    view_labels,
)
from navagent.envs.builtin.view_visibility import ViewCamera
from navagent.fileio import write_bytes_atomic
from navagent.train.trajectories import encode_jpeg

VIEWS_FORMAT = "navagent-views-1"
VIEW_STREAM = 20  # added to the split's code: the view streams differ from the episode streams
MIN_PATH_LENGTH = 2.0  # metres between the two ends of a path pose's route
PATH_HEADING_NOISE = math.radians(15.0)
PATH_TRIES = 20  # endpoint pairs tried before a path pose falls back to a free pose


@dataclass(frozen=True)
class ViewPose:
    """Where a view is taken: ``position`` (3,) on the floor, yaw ``heading``, ``kind`` "path" or "free"."""

    position: np.ndarray
    heading: float
    kind: str


def views_path(out_dir: str | os.PathLike, split: str) -> Path:
    """``{out_dir}/{split}/views_{split}.json``."""
    return Path(out_dir) / split / f"views_{split}.json"


def label_vocab() -> dict[str, list[str]]:
    """The label names, in index order (stored with the views, checked by readers)."""
    return {
        "room_types": list(ROOM_TYPES),
        "categories": list(CATEGORIES),
        "colors": list(COLOR_NAMES),
        "depth_bins": list(DEPTH_BINS),
    }


def _path_pose(navgrid: NavGrid, planner: GeodesicPlanner, component: int, rng: np.random.Generator):
    """A pose along a shortest path (see the module docstring), or None when no route was found."""
    for _ in range(PATH_TRIES):
        start = navgrid.sample_navigable_point(rng, component)
        goal = navgrid.sample_navigable_point(rng, component)
        route = planner.shortest_path(start, goal)
        if len(route) < 2:
            continue
        points = np.stack(route)[:, [0, 2]]  # (R, 2) x, z
        lengths = np.linalg.norm(np.diff(points, axis=0), axis=1)
        if lengths.sum() < MIN_PATH_LENGTH:
            continue
        along = rng.uniform(0.0, lengths.sum())
        segment = min(int(np.searchsorted(np.cumsum(lengths), along, side="right")), len(lengths) - 1)
        offset = along - (np.cumsum(lengths)[segment] - lengths[segment])
        direction = (points[segment + 1] - points[segment]) / lengths[segment]
        x, z = points[segment] + offset * direction
        heading = math.atan2(-direction[0], -direction[1]) + rng.normal(0.0, PATH_HEADING_NOISE)
        return ViewPose(np.array([x, 0.0, z]), math.remainder(heading, 2 * math.pi), "path")
    return None


def house_poses(
    house: House, count: int, on_path_fraction: float, rng: np.random.Generator
) -> list[ViewPose]:
    """``count`` poses in ``house``: the first ``round(count * on_path_fraction)`` along paths, then free."""
    navgrid = NavGrid.from_house(house)
    component = navgrid.largest_component()
    planner = GeodesicPlanner(house, navgrid=navgrid)
    poses = []
    for index in range(count):
        pose = (
            _path_pose(navgrid, planner, component, rng) if index < round(count * on_path_fraction) else None
        )
        if pose is None:
            position = navgrid.sample_navigable_point(rng, component)
            pose = ViewPose(position, float(rng.uniform(-math.pi, math.pi)), "free")
        poses.append(pose)
    return poses


def write_views(
    out_dir: str | os.PathLike,
    split: str,
    num_scenes: int,
    per_scene: int,
    seed: int,
    image_size: int = 224,
    jpeg_quality: int = 90,
    on_path_fraction: float = 0.5,
    progress: bool = True,
) -> Path:
    """Render and label ``per_scene`` views in each of the split's first ``num_scenes`` houses; write the JPEGs,
    then the annotation (atomically, last). Returns the annotation's path (``views_path(out_dir, split)``)."""
    if per_scene < 1:
        raise ValueError(f"per_scene must be >= 1, got {per_scene}")
    if not 16 <= image_size <= 2048:
        raise ValueError(f"image_size must be in 16..2048 pixels, got {image_size}")
    if not 0.0 <= on_path_fraction <= 1.0:
        raise ValueError(f"on_path_fraction must be in [0, 1], got {on_path_fraction}")
    if split not in SPLIT_CODES:
        raise ValueError(f"split must be one of {tuple(SPLIT_CODES)}, got {split!r}")
    path = views_path(out_dir, split)
    image_dir = path.parent / "images"
    image_dir.mkdir(parents=True, exist_ok=True)
    records = []
    with HouseRenderer(width=image_size, height=image_size, depth=True) as renderer:
        camera = ViewCamera.of_renderer(renderer)
        scene_ids = split_scene_ids(split, num_scenes, seed)
        for scene_id in tqdm(scene_ids, desc=f"views {split}", unit="house", disable=not progress):
            house_index = parse_scene_id(scene_id)
            rng = np.random.default_rng([seed, VIEW_STREAM + SPLIT_CODES[split], house_index])
            house = generate_house(scene_id)
            renderer.set_house(house)
            for view, pose in enumerate(house_poses(house, per_scene, on_path_fraction, rng)):
                rgb, depth = renderer.render(pose.position, pose.heading)
                labels = view_labels(house, camera, pose.position, pose.heading, depth)
                name = f"{house_index:07d}_{view:03d}"
                (image_dir / f"{name}.jpg").write_bytes(encode_jpeg(rgb, jpeg_quality))
                records.append(_record(split, name, scene_id, pose, labels))
    document = {
        "format": VIEWS_FORMAT,
        "split": split,
        "seed": seed,
        "num_sectors": NUM_SECTORS,
        "vocab": label_vocab(),
        "views": records,
    }
    write_bytes_atomic(path, (json.dumps(document, separators=(",", ":")) + "\n").encode("utf-8"))
    return path


def _record(split: str, name: str, scene_id: str, pose: ViewPose, labels: ViewLabels) -> dict:
    return {
        "id": f"{split}_{name}",
        "image": f"images/{name}.jpg",
        "scene_id": scene_id,
        "kind": pose.kind,
        "position": [round(float(v), 6) for v in pose.position],
        "heading": round(float(pose.heading), 6),
        "labels": labels.to_json(),
    }


def load_views(path: str | os.PathLike) -> dict:
    """The annotation document of ``write_views``; ValueError when its format or label vocabulary is not this
    code's."""
    document = json.loads(Path(path).read_text(encoding="utf-8"))
    if document.get("format") != VIEWS_FORMAT:
        raise ValueError(f"{path}: format {document.get('format')!r} is not {VIEWS_FORMAT!r}")
    if document.get("vocab") != label_vocab() or document.get("num_sectors") != NUM_SECTORS:
        raise ValueError(
            f"{path}: label vocabulary differs from this code's; regenerate with `navagent data views`"
        )
    return document
