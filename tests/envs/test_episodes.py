"""Episode / ground-truth file IO: exact layout, byte-identical round trips, validation, atomic writes."""

from __future__ import annotations

import dataclasses
import gzip
import json
import math
import os
import re
from pathlib import Path

import pytest

from navagent.envs.base import Episode, Goal, heading_to_quaternion
from navagent.envs.episodes import (
    EpisodeFileError,
    GroundTruth,
    load_any_episodes,
    load_episodes,
    load_gt,
    load_instruction_vocab,
    load_rxr_episodes,
    r2r_episodes_path,
    r2r_gt_path,
    rxr_episodes_path,
    save_episodes,
    save_gt,
)

VOCAB = ["<PAD>", "<UNK>", "walk", "to", "the", "kitchen"]


def make_episode(episode_id: str, **changes) -> Episode:
    episode = Episode(
        episode_id=episode_id,
        trajectory_id=7,
        scene_id="builtin/house_000003",
        start_position=(1.0, 0.0, -2.5),
        start_rotation=tuple(heading_to_quaternion(0.75)),
        goals=(Goal(position=(4.0, 0.0, 1.25), radius=3.0),),
        reference_path=((1.0, 0.0, -2.5), (2.0, 0.0, 0.0), (4.0, 0.0, 1.25)),
        instruction_text="walk to the kitchen",
        instruction_tokens=(2, 3, 4, 5),
        geodesic_distance=5.125,
    )
    return dataclasses.replace(episode, **changes)


def write_raw(path: Path, document) -> Path:
    path.write_bytes(gzip.compress(json.dumps(document).encode()))
    return path


def raw_document(tmp_path: Path) -> dict:
    path = tmp_path / "source.json.gz"
    save_episodes(path, [make_episode("3"), make_episode("4")], VOCAB)
    return json.loads(gzip.decompress(path.read_bytes()))


def test_paths_follow_vlnce_layout():
    assert r2r_episodes_path("data/R2R", "val_seen") == Path("data/R2R/val_seen/val_seen.json.gz")
    assert r2r_gt_path("data/R2R", "val_seen") == Path("data/R2R/val_seen/val_seen_gt.json.gz")
    assert rxr_episodes_path("data/RxR", "val_unseen", "guide") == Path(
        "data/RxR/val_unseen/val_unseen_guide.json.gz"
    )
    with pytest.raises(ValueError, match="role"):
        rxr_episodes_path("data/RxR", "val_unseen", "leader")


def test_r2r_round_trip_is_byte_identical_and_keeps_everything(tmp_path):
    extra = {"start_room": None, "instruction": {"annotator": "a1"}, "info": {"difficulty": 2}}
    episodes = [make_episode("12"), make_episode("ep-7", extra=extra), make_episode("012")]
    first, second = tmp_path / "a" / "val.json.gz", tmp_path / "b.json.gz"
    first.parent.mkdir()
    save_episodes(first, episodes, VOCAB)
    loaded = load_episodes(first)
    save_episodes(second, loaded, load_instruction_vocab(first))

    assert first.read_bytes() == second.read_bytes()  # also: no file name in the gzip header
    assert loaded == episodes
    assert [e.extra for e in loaded] == [{}, extra, {}]
    assert load_instruction_vocab(first) == VOCAB


def test_written_json_uses_the_reference_layout(tmp_path):
    path = tmp_path / "val.json.gz"
    save_episodes(path, [make_episode("12"), make_episode("ep-7"), make_episode("012")], VOCAB)
    data = path.read_bytes()
    assert data[4:8] == b"\0\0\0\0"  # gzip mtime 0
    assert data[3] & 0x08 == 0  # FNAME flag unset
    document = json.loads(gzip.decompress(data))
    assert document["instruction_vocab"] == {"word_list": VOCAB}
    assert [e["episode_id"] for e in document["episodes"]] == [12, "ep-7", "012"]
    first = document["episodes"][0]
    assert set(first) == {
        "episode_id", "trajectory_id", "scene_id", "start_position", "start_rotation",
        "goals", "reference_path", "instruction", "info",
    }  # fmt: skip
    assert first["goals"] == [{"position": [4.0, 0.0, 1.25], "radius": 3.0}]
    assert first["instruction"] == {
        "instruction_text": "walk to the kitchen",
        "instruction_tokens": [2, 3, 4, 5],
    }
    assert first["info"] == {"geodesic_distance": 5.125}


