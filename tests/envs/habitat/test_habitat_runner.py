"""``run_vln_eval`` with habitat-lab environments (built-in simulator inside) gives the built-in run's results.

The ``habitat`` registry entry is kept; only its env factory is wrapped so that each worker installs the
native habitat-sim test doubles first (``doubled_habitat_env``)."""

from __future__ import annotations

import dataclasses
import functools
import json

import pytest
from habitat_rollouts import doubled_habitat_env
from test_habitat_rxr_dataset import as_rxr, write_rxr

from navagent.envs.episodes import rxr_episodes_path, rxr_gt_path
from navagent.eval.vln import EvalConfig, run_vln_eval
from navagent.eval.vln.config import EpisodesSection, SimSection
from navagent.eval.vln.registry import SIMULATORS, Simulator
from navagent.eval.vln_metrics import SUMMARY_KEYS
from navagent.fileio import gzip_bytes, json_bytes, write_bytes_atomic
from navagent.model import (
    build_tiny_model,
    build_tiny_processor,
    build_tiny_tokenizer,
    save_model_and_processor,
)

SPLIT = "val_seen"


@pytest.fixture(autouse=True)
def doubled_workers(monkeypatch):
    real = SIMULATORS["habitat"]

    def habitat(config: EvalConfig, render: bool) -> Simulator:
        simulator = real(config, render)
        fields = dataclasses.asdict(simulator.factory.args[0])  # the HabitatEnvConfig
        return Simulator(functools.partial(doubled_habitat_env, fields), simulator.settings)

    monkeypatch.setitem(SIMULATORS, "habitat", habitat)


def eval_config(
    out_dir, root, backend: str, source: str = "r2r", max_steps: int = 500, **options
) -> EvalConfig:
    return EvalConfig(
        out_dir=str(out_dir),
        episodes=EpisodesSection(source=source, dir=str(root), split=SPLIT, **options.pop("episodes", {})),
        sim=SimSection(backend=backend, habitat_simulator="builtin", max_steps=max_steps),
        **options,
    )


def results(out_dir) -> dict[str, dict]:
    lines = (out_dir / "results.jsonl").read_text().splitlines()
    return {record["episode_id"]: record for record in map(json.loads, lines)}


def test_oracle_through_habitat_workers_matches_the_builtin_run(builtin_r2r, tmp_path):
    root, episodes, _ = builtin_r2r
    common = {"policy": "oracle", "num_envs": 2}
    habitat = run_vln_eval(eval_config(tmp_path / "habitat", root, "habitat", **common), progress=False)
    builtin = run_vln_eval(eval_config(tmp_path / "builtin", root, "builtin", **common), progress=False)
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
        "checkpoint": str(checkpoint),
        "num_envs": 1,
        "max_steps": max_steps,
        "episodes": {"max_episodes": 2},
        "agent": {"max_consecutive_invalid": None, "max_new_tokens": 8},
    }
    habitat = run_vln_eval(eval_config(tmp_path / "habitat", root, "habitat", **common), progress=False)
    builtin = run_vln_eval(eval_config(tmp_path / "builtin", root, "builtin", **common), progress=False)
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
    out = tmp_path / "habitat"
    config = eval_config(
        out, rxr_root, "habitat", source="rxr", policy="oracle", num_envs=2, episodes={"languages": ["en-US"]}
    )
    summary = run_vln_eval(config, progress=False)
    assert summary["sr"] == 1.0 and summary["episodes"] == 2  # hi-IN filtered out
    ours = results(out)
    assert sorted(ours) == ["100", "102"]

    run = json.loads((out / "run.json").read_text())
    assert run["episodes"] == str(rxr_episodes_path(rxr_root, SPLIT, "guide").resolve())
    assert run["sim"]["backend"] == "habitat" and run["sim"]["languages"] == ["en-US"]
    assert run["sim"]["simulator"] == "builtin" and run["sim"]["max_steps"] == config.sim.max_steps
    assert "gpu_device_id" not in run["sim"] and summary["max_steps"] == config.sim.max_steps
    again = run_vln_eval(config, progress=False)
    assert again == {**summary, "episodes_per_hour": again["episodes_per_hour"]}  # resumes: nothing to redo

    builtin_config = eval_config(tmp_path / "builtin", r2r_root, "builtin", policy="oracle", num_envs=2)
    builtin = run_vln_eval(builtin_config, progress=False)
    theirs = results(tmp_path / "builtin")
    assert builtin["sr"] == 1.0
    for index in (0, 2):  # the RxR ground truth is nDTW's reference, as the R2R one is on the built-in run
        record, reference = ours[str(100 + index)], theirs[episodes[index].episode_id]
        assert record["metrics"] == reference["metrics"] and record["actions"] == reference["actions"]
