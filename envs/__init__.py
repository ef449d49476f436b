"""Simulators behind one protocol (``NavEnv``), episode files and gymnasium wrappers.

Importing this package registers the gymnasium id ``navagent/BuiltinVLN-v0`` (see ``navagent.envs.gym``).
"""

import gymnasium

from navagent.envs.base import Action, AgentState, Episode, Goal, NavEnv, Observation

BUILTIN_VLN_ENV_ID = "navagent/BuiltinVLN-v0"
if BUILTIN_VLN_ENV_ID not in gymnasium.registry:
    gymnasium.register(id=BUILTIN_VLN_ENV_ID, entry_point="navagent.envs.gym:BuiltinVLNEnv")

__all__ = ["BUILTIN_VLN_ENV_ID", "Action", "AgentState", "Episode", "Goal", "NavEnv", "Observation"]
