"""easy-VQA, the small offline benchmark shipped inside the ``easy-vqa`` package (images and questions).

Questions about one coloured shape per 64 x 64 image ("what is the blue shape?", "is there a red
shape?"); answers come from a 13-word vocabulary (``easy_vqa.get_answers()``). Sample ids are
``"<split>/<position>"``. Score: exact-match accuracy (``metrics.exact_match``), overall and per answer,
in percent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from navagent.eval.vqa.metrics import exact_match
from navagent.eval.vqa.sample import Sample, VqaDataError, check_predictions
from navagent.eval.vqa.scoring import accuracy_report

NAME = "easyvqa"
ANSWER_INSTRUCTION = "Answer the question using a single word or phrase."  # as in training
SPLITS = ("train", "test")


def _package() -> Any:
    try:
        import easy_vqa
    except ImportError as error:
        raise ImportError("the easyvqa task needs the easy-vqa package: pip install easy-vqa") from error
    return easy_vqa


def load(split: Literal["train", "test"] = "test") -> list[Sample]:
    """Samples of the package's ``split`` in its order; metadata: ``image_id``."""
    if split not in SPLITS:
        raise ValueError(f"{NAME}: split: expected one of {SPLITS}, got {split!r}")
    package = _package()
    if split == "test":
        questions, answers, image_ids = package.get_test_questions()
        image_paths = package.get_test_image_paths()
    else:
        questions, answers, image_ids = package.get_train_questions()
        image_paths = package.get_train_image_paths()
    samples = []
    for position, (question, answer, image_id) in enumerate(zip(questions, answers, image_ids)):
        if image_id not in image_paths:
            raise VqaDataError(f"easy-vqa {split} question {position}: no image {image_id} in the package")
        samples.append(
            Sample(
                question_id=f"{split}/{position}",
                question=question,
                answers=(answer,),
                images=(Path(image_paths[image_id]),),
                metadata={"image_id": image_id, "answer": answer},
            )
        )
    return samples


def score(samples: Sequence[Sample], predictions: Mapping[str, str]) -> dict[str, Any]:
    """``{"accuracy", "num_samples", "per_answer"}`` in percent."""
    check_predictions(samples, predictions, NAME)
    scores = {s.question_id: float(exact_match(predictions[s.question_id], s.answers)) for s in samples}
    return accuracy_report(samples, scores, ("answer",))
