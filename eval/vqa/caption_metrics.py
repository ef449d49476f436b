"""Caption-style answer metrics (BLEU-1..4, ROUGE-L, CIDEr, METEOR) via ``pycocoevalcap``, as ScanQA reports them.

BLEU, ROUGE-L and CIDEr are pure Python. METEOR runs ``meteor-1.5.jar`` and so needs Java: with
``meteor=None`` it is computed when ``java`` is on PATH and skipped (``None``, with the reason in
``meteor_status``) otherwise.

ScanQA's script tokenises with pycocoevalcap's PTB tokenizer, which is Java too. ``caption_tokenize`` is a
pure-Python approximation of it: lowercase, contractions split (``don't`` -> ``do n't``, ``man's`` ->
``man 's``), hyphenated words and decimal numbers kept whole, and the punctuation tokens the PTB script
removes (``. , ? ! : ; - ' " ( )`` ...) dropped.

CIDEr's idf weights come from the references of all questions scored together, so it is a corpus-level
number (one question alone scores 0), like BLEU, which pycocoevalcap also computes over the corpus.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Mapping, Sequence
from typing import Any

_CONTRACTION = re.compile(r"(?<=\w)(n't|'s|'re|'ll|'ve|'d|'m)\b")
_TOKEN = re.compile(r"n't|'[a-z]+|\d+(?:[.,]\d+)+|\w+(?:-\w+)*|\.\.\.|--|[^\w\s]")
_DROPPED = frozenset({".", ",", "?", "!", ":", ";", "-", "--", "...", "'", "''", "`", "``", '"', "(", ")"})
_DROPPED |= frozenset({"[", "]", "{", "}"})


def caption_tokenize(text: str) -> str:
    """Space-joined lowercase tokens without punctuation: ``"Don't, the T-shirt."`` -> ``"do n't the t-shirt"``."""
    text = _CONTRACTION.sub(r" \1", text.lower())
    return " ".join(token for token in _TOKEN.findall(text) if token not in _DROPPED)


def java_available() -> bool:
    """Whether a ``java`` executable is on PATH (METEOR needs it)."""
    return shutil.which("java") is not None


def _import_scorers() -> tuple[type, type, type]:
    try:
        from pycocoevalcap.bleu.bleu import Bleu
        from pycocoevalcap.cider.cider import Cider
        from pycocoevalcap.rouge.rouge import Rouge
    except ImportError as error:
        raise ImportError("caption metrics need pycocoevalcap: pip install pycocoevalcap") from error
    return Bleu, Rouge, Cider


def _meteor(references: dict[str, list[str]], candidates: dict[str, list[str]]) -> float:
    from pycocoevalcap.meteor.meteor import Meteor

    scorer = Meteor()  # starts the Java process; deleting the object stops it
    try:
        score, _ = scorer.compute_score(references, candidates)
    finally:
        del scorer
    return float(score)


def caption_scores(
    references: Mapping[str, Sequence[str]], candidates: Mapping[str, str], meteor: bool | None = None
) -> dict[str, Any]:
    """Corpus scores of one candidate per key against that key's references, on pycocoevalcap's scale.

    references: {key: [reference text, ...]} (at least one each); candidates: {key: text}, the same keys.
    Texts are tokenised with ``caption_tokenize`` first. Returns ``BLEU-1``..``BLEU-4``, ``ROUGE-L``
    (fractions in [0, 1]), ``CIDEr`` (0 to 10), ``METEOR`` (fraction, or None when skipped) and
    ``meteor_status`` (how METEOR was handled). ``meteor``: True = required (error without Java),
    False = skipped, None = computed only when ``java`` is on PATH.
    """
    if set(references) != set(candidates):
        raise ValueError("caption_scores: references and candidates must have the same keys")
    if not references:
        raise ValueError("caption_scores: nothing to score")
    refs = {key: [caption_tokenize(r) for r in texts] for key, texts in references.items()}
    if any(not texts for texts in refs.values()):
        raise ValueError("caption_scores: every key needs at least one reference")
    cands = {key: [caption_tokenize(text)] for key, text in candidates.items()}
    bleu, rouge, cider = _import_scorers()
    bleu_scores, _ = bleu(4).compute_score(refs, cands, verbose=0)
    result: dict[str, Any] = {f"BLEU-{n}": float(score) for n, score in enumerate(bleu_scores, start=1)}
    result["ROUGE-L"] = float(rouge().compute_score(refs, cands)[0])
    result["CIDEr"] = float(cider().compute_score(refs, cands)[0])
    has_java = java_available()
    if meteor is True and not has_java:
        raise RuntimeError("METEOR was required but `java` is not on PATH (METEOR runs meteor-1.5.jar)")
    if meteor is False:
        result["METEOR"], result["meteor_status"] = None, "skipped: not requested"
    elif not has_java:
        result["METEOR"], result["meteor_status"] = None, "skipped: `java` not found on PATH"
    else:
        result["METEOR"] = _meteor(refs, cands)
        result["meteor_status"] = "computed with Java (pycocoevalcap meteor-1.5.jar)"
    return result
