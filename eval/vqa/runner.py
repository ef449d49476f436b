"""Answer VQA benchmark questions with a checkpoint, then score them (``navagent eval vqa --checkpoint``).

``run_vqa_eval`` loads each task's samples (``task_files`` as in ``registry``; the first ``limit`` when given),
skips the question ids already answered in ``OUT_DIR/predictions.jsonl``, answers the others by batched
greedy generation and appends them to that file, one ``{"task", "question_id", "answer"}`` line each (the
JSON-lines format of ``predictions``), a batch at a time, flushed to disk. A run that is killed loses at
most the batch in flight: the next run in the same ``OUT_DIR`` cuts off a partial last line and goes on.
Scores go to ``OUT_DIR/scores.json`` (``{task: report}``): through ``score_predictions`` when every sample
was asked, or through each task's ``score`` on the first ``limit`` samples.

Model input of one sample: the user message ``"<image>\\n" * F + sample.prompt(task.answer_instruction)``
in the processor's chat format, with the F frames of ``media.sample_frames`` (the sample's images, then
the model config's ``num_video_frames`` per video). ``OUT_DIR/run.json`` records the checkpoint and
``max_new_tokens``; resuming in the same ``OUT_DIR`` with other values is an error, since the predictions
would mix two models.
"""

from __future__ import annotations

import inspect
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from navagent.eval.vqa.files import PathLike
from navagent.eval.vqa.media import image_placeholders, sample_frames, sample_media_paths
from navagent.eval.vqa.predictions import load_predictions, score_predictions
from navagent.eval.vqa.registry import Task, get_task
from navagent.eval.vqa.sample import Sample
from navagent.fileio import write_json_atomic
from navagent.model import NavVLMForCausalLM, NavVLMProcessor, checkpoint_kind, load_model_and_processor
from navagent.output_guard import (
    FRESH_HINT,
    InputsChangedError,
    describe_changes,
    file_digest,
    output_lock,
    tree_digest,
)

PREDICTIONS_FILE = "predictions.jsonl"
SCORES_FILE = "scores.json"
RUN_FILE = "run.json"
Answer = tuple[str, str]  # (question id, model output text)


class PredictionLog:
    """The append-only predictions file of a run: which ids are answered, and appending more."""

    def __init__(self, path: Path):
        self.path = path
        self._cut_partial_line()
        self._answered = load_predictions(path) if path.is_file() else {}

    def _cut_partial_line(self) -> None:
        """Drop the bytes after the last newline (a line a killed run did not finish)."""
        if not self.path.is_file():
            return
        data = self.path.read_bytes()
        keep = data.rfind(b"\n") + 1
        if keep < len(data):
            with open(self.path, "r+b") as handle:
                handle.truncate(keep)

    def answered(self, task: str) -> set[str]:
        return set(self._answered.get(task, {}))

    def append(self, task: str, answers: Sequence[Answer]) -> None:
        """Append one line per answer in one write, then flush and fsync."""
        lines = "".join(
            json.dumps({"task": task, "question_id": qid, "answer": text}, ensure_ascii=False) + "\n"
            for qid, text in answers
        )
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(lines)
            handle.flush()
            os.fsync(handle.fileno())
        self._answered.setdefault(task, {}).update(answers)


def load_task_samples(task: Task, files: Mapping[str, Any], limit: int | None) -> list[Sample]:
    """``task.load(**files)``, the first ``limit`` samples; ValueError naming the task for wrong keywords."""
    signature = inspect.signature(task.load)
    try:
        signature.bind(**files)
    except TypeError as error:
        raise ValueError(
            f"{task.name}: files {sorted(files)} do not fit its load({', '.join(signature.parameters)}): {error}"
        ) from error
    samples = task.load(**files)
    return samples if limit is None else samples[:limit]


