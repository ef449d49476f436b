"""Supervised fine-tuning of NavVLM on mixtures of navigation records and image / video / text conversations.

Data flows: records on disk -> `Sample` (messages + image references; `navagent.train.datasets`) ->
`MixtureDataset` (named sources from a YAML registry, `r2r+easyvqa*2`; `navagent.train.mixtures`) ->
`SupervisedCollator` (tokens, assistant-only labels, truncation, optional packing; `navagent.train.collate`) ->
`NavVLMTrainer` (HF Trainer with per-part learning rates, freezing, LoRA; `navagent.train.trainer`).
`navagent.train.run.train_from_config` ties them together for `navagent train CONFIG.yaml`.
"""

from navagent.train.collate import CollatorStats, SupervisedCollator
from navagent.train.config import TrainConfig, load_train_config, save_train_config
from navagent.train.mixtures import (
    DatasetEntry,
    MixtureDataset,
    MixtureTerm,
    build_mixture,
    load_registry,
    parse_mixture,
)
from navagent.train.run import run_training, train_from_config
from navagent.train.samples import DataRecordError, Sample
from navagent.train.trainer import NavVLMTrainer

__all__ = [
    "CollatorStats",
    "DataRecordError",
    "DatasetEntry",
    "MixtureDataset",
    "MixtureTerm",
    "NavVLMTrainer",
    "Sample",
    "SupervisedCollator",
    "TrainConfig",
    "build_mixture",
    "load_registry",
    "load_train_config",
    "parse_mixture",
    "run_training",
    "save_train_config",
    "train_from_config",
]
