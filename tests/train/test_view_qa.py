"""View-QA (navigation.train.datasets.view_qa): questions about stage-0 views answered from their labels."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from navagent.train.datasets import load_view_qa_dataset
from navagent.train.datasets.view_qa import view_questions
from navagent.train.mixtures import build_mixture, load_registry
from navagent.train.samples import DataRecordError, load_sample_images
from navagent.train.view_data import write_views

REPO_ROOT = Path(__file__).resolve().parents[2]

LABELS = {
    "room": "bedroom",
    "door": [0, 1, 0, 0],
    "through": [None, "kitchen", None, None],
    "objects": [["sofa"], [], ["plant"], ["plant", "bench"]],
    "colors": [["green"], [], ["white"], ["white", "black"]],
    "depth": [1, 2, 3, 0],
}


def test_questions_follow_the_labels_side_by_side():
    assert view_questions(LABELS, 4) == [
        ("Which room are you in?", "bedroom"),
        ("Is there a doorway on your left?", "yes"),
        ("Which room is through the doorway on your left?", "kitchen"),
        ("What is on your left?", "a green sofa"),
        ("Is there a doorway on your right?", "no"),  # two categories on the right: no object question
    ]
    mirrored = {key: value[::-1] if isinstance(value, list) else value for key, value in LABELS.items()}
    flipped = dict(view_questions(mirrored, 4))  # the mirror image: the left side's answers move right
    assert flipped["Is there a doorway on your right?"] == "yes"
    assert flipped["Which room is through the doorway on your right?"] == "kitchen"
    assert flipped["What is on your right?"] == "a green sofa"
    assert flipped["Is there a doorway on your left?"] == "no"


def test_a_views_file_becomes_vqa_samples_through_the_registry(tmp_path):
    views = write_views(
        tmp_path / "views", "train", num_scenes=1, per_scene=4, seed=3, image_size=64, progress=False
    )
    document = json.loads(views.read_text())
    dataset = load_view_qa_dataset(views, views.parent, "viewqa")
    expected = sum(len(view_questions(v["labels"], document["num_sectors"])) for v in document["views"])
    assert len(dataset.samples) == expected >= 3 * len(document["views"])
    sample = dataset.samples[0]
    assert sample.sample_id == f"viewqa:{document['views'][0]['id']}/0"
    assert sample.messages[1]["content"] == document["views"][0]["labels"]["room"]
    assert len(load_sample_images(sample, 64)) == 1
    registry = load_registry(REPO_ROOT / "configs" / "data" / "registry.yaml")
    mixture = build_mixture("viewqa_train", registry, tmp_path)  # the entry reads {data.root}/views/train
    assert len(mixture) == expected


def test_a_missing_or_foreign_views_file_is_a_clear_error(tmp_path):
    with pytest.raises(DataRecordError, match="cannot read views file"):
        load_view_qa_dataset(tmp_path / "none.json", tmp_path)
    (tmp_path / "other.json").write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(DataRecordError, match="other.json"):
        load_view_qa_dataset(tmp_path / "other.json", tmp_path)
