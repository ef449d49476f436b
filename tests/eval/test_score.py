"""Scoring an offline VLN-CE r2r inference file end to end.

Scenes are open floors where the straight-line distance *is* the geodesic, plus one floor split by an
impassable wall at x = 10 (distance inf across it).
"""

from __future__ import annotations

import gzip
import json
import math

import numpy as np
import pytest

from navagent.envs.base import Episode, Goal
from navagent.envs.episodes import EpisodeFileError, GroundTruth, save_episodes, save_gt
from navagent.eval.score import format_summary_table, load_trajectories, score_trajectories
from navagent.fileio import write_json_atomic


def open_floor(point: np.ndarray, goal: np.ndarray) -> float:
    return float(np.linalg.norm(np.asarray(point) - np.asarray(goal)))


def walled_floor(point: np.ndarray, goal: np.ndarray) -> float:
    same_side = (point[0] < 10.0) == (goal[0] < 10.0)
    return open_floor(point, goal) if same_side else math.inf


SCENES = {"open": open_floor, "walled": walled_floor}


def episode(episode_id: str, scene_id: str, goal_x: float) -> Episode:
    return Episode(
        episode_id=episode_id,
        trajectory_id=int(episode_id),
        scene_id=scene_id,
        start_position=(0.0, 0.0, 0.0),
        start_rotation=(0.0, 0.0, 0.0, 1.0),
        goals=(Goal(position=(goal_x, 0.0, 0.0)),),
        reference_path=tuple((x, 0.0, 0.0) for x in np.linspace(0.0, goal_x, 3)),
        instruction_text="go along x",
        geodesic_distance=goal_x,
    )


def records(xs: list[float], stop: bool) -> list[dict]:
    """Start pose, then one record per action; STOP repeats the last position with stop=true."""
    out = [{"position": [x, 0.0, 0.0], "heading": -math.pi / 2, "stop": False} for x in xs]
    if stop:
        out.append({**out[-1], "stop": True})
    return out


TRAJECTORIES = {
    "1": records([0, 1, 2, 3, 4], stop=True),  # reaches the goal at x=4 and stops: 5 actions
    "2": records([0, 1, 2, 3, 4, 5], stop=False),  # passes the goal, runs out of steps
    "3": records([0, 1], stop=True),  # stops exactly 3.0 m short of the goal
    "4": records([0, 5, 11], stop=True),  # walks through the wall (x = 10): unreachable goal
}


@pytest.fixture
def files(tmp_path):
    episodes = [episode("1", "open", 4.0), episode("2", "open", 4.0), episode("3", "open", 4.0)]
    episodes.append(episode("4", "walled", 6.0))
    save_episodes(tmp_path / "val.json.gz", episodes, ["<PAD>"])
    gt = {e.episode_id: GroundTruth(e.reference_path, (1, 0), 1) for e in episodes}
    save_gt(tmp_path / "val_gt.json.gz", gt)
    (tmp_path / "preds.json").write_text(json.dumps(TRAJECTORIES))
    return tmp_path


def score(files, name="preds.json", **options):
    calls = []

    def distance_fn_for_scene(scene_id):
        calls.append(scene_id)
        return SCENES[scene_id]

    result = score_trajectories(
        files / "val.json.gz", files / "val_gt.json.gz", files / name, distance_fn_for_scene, **options
    )
    return result, calls


def test_end_to_end_scores_match_hand_computation(files):
    result, calls = score(files)
    assert sorted(calls) == ["open", "walled"]  # one distance function per scene
    per_episode = result["episodes"]

    reached = per_episode["1"]
    assert reached["steps"] == 5 and reached["success"] and reached["ne"] == 0.0
    assert reached["tl"] == pytest.approx(4.0) and reached["spl"] == pytest.approx(1.0)
    # P = 0,1,2,3,4 (the STOP record repeats 4 and is dropped), R = 0,2,4: DTW = 2
    assert reached["ndtw"] == pytest.approx(math.exp(-2.0 / 9.0))
    assert reached["sdtw"] == pytest.approx(reached["ndtw"])

    timed_out = per_episode["2"]
    assert timed_out["steps"] == 5 and not timed_out["success"] and timed_out["oracle_success"]
    assert timed_out["ne"] == pytest.approx(1.0) and timed_out["spl"] == 0.0

    short = per_episode["3"]
    assert short["ne"] == pytest.approx(3.0) and not short["success"] and not short["oracle_success"]

    lost = per_episode["4"]
    assert lost["ne"] is None and lost["oracle_ne"] == pytest.approx(1.0) and lost["oracle_success"]
    assert not lost["success"] and lost["tl"] == pytest.approx(11.0)

    summary = result["summary"]
    assert summary["episodes"] == 4 and summary["nonfinite_ne"] == 1
    assert summary["ne"] == pytest.approx((0.0 + 1.0 + 3.0) / 3)
    assert summary["sr"] == 0.25 and summary["osr"] == 0.75 and summary["spl"] == pytest.approx(0.25)
    assert summary["steps"] == pytest.approx((5 + 5 + 2 + 3) / 4)
    assert summary["tl"] == pytest.approx((4 + 5 + 1 + 11) / 4)
    assert summary["dtw"] == "exact" and summary["success_distance"] == 3.0


