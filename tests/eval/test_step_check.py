"""`eval score` replays trajectory steps on built-in scenes: the simulator's own steps pass, a jump, a walk
through a wall and a start off the map are reported per episode and counted in the summary (issue 13)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from navagent.cli import main
from navagent.envs.base import heading_to_forward
from navagent.envs.builtin.episode_gen import write_split
from navagent.envs.builtin.sim import BuiltinNavEnv
from navagent.envs.episodes import load_episodes, r2r_episodes_path, r2r_gt_path
from navagent.eval.step_check import BuiltinStepChecker

SPLIT = "val_unseen"


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("steps")
    write_split(root, SPLIT, num_scenes=1, per_scene=2, seed=0, progress=False)
    return root


def walk_into_wall(motion, start: np.ndarray, heading: float) -> tuple[np.ndarray, np.ndarray]:
    """Forward steps until the motion model stops the agent: (last free position, a point past the wall)."""
    position = np.asarray(start, dtype=np.float64)
    forward = heading_to_forward(heading)
    for _ in range(400):
        end, collided = motion.slide(position[[0, 2]], forward[[0, 2]] * motion.forward_step)
        if collided:
            break
        position = np.array([end[0], position[1], end[1]])
    beyond = position + forward * 0.6
    return position, beyond


def test_checker_flags_jumps_walls_and_off_map_but_not_simulator_steps(data):
    episode = load_episodes(r2r_episodes_path(data, SPLIT))[0]
    motion = BuiltinNavEnv(render=False).load_scene(episode.scene_id).motion
    check = BuiltinStepChecker(motion)
    start, heading = np.asarray(episode.start_position, dtype=np.float64), 0.0
    free_end, beyond = walk_into_wall(motion, start, heading)
    assert check(np.stack([start, start]), np.array([heading, heading + 0.26])) == []  # a turn
    jump = np.stack([start, start + np.array([1e6, 0.0, 0.0])])
    assert "inside an obstacle or off the map" in check(jump, np.zeros(2))[0]
    problems = check(np.stack([free_end, beyond]), np.array([heading, heading]))
    assert problems and ("obstacle" in problems[0] or "more than" in problems[0])
    far = start + heading_to_forward(heading) * 0.1
    assert "is not where MOVE_FORWARD" in check(np.stack([start, far]), np.array([math.pi / 2, 0.0]))[0]


def test_eval_score_reports_impossible_steps_per_episode(data, tmp_path, capsys):
    episodes = load_episodes(r2r_episodes_path(data, SPLIT))
    first, second = episodes[0], episodes[1]
    pose = {"position": list(first.start_position), "heading": 0.0, "stop": False}
    jump = {"position": [first.start_position[0] + 1e6, first.start_position[1], first.start_position[2]],
            "heading": 0.0, "stop": True}  # fmt: skip
    trajectories = {
        first.episode_id: [pose, jump],
        second.episode_id: [{"position": list(second.start_position), "heading": 0.0, "stop": True}],
    }
    path = tmp_path / "traj.json"
    path.write_text(json.dumps(trajectories))
    out = tmp_path / "scored.json"
    argv = [
        "eval",
        "score",
        "--episodes",
        str(r2r_episodes_path(data, SPLIT)),
        "--gt",
        str(r2r_gt_path(data, SPLIT)),
    ]
    assert main([*argv, "--trajectories", str(path), "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "2 episodes, 1 with impossible steps" in captured.out
    assert f"episode {first.episode_id}: 1 impossible steps" in captured.err
    result = json.loads(out.read_text())
    assert result["summary"]["step_check"] == {
        "checked_episodes": 2, "episodes_with_impossible_steps": 1, "impossible_steps": 1,
    }  # fmt: skip
    assert result["episodes"][first.episode_id]["impossible_steps"] == 1
    assert result["episodes"][second.episode_id]["step_problems"] == []
