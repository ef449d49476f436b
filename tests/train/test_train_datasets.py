"""Dataset types: LLaVA conversations, NaVILA navigation records, VQA records and easy-vqa; bad records."""

from __future__ import annotations

import json
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
from train_helpers import write_frame, write_json

from navagent.agent.prompts import navigation_prompt
from navagent.train.datasets import (
    load_conversation_dataset,
    load_easy_vqa_dataset,
    load_navigation_dataset,
    load_vqa_dataset,
)
from navagent.train.samples import DataRecordError, Sample, VideoClip, load_sample_images, resolve_under_root


def _conversation(value: str, answer: str = "A chair.") -> list[dict]:
    return [{"from": "human", "value": value}, {"from": "gpt", "value": answer}]


def test_conversation_records_give_image_multiframe_and_text_only_samples(data_root):
    dataset = load_conversation_dataset(data_root / "chat" / "conversations.json", data_root / "chat", "chat")
    single, frames, text = (dataset[i] for i in range(3))
    assert single.sample_id == "chat:img-1"
    assert single.images == (data_root / "chat" / "images" / "room.jpg",)
    assert single.messages == (
        {"role": "user", "content": "<image>\nWhat room is this?"},
        {"role": "assistant", "content": "It is the kitchen."},
    )
    assert frames.num_images == 3 and [m["role"] for m in frames.messages] == ["user", "assistant"] * 2
    assert text.images == () and text.messages[1]["content"] == "One."
    loaded = load_sample_images(frames, black_size=8)
    assert [image.size for image in loaded] == [(32, 32)] * 3


def test_video_records_expand_the_video_placeholder_to_sampled_frames(tmp_path):
    rng = np.random.default_rng(0)
    for i in range(10):
        write_frame(tmp_path / "clipdir" / f"{i:02d}.jpg", rng)
    video = rng.integers(0, 256, size=(12, 32, 32, 3), dtype=np.uint8)
    iio.imwrite(tmp_path / "clip.mp4", video, fps=4, codec="libx264")
    records = [
        {"id": "v1", "video": "clipdir", "conversations": _conversation("<video>\nWhat happens?")},
        {"id": "v2", "video": "clip.mp4", "conversations": _conversation("Describe the video.")},
    ]
    dataset = load_conversation_dataset(
        write_json(tmp_path / "a.json", records), tmp_path, "vid", num_video_frames=4
    )
    folder, file = dataset[0], dataset[1]
    assert folder.images == (VideoClip(tmp_path / "clipdir", 4),)
    assert folder.messages[0]["content"] == "<image>\n" * 4 + "What happens?"
    assert file.messages[0]["content"] == "<image>\n" * 4 + "Describe the video."
    assert len(load_sample_images(folder, 8)) == 4
    frames = load_sample_images(file, 8)
    assert len(frames) == 4 and frames[0].size == (32, 32)


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"id": "r1", "conversations": []}, "'conversations' must be a non-empty list"),
        (
            {"id": "r2", "image": "a.jpg", "conversations": _conversation("<image> and <image>")},
            "2 <image> placeholder",
        ),
        ({"id": "r3", "frames": ["a.jpg", "b.jpg"], "conversations": _conversation("<image>\nx")}, "2 image"),
        ({"id": "r4", "conversations": _conversation("<image>\nx")}, "1 <image> placeholder"),
        ({"id": "r5", "conversations": [{"from": "gpt", "value": "hi"}] * 2}, "expected 'user'"),
        (
            {"id": "r6", "conversations": _conversation("hi") + [{"from": "robot", "value": "hi"}]},
            "'from' = 'robot'",
        ),
        ({"id": "r7", "conversations": _conversation("hello", answer=" ")}, r"turn 1 \(assistant\) is empty"),
        ({"id": "r8", "conversations": [{"from": "human", "value": "hi"}]}, "ends with a user turn"),
        (
            {"id": "r9", "image": "../outside.jpg", "conversations": _conversation("<image>\nx")},
            "outside the data",
        ),
        ({"id": "r10", "image": "/etc/passwd", "conversations": _conversation("<image>\nx")}, "is absolute"),
        (
            {"id": "r11", "image": "a.jpg", "video": "v.mp4", "conversations": _conversation("x")},
            "at most one",
        ),
        ({"id": "r12", "video": "v", "conversations": _conversation("<image>\nx")}, "uses <video>"),
    ],
)
def test_bad_conversation_records_raise_errors_naming_the_record(tmp_path, record, message):
    (tmp_path / "a.jpg").write_bytes(b"")
    (tmp_path / "b.jpg").write_bytes(b"")
    path = write_json(tmp_path / "bad.json", [record])
    with pytest.raises(DataRecordError, match=message) as error:
        load_conversation_dataset(path, tmp_path, "src")
    assert f"src:{record['id']}" in str(error.value)


