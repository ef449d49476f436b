"""Where a split's episodes and ground truth come from: R2R-CE or RxR-CE files under a dataset root.

An ``EpisodeSource`` names its files and reads them with the validating readers of ``navagent.envs.episodes``:
``R2RSplit`` (``{episodes_dir}/{split}/{split}.json.gz`` and its ``_gt`` file) and ``RxRSplit``
(``{split}_{role}.json.gz`` per role, language filter). The evaluation runner iterates over a source's
episodes (``navagent.eval.vln.registry.EPISODE_SOURCES`` names them) and the Habitat backend's config reads its
episodes through one (``navagent.envs.habitat.HabitatEnvConfig.episode_source``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from navagent.envs.base import Episode
from navagent.envs.episodes import (
    GroundTruth,
    load_episodes,
    load_gt,
    load_rxr_episodes,
    load_rxr_gt,
    r2r_episodes_path,
    r2r_gt_path,
    rxr_episodes_path,
    rxr_gt_path,
)


class EpisodeSource(Protocol):
    """Episodes and their ground truth (e.g. ``R2RSplit``, ``RxRSplit``, ``HabitatEnvConfig``)."""

    split: str

    def episode_paths(self) -> list[Path]: ...

    def gt_paths(self) -> list[Path]: ...

    def load_episodes(self) -> list[Episode]: ...

    def load_ground_truth(self) -> dict[str, GroundTruth]: ...


@dataclass(frozen=True)
class R2RSplit:
    """The R2R-CE files of ``split`` under ``episodes_dir``."""

    episodes_dir: str | os.PathLike
    split: str

    def episode_paths(self) -> list[Path]:
        return [r2r_episodes_path(self.episodes_dir, self.split)]

    def gt_paths(self) -> list[Path]:
        return [r2r_gt_path(self.episodes_dir, self.split)]

    def load_episodes(self) -> list[Episode]:
        return load_episodes(self.episode_paths()[0])

    def load_ground_truth(self) -> dict[str, GroundTruth]:
        return load_gt(self.gt_paths()[0])


@dataclass(frozen=True)
class RxRSplit:
    """The RxR-CE files of ``split`` under ``episodes_dir``, one per role (``guide`` / ``follower``), filtered
    to ``languages`` (None: all)."""

    episodes_dir: str | os.PathLike
    split: str
    languages: tuple[str, ...] | None = None
    roles: tuple[str, ...] = ("guide",)

    def episode_paths(self) -> list[Path]:
        return [rxr_episodes_path(self.episodes_dir, self.split, role) for role in self.roles]

    def gt_paths(self) -> list[Path]:
        return [rxr_gt_path(self.episodes_dir, self.split, role) for role in self.roles]

    def load_episodes(self) -> list[Episode]:
        return [e for path in self.episode_paths() for e in load_rxr_episodes(path, self.languages)]

    def load_ground_truth(self) -> dict[str, GroundTruth]:
        return {key: truth for path in self.gt_paths() for key, truth in load_rxr_gt(path).items()}
