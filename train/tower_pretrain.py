"""Stage 0: pretrain a NavVLM's vision tower on labelled house views and easy-vqa shapes
(``navagent pretrain-tower CONFIG``).

The model is built from a preset (``model.preset``, e.g. configs/model/nav-conv.yaml: tower + random projector
and LM + tokenizer). Each step draws ``batch_size`` views (an epoch is one pass over the views, in a seeded
random order) and ``easy_vqa_per_batch`` easy-vqa images, mirrors each image with probability 1/2 when
``flip`` is set (a mirrored view's sector labels reverse), runs the tower once on all of them and sums the
weighted task losses (``navagent.train.tower_heads``). AdamW, linear warm-up then cosine decay, one thread.

At the end the probes run on ``data.probe_views`` (views of unseen houses) and on easy-vqa's test images;
``output_dir`` receives the full model (``save_model_and_processor``: config.json, model.safetensors with the
trained tower and the preset's random projector / LM, tokenizer, processor, so ``from_pretrained`` and later
stages start from it), ``tower_heads.safetensors`` (the task heads), ``probes.json`` (metrics + throughput), ``losses.json`` (per-epoch mean losses) and
``tower_pretrain.yaml`` (the resolved config).
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import yaml
from safetensors.torch import save_file
from tqdm import tqdm

from navagent.model import (
    NavVLMForCausalLM,
    build_tiny_model,
    build_tiny_processor,
    build_tiny_tokenizer,
    save_model_and_processor,
)
from navagent.model.image_processing import ImagePreprocessor
from navagent.model.tiny import load_tiny_model_spec
from navagent.model.vision_geometry import vision_token_count
from navagent.model.vision_tower import VisionTower
from navagent.train.config import ConfigError, _build, parse_overrides
from navagent.train.tower_data import (
    ShapeExamples,
    ViewExamples,
    load_shape_examples,
    load_view_examples,
    normalize,
)
from navagent.train.tower_heads import (
    TowerHeads,
    shape_losses,
    shape_metrics,
    view_losses,
    view_metrics,
)

HEADS_FILE = "tower_heads.safetensors"  # the stage-0 heads, next to the model (for later probes)


@dataclass
class TowerModelSection:
    """``preset``: a model preset YAML (``navagent.model.tiny.TinyModelSpec``) with a square token map."""

    preset: str = "configs/model/nav-conv.yaml"


@dataclass
class TowerDataSection:
    """``views`` / ``probe_views``: ``views_{split}.json`` files of ``navagent data views`` (train houses /
    unseen houses). ``easy_vqa_limit``: easy-vqa train images used (null: all 4,000); 0 turns easy-vqa off."""

    views: str = "/work/data/stage0/train/views_train.json"
    probe_views: str = "/work/data/stage0/val_unseen/views_val_unseen.json"
    easy_vqa_limit: int | None = None


@dataclass
class TowerTrainSection:
    output_dir: str = "runs/tower-nav-conv"
    epochs: int = 15
    batch_size: int = 64
    easy_vqa_per_batch: int = 16
    learning_rate: float = 2e-3
    weight_decay: float = 1e-4
    warmup_steps: int = 50
    flip: bool = True
    seed: int = 0
    threads: int = 1
    probe_batch_size: int = 256


@dataclass
class TowerLossSection:
    """Weights of the task losses."""

    room: float = 1.0
    door: float = 1.0
    through: float = 0.5
    objects: float = 1.0
    colors: float = 0.5
    depth: float = 0.5
    shape: float = 0.5
    shape_color: float = 0.5


@dataclass
class TowerPretrainConfig:
    model: TowerModelSection = field(default_factory=TowerModelSection)
    data: TowerDataSection = field(default_factory=TowerDataSection)
    train: TowerTrainSection = field(default_factory=TowerTrainSection)
    loss: TowerLossSection = field(default_factory=TowerLossSection)

    def __post_init__(self):
        for key in ("epochs", "batch_size", "threads", "probe_batch_size"):
            if getattr(self.train, key) < 1:
                raise ValueError(f"train.{key} must be >= 1, got {getattr(self.train, key)}")
        if self.train.easy_vqa_per_batch < 0 or self.train.warmup_steps < 0:
            raise ValueError("train.easy_vqa_per_batch and train.warmup_steps must be >= 0")
        if self.data.easy_vqa_limit is not None and self.data.easy_vqa_limit < 0:
            raise ValueError(f"data.easy_vqa_limit must be >= 0 or null, got {self.data.easy_vqa_limit}")
        if not self.train.learning_rate > 0:
            raise ValueError(f"train.learning_rate must be > 0, got {self.train.learning_rate}")

    @property
    def uses_easy_vqa(self) -> bool:
        return self.train.easy_vqa_per_batch > 0 and self.data.easy_vqa_limit != 0


def load_tower_config(
    path: str | Path | None, overrides: list[str] | tuple[str, ...] = ()
) -> TowerPretrainConfig:
    """The config from a YAML file (None: defaults) with ``--section.key value`` overrides applied."""
    data: dict[str, Any] = {}
    if path is not None:
        with open(path, encoding="utf-8") as handle:
            data = yaml.safe_load(handle) or {}
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: expected a mapping of sections at the top level")
    for key, value in parse_overrides(overrides):
        section, _, name = key.partition(".")
        if not name or "." in name or not isinstance(data.setdefault(section, {}), dict):
            raise ConfigError(f"override --{key}: expected --section.key with a mapping section")
        data[section][name] = value
    return _build(TowerPretrainConfig, data, str(path or "config"))


def _weighted_sum(losses: dict[str, torch.Tensor], weights: TowerLossSection) -> torch.Tensor:
    return sum(getattr(weights, name) * value for name, value in losses.items())


def _learning_rate_factor(step: int, warmup: int, total: int) -> float:
    """Linear warm-up over ``warmup`` steps, then cosine decay to 0 at ``total``."""
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


@torch.no_grad()
def _predict(
    tower: VisionTower,
    heads: TowerHeads,
    pixels: torch.Tensor,
    preprocessor: ImagePreprocessor,
    batch_size: int,
) -> dict[str, torch.Tensor]:
    """Logits of every image of ``pixels`` (uint8 (N, 3, S, S)), in eval mode, concatenated per task."""
    tower.eval()
    heads.eval()
    starts = range(0, len(pixels), batch_size)
    chunks = [heads(tower(normalize(pixels[i : i + batch_size], preprocessor))) for i in starts]
    return {name: torch.cat([chunk[name] for chunk in chunks]) for name in chunks[0]}


def run_probes(
    tower: VisionTower,
    heads: TowerHeads,
    preprocessor: ImagePreprocessor,
    views: ViewExamples,
    shapes: ShapeExamples | None,
    batch_size: int,
) -> dict[str, float]:
    """Probe metrics on held-out views (and easy-vqa test images when given)."""
    metrics = view_metrics(_predict(tower, heads, views.pixels, preprocessor, batch_size), views)
    if shapes is not None:
        metrics |= shape_metrics(_predict(tower, heads, shapes.pixels, preprocessor, batch_size), shapes)
    return {"num_probe_views": len(views), **metrics}


def _train_epoch(
    tower: VisionTower,
    heads: TowerHeads,
    optimizer: torch.optim.Optimizer,
    schedule: torch.optim.lr_scheduler.LRScheduler,
    views: ViewExamples,
    shapes: ShapeExamples | None,
    config: TowerPretrainConfig,
    preprocessor: ImagePreprocessor,
    generator: torch.Generator,
    epoch: int,
) -> tuple[dict[str, float], int]:
    """One pass over the views (a set smaller than a batch is one batch); returns the mean of each task loss
    and the number of images seen."""
    train = config.train
    tower.train()
    heads.train()
    order = torch.randperm(len(views), generator=generator)
    totals: dict[str, float] = {}
    steps = images = 0
    batches = range(0, len(views) - train.batch_size + 1, train.batch_size) or [0]
    for start in tqdm(batches, desc=f"epoch {epoch + 1}/{train.epochs}", unit="step", leave=False):
        batch = views.select(order[start : start + train.batch_size])
        if train.flip:
            batch = batch.flipped(torch.rand(len(batch), generator=generator) < 0.5)
        pixels = [batch.pixels]
        shape_batch = None
        if shapes is not None:
            shape_batch = shapes.select(
                torch.randint(len(shapes), (train.easy_vqa_per_batch,), generator=generator)
            )
            if train.flip:
                shape_batch = shape_batch.flipped(torch.rand(len(shape_batch), generator=generator) < 0.5)
            pixels.append(shape_batch.pixels)
        logits = heads(tower(normalize(torch.cat(pixels), preprocessor)))
        count = len(batch)
        losses = view_losses({k: v[:count] for k, v in logits.items()}, batch)
        if shape_batch is not None:
            losses |= shape_losses({k: v[count:] for k, v in logits.items()}, shape_batch)
        loss = _weighted_sum(losses, config.loss)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        for name, value in losses.items():
            totals[name] = totals.get(name, 0.0) + value.item()
        steps += 1
        images += sum(len(p) for p in pixels)
    return {name: total / steps for name, total in totals.items()}, images


def pretrain_tower(config: TowerPretrainConfig) -> Path:
    """Run stage 0 (see the module docstring); returns the output model folder."""
    torch.set_num_threads(config.train.threads)
    torch.manual_seed(config.train.seed)
    spec = load_tiny_model_spec(config.model.preset)
    tokenizer = build_tiny_tokenizer(spec.tokenizer)
    model: NavVLMForCausalLM = build_tiny_model(spec, tokenizer)
    processor = build_tiny_processor(spec, tokenizer)
    preprocessor = processor.image_processor
    tower = model.vision_tower
    tokens = vision_token_count(
        model.config.vision_config,
        model.config.image_size,
        model.config.mm_vision_select_layer,
        model.config.mm_vision_select_feature,
    )
    heads = TowerHeads(model.config.mm_hidden_size, math.isqrt(tokens))

    start = time.perf_counter()
    views = load_view_examples(config.data.views, preprocessor)
    probe_views = load_view_examples(config.data.probe_views, preprocessor)
    shapes = probe_shapes = None
    if config.uses_easy_vqa:
        shapes = load_shape_examples("train", preprocessor, config.data.easy_vqa_limit)
        probe_shapes = load_shape_examples("test", preprocessor)
    load_seconds = time.perf_counter() - start
    num_shapes = len(shapes) if shapes is not None else 0
    print(
        f"stage 0: {len(views)} train views, {len(probe_views)} probe views, {num_shapes} easy-vqa images "
        f"(loaded in {load_seconds:.0f} s)"
    )

    parameters = list(tower.parameters()) + list(heads.parameters())
    optimizer = torch.optim.AdamW(
        parameters, lr=config.train.learning_rate, weight_decay=config.train.weight_decay
    )
    steps_per_epoch = max(1, len(views) // config.train.batch_size)
    total_steps = steps_per_epoch * config.train.epochs
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: _learning_rate_factor(step, config.train.warmup_steps, total_steps)
    )
    generator = torch.Generator().manual_seed(config.train.seed)
    history, images, train_seconds = [], 0, 0.0
    for epoch in range(config.train.epochs):
        epoch_start = time.perf_counter()
        losses, seen = _train_epoch(
            tower, heads, optimizer, schedule, views, shapes, config, preprocessor, generator, epoch
        )
        train_seconds += time.perf_counter() - epoch_start
        images += seen
        history.append({"epoch": epoch + 1, **{k: round(v, 5) for k, v in losses.items()}})
        print(f"epoch {epoch + 1}: " + " ".join(f"{k} {v:.4f}" for k, v in losses.items()))

    probe_start = time.perf_counter()
    metrics = run_probes(tower, heads, preprocessor, probe_views, probe_shapes, config.train.probe_batch_size)
    metrics |= {
        "train_images_per_second": round(images / max(train_seconds, 1e-9), 1),
        "train_seconds": round(train_seconds, 1),
        "load_seconds": round(load_seconds, 1),
        "probe_seconds": round(time.perf_counter() - probe_start, 1),
        "train_views": len(views),
        "steps": total_steps,
    }
    print("probes (unseen houses): " + " ".join(f"{k} {v:.4g}" for k, v in metrics.items()))

    output = Path(config.train.output_dir)
    save_model_and_processor(model.eval(), processor, output)
    save_file(heads.state_dict(), str(output / HEADS_FILE))
    (output / "probes.json").write_text(json.dumps(metrics, indent=1) + "\n", encoding="utf-8")
    (output / "losses.json").write_text(json.dumps(history, indent=1) + "\n", encoding="utf-8")
    (output / "tower_pretrain.yaml").write_text(
        yaml.safe_dump(dataclasses.asdict(config), sort_keys=False), encoding="utf-8"
    )
    return output


def pretrain_tower_from_config(path: str | Path | None, overrides: list[str] | tuple[str, ...] = ()) -> Path:
    """``navagent pretrain-tower CONFIG [--section.key value ...]``."""
    return pretrain_tower(load_tower_config(path, overrides))
