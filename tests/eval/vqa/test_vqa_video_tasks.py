"""Video benchmarks (Video-MME, MVBench, EgoSchema) from tiny files in their own formats."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from navagent.eval.vqa import VqaDataError
from navagent.eval.vqa.tasks import egoschema, mvbench, videomme

VIDEOMME_ROWS = [
    {"question_id": "001-1", "videoID": "vidA", "duration": "short", "domain": "Knowledge", "sub_category": "Humanity",
     "task_type": "Counting Problem", "question": "How many?", "options": ["A. 1", "B. 2", "C. 3", "D. 4"], "answer": "C"},
    {"question_id": "002-1", "videoID": "vidB", "duration": "long", "domain": "Sports", "sub_category": "Football",
     "task_type": "OCR Problems", "question": "What is written?", "options": ["A. go", "B. stop", "C. exit", "D. in"], "answer": "A"},
]  # fmt: skip


def check_videomme(samples: list, video_dir: Path) -> None:
    assert samples[0].options == ("1", "2", "3", "4")
    assert samples[1].videos == (video_dir / "vidB.mp4",)
    report = videomme.score(samples, {"001-1": "C. 3", "002-1": "The answer is B"})
    assert (report["accuracy"], report["unparsed"]) == (50.0, 0)
    assert report["per_duration"] == {"long": 0.0, "short": 100.0}
    assert report["per_task_type"] == {"Counting Problem": 100.0, "OCR Problems": 0.0}


def test_videomme_from_json_lines(tmp_path):
    path = tmp_path / "videomme.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in VIDEOMME_ROWS))
    check_videomme(videomme.load(path, video_dir=tmp_path / "videos"), tmp_path / "videos")
    assert [s.question_id for s in videomme.load(path, durations=["long"])] == ["002-1"]


def test_videomme_from_the_parquet_release(tmp_path):
    pyarrow = pytest.importorskip("pyarrow")
    from pyarrow import parquet

    path = tmp_path / "test-00000-of-00001.parquet"
    parquet.write_table(pyarrow.Table.from_pylist(VIDEOMME_ROWS), path)
    check_videomme(videomme.load(path, video_dir=tmp_path / "videos"), tmp_path / "videos")


def write_mvbench(json_dir: Path) -> None:
    json_dir.mkdir()
    action = [
        {
            "video": "a1.mp4",
            "question": "What happened first?",
            "candidates": ["sat", "stood", "ran"],
            "answer": "stood",
        },
        {
            "video": "a2.mp4",
            "question": "What happened next?",
            "candidates": ["ate", "slept"],
            "answer": "ate",
        },
    ]
    count = [
        {"video": "c1.mp4", "question": "How many cubes move?", "candidates": ["0", "1", "2"], "answer": "2"}
    ]
    (json_dir / "action_sequence.json").write_text(json.dumps(action))
    (json_dir / "moving_count.json").write_text(json.dumps(count))


def test_mvbench_per_task_and_mean_over_tasks(tmp_path):
    write_mvbench(tmp_path / "json")
    samples = mvbench.load(tmp_path / "json", video_root=tmp_path / "video")
    assert [s.question_id for s in samples] == ["action_sequence/0", "action_sequence/1", "moving_count/0"]
    assert samples[0].answers == ("B",)
    assert samples[0].videos == (tmp_path / "video" / "star" / "Charades_segment" / "a1.mp4",)
    assert samples[2].videos == (tmp_path / "video" / "clevrer" / "video_validation" / "c1.mp4",)
    report = mvbench.score(
        samples, {"action_sequence/0": "(B) stood", "action_sequence/1": "B", "moving_count/0": "C"}
    )
    assert report["per_task"] == {"action_sequence": 50.0, "moving_count": 100.0}
    assert (report["mean_over_tasks"], report["accuracy"]) == (75.0, 66.67)


def test_mvbench_errors_name_the_record_and_task(tmp_path):
    write_mvbench(tmp_path / "json")
    with pytest.raises(ValueError, match="unknown tasks"):
        mvbench.load(tmp_path / "json", tasks=["action_seq"])
    bad = [{"video": "x.mp4", "question": "?", "candidates": ["a", "b"], "answer": "c"}]
    (tmp_path / "json" / "moving_count.json").write_text(json.dumps(bad))
    with pytest.raises(VqaDataError, match=r"moving_count.json: \[0\]: field 'answer' 'c'"):
        mvbench.load(tmp_path / "json")


def test_egoschema_subset_only(tmp_path):
    questions = [
        {"q_uid": uid, "google_drive_id": "x", "question": f"What does c do in {uid}?"}
        | {f"option {i}": f"option text {i}" for i in range(5)}
        for uid in ("u1", "u2", "u3")
    ]
    (tmp_path / "questions.json").write_text(json.dumps(questions))
    (tmp_path / "subset_answers.json").write_text(json.dumps({"u1": 2, "u3": 4}))
    samples = egoschema.load(tmp_path / "questions.json", tmp_path / "subset_answers.json", tmp_path / "v")
    assert [(s.question_id, s.answers) for s in samples] == [("u1", ("C",)), ("u3", ("E",))]
    assert samples[1].videos == (tmp_path / "v" / "u3.mp4",)
    report = egoschema.score(samples, {"u1": "C", "u3": "I don't know"})
    assert (report["accuracy"], report["unparsed"]) == (50.0, 1)
    (tmp_path / "subset_answers.json").write_text(json.dumps({"u1": 7}))
    with pytest.raises(VqaDataError, match="q_uid 'u1': expected an option index 0..4, got 7"):
        egoschema.load(tmp_path / "questions.json", tmp_path / "subset_answers.json")
