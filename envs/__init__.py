"""Simulators behind one protocol (``NavEnv``), episode files and gymnasium wrappers."""

from navagent.envs.base import Action, AgentState, Episode, Goal, NavEnv, Observation

__all__ = ["Action", "AgentState", "Episode", "Goal", "NavEnv", "Observation"]
