"""Metric functions against hand-computed cases."""

from __future__ import annotations

import pytest

from navagent.eval.vqa.answer_normalization import (
    evalai_normalize,
    normalize_digits_articles,
    normalize_punctuation,
    normalize_vqa_answer,
)
from navagent.eval.vqa.metrics import (
    exact_match,
    extract_option_letter,
    extract_yes_no,
    leave_one_out_accuracy,
    normalize_exact,
    percent,
    precision_recall_f1,
    textvqa_accuracy,
    vqa_accuracy,
)

# ----------------------------------------------------------------------------------- VQA accuracy


def test_all_answers_agree_means_no_normalisation_officially():
    answers = ["yes"] * 10
    assert vqa_accuracy("Yes", answers, "official") == 0.0
    assert vqa_accuracy("yes.", answers, "official") == 0.0
    assert vqa_accuracy("Yes", answers, "lmms-eval") == 1.0
    assert vqa_accuracy("yes.", answers, "lmms-eval") == 1.0
    # newlines/tabs and surrounding space are always cleaned, even when the answers agree
    assert vqa_accuracy(" yes\n", answers, "official") == 1.0


def test_disagreeing_answers_normalise_prediction_and_answers():
    answers = ["yes"] * 3 + ["no"] * 7
    # the 3 "yes" subsets each see 2 others -> 2/3; the 7 "no" subsets see 3 -> 1
    assert vqa_accuracy("Yes!", answers, "official") == pytest.approx((3 * 2 / 3 + 7) / 10)
    assert vqa_accuracy("Two.", ["two", "2"] + ["3"] * 8) == pytest.approx((2 * 1 / 3 + 8 * 2 / 3) / 10)


@pytest.mark.parametrize("matching, expected", [(0, 0.0), (1, 0.3), (2, 0.6), (3, 0.9), (4, 1.0), (7, 1.0)])
def test_min_one_n_over_three_averaged_over_ten_leave_one_out_subsets(matching, expected):
    answers = ["cat"] * matching + ["dog"] * (10 - matching)
    assert vqa_accuracy("cat", answers) == pytest.approx(expected)
    assert leave_one_out_accuracy("cat", answers) == pytest.approx(expected)


def test_leave_one_out_needs_two_answers_and_modes_are_checked():
    with pytest.raises(ValueError, match="at least 2"):
        leave_one_out_accuracy("cat", ["cat"])
    with pytest.raises(ValueError, match="mode"):
        vqa_accuracy("cat", ["cat", "dog"], mode="lenient")


@pytest.mark.parametrize(
    "text, expected",
    [
        ("yes!", "yes "),  # not next to a space: replaced by a space
        ("hello , world", "hello  world"),  # " ," occurs: deleted
        ("1,000", "1000"),  # digit,digit anywhere: every mark deleted
        ("1,000 (approx)", "1000 approx"),
        ("black-and-white", "black and white"),
        ("black - white", "black  white"),
        ("(yes)", " yes "),
        ("3.5", "3.5"),  # a period before a digit stays
        ("yes.", "yes"),
        ("u.s.a.", "usa"),
        ("x ,y!z", "x y z"),  # the rule looks at the input text, mark by mark
    ],
)
def test_punctuation_rules(text, expected):
    assert normalize_punctuation(text) == expected


def test_at_most_32_periods_are_removed():
    assert normalize_punctuation("." * 40) == "." * 8


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Two dogs", "2 dogs"),
        ("none", "0"),
        ("zero ten eleven", "0 10 eleven"),
        ("the cat", "cat"),
        ("A Dog", "dog"),
        ("an apple", "apple"),
        ("dont know", "don't know"),
        ("isnt", "isn't"),
        ("Im", "im"),  # the official table's capitalised keys never match after lowercasing
        ("somebody'd", "somebodyd"),  # an official-table quirk, kept
        ("  many   spaces ", "many spaces"),
    ],
)
def test_digit_article_contraction_rules(text, expected):
    assert normalize_digits_articles(text) == expected


def test_full_normalisation_and_evalai_processor():
    assert normalize_vqa_answer("Two dogs!\n") == "2 dogs"
    assert normalize_vqa_answer("The T-shirt.") == "t shirt"
    assert evalai_normalize("The man's hat, sir?") == "man 's hat sir"


def test_textvqa_normalises_even_when_answers_agree():
    answers = ["Coca Cola"] * 10
    assert textvqa_accuracy("coca-cola", answers) == 1.0
    assert vqa_accuracy("coca-cola", answers, "official") == 0.0
    assert textvqa_accuracy("pepsi", answers) == 0.0


# ------------------------------------------------------------------------------------ exact match


def test_exact_match_ignores_case_punctuation_and_spacing():
    assert normalize_exact(" The Cat's toy. ") == "the cats toy"
    assert exact_match("Yes.", ["yes"])
    assert exact_match("left", ["right", "Left"])
    assert not exact_match("yes", ["no"])


# ---------------------------------------------------------------------------------------- yes / no


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Yes", "yes"),
        ("no.", "no"),
        ("YES!", "yes"),
        ("No, there is not.", "no"),
        ("Yes, there is no dog.", "yes"),
        ("There is no dog in the image.", "no"),
        ("There is a dog, so yes", "yes"),
        ("Maybe", None),
        ("Not sure", None),
        ("Nope", None),
        ("It is either yes or no", None),
        ("", None),
    ],
)
def test_yes_no_extraction(text, expected):
    assert extract_yes_no(text) == expected


# ------------------------------------------------------------------------------- option letters

OPTIONS = ["cat", "dog", "red fox", "bird"]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("B", "B"),
        ("b", "B"),
        ("(C)", "C"),
        ("C.", "C"),
        ("[D]", "D"),
        ("**B**", "B"),
        ("B. dog", "B"),
        ("(B) dog", "B"),
        ("B) dog", "B"),
        ("B: dog", "B"),
        ("B\nBecause dogs bark.", "B"),
        ("The answer is C", "C"),
        ("Answer: (D)", "D"),
        ("the correct option is A.", "A"),
        ("I think (B) is right", "B"),
        ("dog", "B"),
        ("Red fox.", "C"),
        ("It is a dog.", "B"),
        ("A dog", "B"),  # a leading article is not read as option A
        # unparseable: wrong, never a guess
        ("E", None),
        ("The answer is Z", None),
        ("Either (A) or (B)", None),
        ("cat or dog", None),
        ("I don't know", None),
        ("", None),
    ],
)
def test_option_letter_extraction(text, expected):
    assert extract_option_letter(text, OPTIONS) == expected


def test_option_letters_are_limited_to_the_number_of_options():
    assert extract_option_letter("C", ["yes", "no"]) is None
    assert extract_option_letter("B", ["yes", "no"]) == "B"


# ------------------------------------------------------------------------------ precision / recall


def test_precision_recall_f1_and_percent():
    precision, recall, f1 = precision_recall_f1(3, 1, 2)
    assert (precision, recall) == (0.75, 0.6)
    assert f1 == pytest.approx(2 * 0.75 * 0.6 / 1.35)
    assert precision_recall_f1(0, 0, 0) == (0.0, 0.0, 0.0)
    assert percent(0.123456) == 12.35