def answer_samples(
    model: NavVLMForCausalLM,
    processor: NavVLMProcessor,
    samples: Sequence[Sample],
    answer_instruction: str,
    batch_size: int = 8,
    max_new_tokens: int = 16,
) -> Iterator[list[Answer]]:
    """Greedy answers to ``samples``, one list of (question id, text) per batch of ``batch_size``."""
    device = model.get_input_embeddings().weight.device
    num_video_frames = model.config.num_video_frames
    for start in range(0, len(samples), batch_size):
        batch = samples[start : start + batch_size]
        frames = [sample_frames(sample, num_video_frames) for sample in batch]
        prompts = [
            processor.user_prompt(
                image_placeholders(len(f), processor.image_token) + s.prompt(answer_instruction)
            )
            for s, f in zip(batch, frames)
        ]
        inputs = processor(prompts, images=[frame for group in frames for frame in group])
        new_tokens = model.generate(
            inputs["input_ids"].to(device),
            inputs["attention_mask"].to(device),
            pixel_values=inputs["pixel_values"],
            max_new_tokens=max_new_tokens,
            do_sample=False,
            eos_token_id=processor.stop_token_ids,
            pad_token_id=processor.tokenizer.pad_token_id,
        )
        yield [(s.question_id, text) for s, text in zip(batch, processor.batch_decode(new_tokens))]


def _files_digest(files: Mapping[str, Any]) -> dict[str, str]:
    """A task's input files by keyword: the content hash of each file (a folder is recorded by its path)."""
    return {
        keyword: file_digest(path) if Path(path).is_file() else f"folder {Path(path).resolve()}"
        for keyword, path in sorted(files.items())
    }


def _check_run(
    out_dir: Path, checkpoint: Path, max_new_tokens: int, task_files: Mapping[str, Mapping[str, Any]]
) -> None:
    """Write ``run.json`` (checkpoint path + content hash, ``max_new_tokens``, each task's file hashes), or
    refuse (``InputsChangedError``) when an earlier run in ``out_dir`` used other ones; tasks new to the folder
    are added to the record."""
    settings = {
        "checkpoint": str(checkpoint.resolve()),
        "checkpoint_digest": tree_digest(checkpoint),
        "max_new_tokens": max_new_tokens,
    }
    inputs = {task: _files_digest(files) for task, files in task_files.items()}
    path = out_dir / RUN_FILE
    if path.is_file():
        earlier = json.loads(path.read_text(encoding="utf-8"))
        earlier_inputs = earlier.pop("inputs", {})
        shared = [task for task in inputs if task in earlier_inputs]
        previous = {**earlier, "inputs": {task: earlier_inputs[task] for task in shared}}
        current = {**settings, "inputs": {task: inputs[task] for task in shared}}
        if previous != current:
            raise InputsChangedError(
                f"{out_dir} holds predictions made from other inputs: {describe_changes(previous, current)} "
                f"(recorded in {path}); {FRESH_HINT}"
            )
        inputs = {**earlier_inputs, **inputs}
    write_json_atomic(path, {**settings, "inputs": inputs})


def _check_arguments(tasks: Sequence[str], batch_size: int, max_new_tokens: int, limit: int | None) -> None:
    if not tasks:
        raise ValueError("run_vqa_eval: no tasks given")
    if len(set(tasks)) != len(tasks):
        raise ValueError(f"run_vqa_eval: a task is listed twice in {list(tasks)}")
    for name, value in (("batch_size", batch_size), ("max_new_tokens", max_new_tokens)):
        if value < 1:
            raise ValueError(f"run_vqa_eval: {name} must be >= 1, got {value}")
    if limit is not None and limit < 1:
        raise ValueError(f"run_vqa_eval: limit must be >= 1 or None, got {limit}")


def _score(
    tasks: Sequence[str],
    samples: Mapping[str, list[Sample]],
    task_files: Mapping[str, Mapping[str, Any]],
    predictions_path: Path,
    out_path: Path,
    limited: bool,
    score_options: Mapping[str, Mapping[str, Any]],
) -> dict[str, dict[str, Any]]:
    if not limited:
        return score_predictions(tasks, predictions_path, task_files, out_path, score_options=score_options)
    predictions = load_predictions(predictions_path)
    reports = {}
    for name in tasks:
        answers = predictions.get(name, {})
        chosen = {s.question_id: answers[s.question_id] for s in samples[name] if s.question_id in answers}
        reports[name] = get_task(name).score(samples[name], chosen, **score_options.get(name, {}))
    write_json_atomic(out_path, reports)
    return reports