def test_gt_round_trip_is_byte_identical(tmp_path):
    gt = {
        "12": GroundTruth(locations=((0.0, 0.0, 0.0), (0.25, 0.0, 0.0)), actions=(1, 0), forward_steps=1),
        "3": GroundTruth(locations=((1.0, 0.0, 2.0),), actions=(2, 2, 0), forward_steps=0),
    }
    first, second = tmp_path / "val_gt.json.gz", tmp_path / "copy_gt.json.gz"
    save_gt(first, gt)
    loaded = load_gt(first)
    save_gt(second, loaded)
    assert loaded == gt
    assert first.read_bytes() == second.read_bytes()
    assert json.loads(gzip.decompress(first.read_bytes()))["12"] == {
        "locations": [[0.0, 0.0, 0.0], [0.25, 0.0, 0.0]],
        "actions": [1, 0],
        "forward_steps": 1,
    }


def _delete(document, *keys):
    target = document
    for key in keys[:-1]:
        target = target[key]
    del target[keys[-1]]


def _set(value, *keys):
    def change(document):
        target = document
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value

    return change


@pytest.mark.parametrize(
    ("change", "record", "field", "problem"),
    [
        (lambda d: _delete(d, "episodes", 1, "start_rotation"), "episode '4'", "start_rotation", "missing"),
        (
            _set([0.0, 0.0, 1.0], "episodes", 1, "start_rotation"),
            "episode '4'",
            "start_rotation",
            "4 numbers",
        ),
        (
            _set([0.0, 0.0, 0.0, 0.0], "episodes", 0, "start_rotation"),
            "episode '3'",
            "start_rotation",
            "unit",
        ),
        (
            _set([1.0, float("nan"), 2.0], "episodes", 0, "start_position"),
            "episode '3'",
            "start_position[1]",
            "non-finite",
        ),
        (
            _set(float("inf"), "episodes", 1, "info", "geodesic_distance"),
            "episode '4'",
            "info.geodesic_distance",
            "non-finite",
        ),
        (_set([], "episodes", 1, "goals"), "episode '4'", "goals", "non-empty"),
        (
            lambda d: _delete(d, "episodes", 0, "goals", 0, "radius"),
            "episode '3'",
            "goals[0].radius",
            "missing",
        ),
        (
            _set([2, 99], "episodes", 0, "instruction", "instruction_tokens"),
            "episode '3'",
            "instruction.instruction_tokens",
            "vocabulary",
        ),
        (
            lambda d: _delete(d, "episodes", 1, "instruction", "instruction_text"),
            "episode '4'",
            "instruction.instruction_text",
            "missing",
        ),
        (_set("1", "episodes", 0, "trajectory_id"), "episode '3'", "trajectory_id", "integer"),
        (_set(None, "episodes", 1, "episode_id"), "episode at index 1", "episode_id", "integer or"),
        (_set(3, "episodes", 1, "episode_id"), "episode '3' (index 1)", "episode_id", "duplicate"),
        (
            _set([[0.0, 0.0]], "episodes", 1, "reference_path"),
            "episode '4'",
            "reference_path[0]",
            "3 numbers",
        ),
        (_set(float("nan"), "episodes", 0, "start_room"), "episode '3'", "<extra>.start_room", "non-finite"),
        (lambda d: _delete(d, "instruction_vocab"), "file", "instruction_vocab", "missing"),
    ],
)
def test_malformed_episode_file_errors_name_file_record_and_field(tmp_path, change, record, field, problem):
    document = raw_document(tmp_path)
    change(document)
    path = write_raw(tmp_path / "bad.json.gz", document)
    with pytest.raises(EpisodeFileError) as error:
        load_episodes(path)
    message = str(error.value)
    assert str(path) in message and record in message and f"'{field}'" in message and problem in message


@pytest.mark.parametrize(
    ("entry", "field", "problem"),
    [
        (
            {"locations": [[0.0, 0.0, float("inf")]], "actions": [0], "forward_steps": 0},
            "locations[0][2]",
            "non-finite",
        ),
        ({"locations": [], "actions": [0], "forward_steps": 0}, "locations", "non-empty"),
        ({"locations": [[0.0, 0.0, 0.0]], "actions": [7], "forward_steps": 0}, "actions", "0..3"),
        ({"locations": [[0.0, 0.0, 0.0]], "actions": [0]}, "forward_steps", "missing"),
    ],
)
def test_malformed_gt_errors_name_file_episode_and_field(tmp_path, entry, field, problem):
    path = write_raw(tmp_path / "bad_gt.json.gz", {"5": entry})
    with pytest.raises(
        EpisodeFileError, match=f"episode '5': field '{re.escape(field)}': .*{problem}"
    ) as error:
        load_gt(path)
    assert str(path) in str(error.value)


