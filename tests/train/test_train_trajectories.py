"""Trajectory data (`navagent data trajectories`): expert walks of 1 built-in scene x 2 episodes, 32 px
frames, turned into NaVILA records; merging, STOP, replay, rebalancing, recovery samples, files,
bad input, skipped episodes."""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from navagent.agent.actions import CANONICAL_OUTPUTS, STOP_TEXT, merge_low_level_steps, parse_action
from navagent.envs.base import Action, AgentState, Goal
from navagent.envs.builtin.episode_gen import write_split
from navagent.envs.builtin.expert import RouteExpert, snap_to_free
from navagent.envs.builtin.motion import wrap_angle
from navagent.envs.builtin.sim import BuiltinNavEnv
from navagent.envs.episodes import EpisodeFileError, load_episodes, r2r_episodes_path, save_episodes
from navagent.train import trajectories
from navagent.train.datasets import load_navigation_dataset
from navagent.train.mixtures import build_dataset, load_registry
from navagent.train.recovery import (
    LATERAL_OFFSET_RANGE,
    MIN_OFF_PATH,
    distance_to_polyline,
    route_direction,
    sample_recoveries,
)
from navagent.train.samples import DataRecordError, load_sample_images, resolve_under_root
from navagent.train.trajectories import (
    DEFAULT_REBALANCE,
    ExpertWalkError,
    SimulatorNotAvailableError,
    SkippedEpisodeWarning,
    TrajectoryDataError,
    annotation_path,
    frame_path,
    label_key,
    recovery_frame_path,
    recovery_rng,
    skipped_path,
    trajectory_data_root,
    walk_episode,
)
from navagent.train.trajectories import generate_trajectory_data as generate

SIZE, RECOVERIES, SEED = 32, 2, 3
REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def episodes_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("episodes")
    write_split(root, "train", num_scenes=1, per_scene=2, seed=SEED, progress=False)
    return root


@pytest.fixture(scope="module")
def episodes(episodes_dir):
    return load_episodes(r2r_episodes_path(episodes_dir, "train"))


@pytest.fixture(scope="module")
def scene(episodes):
    return BuiltinNavEnv(render=False).load_scene(episodes[0].scene_id)


@pytest.fixture(scope="module")
def rebalanced(episodes_dir, tmp_path_factory) -> Path:
    """Default arguments (STOP x3, 30/45 degree turns x2) with 2 recovery samples per episode."""
    out = tmp_path_factory.mktemp("data_root") / "builtin_r2r"  # where the shipped registry entry looks
    return generate(
        episodes_dir, "train", out, frame_size=SIZE, recovery_per_episode=RECOVERIES, progress=False
    )


@pytest.fixture(scope="module")
def plain(episodes_dir, tmp_path_factory) -> Path:
    """Same episodes and recoveries, every record once."""
    out = tmp_path_factory.mktemp("plain")
    return generate(
        episodes_dir,
        "train",
        out,
        frame_size=SIZE,
        rebalance=None,
        recovery_per_episode=RECOVERIES,
        progress=False,
    )


def read(path: Path) -> list[dict]:
    return json.loads(path.read_text())


def unique(records: list[dict]) -> list[dict]:
    """Records with duplicates (rebalancing copies) removed, in order."""
    seen, result = set(), []
    for record in records:
        if record["video_id"] not in seen:
            seen.add(record["video_id"])
            result.append(record)
    return result


def path_records_by_video(records: list[dict]) -> dict[str, list[dict]]:
    """Decision-point records (no recovery ones) of each episode video, in order."""
    grouped: dict[str, list[dict]] = {}
    for record in unique(records):
        video, _, number = record["video_id"].rpartition("-")
        if not number.startswith("r"):
            grouped.setdefault(video, []).append(record)
    return grouped


# -------------------------------------------------------------------------------------------- output


def test_records_load_through_navigation_dataset(rebalanced):
    records = read(rebalanced)
    assert rebalanced == annotation_path(rebalanced.parent, "train")
    dataset = load_navigation_dataset(rebalanced, trajectory_data_root(rebalanced.parent), num_frames=8)
    assert len(dataset) == len(records) > 0
    sample = dataset[len(dataset) - 1]
    assert sample.messages[1]["content"] == records[-1]["a"]
    images = load_sample_images(sample, black_size=SIZE)
    assert len(images) == 8 and all(image.size == (SIZE, SIZE) for image in images)


