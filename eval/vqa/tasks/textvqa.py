"""TextVQA from its official annotation file, scored with VQA accuracy after EvalAI normalisation.

File: ``{"data": [{"question_id": int, "question": str, "image_id": str, "answers": [str x 10], ...}]}``
(e.g. ``TextVQA_0.5.1_val.json``). Images: ``<image_dir>/<image_id>.jpg`` (val images live in
``train_images/``).

Score: mean of ``metrics.textvqa_accuracy`` (prediction and answers both normalised), in percent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from navagent.eval.vqa.files import (
    PathLike,
    get_field,
    get_id,
    get_text,
    get_text_list,
    media_path,
    read_json,
)
from navagent.eval.vqa.metrics import textvqa_accuracy
from navagent.eval.vqa.sample import Sample, check_predictions, check_unique_ids
from navagent.eval.vqa.scoring import accuracy_report

NAME = "textvqa"
ANSWER_INSTRUCTION = "Answer the question using a single word or phrase."


def load(annotations: PathLike, image_dir: PathLike | None = None) -> list[Sample]:
    """Samples in file order; metadata: ``image_id``."""
    records = get_field(read_json(annotations), "data", str(annotations), list)
    samples = []
    for index, record in enumerate(records):
        where = f"{annotations}: data[{index}]"
        image_id = get_text(record, "image_id", where)
        samples.append(
            Sample(
                question_id=get_id(record, "question_id", where),
                question=get_text(record, "question", where),
                answers=tuple(get_text_list(record, "answers", where)),
                images=media_path(image_dir, f"{image_id}.jpg"),
                metadata={"image_id": image_id},
            )
        )
    check_unique_ids(samples, str(annotations))
    return samples


def score(samples: Sequence[Sample], predictions: Mapping[str, str]) -> dict[str, Any]:
    """``{"accuracy", "num_samples"}`` in percent."""
    check_predictions(samples, predictions, NAME)
    scores = {s.question_id: textvqa_accuracy(predictions[s.question_id], s.answers) for s in samples}
    return accuracy_report(samples, scores)
