"""The benchmark-independent unit of VQA evaluation: one question about one or more images or videos.

Every task loader turns its benchmark's own files into ``Sample``s, and every scorer takes those samples
plus ``predictions: {question_id: model output text}``. A model-driven runner builds its input from a sample
alone: the visual inputs are ``sample.images`` (still images, in order) or ``sample.videos`` (a video file or
a folder of frames each), and the text is ``sample.prompt(task.answer_instruction)``.
"""

from __future__ import annotations

import string
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

OPTION_LETTERS = string.ascii_uppercase
_SHOWN_IDS = 5


class VqaDataError(ValueError):
    """A benchmark file, record or field is malformed; the message names the file and the record."""


class PredictionError(ValueError):
    """Predictions do not match the samples (missing or unknown question ids, non-text answers)."""


@dataclass(frozen=True)
class Sample:
    """One benchmark question.

    question_id: unique within the task (benchmarks with integer ids use their decimal string).
    question: the question text as the benchmark gives it.
    images / videos: local paths of the visual inputs (empty when the loader got no media folder;
        scoring never needs them).
    options: option texts of a multiple-choice question, without letters; option ``i`` has letter
        ``OPTION_LETTERS[i]``. Empty for open-ended questions.
    answers: ground truth. Open-ended: the accepted answers (VQAv2/TextVQA: the 10 human answers);
        multiple choice: ``(letter,)``; yes/no benchmarks: ``("yes",)`` or ``("no",)``.
    context: text shown before the question (ScienceQA's context, MMBench's hint); may be empty.
    metadata: benchmark-specific fields the scorer groups by (answer type, category, duration...).
    """

    question_id: str
    question: str
    answers: tuple[str, ...] = ()
    images: tuple[Path, ...] = ()
    videos: tuple[Path, ...] = ()
    options: tuple[str, ...] = ()
    context: str = ""
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def option_letters(self) -> str:
        """The letters of this question's options, e.g. ``"ABCD"`` (empty when open-ended)."""
        return OPTION_LETTERS[: len(self.options)]

    def prompt(self, answer_instruction: str = "") -> str:
        """The text a model is asked: context, question, lettered options, answer instruction, one per line.

        Example (multiple choice)::

            Context: The map shows ...
            Which country is highlighted?
            A. Fiji
            B. Tonga
            Answer with the option's letter from the given choices directly.
        """
        lines = []
        if self.context:
            lines.append(f"Context: {self.context}")
        lines.append(self.question)
        lines.extend(f"{letter}. {text}" for letter, text in zip(self.option_letters(), self.options))
        if answer_instruction:
            lines.append(answer_instruction)
        return "\n".join(lines)


def check_options(question_id: str, options: Sequence[str], answer_letter: str, where: str) -> None:
    """Raise VqaDataError unless there are 2..26 options and the answer letter is one of theirs."""
    if not 2 <= len(options) <= len(OPTION_LETTERS):
        raise VqaDataError(f"{where}: question {question_id!r}: expected 2 to 26 options, got {len(options)}")
    if answer_letter not in OPTION_LETTERS[: len(options)]:
        raise VqaDataError(
            f"{where}: question {question_id!r}: answer {answer_letter!r} is not one of the "
            f"option letters {OPTION_LETTERS[: len(options)]!r}"
        )


def format_ids(ids: Iterable[str]) -> str:
    """``"3 ids: ['a', 'b', 'c']"``, listing at most the first few (sorted) ids."""
    ordered = sorted(ids)
    shown = ", ".join(repr(i) for i in ordered[:_SHOWN_IDS])
    more = f", ... ({len(ordered) - _SHOWN_IDS} more)" if len(ordered) > _SHOWN_IDS else ""
    return f"{len(ordered)} id{'s' if len(ordered) != 1 else ''}: [{shown}{more}]"


def check_unique_ids(samples: Sequence[Sample], where: str) -> None:
    """Raise VqaDataError naming the question ids that occur more than once in ``samples``."""
    counts = Counter(sample.question_id for sample in samples)
    if repeated := [question_id for question_id, count in counts.items() if count > 1]:
        raise VqaDataError(f"{where}: repeated question {format_ids(repeated)}")


def check_predictions(samples: Sequence[Sample], predictions: Mapping[str, str], task: str) -> None:
    """Raise PredictionError unless ``predictions`` has a text answer for exactly the samples' question ids.

    The message names the missing and the unknown ids (the first few of each, and how many there are).
    """
    if not samples:
        raise PredictionError(f"{task}: no samples to score")
    expected = {s.question_id for s in samples}
    given = set(predictions)
    problems = []
    if missing := expected - given:
        problems.append(f"no prediction for {format_ids(missing)}")
    if unknown := given - expected:
        problems.append(f"predictions for unknown question {format_ids(unknown)}")
    if not_text := {qid for qid in given & expected if not isinstance(predictions[qid], str)}:
        problems.append(f"predictions that are not strings for {format_ids(not_text)}")
    if problems:
        raise PredictionError(f"{task}: " + "; ".join(problems))
