"""habitat-lab dataset loader ``RxR-VLN-CE-v0`` for RxR-CE files (``RxR_VLNCE_v0/{split}/{split}_{role}.json.gz``).

habitat-lab's ``R2RVLN-v1`` loader cannot read RxR-CE: the files have no ``instruction_vocab`` and their
instructions carry RxR fields (``instruction_id``, ``language``, ``timed_instruction``, ...). This loader reads
them with navagent's validating reader (``navagent.envs.episodes.load_rxr_episodes``: a malformed field
raises naming the file, episode and field), keeps the configured languages, and builds habitat-lab
``VLNEpisode`` objects exactly as ``R2RVLN-v1`` does (same scene path handling, ``NavigationGoal`` goals).

Dataset config keys (``habitat.dataset``): ``type: RxR-VLN-CE-v0``, ``split``, ``data_path`` with ``{split}``
and ``{role}`` placeholders, ``scenes_dir``, ``content_scenes``, plus ``roles`` (default ``["guide"]``) and
``languages`` (``None`` or ``["*"]``: all; e.g. ``["en-US", "en-IN"]``).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import attr
from habitat.core.dataset import Dataset
from habitat.core.registry import registry
from habitat.datasets.vln.r2r_vln_dataset import DEFAULT_SCENE_PATH_PREFIX
from habitat.tasks.nav.nav import NavigationGoal
from habitat.tasks.vln.vln import InstructionData, VLNEpisode

from navagent.envs.base import Episode
from navagent.envs.episodes import EpisodeFileError, load_rxr_episodes
from navagent.envs.habitat.config import RXR_DATASET_TYPE

if TYPE_CHECKING:
    from omegaconf import DictConfig


@attr.s(auto_attribs=True)
class RxRInstructionData(InstructionData):
    """An RxR instruction: habitat-lab's ``InstructionData`` plus the RxR-CE fields."""

    instruction_id: str | None = None
    language: str | None = None
    annotator_id: str | None = None
    edit_distance: float | None = None
    timed_instruction: list[dict[str, Any]] | None = None
    split: str | None = None


_RXR_INSTRUCTION_FIELDS = tuple(
    field.name for field in attr.fields(RxRInstructionData) if field.name not in ("instruction_text",)
)


def habitat_scene_path(scene_id: str, scenes_dir: str | None) -> str:
    """``scene_id`` joined to ``scenes_dir`` the way habitat-lab's R2RVLN-v1 loader does it."""
    if scenes_dir is None:
        return scene_id
    return os.path.join(scenes_dir, scene_id.removeprefix(DEFAULT_SCENE_PATH_PREFIX))


def to_vln_episode(episode: Episode, scenes_dir: str | None) -> VLNEpisode:
    """A navagent RxR ``Episode`` as a habitat-lab ``VLNEpisode`` (instruction fields not modelled are dropped)."""
    fields = episode.extra.get("instruction", {})
    instruction = RxRInstructionData(
        instruction_text=episode.instruction_text,
        **{name: fields[name] for name in _RXR_INSTRUCTION_FIELDS if name in fields},
    )
    return VLNEpisode(
        episode_id=episode.episode_id,
        scene_id=habitat_scene_path(episode.scene_id, scenes_dir),
        start_position=[float(v) for v in episode.start_position],
        start_rotation=[float(v) for v in episode.start_rotation],
        goals=[NavigationGoal(position=list(goal.position), radius=goal.radius) for goal in episode.goals],
        reference_path=[list(point) for point in episode.reference_path],
        instruction=instruction,
        trajectory_id=episode.trajectory_id,
        info={**episode.extra.get("info", {}), "geodesic_distance": episode.geodesic_distance},
    )


def _languages(config: DictConfig) -> list[str] | None:
    languages = config.get("languages")
    if languages is None:
        return None
    languages = [str(language) for language in languages]
    return None if "*" in languages else languages


@registry.register_dataset(name=RXR_DATASET_TYPE)
class RxRVLNCEDataset(Dataset):
    """RxR-CE episodes of one split, for every configured role, filtered by language and content scenes."""

    episodes: list[VLNEpisode]

    @staticmethod
    def check_config_paths_exist(config: DictConfig) -> bool:
        roles = config.get("roles") or ["guide"]
        return all(
            os.path.exists(config.data_path.format(split=config.split, role=role)) for role in roles
        ) and os.path.exists(config.scenes_dir)

    def __init__(self, config: DictConfig | None = None) -> None:
        self.episodes = []
        if config is None:
            return
        seen: dict[str, str] = {}
        for role in config.get("roles") or ["guide"]:
            path = config.data_path.format(split=config.split, role=role)
            for episode in load_rxr_episodes(path, _languages(config)):
                if episode.episode_id in seen:
                    raise EpisodeFileError(
                        f"{path}: episode {episode.episode_id!r}: field 'episode_id': also in {seen[episode.episode_id]}"
                    )
                seen[episode.episode_id] = path
                self.episodes.append(to_vln_episode(episode, config.scenes_dir))
        self.episodes = list(filter(self.build_content_scenes_filter(config), self.episodes))
