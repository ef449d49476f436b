"""Image benchmarks (GQA, TextVQA, POPE, MME, ScienceQA-IMG, MMBench) from tiny files in their own formats."""

from __future__ import annotations

import base64
import csv
import io
import json
from pathlib import Path

import pytest
from PIL import Image

from navagent.eval.vqa import PredictionError, VqaDataError
from navagent.eval.vqa.tasks import gqa, mmbench, mme, pope, scienceqa, textvqa


def png_bytes(size: tuple[int, int] = (3, 2)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 10, 10)).save(buffer, format="PNG")
    return buffer.getvalue()


def write_json(path: Path, document) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document))
    return path


# -------------------------------------------------------------------------------------------- GQA


@pytest.fixture
def gqa_file(tmp_path):
    return write_json(
        tmp_path / "testdev_balanced_questions.json",
        {
            "q1": {"imageId": "n1", "question": "Is it red?", "answer": "yes", "types": {"structural": "verify", "semantic": "attr"}},
            "q2": {"imageId": "n2", "question": "Which side?", "answer": "left", "types": {"structural": "query", "semantic": "rel"}},
        },
    )  # fmt: skip


def test_gqa_exact_match_with_breakdowns(gqa_file, tmp_path):
    samples = gqa.load(gqa_file, image_dir=tmp_path / "images")
    assert samples[1].images == (tmp_path / "images" / "n2.jpg",)
    report = gqa.score(samples, {"q1": "Yes.", "q2": "right"})
    assert report["accuracy"] == 50.0
    assert report["per_structural"] == {"query": 0.0, "verify": 100.0}
    assert report["num_samples"] == 2


def test_prediction_errors_name_missing_and_unknown_ids(gqa_file):
    samples = gqa.load(gqa_file)
    unknown = {f"z{i}": "yes" for i in range(8)}
    with pytest.raises(PredictionError) as error:
        gqa.score(samples, {"q1": "yes"} | unknown)
    message = str(error.value)
    assert "gqa: no prediction for 1 id: ['q2']" in message
    assert "unknown question 8 ids: ['z0', 'z1', 'z2', 'z3', 'z4', ... (3 more)]" in message
    with pytest.raises(PredictionError, match=r"not strings for 1 id: \['q2'\]"):
        gqa.score(samples, {"q1": "yes", "q2": 3})


# ---------------------------------------------------------------------------------------- TextVQA


def test_textvqa_accuracy_normalises_both_sides(tmp_path):
    path = write_json(
        tmp_path / "TextVQA_0.5.1_val.json",
        {
            "dataset_name": "textvqa",
            "data": [
                {
                    "question_id": 1,
                    "question": "what brand?",
                    "image_id": "abc",
                    "answers": ["Coca Cola"] * 10,
                },
                {
                    "question_id": 2,
                    "question": "what sign?",
                    "image_id": "def",
                    "answers": ["stop"] * 2 + ["go"] * 8,
                },
            ],
        },
    )
    samples = textvqa.load(path, image_dir=tmp_path)
    assert samples[0].images == (tmp_path / "abc.jpg",)
    report = textvqa.score(samples, {"1": "coca-cola", "2": "STOP"})
    assert report["accuracy"] == 80.0  # (1.0 + 0.6) / 2


def test_repeated_question_ids_are_named(tmp_path):
    record = {"question_id": 5, "question": "what?", "image_id": "abc", "answers": ["a", "b"]}
    path = write_json(tmp_path / "val.json", {"data": [record, record | {"question_id": 6}, record]})
    with pytest.raises(VqaDataError, match=r"repeated question 1 id: \['5'\]"):
        textvqa.load(path)


# ------------------------------------------------------------------------------------------- POPE


def write_pope(path: Path, labels: list[str]) -> Path:
    lines = [
        json.dumps({"question_id": i + 1, "image": f"COCO_val2014_{i:012d}.jpg", "text": f"Is there a thing {i}?", "label": label})
        for i, label in enumerate(labels)
    ]  # fmt: skip
    path.write_text("\n".join(lines) + "\n")
    return path


