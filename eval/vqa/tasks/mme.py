"""MME from the official release folder, scored like its ``eval_tool``: acc, acc+ and category scores.

Layout (``MME_Benchmark_release_version/``): one folder per category. Either ``<category>/images/<name>.jpg``
with ``<category>/questions_answers_YN/<name>.txt``, or image and ``<name>.txt`` side by side in
``<category>/``. Each text file has one line per question (two per image): ``question<TAB>Yes|No``.
Sample ids are ``"<category>/<name>/<line number from 0>"``.

Score per category: acc = % of questions right, acc+ = % of images with every question right, score =
acc + acc+ (0-200). Perception = sum of the 10 perception category scores, cognition = sum of the 4
cognition ones (None, with the missing categories listed, when some are not loaded). Predictions are read
with ``metrics.extract_yes_no``; unreadable = wrong.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from navagent.eval.vqa.files import PathLike
from navagent.eval.vqa.metrics import extract_yes_no
from navagent.eval.vqa.sample import Sample, VqaDataError, check_predictions
from navagent.eval.vqa.scoring import mean

NAME = "mme"
ANSWER_INSTRUCTION = ""  # every MME question already ends with "Please answer yes or no."
PERCEPTION = (
    "existence", "count", "position", "color", "posters", "celebrity", "scene", "landmark", "artwork", "OCR",
)  # fmt: skip
COGNITION = ("commonsense_reasoning", "numerical_calculation", "text_translation", "code_reasoning")
IMAGE_SUFFIXES = (".jpg", ".png", ".jpeg", ".JPG", ".PNG", ".JPEG")


def _question_files(category_dir: Path) -> tuple[list[Path], Path]:
    """The category's question files and the folder holding its images."""
    answers_dir = category_dir / "questions_answers_YN"
    if answers_dir.is_dir():
        return sorted(answers_dir.glob("*.txt")), category_dir / "images"
    return sorted(category_dir.glob("*.txt")), category_dir


def _image_for(images_dir: Path, name: str, question_file: Path) -> Path:
    for suffix in IMAGE_SUFFIXES:
        if (candidate := images_dir / f"{name}{suffix}").is_file():
            return candidate
    raise VqaDataError(
        f"{question_file}: no image named {name} with a suffix of {IMAGE_SUFFIXES} in {images_dir}"
    )


def _parse_question_file(path: Path, category: str, image: Path) -> list[Sample]:
    samples = []
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not lines:
        raise VqaDataError(f"{path}: no questions")
    for number, line in enumerate(lines):
        question, tab, answer = line.rpartition("\t")
        answer = answer.strip().lower()
        if not tab or answer not in ("yes", "no"):
            raise VqaDataError(f"{path}: line {number + 1}: expected 'question<TAB>Yes|No', got {line!r:.80}")
        samples.append(
            Sample(
                question_id=f"{category}/{path.stem}/{number}",
                question=question.strip(),
                answers=(answer,),
                images=(image,),
                metadata={"category": category, "image": path.stem},
            )
        )
    return samples


def load(root: PathLike, categories: Sequence[str] | None = None) -> list[Sample]:
    """Samples of ``categories`` (default: every one of the 14 whose folder exists under ``root``).

    metadata: ``category``, ``image`` (the image's name; the questions of one image share it).
    """
    root = Path(root)
    known = PERCEPTION + COGNITION
    if categories is not None and (unknown := set(categories) - set(known)):
        raise ValueError(f"{NAME}: unknown categories {sorted(unknown)}; known: {known}")
    wanted = list(categories) if categories is not None else [c for c in known if (root / c).is_dir()]
    samples = []
    for category in wanted:
        question_files, images_dir = _question_files(root / category)
        if not question_files:
            raise VqaDataError(f"{root / category}: no question files (*.txt) for category {category!r}")
        for path in question_files:
            image = _image_for(images_dir, path.stem, path)
            samples.extend(_parse_question_file(path, category, image))
    if not samples:
        raise VqaDataError(f"{root}: no MME category folders found (expected some of {known})")
    return samples


def category_scores(samples: Sequence[Sample], correct: Mapping[str, bool]) -> dict[str, float]:
    """``{"acc", "acc_plus", "score"}`` of one category's samples: percent, percent, their sum (0-200).

    Unrounded; ``score`` rounds for the report.
    """
    by_image: dict[str, list[bool]] = defaultdict(list)
    for sample in samples:
        by_image[sample.metadata["image"]].append(correct[sample.question_id])
    acc = 100 * mean([float(correct[s.question_id]) for s in samples])
    acc_plus = 100 * mean([float(all(results)) for results in by_image.values()])
    return {"acc": acc, "acc_plus": acc_plus, "score": acc + acc_plus}


def _total(
    categories: Mapping[str, Mapping[str, float]], names: Sequence[str]
) -> tuple[float | None, list[str]]:
    missing = [name for name in names if name not in categories]
    total = None if missing else round(sum(categories[name]["score"] for name in names), 2)
    return total, missing


def score(samples: Sequence[Sample], predictions: Mapping[str, str]) -> dict[str, Any]:
    """``{"perception", "cognition", "categories": {name: {"acc", "acc_plus", "score"}}, ...}``."""
    check_predictions(samples, predictions, NAME)
    readings = {s.question_id: extract_yes_no(predictions[s.question_id]) for s in samples}
    correct = {s.question_id: readings[s.question_id] == s.answers[0] for s in samples}
    by_category: dict[str, list[Sample]] = defaultdict(list)
    for sample in samples:
        by_category[sample.metadata["category"]].append(sample)
    categories = {name: category_scores(chosen, correct) for name, chosen in by_category.items()}
    perception, perception_missing = _total(categories, PERCEPTION)
    cognition, cognition_missing = _total(categories, COGNITION)
    return {
        "perception": perception,
        "cognition": cognition,
        "categories": {
            name: {key: round(value, 2) for key, value in values.items()}
            for name, values in sorted(categories.items())
        },
        "missing_categories": perception_missing + cognition_missing,
        "num_samples": len(samples),
        "unparsed": sum(reading is None for reading in readings.values()),
    }
