"""DAgger rounds (navagent.train.dagger): a checkpoint drives, the route expert labels its decision points."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from navagent.agent.actions import merge_low_level_steps, parse_action, previous_action
from navagent.envs.base import Action, AgentState
from navagent.envs.builtin.episode_gen import write_split
from navagent.envs.builtin.expert import RouteExpert
from navagent.envs.builtin.sim import BuiltinNavEnv, SimConfig
from navagent.envs.builtin.view_labels import view_labels
from navagent.envs.builtin.view_visibility import ViewCamera
from navagent.envs.episodes import load_episodes, r2r_episodes_path
from navagent.model import (
    build_tiny_model,
    build_tiny_processor,
    build_tiny_tokenizer,
    save_model_and_processor,
)
from navagent.train.dagger import ExpertLabels, run_dagger_round
from navagent.train.datasets import load_navigation_dataset
from navagent.train.trajectory_frames import encode_jpeg


@pytest.fixture(scope="module")
def round_dir(tmp_path_factory) -> tuple[Path, Path, Path]:
    episodes = tmp_path_factory.mktemp("dagger-episodes")
    write_split(episodes, "train", num_scenes=1, per_scene=2, seed=0, progress=False)
    tokenizer = build_tiny_tokenizer()
    checkpoint = save_model_and_processor(
        build_tiny_model(None, tokenizer),
        build_tiny_processor(None, tokenizer),
        tmp_path_factory.mktemp("tiny") / "checkpoint",
    )
    out = tmp_path_factory.mktemp("dagger") / "round1"
    run_dagger_round(checkpoint, episodes, out, prefix="r1", num_envs=1, max_steps=12, progress=False)
    return episodes, out, checkpoint


def assert_expert_labels(records: list[dict], episodes_dir: Path, results: list[dict], stop_distance: float):
    """Each record's answer is the expert's decision at the logged pose of its rollout."""
    episodes = {e.episode_id: e for e in load_episodes(r2r_episodes_path(episodes_dir, "train"))}
    env = BuiltinNavEnv(SimConfig(render=False))
    by_episode = {r["episode_id"]: r for r in results}
    for record in records:
        episode_id = record["video_id"].split("-")[0].split("_", 1)[1]
        episode = episodes[episode_id]
        assert record["q"] == episode.instruction_text
        step = len(record["frames"]) - 1
        trajectory = by_episode[episode_id]
        positions = np.asarray([p["position"] for p in trajectory["trajectory"]], dtype=np.float64)
        headings = [p["heading"] for p in trajectory["trajectory"]]
        scene = env.load_scene(episode.scene_id)
        expert = RouteExpert.for_episode(episode, scene.planner, scene.motion, stop_distance)
        state = AgentState(positions[step], float(headings[step]))
        previous = parse_action(f"The next action is {record['prev']}.").action if record["prev"] else None
        turned = previous.kind if previous is not None and previous.kind != Action.MOVE_FORWARD else None
        (label,) = merge_low_level_steps(expert.next_decision(state, positions[: step + 1], turned))
        assert record["a"] == label.to_text()
    env.close()
    # "prev": the agent's executed steps since its previous decision of the rollout (null at the first)
    for episode_id, trajectory in by_episode.items():
        mine = sorted(
            (r for r in records if r["video_id"].split("-")[0].split("_", 1)[1] == episode_id),
            key=lambda r: int(r["video_id"].rsplit("-", 1)[1]),
        )
        steps = [len(r["frames"]) - 1 for r in mine]
        expected = [None] + [
            previous_action(trajectory["actions"][a:b]).phrase for a, b in itertools.pairwise(steps)
        ]
        assert [r["prev"] for r in mine] == expected


def read_results(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_round_writes_expert_labels_for_the_agents_own_states(round_dir):
    episodes_dir, out, _ = round_dir
    records = json.loads((out / "train_nav.json").read_text())
    assert records, "the round produced no records"
    results = read_results(out / "rollouts" / "results.jsonl")
    episode_ids = {e.episode_id for e in load_episodes(r2r_episodes_path(episodes_dir, "train"))}
    assert {r["episode_id"] for r in results} == episode_ids
    dataset = load_navigation_dataset(out / "train_nav.json", out / "frames", "dagger")  # loads, files exist
    assert len(dataset) == len(records)
    assert_expert_labels(records, episodes_dir, results, stop_distance=0.2)


def test_sharded_rounds_cover_the_episodes_once_and_label_with_the_given_stop_distance(round_dir, tmp_path):
    episodes_dir, out, checkpoint = round_dir
    sharded = tmp_path / "sharded"
    kwargs = {"prefix": "r1", "num_envs": 1, "max_steps": 12, "progress": False, "stop_distance": 1.5}
    assert run_dagger_round(checkpoint, episodes_dir, sharded, shard="0/2", **kwargs) is None  # 1/2 not done
    path = run_dagger_round(checkpoint, episodes_dir, sharded, shard="1/2", **kwargs)
    records = json.loads(path.read_text())
    unsharded = json.loads((out / "train_nav.json").read_text())
    assert [(r["video_id"], r["frames"]) for r in records] == [
        (r["video_id"], r["frames"]) for r in unsharded
    ]
    assert (sharded / "records.shard-0-of-2.jsonl").is_file() and (
        sharded / "records.shard-1-of-2.jsonl"
    ).is_file()
    assert_expert_labels(records, episodes_dir, read_results(sharded / "rollouts" / "results.jsonl"), 1.5)
    labels = ExpertLabels(stop_distance=1.5)
    episode = load_episodes(r2r_episodes_path(episodes_dir, "train"))[0]
    assert labels.expert(episode).stop_distance == 1.5
    labels.close()


def test_a_rerun_keeps_finished_rollouts(round_dir):
    episodes_dir, out, checkpoint = round_dir
    before = (out / "train_nav.json").read_bytes()
    frames = sorted(p.stat().st_mtime_ns for p in (out / "frames").rglob("*.jpg"))
    run_dagger_round(checkpoint, episodes_dir, out, prefix="r1", num_envs=1, max_steps=12, progress=False)
    assert (out / "train_nav.json").read_bytes() == before
    assert sorted(p.stat().st_mtime_ns for p in (out / "frames").rglob("*.jpg")) == frames  # nothing rerun


def test_view_labels_are_those_of_the_frame_the_agent_saw(round_dir, tmp_path):
    """With view labels every record carries the labels of its current view; the labelling render is the
    agent's own frame (byte-identical JPEG), and the records feed view questions."""
    episodes_dir, out, checkpoint = round_dir
    labelled = tmp_path / "labelled"
    path = run_dagger_round(
        checkpoint,
        episodes_dir,
        labelled,
        prefix="r1",
        num_envs=1,
        max_steps=12,
        progress=False,
        view_labels=True,
    )
    records = json.loads(path.read_text())
    plain = json.loads((out / "train_nav.json").read_text())
    assert [{k: v for k, v in r.items() if k != "view"} for r in records] == plain  # nothing else changes
    results = {r["episode_id"]: r for r in read_results(labelled / "rollouts" / "results.jsonl")}
    episodes = {e.episode_id: e for e in load_episodes(r2r_episodes_path(episodes_dir, "train"))}
    env = BuiltinNavEnv(SimConfig(depth=True))
    camera = ViewCamera(env.config.width, env.config.height, env.config.hfov_deg, env.config.camera_height)
    for record in records:
        episode = episodes[record["video_id"].split("-")[0].split("_", 1)[1]]
        pose = results[episode.episode_id]["trajectory"][len(record["frames"]) - 1]
        env.set_scene(episode.scene_id)
        rgb, depth = env.render(np.asarray(pose["position"]), pose["heading"])
        assert encode_jpeg(rgb, 90) == (labelled / "frames" / record["frames"][-1]).read_bytes()
        expected = view_labels(env.scene.house, camera, np.asarray(pose["position"]), pose["heading"], depth)
        assert record["view"] == expected.to_json()
    env.close()
    dataset = load_navigation_dataset(path, labelled / "frames", "dagger", questions=2)
    turns = dataset[0].messages
    assert len(turns) == 6 and turns[2]["role"] == "user"  # the action, then two view questions
