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

NaVILA's rules for these records (its `llava/` package at commit 76b98f2; docs/NAVILA_COMPAT.md lists them with
every deliberate difference):

* Leading turn: a first turn that is not from the human (`system`, or any other role) is dropped, as NaVILA's
  `tokenize_conversation` does ("skip the first message if it is not from human"); the fixed llama_3 system
  text is used. `load_conversation_dataset` logs one warning per dataset counting the dropped turns by role.
* `<image>` placement (`preprocess_multimodal` in `llava/data/dataset.py`), for `image` / `frames` records only
  (not text-only, video or navigation records): when no turn holds a tag, `"<image>\\n"` is put in front of
  the first (user) turn; every turn holding a tag is rewritten by `navila_image_tags`. navagent drops the
  leading turn first, so the tag always lands in the first user turn (NaVILA would put it in a leading turn it
  then drops). A record with several images and no tag is refused (NaVILA would give it one slot).
* Whitespace: every message value is stripped before templating; `NavVLMProcessor.tokenize_conversation`
  does it for every training conversation (where NaVILA does it), so `Sample.messages` may still hold it.
"""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path

from navagent.model import IMAGE_TOKEN
from navagent.train.datasets.base import SampleDataset, read_records, record_name
from navagent.train.samples import DataRecordError, ImageRef, Sample, VideoClip, resolve_under_root

logger = logging.getLogger(__name__)

VIDEO_TOKEN = "<video>"
ROLE_NAMES = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant"}
USER_ROLE_NAMES = ("human", "user")
_MEDIA_KEYS = ("image", "frames", "video")


def load_conversation_dataset(
    annotations: Path,
    data_root: Path,
    name: str = "conversation",
    num_video_frames: int = 8,
    verify_files: bool = True,
) -> SampleDataset:
    """Read LLaVA-format records from `annotations`; media paths are relative to `data_root`. Leading
    non-user turns are dropped (NaVILA's rule) with one warning counting them by role."""
    records = read_records(annotations)
    dropped: Counter[str] = Counter()
    samples = [
        conversation_sample(record, record_name(name, record, index), data_root, num_video_frames, dropped)
        for index, record in enumerate(records)
    ]
    if dropped:
        logger.warning(
            "dataset %r: dropped the leading non-user turn of %d of %d record(s) (%s), as NaVILA does; "
            "the fixed llama_3 system text is used instead",
            name,
            sum(dropped.values()),
            len(records),
            ", ".join(f"{role!r}: {count}" for role, count in sorted(dropped.items())),
        )
    return SampleDataset(name, samples, verify_files)


def conversation_sample(
    record: dict,
    sample_id: str,
    data_root: Path,
    num_video_frames: int = 8,
    dropped_roles: Counter[str] | None = None,
) -> Sample:
    """One LLaVA record -> Sample with NaVILA's leading-turn and `<image>` rules applied (module docstring);
    the structure and placeholder count are checked by SampleDataset. `dropped_roles`, when given, counts the
    `from` of each dropped leading turn."""
    where = f"record {sample_id}"
    messages, dropped = _messages(record.get("conversations"), where)
    if dropped is not None and dropped_roles is not None:
        dropped_roles[dropped] += 1
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
        messages = place_image_tags(messages, len(images), where)
    return Sample(sample_id, tuple(messages), images)


def place_image_tags(messages: list[dict[str, str]], num_images: int, where: str) -> list[dict[str, str]]:
    """NaVILA's `preprocess_multimodal` for an image record: with no `<image>` in any turn, `"<image>\\n"` goes
    in front of the first turn (refused for several images: NaVILA would give them one slot); then every turn
    holding a tag is rewritten by `navila_image_tags`. Returns new message dicts."""
    placed = [dict(m) for m in messages]
    if not any(IMAGE_TOKEN in m["content"] for m in placed):
        if num_images > 1:
            raise DataRecordError(
                f"{where}: {num_images} images but no {IMAGE_TOKEN} tag in the conversation; put one "
                f"{IMAGE_TOKEN} per image where it belongs (only a single-image record may leave it out)"
            )
        placed[0]["content"] = f"{IMAGE_TOKEN}\n" + placed[0]["content"]
    for message in placed:
        if IMAGE_TOKEN in message["content"]:
            message["content"] = navila_image_tags(message["content"])
    return placed


def navila_image_tags(value: str) -> str:
    """NaVILA's rewrite of a message value holding `<image>` tags (`preprocess_multimodal`): split on the tag,
    strip every piece, give every piece but the last a trailing space, join with `"<image>\\n"`, strip.

    So each tag is followed by exactly one line break, text before a tag ends with one space (an empty piece
    between two tags becomes a lone space), and the value has no outer whitespace.

    >>> navila_image_tags("  Compare these: <image> and <image>")
    'Compare these: <image>\\nand <image>'
    >>> navila_image_tags("<image><image>\\nWhat changed?")
    '<image>\\n <image>\\nWhat changed?'
    """
    pieces = [piece.strip() for piece in value.split(IMAGE_TOKEN)]
    # NaVILA spares a piece that ends in a line break; after strip() none does, so every piece gets the space.
    spaced = [piece + " " for piece in pieces[:-1]] + pieces[-1:]
    return f"{IMAGE_TOKEN}\n".join(spaced).strip()


def _messages(turns: object, where: str) -> tuple[list[dict[str, str]], str | None]:
    """The record's turns as messages, without a leading non-user turn; also that turn's `from` (or None)."""
    if not isinstance(turns, list) or not turns:
        raise DataRecordError(f"{where}: 'conversations' must be a non-empty list of turns, got {turns!r}")
    for index, turn in enumerate(turns):
        if not isinstance(turn, dict) or not isinstance(turn.get("value"), str):
            raise DataRecordError(f"{where}: turn {index} must be an object with a string 'value'")
    dropped = None
    if turns[0].get("from") not in USER_ROLE_NAMES:
        dropped = str(turns[0].get("from"))
        if len(turns) == 1:
            raise DataRecordError(
                f"{where}: the only turn is from {dropped!r}; a leading non-user turn is dropped (NaVILA's "
                "rule), which leaves nothing to train on"
            )
    messages = []
    for index, turn in enumerate(turns[1:] if dropped is not None else turns, start=int(dropped is not None)):
        role = ROLE_NAMES.get(turn.get("from"))
        if role is None:
            raise DataRecordError(
                f"{where}: turn {index} has 'from' = {turn.get('from')!r}; expected one of {sorted(ROLE_NAMES)}"
                " (only the first turn may have another role: it is dropped)"
            )
        messages.append({"role": role, "content": turn["value"]})
    return messages, dropped


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
