"""``EpisodeVideoHook``: one MP4 (and a PNG of its last frame) per episode, for the demo and the VLN runner.

It implements the runner's ``EpisodeHook`` (``navagent.eval.vln.loop``): ``on_reset`` opens the episode's
video, ``on_step`` adds the frame of each decision (the view it was made on, the agent's path so far, the
decision's text and action, the geodesic distance to the goal) and ``on_episode_end`` adds the final frame
(the last view and the final metrics of the episode's results record) ``hold_frame_count(fps)`` times, then
moves the video into place and saves that final frame as a PNG. A video thus has ``steps + hold`` frames.

Files: ``{videos_dir}/{name_prefix}{episode_file_stem(episode_id)}.mp4`` and ``.png``
(``navagent.eval.report`` finds them by the same rule). Scenes must be built-in houses: the hook draws their
top-down map and measures distances with their planner (loaded once per scene, or shared via ``scenes``).

Wire it into the runner with ``run_vln_eval(..., video=True, video_hook=functools.partial(EpisodeVideoHook,
fps=8))``; it is called as ``video_hook(out_dir / "videos")``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from navagent.demo.frames import FrameComposer, FrameLayout, FrameStatus
from navagent.demo.video import Mp4Writer
from navagent.envs.base import Action, Episode, Observation
from navagent.envs.builtin.geodesic import GeodesicPlanner
from navagent.envs.builtin.sim import BuiltinNavEnv, SimConfig
from navagent.eval.report import episode_file_stem
from navagent.eval.vln.policies import Decision
from navagent.eval.vln.records import metrics_from_record
from navagent.eval.vln_metrics import EpisodeMetrics

if TYPE_CHECKING:
    from typing_extensions import Self


DEFAULT_FPS = 8
HOLD_SECONDS = 2.0
_ACTION_PHRASES = {
    Action.STOP: "stop",
    Action.MOVE_FORWARD: "move forward",
    Action.TURN_LEFT: "turn left",
    Action.TURN_RIGHT: "turn right",
}


def hold_frame_count(fps: int) -> int:
    """How many copies of the final frame end a video: ``HOLD_SECONDS`` at ``fps``, at least one."""
    return max(1, round(fps * HOLD_SECONDS))


def decision_text(decision: Decision, label: str, last_text: str | None) -> str:
    """What a frame says about a decision: the model's text when it was queried, the text being followed
    when the step came from the agent's queue, else the policy's action (baselines)."""
    if decision.text is not None:
        note = "" if decision.valid else "  [unparseable: fallback action]"
        return f"model: {decision.text.strip()}{note}"
    if last_text is not None:
        return f"model: {last_text.strip()}  [queued step]"
    return f"{label}: {_ACTION_PHRASES[Action(decision.action)]}"


def final_line(metrics: EpisodeMetrics, stopped: bool) -> str:
    """The final-metrics line of the last frame."""
    ne = f"{metrics.ne:.2f} m" if np.isfinite(metrics.ne) else "inf"
    end = f"STOP after {metrics.steps} steps" if stopped else f"step limit ({metrics.steps} steps)"
    return (
        f"final: NE {ne}   SR {int(metrics.success)}   SPL {metrics.spl:.2f}   "
        f"nDTW {metrics.ndtw:.2f}   ({end})"
    )


@dataclass
class _EpisodeVideo:
    """One environment's video in progress."""

    composer: FrameComposer
    writer: Mp4Writer
    png_path: Path
    planner: GeodesicPlanner  # the scene's, kept here so a busy scene cache cannot evict it mid-episode
    goals: list[np.ndarray]
    observation: Observation
    positions: list[np.ndarray] = field(default_factory=list)
    distances: list[float] = field(default_factory=list)
    last_text: str | None = None
    last_shown: str = ""


