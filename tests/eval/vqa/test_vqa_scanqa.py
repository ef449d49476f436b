"""Caption metrics (pycocoevalcap) on tiny cases with values computed by hand, and ScanQA scoring."""

from __future__ import annotations

import json
import math
import shutil

import pytest

from navagent.eval.vqa.caption_metrics import caption_scores, caption_tokenize
from navagent.eval.vqa.tasks import scanqa


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Don't, the T-shirt.", "do n't the t-shirt"),
        ("The man's hat (brown)", "the man 's hat brown"),
        ("3.5 meters", "3.5 meters"),
        ('it is "white"!', "it is white"),
        ("wait... -- now", "wait now"),
        ("", ""),
    ],
)
def test_caption_tokenize(text, expected):
    assert caption_tokenize(text) == expected


def test_exact_answers_score_one_and_cider_counts_ngram_orders():
    refs = {"a": ["the cat sat on the mat"], "b": ["red"]}
    scores = caption_scores(refs, {"a": "The cat sat on the mat.", "b": "Red"}, meteor=False)
    for n in range(1, 5):
        assert scores[f"BLEU-{n}"] == pytest.approx(1.0, abs=1e-8)
    assert scores["ROUGE-L"] == 1.0
    # an exact answer scores 10 x (orders with n-grams) / 4: 6 words -> 10, 1 word -> 2.5
    assert scores["CIDEr"] == pytest.approx((10 + 2.5) / 2)
    assert (scores["METEOR"], scores["meteor_status"]) == (None, "skipped: not requested")


def test_partial_match_bleu_and_rouge_by_hand():
    scores = caption_scores({"a": ["the cat sat on the mat"]}, {"a": "the cat is on the mat"}, meteor=False)
    # n-gram precisions 5/6, 3/5, 1/4, 0/3; equal lengths, so no brevity penalty
    assert scores["BLEU-1"] == pytest.approx(5 / 6, rel=1e-6)
    assert scores["BLEU-2"] == pytest.approx(math.sqrt(5 / 6 * 3 / 5), rel=1e-6)
    assert scores["BLEU-3"] == pytest.approx((5 / 6 * 3 / 5 * 1 / 4) ** (1 / 3), rel=1e-6)
    assert scores["BLEU-4"] < 1e-3
    assert scores["ROUGE-L"] == pytest.approx(5 / 6)  # LCS 5 of 6 both ways
    assert scores["CIDEr"] == 0.0  # one question alone: every idf weight is log(1) = 0


def test_cider_by_hand_on_two_questions():
    scores = caption_scores(
        {"a": ["red chair"], "b": ["blue table"]}, {"a": "red", "b": "blue table"}, meteor=False
    )
    # a: unigram cosine 1/sqrt(2), no bigrams; the length penalty compares bigram counts (0 vs 1): exp(-1/72)
    # b: exact, unigrams and bigrams -> 2 of 4 orders. CIDEr = 10 * mean over questions of (sum over orders) / 4
    expected = (10 * (1 / math.sqrt(2)) * math.exp(-1 / 72) / 4 + 10 * 2 / 4) / 2
    assert scores["CIDEr"] == pytest.approx(expected)


def test_meteor_needs_java(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no java here
    scores = caption_scores({"a": ["red"]}, {"a": "red"})
    assert (scores["METEOR"], scores["meteor_status"]) == (None, "skipped: `java` not found on PATH")
    with pytest.raises(RuntimeError, match="java"):
        caption_scores({"a": ["red"]}, {"a": "red"}, meteor=True)


@pytest.mark.skipif(shutil.which("java") is None, reason="METEOR runs a Java jar")
def test_meteor_with_java():
    scores = caption_scores({"a": ["the brown chair"], "b": ["red"]}, {"a": "the brown chair", "b": "blue"})
    assert scores["meteor_status"].startswith("computed with Java")
    assert 0.0 < scores["METEOR"] < 1.0  # one exact answer, one with nothing in common


def test_scanqa_scores_em_and_caption_metrics(tmp_path):
    records = [
        {"question_id": "val-scene0011-0", "scene_id": "scene0011_00", "question": "What is by the desk?",
         "answers": ["brown chair", "chair"], "object_ids": [1], "object_names": ["chair"]},
        {"question_id": "val-scene0011-1", "scene_id": "scene0011_00", "question": "Where is the door?",
         "answers": ["on the left"], "object_ids": [2], "object_names": ["door"]},
    ]  # fmt: skip
    path = tmp_path / "ScanQA_v1.0_val.json"
    path.write_text(json.dumps(records))
    samples = scanqa.load(path, media_dir=tmp_path / "scans", media_template="{scene_id}.mp4")
    assert samples[0].videos == (tmp_path / "scans" / "scene0011_00.mp4",)
    report = scanqa.score(
        samples, {"val-scene0011-0": "Brown chair.", "val-scene0011-1": "left"}, meteor=False
    )
    assert report["EM@1"] == 50.0
    # ROUGE-L: 1 for the exact answer; "left" vs "on the left": P 1, R 1/3, F_beta(1.2)
    f_left = (1 + 1.2**2) * (1 / 3) / (1 / 3 + 1.2**2)
    assert report["ROUGE-L"] == round(100 * (1 + f_left) / 2, 2)
    assert report["METEOR"] is None and report["num_samples"] == 2
