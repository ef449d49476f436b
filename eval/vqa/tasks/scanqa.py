"""ScanQA (3-D question answering over ScanNet scenes) from the official annotation file.

File: ``ScanQA_v1.0_<split>.json``, a list of ``{"question_id": "val-scene0011-0", "scene_id":
"scene0011_00", "question": str, "answers": [str], "object_ids", "object_names"}``. Scene media:
``<media_dir>/<media_template formatted with scene_id>`` -- a video file or a folder of frames, whatever
the runner renders or samples from the scan (default template ``"{scene_id}"``).

Score (percent, 2 decimals): ``EM@1`` = the prediction equals one of the answers after
``caption_metrics.caption_tokenize`` (lowercase, punctuation dropped); ``BLEU-1``..``BLEU-4``, ``ROUGE-L``,
``CIDEr`` (x 100, as ScanQA reports them) and ``METEOR`` (needs Java; see ``caption_metrics``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from navagent.eval.vqa.caption_metrics import caption_scores, caption_tokenize
from navagent.eval.vqa.files import PathLike, get_id, get_text, get_text_list, read_json
from navagent.eval.vqa.metrics import percent
from navagent.eval.vqa.sample import Sample, VqaDataError, check_predictions, check_unique_ids
from navagent.eval.vqa.scoring import mean

NAME = "scanqa"
ANSWER_INSTRUCTION = "Answer the question using a single word or phrase."
_CAPTION_KEYS = ("BLEU-1", "BLEU-2", "BLEU-3", "BLEU-4", "ROUGE-L", "CIDEr", "METEOR")


def load(
    annotations: PathLike, media_dir: PathLike | None = None, media_template: str = "{scene_id}"
) -> list[Sample]:
    """Samples in file order; ``videos`` holds the scene's media path; metadata: ``scene_id``."""
    records = read_json(annotations)
    if not isinstance(records, list):
        raise VqaDataError(f"{annotations}: expected a list of questions")
    samples = []
    for index, record in enumerate(records):
        where = f"{annotations}: [{index}]"
        scene_id = get_text(record, "scene_id", where)
        media = () if media_dir is None else (Path(media_dir) / media_template.format(scene_id=scene_id),)
        samples.append(
            Sample(
                question_id=get_id(record, "question_id", where),
                question=get_text(record, "question", where),
                answers=tuple(get_text_list(record, "answers", where)),
                videos=media,
                metadata={"scene_id": scene_id},
            )
        )
    check_unique_ids(samples, str(annotations))
    return samples


def score(
    samples: Sequence[Sample], predictions: Mapping[str, str], meteor: bool | None = None
) -> dict[str, Any]:
    """``{"EM@1", "BLEU-1".."BLEU-4", "ROUGE-L", "CIDEr", "METEOR", "meteor_status", "num_samples"}``.

    ``meteor``: None = compute when ``java`` is on PATH, True = require it, False = skip.
    """
    check_predictions(samples, predictions, NAME)
    exact = [
        float(caption_tokenize(predictions[s.question_id]) in {caption_tokenize(a) for a in s.answers})
        for s in samples
    ]
    captions = caption_scores(
        {s.question_id: list(s.answers) for s in samples},
        {s.question_id: predictions[s.question_id] for s in samples},
        meteor,
    )
    report: dict[str, Any] = {"EM@1": percent(mean(exact))}
    report |= {key: None if captions[key] is None else percent(captions[key]) for key in _CAPTION_KEYS}
    return report | {"meteor_status": captions["meteor_status"], "num_samples": len(samples)}
