"""Episode generator: R2R-CE files for the built-in houses (2 scenes x 3 episodes per split)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from navagent.envs.base import Action, AgentState
from navagent.envs.builtin.episode_gen import (
    GOAL_RADIUS,
    SPLIT_DEFINITION,
    SPLIT_ID_BASE,
    SPLIT_SPECS,
    SPLITS,
    file_split_definition,
    generate_split,
    reference_waypoints,
    split_scene_ids,
    write_split,
)
from navagent.envs.builtin.generator import generate_house
from navagent.envs.builtin.geodesic import GeodesicPlanner
from navagent.envs.builtin.instructions import STYLES, instruction_vocab, phrasing_words, tokenize
from navagent.envs.builtin.motion import MotionModel
from navagent.envs.builtin.route import describe_route
from navagent.envs.episodes import (
    load_episodes,
    load_gt,
    load_instruction_vocab,
    read_json,
    save_episodes,
)

SCENES, PER_SCENE, SEED = 2, 3, 5


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("builtin_r2r")
    for split in SPLITS:
        write_split(root, split, SCENES, PER_SCENE, SEED, progress=False)
    return root


def load(root: Path, split: str):
    return load_episodes(root / split / f"{split}.json.gz"), load_gt(root / split / f"{split}_gt.json.gz")


@pytest.fixture(scope="module")
def scenes(dataset: Path) -> dict:
    """scene id -> (house, planner, motion) for every scene of every split."""
    result = {}
    for split in SPLITS:
        for episode in load(dataset, split)[0]:
            if episode.scene_id not in result:
                house = generate_house(episode.scene_id)
                result[episode.scene_id] = (house, GeodesicPlanner(house), MotionModel(house))
    return result


def test_same_seed_gives_byte_identical_files(dataset: Path, tmp_path: Path) -> None:
    paths = write_split(tmp_path, "train", SCENES, PER_SCENE, SEED, progress=False)
    for path in paths:
        assert path.read_bytes() == (dataset / "train" / path.name).read_bytes()
    other = write_split(tmp_path / "other", "train", SCENES, PER_SCENE, SEED + 1, progress=False)
    assert other[0].read_bytes() != paths[0].read_bytes()


def test_files_are_r2r_ce_with_the_fixed_vocab(dataset: Path) -> None:
    for split in SPLITS:
        vocab = load_instruction_vocab(dataset / split / f"{split}.json.gz")
        assert vocab == instruction_vocab()
        episodes, gt = load(dataset, split)
        assert len(episodes) == SCENES * PER_SCENE
        base = SPLIT_ID_BASE[split]
        assert [e.episode_id for e in episodes] == [str(base + k + 1) for k in range(len(episodes))]
        assert [e.trajectory_id for e in episodes] == [base + k + 1 for k in range(len(episodes))]
        assert set(gt) == {e.episode_id for e in episodes}
        for episode in episodes:
            assert len(episode.instruction_tokens) == 200
            words = [vocab[t] for t in episode.instruction_tokens if t != 0]
            assert words == tokenize(episode.instruction_text)  # every word known: no <unk>
            assert len(episode.goals) == 1 and episode.goals[0].radius == GOAL_RADIUS


def test_episode_geometry(dataset: Path, scenes: dict) -> None:
    for split in SPLITS:
        for episode in load(dataset, split)[0]:
            house, planner, _ = scenes[episode.scene_id]
            start, goal = np.array(episode.start_position), np.array(episode.goals[0].position)
            geodesic = planner.distance(start, goal)
            assert 5.0 <= episode.geodesic_distance <= 20.0
            assert math.isclose(geodesic, episode.geodesic_distance, rel_tol=1e-6)
            rotation = episode.start_rotation
            assert rotation[0] == 0.0 and rotation[2] == 0.0
            assert math.isclose(math.hypot(rotation[1], rotation[3]), 1.0)
            assert describe_route(house, planner.shortest_path(start, goal)).room_changes
            reference = np.array(episode.reference_path)
            assert np.allclose(reference[0], start) and np.allclose(reference[-1], goal)
            gaps = np.linalg.norm(np.diff(reference, axis=0), axis=1)  # chords: at most the arc step
            assert len(reference) - 1 == round(geodesic / 2.0) and gaps.max() <= 2.5 + 1e-6
            assert all(planner.is_navigable(p) for p in reference)


def test_ground_truth_replays_to_the_goal(dataset: Path, scenes: dict) -> None:
    episodes, gt = load(dataset, "val_unseen")
    for episode in episodes:
        _, planner, motion = scenes[episode.scene_id]
        truth = gt[episode.episode_id]
        assert truth.actions[-1] == Action.STOP and Action.STOP not in truth.actions[:-1]
        assert truth.forward_steps == sum(a == Action.MOVE_FORWARD for a in truth.actions)
        assert len(truth.locations) == len(truth.actions) <= 500
        state = AgentState(np.array(episode.start_position), episode.start_heading)
        for location, action in zip(truth.locations, truth.actions, strict=True):
            assert np.allclose(state.position, location)
            state, _ = motion.step(state, action)
        assert planner.distance(state.position, np.array(episode.goals[0].position)) < 0.5


def test_split_scene_ids(dataset: Path) -> None:
    houses = {split: {e.scene_id for e in load(dataset, split)[0]} for split in SPLITS}
    assert len(houses["train"]) == SCENES and houses["val_seen"] == houses["train"]
    for unseen in ("val_unseen", "val_unseen_lang"):
        assert len(houses[unseen]) == SCENES and not houses[unseen] & houses["train"]
    assert not houses["val_unseen"] & houses["val_unseen_lang"]
    blocks = {split: set(split_scene_ids(split, SPLIT_SPECS[split].max_scenes, 0)) for split in SPLITS}
    assert blocks["val_seen"] == blocks["train"]
    for a, b in (("train", "val_unseen"), ("train", "val_unseen_lang"), ("val_unseen", "val_unseen_lang")):
        assert not blocks[a] & blocks[b], (a, b)
    assert split_scene_ids("val_seen", 3, 0) == split_scene_ids("train", 3, 0)
    # val_seen reuses train's houses with different episodes
    train_starts = {e.start_position for e in load(dataset, "train")[0]}
    assert not train_starts & {e.start_position for e in load(dataset, "val_seen")[0]}


def test_held_out_phrasing_only_in_val_unseen_lang(dataset: Path) -> None:
    """R2R's definition: val_unseen has the training phrasing; only val_unseen_lang is held-out language."""
    held_out = phrasing_words("unseen") - phrasing_words("seen")
    for split in SPLITS:
        phrasing = "unseen" if split == "val_unseen_lang" else "seen"
        assert SPLIT_SPECS[split].phrasing == phrasing
        for episode in load(dataset, split)[0]:
            assert episode.extra["info"]["instruction_style"] in STYLES[phrasing]
            words = set(tokenize(episode.instruction_text))
            assert bool(words & held_out) == (split == "val_unseen_lang"), episode.instruction_text


