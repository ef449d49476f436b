"""Evaluation policies: per-episode determinism of the baselines, the oracle's choices, the agent wrapper,
checkpoint resolution and policy construction errors; shard parsing and episode selection."""

from __future__ import annotations

import json

import numpy as np
import pytest

from navagent.agent.policy import NavAgent
from navagent.envs.base import Action, Observation
from navagent.envs.builtin.episode_gen import generate_split
from navagent.eval.vln.config import EvalConfig
from navagent.eval.vln.inputs import parse_shard, select_episodes, shard_from_environment
from navagent.eval.vln.policies import (
    HANDCRAFTED_FORWARD_STEPS,
    AgentPolicy,
    ForwardPolicy,
    OraclePolicy,
    RandomPolicy,
    agent_dtype,
    load_agent_policy,
    resolve_checkpoint,
)
from navagent.eval.vln.registry import POLICIES
from navagent.model import CheckpointFormatError, build_tiny_model, build_tiny_processor, build_tiny_tokenizer
from navagent.model.vila_format import VILA_MODEL_TYPES


@pytest.fixture(scope="module")
def episodes():
    generated, _ = generate_split("val_seen", num_scenes=1, per_scene=3, seed=5, progress=False)
    return generated


def observation(episode, position=None, heading=None, step=0) -> Observation:
    return Observation(
        rgb=np.zeros((16, 16, 3), np.uint8),
        depth=None,
        position=np.asarray(episode.start_position if position is None else position, dtype=np.float64),
        heading=episode.start_heading if heading is None else heading,
        instruction=episode.instruction_text,
        episode_id=episode.episode_id,
        step=step,
    )


def actions_of(policy, episodes_by_env: dict[int, object], steps: int) -> dict[str, list[int]]:
    for env_index, episode in episodes_by_env.items():
        policy.reset(env_index, episode)
    indices = sorted(episodes_by_env)
    out: dict[str, list[int]] = {episodes_by_env[i].episode_id: [] for i in indices}
    for _ in range(steps):
        decisions = policy.act([observation(episodes_by_env[i]) for i in indices], indices)
        for i, decision in zip(indices, decisions):
            out[episodes_by_env[i].episode_id].append(decision.action)
            assert decision.text is None and decision.valid and not decision.queried
    return out


@pytest.mark.parametrize("policy_class", [RandomPolicy, ForwardPolicy])
def test_baseline_actions_depend_only_on_seed_and_episode(policy_class, episodes):
    together = actions_of(policy_class(seed=1), {0: episodes[0], 1: episodes[1]}, 60)
    swapped = actions_of(policy_class(seed=1), {5: episodes[1], 2: episodes[0]}, 60)
    alone = actions_of(policy_class(seed=1), {0: episodes[1]}, 60)
    assert together == swapped
    assert alone[episodes[1].episode_id] == together[episodes[1].episode_id]
    other_seeds = [actions_of(policy_class(seed=s), {0: episodes[0]}, 60) for s in (2, 3, 4)]
    assert any(o[episodes[0].episode_id] != together[episodes[0].episode_id] for o in other_seeds)


def test_random_policy_follows_its_distribution(episodes):
    policy = RandomPolicy(seed=0, probabilities=(0.0, 0.5, 0.5, 0.0))
    actions = actions_of(policy, {0: episodes[0]}, 400)[episodes[0].episode_id]
    assert set(actions) == {Action.MOVE_FORWARD, Action.TURN_LEFT}
    with pytest.raises(ValueError, match="probabilities"):
        RandomPolicy(probabilities=(0.5, 0.5))


def test_forward_policy_turns_then_walks_then_stops(episodes):
    actions = actions_of(ForwardPolicy(seed=0), {0: episodes[0]}, 70)[episodes[0].episode_id]
    turns = next(i for i, a in enumerate(actions) if a != Action.TURN_RIGHT)
    assert 0 <= turns <= 24
    assert (
        actions[turns : turns + HANDCRAFTED_FORWARD_STEPS]
        == [Action.MOVE_FORWARD] * HANDCRAFTED_FORWARD_STEPS
    )
    assert actions[turns + HANDCRAFTED_FORWARD_STEPS] == Action.STOP


