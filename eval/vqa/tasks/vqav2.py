"""VQAv2 from its official files, scored like the GT-Vision-Lab evaluation (or lmms-eval's variant).

Files: questions ``{"data_subtype": "val2014", "questions": [{image_id, question, question_id}]}``;
annotations ``{"annotations": [{question_id, image_id, question_type, answer_type, multiple_choice_answer,
answers: [{answer, answer_confidence, answer_id}] x 10}]}``; results ``[{question_id, answer}]``.
Images: ``<image_dir>/COCO_<data_subtype>_<image_id:012d>.jpg``.

Scores are on the official 0-100 scale rounded to 2 decimals: ``overall``, ``perAnswerType``,
``perQuestionType`` (each the mean of per-question accuracies, see ``metrics.vqa_accuracy``), plus the
``mode`` used: ``"official"`` (default) or ``"lmms-eval"`` (always normalises; scores >= official).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from navagent.eval.vqa.files import PathLike, get_field, get_id, get_text, media_path, read_json
from navagent.eval.vqa.metrics import VQA_MODES, VqaMode, vqa_accuracy
from navagent.eval.vqa.sample import (
    Sample,
    VqaDataError,
    check_predictions,
    check_unique_ids,
    format_ids,
)
from navagent.fileio import write_json_atomic

NAME = "vqav2"
ANSWER_INSTRUCTION = "Answer the question using a single word or phrase."


def _questions(path: PathLike) -> tuple[str, list[Mapping[str, Any]]]:
    document = read_json(path)
    subtype = get_text(document, "data_subtype", str(path))
    questions = get_field(document, "questions", str(path), list)
    return subtype, questions


def _annotations(path: PathLike) -> dict[str, Mapping[str, Any]]:
    """{question_id: annotation} with every field the scorer reads checked."""
    records = get_field(read_json(path), "annotations", str(path), list)
    by_id: dict[str, Mapping[str, Any]] = {}
    for index, record in enumerate(records):
        where = f"{path}: annotations[{index}]"
        question_id = get_id(record, "question_id", where)
        get_text(record, "question_type", where)
        get_text(record, "answer_type", where)
        answers = get_field(record, "answers", where, list)
        if len(answers) < 2:
            raise VqaDataError(f"{where}: field 'answers': expected at least 2 answers, got {len(answers)}")
        for number, answer in enumerate(answers):
            get_text(answer, "answer", f"{where}: answers[{number}]")
        if question_id in by_id:
            raise VqaDataError(f"{where}: repeated question_id {question_id!r}")
        by_id[question_id] = record
    return by_id


def load(
    questions: PathLike, annotations: PathLike | None = None, image_dir: PathLike | None = None
) -> list[Sample]:
    """Samples in question-file order; without ``annotations`` (test-dev) their ``answers`` are empty.

    metadata: ``image_id``, and with annotations ``question_type``, ``answer_type``,
    ``multiple_choice_answer``.
    """
    subtype, records = _questions(questions)
    gt = _annotations(annotations) if annotations is not None else {}
    samples = []
    for index, record in enumerate(records):
        where = f"{questions}: questions[{index}]"
        question_id = get_id(record, "question_id", where)
        image_id = get_field(record, "image_id", where, int)
        metadata: dict[str, Any] = {"image_id": image_id}
        answers: tuple[str, ...] = ()
        if annotations is not None:
            if question_id not in gt:
                raise VqaDataError(
                    f"{annotations}: no annotation for question_id {question_id!r} of {questions}"
                )
            note = gt.pop(question_id)
            answers = tuple(answer["answer"] for answer in note["answers"])
            metadata |= {
                key: note.get(key) for key in ("question_type", "answer_type", "multiple_choice_answer")
            }
        samples.append(
            Sample(
                question_id=question_id,
                question=get_text(record, "question", where),
                answers=answers,
                images=media_path(image_dir, f"COCO_{subtype}_{image_id:012d}.jpg"),
                metadata=metadata,
            )
        )
    if gt:
        raise VqaDataError(f"{annotations}: annotations for question {format_ids(gt)} not in {questions}")
    check_unique_ids(samples, str(questions))
    return samples


def _per_type(samples: Sequence[Sample], accuracy: Mapping[str, float], field: str) -> dict[str, float]:
    groups: dict[str, list[float]] = defaultdict(list)
    for sample in samples:
        groups[sample.metadata[field]].append(accuracy[sample.question_id])
    return {name: round(100 * float(sum(values)) / len(values), 2) for name, values in sorted(groups.items())}


def score(
    samples: Sequence[Sample], predictions: Mapping[str, str], mode: VqaMode = "official"
) -> dict[str, Any]:
    """``{"overall", "perAnswerType", "perQuestionType", "mode", "num_samples"}`` (0-100, 2 decimals)."""
    if mode not in VQA_MODES:
        raise ValueError(f"{NAME}: mode: expected one of {VQA_MODES}, got {mode!r}")
    if any(not s.answers for s in samples):
        raise VqaDataError(f"{NAME}: samples without answers (load them with the annotations file)")
    check_predictions(samples, predictions, NAME)
    accuracy = {s.question_id: vqa_accuracy(predictions[s.question_id], s.answers, mode) for s in samples}
    return {
        "overall": round(100 * float(sum(accuracy.values())) / len(accuracy), 2),
        "perAnswerType": _per_type(samples, accuracy, "answer_type"),
        "perQuestionType": _per_type(samples, accuracy, "question_type"),
        "mode": mode,
        "num_samples": len(samples),
    }


def read_results(path: PathLike) -> dict[str, str]:
    """An official results file ``[{"question_id": int, "answer": str}]`` as {question_id: answer}."""
    records = read_json(path)
    if not isinstance(records, list):
        raise VqaDataError(f"{path}: expected a list of {{question_id, answer}} objects")
    results: dict[str, str] = {}
    for index, record in enumerate(records):
        where = f"{path}: [{index}]"
        question_id = get_id(record, "question_id", where)
        if question_id in results:
            raise VqaDataError(f"{where}: repeated question_id {question_id!r}")
        results[question_id] = get_text(record, "answer", where)
    return results


def write_results(path: PathLike, predictions: Mapping[str, str]) -> None:
    """Write {question_id: answer} as an official results / submission file (integer ids), atomically."""
    records = [
        {"question_id": int(qid), "answer": answer}
        for qid, answer in sorted(predictions.items(), key=lambda i: int(i[0]))
    ]
    write_json_atomic(Path(path), records)


def score_vqav2_files(
    results_json: PathLike, questions_json: PathLike, annotations_json: PathLike, mode: VqaMode = "official"
) -> dict[str, Any]:
    """Score an official results file: ``{"overall", "perAnswerType", "perQuestionType", "mode"}`` (0-100).

    The results must cover exactly the annotated question ids (PredictionError naming missing/unknown ids).
    """
    samples = load(questions_json, annotations_json)
    report = score(samples, read_results(results_json), mode)
    return {key: report[key] for key in ("overall", "perAnswerType", "perQuestionType", "mode")}
