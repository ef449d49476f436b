"""Answer normalisation of the official VQA evaluation (GT-Vision-Lab ``vqaEval.py``) and of EvalAI/TextVQA.

Two steps, always in this order:

1. ``normalize_punctuation``: each of ``; / [ ] " { } ( ) = + \\ _ - > < @ ` , ? !`` is deleted when it
   stands next to a space (``"p "`` or ``" p"`` occurs in the *input* text) or when the input contains a
   digit-comma-digit run such as ``1,000``; otherwise it is replaced by a space. Then periods not followed
   by a digit are removed -- at most 32 of them, because the official script passes ``re.UNICODE`` (= 32)
   as the ``count`` argument of ``Pattern.sub``.
2. ``normalize_digits_articles``: lowercase, split on whitespace, map number words none/zero..ten to
   0..10, drop the articles a/an/the, expand the contraction table below (``dont`` -> ``don't``), rejoin
   with single spaces.

``evalai_normalize`` is the EvalAI/TextVQA answer processor: lowercase, delete ``,`` and ``?``, split
``'s`` off (``man's`` -> ``man 's``), then both steps above.
"""

from __future__ import annotations

import re

PUNCTUATION = (";", "/", "[", "]", '"', "{", "}", "(", ")", "=", "+", "\\", "_", "-", ">", "<", "@", "`", ",")
PUNCTUATION += ("?", "!")
NUMBER_WORDS = {
    "none": "0",
    "zero": "0",
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
    "ten": "10",
}
ARTICLES = frozenset({"a", "an", "the"})
# The official table, entries and quirks included (its capitalised keys never match after lowercasing, and
# "somebody'd" maps to "somebodyd").
CONTRACTIONS = {
    "aint": "ain't", "arent": "aren't", "cant": "can't", "couldve": "could've", "couldnt": "couldn't",
    "couldn'tve": "couldn't've", "couldnt've": "couldn't've", "didnt": "didn't", "doesnt": "doesn't",
    "dont": "don't", "hadnt": "hadn't", "hadnt've": "hadn't've", "hadn'tve": "hadn't've", "hasnt": "hasn't",
    "havent": "haven't", "hed": "he'd", "hed've": "he'd've", "he'dve": "he'd've", "hes": "he's",
    "howd": "how'd", "howll": "how'll", "hows": "how's", "Id've": "I'd've", "I'dve": "I'd've", "Im": "I'm",
    "Ive": "I've", "isnt": "isn't", "itd": "it'd", "itd've": "it'd've", "it'dve": "it'd've", "itll": "it'll",
    "let's": "let's", "maam": "ma'am", "mightnt": "mightn't", "mightnt've": "mightn't've",
    "mightn'tve": "mightn't've", "mightve": "might've", "mustnt": "mustn't", "mustve": "must've",
    "neednt": "needn't", "notve": "not've", "oclock": "o'clock", "oughtnt": "oughtn't",
    "ow's'at": "'ow's'at", "'ows'at": "'ow's'at", "'ow'sat": "'ow's'at", "shant": "shan't",
    "shed've": "she'd've", "she'dve": "she'd've", "she's": "she's", "shouldve": "should've",
    "shouldnt": "shouldn't", "shouldnt've": "shouldn't've", "shouldn'tve": "shouldn't've",
    "somebody'd": "somebodyd", "somebodyd've": "somebody'd've", "somebody'dve": "somebody'd've",
    "somebodyll": "somebody'll", "somebodys": "somebody's", "someoned": "someone'd",
    "someoned've": "someone'd've", "someone'dve": "someone'd've", "someonell": "someone'll",
    "someones": "someone's", "somethingd": "something'd", "somethingd've": "something'd've",
    "something'dve": "something'd've", "somethingll": "something'll", "thats": "that's",
    "thered": "there'd", "thered've": "there'd've", "there'dve": "there'd've", "therere": "there're",
    "theres": "there's", "theyd": "they'd", "theyd've": "they'd've", "they'dve": "they'd've",
    "theyll": "they'll", "theyre": "they're", "theyve": "they've", "twas": "'twas", "wasnt": "wasn't",
    "wed've": "we'd've", "we'dve": "we'd've", "weve": "we've", "werent": "weren't", "whatll": "what'll",
    "whatre": "what're", "whats": "what's", "whatve": "what've", "whens": "when's", "whered": "where'd",
    "wheres": "where's", "whereve": "where've", "whod": "who'd", "whod've": "who'd've",
    "who'dve": "who'd've", "wholl": "who'll", "whos": "who's", "whove": "who've", "whyll": "why'll",
    "whyre": "why're", "whys": "why's", "wont": "won't", "wouldve": "would've", "wouldnt": "wouldn't",
    "wouldnt've": "wouldn't've", "wouldn'tve": "wouldn't've", "yall": "y'all", "yall'll": "y'all'll",
    "y'allll": "y'all'll", "yall'd've": "y'all'd've", "y'alld've": "y'all'd've", "y'all'dve": "y'all'd've",
    "youd": "you'd", "youd've": "you'd've", "you'dve": "you'd've", "youll": "you'll", "youre": "you're",
    "youve": "you've",
}  # fmt: skip

_DIGIT_COMMA_DIGIT = re.compile(r"\d,\d")
# The official pattern is r"(?!<=\d)(\.)(?!\d)"; its first group is a lookahead that can never match at a
# period, so it removes exactly the periods not followed by a digit.
_PERIOD_NOT_BEFORE_DIGIT = re.compile(r"\.(?!\d)")
MAX_PERIODS_REMOVED = 32


def clean_whitespace(text: str) -> str:
    """Newlines and tabs become spaces; leading and trailing whitespace is stripped."""
    return text.replace("\n", " ").replace("\t", " ").strip()


def normalize_punctuation(text: str) -> str:
    """Step 1 of the official normalisation (see the module docstring)."""
    delete_all = _DIGIT_COMMA_DIGIT.search(text) is not None
    out = text
    for mark in PUNCTUATION:
        if delete_all or f"{mark} " in text or f" {mark}" in text:
            out = out.replace(mark, "")
        else:
            out = out.replace(mark, " ")
    return _PERIOD_NOT_BEFORE_DIGIT.sub("", out, count=MAX_PERIODS_REMOVED)


def normalize_digits_articles(text: str) -> str:
    """Step 2 of the official normalisation: lowercase, number words -> digits, no articles, contractions."""
    words = [NUMBER_WORDS.get(word, word) for word in text.lower().split()]
    return " ".join(CONTRACTIONS.get(word, word) for word in words if word not in ARTICLES)


def normalize_vqa_answer(text: str) -> str:
    """Both official steps after ``clean_whitespace``: ``"Two dogs!"`` -> ``"2 dogs"``."""
    return normalize_digits_articles(normalize_punctuation(clean_whitespace(text)))


def evalai_normalize(text: str) -> str:
    """EvalAI/TextVQA answer processor: ``"The man's hat, sir?"`` -> ``"man 's hat sir"``."""
    text = text.lower().replace(",", "").replace("?", "").replace("'s", " 's").strip()
    return normalize_vqa_answer(text)
