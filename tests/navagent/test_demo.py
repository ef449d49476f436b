"""`navagent demo`: one episode -> a playable MP4 (decoded back here), the last frame as PNG, a results record.

Episodes are generated in a built-in house and kept short (3-4.5 m); views are 64 px."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import imageio.v2 as imageio
import numpy as np
import pytest
from PIL import Image, ImageFont

from navagent.demo import FrameLayout, run_demo
from navagent.demo.episode_video import hold_frame_count
from navagent.demo.frames import wrap_text
from navagent.demo.video import Mp4Writer
from navagent.envs.builtin.episode_gen import split_scene_ids, write_split
from navagent.envs.builtin.sim import BuiltinNavEnv
from navagent.envs.episodes import (
    load_episodes,
    load_gt,
    load_instruction_vocab,
    r2r_episodes_path,
    r2r_gt_path,
    save_episodes,
)
from navagent.eval.score import Trajectory, score_episode
from navagent.eval.vln import run_vln_eval
from navagent.eval.vln.config import EpisodesSection, EvalConfig, SimSection
from navagent.eval.vln.policies import DEFAULT_CHECKPOINT
from navagent.eval.vln.results import ResultsLog, results_path

SPLIT = "val_unseen"
SIZE = 64  # view 64 px -> panels 128 px, frames 256 x 256
FPS = 4


def decode(path: Path) -> list[np.ndarray]:
    with imageio.get_reader(path, format="FFMPEG") as reader:
        return [np.asarray(frame) for frame in reader]


@pytest.fixture(scope="module")
def episodes_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("demo_data")
    write_split(root, SPLIT, 1, 2, seed=5, progress=False, min_geodesic=3.0, max_geodesic=4.5)
    return root


@pytest.fixture(scope="module")
def oracle_demo(episodes_dir, tmp_path_factory) -> dict:
    second = load_episodes(r2r_episodes_path(episodes_dir, SPLIT))[1].episode_id
    out = tmp_path_factory.mktemp("demo_out")
    return run_demo(
        policy="oracle", episodes=episodes_dir, split=SPLIT, episode_id=second, out_dir=out, size=SIZE, fps=FPS,
        progress=False,
    )  # fmt: skip


def test_frame_layout_is_documented_and_macroblock_aligned():
    assert FrameLayout.for_view_size(224).shape == (640, 896, 3)
    assert FrameLayout.for_view_size(64).shape == (256, 256, 3)
    for size in range(16, 300, 7):
        height, width, _ = FrameLayout.for_view_size(size).shape
        assert height % 16 == 0 and width % 16 == 0 and width >= 4 * size
    with pytest.raises(ValueError, match="size"):
        FrameLayout.for_view_size(8)


def test_oracle_demo_writes_a_playable_mp4_of_steps_plus_held_final_frames(oracle_demo):
    frames = decode(oracle_demo["video"])
    assert len(frames) == oracle_demo["steps"] + hold_frame_count(FPS) == oracle_demo["frames"]
    assert hold_frame_count(FPS) == 8
    assert {frame.shape for frame in frames} == {(256, 256, 3)}
    assert oracle_demo["frame_shape"] == (256, 256)
    # the last frame of the video is the PNG (up to compression); the agent has moved since the first
    last_png = np.asarray(Image.open(oracle_demo["last_frame"]).convert("RGB")).astype(np.float64)
    assert np.abs(frames[-1] - last_png).mean() < 6.0
    first_view, last_view = frames[0][:128, :128].astype(np.float64), frames[-1][:128, :128]
    assert np.abs(first_view - last_view).mean() > 10.0


def test_oracle_demo_succeeds_and_its_record_scores_the_same_offline(oracle_demo, episodes_dir):
    metrics = oracle_demo["metrics"]
    assert metrics["success"] and metrics["ne"] < 3.0 and metrics["spl"] > 0.9
    assert oracle_demo["stopped"] and oracle_demo["policy"].startswith("oracle")
    record = json.loads(Path(oracle_demo["record"]).read_text())
    assert record["metrics"] == metrics and record["demo"]["video"] == str(oracle_demo["video"])
    assert len(record["actions"]) == metrics["steps"] == oracle_demo["steps"] and record["actions"][-1] == 0
    episode = next(
        e
        for e in load_episodes(r2r_episodes_path(episodes_dir, SPLIT))
        if e.episode_id == record["episode_id"]
    )
    truth = load_gt(r2r_gt_path(episodes_dir, SPLIT))[episode.episode_id]
    trajectory = Trajectory(
        np.array([r["position"] for r in record["trajectory"]]),
        np.array([r["heading"] for r in record["trajectory"]]),
        record["trajectory"][-1]["stop"],
    )
    planner = BuiltinNavEnv(render=False).load_scene(episode.scene_id).planner
    offline = score_episode(episode, truth, trajectory, planner.distance_to_goal).to_dict()
    assert offline == pytest.approx(metrics)


def test_demo_metrics_equal_eval_vln_on_the_same_episode(oracle_demo, episodes_dir, tmp_path):
    """The demo runs eval vln's loop: the same episode gives the same record (metrics, trajectory)."""
    config = EvalConfig(
        out_dir=str(tmp_path / "run"), policy="oracle", num_envs=1,
        episodes=EpisodesSection(dir=str(episodes_dir), split=SPLIT), sim=SimSection(width=SIZE, height=SIZE),
    )  # fmt: skip
    run_vln_eval(config, progress=False)
    records = ResultsLog(results_path(tmp_path / "run")).load(repair=False)
    demo_record = json.loads(Path(oracle_demo["record"]).read_text())
    record = records[oracle_demo["episode_id"]]
    assert record["metrics"] == demo_record["metrics"] == oracle_demo["metrics"]
    assert record["trajectory"] == demo_record["trajectory"] and record["actions"] == demo_record["actions"]