def test_pope_metrics_per_config_and_overall(tmp_path):
    adversarial = write_pope(tmp_path / "coco_pope_adversarial.json", ["yes", "yes", "yes", "no", "no"])
    random = write_pope(tmp_path / "coco_pope_random.json", ["yes", "no"])
    samples = pope.load(adversarial=adversarial, random=random, image_dir=tmp_path)
    assert [s.question_id for s in samples][:2] == ["adversarial/1", "adversarial/2"]
    assert samples[5].question_id == "random/1"
    answers = {
        "adversarial/1": "Yes",  # TP
        "adversarial/2": "Not sure",  # unreadable on a "yes": FN
        "adversarial/3": "No.",  # FN
        "adversarial/4": "Yes, there is.",  # FP
        "adversarial/5": "no",  # TN
        "random/1": "yes",  # TP
        "random/2": "There is no thing.",  # TN
    }
    report = pope.score(samples, answers)
    adv = report["adversarial"]
    # precision 1/2, recall 1/3, F1 = 2 * (1/6) / (5/6) = 0.4
    assert (adv["accuracy"], adv["precision"], adv["recall"], adv["f1"]) == (40.0, 50.0, 33.33, 40.0)
    assert (adv["yes_ratio"], adv["unparsed"], adv["num_samples"]) == (40.0, 1, 5)
    assert report["random"]["f1"] == 100.0
    overall = report["overall"]  # TP 2, FP 1, FN 2 over 7 questions
    assert (overall["accuracy"], overall["precision"], overall["recall"]) == (57.14, 66.67, 50.0)
    assert overall["f1"] == round(100 * 2 * (2 / 3) * 0.5 / (2 / 3 + 0.5), 2)
    assert "popular" not in report


def test_pope_rejects_bad_labels_and_no_files(tmp_path):
    with pytest.raises(ValueError, match="at least one config"):
        pope.load()
    bad = write_pope(tmp_path / "bad.json", ["yes", "maybe"])
    with pytest.raises(VqaDataError, match="record 1: field 'label'"):
        pope.load(popular=bad)


# -------------------------------------------------------------------------------------------- MME


def write_mme(root: Path) -> None:
    """Every category with 2 images x 2 questions; artwork in the images/ + questions_answers_YN/ layout."""
    for category in mme.PERCEPTION + mme.COGNITION:
        folder = root / category
        image_dir, text_dir = (
            (folder / "images", folder / "questions_answers_YN")
            if category == "artwork"
            else (folder, folder)
        )
        image_dir.mkdir(parents=True, exist_ok=True)
        text_dir.mkdir(parents=True, exist_ok=True)
        for name in ("0001", "0002"):
            (image_dir / f"{name}.png").write_bytes(png_bytes())
            (text_dir / f"{name}.txt").write_text("Is it red? Please answer yes or no.\tYes\nIs it blue? Please answer yes or no.\tNo\n")  # fmt: skip


def test_mme_acc_acc_plus_and_category_sums(tmp_path):
    write_mme(tmp_path)
    samples = mme.load(tmp_path)
    assert len(samples) == 14 * 4
    artwork = next(s for s in samples if s.metadata["category"] == "artwork")
    assert artwork.images == (tmp_path / "artwork" / "images" / "0001.png",)
    assert (artwork.question_id, artwork.answers) == ("artwork/0001/0", ("yes",))
    predictions = {s.question_id: "Yes" if s.answers == ("yes",) else "No" for s in samples}
    predictions["existence/0002/1"] = "Yes"  # existence: 3/4 right, 1/2 images fully right -> 75 + 50
    for question in ("0", "1"):  # code_reasoning: everything wrong, one answer unreadable
        for image in ("0001", "0002"):
            predictions[f"code_reasoning/{image}/{question}"] = "No" if question == "0" else "Yes"
    predictions["code_reasoning/0001/0"] = "I cannot tell"
    report = mme.score(samples, predictions)
    assert report["categories"]["existence"] == {"acc": 75.0, "acc_plus": 50.0, "score": 125.0}
    assert report["categories"]["code_reasoning"] == {"acc": 0.0, "acc_plus": 0.0, "score": 0.0}
    assert report["perception"] == 125.0 + 9 * 200.0
    assert report["cognition"] == 3 * 200.0
    assert (report["missing_categories"], report["unparsed"]) == ([], 1)


def test_mme_subset_has_no_perception_total(tmp_path):
    write_mme(tmp_path)
    samples = mme.load(tmp_path, categories=["color"])
    report = mme.score(samples, {s.question_id: s.answers[0] for s in samples})
    assert report["perception"] is None and "existence" in report["missing_categories"]
    assert report["categories"]["color"]["score"] == 200.0


def test_mme_bad_question_line_is_named(tmp_path):
    write_mme(tmp_path)
    (tmp_path / "color" / "0001.txt").write_text("Is it red?\tPerhaps\n")
    with pytest.raises(VqaDataError, match=r"0001.txt: line 1"):
        mme.load(tmp_path, categories=["color"])


# ----------------------------------------------------------------------------------- ScienceQA-IMG