def test_the_shipped_registry_entry_reads_the_output(rebalanced):
    registry = load_registry(REPO_ROOT / "configs" / "data" / "registry.yaml")
    dataset = build_dataset(registry["builtin_r2r"], data_root=rebalanced.parent.parent)
    assert len(dataset) == len(read(rebalanced)) and dataset.name == "builtin_r2r"


def test_frame_files_exist_resolve_under_root_and_are_jpeg(rebalanced, episodes):
    root = trajectory_data_root(rebalanced.parent)
    referenced = set()
    for index, record in enumerate(read(rebalanced)):
        for frame in record["frames"]:
            path = resolve_under_root(root, frame, f"record {index}")
            assert path.is_file() and path.resolve().is_relative_to(root.resolve())
            referenced.add(path)
    assert {p.parent.name for p in referenced} == {f"train_{e.episode_id}" for e in episodes}
    on_disk = {p for p in root.rglob("*") if p.is_file()}
    assert on_disk == referenced  # nothing stray (no leftover temp files)
    with Image.open(min(referenced)) as image:
        assert image.format == "JPEG" and image.size == (SIZE, SIZE)


def test_labels_are_canonical_and_merged_up_to_75_cm_and_45_degrees(rebalanced):
    limits = {Action.MOVE_FORWARD: 75, Action.TURN_LEFT: 45, Action.TURN_RIGHT: 45}
    units = {Action.MOVE_FORWARD: 25, Action.TURN_LEFT: 15, Action.TURN_RIGHT: 15}
    assert {r["a"] for r in read(rebalanced)} <= set(CANONICAL_OUTPUTS)
    for video, records in path_records_by_video(read(rebalanced)).items():
        actions = [parse_action(r["a"]).action for r in records]
        for action in actions[:-1]:
            assert action.kind != Action.STOP and 0 < action.amount <= limits[action.kind]
        for j, (current, following) in enumerate(itertools.pairwise(actions)):
            # a decision point sits exactly num_steps low-level steps (frames) after the previous one
            assert len(records[j + 1]["frames"]) - len(records[j]["frames"]) == current.num_steps
            assert records[j + 1]["frames"][: -current.num_steps] == records[j]["frames"]
            if following.kind == current.kind:  # merging stopped only because the next step would exceed
                assert current.amount + units[current.kind] > limits[current.kind], (video, j)
        assert records[0]["frames"] == [frame_path(video, 0)]


def test_each_walk_ends_with_the_stop_record(rebalanced, episodes):
    grouped = path_records_by_video(read(rebalanced))
    assert set(grouped) == {f"train_{e.episode_id}" for e in episodes}
    for records in grouped.values():
        assert records[-1]["a"] == STOP_TEXT
        assert all(r["a"] != STOP_TEXT for r in records[:-1])


def test_replaying_the_labels_from_the_start_reaches_the_goal(rebalanced, episodes, scene):
    grouped = path_records_by_video(read(rebalanced))
    for episode in episodes:
        records = grouped[f"train_{episode.episode_id}"]
        assert all(r["q"] == episode.instruction_text for r in records)
        state = AgentState(np.asarray(episode.start_position, dtype=np.float64), episode.start_heading)
        steps = 0
        for record in records[:-1]:
            for action in parse_action(record["a"]).action.to_low_level():
                state, _ = scene.motion.step(state, int(action))
                steps += 1
        goal = np.asarray(episode.goals[0].position)
        assert scene.planner.distance_to_goal(state.position, goal) < 0.5
        assert len(records[-1]["frames"]) == steps + 1  # one frame per low-level step, the start view first


def test_rebalancing_duplicates_each_record_by_its_label(rebalanced, plain):
    once, balanced = read(plain), read(rebalanced)
    assert unique(balanced) == once  # same records, and deterministic across runs
    counts = Counter(r["video_id"] for r in balanced)
    for record in once:
        assert counts[record["video_id"]] == DEFAULT_REBALANCE.get(
            label_key(parse_action(record["a"]).action), 1
        )
    stops = sum(r["a"] == STOP_TEXT for r in once)
    assert sum(r["a"] == STOP_TEXT for r in balanced) == 3 * stops
    for frame in once[-1]["frames"]:  # equal pixels, equal JPEG bytes
        assert (trajectory_data_root(plain.parent) / frame).read_bytes() == (
            trajectory_data_root(rebalanced.parent) / frame
        ).read_bytes()


