"""``run_vln_eval`` with habitat-lab environments (built-in simulator inside) gives the built-in run's results."""

from __future__ import annotations

import dataclasses
import functools
import json

import pytest
from habitat_rollouts import doubled_habitat_env

from navagent.envs.builtin.sim import SimConfig
from navagent.envs.habitat import HabitatEnvConfig
from navagent.eval.vln import run_vln_eval
from navagent.eval.vln_metrics import SUMMARY_KEYS
from navagent.model import (
    build_tiny_model,
    build_tiny_processor,
    build_tiny_tokenizer,
    save_model_and_processor,
)

SPLIT = "val_seen"


def habitat_factory(root, **overrides):
    config = HabitatEnvConfig(episodes_dir=str(root), split=SPLIT, simulator="builtin", **overrides)
    return functools.partial(doubled_habitat_env, dataclasses.asdict(config))


def results(out_dir) -> dict[str, dict]:
    lines = (out_dir / "results.jsonl").read_text().splitlines()
    return {record["episode_id"]: record for record in map(json.loads, lines)}


def test_oracle_through_habitat_workers_matches_the_builtin_run(builtin_r2r, tmp_path):
    root, episodes, _ = builtin_r2r
    common = {"episodes_dir": root, "split": SPLIT, "policy": "oracle", "progress": False, "num_envs": 2}
    habitat = run_vln_eval(
        out_dir=tmp_path / "habitat", sim="habitat", env_factory=habitat_factory(root), **common
    )
    builtin = run_vln_eval(out_dir=tmp_path / "builtin", sim="builtin", **common)
    assert habitat["sr"] == 1.0 and habitat["episodes"] == len(episodes)
    assert {k: habitat[k] for k in SUMMARY_KEYS} == {k: builtin[k] for k in SUMMARY_KEYS}
    ours, theirs = results(tmp_path / "habitat"), results(tmp_path / "builtin")
    assert {i: r["actions"] for i, r in ours.items()} == {i: r["actions"] for i, r in theirs.items()}


@pytest.mark.parametrize("max_steps", [4])
def test_tiny_agent_sees_the_same_frames_through_habitat(builtin_r2r, tmp_path, max_steps):
    root, _, _ = builtin_r2r
    tokenizer = build_tiny_tokenizer()
    model, processor = build_tiny_model(None, tokenizer), build_tiny_processor(None, tokenizer)
    checkpoint = save_model_and_processor(model, processor, tmp_path / "checkpoint")
    common = {
        "checkpoint": checkpoint,
        "episodes_dir": root,
        "split": SPLIT,
        "num_envs": 1,
        "max_episodes": 2,
        "progress": False,
        "agent_options": {"max_consecutive_invalid": None, "max_new_tokens": 8},
    }
    factory = habitat_factory(root, max_steps=max_steps)
    habitat = run_vln_eval(out_dir=tmp_path / "habitat", sim="habitat", env_factory=factory, **common)
    builtin = run_vln_eval(
        out_dir=tmp_path / "builtin", sim="builtin", sim_config=SimConfig(max_steps=max_steps), **common
    )
    assert habitat["model_queries"] == builtin["model_queries"] == 2 * max_steps
    assert {k: habitat[k] for k in SUMMARY_KEYS} == {k: builtin[k] for k in SUMMARY_KEYS}
    ours, theirs = results(tmp_path / "habitat"), results(tmp_path / "builtin")
    for episode_id, record in ours.items():
        assert [o["text"] for o in record["outputs"]] == [o["text"] for o in theirs[episode_id]["outputs"]]
        assert record["trajectory"] == theirs[episode_id]["trajectory"]
