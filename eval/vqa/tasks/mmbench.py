"""MMBench from its official TSV, scored with circular evaluation.

File: tab-separated, header ``index question hint A B C D [E] answer category l2-category image ...``;
``image`` is a base64 image, or (in circular copies) the index of the row that holds it. Circular copies
of question ``i`` have index ``i + k * 1_000_000`` and the same options in rotated order. A TSV without
copies is expanded here: with ``circular=True`` every question gets the rotations k = 1..n-1 of its n
options. Images are decoded into ``image_cache_dir`` (``<question index>.<format>``) when it is given.

Score: circular accuracy (a question counts right only if every one of its variants is right), overall
and per category, plus ``vanilla_accuracy`` (original questions only), in percent. Option letters are
read with ``metrics.extract_option_letter``; unparseable = wrong.
"""

from __future__ import annotations

import base64
import binascii
import io
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from PIL import Image

from navagent.eval.vqa.files import PathLike, read_tsv
from navagent.eval.vqa.metrics import percent
from navagent.eval.vqa.sample import (
    OPTION_LETTERS,
    Sample,
    VqaDataError,
    check_options,
    check_predictions,
    check_unique_ids,
)
from navagent.eval.vqa.scoring import choose_options, mean
from navagent.fileio import write_bytes_atomic

NAME = "mmbench"
ANSWER_INSTRUCTION = "Answer with the option's letter from the given choices directly."
CIRCULAR_STRIDE = 1_000_000


def _text(row: Mapping[str, str], column: str) -> str:
    value = (row.get(column) or "").strip()
    return "" if value.lower() == "nan" else value


def _save_image(data: str, index: int, cache_dir: Path, where: str) -> Path:
    """Decode a base64 image into ``cache_dir/<index>.<format>`` (kept if already there)."""
    try:
        raw = base64.b64decode(data, validate=True)
        image_format = Image.open(io.BytesIO(raw)).format or "img"
    except (binascii.Error, OSError) as error:
        raise VqaDataError(f"{where}: column 'image': not a base64-encoded image: {error}") from error
    path = cache_dir / f"{index}.{image_format.lower()}"
    if not path.is_file():
        cache_dir.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(path, raw)
    return path


def _images(
    rows: list[dict[str, str]], indices: list[int], cache_dir: Path | None, tsv: PathLike
) -> dict[int, Path]:
    """{row index: image path}, following circular copies' references to the row holding the image."""
    if cache_dir is None:
        return {}
    row_of = dict(zip(indices, rows))
    saved: dict[int, Path] = {}  # by the index of the row holding the image
    paths: dict[int, Path] = {}
    for index, row in zip(indices, rows):
        data, source = row.get("image") or "", index
        if data.isdigit() and len(data) < 16:
            source = int(data)
            if source not in row_of:
                raise VqaDataError(f"{tsv}: index {index}: column 'image' refers to missing index {source}")
            data = row_of[source].get("image") or ""
        if source not in saved:
            saved[source] = _save_image(data, source, cache_dir, f"{tsv}: index {index}")
        paths[index] = saved[source]
    return paths


def _rotations(sample: Sample) -> list[Sample]:
    """The circular copies of an original question: options rotated left by k = 1..n-1."""
    n = len(sample.options)
    answer = OPTION_LETTERS.index(sample.answers[0])
    copies = []
    for k in range(1, n):
        copies.append(
            Sample(
                question_id=str(int(sample.question_id) + k * CIRCULAR_STRIDE),
                question=sample.question,
                answers=(OPTION_LETTERS[(answer - k) % n],),
                images=sample.images,
                options=sample.options[k:] + sample.options[:k],
                context=sample.context,
                metadata=dict(sample.metadata) | {"original": False},
            )
        )
    return copies


def load(tsv: PathLike, image_cache_dir: PathLike | None = None, circular: bool = True) -> list[Sample]:
    """Samples of every row (``circular=False``: original questions only).

    metadata: ``category``, ``l2_category``, ``group`` (index mod 1e6, shared by a question's variants),
    ``original`` (index < 1e6).
    """
    rows = read_tsv(tsv)
    indices = []
    for number, row in enumerate(rows, start=2):
        try:
            indices.append(int(row["index"]))
        except (KeyError, TypeError, ValueError) as error:
            raise VqaDataError(f"{tsv}: line {number}: column 'index': expected an integer") from error
    images = _images(rows, indices, Path(image_cache_dir) if image_cache_dir is not None else None, tsv)
    samples = []
    for index, row in zip(indices, rows):
        options = tuple(text for letter in OPTION_LETTERS[:8] if (text := _text(row, letter)))
        answer = _text(row, "answer")
        check_options(str(index), options, answer, str(tsv))
        samples.append(
            Sample(
                question_id=str(index),
                question=_text(row, "question"),
                answers=(answer,),
                images=(images[index],) if index in images else (),
                options=options,
                context=_text(row, "hint"),
                metadata={
                    "category": _text(row, "category"),
                    "l2_category": _text(row, "l2-category"),
                    "group": index % CIRCULAR_STRIDE,
                    "original": index < CIRCULAR_STRIDE,
                },
            )
        )
    has_copies = any(not s.metadata["original"] for s in samples)
    if not circular:
        samples = [s for s in samples if s.metadata["original"]]
    elif not has_copies:
        samples = [copy for s in samples for copy in [s, *_rotations(s)]]
    check_unique_ids(samples, str(tsv))
    return samples


def score(samples: Sequence[Sample], predictions: Mapping[str, str]) -> dict[str, Any]:
    """``{"circular_accuracy", "vanilla_accuracy", "per_category", "num_questions", "num_samples", "unparsed"}``.

    ``per_category`` is circular accuracy per category; ``num_questions`` counts circular groups.
    """
    check_predictions(samples, predictions, NAME)
    chosen = choose_options(samples, predictions)
    right = {s.question_id: chosen[s.question_id] == s.answers[0] for s in samples}
    groups: dict[int, list[Sample]] = defaultdict(list)
    for sample in samples:
        groups[sample.metadata["group"]].append(sample)
    group_right = {g: all(right[s.question_id] for s in members) for g, members in groups.items()}
    by_category: dict[str, list[float]] = defaultdict(list)
    for group, members in groups.items():
        by_category[members[0].metadata["category"]].append(float(group_right[group]))
    originals = [float(right[s.question_id]) for s in samples if s.metadata["original"]]
    return {
        "circular_accuracy": percent(mean([float(v) for v in group_right.values()])),
        "vanilla_accuracy": percent(mean(originals)) if originals else None,
        "per_category": {name: percent(mean(values)) for name, values in sorted(by_category.items())},
        "num_questions": len(groups),
        "num_samples": len(samples),
        "unparsed": sum(letter is None for letter in chosen.values()),
    }
