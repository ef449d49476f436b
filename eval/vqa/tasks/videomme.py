"""Video-MME from its official annotation table (without subtitles).

File: the Parquet release (``videomme/test-*.parquet``, needs pyarrow) or the same rows as JSON / JSON
lines: ``{"question_id": "001-1", "videoID": str, "duration": "short" | "medium" | "long", "domain",
"sub_category", "task_type", "question", "options": ["A. ...", "B. ...", ...], "answer": "A"}``.
Videos: ``<video_dir>/<videoID>.mp4``.

Score: accuracy of the extracted option letter (unparseable = wrong), overall and per duration / task
type / domain, in percent.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from navagent.eval.vqa.files import PathLike, get_id, get_text, get_text_list, media_path, read_records
from navagent.eval.vqa.sample import Sample, check_options, check_unique_ids
from navagent.eval.vqa.scoring import score_multiple_choice

NAME = "videomme"
ANSWER_INSTRUCTION = "Answer with the option's letter from the given choices directly."
_LETTER_PREFIX = re.compile(r"^\s*\(?[A-Z][.)]\s*")


def load(
    annotations: PathLike, video_dir: PathLike | None = None, durations: Sequence[str] | None = None
) -> list[Sample]:
    """Samples in table order, optionally only the given ``durations``.

    Options lose their ``"A. "`` prefixes. metadata: ``video_id``, ``duration``, ``domain``,
    ``sub_category``, ``task_type``.
    """
    samples = []
    for index, record in enumerate(read_records(annotations)):
        where = f"{annotations}: row {index}"
        question_id = get_id(record, "question_id", where)
        duration = get_text(record, "duration", where)
        if durations is not None and duration not in durations:
            continue
        video_id = get_id(record, "videoID", where)
        options = tuple(
            _LETTER_PREFIX.sub("", option, count=1) for option in get_text_list(record, "options", where)
        )
        answer = get_text(record, "answer", where).strip()
        check_options(question_id, options, answer, str(annotations))
        samples.append(
            Sample(
                question_id=question_id,
                question=get_text(record, "question", where),
                answers=(answer,),
                videos=media_path(video_dir, f"{video_id}.mp4"),
                options=options,
                metadata={"video_id": video_id, "duration": duration}
                | {key: str(record.get(key, "")) for key in ("domain", "sub_category", "task_type")},
            )
        )
    check_unique_ids(samples, str(annotations))
    return samples


def score(samples: Sequence[Sample], predictions: Mapping[str, str]) -> dict[str, Any]:
    """``{"accuracy", "num_samples", "unparsed", "per_duration", "per_task_type", "per_domain"}``."""
    return score_multiple_choice(samples, predictions, NAME, ("duration", "task_type", "domain"))
