"""``run_vln_eval``: closed-loop VLN-CE evaluation of a checkpoint or a baseline (``navagent eval vln``).

Episodes come from an R2R-CE directory (``{episodes_dir}/{split}/{split}.json.gz`` and its ``_gt`` file), or
from an ``episode_source`` (an ``EpisodeSource`` such as ``HabitatEnvConfig``, which also reads RxR-CE).
The selection is the first ``max_episodes`` episodes in file order, and of those every ``n``-th starting at
``i`` for ``shard=(i, n)`` (deterministic; under ``torchrun`` the shard defaults to ``(RANK, WORLD_SIZE)``).

Output directory (``out_dir``):

* ``run.json``: the settings that determine the results (policy, episode file, simulator settings, DTW);
  resuming into a directory made with other settings is refused rather than mixing results;
* ``results.jsonl`` (``results.shard-i-of-n.jsonl``): one line per finished episode (``records``), appended
  durably; a rerun skips finished episodes (a torn last line from a kill is discarded), so a killed run
  resumes and ends with exactly the metrics of an uninterrupted run;
* ``failures.jsonl``: episodes that could not start (e.g. unknown scene); they are retried on the next run;
* ``summary.json`` and ``trajectories.json`` (VLN-CE r2r inference format, scorable by ``navagent eval
  score``); a shard writes ``summary.shard-i-of-n.json`` etc., and the shard that completes the set merges all
  shards into ``summary.json``, ``trajectories.json`` and ``results.jsonl`` (``merge_vln_shards`` does the
  same explicitly).
"""

from __future__ import annotations

import functools
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, is_dataclass
from pathlib import Path

from navagent.envs.base import Episode, NavEnv
from navagent.envs.episodes import read_json
from navagent.envs.vector import VectorNavEnv
from navagent.eval.score import format_summary_table
from navagent.eval.vln.inputs import (
    EpisodeSource,
    check_shard,
    check_truths,
    load_inputs,
    parse_shard,
    resolve_episode_source,
    select_episodes,
    shard_from_environment,
)
from navagent.eval.vln.loop import EpisodeHook, evaluate_episodes
from navagent.eval.vln.policies import BASELINE_POLICIES, Policy, make_policy
from navagent.eval.vln.results import (
    ResultsFileError,
    ResultsLog,
    Shard,
    failures_path,
    merge_records,
    results_path,
)
from navagent.eval.vln.summary import (
    ordered_records,
    summarize,
    summary_path,
    write_merged_results,
    write_outputs,
)
from navagent.fileio import json_bytes, write_bytes_atomic

SIMULATORS = ("builtin", "habitat")
RUN_CONFIG_NAME = "run.json"
_NOT_RESULT_SETTINGS = ("render", "device_index", "gpu_device_id")  # rendering and GPU choice


class EpisodeFailuresError(ValueError):
    """Some episodes could not be evaluated; the others' results are kept (``failures.jsonl`` lists them)."""


def _files_name(paths: Sequence[Path]) -> str:
    return ", ".join(str(path) for path in paths)


def make_env_factory(sim: str, sim_config) -> Callable:
    """A picklable factory of one simulator for ``VectorNavEnv``."""
    if sim == "builtin":
        from navagent.envs.builtin.sim import BuiltinNavEnv

        return functools.partial(BuiltinNavEnv, sim_config)
    if sim == "habitat":
        raise ValueError(
            "sim='habitat' needs env_factory (a factory of navagent.envs.habitat environments); "
            "run_vln_eval builds only the built-in simulator itself"
        )
    raise ValueError(f"sim must be one of {SIMULATORS}, got {sim!r}")


# ----------------------------------------------------------------------------------------- run state
def _check_run_config(out_dir: Path, config: dict) -> None:
    """Record the run's settings, or refuse to resume results made with different ones."""
    path = out_dir / RUN_CONFIG_NAME
    if path.exists():
        previous = read_json(path)
        if previous != config:
            changed = sorted(k for k in config.keys() | previous.keys() if previous.get(k) != config.get(k))
            raise ValueError(
                f"{out_dir} holds results of a different run (settings differ: {', '.join(changed)}; "
                f"see {path}): use another output directory or remove it"
            )
        return
    write_bytes_atomic(path, json_bytes(config, indent=2))


def _run_id() -> str:
    return f"{os.getpid()}-{time.time_ns()}"


