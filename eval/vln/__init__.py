"""Closed-loop VLN-CE evaluation: policies, the batched evaluation loop over vector environments,
crash-safe per-episode results with resume and shard merging, and the ``navagent eval vln`` entry point."""

from navagent.eval.vln.config import EvalConfig, load_eval_config
from navagent.eval.vln.inputs import EpisodeSource, R2RSplit, RxRSplit, parse_shard, select_episodes
from navagent.eval.vln.loop import EpisodeHook, LoopReport, evaluate_episodes
from navagent.eval.vln.policies import (
    DEFAULT_CHECKPOINT,
    AgentPolicy,
    Decision,
    ForwardPolicy,
    OraclePolicy,
    Policy,
    RandomPolicy,
    load_agent_policy,
    resolve_checkpoint,
)
from navagent.eval.vln.results import ResultsFileError, ResultsLog
from navagent.eval.vln.runner import EpisodeFailuresError, merge_vln_shards, run_vln_eval

__all__ = [
    "DEFAULT_CHECKPOINT",
    "AgentPolicy",
    "Decision",
    "EpisodeFailuresError",
    "EpisodeHook",
    "EpisodeSource",
    "EvalConfig",
    "ForwardPolicy",
    "LoopReport",
    "OraclePolicy",
    "Policy",
    "R2RSplit",
    "RandomPolicy",
    "ResultsFileError",
    "ResultsLog",
    "RxRSplit",
    "evaluate_episodes",
    "load_agent_policy",
    "load_eval_config",
    "merge_vln_shards",
    "parse_shard",
    "resolve_checkpoint",
    "run_vln_eval",
    "select_episodes",
]
