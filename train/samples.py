"""`Sample`: one training conversation with references to its images, and how those images are loaded.

A sample is what every dataset type produces (LLaVA conversations, NaVILA navigation records, VQA records):
`messages` alternate user / assistant (user content may hold `<image>` placeholders) and `images` holds one
`ImageRef` per placeholder, in reading order:

* `Path` — an image file (JPEG, PNG, ...);
* `None` — a black padding frame (navigation history shorter than N frames);
* `VideoClip` — a video file or a folder of frame images, sampled to `num_frames` frames; it fills
  `num_frames` consecutive placeholders.

Paths in records are relative to the dataset's data root; `resolve_under_root` rejects any that escape it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from navagent.model import IMAGE_TOKEN

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")


class DataRecordError(ValueError):
    """A training record is malformed or points at missing data; the message names the record."""


@dataclass(frozen=True)
class VideoClip:
    """`num_frames` frames sampled uniformly (VILA's rule: round(linspace(0, n - 1, num_frames))) from a video
    file or from the sorted image files of a folder."""

    path: Path
    num_frames: int


ImageRef = Path | VideoClip | None


@dataclass(frozen=True)
class Sample:
    """One conversation to train on.

    sample_id: "<source>:<record id>", used in every error message.
    messages: ({"role": "user" | "assistant", "content": str}, ...), starting with the user, ending with the
        assistant, alternating.
    images: one entry per `<image>` placeholder (a `VideoClip` counts as `num_frames` placeholders).
    mirrored: the images are shown flipped left-right (the text is mirrored by whoever made the sample,
        e.g. `navagent.train.datasets.navigation`).
    """

    sample_id: str
    messages: tuple[dict[str, str], ...]
    images: tuple[ImageRef, ...] = ()
    mirrored: bool = False  # every image is flipped left-right when loaded (mirror augmentation)

    @property
    def num_images(self) -> int:
        return sum(ref.num_frames if isinstance(ref, VideoClip) else 1 for ref in self.images)

    def estimated_length(self, tokens_per_image: int) -> int:
        """Cheap length estimate for length-grouped sampling: images x T + 1.5 tokens per word + 8 per turn."""
        words = sum(len(m["content"].split()) for m in self.messages)
        return self.num_images * tokens_per_image + int(1.5 * words) + 8 * len(self.messages)


def check_sample(sample: Sample) -> Sample:
    """Validate the conversation structure and the placeholder count; raise DataRecordError naming the record."""
    where = f"record {sample.sample_id}"
    if not sample.messages:
        raise DataRecordError(f"{where}: the conversation is empty")
    for index, message in enumerate(sample.messages):
        expected = "user" if index % 2 == 0 else "assistant"
        if message["role"] != expected:
            raise DataRecordError(
                f"{where}: turn {index} is from {message['role']!r}, expected {expected!r} "
                "(conversations alternate user / assistant, starting with the user)"
            )
        if not message["content"].strip():
            raise DataRecordError(f"{where}: turn {index} ({message['role']}) is empty")
        if message["role"] == "assistant" and IMAGE_TOKEN in message["content"]:
            raise DataRecordError(f"{where}: turn {index}: {IMAGE_TOKEN} may only appear in user turns")
    if sample.messages[-1]["role"] != "assistant":
        raise DataRecordError(f"{where}: the conversation ends with a user turn (nothing to learn from it)")
    slots = sum(m["content"].count(IMAGE_TOKEN) for m in sample.messages)
    if slots != sample.num_images:
        raise DataRecordError(
            f"{where}: the conversation has {slots} {IMAGE_TOKEN} placeholder(s) but the record gives "
            f"{sample.num_images} image(s)/frame(s); they must match one to one"
        )
    return sample


def resolve_under_root(root: Path, relative: object, where: str) -> Path:
    """`root / relative`, rejecting absolute paths and paths that leave `root` (checked on the path text:
    `..` components that climb out are refused; symlinks placed inside the root are followed)."""
    if not isinstance(relative, str) or not relative:
        raise DataRecordError(f"{where}: a path must be a non-empty string, got {relative!r}")
    if os.path.isabs(relative) or Path(relative).drive:
        raise DataRecordError(
            f"{where}: path {relative!r} is absolute; paths must be relative to the data root"
        )
    normal = os.path.normpath(relative)
    if normal == ".":
        raise DataRecordError(f"{where}: path {relative!r} names the data root itself, not a file")
    if normal == ".." or normal.startswith(".." + os.sep):
        raise DataRecordError(f"{where}: path {relative!r} points outside the data root {root}")
    return root / normal


def check_files_exist(sample: Sample) -> None:
    """Raise DataRecordError naming the record and the first missing image / video / frame folder."""
    for ref in sample.images:
        path = ref.path if isinstance(ref, VideoClip) else ref
        if path is not None and not path.exists():
            raise DataRecordError(f"record {sample.sample_id}: missing file {path}")


def load_sample_images(sample: Sample, black_size: int) -> list[Image.Image]:
    """All images of `sample` in placeholder order (RGB PIL images, flipped left-right for a mirrored sample;
    black padding frames are `black_size` x `black_size`). Missing or unreadable files raise DataRecordError naming the record."""
    images: list[Image.Image] = []
    for ref in sample.images:
        if ref is None:
            images.append(Image.new("RGB", (black_size, black_size)))
        elif isinstance(ref, VideoClip):
            images.extend(_load_clip(ref, sample.sample_id))
        else:
            images.append(_open_rgb(ref, sample.sample_id))
    return [ImageOps.mirror(image) for image in images] if sample.mirrored else images


def uniform_frame_indices(total: int, num_frames: int) -> list[int]:
    """round(linspace(0, total - 1, num_frames)) — VILA's video frame sampling."""
    return [int(i) for i in np.round(np.linspace(0, total - 1, num_frames)).astype(int)]


def _open_rgb(path: Path, sample_id: str) -> Image.Image:
    try:
        with Image.open(path) as image:
            return image.convert("RGB")
    except FileNotFoundError:
        raise DataRecordError(f"record {sample_id}: missing image file {path}") from None
    except OSError as error:
        raise DataRecordError(f"record {sample_id}: cannot read image {path}: {error}") from error


def _load_clip(clip: VideoClip, sample_id: str) -> list[Image.Image]:
    if clip.path.is_dir():
        files = sorted(p for p in clip.path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise DataRecordError(f"record {sample_id}: video folder {clip.path} holds no image files")
        return [_open_rgb(files[i], sample_id) for i in uniform_frame_indices(len(files), clip.num_frames)]
    if not clip.path.is_file():
        raise DataRecordError(f"record {sample_id}: missing video {clip.path}")
    frames = _decode_video(clip.path, sample_id)
    return [
        Image.fromarray(frames[i]).convert("RGB") for i in uniform_frame_indices(len(frames), clip.num_frames)
    ]


def _decode_video(path: Path, sample_id: str) -> Sequence[np.ndarray]:
    """Every frame of a (short) video file, each (H, W, 3) uint8 (imageio with its ffmpeg plugin)."""
    import imageio.v3 as iio

    try:
        frames = iio.imread(path, index=None)
    except Exception as error:  # imageio raises plugin-specific errors
        raise DataRecordError(f"record {sample_id}: cannot decode video {path}: {error}") from error
    if len(frames) == 0:
        raise DataRecordError(f"record {sample_id}: video {path} has no frames")
    return frames
