"""`navagent bench eval`: closed-loop evaluation throughput, batched vector environments vs one at a time.

Both cases run the real evaluation (`navagent.eval.vln.run_vln_eval`: simulators rendering RGB, the agent,
metrics, durable per-episode results) on the same generated episodes (one built-in house) with the tiny
randomly initialised NavVLM saved to a temporary checkpoint. The untrained model's output is unparseable, so
every step falls back to a one-step turn and queries the model again (``max_consecutive_invalid=None``):
each episode runs to the step cap, with one model query per step, the upper bound on model calls.

Cases, measured in this one run after a short warm-up:

* baseline — one environment, in this process (episodes one after another, one model query per call);
* ``num_envs`` environments in worker processes, one batched `generate` over all of them per step.

Reported: episodes/hour of the evaluation loop (model loading and worker start-up excluded, shown
separately as start-up seconds), ms per environment step, and the ratio against the baseline.
"""

from __future__ import annotations

import logging
import tempfile
import time
from pathlib import Path

from navagent.benchmarks.report import BenchmarkReport, Measurement

BASELINE = "1 env at a time"
SPLIT = "val_seen"


def _tiny_checkpoint(directory: Path, model_config: str | Path | None) -> Path:
    from navagent.model import (
        build_tiny_model,
        build_tiny_processor,
        build_tiny_tokenizer,
        save_model_and_processor,
    )

    tokenizer = build_tiny_tokenizer()
    model = build_tiny_model(model_config, tokenizer)
    return save_model_and_processor(model, build_tiny_processor(model_config, tokenizer), directory)


def run_eval_benchmark(
    num_episodes: int = 8,
    max_steps: int = 20,
    num_envs: int = 8,
    frame_size: int = 224,
    model_config: str | Path | None = None,
    seed: int = 0,
    device: str = "cpu",
) -> BenchmarkReport:
    """Measure one-env-at-a-time vs ``num_envs`` batched evaluation on ``num_episodes`` generated episodes,
    each capped at ``max_steps`` steps, the model on ``device``; returns the report (the CLI prints it)."""
    from navagent.envs.builtin.episode_gen import write_split
    from navagent.eval.vln import EvalConfig, run_vln_eval
    from navagent.eval.vln.config import EpisodesSection, SimSection

    if num_episodes < 1 or max_steps < 1 or num_envs < 1:
        raise ValueError("num_episodes, max_steps and num_envs must be >= 1")
    report = BenchmarkReport(
        f"closed-loop eval, tiny model, {num_episodes} generated episodes capped at {max_steps} steps "
        f"(one model query per step), {frame_size}px RGB",
        BASELINE,
    )
    policy_logger = logging.getLogger("navagent.agent.policy")
    level = policy_logger.level
    policy_logger.setLevel(
        logging.ERROR
    )  # every answer of the untrained model is an (expected) invalid output
    try:
        with tempfile.TemporaryDirectory(prefix="navagent-bench-eval-") as tmp:
            root = Path(tmp)
            write_split(root / "data", SPLIT, num_scenes=1, per_scene=num_episodes, seed=seed, progress=False)
            checkpoint = str(_tiny_checkpoint(root / "checkpoint", model_config))

            def config(out: str, envs: int, steps: int, episodes: int | None = None) -> EvalConfig:
                return EvalConfig(
                    out_dir=str(root / out), checkpoint=checkpoint, num_envs=envs, device=device,
                    episodes=EpisodesSection(dir=str(root / "data"), split=SPLIT, max_episodes=episodes),
                    sim=SimSection(max_steps=steps, width=frame_size, height=frame_size),
                    agent={"max_consecutive_invalid": None},
                )  # fmt: skip

            run_vln_eval(config("warm-up", 1, 2, episodes=1), progress=False)
            for name, envs in ((BASELINE, 1), (f"{num_envs} envs, batched", num_envs)):
                started = time.perf_counter()
                summary = run_vln_eval(config(f"envs-{envs}", envs, max_steps), progress=False)
                wall = time.perf_counter() - started
                loop_seconds = 3600.0 * summary["episodes"] / summary["episodes_per_hour"]
                env_steps = summary["steps"] * summary["episodes"]
                details = {
                    "envs": envs,
                    "ms/env-step": 1000.0 * loop_seconds / env_steps,
                    "model queries": summary["model_queries"],
                    "start-up s": wall - loop_seconds,
                }
                report.add(Measurement(name, summary["episodes_per_hour"], "episodes/h", details))
    finally:
        policy_logger.setLevel(level)
    return report