def test_missing_frame_files_are_reported_at_load_and_when_read(tmp_path):
    record = {"id": "m1", "image": "gone.jpg", "conversations": _conversation("<image>\nx")}
    path = write_json(tmp_path / "a.json", [record])
    with pytest.raises(DataRecordError, match=r"record src:m1: missing file .*gone\.jpg"):
        load_conversation_dataset(path, tmp_path, "src")
    unchecked = load_conversation_dataset(path, tmp_path, "src", verify_files=False)
    with pytest.raises(DataRecordError, match=r"record src:m1: missing image file"):
        load_sample_images(unchecked[0], black_size=8)


def test_empty_annotation_files_and_bad_json_are_errors(tmp_path):
    with pytest.raises(DataRecordError, match="dataset 'src' has no records"):
        load_conversation_dataset(write_json(tmp_path / "empty.json", []), tmp_path, "src")
    (tmp_path / "broken.jsonl").write_text('{"id": 1}\n{not json\n')
    with pytest.raises(DataRecordError, match=r"broken\.jsonl:2: invalid JSON"):
        load_conversation_dataset(tmp_path / "broken.jsonl", tmp_path, "src")


def test_paths_inside_the_root_may_use_dot_segments_that_stay_inside():
    root = Path("/data/r2r")
    assert resolve_under_root(root, "ep/./x/../frame.jpg", "r") == root / "ep" / "frame.jpg"
    with pytest.raises(DataRecordError, match="outside"):
        resolve_under_root(root, "ep/../../r2r_other/frame.jpg", "r")


def test_navigation_records_show_eight_frames_sampled_like_navila(data_root):
    dataset = load_navigation_dataset(data_root / "nav" / "annotations.json", data_root / "nav", "nav")
    by_id = {sample.sample_id: sample for sample in dataset.samples}
    short = by_id["nav:0-2"]  # 3 frames: 5 black padding frames, then all three
    frames = [data_root / "nav" / "episodes" / "0" / f"frame_{i}.jpg" for i in range(3)]
    assert short.images == (None,) * 5 + tuple(frames)
    assert short.messages[0]["content"] == navigation_prompt(
        "Walk past the sofa. Turn left at the door. Stop by the lamp", 8
    )
    assert short.messages[1]["content"] == "I think I should stop because I have finished the instruction."
    long = by_id["nav:2-13"]  # 14 frames: linspace(0, 13, 7, endpoint=False) + current
    assert [p.name for p in long.images] == [f"frame_{i}.jpg" for i in (0, 1, 3, 5, 7, 9, 11, 13)]
    images = load_sample_images(short, black_size=16)
    assert images[0].size == (16, 16) and not np.asarray(images[0]).any()
    assert len(dataset) == sum((3, 9, 14))
    recent = load_navigation_dataset(
        data_root / "nav" / "annotations.json", data_root / "nav", "nav", recent_frames=3
    )
    long = {sample.sample_id: sample for sample in recent.samples}["nav:2-13"]
    # the three observations before the current one, after NaVILA's rule over frames 0..10 (5 frames)
    assert [p.name for p in long.images] == [f"frame_{i}.jpg" for i in (0, 2, 5, 7, 10, 11, 12, 13)]


