"""ScienceQA-IMG: the test questions of ScienceQA that come with an image, from the official files.

Files: ``problems.json`` ``{pid: {"question", "choices": [str], "answer": int (index into choices), "hint",
"image": "image.png" | null, "subject", "grade", "category", ...}}`` and ``pid_splits.json``
``{"test": [pid, ...], ...}``. Images: ``<image_dir>/<split>/<pid>/<image>``.

Score: accuracy of the extracted option letter (``metrics.extract_option_letter``; unparseable = wrong),
overall and per subject / grade, in percent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from navagent.eval.vqa.files import PathLike, get_field, get_text, get_text_list, media_path, read_json
from navagent.eval.vqa.sample import OPTION_LETTERS, Sample, VqaDataError, check_options
from navagent.eval.vqa.scoring import score_multiple_choice

NAME = "scienceqa_img"
ANSWER_INSTRUCTION = "Answer with the option's letter from the given choices directly."


def load(
    problems: PathLike, pid_splits: PathLike, image_dir: PathLike | None = None, split: str = "test"
) -> list[Sample]:
    """Samples of the ``split`` problems that have an image, in split order.

    ``context`` is the problem's hint; metadata: ``subject``, ``grade``, ``category``.
    """
    all_problems = read_json(problems)
    if not isinstance(all_problems, Mapping):
        raise VqaDataError(f"{problems}: expected an object keyed by problem id")
    pids = get_field(read_json(pid_splits), split, str(pid_splits), list)
    samples = []
    for pid in map(str, pids):
        where = f"{problems}: problem {pid!r}"
        if pid not in all_problems:
            raise VqaDataError(f"{pid_splits}: split {split!r} lists problem {pid!r}, which {problems} lacks")
        record = all_problems[pid]
        image = get_field(record, "image", where, (str, type(None)))
        if not image:
            continue
        options = tuple(get_text_list(record, "choices", where))
        answer_index = get_field(record, "answer", where, int)
        letter = (
            OPTION_LETTERS[answer_index] if 0 <= answer_index < len(OPTION_LETTERS) else str(answer_index)
        )
        check_options(pid, options, letter, str(problems))
        samples.append(
            Sample(
                question_id=pid,
                question=get_text(record, "question", where),
                answers=(letter,),
                images=media_path(image_dir, f"{split}/{pid}/{image}"),
                options=options,
                context=str(record.get("hint") or "").strip(),
                metadata={key: str(record.get(key, "")) for key in ("subject", "grade", "category")},
            )
        )
    return samples


def score(samples: Sequence[Sample], predictions: Mapping[str, str]) -> dict[str, Any]:
    """``{"accuracy", "num_samples", "unparsed", "per_subject", "per_grade"}`` in percent."""
    return score_multiple_choice(samples, predictions, NAME, ("subject", "grade"))
