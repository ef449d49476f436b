"""``run_vln_eval(config)``: closed-loop VLN-CE evaluation of a checkpoint or a baseline (``navagent eval vln``).

``config`` is an ``EvalConfig``; its policy, simulator and episode source are looked up in the registries
(``navagent.eval.vln.registry``). The selection is the first ``episodes.max_episodes`` episodes in file order,
and of those every ``n``-th starting at ``i`` for ``shard="i/n"`` (deterministic; under ``torchrun`` the shard
defaults to ``(RANK, WORLD_SIZE)``).

Output directory (``config.out_dir``):

* ``run.json``: the resolved config and the settings that determine the results (policy, episode files,
  simulator settings, DTW); resuming into a directory made with other settings is refused rather than mixing
  results;
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

import os
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from navagent.envs.base import Episode
from navagent.envs.episodes import read_json
from navagent.envs.vector import VectorNavEnv
from navagent.eval.score import format_summary_table
from navagent.eval.vln.config import EvalConfig, config_to_dict, result_settings
from navagent.eval.vln.inputs import (
    EpisodeSource,
    check_truths,
    load_inputs,
    resolve_shard,
    select_episodes,
)
from navagent.eval.vln.loop import EpisodeHook, evaluate_episodes
from navagent.eval.vln.policies import Policy, agent_dtype, resolve_checkpoint
from navagent.eval.vln.registry import EPISODE_SOURCES, POLICIES, SIMULATORS
from navagent.eval.vln.results import (
    ResultsFileError,
    ResultsLog,
    Shard,
    failures_path,
    merge_records,
    results_path,
    shard_suffix,
)
from navagent.eval.vln.summary import (
    ordered_records,
    summarize,
    summary_path,
    write_merged_results,
    write_outputs,
)
from navagent.fileio import json_bytes, write_bytes_atomic
from navagent.output_guard import (
    FRESH_HINT,
    LOCK_NAME,
    InputsChangedError,
    check_out_dir,
    describe_changes,
    file_digest,
    output_lock,
    tree_digest,
)

RUN_CONFIG_NAME = "run.json"


class EpisodeFailuresError(ValueError):
    """Some episodes could not be evaluated; the others' results are kept (``failures.jsonl`` lists them)."""


def _files_name(paths: Sequence[Path]) -> str:
    return ", ".join(str(path) for path in paths)


# ----------------------------------------------------------------------------------------- run state
def _check_run_config(out_dir: Path, config: dict, eval_config: EvalConfig) -> None:
    """Record the run's settings and input fingerprint (and its whole config), or refuse to resume results
    made with different settings or from inputs whose content changed (``InputsChangedError``)."""
    path = out_dir / RUN_CONFIG_NAME
    if path.exists():
        previous = read_json(path)
        previous.pop("config", None)
        if previous != config:
            raise InputsChangedError(
                f"{out_dir} holds results of a different run: {describe_changes(previous, config)} "
                f"(recorded in {path}); {FRESH_HINT}"
            )
        return
    write_bytes_atomic(path, json_bytes({**config, "config": config_to_dict(eval_config)}, indent=2))


def clear_outputs(out_dir: Path) -> list[Path]:
    """Remove what earlier runs wrote to ``out_dir`` (``--overwrite``): run.json, results, failures,
    summaries, trajectories (shard files included) and videos/; other files are left alone."""
    removed = [out_dir / RUN_CONFIG_NAME] if (out_dir / RUN_CONFIG_NAME).exists() else []
    for pattern in ("results*.jsonl", "failures*.jsonl", "summary*.json", "trajectories*.json"):
        removed.extend(out_dir.glob(pattern))
    for path in removed:
        path.unlink()
    if (out_dir / "videos").is_dir():
        shutil.rmtree(out_dir / "videos")
        removed.append(out_dir / "videos")
    return removed


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


def merge_vln_shards(config: EvalConfig, num_shards: int, progress: bool = True) -> dict:
    """Merge ``results.shard-*-of-{num_shards}.jsonl`` in ``config.out_dir`` into ``summary.json``,
    ``trajectories.json`` and ``results.jsonl`` (the selection is recomputed from ``config``'s episodes, as in
    ``run_vln_eval``); every shard must be complete, else ``ResultsFileError`` naming the missing shards."""
    out_dir = Path(config.out_dir)
    episodes, _ = load_inputs(EPISODE_SOURCES[config.episodes.source](config))
    episode_ids = [e.episode_id for e in select_episodes(episodes, config.episodes.max_episodes, None)]
    shard_records, incomplete = _load_shards(out_dir, episode_ids, num_shards)
    if incomplete:
        raise ResultsFileError(f"{out_dir}: shards {incomplete} of {num_shards} are not complete yet")
    config_file = out_dir / RUN_CONFIG_NAME
    recorded = read_json(config_file) if config_file.exists() else {}
    extra = {
        "policy": recorded.get("policy"),
        "split": config.episodes.split,
        "max_steps": recorded.get("sim", {}).get("max_steps"),
    }
    return _merge_shards(out_dir, episode_ids, shard_records, config.dtw, extra, progress)


# ------------------------------------------------------------------------------------------ the run
def _input_fingerprint(config: EvalConfig, source: EpisodeSource) -> dict:
    """Content hashes of the episode and ground-truth files and of the checkpoint folder (policy
    ``checkpoint``): a resume whose files were regenerated in place is refused, not mixed."""
    fingerprint = {
        "episodes": {str(Path(p).resolve()): file_digest(p) for p in source.episode_paths()},
        "gt": {str(Path(p).resolve()): file_digest(p) for p in source.gt_paths()},
    }
    if config.policy == "checkpoint":
        fingerprint["checkpoint"] = tree_digest(resolve_checkpoint(config.checkpoint))
    return fingerprint


