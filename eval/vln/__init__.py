"""Closed-loop VLN-CE evaluation: policies, the batched evaluation loop over vector environments,
crash-safe per-episode results with resume and shard merging, and the ``navagent eval vln`` entry point."""

from navagent.eval.vln.inputs import EpisodeSource, R2RSplit, parse_shard, select_episodes
from navagent.eval.vln.loop import EpisodeHook, LoopReport, evaluate_episodes
from navagent.eval.vln.policies import (
    BASELINE_POLICIES,
    DEFAULT_CHECKPOINT,
    AgentPolicy,
    Decision,
    ForwardPolicy,
    OraclePolicy,
    Policy,
    RandomPolicy,
    make_policy,
    resolve_checkpoint,
)
from navagent.eval.vln.results import ResultsFileError, ResultsLog
from navagent.eval.vln.runner import EpisodeFailuresError, merge_vln_shards, run_vln_eval

__all__ = [
    "BASELINE_POLICIES",
    "DEFAULT_CHECKPOINT",
    "AgentPolicy",
    "Decision",
    "EpisodeFailuresError",
    "EpisodeHook",
    "EpisodeSource",
    "ForwardPolicy",
    "LoopReport",
    "OraclePolicy",
    "Policy",
    "R2RSplit",
    "RandomPolicy",
    "ResultsFileError",
    "ResultsLog",
    "evaluate_episodes",
    "make_policy",
    "merge_vln_shards",
    "parse_shard",
    "resolve_checkpoint",
    "run_vln_eval",
    "select_episodes",
]
