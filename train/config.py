"""`TrainConfig`: the typed configuration of a training run, read from YAML with dotted overrides.

A YAML file has up to four sections — `model`, `data`, `train`, `lora` — whose keys are the fields below.
Overrides are `--section.key value` (or `--section.key=value`) pairs; values are read as YAML scalars
(`--data.packing true`, `--lora.targets [llm,vision_tower]`). Unknown sections or keys and values of the
wrong type are errors naming the key. Relative paths are relative to the working directory.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

PRECISIONS = ("fp32", "bf16", "fp16")


@dataclass
class ModelSection:
    """Where the model comes from: `path` (a navagent or VILA/NaVILA checkpoint) or `tiny` (a tiny-model spec
    YAML such as configs/model/tiny.yaml: randomly initialised, for smoke runs and tests)."""

    path: str | None = None
    tiny: str | None = None
    attn_implementation: str | None = None


@dataclass
class DataSection:
    """Training data: registry file, data root, mixture (string or {name: weight} with num_samples).

    feature_cache: a folder of cached vision-tower outputs (`navagent data features CONFIG` writes it;
    needs train.freeze_vision_tower) read instead of decoding images. stop_weight: loss weight of the tokens
    of STOP answers; side_weight: of a turn answer's left / right token (`navagent.train.answer_tokens`)."""

    registry: str = "configs/data/registry.yaml"
    root: str = "data"
    mixture: str | dict[str, float] = "easyvqa"
    num_samples: int | None = None
    max_length: int = 4096
    packing: bool = False
    group_by_length: bool = False
    verify_files: bool = True
    seed: int = 0
    feature_cache: str | None = None
    stop_weight: float = 1.0
    side_weight: float = 1.0


@dataclass
class TrainSection:
    """Optimisation, precision, parallelism, checkpoints, logging. `resume`: "auto" (latest checkpoint in
    output_dir, if any), a checkpoint path, or null (start fresh)."""

    output_dir: str = "runs/sft"
    num_epochs: float = 1.0
    max_steps: int = -1
    batch_size: int = 1
    gradient_accumulation_steps: int = 1
    learning_rate: float = 1e-4
    vision_tower_lr: float | None = None
    projector_lr: float | None = None
    weight_decay: float = 0.0
    warmup_ratio: float = 0.03
    lr_scheduler: str = "cosine"
    max_grad_norm: float = 1.0
    freeze_vision_tower: bool = False
    freeze_projector: bool = False
    freeze_llm: bool = False
    gradient_checkpointing: bool = False
    precision: str = "fp32"
    deepspeed: str | None = None
    use_cpu: bool = False
    logging_steps: int = 10
    save_steps: int = 500
    save_total_limit: int | None = None
    resume: str | None = "auto"
    report_to: list[str] = field(default_factory=lambda: ["tensorboard"])
    dataloader_num_workers: int = 0
    seed: int = 0


@dataclass
class LoraSection:
    """LoRA adapters (peft) on the linear layers of `targets`; the projector is always trained in full."""

    enabled: bool = False
    r: int = 16
    alpha: int = 32
    dropout: float = 0.05
    targets: list[str] = field(default_factory=lambda: ["llm"])
    merge_at_end: bool = True


@dataclass
class TrainConfig:
    model: ModelSection = field(default_factory=ModelSection)
    data: DataSection = field(default_factory=DataSection)
    train: TrainSection = field(default_factory=TrainSection)
    lora: LoraSection = field(default_factory=LoraSection)

    def __post_init__(self):
        if (self.model.path is None) == (self.model.tiny is None):
            raise ValueError("config: set exactly one of model.path and model.tiny")
        if self.train.precision not in PRECISIONS:
            raise ValueError(
                f"config: train.precision must be one of {PRECISIONS}, got {self.train.precision!r}"
            )
        for key in ("max_length", "seed"):
            if getattr(self.data, key) < (1 if key == "max_length" else 0):
                raise ValueError(f"config: data.{key} is out of range: {getattr(self.data, key)}")
        if self.data.feature_cache is not None and not self.train.freeze_vision_tower:
            raise ValueError(
                "config: data.feature_cache needs train.freeze_vision_tower: true (cached features)"
            )
        for key in ("stop_weight", "side_weight"):
            if not getattr(self.data, key) > 0:
                raise ValueError(f"config: data.{key} must be > 0, got {getattr(self.data, key)}")
        if not 0 <= self.train.warmup_ratio < 1:
            raise ValueError(f"config: train.warmup_ratio must lie in [0, 1), got {self.train.warmup_ratio}")
        for key in ("batch_size", "gradient_accumulation_steps", "logging_steps", "save_steps"):
            if getattr(self.train, key) < 1:
                raise ValueError(f"config: train.{key} must be >= 1, got {getattr(self.train, key)}")