def test_files_name_their_split_definition(dataset: Path) -> None:
    for split in SPLITS:
        path = dataset / split / f"{split}.json.gz"
        houses = "seen" if split in ("train", "val_seen") else "unseen"
        phrasing = "unseen" if split == "val_unseen_lang" else "seen"
        expected = {"name": SPLIT_DEFINITION, "split": split, "houses": houses, "phrasing": phrasing}
        assert file_split_definition(path) == expected
        assert set(read_json(path)) == {"episodes", "instruction_vocab", "split_definition"}
        assert "split_definition" not in load_episodes(path)[0].extra  # readers ignore it
    legacy = dataset / "legacy.json.gz"
    save_episodes(legacy, load(dataset, "train")[0], instruction_vocab())
    assert file_split_definition(legacy) is None


def test_reference_waypoints_spacing() -> None:
    path = [np.array([0.0, 0.0, 0.0]), np.array([3.0, 0.0, 0.0]), np.array([3.0, 0.0, 4.0])]  # 7 m
    points = np.array(reference_waypoints(path))
    assert len(points) == 5  # round(7 / 2) = 4 steps of 1.75 m
    assert np.allclose(np.linalg.norm(np.diff(points, axis=0), axis=1)[[0, 2, 3]], 1.75)
    assert np.allclose(points[[0, -1]], [path[0], path[-1]])


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="split"):
        generate_split("test", 1, 1, 0, progress=False)
    with pytest.raises(ValueError, match="per_scene"):
        generate_split("train", 1, 0, 0, progress=False)
    with pytest.raises(ValueError, match="num_scenes"):
        split_scene_ids("train", 0, 0)
    with pytest.raises(ValueError, match="min_geodesic"):
        generate_split("train", 1, 1, 0, progress=False, min_geodesic=2.0)
