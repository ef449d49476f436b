"""Metric functions shared by the VQA benchmarks: pure functions of prediction text and ground truth.

- ``vqa_accuracy``: VQAv2 accuracy, mean over the n answers of min(1, #(other answers equal to the
  prediction) / 3), i.e. over the n leave-one-out subsets. ``mode="official"`` follows the GT-Vision-Lab
  script: answers and prediction are normalised only when the answers are not all identical (so "Yes"
  against 10 x "yes" scores 0); ``mode="lmms-eval"`` always normalises both.
- ``textvqa_accuracy``: the same average with the EvalAI processor applied to prediction and answers.
- ``normalize_exact`` / ``exact_match``: lowercase, punctuation deleted, whitespace collapsed (GQA).
- ``extract_yes_no`` and ``extract_option_letter``: turn free text into a label; ``None`` when the text
  cannot be read, which every scorer counts as wrong (never a random guess).
- ``precision_recall_f1`` and ``percent``.
"""

from __future__ import annotations

import re
import string
from collections.abc import Sequence
from typing import Literal

from navagent.eval.vqa.answer_normalization import (
    clean_whitespace,
    evalai_normalize,
    normalize_digits_articles,
    normalize_punctuation,
)
from navagent.eval.vqa.sample import OPTION_LETTERS

VqaMode = Literal["official", "lmms-eval"]
VQA_MODES: tuple[str, ...] = ("official", "lmms-eval")
YesNo = Literal["yes", "no"]


def percent(fraction: float) -> float:
    """A fraction in [0, 1] as a percentage rounded to 2 decimals (the VQA evaluation's reporting)."""
    return round(100 * fraction, 2)


def leave_one_out_accuracy(prediction: str, answers: Sequence[str]) -> float:
    """Mean over i of min(1, #{j != i : answers[j] == prediction} / 3), compared as given (no normalisation).

    With 10 answers, 1/2/3/4+ matching answers give 0.3/0.6/0.9/1.0.
    """
    if len(answers) < 2:
        raise ValueError(f"VQA accuracy needs at least 2 ground-truth answers, got {len(answers)}")
    matches = sum(answer == prediction for answer in answers)
    per_subset = [min(1.0, (matches - (answer == prediction)) / 3) for answer in answers]
    return sum(per_subset) / len(per_subset)


def _normalize(text: str) -> str:
    return normalize_digits_articles(normalize_punctuation(text))


def vqa_accuracy(prediction: str, answers: Sequence[str], mode: VqaMode = "official") -> float:
    """VQAv2 accuracy in [0, 1] of one prediction against the human answers (see the module docstring)."""
    if mode not in VQA_MODES:
        raise ValueError(f"mode: expected one of {VQA_MODES}, got {mode!r}")
    answers = [clean_whitespace(answer) for answer in answers]
    prediction = clean_whitespace(prediction)
    if mode == "lmms-eval" or len(set(answers)) > 1:
        answers = [_normalize(answer) for answer in answers]
        prediction = _normalize(prediction)
    return leave_one_out_accuracy(prediction, answers)


def textvqa_accuracy(prediction: str, answers: Sequence[str]) -> float:
    """TextVQA accuracy in [0, 1]: EvalAI-normalised prediction against EvalAI-normalised answers."""
    return leave_one_out_accuracy(evalai_normalize(prediction), [evalai_normalize(a) for a in answers])


_PUNCTUATION_TABLE = str.maketrans("", "", string.punctuation)


def normalize_exact(text: str) -> str:
    """Lowercase, ASCII punctuation deleted, whitespace collapsed: ``" The Cat's toy. "`` -> ``"the cats toy"``."""
    return " ".join(text.lower().translate(_PUNCTUATION_TABLE).split())


def exact_match(prediction: str, answers: Sequence[str]) -> bool:
    """Whether the normalised prediction equals one of the normalised answers."""
    normalized = normalize_exact(prediction)
    return any(normalized == normalize_exact(answer) for answer in answers)