def test_scienceqa_img_keeps_image_questions_only(tmp_path):
    problems = write_json(
        tmp_path / "problems.json",
        {
            "p1": {"question": "Which is a fish?", "choices": ["cat", "trout"], "answer": 1, "hint": "Look.", "image": "image.png", "subject": "natural science", "grade": "grade3"},
            "p2": {"question": "No image?", "choices": ["a", "b"], "answer": 0, "hint": "", "image": None, "subject": "social science", "grade": "grade1"},
            "p3": {"question": "Which word?", "choices": ["run", "ran", "runs"], "answer": 0, "hint": "", "image": "image.png", "subject": "language science", "grade": "grade5"},
        },
    )  # fmt: skip
    splits = write_json(tmp_path / "pid_splits.json", {"test": ["p1", "p2", "p3"], "train": []})
    samples = scienceqa.load(problems, splits, image_dir=tmp_path / "images")
    assert [s.question_id for s in samples] == ["p1", "p3"]
    assert samples[0].images == (tmp_path / "images" / "test" / "p1" / "image.png",)
    assert samples[0].prompt("Pick.") == "Context: Look.\nWhich is a fish?\nA. cat\nB. trout\nPick."
    report = scienceqa.score(samples, {"p1": "B", "p3": "(B)"})
    assert (report["accuracy"], report["unparsed"]) == (50.0, 0)
    assert report["per_subject"] == {"language science": 0.0, "natural science": 100.0}


# ---------------------------------------------------------------------------------------- MMBench


def write_tsv(path: Path, rows: list[dict[str, str]]) -> Path:
    columns = ["index", "question", "hint", "A", "B", "C", "D", "answer", "category", "l2-category", "image"]
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, columns, delimiter="\t")
        writer.writeheader()
        writer.writerows([{column: row.get(column, "") for column in columns} for row in rows])
    return path


IMAGE_B64 = base64.b64encode(png_bytes((5, 4))).decode()
ORIGINALS = [
    {"index": "0", "question": "Which animal?", "hint": "nan", "A": "cat", "B": "dog", "C": "fox", "answer": "B", "category": "c1", "image": IMAGE_B64},
    {"index": "1", "question": "Which colour?", "hint": "A hint.", "A": "red", "B": "blue", "answer": "A", "category": "c2", "image": "0"},
]  # fmt: skip


def test_mmbench_expands_rotations_and_scores_circularly(tmp_path):
    tsv = write_tsv(tmp_path / "MMBench_DEV_EN.tsv", ORIGINALS)
    samples = mmbench.load(tsv, image_cache_dir=tmp_path / "cache")
    by_id = {s.question_id: s for s in samples}
    assert sorted(by_id) == ["0", "1", "1000000", "1000001", "2000000"]
    assert (by_id["1000000"].options, by_id["1000000"].answers) == (("dog", "fox", "cat"), ("A",))
    assert (by_id["2000000"].options, by_id["2000000"].answers) == (("fox", "cat", "dog"), ("C",))
    assert (by_id["1000001"].options, by_id["1000001"].answers) == (("blue", "red"), ("B",))
    assert by_id["0"].context == "" and by_id["1"].context == "A hint."
    image = by_id["1"].images[0]  # row 1 refers to row 0's image
    assert image == tmp_path / "cache" / "0.png" and Image.open(image).size == (5, 4)
    predictions = {"0": "B", "1000000": "A", "2000000": "dog", "1": "A", "1000001": "A"}
    report = mmbench.score(samples, predictions)
    assert report["circular_accuracy"] == 50.0  # group 0 all right; group 1 fails its rotation
    assert report["vanilla_accuracy"] == 100.0
    assert report["per_category"] == {"c1": 100.0, "c2": 0.0}
    assert (report["num_questions"], report["num_samples"], report["unparsed"]) == (2, 5, 0)


def test_mmbench_uses_circular_copies_already_in_the_file(tmp_path):
    copy = ORIGINALS[1] | {"index": "1000001", "A": "blue", "B": "red", "answer": "B"}
    tsv = write_tsv(tmp_path / "dev.tsv", [*ORIGINALS, copy])
    assert sorted(s.question_id for s in mmbench.load(tsv)) == ["0", "1", "1000001"]
    assert sorted(s.question_id for s in mmbench.load(tsv, circular=False)) == ["0", "1"]


def test_mmbench_answer_must_be_an_option(tmp_path):
    tsv = write_tsv(tmp_path / "bad.tsv", [ORIGINALS[0] | {"answer": "D"}])
    with pytest.raises(VqaDataError, match="question '0': answer 'D' is not one of the option letters 'ABC'"):
        mmbench.load(tsv)