def test_bad_navigation_records_name_the_record(tmp_path):
    bad = [{"video_id": "9-1", "q": "Go.", "a": "", "frames": ["x.jpg"]}]
    with pytest.raises(DataRecordError, match=r"record nav:9-1: 'a' must be a non-empty string"):
        load_navigation_dataset(write_json(tmp_path / "a.json", bad), tmp_path, "nav")
    escaping = [{"video_id": "9-2", "q": "Go.", "a": "Stop.", "frames": ["../../x.jpg"]}]
    with pytest.raises(DataRecordError, match=r"record nav:9-2: frames\[0\].*outside the data root"):
        load_navigation_dataset(write_json(tmp_path / "b.json", escaping), tmp_path, "nav")
    missing = [{"video_id": "9-3", "q": "Go.", "a": "Stop.", "frames": ["x.jpg"]}]
    with pytest.raises(DataRecordError, match=r"record nav:9-3: missing file"):
        load_navigation_dataset(write_json(tmp_path / "c.json", missing), tmp_path, "nav")


def test_vqa_records_and_easy_vqa_give_single_image_short_answer_samples(data_root):
    records = load_vqa_dataset(data_root / "chat" / "vqa.json", data_root / "chat", "vqa")
    assert records[1].messages[0]["content"].startswith("<image>\nIs there a door number 1?\n")
    easy = load_easy_vqa_dataset("test", limit=5)
    assert len(easy) == 5 and easy[0].sample_id == "easyvqa:test-0"
    assert all(sample.images[0].is_file() for sample in easy.samples)
    sample: Sample = easy[0]
    assert sample.messages[1]["content"] in {
        "circle", "rectangle", "triangle", "yes", "no", "red", "green", "blue", "black", "gray", "teal",
        "brown", "yellow",
    }  # fmt: skip
    assert load_sample_images(sample, 8)[0].size == (64, 64)
    with pytest.raises(ValueError, match="split"):
        load_easy_vqa_dataset("val")


def test_jsonl_records_are_read_line_by_line(tmp_path):
    record = {"id": "j1", "conversations": _conversation("Hello?", "Hi.")}
    (tmp_path / "a.jsonl").write_text(json.dumps(record) + "\n\n" + json.dumps(record | {"id": "j2"}) + "\n")
    dataset = load_conversation_dataset(tmp_path / "a.jsonl", tmp_path, "j")
    assert [s.sample_id for s in dataset.samples] == ["j:j1", "j:j2"]


def test_previous_action_prompts_state_the_records_prev_mirrored_with_the_record(tmp_path):
    rng = np.random.default_rng(0)
    for i in range(2):
        write_frame(tmp_path / "e" / f"frame_{i}.jpg", rng)
    frames = ["e/frame_0.jpg", "e/frame_1.jpg"]
    records = [
        {"video_id": "e-0", "q": "Go left.", "a": "The next action is turn left 45 degree.", "frames": frames[:1],
         "prev": None},
        {"video_id": "e-1", "q": "Go left.", "a": "The next action is move forward 75 cm.", "frames": frames,
         "prev": "turn left 45 degree"},
    ]  # fmt: skip
    path = write_json(tmp_path / "a.json", records)
    plain = load_navigation_dataset(path, tmp_path, "nav", num_frames=2, mirror=True)
    told = load_navigation_dataset(path, tmp_path, "nav", num_frames=2, mirror=True, previous_action=True)
    prompts = {s.sample_id: s.messages[0]["content"] for s in told.samples}
    assert {s.sample_id: s.messages[0]["content"] for s in plain.samples}["nav:e-1"] == navigation_prompt(
        "Go left.", 2
    )
    assert prompts["nav:e-0"] == navigation_prompt("Go left.", 2) + " You have not moved yet."
    assert (
        prompts["nav:e-1"]
        == navigation_prompt("Go left.", 2) + " Your previous action was: turn left 45 degree."
    )
    assert prompts["nav:e-1~mirror"].startswith(navigation_prompt("Go right.", 2))
    assert prompts["nav:e-1~mirror"].endswith("Your previous action was: turn right 45 degree.")
    # the images and answers are those of the plain samples
    assert [s.images for s in told.samples] == [s.images for s in plain.samples]
    for bad, message in [
        ({}, "needs the record's 'prev'"),
        ({"prev": "fly 3 m"}, "'prev': .*not a move phrase"),
    ]:
        record = {k: v for k, v in records[1].items() if k != "prev"} | bad
        with pytest.raises(DataRecordError, match=rf"record nav:e-1: .*{message}"):
            load_navigation_dataset(
                write_json(tmp_path / "b.json", [record]), tmp_path, "nav", num_frames=2, previous_action=True
            )
