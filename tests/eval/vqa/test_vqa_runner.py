"""run_vqa_eval with a tiny random checkpoint: every sample answered, resume, scoring, bad input; media."""

from __future__ import annotations

import json
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
from PIL import Image

from navagent.envs.builtin.sceneqa import write_sceneqa
from navagent.eval.vqa import Sample, get_task
from navagent.eval.vqa.media import load_video_frames, sample_frames, uniform_frame_indices
from navagent.eval.vqa.runner import (
    PREDICTIONS_FILE,
    RUN_FILE,
    SCORES_FILE,
    answer_samples,
    load_task_samples,
    run_vqa_eval,
)
from navagent.model import (
    CheckpointFormatError,
    build_tiny_model,
    build_tiny_processor,
    build_tiny_tokenizer,
    load_model_and_processor,
    save_model_and_processor,
)
from navagent.output_guard import InputsChangedError

TOKENS = 3


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    tokenizer = build_tiny_tokenizer()
    directory = tmp_path_factory.mktemp("tiny_checkpoint")
    return save_model_and_processor(
        build_tiny_model(None, tokenizer), build_tiny_processor(None, tokenizer), directory
    )


@pytest.fixture(scope="module")
def sceneqa_files(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("sceneqa")
    path = write_sceneqa(out, "test", num_scenes=1, per_scene=1, seed=1, image_size=64, progress=False)
    return {"sceneqa": {"annotations": path}}


def _lines(out_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (out_dir / PREDICTIONS_FILE).read_text().splitlines()]


def _run(checkpoint, files, out_dir, tasks=("easyvqa", "sceneqa"), limit=5, **options):
    return run_vqa_eval(
        list(tasks), checkpoint, files, out_dir, batch_size=3, max_new_tokens=TOKENS, limit=limit,
        progress=False, **options,
    )  # fmt: skip


def test_every_sample_of_the_limit_is_answered_and_scored(checkpoint, sceneqa_files, tmp_path):
    reports = _run(checkpoint, sceneqa_files, tmp_path)
    lines = _lines(tmp_path)
    for task in ("easyvqa", "sceneqa"):
        expected = [s.question_id for s in load_task_samples(get_task(task), sceneqa_files.get(task, {}), 5)]
        assert [line["question_id"] for line in lines if line["task"] == task] == expected
        assert all(isinstance(line["answer"], str) for line in lines)
        assert reports[task]["num_samples"] == 5
    assert set(reports["sceneqa"]["per_type"]) <= {"room", "color", "count", "existence"}
    assert json.loads((tmp_path / SCORES_FILE).read_text()) == reports


def test_a_whole_task_is_scored_through_its_files(checkpoint, sceneqa_files, tmp_path):
    reports = _run(checkpoint, sceneqa_files, tmp_path, tasks=("sceneqa",), limit=None)
    total = len(get_task("sceneqa").load(**sceneqa_files["sceneqa"]))
    assert reports["sceneqa"]["num_samples"] == total == len(_lines(tmp_path))


def test_resume_skips_answered_ids_and_matches_an_uninterrupted_run(checkpoint, sceneqa_files, tmp_path):
    whole = tmp_path / "whole"
    _run(checkpoint, sceneqa_files, whole, limit=4)
    resumed = tmp_path / "resumed"
    _run(checkpoint, sceneqa_files, resumed, limit=2)
    lines = _lines(resumed)
    lines[0]["answer"] = "circle"  # a kept answer proves it was not asked again
    text = (
        "".join(json.dumps(line) + "\n" for line in lines) + '{"task": "easyvqa", "questi'
    )  # killed mid-line
    (resumed / PREDICTIONS_FILE).write_text(text)
    _run(checkpoint, sceneqa_files, resumed, limit=4)
    after = _lines(resumed)
    assert after[:4] == lines
    assert len({(line["task"], line["question_id"]) for line in after}) == len(after) == 8
    assert {(x["task"], x["question_id"], x["answer"]) for x in after[1:]} <= {
        (x["task"], x["question_id"], x["answer"]) for x in _lines(whole)
    }


def test_a_checkpoint_that_is_not_a_navagent_model_is_refused(checkpoint, sceneqa_files, tmp_path):
    other = tmp_path / "bert"
    other.mkdir()
    (other / "config.json").write_text(json.dumps({"model_type": "bert"}))
    out = tmp_path / "out"
    _run(checkpoint, sceneqa_files, out, tasks=("sceneqa",), limit=2)
    before = (out / PREDICTIONS_FILE).read_bytes()
    with pytest.raises(CheckpointFormatError, match="bert"):
        _run(other, sceneqa_files, out, tasks=("sceneqa",), limit=3)
    with pytest.raises(CheckpointFormatError, match="no config.json"):
        _run(tmp_path / "missing", sceneqa_files, out, tasks=("sceneqa",), limit=3)
    assert (out / PREDICTIONS_FILE).read_bytes() == before


def test_resuming_with_another_checkpoint_is_refused(checkpoint, sceneqa_files, tmp_path):
    out = tmp_path / "out"
    _run(checkpoint, sceneqa_files, out, tasks=("sceneqa",), limit=1)
    model, processor = load_model_and_processor(checkpoint)
    copy = save_model_and_processor(model, processor, tmp_path / "copy")
    with pytest.raises(InputsChangedError, match=r"checkpoint \(was .*--overwrite"):
        _run(copy, sceneqa_files, out, tasks=("sceneqa",), limit=2)
    assert json.loads((out / RUN_FILE).read_text())["checkpoint"] == str(checkpoint.resolve())


def test_bad_task_files_and_missing_media_fail_before_answering(checkpoint, sceneqa_files, tmp_path):
    with pytest.raises(ValueError, match="sceneqa: files"):
        _run(checkpoint, {"sceneqa": {"questions": "q.json"}}, tmp_path, tasks=("sceneqa",))
    records = json.loads(Path(sceneqa_files["sceneqa"]["annotations"]).read_text())
    moved = tmp_path / "moved.json"  # its images/ folder is not next to it
    moved.write_text(json.dumps(records))
    with pytest.raises(FileNotFoundError, match="media file"):
        _run(checkpoint, {"sceneqa": {"annotations": moved}}, tmp_path / "out", tasks=("sceneqa",))
    with pytest.raises(ValueError, match="unknown VQA task"):
        _run(checkpoint, {}, tmp_path / "out", tasks=("nope",))


# ------------------------------------------------------------------------------------------------ media
def test_uniform_frame_indices():
    assert uniform_frame_indices(10, 4) == [0, 3, 6, 9]
    assert uniform_frame_indices(1, 3) == [0, 0, 0]
    assert uniform_frame_indices(3, 5) == [0, 0, 1, 2, 2]
    with pytest.raises(ValueError):
        uniform_frame_indices(0, 4)


def _grey_frames(count: int) -> np.ndarray:
    return np.stack([np.full((32, 32, 3), 20 * i, np.uint8) for i in range(count)])


def test_video_file_and_frame_folder_are_sampled_evenly(tmp_path):
    video = tmp_path / "clip.mp4"
    iio.imwrite(video, _grey_frames(10), fps=5)
    levels = [np.asarray(frame).mean() for frame in load_video_frames(video, 4)]
    assert levels == pytest.approx([0, 60, 120, 180], abs=4)
    folder = tmp_path / "frames"
    folder.mkdir()
    for i, frame in enumerate(_grey_frames(12)):
        Image.fromarray(frame).save(folder / f"{i + 1}.png")  # 10.png sorts after 9.png
    levels = [np.asarray(frame).mean() for frame in load_video_frames(folder, 3)]
    assert levels == [0.0, 20.0 * 6, 20.0 * 11]


def test_a_video_sample_is_answered_with_the_models_frame_count(checkpoint, tmp_path):
    video = tmp_path / "clip.mp4"
    iio.imwrite(video, _grey_frames(10), fps=5)
    image = tmp_path / "still.png"
    Image.fromarray(_grey_frames(1)[0]).save(image)
    sample = Sample("v1", "What happens?", ("A",), images=(image,), videos=(video,), options=("x", "y"))
    model, processor = load_model_and_processor(checkpoint)
    assert len(sample_frames(sample, model.config.num_video_frames)) == 1 + model.config.num_video_frames
    (batch,) = list(
        answer_samples(model, processor, [sample], "Answer with a letter.", max_new_tokens=TOKENS)
    )
    assert [qid for qid, _ in batch] == ["v1"] and isinstance(batch[0][1], str)


def test_resuming_with_changed_task_files_is_refused_until_overwrite(checkpoint, tmp_path):
    out = tmp_path / "out"
    annotations = write_sceneqa(tmp_path / "qa", "test", num_scenes=1, per_scene=1, seed=1, image_size=64,
                                progress=False)  # fmt: skip
    sceneqa_files = {"sceneqa": {"annotations": annotations}}
    _run(checkpoint, sceneqa_files, out, tasks=("sceneqa",), limit=1)
    annotations = Path(annotations)
    annotations.write_text(annotations.read_text() + " ")  # regenerated in place: same ids, other bytes
    with pytest.raises(InputsChangedError, match=r"inputs\.sceneqa\.annotations"):
        _run(checkpoint, sceneqa_files, out, tasks=("sceneqa",), limit=1)
    before = json.loads((out / RUN_FILE).read_text())["inputs"]["sceneqa"]["annotations"]
    _run(checkpoint, sceneqa_files, out, tasks=("sceneqa",), limit=1, overwrite=True)
    assert json.loads((out / RUN_FILE).read_text())["inputs"]["sceneqa"]["annotations"] != before