def _model_dtype(config: EvalConfig) -> str | None:
    """The dtype the checkpoint policy's model runs in ("stored": the checkpoint's own); None for baselines."""
    if config.policy != "checkpoint":
        return None
    return agent_dtype(config.checkpoint, config.device, config.dtype) or "stored"


def _run_config(config: EvalConfig, policy: Policy, source: EpisodeSource, sim_settings: dict) -> dict:
    """What run.json records: the settings that determine the results (policy, episode files, simulator
    settings, DTW, the config without its runtime keys) and the inputs' fingerprint, compared on resume;
    and the whole config."""
    files = [str(Path(path).resolve()) for path in source.episode_paths()]
    return {
        "policy": policy.name,
        "episodes": files[0] if len(files) == 1 else files,
        "split": source.split,
        "sim": {"backend": config.sim.backend, **sim_settings},
        "dtw": config.dtw,
        "model_dtype": _model_dtype(config),
        "settings": result_settings(config),
        "inputs": _input_fingerprint(config, source),
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
    config: EvalConfig,
    *,
    hooks: Sequence[EpisodeHook] = (),
    video_hook: Callable[[Path], EpisodeHook] | None = None,
    wrap_policy: Callable[[Policy], Policy] | None = None,
    progress: bool = True,
    overwrite: bool = False,
) -> dict:
    """Run the evaluation ``config`` describes; returns the summary written to ``summary.json``.

    A shard whose siblings are not all finished returns its own summary (``merged: False``); the one
    completing the set returns the merged summary. ``hooks`` get every reset/step/episode end;
    ``config.video`` renders every step and adds ``video_hook(out_dir / "videos")`` to them (closed at the
    end when it has ``close()``). ``wrap_policy`` wraps the configured policy (e.g. DAgger's expert
    labelling, `navagent.train.dagger`); the run records the wrapper's name.

    The output folder is locked for the run (``OutputLockedError`` when another run holds it); its run.json
    records the settings and the inputs' fingerprint, and a resume with other ones raises
    ``InputsChangedError`` naming what changed, unless ``overwrite`` first clears the earlier results.

    Raises ``CheckpointFormatError`` for a directory that is not a navagent/VILA model (before anything is
    written) and ``EpisodeFailuresError`` after the loop when some episodes could not start (the others'
    results are kept; a rerun retries only those)."""
    if config.video and video_hook is None:
        raise ValueError("video=True needs video_hook (the per-episode video writer) to write the videos")
    shard = resolve_shard(config.shard)
    out_dir = check_out_dir(config.out_dir)
    if overwrite and shard is not None:
        raise ValueError(
            "--overwrite clears the whole output folder, which other shards share: clear it once before "
            "starting the shards, or use a new --out"
        )
    source = EPISODE_SOURCES[config.episodes.source](config)
    episodes, truths = load_inputs(source)
    if not episodes:
        raise ValueError(f"{_files_name(source.episode_paths())}: no episodes")
    full_selection = select_episodes(episodes, config.episodes.max_episodes, None)
    selection = select_episodes(episodes, config.episodes.max_episodes, shard)
    check_truths(selection, truths, _files_name(source.gt_paths()))

    policy = POLICIES[config.policy](config)
    if wrap_policy is not None:
        policy = wrap_policy(policy)
    render = policy.needs_rgb or config.video or bool(hooks)  # baselines need no frames
    simulator = SIMULATORS[config.sim.backend](config, render)
    run_config = _run_config(config, policy, source, simulator.settings)
    with output_lock(out_dir, f"{LOCK_NAME}{shard_suffix(shard)}"):
        if overwrite:
            clear_outputs(out_dir)
        _check_run_config(out_dir, run_config, config)
        results = ResultsLog(results_path(out_dir, shard))
        failures = ResultsLog(failures_path(out_dir, shard))
        finished = results.load(repair=True)
        todo = [e for e in selection if e.episode_id not in finished]
        if todo:
            report = _evaluate(
                config, policy, simulator, todo, truths, results, failures, hooks, video_hook, progress
            )
            if report.failures:
                done = len(results.load(repair=False))
                _raise_failures(report.failures, failures.path, results.path, done)
        extra = {"policy": policy.name, "split": source.split, "max_steps": simulator.settings["max_steps"]}
        return _summarize_run(out_dir, results, selection, full_selection, shard, config.dtw, extra, progress)


def _evaluate(
    config: EvalConfig,
    policy: Policy,
    simulator,
    todo: Sequence[Episode],
    truths: dict,
    results: ResultsLog,
    failures: ResultsLog,
    hooks: Sequence[EpisodeHook],
    video_hook: Callable[[Path], EpisodeHook] | None,
    progress: bool,
):
    """Run the ``todo`` episodes on vector environments, appending to ``results`` / ``failures``."""
    video_writer = video_hook(Path(config.out_dir) / "videos") if config.video else None
    try:
        all_hooks = [*hooks, video_writer] if video_writer is not None else list(hooks)
        with VectorNavEnv(min(config.num_envs, len(todo)), simulator.factory) as envs, results, failures:
            return evaluate_episodes(
                policy, envs, todo, truths, results, failures,
                dtw=config.dtw, run_id=_run_id(), hooks=all_hooks, progress=progress,
            )  # fmt: skip
    finally:
        if video_writer is not None and hasattr(video_writer, "close"):
            video_writer.close()  # drops videos of episodes that did not finish
