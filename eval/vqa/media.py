"""The visual inputs of a VQA ``Sample`` as RGB frames: still images, and videos sampled to N frames.

A video is a video file (decoded with imageio's ffmpeg plugin) or a folder of frame images (sorted by name,
numbers compared as numbers: ``2.jpg`` before ``10.jpg``). Frames are taken at ``uniform_frame_indices``:
N indices spread evenly from the first to the last frame, both included (a video shorter than N frames
repeats some), as VILA samples evaluation videos.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from PIL import Image

from navagent.eval.vqa.sample import Sample, VqaDataError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
_DIGITS = re.compile(r"(\d+)")


def uniform_frame_indices(num_available: int, num_frames: int) -> list[int]:
    """``num_frames`` indices in ``[0, num_available)``, evenly spread, first and last included (rounded).

    >>> uniform_frame_indices(10, 4)
    [0, 3, 6, 9]
    """
    if num_available < 1:
        raise ValueError(f"a video needs at least one frame, got {num_available}")
    if num_frames < 1:
        raise ValueError(f"num_frames must be >= 1, got {num_frames}")
    return [int(i) for i in np.round(np.linspace(0, num_available - 1, num_frames))]


def load_image(path: Path) -> Image.Image:
    """An RGB PIL image; VqaDataError naming the file when it cannot be read."""
    try:
        with Image.open(path) as image:
            return image.convert("RGB")
    except (OSError, ValueError) as error:
        raise VqaDataError(f"{path}: cannot read the image: {error}") from error


def _natural_key(path: Path) -> list[int | str]:
    return [int(part) if part.isdigit() else part for part in _DIGITS.split(path.name)]


def _frame_folder(folder: Path, num_frames: int) -> list[Image.Image]:
    files = sorted((p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES), key=_natural_key)
    if not files:
        raise VqaDataError(f"{folder}: a frame folder without images ({', '.join(IMAGE_SUFFIXES)})")
    return [load_image(files[i]) for i in uniform_frame_indices(len(files), num_frames)]


def _video_file(path: Path, num_frames: int) -> list[Image.Image]:
    import imageio.v2 as imageio

    try:
        with imageio.get_reader(path, format="FFMPEG") as reader:
            indices = uniform_frame_indices(reader.count_frames(), num_frames)
            return [Image.fromarray(np.asarray(reader.get_data(i))).convert("RGB") for i in indices]
    except (OSError, RuntimeError, IndexError) as error:
        raise VqaDataError(f"{path}: cannot decode the video: {error}") from error


def load_video_frames(path: Path, num_frames: int) -> list[Image.Image]:
    """``num_frames`` RGB frames of a video file or a frame folder (see the module docstring)."""
    path = Path(path)
    return _frame_folder(path, num_frames) if path.is_dir() else _video_file(path, num_frames)


def sample_media_paths(sample: Sample, task: str) -> tuple[Path, ...]:
    """The sample's images and videos; VqaDataError when it has none, FileNotFoundError when one is absent."""
    paths = tuple(sample.images) + tuple(sample.videos)
    if not paths:
        raise VqaDataError(
            f"{task}: question {sample.question_id!r} has no image or video path: give the task's media "
            "folder (e.g. image_dir or video_dir) in its files"
        )
    for path in paths:
        if not Path(path).exists():
            raise FileNotFoundError(
                f"{task}: question {sample.question_id!r}: media file {path} does not exist"
            )
    return paths


def sample_frames(sample: Sample, num_video_frames: int) -> list[Image.Image]:
    """The frames a model sees for ``sample``: its images in order, then ``num_video_frames`` per video."""
    frames = [load_image(Path(path)) for path in sample.images]
    for video in sample.videos:
        frames += load_video_frames(Path(video), num_video_frames)
    return frames


def image_placeholders(num_frames: int, image_token: str) -> str:
    """``"<image>\\n"`` once per frame: what precedes the question text in the user message."""
    return f"{image_token}\n" * num_frames
