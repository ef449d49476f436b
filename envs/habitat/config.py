"""``HabitatEnvConfig``: VLN-CE settings for habitat-lab, and the habitat-lab config they compose to.

The habitat-lab config starts from habitat-lab's own ``benchmark/nav/vln_r2r.yaml`` (VLN-v0 task with the
STOP / MOVE_FORWARD / TURN_LEFT / TURN_RIGHT actions, DistanceToGoal / Success / SPL measures, instruction
sensor, R2RVLN-v1 dataset) and sets VLN-CE's R2R values on it: forward step 0.25 m, turn 15 degrees, 500 steps,
sliding on, RGB 224 x 224 (or 512) with HFOV 90 at 1.25 m, agent radius 0.1 m and height 1.5 m, and success
distance 3.0 m (habitat-lab's ``vln_r2r.yaml`` leaves it at 0.2 m).

Episode files (``episodes_dir`` is the dataset root, e.g. ``data/datasets/R2R_VLNCE_v1-3_preprocessed``):
R2R-CE ``{episodes_dir}/{split}/{split}.json.gz`` read by habitat-lab's ``R2RVLN-v1`` loader; RxR-CE
``{episodes_dir}/{split}/{split}_{role}.json.gz`` read by this package's ``RxR-VLN-CE-v0`` loader
(``navagent.envs.habitat.rxr_dataset``), which keeps ``languages`` only.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from navagent.envs.base import SUCCESS_DISTANCE, Episode
from navagent.envs.episode_sources import R2RSplit, RxRSplit
from navagent.envs.episodes import GroundTruth, r2r_episodes_path, rxr_episodes_path

if TYPE_CHECKING:
    from omegaconf import DictConfig

VLN_BENCHMARK_CONFIG = "benchmark/nav/vln_r2r.yaml"
R2R_DATASET_TYPE = "R2RVLN-v1"  # habitat-lab's own loader
RXR_DATASET_TYPE = "RxR-VLN-CE-v0"  # navagent.envs.habitat.rxr_dataset
HABITAT_SIM_TYPE = "Sim-v0"  # habitat-lab's habitat-sim wrapper
BUILTIN_SIM_TYPE = "NavagentBuiltinSim-v0"  # navagent.envs.habitat.builtin_sim
SIMULATORS = {"habitat": HABITAT_SIM_TYPE, "builtin": BUILTIN_SIM_TYPE}
DATASETS = ("auto", "r2r", "rxr")
RGB_SIZES = (224, 512)
RXR_ROLES = ("guide", "follower")
TASK_ACTIONS = ("stop", "move_forward", "turn_left", "turn_right")  # = navagent.envs.base.Action ids 0..3


@dataclass(frozen=True)
class HabitatEnvConfig:
    """Everything a worker process needs to build a habitat-lab VLN-CE environment (picklable).

    episodes_dir: dataset root holding ``{split}/{split}.json.gz`` (R2R-CE) or ``{split}/{split}_{role}.json.gz``
    (RxR-CE). dataset: ``"r2r"``, ``"rxr"`` or ``"auto"`` (R2R-CE when the R2R file exists, else RxR-CE).
    scenes_dir: habitat's scene root; an episode's ``scene_id`` (``mp3d/{scan}/{scan}.glb``) is joined to it.
    languages / roles: RxR-CE only (``None`` keeps every language). simulator: ``"habitat"`` (habitat-sim)
    or ``"builtin"`` (the built-in simulator registered in habitat-lab; scenes come from the episodes'
    ``builtin/house_*`` ids and ``scenes_dir`` is unused). gpu_device_id: the GPU habitat-sim renders on
    (EGL device for the built-in simulator); ``None`` takes ``LOCAL_RANK`` (one device per torchrun rank), else 0.
    """

    episodes_dir: str
    split: str = "val_unseen"
    scenes_dir: str = "data/scene_datasets"
    dataset: str = "auto"
    languages: tuple[str, ...] | None = None
    roles: tuple[str, ...] = ("guide",)
    simulator: str = "habitat"
    rgb_size: int = 224
    hfov_deg: int = 90
    depth: bool = False
    gpu_device_id: int | None = None
    success_distance: float = SUCCESS_DISTANCE
    max_steps: int = 500
    forward_step: float = 0.25
    turn_angle_deg: int = 15
    agent_radius: float = 0.1
    agent_height: float = 1.5
    camera_height: float = 1.25

    def __post_init__(self) -> None:
        if self.simulator not in SIMULATORS:
            raise ValueError(f"simulator must be one of {sorted(SIMULATORS)}, got {self.simulator!r}")
        if self.dataset not in DATASETS:
            raise ValueError(f"dataset must be one of {DATASETS}, got {self.dataset!r}")
        if self.rgb_size not in RGB_SIZES:
            raise ValueError(f"rgb_size must be one of {RGB_SIZES} (VLN-CE / NaVILA), got {self.rgb_size}")
        if isinstance(self.languages, str):
            raise TypeError(f"languages must be a tuple of language codes, got the string {self.languages!r}")
        if not self.roles or any(role not in RXR_ROLES for role in self.roles):
            raise ValueError(f"roles must be a non-empty subset of {RXR_ROLES}, got {self.roles!r}")
        if not self.split:
            raise ValueError("split must be a non-empty string")
        for name in ("success_distance", "forward_step", "agent_radius", "agent_height", "camera_height"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)!r}")
        if self.max_steps < 1 or not 0 < self.turn_angle_deg <= 180 or not 0 < self.hfov_deg < 180:
            raise ValueError(
                f"need max_steps >= 1, 0 < turn_angle_deg <= 180, 0 < hfov_deg < 180; got {self.max_steps}, "
                f"{self.turn_angle_deg}, {self.hfov_deg}"
            )
        if self.gpu_device_id is not None and self.gpu_device_id < 0:
            raise ValueError(f"gpu_device_id must be >= 0, got {self.gpu_device_id}")

    # ---------------------------------------------------------------------------------- episode files
    @property
    def resolved_dataset(self) -> str:
        """``"r2r"`` or ``"rxr"``; ``"auto"`` looks at which file exists (FileNotFoundError naming both)."""
        if self.dataset != "auto":
            return self.dataset
        r2r = r2r_episodes_path(self.episodes_dir, self.split)
        if r2r.is_file():
            return "r2r"
        rxr = rxr_episodes_path(self.episodes_dir, self.split, self.roles[0])
        if rxr.is_file():
            return "rxr"
        raise FileNotFoundError(
            f"no R2R-CE file {r2r} and no RxR-CE file {rxr}: check episodes_dir and split"
        )

    def episode_source(self) -> R2RSplit | RxRSplit:
        """The episode files this config reads: R2R-CE's, or RxR-CE's of every role filtered to
        ``languages`` (with navagent's validating readers; the habitat-lab loader applies the same filter)."""
        if self.resolved_dataset == "r2r":
            return R2RSplit(self.episodes_dir, self.split)
        return RxRSplit(self.episodes_dir, self.split, self.languages, self.roles)

    def episode_paths(self) -> list[Path]:
        return self.episode_source().episode_paths()

    def load_episodes(self) -> list[Episode]:
        """What the evaluation runner iterates over and passes to ``reset``."""
        return self.episode_source().load_episodes()

    def gt_paths(self) -> list[Path]:
        return self.episode_source().gt_paths()

    def load_ground_truth(self) -> dict[str, GroundTruth]:
        """``{episode_id: GroundTruth}`` (nDTW's reference paths); R2R-CE's file must have ``actions`` /
        ``forward_steps``, RxR-CE's only ``locations``."""
        return self.episode_source().load_ground_truth()

    def resolved_gpu_device_id(self) -> int:
        if self.gpu_device_id is not None:
            return self.gpu_device_id
        return int(os.environ.get("LOCAL_RANK", "0"))


def _data_path_template(config: HabitatEnvConfig) -> str:
    root = str(config.episodes_dir).rstrip("/")
    if config.resolved_dataset == "r2r":
        return f"{root}/{{split}}/{{split}}.json.gz"
    return f"{root}/{{split}}/{{split}}_{{role}}.json.gz"


def habitat_lab_config(config: HabitatEnvConfig) -> DictConfig:
    """The habitat-lab config (read-only ``DictConfig`` with a ``habitat`` node) for ``config``."""
    from habitat.config import read_write
    from habitat.config.default import get_config
    from omegaconf import open_dict

    depth_sensor = "habitat.simulator.agents.main_agent.sim_sensors.depth_sensor"
    composed = get_config(VLN_BENCHMARK_CONFIG, overrides=[] if config.depth else [f"~{depth_sensor}"])
    with read_write(composed):
        habitat = composed.habitat
        habitat.environment.max_episode_steps = config.max_steps
        habitat.environment.iterator_options.shuffle = False  # the env sets each episode explicitly
        habitat.environment.iterator_options.max_scene_repeat_steps = -1

        simulator = habitat.simulator
        simulator.type = SIMULATORS[config.simulator]
        simulator.forward_step_size = config.forward_step
        simulator.turn_angle = config.turn_angle_deg
        simulator.habitat_sim_v0.allow_sliding = True
        simulator.habitat_sim_v0.gpu_device_id = config.resolved_gpu_device_id()
        agent = simulator.agents.main_agent
        agent.radius = config.agent_radius
        agent.height = config.agent_height
        camera = {
            "width": config.rgb_size,
            "height": config.rgb_size,
            "hfov": config.hfov_deg,
            "position": [0.0, config.camera_height, 0.0],
        }
        agent.sim_sensors.rgb_sensor.update(camera)
        if config.depth:  # metres, like navagent's Observation.depth (VLN-CE normalises to [0, 1] instead)
            agent.sim_sensors.depth_sensor.update(
                {**camera, "min_depth": 0.0, "max_depth": 10.0, "normalize_depth": False}
            )

        habitat.task.measurements.success.success_distance = config.success_distance

        dataset = habitat.dataset
        dataset.type = R2R_DATASET_TYPE if config.resolved_dataset == "r2r" else RXR_DATASET_TYPE
        dataset.split = config.split
        dataset.data_path = _data_path_template(config)
        dataset.scenes_dir = config.scenes_dir
        if config.resolved_dataset == "rxr":
            with open_dict(dataset):  # keys of the RxR loader, not in habitat-lab's DatasetConfig schema
                dataset.languages = None if config.languages is None else list(config.languages)
                dataset.roles = list(config.roles)
    return composed