def _raise_failures(failures: list[dict], log_path: Path, results_file: Path, done: int) -> None:
    lines = "; ".join(
        f"episode {f['episode_id']} (scene {f['scene_id']}): {f['error']}" for f in failures[:5]
    )
    more = f" and {len(failures) - 5} more" if len(failures) > 5 else ""
    raise EpisodeFailuresError(
        f"{len(failures)} episodes could not be evaluated: {lines}{more}. They are listed in {log_path}; "
        f"the {done} finished episodes are kept in {results_file} and a rerun evaluates only what is missing"
    )


def _print_summary(summary: dict, paths: Sequence[Path], title: str) -> None:
    print(format_summary_table(summary, title=title), end="")
    rate = summary.get("episodes_per_hour")
    print(
        f"invalid model outputs: {summary['invalid_outputs']} / {summary['model_queries']} queries "
        f"({100.0 * summary['invalid_rate']:.1f} %); "
        f"episodes/hour: {'n/a' if rate is None else f'{rate:,.0f}'}"
    )
    for path in paths:
        print(f"wrote {path}")


# ------------------------------------------------------------------------------------------- merging
def _load_shards(out_dir: Path, episode_ids: Sequence[str], num_shards: int) -> tuple[list[dict], list[int]]:
    """Every shard file's records, and the indices of shards that miss some of their episodes."""
    shard_records, incomplete = [], []
    for index in range(num_shards):
        records = ResultsLog(results_path(out_dir, (index, num_shards))).load(repair=False)
        if any(episode_id not in records for episode_id in episode_ids[index::num_shards]):
            incomplete.append(index)
        shard_records.append(records)
    return shard_records, incomplete


def _merge_shards(
    out_dir: Path,
    episode_ids: Sequence[str],
    shard_records: list[dict],
    dtw: str,
    extra: dict,
    progress: bool,
) -> dict:
    """Write the merged ``summary.json``, ``trajectories.json`` and ``results.jsonl``; returns the summary."""
    num_shards = len(shard_records)
    names = [str(results_path(out_dir, (i, num_shards))) for i in range(num_shards)]
    records = ordered_records(merge_records(shard_records, names), episode_ids, str(out_dir))
    rates = [
        summarize(ordered_records(shard, episode_ids[i::num_shards], names[i]), dtw)["episodes_per_hour"]
        for i, shard in enumerate(shard_records)
        if episode_ids[i::num_shards]
    ]
    summary = {
        **summarize(records, dtw),
        **extra,
        "episodes_per_hour": None if None in rates else sum(rates),  # shards run side by side
        "shards": num_shards,
        "merged": True,
    }
    paths = write_outputs(out_dir, summary, records, None)
    write_merged_results(results_path(out_dir), records)
    if progress:
        title = f"VLN-CE metrics ({num_shards} shards merged)"
        _print_summary(summary, [*paths, results_path(out_dir)], title)
    return summary


def merge_vln_shards(
    out_dir: str | os.PathLike,
    episodes_dir: str | os.PathLike | None,
    split: str,
    num_shards: int,
    max_episodes: int | None = None,
    dtw: str = "exact",
    progress: bool = True,
    episode_source: EpisodeSource | None = None,
) -> dict:
    """Merge ``results.shard-*-of-{num_shards}.jsonl`` in ``out_dir`` into ``summary.json``,
    ``trajectories.json`` and ``results.jsonl`` (the selection is recomputed from the episode file, or
    ``episode_source`` as in ``run_vln_eval``, and ``max_episodes``); every shard must be complete, else
    ``ResultsFileError`` naming the missing shards."""
    out_dir = Path(out_dir)
    episodes, _ = load_inputs(resolve_episode_source(episodes_dir, split, episode_source))
    episode_ids = [e.episode_id for e in select_episodes(episodes, max_episodes, None)]
    shard_records, incomplete = _load_shards(out_dir, episode_ids, num_shards)
    if incomplete:
        raise ResultsFileError(f"{out_dir}: shards {incomplete} of {num_shards} are not complete yet")
    config_file = out_dir / RUN_CONFIG_NAME
    config = read_json(config_file) if config_file.exists() else {}
    extra = {
        "policy": config.get("policy"),
        "split": split,
        "max_steps": config.get("sim", {}).get("max_steps"),
    }
    return _merge_shards(out_dir, episode_ids, shard_records, dtw, extra, progress)


# ------------------------------------------------------------------------------------------ the run
def _resolve_shard(shard: Shard | str | None) -> Shard | None:
    if isinstance(shard, str):
        return parse_shard(shard)
    return shard_from_environment() if shard is None else check_shard(shard)


