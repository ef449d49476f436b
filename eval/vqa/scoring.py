"""Scoring steps shared by several benchmarks: accuracy reports with per-group breakdowns, multiple choice."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from navagent.eval.vqa.metrics import extract_option_letter, percent
from navagent.eval.vqa.sample import Sample, check_predictions


def mean(values: Sequence[float]) -> float:
    """Arithmetic mean of a non-empty sequence."""
    if not values:
        raise ValueError("mean of an empty sequence")
    return sum(values) / len(values)


def group_means(samples: Sequence[Sample], scores: Mapping[str, float], field: str) -> dict[str, float]:
    """{value of ``sample.metadata[field]``: mean score of its samples}, sorted by value."""
    groups: dict[str, list[float]] = defaultdict(list)
    for sample in samples:
        groups[str(sample.metadata[field])].append(scores[sample.question_id])
    return {group: mean(values) for group, values in sorted(groups.items())}


def accuracy_report(
    samples: Sequence[Sample], scores: Mapping[str, float], group_fields: Sequence[str] = ()
) -> dict[str, Any]:
    """``{"accuracy": %, "num_samples": n, "per_<field>": {group: %}}`` from per-question scores in [0, 1]."""
    report: dict[str, Any] = {
        "accuracy": percent(mean([scores[s.question_id] for s in samples])),
        "num_samples": len(samples),
    }
    for field in group_fields:
        report[f"per_{field}"] = {
            group: percent(value) for group, value in group_means(samples, scores, field).items()
        }
    return report


def choose_options(samples: Sequence[Sample], predictions: Mapping[str, str]) -> dict[str, str | None]:
    """{question_id: chosen option letter, or None when the prediction names no option}."""
    return {s.question_id: extract_option_letter(predictions[s.question_id], s.options) for s in samples}


def multiple_choice_scores(
    samples: Sequence[Sample], predictions: Mapping[str, str], task: str
) -> tuple[dict[str, float], int]:
    """({question_id: 1.0 if the extracted option letter is right else 0.0}, number of unparseable answers)."""
    check_predictions(samples, predictions, task)
    chosen = choose_options(samples, predictions)
    scores = {s.question_id: float(chosen[s.question_id] == s.answers[0]) for s in samples}
    return scores, sum(letter is None for letter in chosen.values())


def score_multiple_choice(
    samples: Sequence[Sample], predictions: Mapping[str, str], task: str, group_fields: Sequence[str] = ()
) -> dict[str, Any]:
    """Accuracy of option letters extracted from the predictions (unparseable = wrong), with breakdowns.

    Adds ``"unparsed"``: how many predictions named no option.
    """
    scores, unparsed = multiple_choice_scores(samples, predictions, task)
    return accuracy_report(samples, scores, group_fields) | {"unparsed": unparsed}
