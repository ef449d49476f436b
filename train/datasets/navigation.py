"""NaVILA navigation records -> `Sample`s.

Record (JSON list or JSON Lines)::

    {"video_id": "914-23", "q": "Walk past the table ...", "a": "The next action is move forward 75 cm.",
     "frames": ["914/frame_0.jpg", ..., "914/frame_22.jpg"]}

`frames` are the episode's observations up to the decision point (one per low-level step, the last is the
current view), relative to the data root. The sample shows N of them chosen by NaVILA's rule
(`navagent.agent.prompts.sample_frame_indices`, black frames in front when fewer than N) in the navigation
prompt, with the instruction normalised as in NaVILA's training data; the answer is `a`.
"""

from __future__ import annotations

from pathlib import Path

from navagent.agent.prompts import (
    mirror_left_right,
    navigation_prompt,
    normalize_instruction,
    sample_frame_indices,
)
from navagent.train.datasets.base import SampleDataset, read_records, record_name
from navagent.train.samples import DataRecordError, Sample, resolve_under_root


def load_navigation_dataset(
    annotations: Path,
    data_root: Path,
    name: str = "navigation",
    num_frames: int = 8,
    verify_files: bool = True,
    mirror: bool = False,
) -> SampleDataset:
    """Read NaVILA records from `annotations`; frame paths are relative to `data_root`. With `mirror`, every
    record also gives its mirrored twin (`navigation_sample(..., mirrored=True)`, id suffix "~mirror")."""
    records = read_records(annotations)
    samples = []
    for index, record in enumerate(records):
        sample_id = record_name(name, record, index, id_key="video_id")
        samples.append(navigation_sample(record, sample_id, data_root, num_frames))
        if mirror:
            samples.append(navigation_sample(record, f"{sample_id}~mirror", data_root, num_frames, True))
    return SampleDataset(name, samples, verify_files)


def navigation_sample(
    record: dict, sample_id: str, data_root: Path, num_frames: int = 8, mirrored: bool = False
) -> Sample:
    """One navigation record -> Sample with `num_frames` image slots (None = black padding frame).

    `mirrored`: the record as it happens in the mirror image of the house — frames flipped left-right, and
    "left" / "right" swapped in the instruction and the answer (`mirror_left_right`)."""
    paths = navigation_frame_paths(record, data_root, f"record {sample_id}")
    images = tuple(None if i is None else paths[i] for i in sample_frame_indices(len(paths), num_frames))
    instruction, answer = record["q"], record["a"]
    if mirrored:
        instruction, answer = mirror_left_right(instruction), mirror_left_right(answer)
    messages = (
        {"role": "user", "content": navigation_prompt(normalize_instruction(instruction), num_frames)},
        {"role": "assistant", "content": answer},
    )
    return Sample(sample_id, messages, images, mirrored)


def navigation_frame_paths(record: dict, data_root: Path, where: str) -> list[Path]:
    """Check a record's ``q`` / ``a`` (non-empty strings) and ``frames`` (a non-empty list of paths under
    ``data_root``); return the frame paths. Errors are DataRecordErrors that start with ``where``."""
    for key in ("q", "a"):
        if not isinstance(record.get(key), str) or not record[key].strip():
            raise DataRecordError(f"{where}: {key!r} must be a non-empty string, got {record.get(key)!r}")
    frames = record.get("frames")
    if not isinstance(frames, list) or not frames:
        raise DataRecordError(f"{where}: 'frames' must be a non-empty list of paths, got {frames!r}")
    return [resolve_under_root(data_root, frame, f"{where}: frames[{i}]") for i, frame in enumerate(frames)]