def test_generated_default_episode_is_deterministic(tmp_path):
    first = run_demo(policy="oracle", out_dir=tmp_path / "a", size=SIZE, fps=1, seed=3, progress=False)
    second = run_demo(policy="oracle", out_dir=tmp_path / "b", size=SIZE, fps=1, seed=3, progress=False)
    assert first["scene_id"] == split_scene_ids(SPLIT, 1, 3)[0] and first["episode_id"] == "2000001"
    assert first["metrics"]["success"] and first["metrics"] == second["metrics"]
    assert Path(first["last_frame"]).read_bytes() == Path(second["last_frame"]).read_bytes()
    assert len(decode(first["video"])) == first["steps"] + 2
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == [
        "demo_2000001.json", "demo_2000001.mp4", "demo_2000001.png",
    ]  # fmt: skip


def test_checkpoint_demo_shows_the_model_outputs(tiny_checkpoint_dir, episodes_dir, tmp_path):
    result = run_demo(
        checkpoint=tiny_checkpoint_dir, episodes=episodes_dir, split=SPLIT, out_dir=tmp_path, size=SIZE, fps=1,
        max_steps=5, progress=False,
    )  # fmt: skip
    record = json.loads(Path(result["record"]).read_text())
    assert result["policy"].startswith("checkpoint:")
    assert record["outputs"] and all(isinstance(o["text"], str) for o in record["outputs"])
    assert 1 <= result["steps"] <= 5
    assert len(decode(result["video"])) == result["steps"] + 2


# ------------------------------------------------------------------------------------------ bad input
def test_unknown_episode_id_names_the_id_and_file_and_writes_nothing(episodes_dir, tmp_path):
    with pytest.raises(ValueError, match=r"'999'.*2000001") as error:
        run_demo(
            policy="oracle", episodes=episodes_dir, episode_id="999", out_dir=tmp_path / "out", size=SIZE
        )
    assert str(r2r_episodes_path(episodes_dir, SPLIT)) in str(error.value)
    assert not (tmp_path / "out").exists()


def test_missing_episode_files_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere.json.gz"):
        run_demo(policy="oracle", episodes=tmp_path / "nowhere.json.gz", out_dir=tmp_path, size=SIZE)
    with pytest.raises(FileNotFoundError, match="val_seen/val_seen.json.gz"):
        run_demo(policy="oracle", episodes=tmp_path, split="val_seen", out_dir=tmp_path, size=SIZE)


def test_episode_in_an_unknown_scene_fails_clearly_before_writing(episodes_dir, tmp_path):
    path = r2r_episodes_path(episodes_dir, SPLIT)
    broken = dataclasses.replace(load_episodes(path)[0], scene_id="builtin/not_a_house")
    save_episodes(tmp_path / "broken.json.gz", [broken], load_instruction_vocab(path))
    with pytest.raises(ValueError, match="cannot load scene"):
        run_demo(policy="oracle", episodes=tmp_path / "broken.json.gz", out_dir=tmp_path / "out", size=SIZE)
    assert not (tmp_path / "out").exists()


def test_policy_arguments_are_checked(episodes_dir, tmp_path):
    with pytest.raises(ValueError, match="policy must be one of .*oracle.*random"):
        run_demo(policy="greedy", episodes=episodes_dir, out_dir=tmp_path, size=SIZE)
    with pytest.raises(ValueError, match="not both"):
        run_demo(checkpoint=tmp_path, policy="oracle", episodes=episodes_dir, out_dir=tmp_path, size=SIZE)
    with pytest.raises(ValueError, match="fps"):
        run_demo(policy="oracle", episodes=episodes_dir, out_dir=tmp_path, size=SIZE, fps=0)


def test_without_arguments_the_shipped_default_agent_drives(episodes_dir, tmp_path):
    result = run_demo(
        episodes=episodes_dir, split=SPLIT, out_dir=tmp_path, size=SIZE, max_steps=12, progress=False
    )
    assert result["policy"] == f"checkpoint:{DEFAULT_CHECKPOINT.resolve()}"
    assert 1 <= result["steps"] <= 12
    record = json.loads(Path(result["record"]).read_text())
    texts = [output["text"] for output in record["outputs"]]
    assert texts and record["invalid_outputs"] == 0 and all(output["valid"] for output in record["outputs"])
    assert all(text.startswith(("The next action is", "I think I should stop")) for text in texts)
    assert len(decode(result["video"])) >= result["steps"]


# ------------------------------------------------------------------------------------------ pieces
def test_wrap_text_fits_the_width_and_cuts_with_an_ellipsis():
    font = ImageFont.load_default(size=12)
    words = ["walk", "past", "the", "sofa", "and", "turn", "left", "into", "the", "kitchen", "then", "stop"]
    lines = wrap_text(" ".join(words), font, 120, max_lines=10)
    assert " ".join(lines).split() == words and all(font.getlength(line) <= 120 for line in lines)
    cut = wrap_text(" ".join(words * 5), font, 120, max_lines=2)
    assert len(cut) == 2 and cut[-1].endswith("…") and all(font.getlength(line) <= 120 for line in cut)


def test_mp4_writer_leaves_no_file_when_interrupted(tmp_path):
    target = tmp_path / "clip.mp4"
    with pytest.raises(ValueError, match="frame 1 has shape"), Mp4Writer(target, fps=2) as writer:
        writer.append(np.zeros((32, 32, 3), np.uint8))
        writer.append(np.zeros((48, 32, 3), np.uint8))
    assert list(tmp_path.iterdir()) == []
