"""POPE (object hallucination) from its official question files, one per configuration.

Files: JSON lines (named ``coco_pope_<config>.json``), one per config adversarial / popular / random:
``{"question_id": int, "image": "COCO_val2014_....jpg", "text": question, "label": "yes" | "no"}``.
Question ids restart in every file, so a sample's id is ``"<config>/<question_id>"``.
Images: ``<image_dir>/<image>``.

Score per config and over all of them: accuracy, precision, recall and F1 of answering "yes" (the
positive class), and the ratio of "yes" predictions, in percent. Predictions are read with
``metrics.extract_yes_no``; an unreadable prediction is wrong: never a "yes", so on a "yes" question it
counts as a false negative.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from navagent.eval.vqa.files import PathLike, get_id, get_text, media_path, read_json_or_jsonl
from navagent.eval.vqa.metrics import extract_yes_no, percent, precision_recall_f1
from navagent.eval.vqa.sample import Sample, VqaDataError, check_predictions, check_unique_ids

NAME = "pope"
ANSWER_INSTRUCTION = "Answer the question using a single word or phrase."
CONFIGS = ("adversarial", "popular", "random")


def _load_config(config: str, path: PathLike, image_dir: PathLike | None) -> list[Sample]:
    records = read_json_or_jsonl(path)
    if not isinstance(records, list):
        raise VqaDataError(f"{path}: expected JSON lines of POPE questions")
    samples = []
    for index, record in enumerate(records):
        where = f"{path}: record {index}"
        label = get_text(record, "label", where).strip().lower()
        if label not in ("yes", "no"):
            raise VqaDataError(f"{where}: field 'label': expected 'yes' or 'no', got {label!r}")
        samples.append(
            Sample(
                question_id=f"{config}/{get_id(record, 'question_id', where)}",
                question=get_text(record, "text", where),
                answers=(label,),
                images=media_path(image_dir, get_text(record, "image", where)),
                metadata={"config": config},
            )
        )
    return samples


def load(
    adversarial: PathLike | None = None,
    popular: PathLike | None = None,
    random: PathLike | None = None,
    image_dir: PathLike | None = None,
) -> list[Sample]:
    """Samples of the given configs (at least one); metadata: ``config``."""
    files = {"adversarial": adversarial, "popular": popular, "random": random}
    if all(path is None for path in files.values()):
        raise ValueError(f"{NAME}: give the question file of at least one config of {CONFIGS}")
    samples = [
        s for config, path in files.items() if path is not None for s in _load_config(config, path, image_dir)
    ]
    check_unique_ids(samples, NAME)
    return samples


def binary_report(labels: Sequence[str], answers: Sequence[str | None]) -> dict[str, Any]:
    """Accuracy, precision/recall/F1 of "yes", yes-ratio (percent), counts; ``answers`` None = unreadable."""
    true_pos = sum(a == "yes" and y == "yes" for a, y in zip(answers, labels))
    false_pos = sum(a == "yes" and y == "no" for a, y in zip(answers, labels))
    false_neg = sum(a != "yes" and y == "yes" for a, y in zip(answers, labels))
    precision, recall, f1 = precision_recall_f1(true_pos, false_pos, false_neg)
    return {
        "accuracy": percent(sum(a == y for a, y in zip(answers, labels)) / len(labels)),
        "precision": percent(precision),
        "recall": percent(recall),
        "f1": percent(f1),
        "yes_ratio": percent(sum(a == "yes" for a in answers) / len(labels)),
        "num_samples": len(labels),
        "unparsed": sum(a is None for a in answers),
    }


def report_by_config(
    samples: Sequence[Sample],
    answers: Mapping[str, str | None],
    configs: Sequence[str] = CONFIGS,
    config_key: str = "config",
) -> dict[str, Any]:
    """``{"overall": {...}, "<config>": {...}}``, each a ``binary_report``; a sample's config is
    ``metadata[config_key]``; configs without samples are left out. Shared with the built-in scene-QA."""
    report = {
        "overall": binary_report([s.answers[0] for s in samples], [answers[s.question_id] for s in samples])
    }
    for config in configs:
        chosen = [s for s in samples if s.metadata[config_key] == config]
        if chosen:
            report[config] = binary_report(
                [s.answers[0] for s in chosen], [answers[s.question_id] for s in chosen]
            )
    return report


def score(samples: Sequence[Sample], predictions: Mapping[str, str]) -> dict[str, Any]:
    """``{"overall": {...}, "<config>": {...}}``, each as ``binary_report``."""
    check_predictions(samples, predictions, NAME)
    answers = {s.question_id: extract_yes_no(predictions[s.question_id]) for s in samples}
    return report_by_config(samples, answers)