def _check_arguments(
    checkpoint, policy, num_envs: int, dtw: str, video: bool, video_hook, sim, env_factory
) -> None:
    if sim not in SIMULATORS:
        raise ValueError(f"sim must be one of {SIMULATORS}, got {sim!r}")
    if sim == "habitat" and env_factory is None:
        make_env_factory(sim, None)  # raises: explains what is needed
    if dtw not in ("exact", "fastdtw"):
        raise ValueError(f"dtw must be 'exact' or 'fastdtw', got {dtw!r}")
    if isinstance(num_envs, bool) or not isinstance(num_envs, int) or num_envs < 1:
        raise ValueError(f"num_envs must be an integer >= 1, got {num_envs!r}")
    if checkpoint is not None and policy is not None:
        raise ValueError("give either a checkpoint or a baseline policy, not both")
    if isinstance(policy, str) and policy not in BASELINE_POLICIES:
        raise ValueError(f"policy must be one of {BASELINE_POLICIES}, got {policy!r}")
    if video and video_hook is None:
        raise ValueError("video=True needs video_hook (the per-episode video writer) to write the videos")


def _sim_settings(config) -> dict:
    """The simulator settings that determine the results (a ``SimConfig`` or ``HabitatEnvConfig``), as JSON
    values (tuples become lists and paths strings, so a resumed run compares equal to its ``run.json``)."""
    settings = {k: v for k, v in asdict(config).items() if k not in _NOT_RESULT_SETTINGS}
    return json.loads(json.dumps(settings, default=os.fspath, allow_nan=False))


def _run_config(
    policy: Policy, agent_options: dict | None, source: EpisodeSource, sim: str, sim_settings: dict, dtw: str
) -> dict:
    """The settings that determine the results (``run.json``); rendering and GPU choice do not."""
    files = [str(Path(path).resolve()) for path in source.episode_paths()]
    return {
        "policy": policy.name,
        "agent_options": agent_options or {},
        "episodes": files[0] if len(files) == 1 else files,
        "split": source.split,
        "sim": {"backend": sim, **sim_settings},
        "dtw": dtw,
    }


def _summarize_run(
    out_dir: Path,
    results: ResultsLog,
    selection: Sequence[Episode],
    full_selection: Sequence[Episode],
    shard: Shard | None,
    dtw: str,
    extra: dict,
    progress: bool,
) -> dict:
    """Write this run's (or shard's) summary and trajectories; merge the shards when all are complete."""
    summary: dict = {}
    if selection:  # a shard can be empty when there are more shards than episodes
        records = ordered_records(
            results.load(repair=False), [e.episode_id for e in selection], str(results.path)
        )
        summary = {**summarize(records, dtw), **extra}
        if shard is not None:
            summary.update({"shard": f"{shard[0]}/{shard[1]}", "merged": False})
        paths = write_outputs(out_dir, summary, records, shard)
        if progress:
            title = "VLN-CE metrics" if shard is None else f"VLN-CE metrics (shard {shard[0]}/{shard[1]})"
            _print_summary(summary, [*paths, results.path], title)
    if shard is None:
        return summary
    ids = [e.episode_id for e in full_selection]
    shard_records, incomplete = _load_shards(out_dir, ids, shard[1])
    if not incomplete:
        return _merge_shards(out_dir, ids, shard_records, dtw, extra, progress)
    if progress:
        print(
            f"shard {shard[0]}/{shard[1]} done; the last shard to finish merges into {summary_path(out_dir)}"
        )
    return summary