def run_vqa_eval(
    tasks: Sequence[str],
    checkpoint: PathLike,
    task_files: Mapping[str, Mapping[str, Any]],
    out_dir: PathLike,
    batch_size: int = 8,
    max_new_tokens: int = 16,
    limit: int | None = None,
    progress: bool = True,
    *,
    device: str | torch.device | None = None,
    dtype: torch.dtype | None = None,
    score_options: Mapping[str, Mapping[str, Any]] | None = None,
    overwrite: bool = False,
) -> dict[str, dict[str, Any]]:
    """Answer and score ``tasks`` with the model at ``checkpoint`` (see the module docstring).

    task_files: per task, the keyword arguments of its ``load`` (``{"sceneqa": {"annotations": ...}}``);
        tasks without files (``easyvqa``) may be left out.
    device: default CUDA when available, else CPU. dtype: default the checkpoint's.
    score_options: per task, keyword options of its ``score`` (``{"vqav2": {"mode": "lmms-eval"}}``).
    Returns ``{task: report}`` as written to ``OUT_DIR/scores.json``. A checkpoint that is neither a navagent
    nor a VILA model raises ``CheckpointFormatError`` before anything is written. ``OUT_DIR`` is locked for the
    run; ``overwrite`` drops its earlier run.json, predictions and scores instead of resuming them.
    """
    _check_arguments(tasks, batch_size, max_new_tokens, limit)
    chosen = [get_task(name) for name in tasks]
    checkpoint = Path(checkpoint)
    checkpoint_kind(checkpoint)  # CheckpointFormatError for anything else, before any file is touched
    samples = {task.name: load_task_samples(task, task_files.get(task.name, {}), limit) for task in chosen}
    with output_lock(out_dir):
        if overwrite:
            for name in (RUN_FILE, PREDICTIONS_FILE, SCORES_FILE):
                (Path(out_dir) / name).unlink(missing_ok=True)
        files = {task.name: task_files.get(task.name, {}) for task in chosen}
        _check_run(Path(out_dir), checkpoint, max_new_tokens, files)
        return _answer_and_score(
            checkpoint,
            chosen, samples, task_files, Path(out_dir), batch_size, max_new_tokens, limit, progress, device, dtype,
            score_options,
        )  # fmt: skip


def _answer_and_score(
    checkpoint: Path,
    chosen: Sequence[Task],
    samples: Mapping[str, list[Sample]],
    task_files: Mapping[str, Mapping[str, Any]],
    out_dir: Path,
    batch_size: int,
    max_new_tokens: int,
    limit: int | None,
    progress: bool,
    device: str | torch.device | None,
    dtype: torch.dtype | None,
    score_options: Mapping[str, Mapping[str, Any]] | None,
) -> dict[str, dict[str, Any]]:
    """Answer the samples not yet in the predictions log (loading the model only then), then score."""
    tasks = [task.name for task in chosen]
    log = PredictionLog(out_dir / PREDICTIONS_FILE)
    pending = {}
    for task in chosen:
        answered = log.answered(task.name)
        pending[task.name] = [s for s in samples[task.name] if s.question_id not in answered]
        for sample in pending[task.name]:
            sample_media_paths(sample, task.name)  # missing media fail before the model loads
    if any(pending.values()):
        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        model, processor = load_model_and_processor(checkpoint, dtype=dtype, device=device)
        for task in chosen:
            bar = tqdm(total=len(pending[task.name]), desc=task.name, unit="q", disable=not progress)
            with bar:
                todo = pending[task.name]
                for answers in answer_samples(
                    model, processor, todo, task.answer_instruction, batch_size, max_new_tokens
                ):
                    log.append(task.name, answers)
                    bar.update(len(answers))
    return _score(
        tasks, samples, task_files, log.path, out_dir / SCORES_FILE, limit is not None, score_options or {}
    )
