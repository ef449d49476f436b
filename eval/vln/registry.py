"""The registries of ``navagent eval vln``: plain dicts built here, keyed by the names ``EvalConfig`` uses.

* ``POLICIES``: name -> ``(config) -> Policy`` (``checkpoint``, ``random``, ``forward``, ``oracle``).
* ``SIMULATORS``: name -> ``(config, render) -> Simulator`` (a picklable env factory for ``VectorNavEnv`` +
  the settings run.json records); ``habitat`` imports habitat-lab only when used.
* ``EPISODE_SOURCES``: name -> ``(config) -> EpisodeSource`` (``r2r``: R2R-CE, ``rxr``: RxR-CE).

The CLI's choice lists are these keys.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from navagent.agent.actions import FORWARD_STEP_CM, TURN_STEP_DEGREES
from navagent.envs.base import NavEnv
from navagent.eval.vln.inputs import EpisodeSource, R2RSplit, RxRSplit
from navagent.eval.vln.policies import (
    ForwardPolicy,
    OraclePolicy,
    Policy,
    RandomPolicy,
    load_agent_policy,
)

if TYPE_CHECKING:
    from navagent.envs.builtin.sim import SimConfig
    from navagent.eval.vln.config import EvalConfig

_NOT_RESULT_SETTINGS = ("render", "device_index", "gpu_device_id")  # rendering and GPU choice


@dataclass(frozen=True)
class Simulator:
    """A picklable zero-argument env factory and the simulator settings that determine results. The
    settings' ``forward_step`` (m) and ``turn_angle_deg`` must be the agent's step units
    (``navagent.agent.actions``: 25 cm, 15°), else ``ValueError`` when the evaluation starts."""

    factory: Callable[[], NavEnv]
    settings: dict[str, Any]

    def __post_init__(self) -> None:
        forward_cm = round(100.0 * float(self.settings["forward_step"]), 6)
        turn_deg = float(self.settings["turn_angle_deg"])
        if (forward_cm, turn_deg) != (FORWARD_STEP_CM, TURN_STEP_DEGREES):
            raise ValueError(
                f"simulator steps {forward_cm:g} cm / {turn_deg:g} deg differ from the agent's "
                f"{FORWARD_STEP_CM} cm / {TURN_STEP_DEGREES} deg (navagent.agent.actions): set the simulator's "
                "forward_step / turn_angle_deg to the agent's units"
            )


def _settings(config: Any) -> dict[str, Any]:
    """A simulator config dataclass as JSON values, without the rendering / GPU choice."""
    settings = {k: v for k, v in asdict(config).items() if k not in _NOT_RESULT_SETTINGS}
    return json.loads(json.dumps(settings, default=os.fspath, allow_nan=False))


def builtin_sim_config(config: EvalConfig, render: bool = True) -> SimConfig:
    """The built-in simulator's settings of ``config`` (VLN-CE defaults for the rest)."""
    from navagent.envs.builtin.sim import SimConfig

    sim = config.sim
    return SimConfig(width=sim.width, height=sim.height, max_steps=sim.max_steps, render=render)


def _builtin(config: EvalConfig, render: bool) -> Simulator:
    from navagent.envs.builtin.sim import BuiltinNavEnv

    sim_config = builtin_sim_config(config, render)
    return Simulator(functools.partial(BuiltinNavEnv, sim_config), _settings(sim_config))


def _habitat(config: EvalConfig, render: bool) -> Simulator:
    from navagent.envs.habitat import HabitatEnvConfig, make_habitat_env  # ImportError with an install hint

    if config.sim.width != config.sim.height:
        raise ValueError(f"sim: habitat renders square views, got {config.sim.width}x{config.sim.height}")
    languages = config.episodes.languages
    habitat_config = HabitatEnvConfig(
        episodes_dir=str(config.episodes.dir),
        split=config.episodes.split,
        scenes_dir=config.sim.scenes_dir,
        dataset=config.episodes.source,
        languages=tuple(languages) if languages else None,
        simulator=config.sim.habitat_simulator,
        rgb_size=config.sim.width,
        max_steps=config.sim.max_steps,
    )
    return Simulator(functools.partial(make_habitat_env, habitat_config), _settings(habitat_config))


def _r2r(config: EvalConfig) -> EpisodeSource:
    return R2RSplit(_episodes_dir(config), config.episodes.split)


def _rxr(config: EvalConfig) -> EpisodeSource:
    languages = config.episodes.languages
    return RxRSplit(_episodes_dir(config), config.episodes.split, tuple(languages) if languages else None)


def _episodes_dir(config: EvalConfig) -> str:
    if config.episodes.dir is None:
        raise ValueError("episodes.dir: give the episode directory (R2R-CE / RxR-CE layout)")
    return config.episodes.dir


POLICIES: dict[str, Callable[[EvalConfig], Policy]] = {
    "checkpoint": lambda c: load_agent_policy(
        c.checkpoint, device=c.device, dtype=c.dtype, agent_options=c.agent
    ),
    "random": lambda c: RandomPolicy(c.seed),
    "forward": lambda c: ForwardPolicy(c.seed),
    "oracle": lambda c: OraclePolicy(builtin_sim_config(c, render=False)),
}
SIMULATORS: dict[str, Callable[[EvalConfig, bool], Simulator]] = {"builtin": _builtin, "habitat": _habitat}
EPISODE_SOURCES: dict[str, Callable[[EvalConfig], EpisodeSource]] = {"r2r": _r2r, "rxr": _rxr}