def test_custom_rebalance_and_its_validation(episodes_dir, episodes, tmp_path, plain):
    path = generate(
        episodes_dir,
        "train",
        tmp_path,
        frame_size=SIZE,
        rebalance={"forward_75": 4},
        max_episodes=1,
        progress=False,
    )
    first = path_records_by_video(read(plain))[f"train_{episodes[0].episode_id}"]
    assert len(read(path)) == sum(4 if r["a"].endswith("forward 75 cm.") else 1 for r in first)
    assert unique(read(path)) == first
    for bad, message in (({"turn_60": 2}, "unknown label 'turn_60'"), ({"stop": 0}, r"rebalance\['stop'\]")):
        with pytest.raises(TrajectoryDataError, match=message):
            generate(episodes_dir, "train", tmp_path / "bad", rebalance=bad, progress=False)


# ------------------------------------------------------------------------------------------ recovery


def test_recovery_samples_start_off_path_and_their_label_corrects(episodes, scene):
    found = 0
    for episode in episodes:
        walk = walk_episode(episode, scene)
        walked = np.array([s.position for s in walk.states])
        samples = sample_recoveries(walk.expert, walk.states, 4, recovery_rng(7, episode.episode_id))
        found += len(samples)
        for sample in samples:
            position = sample.state.position
            offset = float(np.hypot(*(position - sample.on_path.position)[[0, 2]]))
            assert LATERAL_OFFSET_RANGE[0] - 1e-9 <= offset <= LATERAL_OFFSET_RANGE[1] + 1e-9
            assert distance_to_polyline(position, walked) >= MIN_OFF_PATH
            assert scene.motion.is_free(position) and scene.planner.is_navigable(position)
            assert sample.actions[-1] == Action.STOP and sample.label.kind != Action.STOP
            progress = walk.expert.progress(walked[: sample.step].tolist() + [position])
            target, _ = walk.expert.steering_point(position, progress)
            target3 = np.array([target[0], position[1], target[1]])
            after = sample.state
            for action in sample.label.to_low_level():
                after, _ = scene.motion.step(after, int(action))
            if sample.label.kind == Action.MOVE_FORWARD:  # closer to where the expert is heading
                assert np.hypot(*(after.position - target3)[[0, 2]]) < np.hypot(*(position - target3)[[0, 2]])
            else:  # facing the way back better
                direction = route_direction(walk.expert, sample.state, progress)
                desired = math.atan2(-direction[0], -direction[1])
                assert abs(wrap_angle(desired - after.heading)) < abs(
                    wrap_angle(desired - sample.state.heading)
                )
            end = sample.state
            for action in sample.actions[:-1]:
                end, _ = scene.motion.step(end, action)
            assert scene.planner.distance_to_goal(end.position, walk.waypoints[-1]) < 0.5
    assert found >= len(episodes) * 2  # draws rarely fail in an ordinary house


def test_recovery_records_carry_the_path_history_then_the_perturbed_view(rebalanced, plain, episodes, scene):
    records = {r["video_id"]: r for r in read(plain)}
    for episode in episodes:
        video = f"train_{episode.episode_id}"
        walk = walk_episode(episode, scene)
        samples = sample_recoveries(walk.expert, walk.states, RECOVERIES, recovery_rng(0, video))
        assert len(samples) == RECOVERIES
        for k, sample in enumerate(samples):
            record = records[f"{video}-r{k}"]
            assert record["a"] == sample.label.to_text()
            history = [frame_path(video, i) for i in range(sample.step)]
            assert record["frames"] == history + [recovery_frame_path(video, k)]
    assert (
        len(read(plain)) == sum(len(v) for v in path_records_by_video(read(plain)).values()) + 2 * RECOVERIES
    )


