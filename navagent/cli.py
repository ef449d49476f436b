"""`navagent` command line. Each subcommand parses its arguments and delegates to one library function;
imports are lazy so `navagent --help` is instant and optional dependencies load only when used."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _cmd_demo(args: argparse.Namespace) -> None:
    from navagent.demo import format_demo_result, run_demo

    result = run_demo(
        checkpoint=args.checkpoint,
        policy=args.policy,
        episodes=args.episodes,
        split=args.split,
        episode_id=args.episode_id,
        out_dir=args.out,
        size=args.size,
        fps=args.fps,
        seed=args.seed,
        max_steps=args.max_steps,
        dtype=args.dtype,
    )
    print(format_demo_result(result))


# `eval vln` flags -> EvalConfig keys (flags not given leave the preset's value)
_EVAL_VLN_FLAGS = {
    "checkpoint": "checkpoint", "policy": "policy", "episodes": "episodes.dir", "split": "episodes.split",
    "source": "episodes.source", "languages": "episodes.languages", "max_episodes": "episodes.max_episodes",
    "sim": "sim.backend", "scenes_dir": "sim.scenes_dir", "habitat_simulator": "sim.habitat_simulator",
    "max_steps": "sim.max_steps", "num_envs": "num_envs", "shard": "shard", "dtw": "dtw", "out": "out_dir",
    "video": "video", "dtype": "dtype",
}  # fmt: skip
_DTYPE_HELP = "model dtype (default: float16 for VILA/NaVILA directories on a GPU, float32 on the CPU)"


def _cmd_eval_vln(args: argparse.Namespace) -> None:
    import functools
    import json

    from navagent.demo.episode_video import EpisodeVideoHook
    from navagent.eval.vln import load_eval_config, run_vln_eval

    given = {key: getattr(args, flag) for flag, key in _EVAL_VLN_FLAGS.items() if getattr(args, flag)}
    flags = [f"--{key}={json.dumps(value, default=str)}" for key, value in given.items()]
    config = load_eval_config(args.config, [*flags, *(f"--{item}" for item in args.set)])
    video_hook = functools.partial(EpisodeVideoHook, fps=8, label=config.policy)
    run_vln_eval(config, video_hook=video_hook, overwrite=args.overwrite)


def _cmd_eval_actions(args: argparse.Namespace) -> None:
    from navagent.eval.vln.action_accuracy import format_action_accuracy, run_action_accuracy

    summary = run_action_accuracy(
        args.checkpoint, args.records, args.frames_root, args.out, args.max_records, args.batch_size
    )
    print(format_action_accuracy(summary))
    print(f"wrote {args.out}")


def _cmd_eval_report(args: argparse.Namespace) -> None:
    from navagent.eval.report import write_html_report

    print(write_html_report(args.run_dir, args.out))


def _cmd_data_episodes(args: argparse.Namespace) -> None:
    from navagent.envs.builtin.episode_gen import write_split

    paths = write_split(args.out, args.split, args.scenes, args.per_scene, args.seed)
    for path in paths:
        print(path)


def _cmd_data_trajectories(args: argparse.Namespace) -> None:
    from navagent.train.trajectories import generate_trajectory_data

    kwargs = {}
    if args.no_rebalance:
        kwargs["rebalance"] = None
    elif args.rebalance:
        kwargs["rebalance"] = _parse_rebalance(args.rebalance)
    print(
        generate_trajectory_data(
            args.episodes,
            args.split,
            args.out,
            sim=args.sim,
            frame_size=args.frame_size,
            recovery_per_episode=args.recovery,
            recovery_seed=args.seed,
            max_episodes=args.max_episodes,
            stop_label_distance=args.stop_label_distance,
            view_labels=args.view_labels,
            **kwargs,
        )
    )


def _int_at_least(text: str, minimum: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {text!r}") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {value}")
    return value


def _positive_int(text: str) -> int:
    """argparse type: an integer >= 1 (a clear usage error otherwise)."""
    return _int_at_least(text, 1)


def _non_negative_int(text: str) -> int:
    """argparse type: an integer >= 0 (seeds, counts that may be zero)."""
    return _int_at_least(text, 0)


def _fraction(text: str) -> float:
    """argparse type: a finite number in [0, 1]."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {text!r}") from None
    if not 0.0 <= value <= 1.0:  # NaN fails too
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {text}")
    return value


