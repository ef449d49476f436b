"""NaVILA navigation records -> `Sample`s.

Record (JSON list or JSON Lines)::

    {"video_id": "914-23", "q": "Walk past the table ...", "a": "The next action is move forward 75 cm.",
     "frames": ["914/frame_0.jpg", ..., "914/frame_22.jpg"]}

`frames` are the episode's observations up to the decision point (one per low-level step, the last is the
current view), relative to the data root. The sample shows N of them chosen by NaVILA's rule
(`navagent.agent.prompts.sample_frame_indices`, black frames in front when fewer than N) in the navigation
prompt, with the instruction normalised as in NaVILA's training data; the answer is `a`.

View questions (`view_questions` = K > 0; records written with `navagent data trajectories --view-labels`,
which carry ``"view"``, the simulator's labels of the current frame): after the action, K more user turns ask
about the current observation with view-QA's questions ("Is there a doorway on your left?", "Which room is
through the doorway on your right?", "What is on your left?", "Which room are you in?";
`navagent.train.datasets.view_qa.view_questions`), answered from the labels (mirrored with the frames for a
mirrored twin). They train what the action needs and behaviour cloning teaches only weakly: reading the
current frame, by its side, from the end of the ~200-token navigation prompt. K questions are drawn per sample
from a stream seeded by the sample id (the same every epoch and run).

Previous action (`previous_action`, for models with ``previous_action_in_prompt``): the prompt ends by stating
the move made since the previous decision, from the record's ``"prev"`` (a move phrase such as "turn left 45
degree", or null at the episode's first decision; written by `navagent data trajectories` and
`navagent data dagger`), mirrored with the rest of the record.
"""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np

from navagent.agent.prompts import (
    PreviousAction,
    mirror_left_right,
    navigation_prompt,
    normalize_instruction,
    sample_frame_indices,
)
from navagent.envs.builtin.view_labels import ViewLabels
from navagent.train.datasets.base import SampleDataset, read_records, record_name
from navagent.train.datasets.view_qa import view_questions
from navagent.train.datasets.vqa import SHORT_ANSWER_PROMPT
from navagent.train.samples import DataRecordError, Sample, resolve_under_root


def load_navigation_dataset(
    annotations: Path,
    data_root: Path,
    name: str = "navigation",
    num_frames: int = 8,
    verify_files: bool = True,
    mirror: bool = False,
    questions: int = 0,
    recent_frames: int = 0,
    previous_action: bool = False,
    prompt_wording: str = "navila",
) -> SampleDataset:
    """Read NaVILA records from `annotations`; frame paths are relative to `data_root`. With `mirror`, every
    record also gives its mirrored twin (`navigation_sample(..., mirrored=True)`, id suffix "~mirror");
    `questions` > 0 adds that many view questions per sample (module docstring); `recent_frames`: as
    `sample_frame_indices`' (the model's ``num_recent_frames``); `previous_action`: prompts state the record's
    ``"prev"`` (module docstring); `prompt_wording`: `navagent.agent.prompts.navigation_prompt`'s ``wording``."""
    records = read_records(annotations)
    samples = []
    options = {
        "questions": questions,
        "recent_frames": recent_frames,
        "previous_action": previous_action,
        "prompt_wording": prompt_wording,
    }
    for index, record in enumerate(records):
        sample_id = record_name(name, record, index, id_key="video_id")
        samples.append(navigation_sample(record, sample_id, data_root, num_frames, False, **options))
        if mirror:
            samples.append(
                navigation_sample(record, f"{sample_id}~mirror", data_root, num_frames, True, **options)
            )
    return SampleDataset(name, samples, verify_files)


def navigation_sample(
    record: dict,
    sample_id: str,
    data_root: Path,
    num_frames: int = 8,
    mirrored: bool = False,
    questions: int = 0,
    recent_frames: int = 0,
    previous_action: bool = False,
    prompt_wording: str = "navila",
) -> Sample:
    """One navigation record -> Sample with `num_frames` image slots (None = black padding frame).

    `mirrored`: the record as it happens in the mirror image of the house — frames flipped left-right, and
    "left" / "right" swapped in the instruction and the answer (`mirror_left_right`); `questions`: view
    questions after the action (module docstring); `recent_frames`: the observations before the current one
    always shown (`sample_frame_indices`); `previous_action`: the prompt states the record's ``"prev"``;
    `prompt_wording`: the prompt's wording (`navigation_prompt`)."""
    paths = navigation_frame_paths(record, data_root, f"record {sample_id}")
    images = tuple(
        None if i is None else paths[i] for i in sample_frame_indices(len(paths), num_frames, recent_frames)
    )
    instruction, answer = record["q"], record["a"]
    previous = record_previous_action(record, f"record {sample_id}") if previous_action else None
    if mirrored:
        instruction, answer = mirror_left_right(instruction), mirror_left_right(answer)
        previous = None if previous is None else previous.mirrored()
    prompt = navigation_prompt(normalize_instruction(instruction), num_frames, previous, prompt_wording)
    messages = (
        {"role": "user", "content": prompt},
        {"role": "assistant", "content": answer},
    )
    if questions:
        messages += view_question_turns(record, sample_id, questions, mirrored)
    return Sample(sample_id, messages, images, mirrored)


def view_question_turns(record: dict, sample_id: str, count: int, mirrored: bool) -> tuple[dict, ...]:
    """`count` (question, answer) turns about the record's current view, drawn without replacement from
    `view_questions` of its labels (all of them when there are fewer) by a stream seeded with `sample_id`."""
    where = f"record {sample_id}"
    view = record.get("view")
    if not isinstance(view, dict):
        raise DataRecordError(
            f"{where}: view questions need the current view's labels ('view'; write the records with "
            f"`navagent data trajectories --view-labels`)"
        )
    try:
        labels = ViewLabels.from_json(view)
    except (KeyError, TypeError, ValueError) as error:
        raise DataRecordError(f"{where}: 'view' is not a view-labels mapping: {error!r}") from error
    if mirrored:
        labels = labels.flipped()
    pairs = view_questions(labels.to_json(), len(labels.door))
    rng = np.random.default_rng(zlib.crc32(sample_id.encode("utf-8")))
    chosen = sorted(rng.choice(len(pairs), size=min(count, len(pairs)), replace=False).tolist())
    turns: list[dict] = []
    for index in chosen:
        question, reply = pairs[index]
        turns.append({"role": "user", "content": f"{question}\n{SHORT_ANSWER_PROMPT}"})
        turns.append({"role": "assistant", "content": reply})
    return tuple(turns)


def record_previous_action(record: dict, where: str) -> PreviousAction:
    """The record's ``"prev"`` as a `PreviousAction`; DataRecordError (starting with ``where``) when it is
    missing or not a move phrase."""
    if "prev" not in record:
        raise DataRecordError(
            f"{where}: a previous-action prompt needs the record's 'prev' (the move since the previous decision; "
            f"written by `navagent data trajectories` / `navagent data dagger`)"
        )
    try:
        return PreviousAction(record["prev"])
    except ValueError as error:
        raise DataRecordError(f"{where}: 'prev': {error}") from None


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