def test_prev_is_the_walks_move_before_each_record(plain, episodes, scene):
    """Path records: the previous decision's action as walked (null first); recovery records: the walk's
    steps since its last decision point before the perturbation. The dataset states it in the prompt."""
    records = {r["video_id"]: r for r in read(plain)}
    for episode in episodes:
        video = f"train_{episode.episode_id}"
        walk = walk_episode(episode, scene)
        points = trajectories.decision_points(walk.actions)
        path = path_records_by_video(read(plain))[video]
        assert [r["prev"] for r in path] == [None] + [action.phrase for _, action in points[:-1]]
        starts = [step for step, _ in points]
        samples = sample_recoveries(walk.expert, walk.states, RECOVERIES, recovery_rng(0, video))
        for k, sample in enumerate(samples):
            start = max([s for s in starts if s < sample.step], default=0)
            moves = merge_low_level_steps(walk.actions[start : sample.step])
            assert records[f"{video}-r{k}"]["prev"] == (moves[-1].phrase if moves else None)
    dataset = load_navigation_dataset(plain, trajectory_data_root(plain.parent), "nav", previous_action=True)
    told = [s.messages[0]["content"] for s in dataset.samples]
    assert sum(p.endswith("You have not moved yet.") for p in told) >= len(episodes)
    assert sum("Your previous action was: turn" in p for p in told) >= 1


# ------------------------------------------------------------------------------------- bad input etc.


def test_snap_to_free_moves_points_grazing_an_obstacle(scene):
    free_space = scene.planner.free_space
    for x0, z0, x1, z1 in free_space.blocked:
        z = (z0 + z1) / 2
        if x1 - x0 > 0.4 and z1 - z0 > 0.4 and free_space.is_free(x0 - 0.01, z):
            break
    grazing = np.array([x0 + 0.001, 0.0, z])
    snapped = snap_to_free(free_space, grazing)
    assert snapped is not None and free_space.is_free(snapped[0], snapped[2])
    assert np.hypot(*(snapped - grazing)[[0, 2]]) <= 0.01
    assert snap_to_free(free_space, np.array([x0 + 0.2, 0.0, z])) is None
    free = np.array([x0 - 0.01, 0.0, z])
    assert snap_to_free(free_space, free) is free


def test_bad_episodes_dir_is_a_clear_error(tmp_path, episodes_dir):
    with pytest.raises(FileNotFoundError, match="episodes directory .*missing does not exist"):
        generate(tmp_path / "missing", "train", tmp_path / "out", progress=False)
    with pytest.raises(FileNotFoundError, match=r"val_seen\.json\.gz does not exist .*R2R-CE layout"):
        generate(episodes_dir, "val_seen", tmp_path / "out", progress=False)
    corrupt = tmp_path / "corrupt"
    r2r_episodes_path(corrupt, "train").parent.mkdir(parents=True)
    r2r_episodes_path(corrupt, "train").write_text('{"episodes": [{"episode_id": 1}]}')
    with pytest.raises(EpisodeFileError, match="train.json.gz"):
        generate(corrupt, "train", tmp_path / "out", progress=False)
    assert not (tmp_path / "out" / "train_nav.json").exists()


def test_habitat_is_not_available_yet(tmp_path, episodes_dir):
    with pytest.raises(SimulatorNotAvailableError, match="--sim habitat is not available yet"):
        generate(episodes_dir, "train", tmp_path / "out", sim="habitat", progress=False)
    with pytest.raises(TrajectoryDataError, match="sim must be one of"):
        generate(episodes_dir, "train", tmp_path / "out", sim="mujoco", progress=False)
    assert not (tmp_path / "out").exists()


def test_failed_run_leaves_no_partial_annotation(tmp_path, episodes):
    broken = dataclasses.replace(episodes[1], goals=(Goal(position=(500.0, 0.0, 500.0)),))
    source = tmp_path / "episodes"
    r2r_episodes_path(source, "train").parent.mkdir(parents=True)
    save_episodes(r2r_episodes_path(source, "train"), [episodes[0], broken])
    out = tmp_path / "out"
    out.mkdir()
    previous = annotation_path(out, "train")
    previous.write_text("[]\n")
    with pytest.raises(TrajectoryDataError, match=rf"episode '{broken.episode_id}'.*goals\[0\]\.position"):
        generate(source, "train", out, frame_size=SIZE, progress=False)
    assert previous.read_text() == "[]\n"  # the old annotation is untouched, no temp file is left
    assert sorted(p.name for p in out.iterdir()) == ["frames", "train_nav.json"]


# ---------------------------------------------------------------------------------- skipped episodes