_WORDS = re.compile(r"[a-z]+")


def extract_yes_no(text: str) -> YesNo | None:
    """``"yes"``/``"no"`` from a free-text answer, ``None`` when it cannot be read.

    The first word decides when it is yes or no ("No, there is not." -> no); otherwise the answer must
    contain exactly one of the two words ("There is no dog." -> no). "Maybe", "Not sure", "either yes or no"
    -> None.
    """
    words = _WORDS.findall(text.lower())
    if not words:
        return None
    if words[0] in ("yes", "no"):
        return words[0]
    found = {word for word in words if word in ("yes", "no")}
    return found.pop() if len(found) == 1 else None


_WRAPPING = " \t\n*_`'\""
_WHOLE_LETTER = re.compile(r"[(\[]?([A-Za-z])[)\].:]?")
_LEADING_LETTER = re.compile(r"\(([A-Z])\)|([A-Z])(?:[.):,]|\n|$)")
_STATED_LETTER = re.compile(r"(?i:answer|option|choice)\s*(?i:is)?\s*:?\s*\(?([A-Z])\)?(?![A-Za-z])")
_MARKED_LETTER = re.compile(r"\(([A-Z])\)|(?<![A-Za-z])([A-Z])\.(?!\w)")


def _option_by_text(text: str, options: Sequence[str]) -> int | None:
    """Index of the option whose text the answer is (or, failing that, uniquely contains as whole words)."""
    answer = normalize_exact(text)
    normalized = [normalize_exact(option) for option in options]
    equal = [i for i, option in enumerate(normalized) if option and option == answer]
    if len(equal) == 1:
        return equal[0]
    contained = [i for i, option in enumerate(normalized) if option and f" {option} " in f" {answer} "]
    return contained[0] if len(contained) == 1 else None


def extract_option_letter(text: str, options: Sequence[str]) -> str | None:
    """The option letter a free-text answer chooses among ``options`` (option i has letter A + i), or None.

    Tried in order, the first rule that yields a valid letter wins:

    1. the whole answer is one letter, any case, maybe wrapped: ``B``, ``b``, ``(B)``, ``B.``, ``[B]``;
    2. a leading capital letter marked as an option: ``(B) cat``, ``B. cat``, ``B) cat``, ``B: cat``,
       ``B, cat``, or ``B`` alone on the first line (``"A cat"`` is *not* read as A);
    3. a stated choice: ``The answer is B``, ``Answer: (C)``, ``the correct option is D.``;
    4. exactly one distinct letter marked anywhere as ``(B)`` or ``B.``;
    5. the option's text: the answer equals exactly one option's text, or contains exactly one option's
       text as whole words (both compared after ``normalize_exact``).

    Anything else -- no letter, a letter that is not an option, several different marked letters, an
    option text that matches several options -- is unparseable: None.
    """
    letters = OPTION_LETTERS[: len(options)]
    stripped = text.strip(_WRAPPING)
    whole = _WHOLE_LETTER.fullmatch(stripped)
    leading = _LEADING_LETTER.match(stripped)
    stated = _STATED_LETTER.search(stripped)
    for letter in (
        whole and whole.group(1).upper(),
        leading and (leading.group(1) or leading.group(2)),
        stated and stated.group(1),
    ):
        if letter and letter in letters:
            return letter
    marked = {m.group(1) or m.group(2) for m in _MARKED_LETTER.finditer(stripped)} & set(letters)
    if len(marked) == 1:
        return marked.pop()
    index = _option_by_text(stripped, options)
    return None if index is None else letters[index]


def precision_recall_f1(
    true_positives: int, false_positives: int, false_negatives: int
) -> tuple[float, float, float]:
    """Precision, recall and F1 in [0, 1]; a ratio with a zero denominator is 0."""
    predicted = true_positives + false_positives
    actual = true_positives + false_negatives
    precision = true_positives / predicted if predicted else 0.0
    recall = true_positives / actual if actual else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1
