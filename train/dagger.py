"""On-policy navigation records labelled by the route expert (DAgger, Ross et al. 2011; VLN-CE's main gain).

Behaviour cloning trains only on the expert's own states; the agent then drifts into states it never saw.
A DAgger round lets the current checkpoint drive episodes of a training split in closed loop — the same loop
and vector environments as ``navagent eval vln`` (`navagent.eval.vln.loop.evaluate_episodes`) — and, at every
point where the agent asked its model for a decision, records what the route expert
(`navagent.envs.builtin.expert.RouteExpert`) would do from that pose, given every position visited so far
(it rejoins the instruction's route where the agent left it) and the agent's last move (after a turn it turns
back only toward a heading within 90 degrees, else it keeps turning the agent's way: the expert's turn
hysteresis, so that off-route labels do not flip sides with a few degrees of heading). The agent's own
actions are executed (β = 0).
A rollout is cut at ``max_steps`` low-level steps so that a lost agent does not fill the round with one
episode's spinning.

Output (the layout of `navagent.train.trajectories`, so the registry reads it like expert walks)::

    {out_dir}/train_nav.json                 records {"video_id", "q", "a", "frames", "prev"} (+ "view")
    {out_dir}/frames/{video}/frame_{i}.jpg   every observation of a rollout (224 px JPEG)
    {out_dir}/records.jsonl                  the records of each finished rollout (a killed round resumes)
    {out_dir}/rollouts/                      the loop's per-episode results (closed-loop metrics on train)

``video = "{prefix}_{episode_id}"``; record ``"{video}-{k}"`` is the k-th decision of the rollout, its frames
are the rollout's observations up to and including the decision's, its answer the expert's decision as an
action sentence (STOP when the expert would stop, e.g. after the agent walked past the goal without stopping),
its ``"prev"`` the move the agent executed since its previous decision (`navagent.agent.actions.previous_action`
of those low-level steps; null at the first), what a model with ``previous_action_in_prompt`` is told.
With ``view_labels`` each record also carries ``"view"``, the simulator's labels of the decision's current view
(`ViewLabels.to_json`, as ``navagent data trajectories --view-labels`` writes them), so registry entries with
``view_questions`` ask about the agent's own off-route views too.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from navagent.agent.actions import merge_low_level_steps, previous_action
from navagent.envs.base import Action, AgentState, Episode, Observation
from navagent.envs.builtin.expert import RouteExpert
from navagent.envs.builtin.sim import BuiltinNavEnv, Scene, SimConfig
from navagent.envs.builtin.view_labels import view_labels
from navagent.envs.builtin.view_visibility import ViewCamera
from navagent.eval.vln.inputs import Shard, resolve_shard
from navagent.eval.vln.policies import Decision, Policy
from navagent.eval.vln.results import ResultsLog, shard_suffix
from navagent.fileio import json_bytes, write_bytes_atomic
from navagent.train.trajectories import annotation_path, trajectory_data_root
from navagent.train.trajectory_frames import encode_jpeg, frame_path, write_file_replacing


def records_log_path(out_dir: str | os.PathLike, shard: Shard | None = None) -> Path:
    """``records.jsonl`` (one line per finished rollout: ``{"episode_id", "records": [...]}``), or
    ``records.shard-i-of-n.jsonl`` for one process of a sharded round."""
    return Path(out_dir) / f"records{shard_suffix(shard)}.jsonl"


@dataclass
class _Rollout:
    episode: Episode
    video: str
    expert: RouteExpert
    progress: float = 0.0
    frames: int = 0  # observations written so far
    moves: list[int] = field(default_factory=list)  # low-level steps executed since the last decision
    records: list[dict] = field(default_factory=list)


class ExpertLabels:
    """The route expert of each episode, and the simulator's labels of any view (scenes cached by scene id).

    stop_distance: metres from the goal within which the expert says STOP once the route is done (0.2: the
    expert walks' own; larger: goal-region STOP labels, as ``navagent data trajectories --stop-label-distance``).
    frame_size: the side of the agent's frames in pixels, or None for an expert only: the views are then not
    rendered and `view` is unavailable.
    """

    def __init__(self, max_cached_scenes: int = 8, stop_distance: float = 0.2, frame_size: int | None = None):
        rendered = frame_size is not None
        config = SimConfig(
            render=rendered,
            depth=rendered,
            **({"width": frame_size, "height": frame_size} if rendered else {}),
        )
        self._env = BuiltinNavEnv(config, max_cached_scenes=max_cached_scenes)
        self._camera = ViewCamera(config.width, config.height, config.hfov_deg, config.camera_height)
        self.stop_distance = stop_distance

    def expert(self, episode: Episode) -> RouteExpert:
        scene: Scene = self._env.load_scene(episode.scene_id)
        return RouteExpert.for_episode(episode, scene.planner, scene.motion, self.stop_distance)

    def view(self, episode: Episode, state: AgentState) -> dict:
        """`ViewLabels.to_json` of the view from ``state`` in ``episode``'s house (rendered with depth)."""
        if not self._env.config.render:
            raise RuntimeError("view labels need ExpertLabels(frame_size=...): this one does not render")
        scene = self._env.set_scene(episode.scene_id)
        _, depth = self._env.render(state.position, state.heading)
        return view_labels(scene.house, self._camera, state.position, state.heading, depth).to_json()

    def close(self) -> None:
        self._env.close()


class DaggerCollector:
    """A `Policy` wrapper and loop hook: the wrapped policy acts; the expert labels its decision points.

    policy: the agent (`AgentPolicy`); its decisions are executed unchanged.
    frames_root: where rollout frames are written (``{frames_root}/{video}/frame_{i}.jpg``).
    prefix: video-name prefix of this round (e.g. "dagger1"). jpeg_quality: as for expert walks.
    stop_distance: the labelling expert's (`ExpertLabels`). shard: this process's share of the episodes
    ``(i, n)`` (its own records log) or None. view_frame_size: the frames' side in pixels to label each
    decision's view at (records get ``"view"``), or None for no view labels.
    """

    needs_rgb = True

    def __init__(
        self,
        out_dir: Path,
        prefix: str,
        jpeg_quality: int = 90,
        stop_distance: float = 0.2,
        shard: Shard | None = None,
        view_frame_size: int | None = None,
    ):
        self.policy: Policy | None = None
        self.name = "dagger"
        self.frames_root = trajectory_data_root(out_dir)
        self.prefix = prefix
        self.jpeg_quality = jpeg_quality
        self.labels = ExpertLabels(stop_distance=stop_distance, frame_size=view_frame_size)
        self.view_labels = view_frame_size is not None
        self.log = ResultsLog(records_log_path(out_dir, shard))
        self._rollouts: dict[int, _Rollout] = {}

    def wrap(self, policy: Policy) -> DaggerCollector:
        """Drive ``policy`` (what `run_vln_eval`'s ``wrap_policy`` calls)."""
        self.policy = policy
        self.name = f"dagger({policy.name})"
        return self

    # ---- Policy ----
    def reset(self, env_index: int, episode: Episode) -> None:
        self.policy.reset(env_index, episode)

    def act(self, observations: list[Observation], env_indices: list[int]) -> list[Decision]:
        decisions = self.policy.act(observations, env_indices)
        for observation, env_index, decision in zip(observations, env_indices, decisions, strict=True):
            rollout = self._rollouts[env_index]
            if decision.queried:
                self._label(rollout, observation)
                rollout.moves = []
            rollout.moves.append(int(decision.action))
        return decisions

    # ---- EpisodeHook ----
    def on_reset(self, env_index: int, episode: Episode, observation: Observation) -> None:
        video = f"{self.prefix}_{episode.episode_id}"
        (self.frames_root / video).mkdir(parents=True, exist_ok=True)
        rollout = _Rollout(episode, video, self.labels.expert(episode))
        self._rollouts[env_index] = rollout
        self._observe(rollout, observation)

    def on_step(self, env_index: int, episode: Episode, observation: Observation, decision: Decision) -> None:
        rollout = self._rollouts[env_index]
        if not observation.done:
            self._observe(rollout, observation)

    def on_episode_end(self, env_index: int, episode: Episode, record: dict) -> None:
        rollout = self._rollouts.pop(env_index)
        self.log.append({"episode_id": episode.episode_id, "records": rollout.records})

    # ---- internals ----
    def _observe(self, rollout: _Rollout, observation: Observation) -> None:
        """Write the frame and move the expert's route progress to the new position."""
        path = self.frames_root / frame_path(rollout.video, rollout.frames)
        write_file_replacing(path, encode_jpeg(observation.rgb, self.jpeg_quality))
        rollout.frames += 1
        rollout.progress = rollout.expert.advance(rollout.progress, np.asarray(observation.position))

    def _label(self, rollout: _Rollout, observation: Observation) -> None:
        state = AgentState(np.asarray(observation.position, dtype=np.float64), float(observation.heading))
        move = previous_action(rollout.moves)
        turned = (
            move.kind if move is not None and move.kind in (Action.TURN_LEFT, Action.TURN_RIGHT) else None
        )
        steps = rollout.expert.decide(state, rollout.progress, turned)
        (label,) = merge_low_level_steps(steps)
        record = {
            "video_id": f"{rollout.video}-{len(rollout.records)}",
            "q": rollout.episode.instruction_text,
            "a": label.to_text(),
            "frames": [frame_path(rollout.video, i) for i in range(rollout.frames)],
            "prev": None if move is None else move.phrase,
        }
        if self.view_labels:
            record["view"] = self.labels.view(rollout.episode, state)
        rollout.records.append(record)

    def close(self) -> None:
        self.log.close()
        self.labels.close()


def run_dagger_round(
    checkpoint: str | os.PathLike,
    episodes_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    split: str = "train",
    prefix: str = "dagger",
    num_envs: int = 8,
    max_episodes: int | None = None,
    max_steps: int = 300,
    progress: bool = True,
    stop_distance: float = 0.2,
    shard: str | None = None,
    view_labels: bool = False,
) -> Path | None:
    """Roll ``checkpoint`` out on ``split`` episodes and write the expert-labelled records (module docstring);
    returns ``{out_dir}/train_nav.json``. Resumable: finished rollouts are kept in ``records.jsonl``.

    ``stop_distance``: the labelling expert's (`ExpertLabels`). ``shard``: ``"i/n"`` runs every n-th episode
    from i (None: torchrun's RANK/WORLD_SIZE, else all), with its own records log; the process that finds
    every shard's rollouts complete writes the annotation from all logs, the others return None.
    ``view_labels``: each record carries its current view's labels (module docstring)."""
    from navagent.eval.vln.config import EpisodesSection, EvalConfig, SimSection
    from navagent.eval.vln.runner import run_vln_eval

    out_dir = Path(out_dir)
    parsed = resolve_shard(shard)
    config = EvalConfig(
        policy="checkpoint",
        checkpoint=str(checkpoint),
        episodes=EpisodesSection(dir=str(episodes_dir), split=split, max_episodes=max_episodes),
        sim=SimSection(max_steps=max_steps),
        out_dir=str(out_dir / "rollouts"),
        num_envs=num_envs,
        shard=None if parsed is None else f"{parsed[0]}/{parsed[1]}",
    )
    if view_labels and config.sim.width != config.sim.height:
        raise ValueError(f"view labels need square frames, got {config.sim.width}x{config.sim.height}")
    collector = DaggerCollector(
        out_dir,
        prefix,
        stop_distance=stop_distance,
        shard=parsed,
        view_frame_size=config.sim.width if view_labels else None,
    )
    try:
        summary = run_vln_eval(config, hooks=[collector], wrap_policy=collector.wrap, progress=progress)
    finally:
        collector.close()
    if parsed is not None and not summary.get("merged"):  # another shard is still rolling out
        return None
    shards = [None] if parsed is None else [(i, parsed[1]) for i in range(parsed[1])]
    rollouts = [
        r for s in shards for r in ResultsLog(records_log_path(out_dir, s)).load(repair=False).values()
    ]
    records = sorted((r for rollout in rollouts for r in rollout["records"]), key=lambda r: r["video_id"])
    path = annotation_path(out_dir, "train")
    write_bytes_atomic(path, json_bytes(records))
    return path
