"""`run_vln_eval` end to end on one generated house with 4 episodes.

Covers: the oracle succeeds everywhere and random does not; the trajectories file scores identically through
`navagent eval score`; a killed run (stopped after 2 episodes, last line torn) resumes to exactly the metrics
of an uninterrupted run (tiny random model saved to disk, 12-step cap); shards merge to the unsharded
result; an unloadable scene and a non-model checkpoint give clear errors without losing results.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from pathlib import Path

import numpy as np
import pytest

from navagent.cli import main
from navagent.envs.builtin.episode_gen import write_split
from navagent.envs.builtin.sim import BuiltinNavEnv, SimConfig
from navagent.envs.episodes import (
    load_episodes,
    load_gt,
    load_instruction_vocab,
    r2r_episodes_path,
    r2r_gt_path,
    save_episodes,
    save_gt,
)
from navagent.eval.vln import EpisodeFailuresError, EvalConfig, ResultsLog, merge_vln_shards, run_vln_eval
from navagent.eval.vln.config import EpisodesSection, SimSection
from navagent.eval.vln.registry import SIMULATORS, Simulator
from navagent.eval.vln_metrics import SUMMARY_KEYS
from navagent.model import (
    CheckpointFormatError,
    build_tiny_model,
    build_tiny_processor,
    build_tiny_tokenizer,
    save_model_and_processor,
)

SPLIT = "val_seen"
METRIC_KEYS = (*SUMMARY_KEYS, "episodes", "nonfinite_ne", "invalid_rate", "model_queries", "invalid_outputs")
SMALL = 32  # view size in pixels


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("vln-data")
    write_split(root, SPLIT, num_scenes=1, per_scene=4, seed=0, progress=False)
    return root


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory) -> Path:
    tokenizer = build_tiny_tokenizer()
    model, processor = build_tiny_model(None, tokenizer), build_tiny_processor(None, tokenizer)
    return save_model_and_processor(model, processor, tmp_path_factory.mktemp("tiny") / "checkpoint")


def eval_config(
    data_dir: Path,
    out_dir: Path,
    max_episodes: int | None = None,
    max_steps: int = 500,
    size: int = 224,
    **options,
) -> EvalConfig:
    return EvalConfig(
        out_dir=str(out_dir),
        episodes=EpisodesSection(dir=str(data_dir), split=SPLIT, max_episodes=max_episodes),
        sim=SimSection(max_steps=max_steps, width=size, height=size),
        **options,
    )


def evaluate(data_dir: Path, out_dir: Path, hooks=(), video_hook=None, **options) -> dict:
    config = eval_config(data_dir, out_dir, **options)
    return run_vln_eval(config, hooks=hooks, video_hook=video_hook, progress=False)


def metrics(summary: dict) -> dict:
    return {key: summary[key] for key in METRIC_KEYS}


def records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_oracle_succeeds_on_every_episode(data_dir, tmp_path):
    summary = evaluate(data_dir, tmp_path, policy="oracle", num_envs=2)
    assert summary["sr"] == 1.0 and summary["spl"] > 0.9 and summary["episodes"] == 4
    assert summary["invalid_rate"] == 0.0 and summary["model_queries"] == 0
    assert summary["episodes_per_hour"] > 0
    assert json.loads((tmp_path / "summary.json").read_text()) == summary
    lines = records(tmp_path / "results.jsonl")
    assert sorted(r["episode_id"] for r in lines) == sorted(
        e.episode_id for e in load_episodes(r2r_episodes_path(data_dir, SPLIT))
    )
    for line in lines:
        assert line["metrics"]["success"] and line["actions"][-1] == 0
        assert len(line["trajectory"]) == len(line["actions"]) + 1 == len(line["distances_to_goal"])
        assert line["trajectory"][-1]["stop"] and not any(t["stop"] for t in line["trajectory"][:-1])


def test_random_policy_scores_low(data_dir, tmp_path):
    summary = evaluate(data_dir, tmp_path, policy="random", num_envs=1)
    assert summary["sr"] <= 0.25 and summary["episodes"] == 4


@pytest.mark.parametrize(("policy", "max_steps"), [("random", 500), ("forward", 20)])
def test_trajectories_file_scores_identically(data_dir, tmp_path, capsys, policy, max_steps):
    summary = evaluate(data_dir, tmp_path / "run", policy=policy, max_steps=max_steps, num_envs=1)
    scored = tmp_path / "scored.json"
    argv = [
        "eval",
        "score",
        "--episodes",
        str(r2r_episodes_path(data_dir, SPLIT)),
        "--gt",
        str(r2r_gt_path(data_dir, SPLIT)),
        "--trajectories",
        str(tmp_path / "run" / "trajectories.json"),
        "--out",
        str(scored),
    ]
    assert main(argv) == 0
    result = json.loads(scored.read_text())
    assert {k: result["summary"][k] for k in (*SUMMARY_KEYS, "episodes")} == {
        k: summary[k] for k in (*SUMMARY_KEYS, "episodes")
    }
    for line in records(tmp_path / "run" / "results.jsonl"):
        scored = result["episodes"][line["episode_id"]]
        assert scored.pop("impossible_steps") == 0 and scored.pop("step_problems") == []  # simulator's steps
        assert scored == line["metrics"]
    assert result["summary"]["step_check"]["checked_episodes"] == summary["episodes"]
    if policy == "forward":  # forward with a 20-step cap: every episode times out, never a success
        assert summary["steps"] == 20 and summary["sr"] == 0.0


def test_resume_after_kill_gives_identical_metrics(data_dir, tiny_checkpoint, tmp_path):
    options = {
        "checkpoint": str(tiny_checkpoint),
        "num_envs": 1,
        "max_steps": 12,
        "size": SMALL,
        "agent": {"max_consecutive_invalid": None, "max_new_tokens": 8},
    }
    full = evaluate(data_dir, tmp_path / "full", **options)
    assert (
        full["model_queries"] > 0 and full["invalid_rate"] == full["invalid_outputs"] / full["model_queries"]
    )

    resumed_dir = tmp_path / "resumed"
    first = evaluate(data_dir, resumed_dir, max_episodes=2, **options)
    assert first["episodes"] == 2
    results_file = resumed_dir / "results.jsonl"
    data = results_file.read_bytes()
    results_file.write_bytes(data[: data.rfind(b"\n", 0, len(data) - 1) + 1 + 40])  # killed mid-line
    assert len(ResultsLog(results_file).load(repair=False)) == 1

    resumed = evaluate(data_dir, resumed_dir, **options)
    assert metrics(resumed) == metrics(full)
    by_id = {r["episode_id"]: r for r in records(tmp_path / "full" / "results.jsonl")}
    again = records(results_file)
    assert len(again) == 4
    for line in again:
        for key in ("metrics", "trajectory", "actions", "outputs", "distances_to_goal"):
            assert line[key] == by_id[line["episode_id"]][key]
    assert (resumed_dir / "trajectories.json").read_text() == (
        tmp_path / "full" / "trajectories.json"
    ).read_text()
    assert len({r["run_id"] for r in again}) == 2 and resumed["episodes_per_hour"] > 0

    unchanged = evaluate(data_dir, resumed_dir, **options)  # nothing left to do
    assert metrics(unchanged) == metrics(full) and len(records(results_file)) == 4


def test_sharded_and_merged_equals_unsharded(data_dir, tmp_path):
    whole = evaluate(data_dir, tmp_path / "whole", policy="random", num_envs=1)
    first = evaluate(data_dir, tmp_path / "sharded", policy="random", shard="0/2", num_envs=1)
    assert first["merged"] is False and first["episodes"] == 2
    assert not (tmp_path / "sharded" / "summary.json").exists()
    merged = evaluate(data_dir, tmp_path / "sharded", policy="random", shard="1/2", num_envs=1)
    assert merged["merged"] is True and merged["shards"] == 2
    assert metrics(merged) == metrics(whole)
    sharded, unsharded = tmp_path / "sharded", tmp_path / "whole"
    assert (sharded / "trajectories.json").read_text() == (unsharded / "trajectories.json").read_text()
    assert [r["episode_id"] for r in records(sharded / "results.jsonl")] == [
        r["episode_id"] for r in records(unsharded / "results.jsonl")
    ]
    explicit = merge_vln_shards(eval_config(data_dir, sharded, policy="random"), num_shards=2, progress=False)
    assert metrics(explicit) == metrics(whole)
    partial = evaluate(data_dir, tmp_path / "three", policy="random", shard="0/3", num_envs=1)
    assert partial["merged"] is False and partial["episodes"] == 2  # episodes 0 and 3 of 4
    with pytest.raises(ValueError, match=r"shards \[1, 2\] of 3 are not complete"):
        merge_vln_shards(eval_config(data_dir, tmp_path / "three", policy="random"), 3, progress=False)


def test_unloadable_scene_is_reported_without_losing_results(data_dir, tmp_path):
    bad_dir = tmp_path / "data"
    episodes = load_episodes(r2r_episodes_path(data_dir, SPLIT))
    vocab = load_instruction_vocab(r2r_episodes_path(data_dir, SPLIT))
    broken = dataclasses.replace(episodes[1], scene_id="mp3d/gone/gone.glb")
    (bad_dir / SPLIT).mkdir(parents=True)
    save_episodes(r2r_episodes_path(bad_dir, SPLIT), [episodes[0], broken, *episodes[2:]], vocab=vocab)
    save_gt(r2r_gt_path(bad_dir, SPLIT), load_gt(r2r_gt_path(data_dir, SPLIT)))
    out = tmp_path / "out"
    for _ in range(2):  # a rerun retries the broken episode and keeps the others' results
        with pytest.raises(EpisodeFailuresError, match=f"episode {broken.episode_id} .*cannot load scene"):
            evaluate(bad_dir, out, policy="oracle", num_envs=2)
        assert sorted(ResultsLog(out / "results.jsonl").load()) == sorted(
            e.episode_id for e in episodes if e.episode_id != broken.episode_id
        )
    assert [f["episode_id"] for f in records(out / "failures.jsonl")] == [broken.episode_id] * 2
    assert not (out / "summary.json").exists()


def test_bad_checkpoint_and_mismatched_resume_leave_results_alone(data_dir, tmp_path):
    out = tmp_path / "out"
    evaluate(data_dir, out, policy="forward", num_envs=1, max_episodes=1)
    before = (out / "results.jsonl").read_bytes()
    not_a_model = tmp_path / "bert"
    not_a_model.mkdir()
    (not_a_model / "config.json").write_text(json.dumps({"model_type": "bert"}))
    with pytest.raises(CheckpointFormatError, match="neither navagent"):
        evaluate(data_dir, out, checkpoint=str(not_a_model))
    with pytest.raises(ValueError, match="holds results of a different run.*policy"):
        evaluate(data_dir, out, policy="random", num_envs=1)
    assert (out / "results.jsonl").read_bytes() == before
    with pytest.raises(ValueError, match="checkpoint is set but policy is 'random'"):
        evaluate(data_dir, out, checkpoint=str(not_a_model), policy="random")
    with pytest.raises(ValueError, match="policy must be one of"):
        evaluate(data_dir, out, policy="walk")
    with pytest.raises(ValueError, match="sim.backend must be one of"):
        EvalConfig(sim=SimSection(backend="unity"))
    with pytest.raises(FileNotFoundError, match="nowhere"):
        evaluate(tmp_path / "nowhere", out, policy="random")


def test_simulator_step_units_are_checked_against_the_agents():
    assert SIMULATORS["builtin"](EvalConfig(), False).settings["forward_step"] == 0.25
    for sim_config, shown in (
        (SimConfig(forward_step=0.3), "30 cm / 15 deg"),
        (SimConfig(turn_angle_deg=30), "25 cm / 30 deg"),
    ):
        with pytest.raises(
            ValueError, match=f"simulator steps {shown} differ from the agent's 25 cm / 15 deg"
        ):
            Simulator(functools.partial(BuiltinNavEnv, sim_config), dataclasses.asdict(sim_config))


class RecordingHook:
    """Collects what the runner reports per step (as a video writer would)."""

    def __init__(self) -> None:
        self.resets, self.steps, self.ends, self.frames = [], [], [], []

    def on_reset(self, env_index, episode, observation) -> None:
        self.resets.append(episode.episode_id)
        self.frames.append(observation.rgb)

    def on_step(self, env_index, episode, observation, decision) -> None:
        self.steps.append((episode.episode_id, decision.action, observation.step))

    def on_episode_end(self, env_index, episode, record) -> None:
        self.ends.append(record)


def test_step_hooks_and_video_hook(data_dir, tmp_path):
    hook = RecordingHook()
    evaluate(data_dir, tmp_path / "a", policy="oracle", num_envs=2, max_episodes=2, hooks=[hook], size=SMALL)
    assert sorted(hook.resets) == sorted(r["episode_id"] for r in hook.ends)
    assert len(hook.steps) == sum(len(r["actions"]) for r in hook.ends)
    assert [r["metrics"] for r in hook.ends] == [
        r["metrics"] for r in records(tmp_path / "a" / "results.jsonl")
    ]
    with pytest.raises(ValueError, match="video_hook"):
        evaluate(data_dir, tmp_path / "b", policy="oracle", video=True)
    assert all(np.any(frame) for frame in hook.frames)  # with hooks the simulators render
    made: dict[Path, RecordingHook] = {}

    def video_hook(directory: Path) -> RecordingHook:
        made[directory] = RecordingHook()
        return made[directory]

    evaluate(
        data_dir,
        tmp_path / "c",
        policy="forward",
        video=True,
        video_hook=video_hook,
        max_episodes=1,
        size=SMALL,
        num_envs=1,
    )
    assert list(made) == [tmp_path / "c" / "videos"]
    video = made[tmp_path / "c" / "videos"]
    assert len(video.frames) == 1 and video.frames[0].shape == (32, 32, 3) and np.any(video.frames[0])


def test_batched_model_run_records_every_model_output(data_dir, tiny_checkpoint, tmp_path):
    summary = evaluate(
        data_dir,
        tmp_path,
        checkpoint=str(tiny_checkpoint),
        num_envs=2,
        max_episodes=3,
        max_steps=5,
        size=SMALL,
        agent={"max_consecutive_invalid": None, "max_new_tokens": 8},
    )
    lines = records(tmp_path / "results.jsonl")
    assert summary["episodes"] == len(lines) == 3
    for line in lines:  # the untrained model is asked at every step (its fallback is a one-step turn)
        assert line["model_queries"] == len(line["outputs"]) == len(line["actions"]) == 5
        assert [o["step"] for o in line["outputs"]] == list(range(5))
        assert line["invalid_outputs"] == sum(not o["valid"] for o in line["outputs"])
        assert all(isinstance(o["text"], str) for o in line["outputs"])
    assert summary["model_queries"] == 15
    assert summary["invalid_rate"] == summary["invalid_outputs"] / 15
    assert summary["policy"] == f"checkpoint:{tiny_checkpoint.resolve()}"
    run = json.loads((tmp_path / "run.json").read_text())
    assert run["model_dtype"] == "float32" and run["config"]["dtype"] is None  # CPU default
