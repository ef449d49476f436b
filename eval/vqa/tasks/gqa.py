"""GQA (balanced test-dev) from the official questions file, scored by exact match as lmms-eval does.

File: ``{question_id: {"imageId": str, "question": str, "answer": str, "types": {"structural": ...,
"semantic": ..., "detailed": ...}, ...}}`` (e.g. ``testdev_balanced_questions.json``).
Images: ``<image_dir>/<imageId>.jpg``.

Score: accuracy of ``metrics.exact_match`` (lowercase, punctuation deleted), overall and per structural
and semantic type, in percent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from navagent.eval.vqa.files import PathLike, get_text, media_path, read_json
from navagent.eval.vqa.metrics import exact_match
from navagent.eval.vqa.sample import Sample, VqaDataError, check_predictions
from navagent.eval.vqa.scoring import accuracy_report

NAME = "gqa"
ANSWER_INSTRUCTION = "Answer the question using a single word or phrase."


def load(questions: PathLike, image_dir: PathLike | None = None) -> list[Sample]:
    """Samples in file order; metadata: ``image_id``, ``structural``, ``semantic`` (type names or "")."""
    document = read_json(questions)
    if not isinstance(document, Mapping):
        raise VqaDataError(f"{questions}: expected an object keyed by question id")
    samples = []
    for question_id, record in document.items():
        where = f"{questions}: question {question_id!r}"
        image_id = get_text(record, "imageId", where)
        types = record.get("types")
        types = types if isinstance(types, Mapping) else {}
        samples.append(
            Sample(
                question_id=str(question_id),
                question=get_text(record, "question", where),
                answers=(get_text(record, "answer", where),),
                images=media_path(image_dir, f"{image_id}.jpg"),
                metadata={
                    "image_id": image_id,
                    "structural": str(types.get("structural", "")),
                    "semantic": str(types.get("semantic", "")),
                },
            )
        )
    return samples


def score(samples: Sequence[Sample], predictions: Mapping[str, str]) -> dict[str, Any]:
    """``{"accuracy", "num_samples", "per_structural", "per_semantic"}`` in percent."""
    check_predictions(samples, predictions, NAME)
    scores = {s.question_id: float(exact_match(predictions[s.question_id], s.answers)) for s in samples}
    return accuracy_report(samples, scores, ("structural", "semantic"))