def _out_folder(text: str) -> Path:
    """argparse type: an output folder (new or existing), not an existing file."""
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is an existing file; expected a folder")
    return path


def _out_file(text: str) -> Path:
    """argparse type: an output file path, not an existing folder."""
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is an existing folder; expected a file path")
    return path


def _shard(text: str) -> str:
    """argparse type: ``i/n`` with 0 <= i < n."""
    from navagent.eval.vln.inputs import parse_shard

    try:
        parse_shard(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


def _parse_rebalance(items: list[str]) -> dict[str, int]:
    """["stop=3", "turn_45=2"] -> {"stop": 3, "turn_45": 2}."""
    table = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not value.isdigit():
            raise ValueError(f"--rebalance {item!r}: expected LABEL=COPIES, e.g. stop=3")
        table[key] = int(value)
    return table


def _cmd_sim_render(args: argparse.Namespace) -> None:
    from navagent.envs.builtin.snapshot import render_snapshot

    for path in render_snapshot(args.scene, args.out, size=args.size, seed=args.seed):
        print(path)


def _cmd_eval_score(args: argparse.Namespace) -> None:
    from navagent.envs.builtin.sim import BuiltinNavEnv
    from navagent.eval.score import format_summary_table, score_trajectories
    from navagent.eval.step_check import BuiltinStepChecker
    from navagent.fileio import write_json_atomic

    sim = BuiltinNavEnv(render=False)

    def distance_fn_for_scene(scene_id: str):
        planner = sim.load_scene(scene_id).planner
        return planner.distance_to_goal

    result = score_trajectories(
        args.episodes,
        args.gt,
        args.trajectories,
        distance_fn_for_scene,
        dtw=args.dtw,
        step_checker_for_scene=lambda scene_id: BuiltinStepChecker(sim.load_scene(scene_id).motion),
    )
    print(format_summary_table(result["summary"]))
    check = result["summary"]["step_check"]
    print(
        f"steps checked against the simulator: {check['checked_episodes']} episodes, "
        f"{check['episodes_with_impossible_steps']} with impossible steps"
    )
    for episode_id, scored in result["episodes"].items():
        if scored.get("impossible_steps"):
            shown = "; ".join(scored["step_problems"])
            print(f"navagent: warning: episode {episode_id}: {scored['impossible_steps']} impossible steps: {shown}",
                  file=sys.stderr)  # fmt: skip
    write_json_atomic(args.out, result)
    print(f"wrote {args.out}")


def _parse_task_files(items: list[str]) -> dict[str, dict[str, str]]:
    """["gqa.questions=q.json", ...] -> {"gqa": {"questions": "q.json"}}."""
    task_files: dict[str, dict[str, str]] = {}
    for item in items:
        key, sep, path = item.partition("=")
        task, dot, keyword = key.partition(".")
        if not (sep and dot and task and keyword and path):
            raise ValueError(f"--file {item!r}: expected TASK.KEYWORD=PATH, e.g. gqa.questions=q.json")
        task_files.setdefault(task, {})[keyword] = path
    return task_files


def _cmd_eval_vqa(args: argparse.Namespace) -> None:
    from navagent.output_guard import check_out_dir, check_out_file

    (check_out_dir if args.checkpoint is not None else check_out_file)(args.out)  # a folder with --checkpoint
    options = {"vqav2": {"mode": args.mode}} if "vqav2" in args.tasks else None
    if args.checkpoint is not None:  # answer with a model, then score
        from navagent.eval.vqa.runner import run_vqa_eval

        reports = run_vqa_eval(
            args.tasks,
            args.checkpoint,
            _parse_task_files(args.file),
            args.out,
            batch_size=args.batch_size,
            max_new_tokens=args.max_new_tokens,
            limit=args.limit,
            score_options=options,
            overwrite=args.overwrite,
        )
    elif args.questions or args.annotations:  # VQAv2's official file formats
        from navagent.eval.vqa.tasks.vqav2 import score_vqav2_files
        from navagent.fileio import write_json_atomic

        if args.tasks != ["vqav2"] or not (args.questions and args.annotations):
            raise ValueError("--questions/--annotations score VQAv2 files: use --tasks vqav2 and give both")
        reports = {"vqav2": score_vqav2_files(args.predictions, args.questions, args.annotations, args.mode)}
        write_json_atomic(args.out, reports)
    else:
        from navagent.eval.vqa.predictions import score_predictions

        reports = score_predictions(
            args.tasks, args.predictions, _parse_task_files(args.file), args.out, score_options=options
        )
    for task, report in reports.items():
        headline = {k: v for k, v in report.items() if isinstance(v, (int, float, str))}
        print(task, headline)
    print(f"wrote {args.out}")


def _cmd_data_sceneqa(args: argparse.Namespace) -> None:
    from navagent.envs.builtin.sceneqa import write_sceneqa

    print(
        write_sceneqa(
            args.out, args.split, args.scenes, args.per_scene, args.seed, image_size=args.image_size
        )
    )


def _cmd_data_views(args: argparse.Namespace) -> None:
    from navagent.train.view_data import write_views

    print(
        write_views(
            args.out,
            args.split,
            args.scenes,
            args.per_scene,
            args.seed,
            image_size=args.image_size,
            on_path_fraction=args.on_path_fraction,
        )
    )


def _cmd_pretrain_tower(args: argparse.Namespace) -> None:
    from navagent.train.tower_pretrain import pretrain_tower_from_config

    print(pretrain_tower_from_config(args.config, args.overrides))


def _cmd_bench_sim(args: argparse.Namespace) -> None:
    from navagent.benchmarks.sim import run_sim_benchmark

    run_sim_benchmark(steps=args.steps, processes=args.processes, repeats=args.repeats).print()


def _cmd_bench_eval(args: argparse.Namespace) -> None:
    from navagent.benchmarks.eval import run_eval_benchmark

    run_eval_benchmark(num_episodes=args.episodes, max_steps=args.max_steps, num_envs=args.num_envs).print()


def _cmd_bench_agent(args: argparse.Namespace) -> None:
    from navagent.benchmarks.agent import run_agent_benchmark

    run_agent_benchmark(
        steps_per_episode=args.steps_per_episode,
        num_episodes=args.episodes,
        batch_sizes=tuple(args.batch_sizes),
        frame_size=args.frame_size,
    ).print()


def _cmd_data_dagger(args: argparse.Namespace) -> None:
    from navagent.train.dagger import run_dagger_round

    print(
        run_dagger_round(
            args.checkpoint,
            args.episodes,
            args.out,
            split=args.split,
            prefix=args.prefix,
            num_envs=args.num_envs,
            max_episodes=args.max_episodes,
            max_steps=args.max_steps,
            stop_distance=args.stop_label_distance,
            shard=args.shard,
            view_labels=args.view_labels,
        )
        or "rollouts done; the annotation is written by the shard that finishes last"
    )


def _cmd_data_features(args: argparse.Namespace) -> None:
    from navagent.train.run import build_feature_cache_from_config

    print(build_feature_cache_from_config(args.config, args.overrides))


def _cmd_train(args: argparse.Namespace) -> None:
    from navagent.train.config import load_train_config

    config = load_train_config(args.config, args.overrides)  # config errors before torch loads
    from navagent.train.run import run_training

    print(run_training(config))


def _cmd_bench_train(args: argparse.Namespace) -> None:
    from navagent.benchmarks.train import run_train_benchmark

    run_train_benchmark(
        batch_size=args.batch_size, max_length=args.max_length, device=args.device, precision=args.precision
    ).print()


def _cmd_bench_features(args: argparse.Namespace) -> None:
    from navagent.benchmarks.features import run_features_benchmark

    run_features_benchmark(
        houses=args.houses,
        views_per_house=args.views_per_house,
        workers=args.workers,
        model_preset=args.model,
    ).print()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="navagent", description="Vision-and-language navigation with a VILA-style video VLM."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    from navagent.eval.vln.config import DTYPE_NAMES
    from navagent.eval.vln.registry import EPISODE_SOURCES, POLICIES, SIMULATORS

    demo = commands.add_parser(
        "demo", help="run one episode and write an MP4 (view, map, instruction, model text, metrics) + PNG"
    )
    demo.add_argument("--checkpoint", type=Path, help="model directory (navagent or VILA format)")
    demo.add_argument(
        "--policy", choices=sorted(set(POLICIES) - {"checkpoint"}), help="a baseline instead of a model"
    )
    demo.add_argument(
        "--episodes", type=Path, help="episode file or data root (default: a generated episode)"
    )
    demo.add_argument("--split", default="val_unseen")
    demo.add_argument("--episode-id", help="episode to run (default: the first)")
    demo.add_argument("--out", type=_out_folder, default=Path("out/demo"), help="output folder")
    demo.add_argument("--size", type=_positive_int, default=224, help="egocentric view size in pixels")
    demo.add_argument("--fps", type=_positive_int, default=8)
    demo.add_argument(
        "--seed", type=_non_negative_int, default=0, help="picks the generated episode; seeds baselines"
    )
    demo.add_argument("--max-steps", type=_positive_int, default=500)
    demo.add_argument("--dtype", choices=DTYPE_NAMES, help=_DTYPE_HELP)
    demo.set_defaults(func=_cmd_demo)

    data = commands.add_parser("data", help="generate data sets").add_subparsers(
        dest="data_command", required=True
    )
    episodes = data.add_parser(
        "episodes", help="write R2R-CE-format episodes (+ ground truth) from built-in houses"
    )
    episodes.add_argument(
        "--split",
        required=True,
        choices=["train", "val_seen", "val_unseen", "val_unseen_lang"],
        help="val_unseen: unseen houses, training phrasing (R2R); val_unseen_lang: other unseen houses with "
        "the held-out phrasing",
    )
    episodes.add_argument("--scenes", type=_positive_int, default=10, help="number of houses (default 10)")
    episodes.add_argument(
        "--per-scene", type=_positive_int, default=20, help="episodes per house (default 20)"
    )
    episodes.add_argument(
        "--seed", type=_non_negative_int, default=0, help="same seed -> byte-identical files"
    )
    episodes.add_argument(
        "--out", type=_out_folder, required=True, help="data root; writes OUT/SPLIT/SPLIT.json.gz"
    )
    episodes.set_defaults(func=_cmd_data_episodes)

    trajectories = data.add_parser(
        "trajectories",
        help="render oracle walks of episodes into NaVILA-format training records + JPEG frames",
    )
    trajectories.add_argument(
        "--episodes", type=Path, required=True, help="R2R-CE data root (DIR/SPLIT/SPLIT.json.gz)"
    )
    trajectories.add_argument("--split", default="train")
    trajectories.add_argument("--sim", choices=["builtin", "habitat"], default="builtin")
    trajectories.add_argument(
        "--out", type=_out_folder, required=True, help="writes OUT/SPLIT_nav.json and OUT/frames/"
    )
    trajectories.add_argument("--frame-size", type=_positive_int, default=224)
    trajectories.add_argument(
        "--recovery", type=_non_negative_int, default=0, help="recovery samples per episode (default 0)"
    )
    trajectories.add_argument(
        "--seed", type=_non_negative_int, default=0, help="seed of the recovery perturbations"
    )
    trajectories.add_argument("--max-episodes", type=_positive_int, default=None)
    trajectories.add_argument(
        "--stop-label-distance",
        type=float,
        default=None,
        metavar="METRES",
        help="also label STOP every decision within this geodesic distance of the goal once the route is done "
        "(goal-region STOP; the walk still ends 0.2 m from the goal; default: off)",
    )
    trajectories.add_argument(
        "--view-labels",
        action="store_true",
        help="store the simulator's labels of each record's current view (rooms, doorways, objects per image "
        "sector) for questions inside the navigation prompt (registry view_questions)",
    )
    trajectories.add_argument(
        "--rebalance",
        nargs="+",
        metavar="LABEL=COPIES",
        help="duplication table, e.g. stop=3 turn_30=2 turn_45=2 (the default)",
    )
    trajectories.add_argument("--no-rebalance", action="store_true", help="each record once")
    trajectories.set_defaults(func=_cmd_data_trajectories)

    dagger = data.add_parser(
        "dagger",
        help="DAgger round: a checkpoint drives episodes in closed loop, the route expert labels its decision "
        "points -> NaVILA records + frames (OUT/train_nav.json, OUT/frames/)",
    )
    dagger.add_argument("--checkpoint", type=Path, required=True, help="the model that drives")
    dagger.add_argument(
        "--episodes", type=Path, required=True, help="R2R-CE data root (DIR/SPLIT/SPLIT.json.gz)"
    )
    dagger.add_argument("--split", default="train")
    dagger.add_argument("--out", type=_out_folder, required=True)
    dagger.add_argument("--prefix", default="dagger", help="frame-folder prefix of this round, e.g. dagger1")
    dagger.add_argument("--num-envs", type=_positive_int, default=8)
    dagger.add_argument("--max-episodes", type=_positive_int, default=None)
    dagger.add_argument("--max-steps", type=_positive_int, default=300, help="low-level steps per rollout")
    dagger.add_argument(
        "--stop-label-distance",
        type=float,
        default=0.2,
        metavar="METRES",
        help="the labelling expert says STOP within this distance of the goal once the route is done (default 0.2)",
    )
    dagger.add_argument(
        "--view-labels",
        action="store_true",
        help="each record also carries the simulator's labels of its current view (for view questions)",
    )
    dagger.add_argument(
        "--shard", default=None, help="'i/n': this process's share of the episodes (default: torchrun's RANK)"
    )
    dagger.set_defaults(func=_cmd_data_dagger)

    features = data.add_parser(
        "features",
        help="cache the frozen vision tower's outputs for every frame of a train config's mixture "
        "(written to its data.feature_cache)",
    )
    features.add_argument("config", type=Path, help="a train config with data.feature_cache set")
    features.add_argument("overrides", nargs=argparse.REMAINDER, help="--section.key value ...")
    features.set_defaults(func=_cmd_data_features)

    sceneqa = data.add_parser("sceneqa", help="generate the scene-QA benchmark (rendered views + questions)")
    sceneqa.add_argument("--split", choices=["train", "test"], default="test")
    sceneqa.add_argument("--scenes", type=_positive_int, default=20, help="number of houses")
    sceneqa.add_argument(
        "--per-scene", type=_positive_int, default=8, help="views per house (up to 9 questions each)"
    )
    sceneqa.add_argument("--seed", type=_non_negative_int, default=0)
    sceneqa.add_argument("--image-size", type=_positive_int, default=224)
    sceneqa.add_argument(
        "--out", type=_out_folder, required=True, help="writes OUT/SPLIT/sceneqa_SPLIT.json + images/"
    )
    sceneqa.set_defaults(func=_cmd_data_sceneqa)

    views = data.add_parser(
        "views", help="stage-0 vision data: rendered views of a split's houses + simulator labels"
    )
    views.add_argument(
        "--split", required=True, choices=["train", "val_seen", "val_unseen", "val_unseen_lang"]
    )
    views.add_argument("--scenes", type=_positive_int, default=200, help="number of houses (default 200)")
    views.add_argument("--per-scene", type=_positive_int, default=32, help="views per house (default 32)")
    views.add_argument("--seed", type=_non_negative_int, default=0, help="same seed -> same views")
    views.add_argument("--image-size", type=_positive_int, default=224)
    views.add_argument(
        "--on-path-fraction", type=_fraction, default=0.5, help="share of views along shortest paths"
    )
    views.add_argument(
        "--out", type=_out_folder, required=True, help="writes OUT/SPLIT/views_SPLIT.json + images/"
    )
    views.set_defaults(func=_cmd_data_views)

    sim = commands.add_parser("sim", help="built-in simulator tools").add_subparsers(
        dest="sim_command", required=True
    )
    render = sim.add_parser("render", help="render a view and a top-down map of a built-in house")
    render.add_argument("--scene", default="builtin/house_000000", help="scene id, e.g. builtin/house_000042")
    render.add_argument("--out", type=_out_folder, default=Path("out/snapshot"), help="output directory")
    render.add_argument("--size", type=_positive_int, default=224, help="frame size in pixels (default 224)")
    render.add_argument("--seed", type=_non_negative_int, default=0, help="picks the shown start/goal pair")
    render.set_defaults(func=_cmd_sim_render)

    train = commands.add_parser(
        "train",
        help="supervised fine-tuning from a YAML config",
        description="Train from CONFIG.yaml; any --section.key value pairs override the config.",
    )
    train.add_argument("config", type=Path, help="e.g. configs/train/tiny_easyvqa.yaml")
    train.add_argument("overrides", nargs=argparse.REMAINDER, help="--section.key value ...")
    train.set_defaults(func=_cmd_train)

    pretrain_tower = commands.add_parser(
        "pretrain-tower",
        help="stage 0: pretrain the vision tower on labelled house views + easy-vqa",
        description="Pretrain from CONFIG.yaml; any --section.key value pairs override the config.",
    )
    pretrain_tower.add_argument("config", type=Path, help="e.g. configs/train/stage0/tower-pretrain.yaml")
    pretrain_tower.add_argument("overrides", nargs=argparse.REMAINDER, help="--section.key value ...")
    pretrain_tower.set_defaults(func=_cmd_pretrain_tower)

    evaluate = commands.add_parser("eval", help="evaluation").add_subparsers(
        dest="eval_command", required=True
    )
    vln = evaluate.add_parser(
        "vln",
        help="closed-loop VLN-CE evaluation (batched, sharded, resumable) of a checkpoint or a baseline",
        description="Runs episodes on vector environments; writes OUT/results.jsonl (one line per episode, "
        "resumable), OUT/summary.json and OUT/trajectories.json (VLN-CE r2r format). Settings: the --config "
        "preset (configs/eval/), then the flags, then --set KEY=VALUE (EvalConfig keys, e.g. sim.max_steps=20).",
    )
    vln.add_argument("--config", type=Path, help="EvalConfig YAML preset, e.g. configs/eval/r2r-builtin.yaml")
    vln.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="dotted config override")
    vln.add_argument("--checkpoint", type=Path, help="model directory (default: the shipped default agent)")
    vln.add_argument("--policy", choices=sorted(POLICIES), help="default: checkpoint")
    vln.add_argument("--episodes", type=Path, help="episode data root (DIR/SPLIT/SPLIT.json.gz)")
    vln.add_argument("--split", help="default: val_unseen")
    vln.add_argument("--source", choices=sorted(EPISODE_SOURCES), help="episode files (default: r2r)")
    vln.add_argument("--sim", choices=sorted(SIMULATORS), help="simulator (default: builtin)")
    vln.add_argument("--scenes-dir", type=Path, help="habitat scenes root (default: data/scene_datasets)")
    vln.add_argument("--languages", nargs="+", help="RxR-CE language filter, e.g. en-US hi-IN")
    vln.add_argument(
        "--habitat-simulator",
        choices=["habitat", "builtin"],
        help="with --sim habitat: habitat-sim (default), or the built-in simulator inside habitat-lab",
    )
    vln.add_argument(
        "--num-envs", type=_positive_int, help="simulators in subprocesses, one batched model call (8)"
    )
    vln.add_argument(
        "--shard",
        type=_shard,
        help="i/n: every n-th episode from i (default under torchrun: RANK/WORLD_SIZE)",
    )
    vln.add_argument("--max-episodes", type=_positive_int, help="only the first K episodes")
    vln.add_argument(
        "--max-steps", type=_positive_int, help="step limit per episode (default: 500, VLN-CE's)"
    )
    vln.add_argument("--video", action="store_true", help="also write OUT/videos/EPISODE.mp4")
    vln.add_argument("--dtw", choices=["exact", "fastdtw"])
    vln.add_argument("--dtype", choices=DTYPE_NAMES, help=_DTYPE_HELP)
    vln.add_argument("--out", type=_out_folder, help="output folder (default: runs/eval)")
    vln.add_argument(
        "--overwrite",
        action="store_true",
        help="drop the folder's earlier results (run.json, results, summaries, videos) instead of resuming",
    )
    vln.set_defaults(func=_cmd_eval_vln)

    actions = evaluate.add_parser(
        "actions",
        help="open-loop action accuracy of a checkpoint on recorded navigation records (held-out oracle walks)",
        description="Asks the agent for its next action on each NaVILA record (e.g. `navagent data "
        "trajectories --split val_unseen --no-rebalance`) and compares it with the record's answer: exact and "
        "same-kind accuracy, per-label rows, the confusion table, and the majority-label floor.",
    )
    actions.add_argument(
        "--checkpoint", type=Path, help="model directory (default: the shipped default agent)"
    )
    actions.add_argument(
        "--records", type=Path, required=True, help="NaVILA records, e.g. OUT/val_unseen_nav.json"
    )
    actions.add_argument(
        "--frames-root", type=Path, required=True, help="folder the frame paths are relative to"
    )
    actions.add_argument("--max-records", type=_positive_int, help="only the first K records")
    actions.add_argument("--batch-size", type=_positive_int, default=16)
    actions.add_argument("--out", type=_out_file, required=True, help="summary JSON")
    actions.set_defaults(func=_cmd_eval_actions)

    score = evaluate.add_parser(
        "score", help="score an offline trajectory file (VLN-CE r2r inference format)"
    )
    score.add_argument("--episodes", type=Path, required=True, help="SPLIT.json.gz episode file")
    score.add_argument("--gt", type=Path, required=True, help="SPLIT_gt.json.gz ground-truth file")
    score.add_argument(
        "--trajectories", type=Path, required=True, help="{episode_id: [{position, heading, stop}]}"
    )
    score.add_argument("--out", type=_out_file, required=True, help="output JSON {summary, episodes}")
    score.add_argument("--dtw", choices=["exact", "fastdtw"], default="exact", help="DTW used for nDTW/sDTW")
    score.set_defaults(func=_cmd_eval_score)

    vqa = evaluate.add_parser(
        "vqa",
        help="score VQA benchmark predictions (VQAv2 official format, GQA, POPE, MME, ...)",
        description="Score a predictions file: {task: {question_id: answer}} (.json) or JSON lines "
        "{task, question_id, answer}; for VQAv2 official files give --questions and --annotations.",
    )
    vqa.add_argument("--tasks", nargs="+", required=True, help="task names, e.g. vqav2 gqa pope mme easyvqa")
    source = vqa.add_mutually_exclusive_group(required=True)
    source.add_argument("--predictions", type=Path, help="score this predictions / VQAv2 results file")
    source.add_argument(
        "--checkpoint", type=Path, help="answer with this model, then score (OUT is a folder)"
    )
    vqa.add_argument(
        "--limit", type=_positive_int, default=None, help="with --checkpoint: first N samples per task"
    )
    vqa.add_argument("--batch-size", type=_positive_int, default=8, help="with --checkpoint")
    vqa.add_argument("--max-new-tokens", type=_positive_int, default=16, help="with --checkpoint")
    vqa.add_argument("--questions", type=Path, help="VQAv2 questions JSON (official format)")
    vqa.add_argument("--annotations", type=Path, help="VQAv2 annotations JSON (official format)")
    vqa.add_argument(
        "--file",
        action="append",
        default=[],
        metavar="TASK.KEYWORD=PATH",
        help="a benchmark file, e.g. gqa.questions=testdev_balanced_questions.json (repeatable)",
    )
    vqa.add_argument(
        "--mode", choices=["official", "lmms-eval"], default="official", help="VQAv2 normalisation"
    )
    vqa.add_argument(
        "--overwrite",
        action="store_true",
        help="with --checkpoint: drop OUT's earlier predictions instead of resuming",
    )
    vqa.add_argument(
        "--out", type=Path, required=True, help="output JSON keyed by task (a folder with --checkpoint)"
    )
    vqa.set_defaults(func=_cmd_eval_vqa)

    report = evaluate.add_parser("report", help="HTML report of an evaluation run (summary + episode videos)")
    report.add_argument("run_dir", type=Path, help="the OUT_DIR of `navagent eval vln`")
    report.add_argument("--out", type=_out_file, default=None, help="default: RUN_DIR/report.html")
    report.set_defaults(func=_cmd_eval_report)

    bench = commands.add_parser("bench", help="speed benchmarks").add_subparsers(
        dest="bench_command", required=True
    )
    bench_sim = bench.add_parser(
        "sim", help="simulator steps/s (RGB 224/384, depth on/off, 1 and N processes)"
    )
    bench_sim.add_argument(
        "--steps", type=_positive_int, default=1000, help="random steps per process per case"
    )
    bench_sim.add_argument(
        "--processes", type=_positive_int, default=None, help="processes for the parallel cases"
    )
    bench_sim.add_argument(
        "--repeats", type=_positive_int, default=2, help="runs per case; the best is reported"
    )
    bench_sim.set_defaults(func=_cmd_bench_sim)
    bench_eval = bench.add_parser("eval", help="closed-loop episodes/hour: 8 batched envs vs one at a time")
    bench_eval.add_argument("--episodes", type=_positive_int, default=8)
    bench_eval.add_argument("--max-steps", type=_positive_int, default=20, help="step cap per episode")
    bench_eval.add_argument("--num-envs", type=_positive_int, default=8)
    bench_eval.set_defaults(func=_cmd_bench_eval)
    bench_agent = bench.add_parser(
        "agent", help="agent step latency, encoder frames/step with/without the feature cache, batching"
    )
    bench_agent.add_argument("--episodes", type=_positive_int, default=16, help="synthetic episodes per case")
    bench_agent.add_argument(
        "--steps-per-episode", type=_positive_int, default=10, help="low-level steps per episode"
    )
    bench_agent.add_argument("--batch-sizes", type=_positive_int, nargs="+", default=[1, 4, 8, 16])
    bench_agent.add_argument(
        "--frame-size", type=_positive_int, default=224, help="observation size in pixels"
    )
    bench_agent.set_defaults(func=_cmd_bench_agent)
    bench_train = bench.add_parser(
        "train", help="training samples/s and non-padding share, with/without packing"
    )
    bench_train.add_argument("--batch-size", type=_positive_int, default=8)
    bench_train.add_argument("--max-length", type=_positive_int, default=1024)
    bench_train.add_argument("--device", default="cpu", help="cpu or cuda")
    bench_train.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    bench_train.set_defaults(func=_cmd_bench_train)
    bench_features = bench.add_parser(
        "features", help="feature-cache frames/s: decoding in the tower's process vs in worker processes"
    )
    bench_features.add_argument("--houses", type=_positive_int, default=2, help="generated train houses")
    bench_features.add_argument("--views-per-house", type=_positive_int, default=256)
    bench_features.add_argument("--workers", type=_positive_int, nargs="+", default=[1, 2])
    bench_features.add_argument("--model", help="model preset (default: configs/model/nav-conv-agent.yaml)")
    bench_features.set_defaults(func=_cmd_bench_features)
    return parser


def _expected_error_line(err: BaseException) -> str | None:
    """The one-line message of an expected failure (bad input, a file system refusal), None for anything
    else: internal bugs (KeyError, TypeError, ...) keep their traceback."""
    if isinstance(err, OSError):  # missing / unreadable / wrong kind of path, locked folder, bad gzip
        if err.filename is not None and err.strerror:
            names = " -> ".join(str(name) for name in (err.filename, err.filename2) if name is not None)
            return f"{names}: {err.strerror}"
        return str(err) or type(err).__name__
    yaml = sys.modules.get("yaml")
    if isinstance(err, ValueError) or (yaml is not None and isinstance(err, yaml.YAMLError)):
        return " ".join(str(err).split())  # config, format, record and argument errors; one line
    if isinstance(err, EOFError):  # a truncated compressed file read outside our validated loaders
        return f"truncated input file: {err}"
    return None


def main(argv: list[str] | None = None) -> int:
    """Run one command; expected failures print one ``navagent: error: ...`` line and return 2."""
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except Exception as err:
        line = _expected_error_line(err)
        if line is None:
            raise
        print(f"navagent: error: {line}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
