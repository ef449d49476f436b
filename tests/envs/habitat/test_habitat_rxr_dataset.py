"""The ``RxR-VLN-CE-v0`` loader reads generated RxR-CE files (languages, roles) into habitat-lab's Env."""

from __future__ import annotations

import dataclasses

import pytest
from habitat.datasets import make_dataset
from habitat.tasks.nav.nav import NavigationGoal
from habitat.tasks.vln.vln import VLNEpisode
from habitat_rollouts import oracle_policy, rollout, scene_of

from navagent.envs.base import Episode
from navagent.envs.episodes import (
    EpisodeFileError,
    episode_to_json,
    rxr_episodes_path,
)
from navagent.envs.habitat import (
    RXR_DATASET_TYPE,
    HabitatEnvConfig,
    RxRInstructionData,
    habitat_lab_config,
    make_habitat_env,
)
from navagent.fileio import gzip_bytes, json_bytes, write_bytes_atomic

SPLIT = "val_seen"
LANGUAGES = ("en-US", "hi-IN", "te-IN")


def as_rxr(episode: Episode, episode_id: int, language: str) -> Episode:
    """An R2R-style built-in episode re-expressed with RxR-CE's instruction fields (no tokens, no vocab)."""
    words = episode.instruction_text.split()
    instruction = {
        "instruction_id": str(episode_id),
        "language": language,
        "annotator_id": "7",
        "edit_distance": 0.25,
        "timed_instruction": [
            {"word": w, "start_time": float(i), "end_time": i + 0.5} for i, w in enumerate(words)
        ],
        "split": SPLIT,
    }
    return dataclasses.replace(
        episode,
        episode_id=str(episode_id),
        instruction_tokens=(),
        extra={**episode.extra, "instruction": instruction},
    )


def write_rxr(root, role: str, episodes: list[Episode]) -> None:
    """An RxR-CE file: ``{"episodes": [...]}`` and nothing else, gzipped."""
    path = rxr_episodes_path(root, SPLIT, role)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(path, gzip_bytes(json_bytes({"episodes": [episode_to_json(e) for e in episodes]})))


@pytest.fixture(scope="module")
def rxr_root(builtin_r2r, tmp_path_factory):
    _, episodes, _ = builtin_r2r
    root = tmp_path_factory.mktemp("rxr")
    write_rxr(root, "guide", [as_rxr(e, 100 + i, LANGUAGES[i]) for i, e in enumerate(episodes)])
    write_rxr(root, "follower", [as_rxr(e, 200 + i, LANGUAGES[0]) for i, e in enumerate(episodes)])
    return root


def rxr_config(root, **overrides) -> HabitatEnvConfig:
    return HabitatEnvConfig(episodes_dir=str(root), split=SPLIT, simulator="builtin", **overrides)


def load(config: HabitatEnvConfig):
    return make_dataset(RXR_DATASET_TYPE, config=habitat_lab_config(config).habitat.dataset)


def test_language_filter_and_rxr_fields(rxr_root, builtin_r2r):
    _, r2r_episodes, _ = builtin_r2r
    config = rxr_config(rxr_root, languages=("hi-IN", "te-IN"), scenes_dir="data/scene_datasets")
    assert config.resolved_dataset == "rxr"
    dataset = load(config)
    assert [e.episode_id for e in dataset.episodes] == ["101", "102"]
    episode = dataset.episodes[0]
    source = r2r_episodes[1]
    assert isinstance(episode, VLNEpisode) and isinstance(episode.instruction, RxRInstructionData)
    assert episode.instruction.language == "hi-IN" and episode.instruction.instruction_id == "101"
    assert episode.instruction.instruction_text == source.instruction_text
    assert episode.instruction.timed_instruction[0]["word"] == source.instruction_text.split()[0]
    assert episode.scene_id == f"data/scene_datasets/{source.scene_id}"
    assert (
        episode.start_position == list(source.start_position)
        and episode.trajectory_id == source.trajectory_id
    )
    assert isinstance(episode.goals[0], NavigationGoal) and episode.goals[0].radius == 3.0
    assert episode.info["geodesic_distance"] == source.geodesic_distance
    assert [e.episode_id for e in config.load_episodes()] == ["101", "102"]


def test_roles_and_all_languages(rxr_root):
    both = load(rxr_config(rxr_root, roles=("guide", "follower")))
    assert [e.episode_id for e in both.episodes] == ["100", "101", "102", "200", "201", "202"]
    english = load(rxr_config(rxr_root, roles=("guide", "follower"), languages=("en-US",)))
    assert [e.episode_id for e in english.episodes] == ["100", "200", "201", "202"]


def test_bad_files_are_reported_with_file_and_field(rxr_root, builtin_r2r, tmp_path):
    with pytest.raises(EpisodeFileError, match=r"_guide\.json\.gz: languages \['fr-FR'\] not in the file"):
        load(rxr_config(rxr_root, languages=("fr-FR",)))
    _, episodes, _ = builtin_r2r
    write_rxr(tmp_path, "guide", [as_rxr(episodes[0], 5, "en-US")])
    write_rxr(tmp_path, "follower", [as_rxr(episodes[1], 5, "en-US")])
    with pytest.raises(EpisodeFileError, match="episode '5': field 'episode_id': also in"):
        load(rxr_config(tmp_path, roles=("guide", "follower")))
    broken = dataclasses.replace(episodes[0], extra={"instruction": {"instruction_id": "1"}})
    write_rxr(tmp_path, "guide", [broken])
    with pytest.raises(EpisodeFileError, match="field 'instruction.language'"):
        load(rxr_config(tmp_path))


def test_oracle_runs_an_rxr_episode_through_habitat_lab(rxr_root):
    config = rxr_config(rxr_root, languages=("te-IN",))
    (episode,) = config.load_episodes()
    with make_habitat_env(config) as env:
        assert type(env.habitat_env._dataset).__name__ == "RxRVLNCEDataset"
        record = rollout(env, episode, oracle_policy(scene_of(episode), episode))
        assert record.stopped and env.habitat_metrics()["success"] == 1.0
