"""`navagent bench agent`: NavAgent throughput with and without the vision-feature cache and batching.

Drives the agent with **synthetic observations** (random RGB frames of the given size, a fixed number of
low-level steps per episode) so it does not depend on a simulator, with the tiny randomly initialised NavVLM
(`configs/model/tiny.yaml` layout). The untrained model's output is unparseable, so every step falls back to
a one-step turn and queries the model again (``max_consecutive_invalid=None``): this is the upper bound on
model calls per step; a trained model that moves 50–75 cm per answer queries less often.

Cases, all measured in this one run on the same episodes:

* baseline — one environment at a time, no feature cache (NaVILA's evaluation loop: every prompt re-encodes
  its N frames);
* B environments stepped together (one batched generate per step) with the cache, for B = 1, 4, 8, 16
  (B = 1 is the one-at-a-time loop with the cache);
* the largest batch without the cache.

Reported per case: episodes/hour (ratio vs the baseline), mean latency of one `act` call, latency per
environment step, and vision-encoder frames per environment step.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from navagent.agent.policy import NavAgent
from navagent.benchmarks.report import BenchmarkReport, Measurement
from navagent.envs.base import Observation

BASELINE = "1 env at a time, no cache (NaVILA loop)"


@dataclass(frozen=True)
class AgentCase:
    name: str
    batch_size: int
    use_feature_cache: bool


@dataclass(frozen=True)
class CaseResult:
    seconds: float
    act_calls: int
    env_steps: int
    encoded_frames: int
    episodes: int


def synthetic_episodes(
    num_episodes: int, steps_per_episode: int, frame_size: int, seed: int
) -> list[list[Observation]]:
    """``num_episodes`` lists of ``steps_per_episode`` observations with random (S, S, 3) uint8 frames."""
    rng = np.random.default_rng(seed)
    return [
        [
            Observation(
                rgb=rng.integers(0, 256, (frame_size, frame_size, 3), dtype=np.uint8),
                depth=None,
                position=np.zeros(3),
                heading=0.0,
                instruction=f"Walk past the table and stop at door number {episode}.",
                episode_id=f"bench-{episode}",
                step=step,
            )
            for step in range(steps_per_episode)
        ]
        for episode in range(num_episodes)
    ]


def run_case(agent: NavAgent, episodes: list[list[Observation]], batch_size: int) -> CaseResult:
    """Run all episodes in waves of ``batch_size`` environments stepped together; time everything."""
    agent.reset()
    agent.reset_stats()
    act_calls = 0
    start = time.perf_counter()
    for first in range(0, len(episodes), batch_size):
        wave = episodes[first : first + batch_size]
        env_indices = list(range(len(wave)))
        for step in range(len(wave[0])):
            agent.act([episode[step] for episode in wave], env_indices=env_indices)
            act_calls += 1
        agent.reset()
    seconds = time.perf_counter() - start
    return CaseResult(seconds, act_calls, agent.stats.steps, agent.stats.encoded_frames, len(episodes))


def run_agent_benchmark(
    steps_per_episode: int = 10,
    num_episodes: int = 16,
    batch_sizes: Sequence[int] = (1, 4, 8, 16),
    frame_size: int = 224,
    num_frames: int = 8,
    max_new_tokens: int = 32,
    model_config: str | Path | None = None,
    seed: int = 0,
) -> BenchmarkReport:
    """Measure every case in this run and return the report (the CLI prints it).

    model_config: a tiny-model YAML (e.g. configs/model/tiny.yaml); None uses the same built-in defaults.
    Batch sizes larger than ``num_episodes`` are rejected (every case runs the same episodes).
    """
    from navagent.model import build_tiny_model, build_tiny_processor, build_tiny_tokenizer

    if num_episodes < 1 or steps_per_episode < 1:
        raise ValueError("num_episodes and steps_per_episode must be >= 1")
    too_big = [b for b in batch_sizes if b < 1 or b > num_episodes]
    if too_big:
        raise ValueError(f"batch sizes {too_big} must lie in 1..num_episodes ({num_episodes})")
    tokenizer = build_tiny_tokenizer()
    model = build_tiny_model(model_config, tokenizer)
    processor = build_tiny_processor(model_config, tokenizer)
    episodes = synthetic_episodes(num_episodes, steps_per_episode, frame_size, seed)
    cases = [AgentCase(BASELINE, 1, False), *(AgentCase(f"batch {b}, cache", b, True) for b in batch_sizes)]
    if batch_sizes and max(batch_sizes) > 1:
        cases.append(AgentCase(f"batch {max(batch_sizes)}, no cache", max(batch_sizes), False))
    report = BenchmarkReport(
        f"NavAgent, tiny model, {num_episodes} synthetic episodes x {steps_per_episode} steps, "
        f"{frame_size}px frames, N={num_frames}",
        BASELINE,
    )
    warm_up = synthetic_episodes(1, 2, frame_size, seed + 1)
    policy_logger = logging.getLogger("navagent.agent.policy")
    level = policy_logger.level
    policy_logger.setLevel(
        logging.ERROR
    )  # the untrained model's every answer is an (expected) invalid output
    try:
        for case in cases:
            _measure_case(report, case, model, processor, episodes, warm_up, num_frames, max_new_tokens)
    finally:
        policy_logger.setLevel(level)
    return report


def _measure_case(
    report: BenchmarkReport,
    case: AgentCase,
    model,
    processor,
    episodes: list[list[Observation]],
    warm_up: list[list[Observation]],
    num_frames: int,
    max_new_tokens: int,
) -> None:
    """Warm up a fresh agent for ``case``, run all episodes, add the case's row to ``report``."""
    agent = NavAgent(
        model,
        processor,
        num_frames=num_frames,
        max_new_tokens=max_new_tokens,
        use_feature_cache=case.use_feature_cache,
        max_consecutive_invalid=None,
    )
    run_case(agent, warm_up, 1)
    result = run_case(agent, episodes, case.batch_size)
    details = {
        "batch": case.batch_size,
        "ms/act": 1000.0 * result.seconds / result.act_calls,
        "ms/env-step": 1000.0 * result.seconds / result.env_steps,
        "enc frames/step": result.encoded_frames / result.env_steps,
    }
    report.add(Measurement(case.name, 3600.0 * result.episodes / result.seconds, "episodes/h", details))
