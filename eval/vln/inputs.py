"""Inputs of an evaluation run: where episodes and ground truth come from, and which episodes a shard runs.

An ``EpisodeSource`` (``navagent.envs.episode_sources``: ``R2RSplit``, ``RxRSplit``) gives episodes + ground
truth; ``registry.EPISODE_SOURCES`` names them.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from navagent.envs.base import Episode
from navagent.envs.episode_sources import EpisodeSource, R2RSplit, RxRSplit  # noqa: F401 (re-exported)
from navagent.envs.episodes import GroundTruth
from navagent.eval.vln.results import Shard


def parse_shard(text: str) -> Shard:
    """``"i/n"`` -> ``(i, n)`` with ``0 <= i < n``."""
    parts = text.split("/")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise ValueError(f"shard {text!r}: expected 'i/n' with integers 0 <= i < n, e.g. '0/4'")
    return check_shard((int(parts[0]), int(parts[1])))


def check_shard(shard: Shard) -> Shard:
    index, count = shard
    if not (isinstance(index, int) and isinstance(count, int) and 0 <= index < count):
        raise ValueError(f"shard {shard!r}: expected (i, n) with integers 0 <= i < n")
    return index, count


def shard_from_environment(environ: os._Environ | dict | None = None) -> Shard | None:
    """``(RANK, WORLD_SIZE)`` when launched by torchrun with more than one process, else None."""
    environ = os.environ if environ is None else environ
    world = int(environ.get("WORLD_SIZE", "1"))
    return check_shard((int(environ.get("RANK", "0")), world)) if world > 1 else None


def resolve_shard(shard: str | None) -> Shard | None:
    """``"i/n"`` parsed, or for None torchrun's ``(RANK, WORLD_SIZE)`` (None outside a multi-process launch)."""
    return shard_from_environment() if shard is None else parse_shard(shard)


def select_episodes(
    episodes: Sequence[Episode], max_episodes: int | None, shard: Shard | None
) -> list[Episode]:
    """The first ``max_episodes`` (all when None), then every ``n``-th from ``i`` for ``shard=(i, n)``."""
    if max_episodes is not None and (isinstance(max_episodes, bool) or max_episodes < 1):
        raise ValueError(f"max_episodes must be >= 1, got {max_episodes!r}")
    chosen = list(episodes[:max_episodes])
    return chosen if shard is None else chosen[shard[0] :: shard[1]]


def load_inputs(source: EpisodeSource) -> tuple[list[Episode], dict[str, GroundTruth]]:
    for path in [*source.episode_paths(), *source.gt_paths()]:
        if not Path(path).is_file():
            raise FileNotFoundError(f"{path} not found (episodes of split {source.split!r}: {source!r})")
    return source.load_episodes(), source.load_ground_truth()


def check_truths(episodes: Sequence[Episode], truths: dict[str, GroundTruth], gt_name: str) -> None:
    missing = [e.episode_id for e in episodes if e.episode_id not in truths]
    if missing:
        raise ValueError(f"{gt_name}: no ground truth for {len(missing)} episodes: {', '.join(missing[:10])}")
