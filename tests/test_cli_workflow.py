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

    nav = tmp_path / "nav"
    assert (
        main(
            [
                "data",
                "trajectories",
                "--episodes",
                str(data),
                "--split",
                "val_unseen",
                "--out",
                str(nav),
                "--max-episodes",
                "1",
                "--frame-size",
                "32",
                "--rebalance",
                "stop=2",
            ]
        )
        == 0
    )
    records = json.loads((nav / "val_unseen_nav.json").read_text())
    stops = [r for r in records if r["a"].startswith("I think I should stop")]
    assert len(stops) == 2 and all((nav / "frames" / f).exists() for r in records for f in r["frames"])

    trajectories = tmp_path / "oracle.json"
    trajectories.write_text(json.dumps(_oracle_trajectories(gt)))
    out = tmp_path / "scores.json"
    score = ["eval", "score", "--episodes", str(episodes), "--gt", str(gt), "--trajectories", str(trajectories),
             "--out", str(out)]  # fmt: skip
    assert main(score) == 0
    result = json.loads(out.read_text())
    assert result["summary"]["sr"] == 1.0 and result["summary"]["episodes"] == 3
    assert result["summary"]["ne"] < 0.5 and result["summary"]["ndtw"] > 0.9
    assert set(result["episodes"]) == set(_oracle_trajectories(gt))
    assert "SR (success rate)" in capsys.readouterr().out

    # a trajectory that never stops is a timeout: SR 0 however close it ends
    trajectories.write_text(json.dumps(_oracle_trajectories(gt, stop=False)))
    assert main(score) == 0
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


def _vqav2_files(folder):
    """Two questions: 10 x "yes" answered "Yes" (official: 0, no normalisation when all agree) and
    "two" among the answers for a prediction "2" (3 matches after normalisation: 0.9)."""
    cases = {1: ["yes"] * 10, 2: ["2", "2", "two"] + ["3"] * 7}
    questions = {
        "data_subtype": "val2014",
        "questions": [{"image_id": q, "question": "?", "question_id": q} for q in cases],
    }
    annotations = {
        "annotations": [
            {
                "question_id": q,
                "image_id": q,
                "question_type": "what",
                "answer_type": "other",
                "multiple_choice_answer": answers[0],
                "answers": [
                    {"answer": a, "answer_confidence": "yes", "answer_id": i} for i, a in enumerate(answers)
                ],
            }
            for q, answers in cases.items()
        ]
    }
    paths = [folder / "q.json", folder / "a.json", folder / "res.json"]
    paths[0].write_text(json.dumps(questions))
    paths[1].write_text(json.dumps(annotations))
    paths[2].write_text(json.dumps([{"question_id": 1, "answer": "Yes"}, {"question_id": 2, "answer": "2"}]))
    return paths


def test_eval_vqa_scores_official_vqav2_files(tmp_path, capsys):
    questions, annotations, results = _vqav2_files(tmp_path)
    out = tmp_path / "out.json"
    args = [
        "eval",
        "vqa",
        "--tasks",
        "vqav2",
        "--predictions",
        str(results),
        "--questions",
        str(questions),
        "--annotations",
        str(annotations),
        "--out",
        str(out),
    ]
    assert main(args) == 0
    report = json.loads(out.read_text())["vqav2"]
    assert report["overall"] == 45.0 and report["mode"] == "official"  # (0 + 90) / 2
    assert set(report) >= {"overall", "perAnswerType", "perQuestionType"}
    assert main([*args, "--mode", "lmms-eval"]) == 0
    assert json.loads(out.read_text())["vqav2"]["overall"] == 95.0

    # a results file missing a question: a clear error naming it, and the earlier output is untouched
    results.write_text(json.dumps([{"question_id": 1, "answer": "Yes"}]))
    assert main(args) == 2
    assert "2" in capsys.readouterr().err
    assert json.loads(out.read_text())["vqav2"]["overall"] == 95.0


def test_sceneqa_data_and_model_driven_vqa(tmp_path, capsys):
    from navagent.model import (
        build_tiny_model,
        build_tiny_processor,
        build_tiny_tokenizer,
        save_model_and_processor,
    )

    tokenizer = build_tiny_tokenizer()
    checkpoint = save_model_and_processor(
        build_tiny_model(None, tokenizer), build_tiny_processor(None, tokenizer), tmp_path / "ckpt"
    )
    assert (
        main(
            [
                "data",
                "sceneqa",
                "--split",
                "test",
                "--scenes",
                "1",
                "--per-scene",
                "2",
                "--image-size",
                "32",
                "--out",
                str(tmp_path / "sqa"),
            ]
        )
        == 0
    )
    annotations = tmp_path / "sqa" / "test" / "sceneqa_test.json"
    out = tmp_path / "vqa"
    args = [
        "eval",
        "vqa",
        "--tasks",
        "sceneqa",
        "easyvqa",
        "--checkpoint",
        str(checkpoint),
        "--limit",
        "3",
        "--file",
        f"sceneqa.annotations={annotations}",
        "--out",
        str(out),
    ]
    assert main(args) == 0
    scores = json.loads((out / "scores.json").read_text())
    assert set(scores) == {"sceneqa", "easyvqa"}
    lines = (out / "predictions.jsonl").read_text().splitlines()
    assert len(lines) == 6  # 3 answers per task
    assert (
        main(
            [
                "eval",
                "vqa",
                "--tasks",
                "sceneqa",
                "--checkpoint",
                str(tmp_path / "sqa"),
                "--file",
                f"sceneqa.annotations={annotations}",
                "--out",
                str(tmp_path / "bad"),
            ]
        )
        == 2
    )
    assert "sqa" in capsys.readouterr().err


def test_eval_vln_oracle_report_and_the_default_agent(tmp_path):
    data = tmp_path / "data"
    main(["data", "episodes", "--split", "val_seen", "--scenes", "1", "--per-scene", "2", "--out", str(data)])
    out = tmp_path / "run"
    assert (
        main(
            [
                "eval",
                "vln",
                "--policy",
                "oracle",
                "--episodes",
                str(data),
                "--split",
                "val_seen",
                "--num-envs",
                "1",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    summary = json.loads((out / "summary.json").read_text())
    assert summary["sr"] == 1.0 and summary["episodes"] == 2
    assert {
        "ne",
        "sr",
        "osr",
        "spl",
        "tl",
        "ndtw",
        "sdtw",
        "steps",
        "invalid_rate",
        "episodes_per_hour",
    } <= set(summary)
    assert main(["eval", "report", str(out)]) == 0 and (out / "report.html").exists()
    # no --checkpoint and no --policy: the shipped default agent
    default_out = tmp_path / "default"
    assert main(["eval", "vln", "--episodes", str(data), "--split", "val_seen", "--num-envs", "1",
                 "--max-episodes", "1", "--max-steps", "5", "--out", str(default_out)]) == 0  # fmt: skip
    default_summary = json.loads((default_out / "summary.json").read_text())
    assert default_summary["episodes"] == 1 and default_summary["invalid_rate"] == 0.0
    assert "navagent-default" in (default_out / "run.json").read_text()
