"""Prediction files and the scoring entry point the ``navagent eval`` CLI calls.

A predictions file holds model outputs for one or more tasks, either

- JSON: ``{task: {question_id: answer text}}``, or
- JSON lines (``.jsonl``): one ``{"task": str, "question_id": str | int, "answer": str}`` per line
  (convenient for a runner that appends as it goes).

Question ids are compared as strings (``123`` and ``"123"`` are the same id).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from navagent.eval.vqa.files import PathLike, get_field, get_id, get_text, read_json, read_jsonl
from navagent.eval.vqa.registry import get_task
from navagent.eval.vqa.sample import PredictionError, VqaDataError
from navagent.fileio import write_json_atomic

Predictions = dict[str, dict[str, str]]


def _from_jsonl(path: PathLike) -> Predictions:
    predictions: Predictions = {}
    for number, record in enumerate(read_jsonl(path), start=1):
        where = f"{path}: record {number}"
        task, question_id = get_text(record, "task", where), get_id(record, "question_id", where)
        answers = predictions.setdefault(task, {})
        if question_id in answers:
            raise VqaDataError(f"{where}: repeated prediction for task {task!r} question {question_id!r}")
        answers[question_id] = get_text(record, "answer", where)
    return predictions


def _from_json(path: PathLike) -> Predictions:
    document = read_json(path)
    if not isinstance(document, Mapping):
        raise VqaDataError(f"{path}: expected an object {{task: {{question_id: answer}}}}")
    predictions: Predictions = {}
    for task in document:
        answers = get_field(document, task, str(path), dict)
        predictions[task] = {str(qid): get_text(answers, qid, f"{path}: task {task!r}") for qid in answers}
    return predictions


def load_predictions(path: PathLike) -> Predictions:
    """{task: {question_id: answer}} from a ``.json`` or ``.jsonl`` predictions file (see module docstring)."""
    return _from_jsonl(path) if Path(path).suffix == ".jsonl" else _from_json(path)


def write_predictions(path: PathLike, predictions: Mapping[str, Mapping[str, str]]) -> None:
    """Write {task: {question_id: answer}} as a JSON predictions file, atomically."""
    write_json_atomic(Path(path), {task: dict(answers) for task, answers in predictions.items()})


def _check_keywords(
    task: str, what: str, function: Callable[..., Any], positional: tuple, keywords: Mapping[str, Any]
) -> None:
    """ValueError naming the task when ``keywords`` do not fit ``function``'s parameters."""
    try:
        inspect.signature(function).bind(*positional, **keywords)
    except TypeError as error:
        expected = list(inspect.signature(function).parameters)[len(positional) :]
        raise ValueError(f"{task}: {what} {sorted(keywords)} do not fit {expected}: {error}") from error


def score_predictions(
    tasks: Sequence[str],
    predictions_path: PathLike,
    task_files: Mapping[str, Mapping[str, Any]],
    out_path: PathLike,
    *,
    score_options: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, dict[str, Any]]:
    """Score the predictions of each task in ``tasks`` and write ``{task: report}`` to ``out_path`` (atomic).

    task_files: per task, the keyword arguments of its ``load`` (see ``registry``), e.g.
        ``{"vqav2": {"questions": "...json", "annotations": "...json"}}``; tasks without local files
        (``easyvqa``) may be left out.
    score_options: per task, keyword options of its ``score``, e.g. ``{"vqav2": {"mode": "lmms-eval"}}``.
    Returns the reports written, e.g. ``{"vqav2": {"overall": 71.5, "perAnswerType": {...},
    "perQuestionType": {...}, "mode": "official", "num_samples": ...}}``.
    """
    if not tasks:
        raise ValueError("score_predictions: no tasks given")
    chosen = [get_task(name) for name in tasks]  # unknown names fail before any file is read
    predictions = load_predictions(predictions_path)
    if absent := [task.name for task in chosen if task.name not in predictions]:
        raise PredictionError(
            f"{predictions_path}: no predictions for tasks {absent} (has {sorted(predictions)})"
        )
    options = score_options or {}
    reports = {}
    for task in chosen:
        files = dict(task_files.get(task.name, {}))
        scoring = dict(options.get(task.name, {}))
        _check_keywords(task.name, "files", task.load, (), files)
        _check_keywords(task.name, "score options", task.score, ((), {}), scoring)
        samples = task.load(**files)
        reports[task.name] = task.score(samples, predictions[task.name], **scoring)
    write_json_atomic(Path(out_path), reports)
    return reports
