"""The shipped default agent (checkpoints/navagent-default): safe files, its recipe, and a real decision."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import yaml

from navagent.agent.actions import parse_action
from navagent.agent.policy import NavAgent
from navagent.agent.prompts import PreviousAction
from navagent.envs.base import Action
from navagent.envs.builtin.episode_gen import write_split
from navagent.envs.builtin.sim import BuiltinNavEnv, SimConfig
from navagent.envs.episodes import load_episodes, r2r_episodes_path
from navagent.eval.vln.policies import DEFAULT_CHECKPOINT
from navagent.model import NavVLMForCausalLM, load_model_and_processor

REPO_ROOT = Path(__file__).resolve().parents[1]
RECIPE = REPO_ROOT / "configs" / "train" / "default-agent.yaml"  # behaviour cloning and every DAgger round
RECIPE_SCRIPT = REPO_ROOT / "scripts" / "train_default_agent.sh"
MAX_BYTES = 50 * 2**20
PICKLE_SUFFIXES = {".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".npy", ".npz"}


def test_checkpoint_files_are_safe_and_small():
    files = sorted(p for p in DEFAULT_CHECKPOINT.rglob("*") if p.is_file())
    names = {p.name for p in files}
    assert {"config.json", "model.safetensors", "tokenizer.json", "train_config.yaml"} <= names
    assert not [p for p in files if p.suffix in PICKLE_SUFFIXES], "weights must be safetensors only"
    assert sum(p.stat().st_size for p in files) <= MAX_BYTES


def _script_default(name: str) -> int:
    """The default of NAME=${NAME:-N} in scripts/train_default_agent.sh."""
    match = re.search(rf"^{name}=\$\{{{name}:-(\d+)\}}", RECIPE_SCRIPT.read_text(), re.MULTILINE)
    assert match, f"{name} has no numeric default in {RECIPE_SCRIPT.name}"
    return int(match.group(1))


def test_checkpoint_records_the_recipe_it_was_trained_with():
    """The shipped model is the last DAgger round's: the recipe's config, its mixture plus every round's records."""
    trained = yaml.safe_load((DEFAULT_CHECKPOINT / "train_config.yaml").read_text())
    recipe = yaml.safe_load(RECIPE.read_text())
    assert yaml.safe_load((DEFAULT_CHECKPOINT / "recipe.yaml").read_text()) == recipe
    rounds = _script_default("DAGGER_ROUNDS")
    dagger_data = "".join(f"+dagger{k}_viewq_prev" for k in range(1, rounds + 1))
    assert trained["data"]["mixture"] == recipe["data"]["mixture"] + dagger_data
    assert trained["model"]["path"] and trained["data"]["feature_cache"]  # previous model, cached features
    for key in ("stop_weight", "side_weight", "max_length"):
        assert trained["data"][key] == recipe["data"][key]
    for key in ("learning_rate", "lr_scheduler", "precision", "batch_size", "freeze_vision_tower"):
        assert trained["train"][key] == recipe["train"][key]
    steps = _script_default("DAGGER_STEPS") if rounds else recipe["train"]["max_steps"]
    assert trained["train"]["max_steps"] == steps
    assert (DEFAULT_CHECKPOINT / "tower_probes.json").is_file()  # stage 0's probes on unseen houses


@pytest.fixture(scope="module")
def default_agent():
    model, processor = load_model_and_processor(DEFAULT_CHECKPOINT)
    return NavAgent(model, processor)


def test_default_agent_answers_in_the_action_language_in_a_built_in_house(default_agent, tmp_path):
    assert isinstance(default_agent.model, NavVLMForCausalLM)
    write_split(tmp_path, "val_unseen", 1, 1, seed=3, progress=False)
    (episode,) = load_episodes(r2r_episodes_path(tmp_path, "val_unseen"))
    histories = []
    with BuiltinNavEnv(SimConfig(width=128, height=128)) as env:
        observation = env.reset(episode)
        frames = [observation.rgb]
        actions = (Action.TURN_LEFT, Action.MOVE_FORWARD, Action.MOVE_FORWARD, Action.TURN_RIGHT)
        for action in actions:
            frames.append(env.step(action).rgb)
            histories.append(list(frames))
    # the move before each query, as the prompt states it (when the model's prompt has it)
    moves = [PreviousAction.after([action]).phrase for action in actions]
    previous = moves if default_agent.previous_action_in_prompt else None
    texts = default_agent.describe(histories, [episode.instruction_text] * len(histories), previous)
    assert all(parse_action(text).valid for text in texts), texts
    assert len({np.asarray(h[-1]).tobytes() for h in histories}) == len(histories)