@pytest.fixture
def expert_fails_on_second(monkeypatch, episodes):
    """The expert cannot finish ``episodes[1]`` (5 steps allowed): a genuine ExpertWalkError."""
    walk = trajectories.walk_episode

    def short_walk(episode, scene, max_steps=trajectories.MAX_STEPS):
        return walk(episode, scene, 5 if episode.episode_id == episodes[1].episode_id else max_steps)

    monkeypatch.setattr(trajectories, "walk_episode", short_walk)
    return episodes[1]


def test_no_skips_are_listed_as_none(rebalanced):
    listing = json.loads(skipped_path(rebalanced.parent, "train").read_text())
    assert listing == {"episodes": 2, "skipped": [], "split": "train"}


def test_an_episode_the_expert_cannot_finish_is_skipped_and_listed(
    episodes_dir, episodes, expert_fails_on_second, plain, tmp_path, capsys
):
    with pytest.warns(
        SkippedEpisodeWarning, match=rf"skipped episode 1 .*'{expert_fails_on_second.episode_id}'"
    ):
        path = generate(
            episodes_dir,
            "train",
            tmp_path,
            frame_size=SIZE,
            rebalance=None,
            recovery_per_episode=RECOVERIES,
            progress=False,
            max_skipped_share=0.5,
        )
    kept = f"train_{episodes[0].episode_id}"
    assert read(path) == [r for r in read(plain) if r["video_id"].rpartition("-")[0] == kept]
    assert sorted(p.name for p in trajectory_data_root(tmp_path).iterdir()) == [kept]  # nothing rendered
    listing = json.loads(skipped_path(tmp_path, "train").read_text())
    assert listing["episodes"] == 2 and len(listing["skipped"]) == 1
    entry = listing["skipped"][0]
    assert entry["episode_id"] == episodes[1].episode_id and entry["scene_id"] == episodes[1].scene_id
    assert "the expert ended" in entry["reason"] and "after 5 steps" in entry["reason"]
    assert "skipped 1 of 2 train episodes" in capsys.readouterr().err


def test_more_skips_than_the_allowed_share_fail_the_run(episodes_dir, expert_fails_on_second, tmp_path):
    previous = annotation_path(tmp_path, "train")
    previous.write_text("[]\n")
    with (
        pytest.warns(SkippedEpisodeWarning),
        pytest.raises(TrajectoryDataError, match=r"could not finish 1 of 2"),
    ):
        generate(episodes_dir, "train", tmp_path, frame_size=SIZE, progress=False)  # default: 1 %
    assert previous.read_text() == "[]\n"
    listing = json.loads(skipped_path(tmp_path, "train").read_text())
    assert [s["episode_id"] for s in listing["skipped"]] == [expert_fails_on_second.episode_id]
    with pytest.raises(TrajectoryDataError, match="max_skipped_share must be in"):
        generate(episodes_dir, "train", tmp_path, progress=False, max_skipped_share=1.5)


def test_walk_episode_tells_an_unfinished_walk_from_bad_input(episodes, scene):
    with pytest.raises(ExpertWalkError, match=r"ended .* from the goal after 5 steps"):
        walk_episode(episodes[0], scene, max_steps=5)
    off = dataclasses.replace(episodes[0], start_position=(500.0, 0.0, 500.0))
    with pytest.raises(TrajectoryDataError, match="is not navigable") as info:
        walk_episode(off, scene)
    assert not isinstance(info.value, ExpertWalkError)


def test_recovery_poses_where_the_expert_loops_are_not_kept(episodes, scene):
    class SpinningExpert(RouteExpert):  # rules that loop: turn 45 degrees left in place, forever
        def decide(self, state, progress, previous_turn=None):
            return [int(Action.TURN_LEFT)] * 3

    walk = walk_episode(episodes[0], scene)
    spinning = SpinningExpert(scene.planner, scene.motion, walk.waypoints)
    assert spinning.walk(walk.states[0]).loops > 0  # the walk's fallback still reaches the goal ...
    assert sample_recoveries(spinning, walk.states, 2, recovery_rng(0, "x")) == []  # ... but labels none
    assert len(sample_recoveries(walk.expert, walk.states, 2, recovery_rng(0, "x"))) == 2


# ------------------------------------------------------------------------------------ goal-region STOP


