"""One episode's rollout (what the runner collects step by step) and its JSON record.

A record is one line of the results file::

    {"episode_id": "12", "scene_id": ..., "trajectory_id": 4,
     "metrics": {"ne", "success", "oracle_success", "spl", "tl", "ndtw", "sdtw", "steps", "oracle_ne"},
     "trajectory": [{"position": [x, y, z], "heading": h, "stop": false}, ...],   # VLN-CE r2r format
     "distances_to_goal": [d, ...],            # geodesic metres at each trajectory entry (null: unreachable)
     "actions": [1, 2, ..., 0],                # low-level actions sent to the simulator
     "model_queries": 7, "invalid_outputs": 1,
     "outputs": [{"step": 0, "text": "The next action is ...", "valid": true}, ...],   # raw model texts
     "run_id": ..., "finished_s": 12.3}        # which invocation finished it, seconds into its loop

The trajectory holds the state at reset, then one entry after every action, exactly as VLN-CE's r2r
inference output, so ``navagent eval score`` on it reproduces the metrics. Non-finite distances are stored as
null and read back as ``inf``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from navagent.envs.base import Action, Episode, Observation
from navagent.envs.episodes import GroundTruth
from navagent.envs.vector import EnvStep
from navagent.eval.vln.policies import Decision
from navagent.eval.vln_metrics import DtwMode, EpisodeMetrics, episode_metrics


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _none_to_inf(value: float | None) -> float:
    return math.inf if value is None else float(value)


@dataclass
class EpisodeRollout:
    """Everything recorded while one episode runs; positions (3,) and headings as plain floats."""

    episode: Episode
    observation: Observation  # the latest one, what the policy sees next
    positions: list[list[float]] = field(default_factory=list)
    headings: list[float] = field(default_factory=list)
    distances: list[float] = field(default_factory=list)
    actions: list[int] = field(default_factory=list)
    outputs: list[dict] = field(default_factory=list)
    invalid_outputs: int = 0

    @classmethod
    def start(cls, episode: Episode, reset: EnvStep) -> EpisodeRollout:
        rollout = cls(episode, reset.observation)
        rollout._record_state(reset)
        return rollout

    def _record_state(self, step: EnvStep) -> None:
        self.observation = step.observation
        self.positions.append([float(v) for v in step.observation.position])
        self.headings.append(float(step.observation.heading))
        self.distances.append(float(step.distance_to_goal))

    def add(self, decision: Decision, step: EnvStep) -> None:
        """Record the decision taken at this step and the state the simulator returned."""
        if decision.queried:
            self.outputs.append({"step": len(self.actions), "text": decision.text, "valid": decision.valid})
            self.invalid_outputs += int(not decision.valid)
        self.actions.append(int(decision.action))
        self._record_state(step)

    @property
    def stopped(self) -> bool:
        return bool(self.actions) and self.actions[-1] == Action.STOP

    def metrics(self, truth: GroundTruth, dtw: DtwMode = "exact") -> EpisodeMetrics:
        """VLN-CE metrics; d0 is the distance at reset, as ``eval score`` and habitat's SPL take it."""
        return episode_metrics(
            positions=np.asarray(self.positions, dtype=np.float64),
            distances_to_goal=np.asarray(self.distances, dtype=np.float64),
            stopped=self.stopped,
            d0=self.distances[0],
            reference_locations=np.asarray(truth.locations, dtype=np.float64),
            steps=len(self.actions),
            success_distance=self.episode.success_distance,
            dtw=dtw,
        )

    def to_record(self, truth: GroundTruth, dtw: DtwMode, run_id: str, finished_s: float) -> dict:
        metrics = self.metrics(truth, dtw).to_dict()
        last = len(self.positions) - 1
        return {
            "episode_id": self.episode.episode_id,
            "scene_id": self.episode.scene_id,
            "trajectory_id": self.episode.trajectory_id,
            "success_distance": self.episode.success_distance,
            "metrics": {k: _finite_or_none(v) if isinstance(v, float) else v for k, v in metrics.items()},
            "trajectory": [
                {"position": position, "heading": heading, "stop": self.stopped and index == last}
                for index, (position, heading) in enumerate(zip(self.positions, self.headings))
            ],
            "distances_to_goal": [_finite_or_none(d) for d in self.distances],
            "actions": self.actions,
            "model_queries": len(self.outputs),
            "invalid_outputs": self.invalid_outputs,
            "outputs": self.outputs,
            "run_id": run_id,
            "finished_s": float(finished_s),
        }


def metrics_from_record(record: dict) -> EpisodeMetrics:
    """The ``EpisodeMetrics`` stored in a record (null distances -> inf)."""
    values = dict(record["metrics"])
    for key in ("ne", "oracle_ne"):
        values[key] = _none_to_inf(values[key])
    return EpisodeMetrics(**values)
