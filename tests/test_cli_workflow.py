"""The issue-2 workflow through the real CLI: generate episodes, render a house, score an oracle
trajectory file built from the ground truth (SR = 1, NE < 0.5 m), and reject a bad trajectory file."""

import gzip
import json

from navagent.cli import main


def _oracle_trajectories(gt_path, stop=True) -> dict:
    with gzip.open(gt_path, "rt") as f:
        gt = json.load(f)
    return {
        episode_id: [
            {"position": p, "heading": 0.0, "stop": stop and i == len(record["locations"])}
            for i, p in enumerate([*record["locations"], record["locations"][-1]])
        ]
        for episode_id, record in gt.items()
    }


def test_episodes_render_and_score(tmp_path, capsys):
    data = tmp_path / "data"
    assert (
        main(
            [
                "data",
                "episodes",
                "--split",
                "val_unseen",
                "--scenes",
                "1",
                "--per-scene",
                "3",
                "--seed",
                "4",
                "--out",
                str(data),
            ]
        )
        == 0
    )
    episodes = data / "val_unseen" / "val_unseen.json.gz"
    gt = data / "val_unseen" / "val_unseen_gt.json.gz"
    assert episodes.exists() and gt.exists()

    assert (
        main(
            [
                "sim",
                "render",
                "--scene",
                "builtin/house_000002",
                "--out",
                str(tmp_path / "snap"),
                "--size",
                "64",
            ]
        )
        == 0
    )
    assert (tmp_path / "snap" / "frame.png").exists() and (tmp_path / "snap" / "topdown.png").exists()

    trajectories = tmp_path / "oracle.json"
    trajectories.write_text(json.dumps(_oracle_trajectories(gt)))
    out = tmp_path / "scores.json"
    assert (
        main(
            [
                "eval",
                "score",
                "--episodes",
                str(episodes),
                "--gt",
                str(gt),
                "--trajectories",
                str(trajectories),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    result = json.loads(out.read_text())
    assert result["summary"]["sr"] == 1.0 and result["summary"]["episodes"] == 3
    assert result["summary"]["ne"] < 0.5 and result["summary"]["ndtw"] > 0.9
    assert set(result["episodes"]) == set(_oracle_trajectories(gt))
    assert "SR (success rate)" in capsys.readouterr().out

    # a trajectory that never stops is a timeout: SR 0 however close it ends
    trajectories.write_text(json.dumps(_oracle_trajectories(gt, stop=False)))
    assert (
        main(
            [
                "eval",
                "score",
                "--episodes",
                str(episodes),
                "--gt",
                str(gt),
                "--trajectories",
                str(trajectories),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert json.loads(out.read_text())["summary"]["sr"] == 0.0


def test_score_rejects_unknown_episode_ids_and_writes_nothing(tmp_path, capsys):
    data = tmp_path / "data"
    main(["data", "episodes", "--split", "val_seen", "--scenes", "1", "--per-scene", "2", "--out", str(data)])
    gt = data / "val_seen" / "val_seen_gt.json.gz"
    bad = _oracle_trajectories(gt)
    bad["999999"] = bad[next(iter(bad))]
    trajectories = tmp_path / "bad.json"
    trajectories.write_text(json.dumps(bad))
    out = tmp_path / "scores.json"
    code = main(
        [
            "eval",
            "score",
            "--episodes",
            str(data / "val_seen" / "val_seen.json.gz"),
            "--gt",
            str(gt),
            "--trajectories",
            str(trajectories),
            "--out",
            str(out),
        ]
    )
    assert code == 2 and not out.exists()
    assert "999999" in capsys.readouterr().err
