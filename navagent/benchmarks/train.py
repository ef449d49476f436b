"""`navagent bench train`: training throughput and padding with and without sequence packing, in one run.

Workload: the tiny randomly initialised NavVLM (`configs/model/tiny.yaml` layout, or a given spec) trained by
`NavVLMTrainer` on a generated mixture written to a temporary folder — NaVILA navigation records (8 frames
each, episodes of 2..24 steps), single-image questions from easy-vqa (offline) and text-only conversations —
so the sequence lengths vary as in a real mixture.

Every case trains one epoch over the same samples (full batches only), from the same initialisation:

* baseline — one sample per row, right padding to the longest row of the batch;
* length-grouped sampling (batches of similar length), no packing;
* packing — the batch's samples share rows of `max_length` tokens (block-diagonal attention);
* the compact navigation prompt (`navagent.agent.prompts`, ``navigation_prompt: compact``), no packing: the
  navigation samples without NaVILA's fixed text (the other samples unchanged).

Reported per case: samples/s over the timed steps (wall time between the ends of the first `warmup_steps`
and the last step, so data loading and collation count), share of non-padding token positions seen by the
language model, real (non-padding) tokens/s and rows per batch. On a CPU with the tiny model, attention over
long packed rows (with a block-diagonal mask) costs more than it saves; packing pays off when the per-token
layers dominate (large models) and with flash-attention's variable-length kernels on GPUs.
"""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from transformers import PrinterCallback, TrainerCallback, TrainingArguments

from navagent.agent.actions import STOP_TEXT, MidLevelAction
from navagent.benchmarks.report import BenchmarkReport, Measurement
from navagent.envs.base import Action

BASELINE = "no packing"
ACTIONS = tuple(  # answers of the generated navigation records, in the agent's language
    MidLevelAction(kind, amount).to_text()
    for kind, amount in (
        (Action.MOVE_FORWARD, 75), (Action.TURN_LEFT, 30), (Action.TURN_RIGHT, 15), (Action.MOVE_FORWARD, 25),
    )
)  # fmt: skip


@dataclass(frozen=True)
class TrainCase:
    name: str
    packing: bool
    group_by_length: bool
    prompt_wording: str = "navila"  # of the navigation samples (`navagent.agent.prompts.NAVIGATION_PROMPTS`)


CASES = (
    TrainCase(BASELINE, packing=False, group_by_length=False),
    TrainCase("length-grouped, no packing", packing=False, group_by_length=True),
    TrainCase("packing", packing=True, group_by_length=False),
    TrainCase("compact navigation prompt, no packing", False, False, prompt_wording="compact"),
)


class StepClock(TrainerCallback):
    """Wall time from the end of step `warmup_steps` to the end of the last step (CUDA synchronised)."""

    def __init__(self, warmup_steps: int):
        self.warmup_steps = warmup_steps
        self.start: float | None = None
        self.end: float | None = None
        self.timed_steps = 0

    def on_step_end(self, args, state, control, **kwargs):
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        now = time.perf_counter()
        if state.global_step == self.warmup_steps:
            self.start = now
        elif state.global_step > self.warmup_steps:
            self.end, self.timed_steps = now, state.global_step - self.warmup_steps