def test_not_json_names_the_file(tmp_path):
    path = tmp_path / "broken.json.gz"
    path.write_bytes(gzip.compress(b'{"episodes": ['))
    with pytest.raises(EpisodeFileError, match="broken.json.gz"):
        load_episodes(path)


def _leftover_files(directory: Path) -> list[str]:
    return sorted(os.listdir(directory))


def test_failed_write_leaves_old_file_and_no_temp_file(tmp_path):
    path = tmp_path / "val.json.gz"
    save_episodes(path, [make_episode("1")], VOCAB)
    before = path.read_bytes()
    with pytest.raises(EpisodeFileError, match=r"episode '2' \(index 1\): field 'info.geodesic_distance'"):
        save_episodes(path, [make_episode("1"), make_episode("2", geodesic_distance=math.nan)], VOCAB)
    with pytest.raises(EpisodeFileError, match="'goals'"):
        save_episodes(tmp_path / "new.json.gz", [make_episode("1", goals=())], VOCAB)
    assert path.read_bytes() == before
    assert _leftover_files(tmp_path) == ["val.json.gz"]


def test_interrupted_replace_leaves_no_partial_file(tmp_path, monkeypatch):
    path = tmp_path / "val_gt.json.gz"
    save_gt(path, {"1": GroundTruth(((0.0, 0.0, 0.0),), (0,), 0)})
    before = path.read_bytes()

    def failing_replace(source, destination):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        save_gt(path, {"1": GroundTruth(((1.0, 0.0, 0.0),), (0,), 0)})
    assert path.read_bytes() == before
    assert _leftover_files(tmp_path) == ["val_gt.json.gz"]


def rxr_document() -> dict:
    def episode(episode_id: int, language: str) -> dict:
        return {
            "episode_id": episode_id,
            "trajectory_id": 40 + episode_id,
            "scene_id": "mp3d/abc/abc.glb",
            "start_position": [0.5, 0.1, -1.0],
            "start_rotation": [0.0, 0.0, 0.0, 1.0],
            "goals": [{"position": [3.0, 0.1, 2.0], "radius": 3.0}],
            "reference_path": [[0.5, 0.1, -1.0], [3.0, 0.1, 2.0]],
            "instruction": {
                "instruction_id": str(100 + episode_id),
                "language": language,
                "annotator_id": "7",
                "edit_distance": 0.1,
                "timed_instruction": [{"word": "go", "start_time": 0.5, "end_time": 0.9}],
                "instruction_text": f"instruction {episode_id}",
            },
            "info": {"geodesic_distance": 3.9},
        }

    return {"episodes": [episode(1, "en-US"), episode(2, "hi-IN"), episode(3, "en-IN")]}


def test_rxr_episodes_and_language_filter(tmp_path):
    path = write_raw(tmp_path / "val_unseen_guide.json.gz", rxr_document())
    everything = load_rxr_episodes(path)
    assert [e.episode_id for e in everything] == ["1", "2", "3"]
    english = load_rxr_episodes(path, languages=["en-US", "en-IN"])
    assert [e.episode_id for e in english] == ["1", "3"]
    first = english[0]
    assert first.instruction_tokens == () and first.instruction_text == "instruction 1"
    assert first.extra["instruction"]["instruction_id"] == "101"
    assert first.extra["instruction"]["timed_instruction"][0]["word"] == "go"
    assert load_any_episodes(path) == everything
    with pytest.raises(EpisodeFileError, match=r"\['te-IN'\] not in the file"):
        load_rxr_episodes(path, languages=["te-IN"])


def test_rxr_round_trip_keeps_instruction_fields(tmp_path):
    source = write_raw(tmp_path / "guide.json.gz", rxr_document())
    target = tmp_path / "copy.json.gz"
    save_episodes(target, load_rxr_episodes(source))
    written = json.loads(gzip.decompress(target.read_bytes()))
    assert written["episodes"] == rxr_document()["episodes"]


def test_rxr_missing_language_is_an_error(tmp_path):
    document = rxr_document()
    del document["episodes"][2]["instruction"]["language"]
    path = write_raw(tmp_path / "guide.json.gz", document)
    with pytest.raises(
        EpisodeFileError, match=r"episode '3' \(index 2\): field 'instruction.language': missing"
    ):
        load_rxr_episodes(path)
