"""VQAv2 official file formats: a tiny hand-made set scored end to end, in both modes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from navagent.eval.vqa import PredictionError, VqaDataError, score_vqav2_files
from navagent.eval.vqa.tasks import vqav2

# question_id -> (question_type, answer_type, the 10 human answers, prediction, official acc, lmms-eval acc)
CASES = {
    1: ("is the", "yes/no", ["yes"] * 10, "Yes", 0.0, 1.0),  # all agree: no normalisation officially
    2: ("how many", "number", ["2", "2", "two"] + ["3"] * 7, "2", 0.9, 0.9),  # "two" -> "2": 3 matches
    3: ("what color", "other", ["red"] + ["blue"] * 9, "red", 0.3, 0.3),
    4: ("is the", "yes/no", ["no"] * 10, "no", 1.0, 1.0),
}


def write_official_files(folder: Path) -> tuple[Path, Path]:
    questions = {
        "info": {},
        "task_type": "Open-Ended",
        "data_type": "mscoco",
        "data_subtype": "val2014",
        "license": {},
        "questions": [
            {"image_id": 40 + qid, "question": f"question {qid}?", "question_id": qid} for qid in CASES
        ],
    }
    annotations = {
        "annotations": [
            {
                "question_id": qid,
                "image_id": 40 + qid,
                "question_type": qtype,
                "answer_type": atype,
                "multiple_choice_answer": answers[0],
                "answers": [
                    {"answer": a, "answer_confidence": "yes", "answer_id": i + 1}
                    for i, a in enumerate(answers)
                ],
            }
            for qid, (qtype, atype, answers, *_rest) in CASES.items()
        ]
    }
    (folder / "questions.json").write_text(json.dumps(questions))
    (folder / "annotations.json").write_text(json.dumps(annotations))
    return folder / "questions.json", folder / "annotations.json"


def write_results(path: Path, records: list[dict]) -> Path:
    path.write_text(json.dumps(records))
    return path


@pytest.fixture
def official_files(tmp_path):
    return write_official_files(tmp_path)


def predictions() -> dict[str, str]:
    return {str(qid): case[3] for qid, case in CASES.items()}


def test_load_builds_samples_with_coco_image_paths(official_files, tmp_path):
    questions, annotations = official_files
    samples = vqav2.load(questions, annotations, image_dir=tmp_path / "val2014")
    assert [s.question_id for s in samples] == ["1", "2", "3", "4"]
    assert samples[0].images == (tmp_path / "val2014" / "COCO_val2014_000000000041.jpg",)
    assert samples[1].answers == ("2", "2", "two") + ("3",) * 7
    assert samples[2].metadata["answer_type"] == "other"
    assert samples[0].prompt(vqav2.ANSWER_INSTRUCTION) == "question 1?\n" + vqav2.ANSWER_INSTRUCTION
    assert vqav2.load(questions)[0].answers == ()  # test-dev style: no annotations


def test_official_and_lmms_eval_modes_on_hand_computed_values(official_files):
    samples = vqav2.load(*official_files)
    official = vqav2.score(samples, predictions())
    assert official["mode"] == "official"
    assert official["overall"] == 55.0  # (0 + 0.9 + 0.3 + 1) / 4
    assert official["perAnswerType"] == {"number": 90.0, "other": 30.0, "yes/no": 50.0}
    assert official["perQuestionType"] == {"how many": 90.0, "is the": 50.0, "what color": 30.0}
    lmms = vqav2.score(samples, predictions(), mode="lmms-eval")
    assert (lmms["mode"], lmms["overall"], lmms["perAnswerType"]["yes/no"]) == ("lmms-eval", 80.0, 100.0)


def test_results_file_round_trip(official_files, tmp_path):
    results = tmp_path / "results.json"
    vqav2.write_results(results, predictions())
    records = json.loads(results.read_text())
    assert records == [{"answer": case[3], "question_id": qid} for qid, case in CASES.items()]
    report = score_vqav2_files(results, *official_files)
    assert report == {
        "overall": 55.0,
        "perAnswerType": {"number": 90.0, "other": 30.0, "yes/no": 50.0},
        "perQuestionType": {"how many": 90.0, "is the": 50.0, "what color": 30.0},
        "mode": "official",
    }
    assert score_vqav2_files(results, *official_files, mode="lmms-eval")["overall"] == 80.0


def test_results_must_cover_exactly_the_annotated_ids(official_files, tmp_path):
    missing = write_results(
        tmp_path / "missing.json", [{"question_id": q, "answer": "yes"} for q in (1, 2, 3)]
    )
    with pytest.raises(PredictionError, match=r"no prediction for 1 id: \['4'\]"):
        score_vqav2_files(missing, *official_files)
    extra = [{"question_id": q, "answer": "yes"} for q in (1, 2, 3, 4, 99, 100)]
    with pytest.raises(PredictionError, match=r"unknown question 2 ids: \['100', '99'\]"):
        score_vqav2_files(write_results(tmp_path / "extra.json", extra), *official_files)
    repeated = [{"question_id": q, "answer": "yes"} for q in (1, 2, 3, 4, 4)]
    with pytest.raises(VqaDataError, match="repeated question_id '4'"):
        score_vqav2_files(write_results(tmp_path / "repeated.json", repeated), *official_files)


def test_malformed_annotations_name_the_record(official_files, tmp_path):
    questions, annotations = official_files
    document = json.loads(annotations.read_text())
    del document["annotations"][2]["answers"]
    annotations.write_text(json.dumps(document))
    with pytest.raises(VqaDataError, match=r"annotations\[2\]: missing field 'answers'"):
        vqav2.load(questions, annotations)
    document["annotations"].pop(2)
    annotations.write_text(json.dumps(document))
    with pytest.raises(VqaDataError, match="no annotation for question_id '3'"):
        vqav2.load(questions, annotations)


def test_samples_without_answers_cannot_be_scored(official_files):
    with pytest.raises(VqaDataError, match="without answers"):
        vqav2.score(vqav2.load(official_files[0]), predictions())
