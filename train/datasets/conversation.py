"""LLaVA-format conversation records -> `Sample`s (image, multi-frame, video and text-only).

Record layout (JSON list or JSON Lines)::

    {"id": "...",
     "image": "a.jpg" | ["a.jpg", "b.jpg"],      # or
     "frames": ["clip/0.jpg", "clip/1.jpg"],      # or
     "video": "clip.mp4" | "clip_frames/",        # or none of them (text-only)
     "conversations": [{"from": "human", "value": "<image>\\nWhat is this?"},
                       {"from": "gpt", "value": "A red circle."}]}

Roles: "human" / "user" and "gpt" / "assistant". For `image` / `frames` records the number of `<image>`
placeholders must equal the number of images. A `video` record is sampled to `num_video_frames` frames: its
single `<video>` placeholder (or, when there is none, the start of the first user turn) becomes
`<image>\\n` x `num_video_frames`, as VILA does.
"""

from __future__ import annotations

from pathlib import Path

from navagent.model import IMAGE_TOKEN
from navagent.train.datasets.base import SampleDataset, read_records, record_name
from navagent.train.samples import DataRecordError, ImageRef, Sample, VideoClip, resolve_under_root

VIDEO_TOKEN = "<video>"
ROLE_NAMES = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant"}
_MEDIA_KEYS = ("image", "frames", "video")


def load_conversation_dataset(
    annotations: Path,
    data_root: Path,
    name: str = "conversation",
    num_video_frames: int = 8,
    verify_files: bool = True,
) -> SampleDataset:
    """Read LLaVA-format records from `annotations`; media paths are relative to `data_root`."""
    records = read_records(annotations)
    samples = [
        conversation_sample(record, record_name(name, record, index), data_root, num_video_frames)
        for index, record in enumerate(records)
    ]
    return SampleDataset(name, samples, verify_files)


def conversation_sample(record: dict, sample_id: str, data_root: Path, num_video_frames: int = 8) -> Sample:
    """One LLaVA record -> Sample (structure and placeholder count are checked by SampleDataset)."""
    where = f"record {sample_id}"
    messages = _messages(record.get("conversations"), where)
    media = [key for key in _MEDIA_KEYS if record.get(key) not in (None, "", [])]
    if len(media) > 1:
        raise DataRecordError(f"{where}: give at most one of {_MEDIA_KEYS}, got {media}")
    images: tuple[ImageRef, ...] = ()
    if media == ["video"]:
        path = resolve_under_root(data_root, record["video"], f"{where}: video")
        images = (VideoClip(path, num_video_frames),)
        messages = _expand_video_placeholder(messages, num_video_frames, where)
    elif media:
        key = media[0]
        paths = record[key] if isinstance(record[key], list) else [record[key]]
        images = tuple(resolve_under_root(data_root, p, f"{where}: {key}[{i}]") for i, p in enumerate(paths))
    return Sample(sample_id, tuple(messages), images)


def _messages(turns: object, where: str) -> list[dict[str, str]]:
    if not isinstance(turns, list) or not turns:
        raise DataRecordError(f"{where}: 'conversations' must be a non-empty list of turns, got {turns!r}")
    messages = []
    for index, turn in enumerate(turns):
        if not isinstance(turn, dict) or not isinstance(turn.get("value"), str):
            raise DataRecordError(f"{where}: turn {index} must be an object with a string 'value'")
        role = ROLE_NAMES.get(turn.get("from"))
        if role is None:
            raise DataRecordError(
                f"{where}: turn {index} has 'from' = {turn.get('from')!r}; expected one of {sorted(ROLE_NAMES)}"
            )
        messages.append({"role": role, "content": turn["value"]})
    return messages


def _expand_video_placeholder(
    messages: list[dict[str, str]], num_frames: int, where: str
) -> list[dict[str, str]]:
    if any(IMAGE_TOKEN in m["content"] for m in messages):
        raise DataRecordError(
            f"{where}: a video record uses {VIDEO_TOKEN} (or no placeholder), not {IMAGE_TOKEN}"
        )
    count = sum(m["content"].count(VIDEO_TOKEN) for m in messages)
    if count > 1:
        raise DataRecordError(
            f"{where}: a video record may hold one {VIDEO_TOKEN} placeholder, found {count}"
        )
    frames = f"{IMAGE_TOKEN}\n" * num_frames
    expanded = [dict(m) for m in messages]
    if count == 0:
        expanded[0]["content"] = frames + expanded[0]["content"]
        return expanded
    for message in expanded:
        content = message["content"]
        if VIDEO_TOKEN in content:
            before, after = content.split(VIDEO_TOKEN)
            message["content"] = before + frames + after.removeprefix("\n")
    return expanded
