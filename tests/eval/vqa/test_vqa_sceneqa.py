"""The sceneqa task: loading generated files, exact-match / yes-no scoring against hand-computed cases."""

from __future__ import annotations

import json

import pytest

from navagent.envs.builtin.sceneqa import write_sceneqa
from navagent.eval.vqa import TASKS, VqaDataError, score_predictions
from navagent.eval.vqa.tasks import sceneqa


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    out = tmp_path_factory.mktemp("sceneqa")
    return write_sceneqa(out, "test", num_scenes=1, per_scene=2, seed=0, image_size=64, progress=False)


def _record(qid, qtype, answers, config=None, category=None):
    return {
        "id": qid,
        "image": "images/v.png",
        "question": f"question {qid}",
        "answer": answers[0],
        "answers": answers,
        "type": qtype,
        "category": category,
        "pope_config": config,
    }


HAND_MADE = [
    _record("r", "room", ["living room"]),
    _record("c", "color", ["gray", "grey"], category="sofa"),
    _record("n", "count", ["2", "two"], category="chair"),
    _record("y1", "existence", ["yes"], "random", "lamp"),
    _record("n1", "existence", ["no"], "random", "bed"),
    _record("y2", "existence", ["yes"], "adversarial", "sofa"),
    _record("n2", "existence", ["no"], "adversarial", "tv"),
]


@pytest.fixture
def hand_made(tmp_path):
    path = tmp_path / "split" / "sceneqa_test.json"
    path.parent.mkdir()
    path.write_text(json.dumps(HAND_MADE))
    return path


def test_generated_files_load_and_perfect_answers_score_100(generated):
    samples = sceneqa.load(generated)
    records = json.loads(generated.read_text())
    assert [s.question_id for s in samples] == [r["id"] for r in records]
    assert all(s.images[0].is_file() for s in samples)
    report = sceneqa.score(samples, {s.question_id: s.answers[-1].capitalize() + "." for s in samples})
    assert report["accuracy"] == 100.0 and report["unparsed"] == 0
    assert set(report["per_type"]) == {"room", "color", "count", "existence"}
    assert set(report["per_type"].values()) == {100.0}
    assert report["existence"]["overall"]["f1"] == 100.0


def test_always_yes_gets_half_the_balanced_existence_questions(generated):
    samples = sceneqa.load(generated)
    report = sceneqa.score(samples, {s.question_id: "Yes" for s in samples})
    assert report["per_type"]["existence"] == 50.0
    assert report["existence"]["overall"]["yes_ratio"] == 100.0
    assert report["existence"]["overall"]["recall"] == 100.0


def test_hand_computed_scores(hand_made):
    samples = sceneqa.load(hand_made)
    assert samples[0].images[0] == hand_made.parent / "images" / "v.png"
    predictions = {
        "r": "Living room.",  # right (normalised)
        "c": "grey",  # right (accepted variant)
        "n": "3",  # wrong
        "y1": "Yes, there is.",  # right
        "n1": "maybe",  # unparseable: wrong
        "y2": "no",  # wrong: a false negative
        "n2": "There is no TV.",  # right
    }
    report = sceneqa.score(samples, predictions)
    assert report["accuracy"] == round(100 * 4 / 7, 2)
    assert report["per_type"] == {"color": 100.0, "count": 0.0, "existence": 50.0, "room": 100.0}
    assert report["unparsed"] == 1
    overall = report["existence"]["overall"]
    # TP = 1 (y1), FP = 0, FN = 1 (y2); yes answers: 1 of 4
    assert (overall["precision"], overall["recall"], overall["f1"]) == (100.0, 50.0, round(200 / 3, 2))
    assert overall["yes_ratio"] == 25.0 and overall["unparsed"] == 1
    assert report["existence"]["random"]["accuracy"] == 50.0
    assert report["existence"]["adversarial"]["accuracy"] == 50.0
    assert "popular" not in report["existence"]


def test_scored_through_the_registry_and_a_predictions_file(hand_made, tmp_path):
    assert TASKS["sceneqa"].answer_instruction == sceneqa.ANSWER_INSTRUCTION
    predictions = tmp_path / "predictions.json"
    predictions.write_text(json.dumps({"sceneqa": {r["id"]: r["answer"] for r in HAND_MADE}}))
    out = tmp_path / "scores.json"
    reports = score_predictions(["sceneqa"], predictions, {"sceneqa": {"annotations": hand_made}}, out)
    assert reports["sceneqa"]["accuracy"] == 100.0
    assert json.loads(out.read_text()) == reports


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"type": "caption"}, "field 'type'"),
        ({"answers": ["maybe"]}, "field 'answers'"),
        ({"pope_config": None}, "field 'pope_config'"),
        ({"answers": []}, "field 'answers'"),
        ({"id": 5}, "field 'id'"),
    ],
)
def test_malformed_records_name_the_file_and_record(tmp_path, change, message):
    records = [HAND_MADE[0], HAND_MADE[3] | change]
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(records))
    with pytest.raises(VqaDataError, match=rf"bad\.json: record 1: {message}"):
        sceneqa.load(path)


def test_repeated_ids_are_rejected(tmp_path):
    path = tmp_path / "repeated.json"
    path.write_text(json.dumps([HAND_MADE[0], HAND_MADE[0]]))
    with pytest.raises(VqaDataError, match="repeated"):
        sceneqa.load(path)