def write_benchmark_corpus(
    root: Path, seed: int = 0, episodes: int = 6, chats: int = 24, vqa_questions: int = 64
) -> Path:
    """Navigation records (64 px JPEG frames) and text-only conversations under `root`; returns a registry
    naming them ("nav", "chat") and easy-vqa ("easyvqa", its first `vqa_questions` questions)."""
    rng = np.random.default_rng(seed)
    records = []
    for episode in range(episodes):
        length = int(rng.integers(2, 25))
        frames = []
        for step in range(length):
            path = root / "nav" / f"{episode}" / f"{step}.jpg"
            path.parent.mkdir(parents=True, exist_ok=True)
            pixels = rng.integers(0, 256, size=(64, 64, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(path, quality=85)
            frames.append(f"{episode}/{step}.jpg")
            answer = STOP_TEXT if step == length - 1 else ACTIONS[int(rng.integers(len(ACTIONS)))]
            instruction = f"Walk past the table, turn left at door {episode} and stop by the {step}th lamp."
            records.append(
                {"video_id": f"{episode}-{step}", "q": instruction, "a": answer, "frames": list(frames)}
            )
    (root / "nav" / "annotations.json").write_text(json.dumps(records))
    conversations = [
        {
            "id": f"chat-{i}",
            "conversations": [
                {"from": "human", "value": "Describe the way to the kitchen. " * int(rng.integers(1, 12))},
                {
                    "from": "gpt",
                    "value": "Go straight, then turn left at the second door." * int(rng.integers(1, 4)),
                },
            ],
        }
        for i in range(chats)
    ]
    (root / "chat.json").write_text(json.dumps(conversations))
    registry = root / "registry.yaml"
    registry.write_text(
        "datasets:\n"
        "  nav: {type: navigation, root: nav, annotations: annotations.json}\n"
        "  chat: {type: conversation, annotations: chat.json}\n"
        f"  easyvqa: {{type: easy_vqa, split: train, limit: {vqa_questions}}}\n"
    )
    return registry


def run_train_benchmark(
    episodes: int = 6,
    vqa_questions: int = 64,
    chats: int = 24,
    batch_size: int = 8,
    warmup_steps: int = 2,
    max_length: int = 1024,
    model_config: str | Path | None = None,
    device: str = "cpu",
    precision: str = "fp32",
    seed: int = 0,
) -> BenchmarkReport:
    """Measure every case in this run and return the report (the CLI prints it).

    episodes / vqa_questions / chats: size of the generated mixture (one epoch per case).
    device: "cpu" or "cuda"; precision: "fp32" or "bf16" (autocast with fp32 master weights).
    """
    from navagent.model import build_tiny_model, build_tiny_processor, build_tiny_tokenizer
    from navagent.train.collate import SupervisedCollator
    from navagent.train.mixtures import build_mixture, load_registry
    from navagent.train.trainer import NavVLMTrainer

    if warmup_steps < 1 or batch_size < 1:
        raise ValueError(f"warmup_steps and batch_size must be >= 1, got {warmup_steps}, {batch_size}")
    if device not in ("cpu", "cuda") or precision not in ("fp32", "bf16"):
        raise ValueError(f"device must be cpu|cuda and precision fp32|bf16, got {device!r}, {precision!r}")
    tokenizer = build_tiny_tokenizer()
    processor = build_tiny_processor(model_config, tokenizer)
    with tempfile.TemporaryDirectory(prefix="navagent-bench-train-") as folder:
        root = Path(folder)
        registry = write_benchmark_corpus(root, seed, episodes, chats, vqa_questions)
        mixtures = {
            wording: build_mixture(
                "nav+easyvqa+chat", load_registry(registry), root, seed, prompt_wording=wording
            )
            for wording in {case.prompt_wording for case in CASES}
        }
        mixture = mixtures["navila"]
        steps = len(mixture) // batch_size
        if steps <= warmup_steps:
            raise ValueError(
                f"{len(mixture)} samples give {steps} steps of {batch_size}; need > {warmup_steps}"
            )
        report = BenchmarkReport(
            f"SFT, tiny model, {device} {precision}, {len(mixture)} samples, batch {batch_size}, "
            f"max_length {max_length}, {steps - warmup_steps} timed steps per case",
            baseline=BASELINE,
        )
        for case in CASES:
            model = build_tiny_model(model_config, tokenizer).train()
            clock = StepClock(warmup_steps)
            trainer = NavVLMTrainer(
                model=model,
                args=_arguments(
                    root / case.name.replace(" ", "_"), steps, batch_size, device, precision, seed
                ),
                train_dataset=mixtures[case.prompt_wording],
                data_collator=SupervisedCollator(processor, model.tokens_per_image, max_length, case.packing),
                lengths=mixtures[case.prompt_wording].lengths(model.tokens_per_image)
                if case.group_by_length
                else None,
                callbacks=[clock],
            )
            trainer.remove_callback(PrinterCallback)  # keep the table the only output
            trainer.train()
            report.add(_measurement(case, trainer.collator_stats, clock, batch_size, steps))
    return report


def _arguments(output_dir: Path, steps: int, batch_size: int, device: str, precision: str, seed: int):
    return TrainingArguments(
        output_dir=str(output_dir),
        max_steps=steps,
        per_device_train_batch_size=batch_size,
        learning_rate=1e-4,
        save_strategy="no",
        report_to="none",
        logging_strategy="no",
        disable_tqdm=True,
        use_cpu=device == "cpu",
        bf16=precision == "bf16",
        seed=seed,
        remove_unused_columns=False,
        dataloader_drop_last=True,
    )


def _measurement(case: TrainCase, stats, clock: StepClock, batch_size: int, steps: int) -> Measurement:
    seconds = clock.end - clock.start
    real_tokens_per_step = stats.real_tokens / steps
    return Measurement(
        case.name,
        clock.timed_steps * batch_size / seconds,
        "samples/s",
        details={
            "non-padding": round(stats.non_padding_share, 3),
            "real tok/s": round(real_tokens_per_step * clock.timed_steps / seconds, 1),
            "rows/batch": round(stats.rows / steps, 2),
            "real tok/sample": round(real_tokens_per_step / batch_size, 1),
        },
    )
