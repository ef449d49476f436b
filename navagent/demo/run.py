"""``navagent demo``: run one episode with a policy and write an MP4, a PNG of the last frame and a JSON record.

The episode comes from an episode file (``--episodes FILE``, or a data root ``DIR`` holding
``DIR/SPLIT/SPLIT.json.gz``), or, without one, is generated from a built-in house (``seed`` picks the house
and the episode). The policy is the navigation agent loaded from ``checkpoint`` or a baseline by name
(``random``, ``forward``, ``oracle``; ``navagent.eval.vln.policies``). The episode runs on the built-in
simulator through the VLN runner's closed loop (``navagent.eval.vln.loop.evaluate_episodes`` with one
environment and the runner's video hook), so its record and metrics are the ones ``navagent eval vln`` reports. nDTW's reference
is the ground truth next to the episode file (``SPLIT_gt.json.gz``) when there is one, else the episode's
``reference_path``.

Outputs in ``out_dir`` (each appears only when complete):

* ``demo_ID.mp4``: one frame per decision, then the final frame held ``HOLD_SECONDS``
  (``steps + hold_frame_count(fps)`` frames of ``FrameLayout.for_view_size(size).shape``; see
  ``navagent.demo.frames``);
* ``demo_ID.png``: the final frame; ``demo_ID.json``: the results record (metrics, trajectory in VLN-CE r2r
  format, actions, model outputs) plus the demo's settings.

Deterministic given the arguments (and the checkpoint).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from navagent.demo.episode_video import DEFAULT_FPS, EpisodeVideoHook
from navagent.demo.frames import FrameLayout
from navagent.envs.base import Episode
from navagent.envs.builtin.sim import BuiltinNavEnv, SimConfig
from navagent.envs.episodes import GroundTruth, load_any_episodes, load_gt, r2r_episodes_path
from navagent.envs.vector import VectorNavEnv
from navagent.eval.report import episode_file_stem
from navagent.eval.vln.config import EvalConfig, SimSection
from navagent.eval.vln.loop import evaluate_episodes
from navagent.eval.vln.policies import Policy, agent_dtype
from navagent.eval.vln.registry import POLICIES
from navagent.fileio import write_json_atomic

DEFAULT_SPLIT = "val_unseen"
DEFAULT_SIZE = 224
DEFAULT_OUT_DIR = Path("out/demo")
DEMO_PREFIX = "demo_"


@dataclass(frozen=True)
class DemoEpisode:
    """The episode to show, its ground truth (nDTW's reference) and where it came from."""

    episode: Episode
    truth: GroundTruth
    source: str  # the episode file, or "generated SPLIT episode (seed N)"


# ------------------------------------------------------------------------------------------- episodes
def _gt_path(episodes_file: Path) -> Path:
    """``.../SPLIT.json.gz`` -> ``.../SPLIT_gt.json.gz`` (the R2R-CE naming)."""
    name = episodes_file.name
    stem = name[: -len(".json.gz")] if name.endswith(".json.gz") else episodes_file.stem
    return episodes_file.with_name(f"{stem}_gt.json.gz")


def _episodes_file(episodes: Path, split: str) -> Path:
    if not episodes.exists():
        raise FileNotFoundError(f"episodes: {episodes} does not exist")
    if episodes.is_dir():
        path = r2r_episodes_path(episodes, split)
        if not path.is_file():
            raise FileNotFoundError(f"episodes: {episodes} is a directory without {split}/{split}.json.gz")
        return path
    return episodes


def _pick(episodes: list[Episode], episode_id: str | None, source: str) -> Episode:
    if not episodes:
        raise ValueError(f"{source}: holds no episodes")
    if episode_id is None:
        return episodes[0]
    for episode in episodes:
        if episode.episode_id == str(episode_id):
            return episode
    shown = ", ".join(e.episode_id for e in episodes[:5]) + (", ..." if len(episodes) > 5 else "")
    raise ValueError(f"{source}: no episode with id {str(episode_id)!r} ({len(episodes)} episodes: {shown})")


def _truth(episode: Episode, truths: dict[str, GroundTruth]) -> GroundTruth:
    """The episode's ground truth, or one made of its reference path (nDTW's reference) when it has none."""
    if episode.episode_id in truths:
        return truths[episode.episode_id]
    return GroundTruth(locations=episode.reference_path, actions=(), forward_steps=0)


def load_demo_episode(
    episodes: Path | None, split: str = DEFAULT_SPLIT, episode_id: str | None = None, seed: int = 0
) -> DemoEpisode:
    """Episode ``episode_id`` (default: the first) of the file ``episodes`` (or of
    ``episodes/SPLIT/SPLIT.json.gz``); with ``episodes`` None, the one ``split`` episode generated in the
    built-in house that ``seed`` picks."""
    if episodes is None:
        from navagent.envs.builtin.episode_gen import generate_split

        generated, truths = generate_split(split, num_scenes=1, per_scene=1, seed=seed, progress=False)
        episode = generated[0]
        if episode_id is not None and str(episode_id) != episode.episode_id:
            raise ValueError(
                f"episode id {str(episode_id)!r}: without an episodes file the demo generates one episode "
                f"(id {episode.episode_id} for split {split}); pass an episodes file to choose another"
            )
        return DemoEpisode(episode, truths[episode.episode_id], f"generated {split} episode (seed {seed})")
    path = _episodes_file(Path(episodes), split)
    episode = _pick(load_any_episodes(path), episode_id, str(path))
    gt_path = _gt_path(path)
    truths = load_gt(gt_path) if gt_path.is_file() else {}
    return DemoEpisode(episode, _truth(episode, truths), str(path))


def load_demo_policy(
    checkpoint: Path | None, policy: str | None, seed: int, sim_config: SimConfig, dtype: str | None = None
) -> Policy:
    """The agent of ``checkpoint`` (in ``dtype``; None: ``EvalConfig``'s default) or the baseline ``policy``
    (``registry.POLICIES``); with neither, the shipped default checkpoint (whose loader names ``--checkpoint`` /
    ``--policy`` while none is shipped)."""
    if checkpoint is not None and policy is not None:
        raise ValueError(f"give a checkpoint or a policy, not both (got {checkpoint} and {policy!r})")
    config = EvalConfig(
        policy=policy or "checkpoint",
        checkpoint=None if checkpoint is None else str(checkpoint),
        seed=seed,
        dtype=dtype,
        sim=SimSection(width=sim_config.width, height=sim_config.height, max_steps=sim_config.max_steps),
    )
    return POLICIES[config.policy](config)


# ------------------------------------------------------------------------------------------- the run
def _check_positive(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


def run_demo(
    checkpoint: Path | None = None,
    policy: str | None = None,
    episodes: Path | None = None,
    split: str = DEFAULT_SPLIT,
    episode_id: str | None = None,
    out_dir: Path = DEFAULT_OUT_DIR,
    size: int = DEFAULT_SIZE,
    fps: int = DEFAULT_FPS,
    seed: int = 0,
    progress: bool = True,
    max_steps: int = 500,
    dtype: str | None = None,
) -> dict:
    """Run one episode and write ``demo_ID.mp4``, ``demo_ID.png`` and ``demo_ID.json`` into ``out_dir``.

    size: side of the egocentric view in pixels (what the policy sees); fps: video frame rate; seed: picks
    the generated episode and seeds the random/forward baselines; max_steps: the episode's step limit; dtype:
    the model's (float32 / float16 / bfloat16; None: float16 for VILA directories on a GPU, float32 on the CPU).
    Returns ``video``, ``last_frame``, ``record`` (paths), ``episode_id``, ``scene_id``, ``policy``,
    ``episodes`` (the source), ``instruction``, ``steps``, ``stopped``, ``frames``, ``frame_shape``
    (H, W), ``fps`` and ``metrics`` (``EpisodeMetrics`` fields; non-finite distances as None).
    """
    _check_positive("fps", fps)
    _check_positive("max_steps", max_steps)
    layout = FrameLayout.for_view_size(size)
    sim_config = SimConfig(width=size, height=size, max_steps=max_steps)
    demo = load_demo_episode(episodes, split, episode_id, seed)
    agent = load_demo_policy(checkpoint, policy, seed, sim_config, dtype)
    label = policy if policy is not None else "policy"
    out_dir = Path(out_dir)
    with BuiltinNavEnv(sim_config) as env:
        hook = EpisodeVideoHook(out_dir, fps=fps, label=label, name_prefix=DEMO_PREFIX, scenes=env)
        with hook:
            record = _run_episode(env, agent, hook, demo, progress)
    video_path, png_path = hook.written[demo.episode.episode_id]
    steps = len(record["actions"])
    result = {
        "video": video_path,
        "last_frame": png_path,
        "record": out_dir / f"{DEMO_PREFIX}{episode_file_stem(demo.episode.episode_id)}.json",
        "episode_id": demo.episode.episode_id,
        "scene_id": demo.episode.scene_id,
        "policy": agent.name,
        "episodes": demo.source,
        "instruction": demo.episode.instruction_text,
        "steps": steps,
        "stopped": bool(record["trajectory"][-1]["stop"]),
        "frames": steps + hook.hold_frames,
        "frame_shape": (layout.height, layout.width),
        "fps": fps,
        "dtype": None if policy is not None else agent_dtype(checkpoint, None, dtype) or "stored",
        "metrics": record["metrics"],
    }
    demo_fields = {k: str(v) if isinstance(v, Path) else v for k, v in result.items() if k != "metrics"}
    write_json_atomic(result["record"], {**record, "demo": demo_fields})
    return result


def _run_episode(
    env: BuiltinNavEnv, agent: Policy, hook: EpisodeVideoHook, demo: DemoEpisode, progress: bool
) -> dict:
    """Run the episode through the evaluation loop (``evaluate_episodes``, one in-process env, the video
    hook); returns its results record. An episode that cannot start raises ``ValueError`` naming why."""
    episode = demo.episode
    records: list[dict] = []
    failures: list[dict] = []
    with VectorNavEnv(1, lambda: env) as envs:
        evaluate_episodes(
            agent, envs, [episode], {episode.episode_id: demo.truth}, records, failures,
            run_id="demo", hooks=[hook], progress=progress,
        )  # fmt: skip
    if failures:
        raise ValueError(f"episode {episode.episode_id}: {failures[0]['error']}")
    return records[0]


def format_demo_result(result: dict) -> str:
    """The lines the CLI prints at the end: the episode's metrics and the written paths."""
    metrics = result["metrics"]
    ne = "inf" if metrics["ne"] is None else f"{metrics['ne']:.2f} m"
    return "\n".join(
        [
            (
                f"episode {result['episode_id']} ({result['scene_id']}), {result['policy']}: "
                f"{result['steps']} steps, NE {ne}, SR {int(metrics['success'])}, "
                f"SPL {metrics['spl']:.3f}, nDTW {metrics['ndtw']:.3f}"
            ),
            f"video:      {result['video']}",
            f"last frame: {result['last_frame']}",
            f"record:     {result['record']}",
        ]
    )
