"""Prediction files, the CLI's scoring function, the registry, and the built-in easy-VQA task."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from navagent.eval.vqa import (
    TASKS,
    PredictionError,
    VqaDataError,
    get_task,
    load_predictions,
    score_predictions,
    write_predictions,
)


def write_gqa(folder: Path) -> Path:
    path = folder / "gqa.json"
    path.write_text(json.dumps({
        "q1": {"imageId": "n1", "question": "Is it red?", "answer": "yes"},
        "q2": {"imageId": "n2", "question": "Which side?", "answer": "left"},
    }))  # fmt: skip
    return path


def write_vqav2(folder: Path) -> dict[str, Path]:
    questions = {
        "data_subtype": "val2014",
        "questions": [{"image_id": 1, "question": "Is it?", "question_id": 7}],
    }
    answers = [{"answer": "yes", "answer_confidence": "yes", "answer_id": i} for i in range(1, 11)]
    annotations = {
        "annotations": [
            {
                "question_id": 7,
                "image_id": 1,
                "question_type": "is it",
                "answer_type": "yes/no",
                "answers": answers,
            }
        ]
    }
    (folder / "q.json").write_text(json.dumps(questions))
    (folder / "a.json").write_text(json.dumps(annotations))
    return {"questions": folder / "q.json", "annotations": folder / "a.json"}


def test_json_and_jsonl_predictions_agree(tmp_path):
    jsonl = tmp_path / "predictions.jsonl"
    jsonl.write_text(
        '{"task": "vqav2", "question_id": 7, "answer": "Yes"}\n\n{"task": "gqa", "question_id": "q1", "answer": "no"}\n'
    )
    write_predictions(tmp_path / "predictions.json", load_predictions(jsonl))
    expected = {"vqav2": {"7": "Yes"}, "gqa": {"q1": "no"}}
    assert load_predictions(jsonl) == expected
    assert load_predictions(tmp_path / "predictions.json") == expected


def test_bad_prediction_files_name_the_record(tmp_path):
    repeated = tmp_path / "repeated.jsonl"
    repeated.write_text(
        '{"task": "gqa", "question_id": "q1", "answer": "a"}\n{"task": "gqa", "question_id": "q1", "answer": "b"}\n'
    )
    with pytest.raises(VqaDataError, match="record 2: repeated prediction for task 'gqa' question 'q1'"):
        load_predictions(repeated)
    missing = tmp_path / "missing.jsonl"
    missing.write_text('{"task": "gqa", "answer": "a"}\n')
    with pytest.raises(VqaDataError, match="record 1: missing field 'question_id'"):
        load_predictions(missing)
    not_text = tmp_path / "not_text.json"
    not_text.write_text('{"gqa": {"q1": 5}}')
    with pytest.raises(VqaDataError, match="task 'gqa': field 'q1': expected str"):
        load_predictions(not_text)


def test_score_predictions_writes_reports_keyed_by_task(tmp_path):
    files = {"gqa": {"questions": write_gqa(tmp_path)}, "vqav2": write_vqav2(tmp_path)}
    predictions = tmp_path / "predictions.json"
    write_predictions(predictions, {"vqav2": {"7": "Yes"}, "gqa": {"q1": "Yes", "q2": "right"}, "pope": {}})
    out = tmp_path / "out" / "OUT.json"
    reports = score_predictions(["vqav2", "gqa"], predictions, files, out)
    assert json.loads(out.read_text()) == reports
    assert sorted(reports) == ["gqa", "vqav2"]
    assert (
        reports["vqav2"]["overall"] == 0.0 and reports["vqav2"]["mode"] == "official"
    )  # "Yes" vs 10 x "yes"
    assert reports["gqa"]["accuracy"] == 50.0
    lenient = score_predictions(
        ["vqav2"], predictions, files, out, score_options={"vqav2": {"mode": "lmms-eval"}}
    )
    assert (lenient["vqav2"]["overall"], lenient["vqav2"]["mode"]) == (100.0, "lmms-eval")
    assert json.loads(out.read_text()) == lenient


def test_score_predictions_errors(tmp_path):
    files = {"gqa": {"questions": write_gqa(tmp_path)}}
    predictions = tmp_path / "predictions.json"
    write_predictions(predictions, {"gqa": {"q1": "yes", "q3": "no"}})
    with pytest.raises(ValueError, match="unknown VQA task 'gqa2'"):
        score_predictions(["gqa2"], predictions, files, tmp_path / "OUT.json")
    with pytest.raises(
        ValueError, match=r"gqa: files \['question'\] do not fit \['questions', 'image_dir'\]"
    ):
        score_predictions(["gqa"], predictions, {"gqa": {"question": "x.json"}}, tmp_path / "OUT.json")
    with pytest.raises(ValueError, match=r"gqa: score options \['mode'\] do not fit"):
        score_predictions(
            ["gqa"], predictions, files, tmp_path / "OUT.json", score_options={"gqa": {"mode": "x"}}
        )
    with pytest.raises(PredictionError, match=r"no predictions for tasks \['textvqa'\]"):
        score_predictions(["textvqa"], predictions, files, tmp_path / "OUT.json")
    with pytest.raises(
        PredictionError, match=r"no prediction for 1 id: \['q2'\].*unknown question 1 id: \['q3'\]"
    ):
        score_predictions(["gqa"], predictions, files, tmp_path / "OUT.json")
    assert not (tmp_path / "OUT.json").exists()


def test_registry_lists_every_benchmark():
    assert sorted(TASKS) == sorted(
        ["vqav2", "gqa", "textvqa", "pope", "mme", "scienceqa_img", "mmbench", "videomme", "mvbench", "egoschema",
         "scanqa", "easyvqa", "sceneqa"]
    )  # fmt: skip
    assert all(
        name == task.name and callable(task.load) and callable(task.score) for name, task in TASKS.items()
    )
    with pytest.raises(ValueError, match="known"):
        get_task("coco")


def test_easyvqa_loads_from_the_installed_package():
    easy_vqa = pytest.importorskip("easy_vqa")
    questions, answers, _ = easy_vqa.get_test_questions()
    task = get_task("easyvqa")
    samples = task.load()
    assert len(samples) == len(questions) > 0
    assert (samples[0].question, samples[0].answers) == (questions[0], (answers[0],))
    assert samples[0].images[0].is_file() and samples[0].images[0].suffix == ".png"
    assert samples[0].prompt(task.answer_instruction).startswith(questions[0])
    perfect = task.score(samples, {s.question_id: s.answers[0].upper() + "." for s in samples})
    assert perfect["accuracy"] == 100.0
    always_yes = task.score(samples, {s.question_id: "yes" for s in samples})
    assert always_yes["accuracy"] == round(100 * answers.count("yes") / len(answers), 2)
    assert always_yes["per_answer"]["yes"] == 100.0 and always_yes["per_answer"]["no"] == 0.0