def test_oracle_heads_for_the_goal_and_stops_there(episodes):
    policy = OraclePolicy()
    episode = episodes[0]
    policy.reset(0, episode)
    first = policy.act([observation(episode)], [0])[0].action
    assert first in (Action.MOVE_FORWARD, Action.TURN_LEFT, Action.TURN_RIGHT)
    goal = episode.goals[0].position
    assert policy.act([observation(episode, position=goal)], [0])[0].action == Action.STOP


def test_agent_policy_passes_model_text_through(episodes):
    tokenizer = build_tiny_tokenizer()
    agent = NavAgent(
        build_tiny_model(None, tokenizer), build_tiny_processor(None, tokenizer), max_new_tokens=4
    )
    policy = AgentPolicy(agent)
    policy.reset(0, episodes[0])
    decision = policy.act([observation(episodes[0])], [0])[0]
    assert decision.queried and isinstance(decision.text, str)
    assert decision.valid == (agent.stats.invalid_outputs == 0)
    assert agent.stats.queries == 1


def test_checkpoint_resolution_and_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="is missing.*--checkpoint.*--policy random"):
        resolve_checkpoint(None, default=tmp_path / "navagent-default")
    (tmp_path / "navagent-default").mkdir()
    assert resolve_checkpoint(None, default=tmp_path / "navagent-default") == tmp_path / "navagent-default"
    with pytest.raises(FileNotFoundError, match="is not a directory"):
        load_agent_policy(tmp_path / "nowhere")
    (tmp_path / "bert").mkdir()
    (tmp_path / "bert" / "config.json").write_text(json.dumps({"model_type": "bert"}))
    with pytest.raises(CheckpointFormatError, match="model_type 'bert' is neither navagent"):
        load_agent_policy(tmp_path / "bert")
    assert isinstance(POLICIES["random"](EvalConfig(policy="random", seed=3)), RandomPolicy)
    assert isinstance(POLICIES["forward"](EvalConfig(policy="forward")), ForwardPolicy)
    assert isinstance(POLICIES["oracle"](EvalConfig(policy="oracle")), OraclePolicy)


def test_shards_and_selection(episodes):
    assert parse_shard("1/4") == (1, 4)
    for bad in ("4/4", "1", "a/b", "-1/2"):
        with pytest.raises(ValueError, match="shard"):
            parse_shard(bad)
    assert shard_from_environment({"RANK": "2", "WORLD_SIZE": "3"}) == (2, 3)
    assert shard_from_environment({"RANK": "0", "WORLD_SIZE": "1"}) is None
    ids = [e.episode_id for e in episodes]
    assert [e.episode_id for e in select_episodes(episodes, 2, None)] == ids[:2]
    assert [e.episode_id for e in select_episodes(episodes, None, (1, 2))] == ids[1::2]
    with pytest.raises(ValueError, match="max_episodes"):
        select_episodes(episodes, 0, None)


def test_model_dtype_defaults_and_choices(tmp_path):
    vila, native = tmp_path / "vila", tmp_path / "native"
    for directory, model_type in ((vila, VILA_MODEL_TYPES[0]), (native, "navagent_vlm")):
        directory.mkdir()
        (directory / "config.json").write_text(json.dumps({"model_type": model_type}))
    assert agent_dtype(vila, "cuda:0", None) == "float16"  # NaVILA's own evaluation dtype
    assert agent_dtype(vila, "cpu", None) == agent_dtype(native, "cpu", None) == "float32"
    assert agent_dtype(native, "cuda:0", None) is None  # the stored dtype
    assert agent_dtype(vila, "cuda:0", "bfloat16") == "bfloat16"
    with pytest.raises(ValueError, match="dtype must be one of"):
        EvalConfig(dtype="fp8")
