"""``run_vln_eval`` with habitat-lab environments (built-in simulator inside) gives the built-in run's results."""

from __future__ import annotations

import dataclasses
import functools
import json

import pytest
from habitat_rollouts import doubled_habitat_env
from test_habitat_rxr_dataset import as_rxr, write_rxr

from navagent.envs.builtin.sim import SimConfig
from navagent.envs.episodes import rxr_episodes_path, rxr_gt_path
from navagent.envs.habitat import HabitatEnvConfig
from navagent.eval.vln import run_vln_eval
from navagent.eval.vln_metrics import SUMMARY_KEYS
from navagent.fileio import gzip_bytes, json_bytes, write_bytes_atomic
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


def write_rxr_gt(root, role: str, truths: dict) -> None:
    """An RxR-CE ground-truth file with ``locations`` only (no ``actions`` / ``forward_steps``)."""
    document = {
        episode_id: {"locations": [list(p) for p in truth.locations]} for episode_id, truth in truths.items()
    }
    write_bytes_atomic(rxr_gt_path(root, SPLIT, role), gzip_bytes(json_bytes(document)))


def test_oracle_on_an_rxr_split_through_habitat_workers(builtin_r2r, tmp_path):
    r2r_root, episodes, truths = builtin_r2r
    rxr_root = tmp_path / "rxr"
    languages = ["en-US", "hi-IN", "en-US"]
    write_rxr(rxr_root, "guide", [as_rxr(e, 100 + i, languages[i]) for i, e in enumerate(episodes)])
    write_rxr_gt(rxr_root, "guide", {str(100 + i): truths[e.episode_id] for i, e in enumerate(episodes)})
    config = HabitatEnvConfig(
        episodes_dir=str(rxr_root), split=SPLIT, simulator="builtin", languages=("en-US",)
    )
    factory = functools.partial(doubled_habitat_env, dataclasses.asdict(config))
    common = {"split": SPLIT, "policy": "oracle", "progress": False, "num_envs": 2}
    out = tmp_path / "habitat"
    summary = run_vln_eval(out_dir=out, sim="habitat", env_factory=factory, episode_source=config, **common)
    assert summary["sr"] == 1.0 and summary["episodes"] == 2  # hi-IN filtered out
    ours = results(out)
    assert sorted(ours) == ["100", "102"]

    run = json.loads((out / "run.json").read_text())
    assert run["episodes"] == str(rxr_episodes_path(rxr_root, SPLIT, "guide").resolve())
    assert run["sim"]["backend"] == "habitat" and run["sim"]["languages"] == ["en-US"]
    assert run["sim"]["simulator"] == "builtin" and run["sim"]["max_steps"] == config.max_steps
    assert "gpu_device_id" not in run["sim"] and summary["max_steps"] == config.max_steps
    again = run_vln_eval(out_dir=out, sim="habitat", env_factory=factory, episode_source=config, **common)
    assert again == {**summary, "episodes_per_hour": again["episodes_per_hour"]}  # resumes: nothing to redo

    builtin = run_vln_eval(out_dir=tmp_path / "builtin", episodes_dir=r2r_root, sim="builtin", **common)
    theirs = results(tmp_path / "builtin")
    assert builtin["sr"] == 1.0
    for index in (0, 2):  # the RxR ground truth is nDTW's reference, as the R2R one is on the built-in run
        record, reference = ours[str(100 + index)], theirs[episodes[index].episode_id]
        assert record["metrics"] == reference["metrics"] and record["actions"] == reference["actions"]


def test_episode_source_must_match_the_split(builtin_r2r, tmp_path):
    root, _, _ = builtin_r2r
    config = HabitatEnvConfig(episodes_dir=str(root), split=SPLIT, simulator="builtin")
    with pytest.raises(ValueError, match="differs from episode_source's split"):
        run_vln_eval(
            out_dir=tmp_path, split="val_unseen", sim="habitat", policy="oracle", progress=False,
            env_factory=habitat_factory(root), episode_source=config,
        )  # fmt: skip


def test_cli_eval_vln_sim_habitat(builtin_r2r, tmp_path):
    """`navagent eval vln --sim habitat` with the same flags and outputs as `--sim builtin` (one env, in
    process, so the native test doubles apply; habitat-lab runs the built-in simulator)."""
    from navagent.cli import main

    root, episodes, _ = builtin_r2r
    common = [
        "eval",
        "vln",
        "--policy",
        "oracle",
        "--episodes",
        str(root),
        "--split",
        SPLIT,
        "--num-envs",
        "1",
    ]
    assert (
        main([*common, "--sim", "habitat", "--habitat-simulator", "builtin", "--out", str(tmp_path / "h")])
        == 0
    )
    assert main([*common, "--out", str(tmp_path / "b")]) == 0
    habitat, builtin = (json.loads((tmp_path / d / "summary.json").read_text()) for d in ("h", "b"))
    assert habitat["sr"] == 1.0 and habitat["episodes"] == len(episodes)
    for key in ("ne", "sr", "osr", "spl", "tl", "ndtw", "sdtw", "steps"):
        assert habitat[key] == builtin[key], key
    assert (tmp_path / "h" / "trajectories.json").exists()
