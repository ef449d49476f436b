"""Habitat backend: VLN-CE in habitat-lab 0.3.x / habitat-sim 0.3.x behind navagent's ``NavEnv`` protocol.

Optional: importing this package raises ``ImportError`` with an install hint when habitat-lab (or its native
half, habitat-sim / magnum) is missing. Importing it registers, in habitat-lab's registry, the ``RxR-VLN-CE-v0``
dataset loader and the built-in simulator ``NavagentBuiltinSim-v0``.

Use ``make_habitat_env(HabitatEnvConfig(episodes_dir=..., split=..., scenes_dir=...))`` in the process that
steps the environment. See docs/HABITAT.md.
"""

from navagent.envs.habitat.dependency import require_habitat_lab

HABITAT_LAB_VERSION = require_habitat_lab()

from navagent.envs.habitat.builtin_sim import BuiltinHabitatSim, builtin_scene_id
from navagent.envs.habitat.config import (
    BUILTIN_SIM_TYPE,
    HABITAT_SIM_TYPE,
    R2R_DATASET_TYPE,
    RXR_DATASET_TYPE,
    HabitatEnvConfig,
    habitat_lab_config,
)
from navagent.envs.habitat.nav_env import HabitatNavEnv, make_habitat_env
from navagent.envs.habitat.rxr_dataset import RxRInstructionData, RxRVLNCEDataset, to_vln_episode

__all__ = [
    "BUILTIN_SIM_TYPE",
    "HABITAT_LAB_VERSION",
    "HABITAT_SIM_TYPE",
    "R2R_DATASET_TYPE",
    "RXR_DATASET_TYPE",
    "BuiltinHabitatSim",
    "HabitatEnvConfig",
    "HabitatNavEnv",
    "RxRInstructionData",
    "RxRVLNCEDataset",
    "builtin_scene_id",
    "habitat_lab_config",
    "make_habitat_env",
    "to_vln_episode",
]