def test_gzipped_trajectories_and_fastdtw_mode_give_the_same_scores(files):
    pytest.importorskip("fastdtw")
    (files / "preds.json.gz").write_bytes(gzip.compress(json.dumps(TRAJECTORIES).encode()))
    exact, _ = score(files)
    approximate, _ = score(files, name="preds.json.gz", dtw="fastdtw")
    assert approximate["summary"]["dtw"] == "fastdtw"
    for key in ("ndtw", "sdtw", "sr", "spl", "tl"):
        assert approximate["summary"][key] == pytest.approx(exact["summary"][key])


def test_id_mismatches_are_errors_unless_asked_for_the_intersection(files):
    (files / "preds.json").write_text(json.dumps({**TRAJECTORIES, "99": records([0], stop=True)}))
    with pytest.raises(ValueError, match="1 trajectories not in .*val.json.gz: 99"):
        score(files)
    (files / "preds.json").write_text(json.dumps({k: v for k, v in TRAJECTORIES.items() if k != "3"}))
    with pytest.raises(ValueError, match="1 episodes have no trajectory in .*preds.json: 3"):
        score(files)
    result, _ = score(files, strict=False)
    assert sorted(result["episodes"]) == ["1", "2", "4"] and result["summary"]["episodes"] == 3


def test_missing_ground_truth_is_an_error(files):
    save_gt(files / "val_gt.json.gz", {"1": GroundTruth(((0.0, 0.0, 0.0),), (0,), 0)})
    with pytest.raises(ValueError, match="no ground truth for 3 episodes: 2, 3, 4"):
        score(files)


@pytest.mark.parametrize(
    ("bad_records", "message"),
    [
        (
            [{"position": [0, 0, 0], "heading": 0.0, "stop": True}, *records([1], True)],
            "record 0: .*STOP before",
        ),
        ([{"position": [0, 0], "heading": 0.0, "stop": True}], "record 0: field 'position'"),
        ([{"position": [0, 0, float("nan")], "heading": 0.0, "stop": True}], "record 0: field 'position'"),
        ([{"position": [0, 0, 0], "heading": 0.0, "stop": "yes"}], "record 0: field 'stop'"),
        ([{"position": [0, 0, 0], "stop": True}], "record 0: expected an object with"),
        ([], "expected a non-empty list"),
    ],
)
def test_malformed_trajectories_name_file_episode_and_record(tmp_path, bad_records, message):
    path = tmp_path / "preds.json"
    path.write_text(json.dumps({"1": records([0, 1], True), "8": bad_records}))
    with pytest.raises(EpisodeFileError, match=f"preds.json: episode '8': {message}"):
        load_trajectories(path)


def test_write_json_atomic_and_summary_table(files):
    result, _ = score(files)
    for name in ("out/scores.json", "out/scores.json.gz"):
        write_json_atomic(files / name, result)
        assert load_back(files / name) == result
    with pytest.raises(ValueError):
        write_json_atomic(files / "out/bad.json", {"ne": math.inf})
    assert sorted(p.name for p in (files / "out").iterdir()) == ["scores.json", "scores.json.gz"]

    table = format_summary_table(result["summary"])
    assert "SR (success rate)" in table and "25.0 %" in table
    assert "Non-finite NE" in table and "DTW: exact" in table
    assert "n/a" in format_summary_table({**result["summary"], "ne": None})


def load_back(path):
    data = path.read_bytes()
    return json.loads(gzip.decompress(data) if path.suffix == ".gz" else data)