def test_goal_region_stop_labels_keep_the_walk_and_label_stop_only_near_the_goal(
    episodes_dir, plain, tmp_path
):
    """--stop-label-distance: same records, frames and walk; STOP where the expert with that stop distance
    would stop (geodesic < distance once every route point but the goal is passed), nowhere else."""
    distance = 1.5
    labelled = generate(
        episodes_dir,
        "train",
        tmp_path / "goal_region",
        frame_size=SIZE,
        rebalance=None,
        recovery_per_episode=RECOVERIES,
        progress=False,
        stop_label_distance=distance,
    )
    before, after = read(plain), read(labelled)
    assert [(r["video_id"], r["frames"], r["q"]) for r in before] == [
        (r["video_id"], r["frames"], r["q"]) for r in after
    ]
    changed = [(b, a) for b, a in zip(before, after) if b["a"] != a["a"]]
    assert changed and all(a["a"] == STOP_TEXT for _, a in changed)  # only ever relabelled to STOP
    env = BuiltinNavEnv(render=False)
    for episode in load_episodes(r2r_episodes_path(episodes_dir, "train")):
        scene = env.load_scene(episode.scene_id)
        walk = trajectories.walk_episode(episode, scene)
        records = path_records_by_video(after)[f"train_{episode.episode_id}"]
        stops = [n for n, r in enumerate(records) if r["a"] == STOP_TEXT]
        assert stops == list(range(stops[0], len(records)))  # from the first STOP on, every decision
        for number, (step, _) in enumerate(trajectories.decision_points(walk.actions)):
            geodesic = scene.planner.distance_to_goal(walk.states[step].position, walk.waypoints[-1])
            if number in stops:
                assert geodesic < distance
    with pytest.raises(trajectories.TrajectoryDataError, match="stop_label_distance"):
        generate(episodes_dir, "train", tmp_path / "bad", frame_size=SIZE, stop_label_distance=3.5)


def test_view_labels_add_the_current_views_labels_and_change_nothing_else(episodes_dir, plain, tmp_path):
    """--view-labels: the same records and frame bytes as without, each record with its current view's labels
    (the room it stands in, per sector doorways and the rooms behind them); the navigation dataset asks about
    them after the action, mirrored with the frames for a mirrored twin."""
    labelled = generate(
        episodes_dir,
        "train",
        tmp_path / "views",
        frame_size=SIZE,
        rebalance=None,
        recovery_per_episode=RECOVERIES,
        progress=False,
        view_labels=True,
    )
    before, after = read(plain), read(labelled)
    assert before == [{k: v for k, v in r.items() if k != "view"} for r in after]
    for record in after[:12]:
        frame = record["frames"][-1]
        assert (trajectory_data_root(labelled.parent) / frame).read_bytes() == (
            trajectory_data_root(plain.parent) / frame
        ).read_bytes()
    env = BuiltinNavEnv(render=False)
    for episode in load_episodes(r2r_episodes_path(episodes_dir, "train")):
        scene = env.load_scene(episode.scene_id)
        walk = trajectories.walk_episode(episode, scene)
        records = path_records_by_video(after)[f"train_{episode.episode_id}"]
        for record, (step, _) in zip(records, trajectories.decision_points(walk.actions), strict=True):
            x, _, z = walk.states[step].position
            assert record["view"]["room"] == scene.house.room_at(float(x), float(z)).room_type
            view = record["view"]
            assert all(door or room is None for door, room in zip(view["door"], view["through"], strict=True))
    assert any(any(r["view"]["door"]) for r in after)
    dataset = load_navigation_dataset(
        labelled, trajectory_data_root(labelled.parent), "nav", 8, True, True, 8
    )
    record = next(r for r in after if r["view"]["door"][:2] != r["view"]["door"][2:][::-1])
    number = after.index(record)
    sample, twin = dataset.samples[2 * number], dataset.samples[2 * number + 1]
    assert sample.messages[1]["content"] == record["a"] and len(sample.messages) > 2
    asked = {
        m["content"].split("\n")[0]: n["content"]
        for m, n in zip(sample.messages[2::2], sample.messages[3::2])
    }
    mirrored = {
        m["content"].split("\n")[0]: n["content"] for m, n in zip(twin.messages[2::2], twin.messages[3::2])
    }
    for side, other in (("left", "right"), ("right", "left")):
        question = f"Is there a doorway on your {side}?"
        assert asked[question] == mirrored[f"Is there a doorway on your {other}?"]
    with pytest.raises(DataRecordError, match="view questions need the current view's labels"):
        load_navigation_dataset(plain, trajectory_data_root(plain.parent), "nav", 8, True, False, 1)
