"""`train_from_config`: typed config + dotted overrides, a short run whose loss falls, saved files, LoRA via
the config, and one DeepSpeed ZeRO-2 step on CPU through `python -m navagent.train` (own process)."""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys

import pytest
import torch
import yaml
from safetensors.torch import load_file

from navagent.agent.policy import NavAgent
from navagent.agent.prompts import NAVIGATION_PROMPTS, navigation_prompt
from navagent.model import build_tiny_model, load_model_and_processor
from navagent.train.config import ConfigError, load_train_config
from navagent.train.run import (
    build_training_mixture,
    load_model_for_training,
    resolve_resume,
    train_from_config,
)
from navagent.train.samples import DataRecordError


@pytest.fixture
def config_path(tmp_path, registry_path, data_root, tiny_spec_path):
    config = {
        "model": {"tiny": str(tiny_spec_path)},
        "data": {
            "registry": str(registry_path),
            "root": str(data_root),
            "mixture": "nav*0.5+easyvqa+chat",
            "max_length": 512,
            "packing": True,
            "group_by_length": True,
        },
        "train": {
            "output_dir": str(tmp_path / "run"),
            "max_steps": 24,
            "batch_size": 4,
            "learning_rate": 2.0e-3,
            "warmup_ratio": 0.1,
            "logging_steps": 4,
            "save_steps": 12,
            "use_cpu": True,
            "report_to": ["tensorboard"],
        },
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_overrides_are_typed_and_unknown_keys_or_bad_values_are_errors(config_path):
    config = load_train_config(
        config_path,
        ["--train.learning_rate", "2e-5", "--data.packing=false", "--lora.targets", "[llm, vision_tower]"]
        + ["--data.mixture", "nav+chat*2", "--train.resume", "null", "--train.num_epochs", "2"],
    )
    assert config.train.learning_rate == 2e-5 and config.data.packing is False
    assert config.lora.targets == ["llm", "vision_tower"] and config.data.mixture == "nav+chat*2"
    assert config.train.resume is None and config.train.num_epochs == 2.0 and config.train.batch_size == 4
    weighted = load_train_config(
        config_path, ["--data.mixture", "{nav: 3, chat: 1}", "--data.num_samples", "8"]
    )
    assert weighted.data.mixture == {"nav": 3.0, "chat": 1.0}
    for overrides, message in [
        (["--train.lr", "1"], r"unknown key\(s\) \['lr'\]"),
        (["--optim.lr", "1"], r"unknown key\(s\) \['optim'\]"),
        (["--train.batch_size", "two"], "train: batch_size: expected int, got 'two'"),
        (["--train.batch_size", "0"], "batch_size must be >= 1"),
        (["--train", "1"], "expected --section.key"),
        (["--train.seed"], "has no value"),
        (["train.seed", "1"], "expected --section.key"),
        (["--model.path", "some/dir"], "exactly one of model.path and model.tiny"),
        (["--train.precision", "fp8"], "precision must be one of"),
    ]:
        with pytest.raises(ConfigError, match=message):
            load_train_config(config_path, overrides)


def test_a_short_run_lowers_the_loss_and_saves_config_checkpoints_and_final_model(
    config_path, tmp_path, capsys
):
    final = train_from_config(config_path, ["--train.seed", "1"])
    run = tmp_path / "run"
    assert final == run / "final"
    printed = capsys.readouterr().out
    assert "nav " in printed and "easyvqa" in printed and "total" in printed  # the resolved mixture
    history = json.loads((run / "checkpoint-24" / "trainer_state.json").read_text())["log_history"]
    losses = [entry["loss"] for entry in history if "loss" in entry]
    assert len(losses) == 6
    assert losses[-1] < 0.6 * losses[0], losses
    assert all(0.5 < entry["non_padding_share"] <= 1 for entry in history if "loss" in entry)
    expected = load_train_config(config_path, ["--train.seed", "1"])
    for directory in (run, run / "checkpoint-12", run / "checkpoint-24", final):
        assert load_train_config(directory / "train_config.yaml") == expected
    assert not [p.name for p in final.iterdir() if p.suffix in (".bin", ".pt", ".pth", ".pkl")]  # no pickles
    model, processor = load_model_and_processor(final)
    assert processor.chat_format == "llama_3" and model.tokens_per_image == 16
    assert list((run / "runs").rglob("events.out.tfevents.*"))  # TensorBoard logs


def test_resume_auto_picks_the_latest_checkpoint(tmp_path):
    assert resolve_resume("auto", tmp_path / "missing") is None
    for step in (3, 12, 9):
        _checkpoint(tmp_path / f"checkpoint-{step}", complete=True)
    assert resolve_resume("auto", tmp_path) == str(tmp_path / "checkpoint-12")
    assert resolve_resume(None, tmp_path) is None
    with pytest.raises(FileNotFoundError, match="checkpoint directory"):
        resolve_resume(str(tmp_path / "checkpoint-99"), tmp_path)


def test_lora_run_with_checkpointing_saves_the_adapter_and_a_merged_model(config_path, tmp_path):
    overrides = [
        "--train.max_steps",
        "2",
        "--lora.enabled",
        "true",
        "--lora.r",
        "4",
        "--train.report_to",
        "[]",
    ]
    final = train_from_config(config_path, [*overrides, "--train.gradient_checkpointing", "true"])
    assert final == tmp_path / "run" / "final"
    assert (tmp_path / "run" / "final_adapter" / "adapter_config.json").is_file()
    for shipped in (final, tmp_path / "run" / "final_adapter"):
        assert not [p.name for p in shipped.iterdir() if p.suffix in (".bin", ".pt", ".pth", ".pkl")]
    model, _ = load_model_and_processor(final)
    assert not any("lora" in name for name, _ in model.named_parameters())


def test_a_run_on_an_empty_dataset_stops_before_training(config_path, tmp_path, data_root):
    registry = tmp_path / "registry.yaml"
    (tmp_path / "empty.json").write_text("[]")
    registry.write_text(f"datasets:\n  empty: {{type: vqa, root: {tmp_path}, annotations: empty.json}}\n")
    with pytest.raises(DataRecordError, match="dataset 'empty' has no records"):
        train_from_config(config_path, ["--data.registry", str(registry), "--data.mixture", "empty"])
    assert not (tmp_path / "run" / "final").exists()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.skipif(importlib.util.find_spec("deepspeed") is None, reason="deepspeed is not installed")
def test_one_deepspeed_zero2_step_runs_on_cpu(config_path, tmp_path, tiny_spec_path, tiny_tokenizer):
    zero2 = tiny_spec_path.parents[1] / "deepspeed" / "zero2.json"
    env = os.environ | {
        "DS_ACCELERATOR": "cpu",
        "MASTER_ADDR": "127.0.0.1",
        "MASTER_PORT": str(_free_port()),
        "RANK": "0",
        "LOCAL_RANK": "0",
        "WORLD_SIZE": "1",
        "OMP_NUM_THREADS": "1",
    }
    overrides = ["--train.deepspeed", str(zero2), "--train.max_steps", "1", "--train.warmup_ratio", "0"]
    overrides += ["--train.report_to", "[]", "--data.packing", "false"]
    result = subprocess.run(
        [sys.executable, "-m", "navagent.train", str(config_path), *overrides],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    trained = load_file(tmp_path / "run" / "final" / "model.safetensors")["llm.lm_head.weight"]
    initial = build_tiny_model(tiny_spec_path, tiny_tokenizer).state_dict()["llm.lm_head.weight"]
    assert trained.shape == initial.shape and not torch.equal(trained, initial)
    state = json.loads((tmp_path / "run" / "checkpoint-1" / "trainer_state.json").read_text())
    assert state["global_step"] == 1


def _checkpoint(directory, complete: bool):
    directory.mkdir(parents=True)
    if complete:
        (directory / "checkpoint_complete.json").write_text("{}")
    return directory


def test_resume_auto_skips_incomplete_checkpoints(tmp_path, capsys):
    _checkpoint(tmp_path / "checkpoint-3", complete=True)
    legacy = _checkpoint(tmp_path / "checkpoint-12", complete=False)  # saved before the marker existed
    (legacy / "trainer_state.json").write_text("{}")
    (legacy / "train_config.yaml").write_text("{}")
    _checkpoint(tmp_path / "checkpoint-99", complete=False)  # `mkdir OUT/checkpoint-99` / killed while saving
    _checkpoint(tmp_path / "checkpoint-100", complete=False)
    assert resolve_resume("auto", tmp_path) == str(legacy)
    err = capsys.readouterr().err
    assert "skipping incomplete checkpoint" in err and "checkpoint-99" in err and "checkpoint-100" in err
    with pytest.raises(ValueError, match="incomplete checkpoint"):
        resolve_resume(str(tmp_path / "checkpoint-99"), tmp_path)


def test_killed_save_resumes_from_last_complete_checkpoint_and_config_changes_refuse(config_path, tmp_path):
    run = tmp_path / "run"
    short = ["--train.max_steps", "2", "--train.save_steps", "1", "--train.report_to", "[]"]
    short += ["--train.warmup_ratio", "0"]
    train_from_config(config_path, short)
    assert (run / "checkpoint-2" / "checkpoint_complete.json").is_file()
    (run / "checkpoint-99").mkdir()  # a checkpoint a kill left empty
    longer = [*short[:1], "3", *short[2:]]
    train_from_config(config_path, longer)  # resumes from checkpoint-2 instead of failing on checkpoint-99
    state = json.loads((run / "checkpoint-3" / "trainer_state.json").read_text())
    assert state["global_step"] == 3 and (run / "checkpoint-3" / "checkpoint_complete.json").is_file()
    with pytest.raises(ValueError, match=r"another config: train\.learning_rate .*--train\.output_dir"):
        train_from_config(config_path, [*longer, "--train.learning_rate", "1e-4"])


def test_failed_start_leaves_no_output_folder(config_path, tmp_path):
    with pytest.raises(FileNotFoundError):
        train_from_config(config_path, ["--data.registry", str(tmp_path / "missing.yaml")])
    assert not (tmp_path / "run").exists()  # train_config.yaml is written only after model + data load


def test_navigation_data_must_show_the_frames_the_models_agent_will(config_path, tiny_spec_path, tmp_path):
    """A model whose agent shows the last observations (num_recent_frames) refuses navigation data sampled
    with NaVILA's even spread, and the other way round, before anything is written."""
    recent = tmp_path / "recent.yaml"
    recent.write_text(yaml.safe_dump(yaml.safe_load(tiny_spec_path.read_text()) | {"num_recent_frames": 3}))
    with pytest.raises(
        ConfigError, match=r"dataset 'nav' samples num_frames=8, recent_frames=0, .*num_recent_frames=3"
    ):
        train_from_config(config_path, ["--model.tiny", str(recent)])
    assert not (tmp_path / "run" / "train_config.yaml").exists()
    told = tmp_path / "told.yaml"
    told.write_text(
        yaml.safe_dump(yaml.safe_load(tiny_spec_path.read_text()) | {"previous_action_in_prompt": True})
    )
    with pytest.raises(
        ConfigError, match=r"dataset 'nav' .*previous_action=False, .*previous_action_in_prompt=True"
    ):
        train_from_config(config_path, ["--model.tiny", str(told)])
    assert not (tmp_path / "run" / "train_config.yaml").exists()


def test_packing_is_refused_for_a_model_with_frame_slots(config_path, tiny_spec_path, tmp_path):
    slotted = tmp_path / "slotted.yaml"
    slotted.write_text(yaml.safe_dump(yaml.safe_load(tiny_spec_path.read_text()) | {"mm_frame_slots": 2}))
    with pytest.raises(ConfigError, match="data.packing cannot be used with a model that has frame-slot"):
        train_from_config(config_path, ["--model.tiny", str(slotted)])
    assert not (tmp_path / "run" / "train_config.yaml").exists()


@pytest.mark.parametrize("wording", NAVIGATION_PROMPTS)
def test_navigation_samples_are_the_queries_the_models_agent_makes(
    config_path, tiny_spec_path, tmp_path, wording
):
    """Training prompts are worded as the model's agent words its queries (`navigation_prompt`): the same
    tokens for the same instruction, in NaVILA's wording and in the compact one."""
    spec = tmp_path / f"{wording}.yaml"
    spec.write_text(
        yaml.safe_dump(yaml.safe_load(tiny_spec_path.read_text()) | {"navigation_prompt": wording})
    )
    config = load_train_config(config_path, ["--model.tiny", str(spec)])
    model, processor = load_model_for_training(config.model)
    assert model.config.navigation_prompt == wording
    mixture = build_training_mixture(config, model.config)
    sample = next(s for source in mixture.sources if source.name == "nav" for s in source.samples)
    prompt = sample.messages[0]["content"]
    instruction = prompt.split('Your assigned task is: "')[1].split('"')[0]
    assert prompt == navigation_prompt(instruction, model.config.num_video_frames, None, wording)
    agent = NavAgent(model.eval(), processor)
    assert agent._tokenized_prompt(instruction) == processor.tokenize(processor.user_prompt(prompt))
