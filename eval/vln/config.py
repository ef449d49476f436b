"""``EvalConfig``: the typed configuration of a closed-loop VLN evaluation (``navagent eval vln``).

A YAML preset (``configs/eval/*.yaml``) with the sections below, plus dotted overrides
(``--sim.max_steps 20``, ``--num_envs=2``, values read as YAML scalars), loaded and type-checked by the same
code as ``navagent train``'s config (``navagent.train.config``). Names of policies, simulators and episode
sources are keys of the registries in ``navagent.eval.vln.registry``. The resolved config is saved in the
run's ``run.json``; the settings that do not change results (``RUNTIME_KEYS``) are left out of the resume check.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from navagent.train.config import ConfigError, _build, load_yaml_file, parse_overrides

DTW_MODES = ("exact", "fastdtw")
DTYPE_NAMES = (
    "bfloat16",
    "float16",
    "float32",
)  # navagent.model.loading.DTYPES (not imported: no torch here)
RUNTIME_KEYS = ("out_dir", "num_envs", "shard", "video", "device", "episodes.max_episodes")


@dataclass
class EpisodesSection:
    """Which episodes: the ``source`` files (``r2r``: R2R-CE, ``rxr``: RxR-CE guide files) of ``split`` under
    ``dir``; ``languages`` filters RxR-CE (null: all); the first ``max_episodes`` in file order (null: all)."""

    source: str = "r2r"
    dir: str | None = None
    split: str = "val_unseen"
    languages: list[str] | None = None
    max_episodes: int | None = None


@dataclass
class SimSection:
    """The simulator ``backend`` (``builtin``, ``habitat``), its step limit and view size (pixels). Habitat
    only: ``scenes_dir`` and ``habitat_simulator`` (``habitat``: habitat-sim; ``builtin``: the built-in
    simulator inside habitat-lab)."""

    backend: str = "builtin"
    max_steps: int = 500
    width: int = 224
    height: int = 224
    scenes_dir: str = "data/scene_datasets"
    habitat_simulator: str = "habitat"


@dataclass
class EvalConfig:
    """One evaluation run. ``policy``: ``checkpoint`` (the model in ``checkpoint``; null: the shipped
    default), ``random``, ``forward`` or ``oracle``; ``seed`` seeds the baselines; ``agent`` holds ``NavAgent``
    options (e.g. ``max_new_tokens``); ``shard``: ``"i/n"`` (null: torchrun's RANK/WORLD_SIZE, else all);
    ``device``: null picks ``cuda:$LOCAL_RANK`` when CUDA is available, else the CPU; ``dtype`` (float32,
    float16, bfloat16) of the model, null: float32 on the CPU, float16 for VILA/NaVILA directories on a GPU,
    else the stored one (run.json records the one used)."""

    out_dir: str = "runs/eval"
    policy: str = "checkpoint"
    checkpoint: str | None = None
    episodes: EpisodesSection = field(default_factory=EpisodesSection)
    sim: SimSection = field(default_factory=SimSection)
    num_envs: int = 8
    shard: str | None = None
    seed: int = 0
    dtw: str = "exact"
    video: bool = False
    device: str | None = None
    dtype: str | None = None
    agent: dict[str, int | float | bool | str | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        from navagent.eval.vln.registry import EPISODE_SOURCES, POLICIES, SIMULATORS

        for name, value, registry in (
            ("policy", self.policy, POLICIES),
            ("sim.backend", self.sim.backend, SIMULATORS),
            ("episodes.source", self.episodes.source, EPISODE_SOURCES),
        ):
            if value not in registry:
                raise ValueError(f"{name} must be one of {sorted(registry)}, got {value!r}")
        if self.checkpoint is not None and self.policy != "checkpoint":
            raise ValueError(f"checkpoint is set but policy is {self.policy!r}: give either, not both")
        if self.dtype is not None and self.dtype not in DTYPE_NAMES:
            raise ValueError(f"dtype must be one of {DTYPE_NAMES} or null, got {self.dtype!r}")
        if self.dtw not in DTW_MODES:
            raise ValueError(f"dtw must be one of {DTW_MODES}, got {self.dtw!r}")
        for name, value in (("num_envs", self.num_envs), ("sim.max_steps", self.sim.max_steps)):
            if value < 1:
                raise ValueError(f"{name} must be >= 1, got {value}")


def load_eval_config(path: str | Path | None, overrides: list[str] | tuple[str, ...] = ()) -> EvalConfig:
    """EvalConfig from a YAML preset (None: defaults) with ``--key value`` / ``--section.key value`` overrides."""
    data: dict[str, Any] = {}
    if path is not None:
        data = load_yaml_file(path) or {}
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: expected a mapping at the top level")
    for key, value in parse_overrides(overrides):
        *sections, name = key.split(".")
        target = data
        for section in sections:
            target = target.setdefault(section, {})
            if not isinstance(target, dict):
                raise ConfigError(f"override --{key}: {section!r} is not a section")
        target[name] = value
    return _build(EvalConfig, data, str(path or "eval config"))


def config_to_dict(config: EvalConfig) -> dict[str, Any]:
    """The config as plain JSON values (what run.json records)."""
    return dataclasses.asdict(config)


def result_settings(config: EvalConfig) -> dict[str, Any]:
    """The config without ``RUNTIME_KEYS``: what a resumed run must share with the results on disk."""
    settings = config_to_dict(config)
    # the same files named relatively or absolutely are the same run (their contents are hashed separately)
    for section, key in ((None, "checkpoint"), ("episodes", "dir"), ("sim", "scenes_dir")):
        target = settings if section is None else settings.get(section, {})
        if isinstance(target.get(key), str):
            target[key] = str(Path(target[key]).resolve())
    for key in RUNTIME_KEYS:
        *sections, name = key.split(".")
        target = settings
        for section in sections:
            target = target[section]
        target.pop(name)
    return settings
