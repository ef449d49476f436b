"""The closed evaluation loop: episodes flow through N vector environments, one batched policy call per step.

``evaluate_episodes`` keeps every environment busy: whenever one finishes an episode it is reset to the next
pending one, and each step the policy answers all active environments in one ``act`` call. Each finished
episode is appended to the results log at once (so a killed run loses at most the episodes in flight). An
episode whose reset fails (e.g. its scene cannot be loaded) is logged to the failures log and skipped; the
loop goes on with the others and reports the failures at the end.

Hooks (``EpisodeHook``) see every reset, step and finished episode, e.g. to write per-episode videos;
observations carry RGB frames only when the simulators render (the model policy, or ``video``).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from tqdm import tqdm

from navagent.envs.base import Episode, Observation
from navagent.envs.episodes import GroundTruth
from navagent.envs.vector import EnvCommandError, VectorNavEnv
from navagent.eval.vln.policies import Decision, Policy
from navagent.eval.vln.records import EpisodeRollout
from navagent.eval.vln_metrics import DtwMode

logger = logging.getLogger(__name__)


class EpisodeHook(Protocol):
    """Per-step callbacks of the runner (all called in the runner's process, in step order per env)."""

    def on_reset(self, env_index: int, episode: Episode, observation: Observation) -> None: ...

    def on_step(self, env_index: int, episode: Episode, observation: Observation, decision: Decision) -> None:
        """``observation`` is the state after ``decision.action`` was executed."""
        ...

    def on_episode_end(self, env_index: int, episode: Episode, record: dict) -> None:
        """``record`` is the episode's results record (metrics, trajectory, model outputs)."""
        ...


class RecordSink(Protocol):
    """Where finished records and failures go: a ``ResultsLog`` (the runner) or a plain list (the demo)."""

    def append(self, record: dict, /) -> None: ...


@dataclass
class LoopReport:
    """What one ``evaluate_episodes`` call did."""

    finished: int = 0
    failures: list[dict] = field(default_factory=list)  # {"episode_id", "scene_id", "error"}
    seconds: float = 0.0
    steps: int = 0  # environment steps
    policy_calls: int = 0  # batched act calls


def _fill_idle_envs(
    envs: VectorNavEnv,
    policy: Policy,
    pending: deque[Episode],
    active: dict[int, EpisodeRollout],
    hooks: Sequence[EpisodeHook],
    failures: RecordSink,
    report: LoopReport,
) -> None:
    """Reset idle environments to pending episodes; an env whose reset failed takes the next one."""
    idle = [i for i in range(envs.num_envs) if i not in active]
    while idle and pending:
        assignment = {i: pending.popleft() for i in idle[: len(pending)]}
        idle = []
        for env_index, outcome in envs.reset_many(assignment).items():
            episode = assignment[env_index]
            if isinstance(outcome, EnvCommandError):
                failure = {
                    "episode_id": episode.episode_id,
                    "scene_id": episode.scene_id,
                    "error": f"{outcome.error_type}: {outcome.message}",
                }
                logger.error("episode %s could not start: %s", episode.episode_id, failure["error"])
                failures.append(failure)
                report.failures.append(failure)
                idle.append(env_index)
                continue
            policy.reset(env_index, episode)
            active[env_index] = EpisodeRollout.start(episode, outcome)
            for hook in hooks:
                hook.on_reset(env_index, episode, outcome.observation)


def evaluate_episodes(
    policy: Policy,
    envs: VectorNavEnv,
    episodes: Sequence[Episode],
    truths: Mapping[str, GroundTruth],
    results: RecordSink,
    failures: RecordSink,
    *,
    dtw: DtwMode = "exact",
    run_id: str = "",
    hooks: Sequence[EpisodeHook] = (),
    progress: bool = False,
) -> LoopReport:
    """Run ``episodes`` to completion on ``envs``; append one record per finished episode to ``results``.

    ``truths`` must hold the ground truth of every episode (nDTW's reference). The episode ends when the
    simulator says so (STOP, or its step limit)."""
    pending: deque[Episode] = deque(episodes)
    active: dict[int, EpisodeRollout] = {}
    report = LoopReport()
    start = time.perf_counter()
    bar = tqdm(total=len(episodes), disable=not progress, unit="episode", desc="eval vln", dynamic_ncols=True)
    try:
        while pending or active:
            failed_before = len(report.failures)
            _fill_idle_envs(envs, policy, pending, active, hooks, failures, report)
            bar.update(len(report.failures) - failed_before)
            if not active:
                continue
            indices = sorted(active)
            decisions = policy.act([active[i].observation for i in indices], indices)
            if len(decisions) != len(indices):
                raise RuntimeError(
                    f"policy {policy.name} returned {len(decisions)} decisions for {len(indices)}"
                )
            replies = envs.step({i: decision.action for i, decision in zip(indices, decisions)})
            report.policy_calls += 1
            report.steps += len(indices)
            for env_index, decision in zip(indices, decisions):
                rollout, reply = active[env_index], replies[env_index]
                rollout.add(decision, reply)
                for hook in hooks:
                    hook.on_step(env_index, rollout.episode, reply.observation, decision)
                if reply.done:
                    episode = rollout.episode
                    record = rollout.to_record(
                        truths[episode.episode_id], dtw, run_id, time.perf_counter() - start
                    )
                    results.append(record)
                    del active[env_index]
                    report.finished += 1
                    bar.update(1)
                    for hook in hooks:
                        hook.on_episode_end(env_index, episode, record)
    finally:
        bar.close()
        report.seconds = time.perf_counter() - start
    return report
