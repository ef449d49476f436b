"""`train_from_config`: one training run from a YAML config (`navagent train CONFIG.yaml [--section.key value]`).

Steps: resolve the config -> pick the checkpoint to resume (`train.resume: auto`: the newest *complete*
`checkpoint-N`; a resume with another config than `OUTPUT/train_config.yaml` is refused) -> load the model and
processor -> build the mixture from the registry (its resolved sizes are printed) -> freeze parts / add LoRA
-> lock OUTPUT (`navagent.output_guard`) and only now write `OUTPUT/train_config.yaml` -> train with
`NavVLMTrainer` -> save. A failure before training leaves no files behind.

Output directory:
    train_config.yaml            the resolved config
    checkpoint-<step>/           Trainer checkpoints (model or adapter, optimizer, scheduler, RNG states),
                                 each with the processor files, train_config.yaml and, written last,
                                 checkpoint_complete.json (a folder without it was cut short by a kill)
    runs/                        TensorBoard logs (with `report_to: [tensorboard]`)
    final/                       HF-format navagent checkpoint (`load_model_and_processor`); LoRA merged
    final_adapter/               LoRA runs: the adapter (+ fully trained projector) and the processor
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import sys
from pathlib import Path

import torch
from transformers import TrainerCallback, TrainingArguments

from navagent.fileio import write_json_atomic
from navagent.model import (
    NavVLMConfig,
    build_tiny_model,
    build_tiny_processor,
    build_tiny_tokenizer,
    load_model_and_processor,
    load_tiny_model_spec,
    save_model_and_processor,
)
from navagent.output_guard import InputsChangedError, check_out_dir, describe_changes, output_lock
from navagent.train.answer_tokens import AnswerTokens
from navagent.train.collate import SupervisedCollator
from navagent.train.config import (
    ConfigError,
    ModelSection,
    TrainConfig,
    config_to_dict,
    load_train_config,
    load_yaml_file,
    save_train_config,
)
from navagent.train.feature_cache import CachedFeatureFrames, FeatureCache, build_feature_cache
from navagent.train.lora import apply_lora, merge_lora
from navagent.train.mixtures import MixtureDataset, build_mixture, load_registry, parse_mixture
from navagent.train.trainer import NavVLMTrainer, freeze_parts

logger = logging.getLogger(__name__)

CONFIG_FILE_NAME = "train_config.yaml"
CHECKPOINT_PREFIX = "checkpoint-"
COMPLETE_MARKER = "checkpoint_complete.json"  # written last into a checkpoint folder
RESUME_FREE_KEYS = (  # may differ between a run and its resume (e.g. training longer)
    "train.resume", "train.max_steps", "train.num_epochs", "train.save_steps", "train.save_total_limit",
    "train.logging_steps", "train.report_to", "train.dataloader_num_workers",
)  # fmt: skip


def train_from_config(config_path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> Path:
    """Run training as configured; returns the final HF-format model directory (`OUTPUT/final`, or
    `OUTPUT/final_adapter` for an unmerged LoRA run). `overrides`: ["--section.key", "value", ...]."""
    return run_training(load_train_config(config_path, overrides))


def run_training(config: TrainConfig) -> Path:
    """Run training for an already resolved config (see `train_from_config`)."""
    output_dir = check_out_dir(config.train.output_dir, "train.output_dir")
    main = _is_main_process()
    resume = resolve_resume(config.train.resume, output_dir)
    if resume is not None and main:
        check_resumed_config(config, output_dir)  # before the slow loading: refuse early
    model, processor = load_model_for_training(config.model, _load_dtype(config))
    if config.data.packing and model.config.mm_frame_slots:
        raise ConfigError(
            "config: data.packing cannot be used with a model that has frame-slot embeddings "
            "(mm_frame_slots counts the images of a row, and a packed row holds several samples)"
        )
    # NaVILA's second truncation (after splicing) cuts at the training max length, as VILA's training sets it
    model.config.tokenizer_model_max_length = config.data.max_length
    mixture = build_training_mixture(config, model.config)
    _print_main(f"training mixture ({config.data.mixture}):\n{mixture.summary()}")
    collator = SupervisedCollator(
        processor,
        model.tokens_per_image,
        config.data.max_length,
        config.data.packing,
        frames=_frame_source(config, model),
        answer_tokens=AnswerTokens(processor, config.data.stop_weight, config.data.side_weight),
    )
    frozen = [
        part
        for part, flag in (
            ("vision_tower", config.train.freeze_vision_tower),
            ("mm_projector", config.train.freeze_projector),
            ("llm", config.train.freeze_llm),
        )
        if flag
    ]
    tokens_per_image = model.tokens_per_image
    if config.lora.enabled:
        lora = config.lora
        model = apply_lora(model, lora.r, lora.alpha, lora.dropout, lora.targets, config.train.seed)
    freeze_parts(model, frozen)
    with output_lock(output_dir) if main else contextlib.nullcontext():
        if main:  # written only now that the model and the data loaded
            save_train_config(config, output_dir / CONFIG_FILE_NAME)
        return _train(config, model, processor, mixture, collator, tokens_per_image, resume)


def _train(
    config: TrainConfig, model, processor, mixture, collator, tokens_per_image: int, resume: str | None
):
    """Build the trainer, train (from ``resume`` when given) and save the final model."""
    trainer = NavVLMTrainer(
        model=model,
        args=training_arguments(config),
        train_dataset=mixture,
        data_collator=collator,
        learning_rates=_learning_rates(config),
        lengths=mixture.lengths(tokens_per_image) if config.data.group_by_length else None,
        callbacks=[SaveRunFilesCallback(config, processor)],
    )
    trainer.train(resume_from_checkpoint=resume)
    stats = trainer.collator_stats
    if stats.truncated:
        logger.warning(
            "%d of %d training samples were truncated to max_length", stats.truncated, stats.samples
        )
    return save_final(trainer, processor, config)


def load_model_for_training(section: ModelSection, dtype: torch.dtype = torch.float32):
    """(model in train mode, processor) from `model.path` or a `model.tiny` spec."""
    if section.tiny is not None:
        spec = load_tiny_model_spec(section.tiny)
        tokenizer = build_tiny_tokenizer(spec.tokenizer)
        model = build_tiny_model(spec, tokenizer, dtype, section.attn_implementation)
        processor = build_tiny_processor(spec, tokenizer)
    else:
        model, processor = load_model_and_processor(section.path, dtype, None, section.attn_implementation)
    return model.train(), processor


def _frame_source(config: TrainConfig, model) -> CachedFeatureFrames | None:
    """Cached tower outputs when `data.feature_cache` is set (checked against the model's tower), else None
    (the collator decodes images)."""
    if config.data.feature_cache is None:
        return None
    cache = FeatureCache(config.data.feature_cache)
    cache.check_matches(model)
    return CachedFeatureFrames(cache, config.data.root)


def build_feature_cache_from_config(
    config_path: str | Path, overrides: list[str] | tuple[str, ...] = ()
) -> Path:
    """Stage 1 of a frozen-tower run: the model's tower on every frame of the config's mixture, written to
    `data.feature_cache` (`navagent data features CONFIG`)."""
    config = load_train_config(config_path, overrides)
    if config.data.feature_cache is None:
        raise ConfigError(f"{config_path}: data.feature_cache is not set (where should the cache go?)")
    model, processor = load_model_for_training(config.model)
    mixture = build_training_mixture(config, model.config)
    samples = (sample for source in mixture.sources for sample in source.samples)
    return build_feature_cache(model, processor, samples, config.data.root, config.data.feature_cache)


def build_training_mixture(config: TrainConfig, model_config: NavVLMConfig) -> MixtureDataset:
    """The config's mixture; refused when its navigation data prompts otherwise than the model's agent will:
    each navigation entry's ``num_frames`` / ``recent_frames`` / ``previous_action`` must be the model config's
    ``num_video_frames`` / ``num_recent_frames`` / ``previous_action_in_prompt`` (`NavAgent` builds its
    prompts with those); navigation prompts are worded as the model's (``navigation_prompt``)."""
    data = config.data
    registry = load_registry(data.registry)
    names = (
        [t.name for t in parse_mixture(data.mixture)] if isinstance(data.mixture, str) else list(data.mixture)
    )
    expected = (
        model_config.num_video_frames,
        model_config.num_recent_frames,
        model_config.previous_action_in_prompt,
    )
    for name in names:
        entry = registry.get(name)
        if (
            entry is not None
            and entry.type == "navigation"
            and (entry.num_frames, entry.recent_frames, entry.previous_action) != expected
        ):
            raise ConfigError(
                f"config: dataset {name!r} samples num_frames={entry.num_frames}, recent_frames="
                f"{entry.recent_frames}, previous_action={entry.previous_action}, but the model's agent uses "
                f"num_video_frames={expected[0]}, num_recent_frames={expected[1]}, "
                f"previous_action_in_prompt={expected[2]}"
            )
    return build_mixture(
        data.mixture,
        registry,
        data.root,
        data.seed,
        data.num_samples,
        data.verify_files,
        model_config.navigation_prompt,
    )


def training_arguments(config: TrainConfig) -> TrainingArguments:
    """HF TrainingArguments for the config's `train` section."""
    train = config.train
    return TrainingArguments(
        output_dir=train.output_dir,
        num_train_epochs=train.num_epochs,
        max_steps=train.max_steps,
        per_device_train_batch_size=train.batch_size,
        gradient_accumulation_steps=train.gradient_accumulation_steps,
        learning_rate=train.learning_rate,
        weight_decay=train.weight_decay,
        warmup_steps=train.warmup_ratio,
        lr_scheduler_type=train.lr_scheduler,
        max_grad_norm=train.max_grad_norm,
        bf16=train.precision == "bf16",
        fp16=train.precision == "fp16",
        **_checkpointing_arguments(train.gradient_checkpointing),
        deepspeed=train.deepspeed,
        use_cpu=train.use_cpu,
        logging_steps=train.logging_steps,
        save_strategy="steps",
        save_steps=train.save_steps,
        save_total_limit=train.save_total_limit,
        report_to=list(train.report_to) or "none",
        dataloader_num_workers=train.dataloader_num_workers,
        seed=train.seed,
        data_seed=config.data.seed,
        remove_unused_columns=False,
    )


def _checkpointing_arguments(enabled: bool) -> dict:
    """Activation (gradient) checkpointing arguments under their current transformers names."""
    fields = {f.name for f in dataclasses.fields(TrainingArguments)}
    name = "activation_checkpointing" if "activation_checkpointing" in fields else "gradient_checkpointing"
    return {name: enabled, f"{name}_kwargs": {"use_reentrant": False} if enabled else None}


def is_complete_checkpoint(directory: Path) -> bool:
    """Whether ``checkpoint-N/`` was saved to the end: its completion marker (written last, by
    ``SaveRunFilesCallback``), or for checkpoints older than the marker, the Trainer state and the config
    (the two files written last before it existed)."""
    if (directory / COMPLETE_MARKER).is_file():
        return True
    return (directory / "trainer_state.json").is_file() and (directory / CONFIG_FILE_NAME).is_file()


def resolve_resume(resume: str | None, output_dir: Path) -> str | None:
    """None (fresh run); for "auto" the newest *complete* checkpoint-N of output_dir (None when there is
    none; newer incomplete ones, e.g. half-written by a kill, are skipped with a note on stderr); or an
    existing, complete checkpoint path."""
    if resume is None:
        return None
    if resume == "auto":
        if not output_dir.is_dir():
            return None
        steps = [
            (int(p.name.removeprefix(CHECKPOINT_PREFIX)), p)
            for p in output_dir.iterdir()
            if p.is_dir()
            and p.name.startswith(CHECKPOINT_PREFIX)
            and p.name[len(CHECKPOINT_PREFIX) :].isdigit()
        ]
        for _, directory in sorted(steps, reverse=True):
            if is_complete_checkpoint(directory):
                return str(directory)
            print(
                f"navagent: note: skipping incomplete checkpoint {directory} (no {COMPLETE_MARKER}: "
                "saving it did not finish)",
                file=sys.stderr,
            )
        return None
    if not Path(resume).is_dir():
        raise FileNotFoundError(f"train.resume: checkpoint directory {resume} does not exist")
    if not is_complete_checkpoint(Path(resume)):
        raise ValueError(f"train.resume: {resume} is an incomplete checkpoint (no {COMPLETE_MARKER})")
    return resume


def check_resumed_config(config: TrainConfig, output_dir: Path) -> None:
    """A resumed run must have the config its checkpoints were trained with (``OUTPUT/train_config.yaml``,
    ignoring ``RESUME_FREE_KEYS``); else ``InputsChangedError`` naming the changed keys."""
    path = output_dir / CONFIG_FILE_NAME
    if not path.is_file():
        return
    recorded, current = load_yaml_file(path) or {}, json.loads(json.dumps(config_to_dict(config)))
    for data in (recorded, current):
        for key in RESUME_FREE_KEYS:
            section, _, name = key.partition(".")
            if isinstance(data.get(section), dict):
                data[section].pop(name, None)
    if recorded != current:
        raise InputsChangedError(
            f"{output_dir} holds checkpoints trained with another config: {describe_changes(recorded, current)} "
            f"(recorded in {path}); to start fresh use a new --train.output_dir, or --train.resume null to "
            "train from scratch in it"
        )


PICKLED_TRAINER_FILES = ("training_args.bin",)  # HF Trainer's pickled TrainingArguments


def _drop_pickles(directory: Path) -> None:
    """Shipped model folders hold safetensors, JSON and YAML only: the resolved YAML config replaces the
    Trainer's pickled arguments (resumable ``checkpoint-N/`` folders keep what the Trainer needs)."""
    for name in PICKLED_TRAINER_FILES:
        (directory / name).unlink(missing_ok=True)


def save_final(trainer: NavVLMTrainer, processor, config: TrainConfig) -> Path:
    """Write the final model (see module docstring) and return its directory."""
    output_dir = Path(config.train.output_dir)
    main = trainer.is_world_process_zero()
    if not config.lora.enabled:
        final = output_dir / "final"
        trainer.save_model(str(final))
    else:
        adapter = output_dir / "final_adapter"
        trainer.save_model(str(adapter))
        if main:
            processor.save_pretrained(adapter)
            save_train_config(config, adapter / CONFIG_FILE_NAME)
            _drop_pickles(adapter)
        if not config.lora.merge_at_end:
            return adapter
        if trainer.is_deepspeed_enabled and _zero_stage(trainer) == 3:
            logger.warning("ZeRO-3: merge the adapter offline with navagent.train.lora.merge_lora_checkpoint")
            return adapter
        final = output_dir / "final"
        if main:
            save_model_and_processor(merge_lora(trainer.model), processor, final)
    if main:
        processor.save_pretrained(final)
        save_train_config(config, final / CONFIG_FILE_NAME)
        _drop_pickles(final)
    return final


class SaveRunFilesCallback(TrainerCallback):
    """Stores the processor and the resolved config in every checkpoint directory."""

    def __init__(self, config: TrainConfig, processor):
        self.config = config
        self.processor = processor

    def on_save(self, args, state, control, **kwargs):
        if state.is_world_process_zero:
            checkpoint = Path(args.output_dir) / f"{CHECKPOINT_PREFIX}{state.global_step}"
            self.processor.save_pretrained(checkpoint)
            save_train_config(self.config, checkpoint / CONFIG_FILE_NAME)
            write_json_atomic(checkpoint / COMPLETE_MARKER, {"global_step": state.global_step})  # last


def _learning_rates(config: TrainConfig) -> dict[str, float]:
    train = config.train
    return {
        "llm": train.learning_rate,
        "mm_projector": train.projector_lr if train.projector_lr is not None else train.learning_rate,
        "vision_tower": train.vision_tower_lr if train.vision_tower_lr is not None else train.learning_rate,
    }


def _load_dtype(config: TrainConfig) -> torch.dtype:
    """fp32 master weights (autocast for bf16 / fp16), except under DeepSpeed, which keeps its own fp32 copy."""
    if config.train.deepspeed and config.train.precision == "bf16":
        return torch.bfloat16
    return torch.float32


def _zero_stage(trainer: NavVLMTrainer) -> int:
    plugin = trainer.accelerator.state.deepspeed_plugin
    return int(plugin.zero_stage) if plugin is not None else 0


def _is_main_process() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


def _print_main(text: str) -> None:
    if _is_main_process():
        print(text, flush=True)
