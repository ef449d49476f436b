"""EgoSchema, the 500-question subset with public answers, from the official files.

Files: ``questions.json`` ``[{"q_uid": str, "question": str, "option 0": str, ..., "option 4": str}]`` and
``subset_answers.json`` ``{q_uid: index of the right option}``. Videos: ``<video_dir>/<q_uid>.mp4``.
Only questions with an answer in the answers file are loaded.

Score: accuracy of the extracted option letter (unparseable = wrong), in percent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from navagent.eval.vqa.files import PathLike, get_text, media_path, read_json
from navagent.eval.vqa.sample import OPTION_LETTERS, Sample, VqaDataError, check_options, format_ids
from navagent.eval.vqa.scoring import score_multiple_choice

NAME = "egoschema"
ANSWER_INSTRUCTION = "Answer with the option's letter from the given choices directly."
NUM_OPTIONS = 5


def load(questions: PathLike, answers: PathLike, video_dir: PathLike | None = None) -> list[Sample]:
    """Samples of the answered questions, in question-file order; metadata: none."""
    records = read_json(questions)
    key = read_json(answers)
    if not isinstance(records, list):
        raise VqaDataError(f"{questions}: expected a list of questions")
    if not isinstance(key, Mapping):
        raise VqaDataError(f"{answers}: expected an object {{q_uid: option index}}")
    samples = []
    for index, record in enumerate(records):
        where = f"{questions}: [{index}]"
        uid = get_text(record, "q_uid", where)
        if uid not in key:
            continue
        answer = key[uid]
        if isinstance(answer, bool) or not isinstance(answer, int) or not 0 <= answer < NUM_OPTIONS:
            raise VqaDataError(f"{answers}: q_uid {uid!r}: expected an option index 0..4, got {answer!r}")
        options = tuple(get_text(record, f"option {i}", where) for i in range(NUM_OPTIONS))
        check_options(uid, options, OPTION_LETTERS[answer], str(questions))
        samples.append(
            Sample(
                question_id=uid,
                question=get_text(record, "question", where),
                answers=(OPTION_LETTERS[answer],),
                videos=media_path(video_dir, f"{uid}.mp4"),
                options=options,
            )
        )
    if unmatched := set(key) - {s.question_id for s in samples}:
        raise VqaDataError(f"{answers}: answers for q_uid {format_ids(unmatched)} not in {questions}")
    return samples


def score(samples: Sequence[Sample], predictions: Mapping[str, str]) -> dict[str, Any]:
    """``{"accuracy", "num_samples", "unparsed"}`` in percent."""
    return score_multiple_choice(samples, predictions, NAME)