def run_vln_eval(
    checkpoint: str | os.PathLike | None = None,
    *,
    episodes_dir: str | os.PathLike | None = None,
    split: str,
    out_dir: str | os.PathLike,
    sim: str = "builtin",
    num_envs: int = 8,
    shard: Shard | str | None = None,
    max_episodes: int | None = None,
    video: bool = False,
    policy: str | Policy | None = None,
    dtw: str = "exact",
    progress: bool = True,
    seed: int = 0,
    sim_config=None,
    max_steps: int | None = None,
    device: str | None = None,
    agent_options: dict | None = None,
    hooks: Sequence[EpisodeHook] = (),
    video_hook: Callable[[Path], EpisodeHook] | None = None,
    env_factory: Callable[[], NavEnv] | None = None,
    episode_source: EpisodeSource | None = None,
) -> dict:
    """Evaluate a checkpoint (None: the shipped default) or a baseline ``policy`` (``random``, ``forward``,
    ``oracle``, or a ``Policy`` object) on ``split``; returns the summary written to ``summary.json``.

    ``shard``: ``(i, n)`` or ``"i/n"`` (default: torchrun's RANK/WORLD_SIZE, else unsharded). A shard whose
    siblings are not all finished returns its own summary (``merged: False``); the one completing the set
    returns the merged summary. ``sim_config`` (a ``SimConfig``) sets the simulator (``max_steps`` overrides
    its step limit); ``seed`` seeds the random/forward baselines; ``agent_options`` go to ``NavAgent``.
    ``hooks`` get every reset/step/episode end; ``video=True`` renders every step and adds
    ``video_hook(out_dir / "videos")`` to them (closed at the end when it has ``close()``). ``env_factory``
    (a picklable zero-argument callable returning a ``NavEnv``) replaces the simulator named by ``sim``,
    e.g. ``functools.partial(make_habitat_env, HabitatEnvConfig(...))``. ``episode_source`` (e.g. that
    ``HabitatEnvConfig``: R2R-CE or RxR-CE with its language / role filter) replaces the R2R-CE files of
    ``episodes_dir``; with ``sim="habitat"`` and a dataclass source, run.json records its settings (whose
    ``max_steps`` is the step limit) instead of the built-in simulator's.

    Raises ``CheckpointFormatError`` for a directory that is not a navagent/VILA model (before anything is
    written) and ``EpisodeFailuresError`` after the loop when some episodes could not start (the others'
    results are kept; a rerun retries only those)."""
    from navagent.envs.builtin.sim import SimConfig

    _check_arguments(checkpoint, policy, num_envs, dtw, video, video_hook, sim, env_factory)
    shard = _resolve_shard(shard)
    base = sim_config or SimConfig()
    config = SimConfig(**{**base.__dict__, **({"max_steps": max_steps} if max_steps is not None else {})})
    source = resolve_episode_source(episodes_dir, split, episode_source)
    episodes, truths = load_inputs(source)
    if not episodes:
        raise ValueError(f"{_files_name(source.episode_paths())}: no episodes")
    full_selection = select_episodes(episodes, max_episodes, None)
    selection = select_episodes(episodes, max_episodes, shard)
    check_truths(selection, truths, _files_name(source.gt_paths()))

    if not isinstance(policy, Policy):
        name = policy if policy is not None else checkpoint
        policy = make_policy(name, seed=seed, sim_config=config, device=device, agent_options=agent_options)
    render = policy.needs_rgb or video or (bool(hooks) and config.render)  # baselines need no frames
    config = SimConfig(**{**config.__dict__, "render": render})
    habitat_settings = sim == "habitat" and episode_source is not None and is_dataclass(episode_source)
    sim_settings = _sim_settings(episode_source if habitat_settings else config)
    if max_steps is not None and max_steps != sim_settings["max_steps"]:
        raise ValueError(
            f"max_steps={max_steps} differs from episode_source's max_steps={sim_settings['max_steps']} "
            "(the habitat environment's step limit): set it there"
        )
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    _check_run_config(out_dir, _run_config(policy, agent_options, source, sim, sim_settings, dtw))

    results, failures = ResultsLog(results_path(out_dir, shard)), ResultsLog(failures_path(out_dir, shard))
    finished = results.load(repair=True)
    todo = [e for e in selection if e.episode_id not in finished]
    if todo:
        video_writer = video_hook(out_dir / "videos") if video else None
        factory = env_factory or make_env_factory(sim, config)
        try:
            all_hooks = [*hooks, video_writer] if video_writer is not None else list(hooks)
            with VectorNavEnv(min(num_envs, len(todo)), factory) as envs, results, failures:
                report = evaluate_episodes(
                    policy, envs, todo, truths, results, failures,
                    dtw=dtw, run_id=_run_id(), hooks=all_hooks, progress=progress,
                )  # fmt: skip
        finally:
            if video_writer is not None and hasattr(video_writer, "close"):
                video_writer.close()  # drops videos of episodes that did not finish
        if report.failures:
            _raise_failures(report.failures, failures.path, results.path, len(results.load(repair=False)))
    extra = {"policy": policy.name, "split": split, "max_steps": sim_settings["max_steps"]}
    return _summarize_run(out_dir, results, selection, full_selection, shard, dtw, extra, progress)
