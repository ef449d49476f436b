"""Policies the VLN evaluation runner can drive: the navigation model and VLN-CE's non-learning baselines.

Every policy answers a batch of observations (one per active environment) with one ``Decision`` each (``navagent.agent.decision``), so the
runner makes one call per step over all active environments (for the model: one batched ``generate``).

* ``AgentPolicy``: the VLM agent (``navagent.agent.policy.NavAgent``); ``Decision.text`` is the raw model
  output whenever the model was queried at that step, ``valid`` False when it was unparseable.
* ``RandomPolicy``: VLN-CE's ``RandomAgent``: each step samples STOP / FORWARD / LEFT / RIGHT with the
  oracle action distribution of R2R-CE train, ``[0.02, 0.68, 0.15, 0.15]``.
* ``ForwardPolicy``: VLN-CE's ``HandcraftedAgent``: turn right a random 0..24 times (a random heading), move
  forward 37 times (the 9.25 m mean oracle path of R2R-CE train), STOP.
* ``OraclePolicy``: the shortest-path follower to the nearest goal on the built-in scene (upper bound).

Randomness is per episode: a baseline's generator is seeded from ``(seed, episode_id)`` at ``reset``, so an
episode's actions do not depend on which environment runs it, in which order, or whether a run was resumed.
"""

from __future__ import annotations

import logging
import math
import os
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

import navagent
from navagent.agent.decision import Decision
from navagent.envs.base import Action, AgentState, Episode, Observation

logger = logging.getLogger(__name__)

DEFAULT_CHECKPOINT = Path(navagent.__file__).resolve().parent.parent / "checkpoints" / "navagent-default"
RANDOM_ACTION_PROBABILITIES = (0.02, 0.68, 0.15, 0.15)  # STOP, MOVE_FORWARD, TURN_LEFT, TURN_RIGHT
HANDCRAFTED_FORWARD_STEPS = 37
HANDCRAFTED_MAX_TURNS = 24  # 360 / 15


@runtime_checkable
class Policy(Protocol):
    """What the runner drives. ``name`` identifies the policy in results; ``needs_rgb`` tells the runner
    whether the simulators must render (baselines do not look at the image)."""

    name: str
    needs_rgb: bool

    def reset(self, env_index: int, episode: Episode) -> None: ...

    def act(self, observations: list[Observation], env_indices: list[int]) -> list[Decision]: ...


def _episode_rng(seed: int, episode_id: str) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(episode_id.encode("utf-8"))])


def _check_batch(observations: Sequence[Observation], env_indices: Sequence[int]) -> None:
    if len(observations) != len(env_indices):
        raise ValueError(f"act: {len(observations)} observations but {len(env_indices)} env indices")


class AgentPolicy:
    """The VLM navigation agent; one batched ``NavAgent.act`` per runner step."""

    needs_rgb = True

    def __init__(self, agent, name: str = "agent") -> None:
        self.agent = agent
        self.name = name

    def reset(self, env_index: int, episode: Episode) -> None:
        self.agent.reset(env_index)

    def act(self, observations: list[Observation], env_indices: list[int]) -> list[Decision]:
        return self.agent.act(observations, env_indices=env_indices)


class RandomPolicy:
    """VLN-CE's random baseline: actions drawn from ``probabilities`` (STOP, FORWARD, LEFT, RIGHT)."""

    needs_rgb = False

    def __init__(self, seed: int = 0, probabilities: Sequence[float] = RANDOM_ACTION_PROBABILITIES) -> None:
        probs = np.asarray(probabilities, dtype=np.float64)
        if probs.shape != (len(Action),) or (probs < 0).any() or not math.isclose(probs.sum(), 1.0):
            raise ValueError(f"probabilities: expected {len(Action)} non-negative numbers summing to 1")
        self.seed, self.probabilities = int(seed), probs
        self.name = f"random(seed={self.seed})"
        self._rngs: dict[int, np.random.Generator] = {}

    def reset(self, env_index: int, episode: Episode) -> None:
        self._rngs[env_index] = _episode_rng(self.seed, episode.episode_id)

    def act(self, observations: list[Observation], env_indices: list[int]) -> list[Decision]:
        _check_batch(observations, env_indices)
        return [Decision(int(self._rngs[i].choice(len(Action), p=self.probabilities))) for i in env_indices]


class ForwardPolicy:
    """VLN-CE's hand-crafted baseline: a random number (0..24) of right turns, ``forward_steps`` forward
    steps, STOP."""

    needs_rgb = False

    def __init__(self, seed: int = 0, forward_steps: int = HANDCRAFTED_FORWARD_STEPS) -> None:
        if forward_steps < 0:
            raise ValueError(f"forward_steps must be >= 0, got {forward_steps}")
        self.seed, self.forward_steps = int(seed), int(forward_steps)
        self.name = f"forward(seed={self.seed}, steps={self.forward_steps})"
        self._plans: dict[int, list[int]] = {}

    def reset(self, env_index: int, episode: Episode) -> None:
        turns = int(_episode_rng(self.seed, episode.episode_id).integers(0, HANDCRAFTED_MAX_TURNS + 1))
        plan = [Action.TURN_RIGHT] * turns + [Action.MOVE_FORWARD] * self.forward_steps + [Action.STOP]
        self._plans[env_index] = [int(a) for a in reversed(plan)]  # pop() from the end

    def act(self, observations: list[Observation], env_indices: list[int]) -> list[Decision]:
        _check_batch(observations, env_indices)
        return [Decision(self._plans[i].pop() if self._plans[i] else int(Action.STOP)) for i in env_indices]