class EpisodeVideoHook:
    """Writes one video per episode into ``videos_dir``.

    fps: frame rate; label: how baseline decisions are introduced (e.g. the policy name); name_prefix:
    prepended to the file names; scenes: a ``BuiltinNavEnv`` whose scene cache to use (default: a private
    non-rendering one).
    """

    def __init__(
        self,
        videos_dir: str | os.PathLike,
        fps: int = DEFAULT_FPS,
        label: str = "policy",
        name_prefix: str = "",
        scenes: BuiltinNavEnv | None = None,
    ) -> None:
        if isinstance(fps, bool) or not isinstance(fps, int) or fps < 1:
            raise ValueError(f"fps must be a positive integer, got {fps!r}")
        self.videos_dir = Path(videos_dir)
        self.fps = fps
        self.label = label
        self.name_prefix = name_prefix
        self._scenes = scenes if scenes is not None else BuiltinNavEnv(SimConfig(render=False))
        self._active: dict[int, _EpisodeVideo] = {}
        self.written: dict[str, tuple[Path, Path]] = {}  # episode id -> (video, last-frame PNG)

    @property
    def hold_frames(self) -> int:
        """Copies of the final frame at the end of every video."""
        return hold_frame_count(self.fps)

    def paths(self, episode_id: str) -> tuple[Path, Path]:
        """(video, PNG) paths of an episode."""
        stem = self.name_prefix + episode_file_stem(episode_id)
        return self.videos_dir / f"{stem}.mp4", self.videos_dir / f"{stem}.png"

    @staticmethod
    def _distance(video: _EpisodeVideo, position: np.ndarray) -> float:
        return min(video.planner.distance_to_goal(position, goal) for goal in video.goals)

    def on_reset(self, env_index: int, episode: Episode, observation: Observation) -> None:
        if env_index in self._active:  # an unfinished video of this environment (e.g. a failed episode)
            self._active.pop(env_index).writer.abort()
        scene = self._scenes.load_scene(episode.scene_id)
        height, width = observation.rgb.shape[:2]
        layout = FrameLayout.for_view_size(max(height, width))
        start = np.asarray(episode.start_position, dtype=np.float64)
        goals = [np.asarray(goal.position, dtype=np.float64) for goal in episode.goals]
        shown = min(range(len(goals)), key=lambda i: scene.planner.distance_to_goal(start, goals[i]))
        composer = FrameComposer(
            layout,
            scene.house,
            episode.instruction_text,
            np.asarray(episode.reference_path, dtype=np.float64),
            goal=goals[shown],
            goal_radius=episode.goals[shown].radius,
            start=start,
        )
        video_path, png_path = self.paths(episode.episode_id)
        writer = Mp4Writer(video_path, self.fps)
        video = _EpisodeVideo(composer, writer, png_path, scene.planner, goals, observation)
        position = np.asarray(observation.position, dtype=np.float64)
        video.positions.append(position)
        video.distances.append(self._distance(video, position))
        self._active[env_index] = video

    def on_step(self, env_index: int, episode: Episode, observation: Observation, decision: Decision) -> None:
        video = self._active[env_index]
        shown = decision_text(decision, self.label, video.last_text)
        video.last_text = decision.text if decision.text is not None else video.last_text
        video.last_shown = shown
        status = FrameStatus(
            len(video.positions) - 1, video.distances[-1], Action(decision.action).name, shown
        )
        previous = video.observation
        video.writer.append(video.composer.compose(previous.rgb, video.positions, previous.heading, status))
        position = np.asarray(observation.position, dtype=np.float64)
        video.positions.append(position)
        video.distances.append(self._distance(video, position))
        video.observation = observation

    def on_episode_end(self, env_index: int, episode: Episode, record: dict) -> None:
        video = self._active.pop(env_index)
        try:
            metrics = metrics_from_record(record)
            stopped = bool(record["actions"]) and record["actions"][-1] == Action.STOP
            status = FrameStatus(
                metrics.steps,
                video.distances[-1],
                None,
                video.last_shown,
                final_line(metrics, stopped),
                metrics.success,
            )
            last = video.observation
            frame = video.composer.compose(last.rgb, video.positions, last.heading, status)
            for _ in range(self.hold_frames):
                video.writer.append(frame)
        except BaseException:
            video.writer.abort()
            raise
        video_path = video.writer.close()
        temp_png = video.png_path.with_name(f".{video.png_path.stem}.tmp.png")
        Image.fromarray(frame).save(temp_png, format="PNG")
        os.replace(temp_png, video.png_path)
        self.written[episode.episode_id] = (video_path, video.png_path)

    def close(self) -> None:
        """Drop unfinished videos (their temp files are removed; finished ones stay)."""
        for video in self._active.values():
            video.writer.abort()
        self._active.clear()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
