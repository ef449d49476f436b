"""Scene-QA: questions about views rendered in built-in houses (``navagent data sceneqa``; format and house
split in ``navagent.envs.builtin.sceneqa``).

File: ``sceneqa_<split>.json``, a JSON list of records ``{"id", "image" (relative to the file's folder),
"question", "answers": [exact answer, accepted variants...], "type": "room" | "color" | "count" |
"existence", "pope_config": "random" | "popular" | "adversarial" | null, "category": str | null, ...}``.

Score, in percent: accuracy over all questions and per question type. Open questions (room, colour, count)
are right when the prediction equals one of the answers after ``metrics.normalize_exact`` (lowercase, no
punctuation, single spaces: "Two." matches "two"). Existence questions are read with
``metrics.extract_yes_no``; an unreadable answer is wrong (and counted in ``unparsed``). Existence questions
also get POPE's report (accuracy, precision, recall, F1, yes-ratio) over all configs and per config.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from navagent.envs.builtin.sceneqa_questions import POPE_CONFIGS, QUESTION_TYPES
from navagent.eval.vqa.files import PathLike, get_field, get_text, get_text_list, read_records
from navagent.eval.vqa.metrics import exact_match, extract_yes_no
from navagent.eval.vqa.sample import Sample, VqaDataError, check_predictions, check_unique_ids
from navagent.eval.vqa.scoring import accuracy_report
from navagent.eval.vqa.tasks.pope import report_by_config

NAME = "sceneqa"
ANSWER_INSTRUCTION = "Answer the question using a single word or phrase."


def _sample(record: Any, root: Path, where: str) -> Sample:
    question_type = get_text(record, "type", where)
    if question_type not in QUESTION_TYPES:
        raise VqaDataError(f"{where}: field 'type': expected one of {QUESTION_TYPES}, got {question_type!r}")
    answers = tuple(get_text_list(record, "answers", where))
    config = get_field(record, "pope_config", where, (str, type(None)))
    if question_type == "existence":
        if answers not in (("yes",), ("no",)):
            raise VqaDataError(f"{where}: field 'answers': expected ['yes'] or ['no'], got {list(answers)}")
        if config not in POPE_CONFIGS:
            raise VqaDataError(
                f"{where}: field 'pope_config': expected one of {POPE_CONFIGS}, got {config!r}"
            )
    category = get_field(record, "category", where, (str, type(None)))
    return Sample(
        question_id=get_text(record, "id", where),
        question=get_text(record, "question", where),
        answers=answers,
        images=(root / get_text(record, "image", where),),
        metadata={"type": question_type, "pope_config": config or "", "category": category or ""},
    )


def load(annotations: PathLike) -> list[Sample]:
    """Samples in file order; images resolve against the annotation file's folder.
    metadata: ``type``, ``pope_config`` ("" unless existence), ``category`` ("" for room questions)."""
    root = Path(annotations).parent
    samples = [
        _sample(record, root, f"{annotations}: record {index}")
        for index, record in enumerate(read_records(annotations))
    ]
    if not samples:
        raise VqaDataError(f"{annotations}: no questions")
    check_unique_ids(samples, str(annotations))
    return samples


def score(samples: Sequence[Sample], predictions: Mapping[str, str]) -> dict[str, Any]:
    """``{"accuracy", "num_samples", "per_type": {type: %}, "unparsed", "existence": {"overall", config...}}``
    (``existence`` only when there are existence questions)."""
    check_predictions(samples, predictions, NAME)
    existence = [s for s in samples if s.metadata["type"] == "existence"]
    yes_no = {s.question_id: extract_yes_no(predictions[s.question_id]) for s in existence}
    scores = {
        s.question_id: float(
            yes_no[s.question_id] == s.answers[0]
            if s.metadata["type"] == "existence"
            else exact_match(predictions[s.question_id], s.answers)
        )
        for s in samples
    }
    report = accuracy_report(samples, scores, ("type",))
    report["unparsed"] = sum(answer is None for answer in yes_no.values())
    if existence:
        report["existence"] = report_by_config(existence, yes_no, POPE_CONFIGS, config_key="pope_config")
    return report