class OraclePolicy:
    """Shortest-path follower to the episode's nearest goal on the built-in simulator's scenes.

    The scenes (planner + motion model) are built here from the scene ids with the simulator's settings
    (``sim_config``), so the follower plans on exactly the geometry the environments move in."""

    needs_rgb = False

    def __init__(self, sim_config=None, stop_distance: float = 0.2) -> None:
        from navagent.envs.builtin.sim import BuiltinNavEnv, SimConfig

        base = sim_config or SimConfig()
        self._scenes = BuiltinNavEnv(SimConfig(**{**base.__dict__, "render": False}))
        self.stop_distance = float(stop_distance)
        self.name = f"oracle(stop_distance={self.stop_distance})"
        self._followers: dict[int, tuple[object, np.ndarray]] = {}

    def reset(self, env_index: int, episode: Episode) -> None:
        from navagent.envs.builtin.follower import ShortestPathFollower

        scene = self._scenes.load_scene(episode.scene_id)
        start = np.asarray(episode.start_position, dtype=np.float64)
        goals = [np.asarray(goal.position, dtype=np.float64) for goal in episode.goals]
        goal = min(goals, key=lambda g: scene.planner.distance_to_goal(start, g))
        follower = ShortestPathFollower(scene.planner, scene.motion, stop_distance=self.stop_distance)
        self._followers[env_index] = (follower, goal)

    def act(self, observations: list[Observation], env_indices: list[int]) -> list[Decision]:
        _check_batch(observations, env_indices)
        decisions = []
        for observation, env_index in zip(observations, env_indices):
            follower, goal = self._followers[env_index]
            state = AgentState(np.asarray(observation.position, dtype=np.float64), float(observation.heading))
            try:
                action = follower.next_action(state, goal)
            except ValueError as error:  # goal unreachable from here: nothing better to do than stop
                logger.warning("oracle: episode %s: %s; stopping", observation.episode_id, error)
                action = Action.STOP
            decisions.append(Decision(int(action)))
        return decisions


def resolve_checkpoint(checkpoint: str | Path | None, default: Path = DEFAULT_CHECKPOINT) -> Path:
    """The checkpoint directory to load: ``checkpoint``, or the shipped default when None."""
    if checkpoint is not None:
        path = Path(checkpoint)
        if not path.is_dir():
            raise FileNotFoundError(f"checkpoint {path} is not a directory")
        return path
    if not default.is_dir():
        raise FileNotFoundError(
            f"no checkpoint given and the default checkpoint {default} is missing (it ships in the "
            "repository's checkpoints/ folder: run from a git checkout, or pass --checkpoint DIR (a navagent or "
            "VILA/NaVILA model) or --policy random (or another baseline))"
        )
    return default


def agent_device(device: str | None) -> str:
    """``device``, or ``cuda:$LOCAL_RANK`` (torchrun: one GPU per process; else ``cuda:0``) when CUDA is
    available, else the CPU."""
    if device is not None:
        return device
    import torch

    return f"cuda:{os.environ.get('LOCAL_RANK', '0')}" if torch.cuda.is_available() else "cpu"


def agent_dtype(checkpoint: str | Path | None, device: str | None, dtype: str | None) -> str | None:
    """The dtype the agent is loaded in: ``dtype`` (float32 / float16 / bfloat16), else the default of
    ``navagent.model.loading.default_dtype`` (float32 on the CPU, float16 for VILA directories on a GPU,
    None: the stored dtype). Recorded in run.json."""
    from navagent.model.loading import default_dtype, parse_dtype

    if dtype is not None:
        return str(parse_dtype(dtype)).removeprefix("torch.")
    chosen = default_dtype(resolve_checkpoint(checkpoint), agent_device(device))
    return None if chosen is None else str(chosen).removeprefix("torch.")


def load_agent_policy(
    checkpoint: str | Path | None,
    *,
    device: str | None = None,
    dtype: str | None = None,
    agent_options: dict | None = None,
) -> AgentPolicy:
    """The agent loaded from a checkpoint directory (None: the shipped default) in ``agent_dtype``.
    ``agent_options`` go to ``NavAgent`` (frames per decision default to the model config's
    ``num_video_frames``); ``device``: see ``agent_device``. A directory that is not a navagent/VILA model
    raises ``CheckpointFormatError``."""
    from navagent.agent.policy import NavAgent
    from navagent.model import load_model_and_processor
    from navagent.model.loading import parse_dtype

    directory = resolve_checkpoint(checkpoint).resolve()
    device = agent_device(device)
    chosen = agent_dtype(directory, device, dtype)
    model, processor = load_model_and_processor(
        directory, dtype=None if chosen is None else parse_dtype(chosen), device=device
    )
    return AgentPolicy(NavAgent(model, processor, **(agent_options or {})), name=f"checkpoint:{directory}")