class ConfigError(ValueError):
    """A config file or override that does not fit TrainConfig."""


def load_train_config(path: str | Path | None, overrides: list[str] | tuple[str, ...] = ()) -> TrainConfig:
    """TrainConfig from a YAML file (None: defaults only) with `--section.key value` overrides applied."""
    data: dict[str, Any] = {}
    if path is not None:
        data = load_yaml_file(path) or {}
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: expected a mapping of sections at the top level")
    for key, value in parse_overrides(overrides):
        section, _, name = key.partition(".")
        if not name or "." in name:
            raise ConfigError(f"override --{key}: expected --section.key")
        target = data.setdefault(section, {})
        if not isinstance(target, dict):
            raise ConfigError(f"override --{key}: section {section!r} is not a mapping in the config file")
        target[name] = value
    return _build(TrainConfig, data, str(path or "config"))


def load_yaml_file(path: str | Path) -> Any:
    """A YAML file's content (safe loader); a syntax error or a Python tag (``!!python/object``) is a
    one-line ``ConfigError`` naming the file, line and column."""
    with open(path, encoding="utf-8") as handle:
        try:
            return yaml.safe_load(handle)
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            where = f"{path}, line {mark.line + 1}, column {mark.column + 1}" if mark else str(path)
            problem = getattr(error, "problem", None) or str(error).splitlines()[0]
            raise ConfigError(f"{where}: not valid YAML for a config: {problem}") from None


def parse_overrides(overrides: list[str] | tuple[str, ...]) -> list[tuple[str, Any]]:
    """["--train.learning_rate", "2e-5", "--data.packing=true"] -> [("train.learning_rate", 2e-05), ...]."""
    pairs, index = [], 0
    items = list(overrides)
    while index < len(items):
        item = items[index]
        if not item.startswith("--") or len(item) < 3:
            raise ConfigError(f"override {item!r}: expected --section.key VALUE or --section.key=VALUE")
        if "=" in item:
            key, text = item[2:].split("=", 1)
            index += 1
        else:
            if index + 1 >= len(items):
                raise ConfigError(f"override {item!r} has no value")
            key, text = item[2:], items[index + 1]
            index += 2
        pairs.append((key, yaml.safe_load(text) if text != "" else None))
    return pairs


def config_to_dict(config: TrainConfig) -> dict[str, Any]:
    return dataclasses.asdict(config)


def save_train_config(config: TrainConfig, path: str | Path) -> Path:
    """Write the resolved config as YAML (readable again by load_train_config)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config_to_dict(config), sort_keys=False), encoding="utf-8")
    return path


def _build(cls, data: dict[str, Any], where: str):
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown} for {cls.__name__}; known: {sorted(known)}")
    values = {}
    for name, value in data.items():
        hint = hints[name]
        key = f"{where}: {name}"
        values[name] = (
            _build(hint, value, key) if dataclasses.is_dataclass(hint) else _coerce(value, hint, key)
        )
    try:
        return cls(**values)
    except ValueError as error:
        raise ConfigError(f"{where}: {error}") from error


def _coerce(value: Any, hint: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        errors = []
        for option in typing.get_args(hint):
            try:
                return _coerce(value, option, where)
            except ConfigError as error:
                errors.append(str(error))
        raise ConfigError(f"{where}: {value!r} fits none of {hint}")
    if hint is type(None):
        if value is None:
            return None
        raise ConfigError(f"{where}: expected null, got {value!r}")
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        (item,) = typing.get_args(hint)
        return [_coerce(v, item, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping, got {value!r}")
        key_type, value_type = typing.get_args(hint)
        return {_coerce(k, key_type, where): _coerce(v, value_type, f"{where}.{k}") for k, v in value.items()}
    return _coerce_scalar(value, hint, where)


def _coerce_scalar(value: Any, hint: type, where: str) -> Any:
    is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if (hint is bool and isinstance(value, bool)) or (hint is str and isinstance(value, str)):
        return value
    if hint is int and is_number and isinstance(value, int):
        return value
    if hint is float and is_number:
        return float(value)
    if hint is float and isinstance(value, str):  # YAML 1.1 reads "1e-4" as a string
        try:
            return float(value)
        except ValueError:
            pass
    raise ConfigError(f"{where}: expected {hint.__name__}, got {value!r}")
